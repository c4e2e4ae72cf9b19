//! The public status page: renders api-fn's `/status.json`, or an "unknown" page when api-fn
//! could not be reached in time.

use serde::Deserialize;

use super::{escape, layout};

/// Delivery lag above which the scheduler counts as degraded.
pub const DEGRADED_LAG_MS: i64 = 60_000;

/// api-fn's `GET /status.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusReport {
    pub api: ApiStatus,
    pub scheduler: SchedulerStatus,
    #[serde(default)]
    pub incidents: Vec<Incident>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiStatus {
    pub up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SchedulerStatus {
    pub up: bool,
    pub last_heartbeat_at: Option<String>,
    pub lag_ms: Option<i64>,
}

/// An incident as api-fn reports it; every field is optional so a richer shape still renders.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Incident {
    pub title: Option<String>,
    pub started_at: Option<String>,
    pub resolved_at: Option<String>,
    pub detail: Option<String>,
}

/// What the edge learnt when it asked api-fn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusView {
    Known(StatusReport),
    /// No answer in time, or an answer that was not a status report.
    Unreachable,
}

impl StatusView {
    /// Reads an answer from api-fn; anything but a 200 with the documented JSON is unreachable.
    pub fn from_origin(status: u16, body: &str) -> Self {
        match serde_json::from_str::<StatusReport>(body) {
            Ok(report) if status == 200 => StatusView::Known(report),
            _ => StatusView::Unreachable,
        }
    }
}

/// The page's headline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    Operational,
    Degraded,
    Unknown,
}

pub fn overall(view: &StatusView) -> Overall {
    match view {
        StatusView::Unreachable => Overall::Unknown,
        StatusView::Known(report) => {
            let lagging = report
                .scheduler
                .lag_ms
                .is_some_and(|lag| lag > DEGRADED_LAG_MS);
            let open_incident = report.incidents.iter().any(|i| i.resolved_at.is_none());
            if report.api.up && report.scheduler.up && !lagging && !open_incident {
                Overall::Operational
            } else {
                Overall::Degraded
            }
        }
    }
}

fn component(name: &str, state: &str, label: &str, note: &str) -> String {
    format!(
        r#"<li class="{state}"><span class="status-dot"></span><strong>{name}</strong>&nbsp;&middot; {label}<small>{note}</small></li>"#
    )
}

fn up_or_down(up: bool) -> (&'static str, &'static str) {
    if up {
        ("up", "Operational")
    } else {
        ("down", "Down")
    }
}

/// Formats a lag for people: `850 ms`, `4.2 s`, `3 min`.
pub fn describe_lag(lag_ms: i64) -> String {
    match lag_ms {
        ms if ms < 1_000 => format!("{} ms", ms.max(0)),
        ms if ms < 60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        ms => format!("{} min", ms / 60_000),
    }
}

/// The full status page.
pub fn render(view: &StatusView) -> String {
    let (class, headline) = match overall(view) {
        Overall::Operational => ("notice", "All systems operational"),
        Overall::Degraded => (
            "notice warn",
            "Degraded: some parts of Prikke are not working normally",
        ),
        Overall::Unknown => (
            "notice warn",
            "Status unknown: the status service could not be reached just now",
        ),
    };
    let mut items = vec![component(
        "Website and edge",
        "up",
        "Operational",
        "answering this page",
    )];
    let mut incidents_html = String::new();
    match view {
        StatusView::Unreachable => {
            items.push(component(
                "API and dashboard",
                "unknown",
                "Unknown",
                "no answer in time",
            ));
            items.push(component(
                "Scheduler and delivery",
                "unknown",
                "Unknown",
                "",
            ));
        }
        StatusView::Known(report) => {
            let (state, label) = up_or_down(report.api.up);
            items.push(component("API and dashboard", state, label, ""));
            let (mut state, mut label) = up_or_down(report.scheduler.up);
            let lag = report.scheduler.lag_ms;
            if report.scheduler.up && lag.is_some_and(|l| l > DEGRADED_LAG_MS) {
                (state, label) = ("degraded", "Delayed");
            }
            let mut note = lag
                .map(|l| format!("delivery lag {}", describe_lag(l)))
                .unwrap_or_default();
            if let Some(at) = &report.scheduler.last_heartbeat_at {
                let at = escape(at);
                let sep = if note.is_empty() { "" } else { " · " };
                note = format!(r#"{note}{sep}last heartbeat <time datetime="{at}">{at}</time>"#);
            }
            items.push(component("Scheduler and delivery", state, label, &note));
            for incident in &report.incidents {
                let title = escape(incident.title.as_deref().unwrap_or("Incident"));
                let when = match (&incident.started_at, &incident.resolved_at) {
                    (Some(start), Some(end)) => format!("{} – {}", escape(start), escape(end)),
                    (Some(start), None) => format!("since {} (ongoing)", escape(start)),
                    (None, Some(end)) => format!("resolved {}", escape(end)),
                    (None, None) => "ongoing".to_owned(),
                };
                let detail = incident
                    .detail
                    .as_deref()
                    .map(|d| format!("<p>{}</p>", escape(d)))
                    .unwrap_or_default();
                incidents_html.push_str(&format!(
                    "<li><strong>{title}</strong> <small>{when}</small>{detail}</li>"
                ));
            }
        }
    }
    let incidents = if incidents_html.is_empty() {
        "<p>No incidents reported recently.</p>".to_owned()
    } else {
        format!("<ul>{incidents_html}</ul>")
    };
    let main = format!(
        r#"<section><div class="wrap"><h1>Prikke status</h1><p class="{class}">{headline}</p><ul class="components">{}</ul><h2>Incidents</h2>{incidents}<p><small>Machine-readable: <a href="/health">/health</a>. This page refreshes when you reload it.</small></p></div></section>"#,
        items.concat()
    );
    layout("Status · Prikke", "/status", &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(json: &str) -> StatusView {
        StatusView::from_origin(200, json)
    }

    const HEALTHY: &str = r#"{"api":{"up":true},"scheduler":{"up":true,"last_heartbeat_at":"2026-05-01T10:00:00Z","lag_ms":850},"incidents":[]}"#;

    #[test]
    fn a_healthy_report_is_operational() {
        let view = known(HEALTHY);
        assert_eq!(overall(&view), Overall::Operational);
        let html = render(&view);
        assert!(html.contains("All systems operational"));
        assert!(html.contains("delivery lag 850 ms"));
        assert!(html.contains(r#"<time datetime="2026-05-01T10:00:00Z">"#));
        assert!(html.contains("No incidents reported recently."));
    }

    #[test]
    fn a_stopped_or_lagging_scheduler_is_degraded() {
        let down = known(
            r#"{"api":{"up":true},"scheduler":{"up":false,"last_heartbeat_at":null,"lag_ms":null},"incidents":[]}"#,
        );
        assert_eq!(overall(&down), Overall::Degraded);
        assert!(render(&down).contains(r#"<li class="down"><span class="status-dot"></span><strong>Scheduler and delivery</strong>"#));
        let lagging = known(
            r#"{"api":{"up":true},"scheduler":{"up":true,"last_heartbeat_at":null,"lag_ms":120000},"incidents":[]}"#,
        );
        assert_eq!(overall(&lagging), Overall::Degraded);
        assert!(render(&lagging).contains("Delayed"));
        assert!(render(&lagging).contains("delivery lag 2 min"));
    }

    #[test]
    fn open_incidents_degrade_and_are_listed_escaped() {
        let view = known(
            r#"{"api":{"up":true},"scheduler":{"up":true,"last_heartbeat_at":null,"lag_ms":10},"incidents":[{"title":"Slow <b>delivery</b>","started_at":"2026-05-01T09:00:00Z"}]}"#,
        );
        assert_eq!(overall(&view), Overall::Degraded);
        let html = render(&view);
        assert!(html.contains("Slow &lt;b&gt;delivery&lt;/b&gt;"));
        assert!(html.contains("since 2026-05-01T09:00:00Z (ongoing)"));
    }

    #[test]
    fn no_answer_or_a_wrong_answer_is_unknown() {
        assert_eq!(
            StatusView::from_origin(503, HEALTHY),
            StatusView::Unreachable
        );
        assert_eq!(
            StatusView::from_origin(200, "<html>"),
            StatusView::Unreachable
        );
        let html = render(&StatusView::Unreachable);
        assert!(html.contains("Status unknown"));
        assert!(html.contains(r#"<li class="unknown">"#));
    }

    #[test]
    fn lags_read_naturally() {
        assert_eq!(describe_lag(-5), "0 ms");
        assert_eq!(describe_lag(999), "999 ms");
        assert_eq!(describe_lag(4_200), "4.2 s");
        assert_eq!(describe_lag(180_000), "3 min");
    }
}
