//! The edge's own calls to api-fn (health, status, waitlist), each bounded by a timeout.

use worker::wasm_bindgen::JsValue;
use worker::{AbortSignal, Fetch, Headers, Method, Request, RequestInit, console_error};

use crate::config::Config;
use crate::forwarding::EDGE_PROOF_HEADER;

/// `/status.json` and `/health` must answer quickly or the page shows "unknown".
pub const STATUS_TIMEOUT_MS: u32 = 1_500;
pub const HEALTH_TIMEOUT_MS: u32 = 1_500;
/// A sign-up writes one row.
pub const WAITLIST_TIMEOUT_MS: u32 = 5_000;

async fn send(req: Request, timeout_ms: u32) -> Option<(u16, String)> {
    let signal = AbortSignal::from(worker::web_sys::AbortSignal::timeout_with_u32(timeout_ms));
    let url = req.url().map(|u| u.to_string()).unwrap_or_default();
    match Fetch::Request(req).send_with_signal(&signal).await {
        Ok(mut response) => match response.text().await {
            Ok(body) => Some((response.status_code(), body)),
            Err(error) => {
                console_error!("edge: reading {url} failed: {error}");
                None
            }
        },
        Err(error) => {
            console_error!("edge: calling {url} failed: {error}");
            None
        }
    }
}

/// Headers every call to api-fn carries: the edge's proof, when configured.
fn origin_headers(config: &Config) -> Option<Headers> {
    let headers = Headers::new();
    if let Some(secret) = &config.origin_secret {
        headers.set(EDGE_PROOF_HEADER, secret).ok()?;
    }
    Some(headers)
}

/// `GET` a path of api-fn; `None` when it did not answer in time.
pub async fn get(config: &Config, path: &str, timeout_ms: u32) -> Option<(u16, String)> {
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(origin_headers(config)?);
    let req = Request::new_with_init(&config.api_origin.url_for(path), &init).ok()?;
    send(req, timeout_ms).await
}

/// `POST /waitlist` with `{"email": …}`; `None` when api-fn did not answer in time.
pub async fn submit_waitlist(
    config: &Config,
    email: &str,
    client_ip: Option<&str>,
) -> Option<(u16, String)> {
    let headers = origin_headers(config)?;
    headers.set("content-type", "application/json").ok()?;
    headers.set("accept", "application/json").ok()?;
    if let Some(ip) = client_ip {
        headers.set("x-forwarded-for", ip).ok()?;
    }
    let body = serde_json::json!({ "email": email }).to_string();
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(&body)));
    let req = Request::new_with_init(&config.api_origin.url_for("/waitlist"), &init).ok()?;
    send(req, WAITLIST_TIMEOUT_MS).await
}
