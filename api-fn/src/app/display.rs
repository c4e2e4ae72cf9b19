//! How the dashboard shows things: instants (UTC, with "in 3 min" / "5 min ago"), an execution's
//! status as a badge with words (never colour alone), a table of executions, and an execution's
//! request and response (credential headers masked exactly as the API's views mask them), and the
//! copy button of a URL or an example.

use chrono::{DateTime, Utc};
use domain::execution::ExecutionStatus;
use maud::{Markup, html};
use store::executions::Execution;

/// A "Copy" button for the element just before it (`app.js` copies that element's text). Shown
/// only when the script runs (`html.js`); without it the text is there to select by hand.
pub fn copy_button(what: &str) -> Markup {
    html! { button.copy.button.small.secondary type="button" aria-live="polite" { "Copy" span.visually-hidden { " " (what) } } }
}

/// `2026-12-05 14:03:07` (UTC).
pub fn instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// "in 4 min", "12 s ago", "3 h ago", "2 d ago".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    let n = secs.unsigned_abs();
    if n == 0 {
        return "now".to_owned();
    }
    let amount = match n {
        0..60 => format!("{n} s"),
        60..3600 => format!("{} min", n / 60),
        3600..86_400 => format!("{} h", n / 3600),
        _ => format!("{} d", n / 86_400),
    };
    if secs >= 0 { format!("in {amount}") } else { format!("{amount} ago") }
}

/// An instant with its distance from now, as a `<time>` element.
pub fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) title={ (instant(at)) " UTC" } { (instant(at)) " " span.muted { "(" (relative(at, now)) ")" } } }
}

/// The badge class of a status: good, bad, or neutral.
fn tone(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Success => "ok",
        ExecutionStatus::Failed | ExecutionStatus::Timeout => "bad",
        ExecutionStatus::Pending | ExecutionStatus::Running | ExecutionStatus::Waiting => "busy",
        ExecutionStatus::Cancelled | ExecutionStatus::Skipped => "",
    }
}

/// A status badge (its word is the status; the colour only repeats it).
pub fn status(s: ExecutionStatus) -> Markup {
    html! { span class={ "badge " (tone(s)) } { (s.as_str()) } }
}

/// The table of executions the job page and the history page share; `job_names`, when given,
/// adds a column naming each row's job (the history page).
pub fn executions_table(rows: &[Execution], job_names: Option<&[(uuid::Uuid, String)]>, now: DateTime<Utc>) -> Markup {
    let show_job = job_names.is_some();
    let job_names = job_names.unwrap_or_default();
    html! {
        div.scroll { table.executions {
            caption.visually-hidden { "Executions" }
            thead { tr {
                th scope="col" { "Scheduled (UTC)" }
                @if show_job { th scope="col" { "Job" } }
                th scope="col" { "Status" } th scope="col" { "HTTP" } th scope="col" { "Duration" } th scope="col" { "Attempt" } th scope="col" { "Source" }
            } }
            tbody {
                @for e in rows {
                    tr {
                        td { a href={ "/app/executions/" (e.id) } { (when(e.scheduled_for, now)) } }
                        @if show_job {
                            td { @match e.job_id.and_then(|id| job_names.iter().find(|(j, _)| *j == id)) {
                                Some((id, name)) => a href={ "/app/jobs/" (id) } { (name) },
                                None => span.muted { @if e.job_id.is_some() { "(deleted job)" } @else { "queue call" } },
                            } }
                        }
                        td { (status(e.status)) @if let Some(err) = &e.error { " " span.muted.clip { (err) } } }
                        td { @match e.response_status { Some(c) => (c), None => "—" } }
                        td { @match e.duration_ms { Some(ms) => { (ms) " ms" }, None => "—" } }
                        td { (e.attempt) " of " (e.max_attempts) }
                        td { (e.source.as_str()) }
                    }
                }
            }
        } }
    }
}

/// Headers as a definition list, credentials masked (`domain::job::shown_headers`, as the API).
pub fn headers(pairs: &[(String, String)]) -> Markup {
    let shown = domain::job::shown_headers(pairs);
    html! {
        @if shown.is_empty() { p.muted { "No headers." } } @else {
            pre.code { @for (name, value) in &shown { (name) ": " (value) "\n" } }
        }
    }
}

/// A body as text (or a note that there is none).
pub fn body(b: Option<&str>) -> Markup {
    html! { @match b { Some(b) if !b.is_empty() => pre.code { (b) }, _ => p.muted { "No body." } } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(relative(now + chrono::Duration::seconds(5), now), "in 5 s");
        assert_eq!(relative(now - chrono::Duration::milliseconds(300), now), "now");
        assert_eq!(relative(now - chrono::Duration::minutes(3), now), "3 min ago");
        assert_eq!(relative(now - chrono::Duration::hours(5), now), "5 h ago");
        assert_eq!(relative(now + chrono::Duration::days(2), now), "in 2 d");
    }

    #[test]
    fn credential_headers_are_masked() {
        let html = headers(&[("Authorization".into(), "Bearer abcdefghijklmnopqrstuvwxyz".into()), ("X-Trace".into(), "1".into())]).into_string();
        assert!(!html.contains("abcdefghijklmnop"), "{html}");
        assert!(html.contains("********wxyz") && html.contains("X-Trace: 1"), "{html}");
    }
}
