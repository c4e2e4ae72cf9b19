//! The organization's heartbeat monitors: each one's state, last ping, expected rhythm, and its
//! ping URL with copyable curl and crontab lines (the state refreshes live). Monitors are made
//! with the API for now; the page says how.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::monitor::MonitorStatus;
use maud::{Markup, html};
use store::monitors::{Monitor, MonitorSchedule};

use super::display::{relative, when};
use super::{AppError, Frame, Member, fragment, notice, page, respond};
use crate::AppState;

fn badge(s: MonitorStatus) -> Markup {
    let tone = match s {
        MonitorStatus::Up => "ok",
        MonitorStatus::Down => "bad",
        MonitorStatus::New | MonitorStatus::Paused => "",
    };
    html! { span class={ "badge " (tone) } { (s.as_str()) } }
}

fn rhythm(m: &Monitor) -> String {
    match &m.schedule {
        MonitorSchedule::Cron { expr, timezone } => format!("cron {expr} ({timezone}), grace {} s", m.grace_secs),
        MonitorSchedule::Interval { secs } => format!("every {secs} s, grace {} s", m.grace_secs),
    }
}

fn cards(monitors: &[Monitor], base: &str, now: DateTime<Utc>) -> Markup {
    html! {
        @for x in monitors {
            @let url = format!("{base}/ping/{}", x.token);
            article.monitor data-testid="monitor" {
                h2 { (x.name) " " (badge(x.status)) }
                p { "Expected: " (rhythm(x)) @if let Some(max) = x.max_runtime_secs { ", runs at most " (max) " s" } }
                p { "Last ping: " @match x.last_ping_at { Some(t) => (when(t, now)), None => "never" }
                    @if let Some(at) = x.alert_at { @if x.status != MonitorStatus::Down { " · down if nothing arrives " (relative(at, now)) } } }
                details {
                    summary { "Ping URL and examples" }
                    pre.code { "# at the end of your job\ncurl -fsS -m 10 --retry 3 " (url) "\n\n# when it starts, and when it fails\ncurl -fsS " (url) "/start\ncurl -fsS " (url) "/fail\n\n# in a crontab\n*/5 * * * * /usr/local/bin/backup.sh && curl -fsS -m 10 " (url) }
                }
            }
        }
    }
}

pub async fn list(State(state): State<AppState>, m: Member, axum::extract::Query(q): axum::extract::Query<super::history::DetailQuery>) -> Result<Response, AppError> {
    let now = Utc::now();
    let monitors = store::monitors::list(&state.pool, m.org.id, None, 100).await?;
    let base = &state.config.public_url;
    let list = cards(&monitors, base, now);
    if q.part.is_some() {
        return Ok(fragment(list));
    }
    let body = html! {
        @if monitors.is_empty() {
            (notice("", html! { "No monitors yet. A monitor expects your own cron job to ping a URL on a schedule, and alerts when a ping is late. Create one with "
                code { "POST /api/v1/monitors" } " (" a href="/docs/api" { "API reference" } ")." }))
            pre.code { "curl -X POST " (base) "/api/v1/monitors \\\n  -H \"Authorization: Bearer $PRIKKE_API_KEY\" -H \"Content-Type: application/json\" \\\n  -d '{\"name\": \"nightly backup\", \"schedule\": {\"kind\": \"interval\", \"interval_secs\": 86400}, \"grace_secs\": 600}'" }
        } @else {
            div #monitors data-refresh="/app/monitors?part=1" aria-live="polite" { (list) }
        }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "monitors"), "Monitors", body)))
}
