//! Public pings: heartbeat monitors' `GET|POST /ping/{token}` (success), `/ping/{token}/start`
//! and `/ping/{token}/fail`, and the completion URL of a job's run, `/ping/c/{token}` (sent to
//! the job's endpoint in the `Prikke-Completion-Url` header). No API key: the token is the
//! capability. A monitor ping's body is kept up to [`PING_BODY_MAX`] bytes (a job's output,
//! say), the rest dropped. Limited per client IP.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, header};
use axum::http::request::Parts;
use chrono::{TimeDelta, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use domain::monitor::{MonitorStatus, PingKind, after_ping, start_deadline_after};

use crate::AppState;
use crate::problem::Problem;
use crate::v1::extract::ApiPath;

/// Most bytes of a ping body that are kept.
pub const PING_BODY_MAX: usize = 10_000;

/// A ping, recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PingReceived {
    /// Always `true`.
    pub ok: bool,
    /// The monitor's status after the ping.
    pub status: MonitorStatus,
}

/// The client's address: the edge's `X-Forwarded-For` when trusted and the request proved it
/// came through the edge ([`crate::edge_proof`]), else the Lambda event's source IP, else the
/// TCP peer.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for && parts.extensions.get::<crate::edge_proof::ViaEdge>().is_some() {
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        if let Some(ip) = forwarded.and_then(|v| v.rsplit(',').next()).and_then(|s| s.trim().parse().ok()) {
            return Some(ip);
        }
    }
    if let Some(ctx) = parts.extensions.get::<lambda_http::request::RequestContext>() {
        let source = match ctx {
            lambda_http::request::RequestContext::ApiGatewayV2(c) => c.http.source_ip.as_deref(),
            lambda_http::request::RequestContext::ApiGatewayV1(c) => c.identity.source_ip.as_deref(),
            _ => None,
        };
        if let Some(ip) = source.and_then(|s| s.parse().ok()) {
            return Some(ip);
        }
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The longest prefix of `body` within `max` bytes that ends on a character boundary, as text.
pub fn kept_body(body: &[u8], max: usize) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(max)]).into_owned();
    // a multi-byte character cut at the limit becomes U+FFFD; drop it rather than keep garbage
    let text = if body.len() > max { text.trim_end_matches('\u{FFFD}').to_owned() } else { text };
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}

async fn receive(state: AppState, parts: Parts, token: String, kind: PingKind, body: Bytes) -> Result<Json<PingReceived>, Problem> {
    let now = Utc::now();
    let ip = client_ip(&parts, state.config.trust_forwarded_for);
    let bucket = format!("ping-ip:{}", ip.map(|i| i.to_string()).unwrap_or_else(|| "unknown".into()));
    state.limiter.check(&state.pool, &bucket, state.config.ping_rate_per_minute, now).await?;
    if !(16..=64).contains(&token.len()) {
        return Err(Problem::not_found("monitor"));
    }
    let mut tx = state.pool.begin().await?;
    let monitor = store::monitors::lock_by_token(&mut *tx, &token).await?.ok_or_else(|| Problem::not_found("monitor"))?;
    let rhythm = monitor
        .schedule
        .rhythm()
        .ok_or_else(|| Problem::internal(&store::StoreError::Corrupt { column: "monitors.cron_expr", value: monitor.id.to_string() }))?;
    let next = after_ping(monitor.status, monitor.alert_at, kind, &rhythm, TimeDelta::seconds(i64::from(monitor.grace_secs)), now);
    let (last_ping_at, last_start_at) = match kind {
        PingKind::Start => (monitor.last_ping_at, Some(now)),
        PingKind::Success | PingKind::Fail => (Some(now), monitor.last_start_at),
    };
    let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(256).collect());
    let ping = store::monitors::Ping {
        kind,
        received_at: now,
        method: parts.method.as_str().to_owned(),
        source_ip: ip.map(|i| i.to_string()),
        user_agent,
        body: kept_body(&body, PING_BODY_MAX),
    };
    let max_runtime = monitor.max_runtime_secs.map(|s| TimeDelta::seconds(i64::from(s)));
    let start_deadline = start_deadline_after(monitor.status, monitor.start_deadline, kind, max_runtime, now);
    let outcome =
        store::monitors::PingOutcome { status: next.status, last_ping_at, last_start_at, alert_at: next.alert_at, start_deadline, alert: next.alert };
    store::monitors::record_ping(&mut tx, &monitor, &ping, &outcome).await?;
    tx.commit().await?;
    tracing::info!(org_id = %monitor.org_id, monitor_id = %monitor.id, kind = kind.as_str(), status = next.status.as_str(), "ping");
    Ok(Json(PingReceived { ok: true, status: next.status }))
}

/// The ping's parts without consuming the body (extractors run before the body).
fn parts_of(method: Method, headers: HeaderMap, ext: axum::http::Extensions) -> Parts {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.method = method;
    parts.headers = headers;
    parts.extensions = ext;
    parts
}

/// Report success.
///
/// The monitored job ran: the monitor is up until its next ping is due (plus the grace period).
/// The body, if any (a job's output, say), is kept up to 10,000 bytes.
#[utoipa::path(post, path = "/ping/{token}", tag = "pings", operation_id = "pingMonitorSuccess", params(("token" = String, Path, description = "The monitor's ping token")),
    responses((status = 200, description = "Recorded", body = PingReceived, example = json!(crate::v1::examples::ping_received("up")))))]
pub async fn success(State(state): State<AppState>, ApiPath(token): ApiPath<String>, method: Method, headers: HeaderMap, ext: axum::http::Extensions, body: Bytes) -> Result<Json<PingReceived>, Problem> {
    receive(state, parts_of(method, headers, ext), token, PingKind::Success, body).await
}

/// Report success with a GET.
///
/// The same as `pingMonitorSuccess`, for a client that sends GET (`curl <ping_url>` in a
/// crontab).
#[utoipa::path(get, path = "/ping/{token}", tag = "pings", operation_id = "pingMonitorSuccessGet", params(("token" = String, Path, description = "The monitor's ping token")),
    responses((status = 200, description = "Recorded", body = PingReceived, example = json!(crate::v1::examples::ping_received("up")))))]
pub async fn success_get(state: State<AppState>, token: ApiPath<String>, method: Method, headers: HeaderMap, ext: axum::http::Extensions, body: Bytes) -> Result<Json<PingReceived>, Problem> {
    success(state, token, method, headers, ext, body).await
}

/// Report that the job started.
///
/// With `max_runtime_secs` set, a success or fail ping must follow within that many seconds, or
/// the monitor goes down as hung.
#[utoipa::path(post, path = "/ping/{token}/start", tag = "pings", operation_id = "pingMonitorStart", params(("token" = String, Path, description = "The monitor's ping token")),
    responses((status = 200, description = "Recorded", body = PingReceived, example = json!(crate::v1::examples::ping_received("up")))))]
pub async fn start(State(state): State<AppState>, ApiPath(token): ApiPath<String>, method: Method, headers: HeaderMap, ext: axum::http::Extensions, body: Bytes) -> Result<Json<PingReceived>, Problem> {
    receive(state, parts_of(method, headers, ext), token, PingKind::Start, body).await
}

/// Report that the job started, with a GET.
///
/// The same as `pingMonitorStart`, for a client that sends GET.
#[utoipa::path(get, path = "/ping/{token}/start", tag = "pings", operation_id = "pingMonitorStartGet", params(("token" = String, Path, description = "The monitor's ping token")),
    responses((status = 200, description = "Recorded", body = PingReceived, example = json!(crate::v1::examples::ping_received("up")))))]
pub async fn start_get(state: State<AppState>, token: ApiPath<String>, method: Method, headers: HeaderMap, ext: axum::http::Extensions, body: Bytes) -> Result<Json<PingReceived>, Problem> {
    start(state, token, method, headers, ext, body).await
}

/// What a completion ping did.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompletionOutcome {
    /// Within the window: the run succeeded.
    OnTime,
    /// After the window: the run failed as missed; the ping is recorded as late.
    Late,
    /// Before the run's call was answered: it succeeds when the call does.
    Early,
    /// The run had already ended, or was completed before: recorded only.
    Recorded,
}

/// A completion ping, recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompletionReceived {
    /// Always `true`.
    pub ok: bool,
    pub execution_id: uuid::Uuid,
    pub completion: CompletionOutcome,
}

/// Report that a run has completed.
///
/// For a job with a completion window: its endpoint calls the run's `Prikke-Completion-Url`
/// when the work is done. Within the window the run succeeds; after it, the ping is recorded as
/// late.
#[utoipa::path(post, path = "/ping/c/{token}", tag = "pings", operation_id = "pingExecutionComplete", params(("token" = String, Path, description = "The run's completion token (from the Prikke-Completion-Url header)")),
    responses((status = 200, description = "Recorded", body = CompletionReceived, example = json!(crate::v1::examples::completion_received()))))]
pub async fn complete(State(state): State<AppState>, ApiPath(token): ApiPath<String>, method: Method, headers: HeaderMap, ext: axum::http::Extensions) -> Result<Json<CompletionReceived>, Problem> {
    let now = Utc::now();
    let parts = parts_of(method, headers, ext);
    let ip = client_ip(&parts, state.config.trust_forwarded_for);
    let bucket = format!("ping-ip:{}", ip.map(|i| i.to_string()).unwrap_or_else(|| "unknown".into()));
    state.limiter.check(&state.pool, &bucket, state.config.ping_rate_per_minute, now).await?;
    if token.len() != 32 {
        return Err(Problem::not_found("completion URL"));
    }
    let mut tx = state.pool.begin().await?;
    let done = store::completion::complete(&mut tx, &token, now).await?.ok_or_else(|| Problem::not_found("completion URL"))?;
    tx.commit().await?;
    let completion = match done.outcome {
        domain::execution::CompletionPing::OnTime => CompletionOutcome::OnTime,
        domain::execution::CompletionPing::Late => CompletionOutcome::Late,
        domain::execution::CompletionPing::Early => CompletionOutcome::Early,
        domain::execution::CompletionPing::Recorded => CompletionOutcome::Recorded,
    };
    tracing::info!(org_id = %done.org_id, execution_id = %done.execution_id, ?completion, "completion ping");
    Ok(Json(CompletionReceived { ok: true, execution_id: done.execution_id, completion }))
}

/// Report that a run has completed, with a GET.
///
/// The same as `pingExecutionComplete`, for an endpoint that sends GET.
#[utoipa::path(get, path = "/ping/c/{token}", tag = "pings", operation_id = "pingExecutionCompleteGet", params(("token" = String, Path, description = "The run's completion token (from the Prikke-Completion-Url header)")),
    responses((status = 200, description = "Recorded", body = CompletionReceived, example = json!(crate::v1::examples::completion_received()))))]
pub async fn complete_get(state: State<AppState>, token: ApiPath<String>, method: Method, headers: HeaderMap, ext: axum::http::Extensions) -> Result<Json<CompletionReceived>, Problem> {
    complete(state, token, method, headers, ext).await
}

/// Report that the job failed.
///
/// The monitor goes down and alerts (once, until its next success). The body, if any, is kept
/// up to 10,000 bytes.
#[utoipa::path(post, path = "/ping/{token}/fail", tag = "pings", operation_id = "pingMonitorFail", params(("token" = String, Path, description = "The monitor's ping token")),
    responses((status = 200, description = "Recorded", body = PingReceived, example = json!(crate::v1::examples::ping_received("down")))))]
pub async fn fail(State(state): State<AppState>, ApiPath(token): ApiPath<String>, method: Method, headers: HeaderMap, ext: axum::http::Extensions, body: Bytes) -> Result<Json<PingReceived>, Problem> {
    receive(state, parts_of(method, headers, ext), token, PingKind::Fail, body).await
}

/// Report that the job failed, with a GET.
///
/// The same as `pingMonitorFail`, for a client that sends GET.
#[utoipa::path(get, path = "/ping/{token}/fail", tag = "pings", operation_id = "pingMonitorFailGet", params(("token" = String, Path, description = "The monitor's ping token")),
    responses((status = 200, description = "Recorded", body = PingReceived, example = json!(crate::v1::examples::ping_received("down")))))]
pub async fn fail_get(state: State<AppState>, token: ApiPath<String>, method: Method, headers: HeaderMap, ext: axum::http::Extensions, body: Bytes) -> Result<Json<PingReceived>, Problem> {
    fail(state, token, method, headers, ext, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_cut_on_character_boundaries() {
        assert_eq!(kept_body(b"", 10), None);
        assert_eq!(kept_body(b"hello", 10).as_deref(), Some("hello"));
        assert_eq!(kept_body(b"hello world", 5).as_deref(), Some("hello"));
        let text = "ååå".as_bytes(); // 6 bytes
        assert_eq!(kept_body(text, 3).as_deref(), Some("å"));
        assert_eq!(kept_body(&[0xff, b'a'], 10).as_deref(), Some("\u{FFFD}a"), "invalid UTF-8 is kept readable");
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let req = |via_edge: bool| {
            let mut b = axum::http::Request::builder()
                .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
                .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 9))));
            if via_edge {
                b = b.extension(crate::edge_proof::ViaEdge);
            }
            b.body(()).unwrap().into_parts().0
        };
        assert_eq!(client_ip(&req(true), true), Some("198.51.100.7".parse().unwrap()), "the last hop, written by the edge");
        assert_eq!(client_ip(&req(true), false), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(client_ip(&req(false), true), Some("127.0.0.1".parse().unwrap()), "not believed without the edge's proof");
    }
}
