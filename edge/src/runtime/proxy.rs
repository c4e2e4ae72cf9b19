//! Forwarding `/api`, `/app` and `/ping` to api-fn: method, headers and body go through as they
//! came (bodies stream unless their length is unknown), the answer comes back as it is, streamed,
//! with redirects passed on rather than followed, plus the security headers.

use worker::js_sys::Uint8Array;
use worker::wasm_bindgen::JsValue;
use worker::{Fetch, Headers, Request, Response, ResponseBuilder, Result, console_error};

use super::body::{ReadError, read_capped};
use super::respond;
use crate::config::Config;
use crate::forwarding::{
    BodyPlan, BodyRefusal, forwarding_headers, keeps_request_header, plan_body, relayable_status,
};
use crate::problem::Problem;
use crate::security_headers;

fn refusal(refusal: &BodyRefusal) -> Result<Response> {
    let problem = match refusal {
        BodyRefusal::TooLarge { .. } => Problem::new(
            "payload-too-large",
            "Payload too large",
            413,
            refusal.to_string(),
        ),
        BodyRefusal::InvalidLength => Problem::new(
            "invalid-content-length",
            "Invalid Content-Length",
            400,
            refusal.to_string(),
        ),
    };
    respond::problem(&problem)
}

pub async fn forward(
    mut req: Request,
    config: &Config,
    client_ip: Option<&str>,
) -> Result<Response> {
    let url = req.url()?;
    let path_and_query = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let target = config.api_origin.url_for(&path_and_query);

    let content_length = req.headers().get("content-length")?;
    let plan = match plan_body(
        content_length.as_deref(),
        req.inner().body().is_some(),
        config.max_body_bytes,
    ) {
        Ok(plan) => plan,
        Err(refused) => return refusal(&refused),
    };
    let body: Option<JsValue> = match plan {
        BodyPlan::Empty => None,
        BodyPlan::Stream(_) => req.inner().body().map(JsValue::from),
        BodyPlan::ReadCapped(limit) => match read_capped(&mut req, limit).await {
            Ok(bytes) => Some(Uint8Array::from(bytes.as_slice()).into()),
            Err(ReadError::Refused(refused)) => return refusal(&refused),
            Err(ReadError::Runtime(error)) => return Err(error),
        },
    };

    let headers = Headers::new();
    for (name, value) in req.headers().entries() {
        if keeps_request_header(&name) {
            headers.append(&name, &value)?;
        }
    }
    let host = &url[worker::url::Position::BeforeHost..worker::url::Position::AfterPort];
    for (name, value) in forwarding_headers(client_ip, url.scheme(), host, config.origin_secret.as_deref()) {
        headers.set(name, &value)?;
    }

    let init = worker::web_sys::RequestInit::new();
    init.set_method(&req.inner().method());
    init.set_headers(headers.as_ref());
    init.set_redirect(worker::web_sys::RequestRedirect::Manual);
    if let Some(body) = &body {
        init.set_body(body);
    }
    let outbound = worker::web_sys::Request::new_with_str_and_init(&target, &init)?;
    let answer = match Fetch::Request(outbound.into()).send().await {
        Ok(answer) => answer,
        Err(error) => {
            console_error!("edge: forwarding to {target} failed: {error}");
            return respond::problem(&Problem::origin_unreachable());
        }
    };

    // A fetched response's headers are immutable: copy them, then apply the policy.
    let status = answer.status_code();
    if !relayable_status(status) {
        console_error!("edge: {target} answered with status {status}, which cannot be relayed");
        return respond::problem(&Problem::origin_unreachable());
    }
    let copied = Headers::new();
    for (name, value) in answer.headers().entries() {
        copied.append(&name, &value)?;
    }
    let origin_csp = answer.headers().get("content-security-policy")?;
    for (name, value) in security_headers::for_forwarded(origin_csp.as_deref()) {
        copied.set(name, &value)?;
    }
    let (_, body) = answer.into_parts();
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_headers(copied)
        .body(body))
}
