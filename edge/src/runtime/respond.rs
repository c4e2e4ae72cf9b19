//! Building the edge's own responses, each carrying the page security headers.

use worker::{Headers, Response, ResponseBuilder, Result};

use crate::pages;
use crate::problem::{PROBLEM_CONTENT_TYPE, Problem};
use crate::security_headers;

fn build(status: u16, content_type: &str, body: &str, cache_control: &str) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", content_type)?;
    headers.set("cache-control", cache_control)?;
    for (name, value) in security_headers::for_page() {
        headers.set(name, &value)?;
    }
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(body.as_bytes().to_vec()))
}

pub fn html(status: u16, body: &str, cache_control: &str) -> Result<Response> {
    build(status, "text/html; charset=utf-8", body, cache_control)
}

pub fn json(status: u16, body: &str, content_type: &str) -> Result<Response> {
    build(status, content_type, body, "no-store")
}

pub fn asset(body: &str, content_type: &str) -> Result<Response> {
    build(200, content_type, body, "public, max-age=3600")
}

pub fn problem(problem: &Problem) -> Result<Response> {
    json(problem.status, &problem.to_json(), PROBLEM_CONTENT_TYPE)
}

/// A problem as JSON for API clients, or as a short page for browsers.
fn problem_or_page(problem: &Problem, wants_json: bool) -> Result<Response> {
    if wants_json {
        self::problem(problem)
    } else {
        html(
            problem.status,
            &pages::message_page(problem.title, &problem.detail),
            "no-store",
        )
    }
}

pub fn rate_limited(retry_after_secs: u32, wants_json: bool) -> Result<Response> {
    let mut response = problem_or_page(&Problem::rate_limited(retry_after_secs), wants_json)?;
    response
        .headers_mut()
        .set("retry-after", &retry_after_secs.to_string())?;
    Ok(response)
}

pub fn not_found(path: &str, wants_json: bool) -> Result<Response> {
    problem_or_page(&Problem::not_found(path), wants_json)
}

pub fn method_not_allowed(allow: &str, wants_json: bool) -> Result<Response> {
    let mut response = problem_or_page(&Problem::method_not_allowed(allow), wants_json)?;
    response.headers_mut().set("allow", allow)?;
    Ok(response)
}

/// The same response without its body, for `HEAD`.
pub fn without_body(response: Response) -> Result<Response> {
    let status = response.status_code();
    let headers = response.headers().clone();
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .empty())
}
