//! The Worker's entry point and the thin layer that talks to the Workers runtime: reading the
//! request, asking the rate limiter, calling api-fn and writing responses. Every decision is
//! delegated to the pure modules; this code only builds for wasm32 and is tested under workerd
//! by scripts/edge/test.sh.

mod body;
mod limiter;
mod origin;
mod proxy;
mod respond;
mod waitlist_handler;

use worker::{Context, Date, Env, Request, Response, Result, console_error, event};

use crate::config::Config;
use crate::health::BUILD_SHA;
use crate::pages::{self, status::StatusView};
use crate::problem::{Problem, prefers_json};
use crate::rate_limit::{Bucket, Decision};
use crate::routes::{self, Asset, Page, Route};

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let head = req.inner().method() == "HEAD";
    let response = match serve(req, &env).await {
        Ok(response) => response,
        Err(error) => {
            console_error!("edge: unhandled error: {error}");
            respond::problem(&Problem::internal())?
        }
    };
    if head {
        respond::without_body(response)
    } else {
        Ok(response)
    }
}

async fn serve(req: Request, env: &Env) -> Result<Response> {
    // plain variables and secrets (`wrangler secret put`) alike
    let config = match Config::from_vars(|name| {
        env.var(name).map(|v| v.to_string()).or_else(|_| env.secret(name).map(|s| s.to_string())).ok()
    }) {
        Ok(config) => config,
        Err(error) => {
            console_error!("edge: configuration error: {error}");
            return respond::problem(&Problem::internal());
        }
    };
    let method = req.inner().method();
    let url = req.url()?;
    let route = routes::route(&method, url.path());
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let client_ip = header("cf-connecting-ip");
    let wants_json = route == Route::Forward
        || prefers_json(
            header("accept").as_deref(),
            header("content-type").as_deref(),
        );

    let client = client_ip.as_deref().unwrap_or("unknown");
    let now_ms = Date::now().as_millis();
    let mut buckets = vec![Bucket::Requests];
    if route == Route::Waitlist {
        buckets.push(Bucket::Waitlist);
    }
    for bucket in buckets {
        if let Decision::Limit { retry_after_secs } =
            limiter::check(env, bucket, client, now_ms).await
        {
            return respond::rate_limited(retry_after_secs, wants_json);
        }
    }

    match route {
        Route::Forward => proxy::forward(req, &config, client_ip.as_deref()).await,
        Route::Waitlist => waitlist_handler::handle(req, &config, client_ip.as_deref()).await,
        Route::Page(Page::Status) => {
            let view = match origin::get(&config, "/status.json", origin::STATUS_TIMEOUT_MS).await {
                Some((status, body)) => StatusView::from_origin(status, &body),
                None => StatusView::Unreachable,
            };
            respond::html(200, &pages::status::render(&view), "no-store")
        }
        Route::Page(page) => match pages::static_page(page) {
            Some(html) => respond::html(200, &html, "public, max-age=300"),
            None => respond::not_found(url.path(), wants_json),
        },
        Route::Asset(Asset::Stylesheet) => {
            respond::asset(pages::STYLESHEET, "text/css; charset=utf-8")
        }
        Route::Asset(Asset::Favicon) => respond::asset(pages::FAVICON_SVG, "image/svg+xml"),
        Route::Health => {
            let api_up = match origin::get(&config, "/health", origin::HEALTH_TIMEOUT_MS).await {
                Some((status, body)) => crate::health::reports_up(status, &body),
                None => false,
            };
            let report = crate::health::edge_report(BUILD_SHA, config.env, api_up);
            respond::json(report.status_code(), &crate::health::to_json(&report), "application/json")
        }
        Route::MethodNotAllowed { allow } => respond::method_not_allowed(allow, wants_json),
        Route::NotFound => respond::not_found(url.path(), wants_json),
    }
}
