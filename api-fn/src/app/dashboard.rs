//! The start page: runs today and in the last 24 h, the success rate, a chart of runs per hour
//! (inline SVG drawn here, no script), the failures that need attention with their last error,
//! the runs due in the next hour, monitors that are down, usage against the plan's limits with
//! the upgrade link, and the newest jobs (or, with none, what to do first).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, DurationRound, Utc};
use domain::monitor::MonitorStatus;
use maud::{Markup, html};
use store::history::{HistoryFilter, HourCounts, failures};

use super::display::{relative, when};
use super::{AppError, Frame, Member, notice, page, respond};
use crate::AppState;

pub async fn home(State(state): State<AppState>, m: Member) -> Result<Response, AppError> {
    let now = Utc::now();
    let org = m.org.id;
    let midnight = now.duration_trunc(Duration::days(1)).unwrap_or(now);
    let day_ago = now - Duration::hours(24);
    let pool = &state.pool;
    let failures_filter = HistoryFilter { statuses: failures(), from: Some(day_ago), ..Default::default() };
    // independent reads, each on its own pooled connection, at once: the page waits for the
    // slowest of them instead of their sum
    let (today, last_day, hours, failed, upcoming, jobs, job_count, monitors, month, seats) = tokio::try_join!(
        store::history::counts(pool, org, midnight, now),
        store::history::counts(pool, org, day_ago, now),
        store::history::per_hour(pool, org, day_ago, now),
        store::history::list(pool, org, &failures_filter, None, 5),
        store::jobs::due_before(pool, org, now + Duration::hours(1), 10),
        store::jobs::list(pool, org, None, 10),
        store::jobs::count(pool, org),
        store::monitors::list(pool, org, None, 100),
        store::usage::month(pool, org, now),
        store::users::seats_used(pool, org, now),
    )?;
    let down: Vec<_> = monitors.iter().filter(|x| x.status == MonitorStatus::Down).collect();
    let limits = m.org.tier.limits();
    let ids: Vec<uuid::Uuid> = failed.iter().filter_map(|e| e.job_id).collect();
    let names = store::jobs::names(&state.pool, org, &ids).await?;
    let upgrade = match (&state.config.checkout_url, m.org.tier) {
        (Some(checkout), domain::tier::Tier::Free) => Some(crate::v1::usage::checkout_link(checkout, m.org.id)),
        (None, domain::tier::Tier::Free) => Some("/app/settings".to_owned()),
        _ => None,
    };
    let body = html! {
        section.stats aria-label="Runs" {
            div.stat { span.label { "Runs today (UTC)" } strong data-testid="runs-today" { (today.ran) } span.muted { (today.failed) " failed" } }
            div.stat { span.label { "Last 24 h" } strong data-testid="runs-24h" { (last_day.ran) } span.muted { (last_day.failed) " failed" } }
            div.stat { span.label { "Success rate (24 h)" } strong data-testid="success-rate" { @match last_day.success_rate() { Some(r) => { (format!("{r:.1}")) " %" }, None => "—" } } }
            div.stat { span.label { "Monitors down" } strong data-testid="monitors-down" { (down.len()) } span.muted { "of " (monitors.len()) } }
        }
        h2 { "Runs per hour, last 24 h" }
        (chart(&hours, now))
        h2 { "Needs attention" }
        @if failed.is_empty() { p.muted { "No failed runs in the last 24 hours." } } @else {
            ul.plain {
                @for e in &failed {
                    li {
                        (super::display::status(e.status)) " "
                        @match e.job_id.and_then(|id| names.iter().find(|(j, _)| *j == id)) { Some((_, name)) => strong { (name) }, None => strong { "queue call" } }
                        " " a href={ "/app/executions/" (e.id) } { (relative(e.scheduled_for, now)) }
                        @if let Some(c) = e.response_status { " · HTTP " (c) }
                        @if let Some(err) = &e.error { br; span.muted { "Last error: " (err) } }
                    }
                }
            }
            p { a href="/app/executions?status=failed,timeout" { "All failures" } }
        }
        @if !down.is_empty() {
            h2 { "Monitors down" }
            ul.plain { @for x in &down { li { span.badge.bad { "down" } " " strong { (x.name) } " · last ping " @match x.last_ping_at { Some(t) => (relative(t, now)), None => "never" } } } }
        }
        h2 { "Due in the next hour" }
        @if upcoming.is_empty() { p.muted { "Nothing is due in the next hour." } } @else {
            ul.plain { @for j in &upcoming { li { a href={ "/app/jobs/" (j.id) } { (j.spec.name.as_str()) } " · " @if let Some(at) = j.next_run_at { (when(at, now)) } } } }
        }
        h2 { "Usage this month" }
        ul.plain.usage {
            li { "Jobs: " strong { (job_count) } @match limits.max_jobs { Some(max) => { " of " (max) }, None => " (no limit)" } }
            li { "Runs this month: " strong { (month.executions) } " of " (limits.monthly_executions) }
            li { "Members (with open invitations): " strong { (seats) } @match limits.max_members { Some(max) => { " of " (max) }, None => " (no limit)" } }
        }
        @if let Some(url) = upgrade { p { "The " (m.org.tier.display_name()) " plan runs hourly at the fastest and keeps 7 days of history. " a href=(url) { "Upgrade to Pro" } } }
        h2 { "Jobs" }
        @if jobs.is_empty() {
            (notice("", html! { "No jobs yet. " a href="/app/jobs/new" { "Create your first job" } ": pick a schedule, the URL to call, and see its next runs before you save. Or use the API with a key from "
                a href="/app/keys" { "API keys" } " (" a href="/docs/getting-started" { "getting started" } ")." }))
        } @else {
            ul.plain { @for j in &jobs { li { a href={ "/app/jobs/" (j.id) } { (j.spec.name.as_str()) } " · " span.muted { (j.spec.schedule.describe()) } } } }
            p { a href="/app/jobs" { "All jobs" } " · " a href="/app/jobs/new" { "New job" } }
        }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "home"), "Home", body)))
}

/// Runs per hour over the 24 hours before `now` as stacked bars (succeeded below, failed on
/// top), with the numbers in a `<title>` per bar and a summary for screen readers.
pub fn chart(hours: &[HourCounts], now: DateTime<Utc>) -> Markup {
    const W: i64 = 24 * 20;
    const H: i64 = 120;
    let start = now.duration_trunc(Duration::hours(1)).unwrap_or(now) - Duration::hours(23);
    let slots: Vec<(DateTime<Utc>, i64, i64)> = (0..24)
        .map(|i| {
            let hour = start + Duration::hours(i);
            let c = hours.iter().find(|h| h.hour == hour);
            (hour, c.map_or(0, |c| c.succeeded), c.map_or(0, |c| c.failed))
        })
        .collect();
    let max = slots.iter().map(|(_, s, f)| s + f).max().unwrap_or(0).max(1);
    let (ok, bad): (i64, i64) = slots.iter().fold((0, 0), |(a, b), (_, s, f)| (a + s, b + f));
    let label = format!("Runs per hour over the last 24 hours: {ok} succeeded, {bad} failed; the busiest hour had {max}.");
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (W) " " (H + 16) } role="img" aria-label=(label) data-testid="runs-chart" {
                @for (i, (hour, s, f)) in slots.iter().enumerate() {
                    @let x = i as i64 * 20 + 2;
                    @let hs = s * H / max;
                    @let hf = f * H / max;
                    g {
                        title { (hour.format("%H:00")) " UTC: " (s) " succeeded, " (f) " failed" }
                        rect.ok x=(x) y=(H - hs) width="16" height=(hs) {}
                        rect.bad x=(x) y=(H - hs - hf) width="16" height=(hf) {}
                        @if i % 6 == 0 { text x=(x) y=(H + 13) { (hour.format("%H:00")) } }
                    }
                }
            }
            figcaption.muted { span.key.ok {} " succeeded " span.key.bad {} " failed · hours in UTC" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_each_hour_to_scale() {
        let now = DateTime::parse_from_rfc3339("2026-12-05T14:30:00Z").unwrap().with_timezone(&Utc);
        let hour = DateTime::parse_from_rfc3339("2026-12-05T13:00:00Z").unwrap().with_timezone(&Utc);
        let svg = chart(&[HourCounts { hour, succeeded: 3, failed: 1 }], now).into_string();
        assert!(svg.contains("13:00 UTC: 3 succeeded, 1 failed"), "{svg}");
        assert!(svg.contains(r#"height="90""#) && svg.contains(r#"height="30""#), "3 and 1 of 4 on a 120 px scale: {svg}");
        assert!(svg.contains("3 succeeded, 1 failed; the busiest hour had 4"), "{svg}");
        assert_eq!(svg.matches("<rect class=\"ok\"").count(), 24);
    }
}
