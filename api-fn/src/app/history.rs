//! Executions across the organization ("what failed tonight"): filters by status, source, job
//! and time range (the REST list's own rules), cursor pages, the first page refreshed live; one
//! execution with the request sent (credentials masked, as the API shows them), the response,
//! every attempt and the completion ping; and its redelivery. Another organization's execution
//! is a 404.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::AppForm;
use super::display::{self, executions_table, instant, status, when};
use super::orgs::CsrfOnly;
use super::{AppError, Frame, Member, csrf_field, fragment, notice, page, respond, see_other, url_escape};
use crate::AppState;
use crate::v1::execution_schema::{CompletionState, ExecutionView};
use crate::v1::executions::HistoryQuery;
use crate::v1::extract::ApiPath;
use crate::v1::pagination::{PageQuery, paginate};

const PAGE: u32 = 50;

/// The filter form's fields (times are `datetime-local` values, read as UTC).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    pub status: Option<String>,
    pub source: Option<String>,
    pub job_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
}

/// A `datetime-local` value (or RFC 3339) read as UTC; empty is none.
pub fn utc(field: &str, value: &Option<String>) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    let parsed = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M").or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"));
    match parsed {
        Ok(t) => Ok(Some(t.and_utc())),
        Err(_) => v.parse::<DateTime<Utc>>().map(Some).map_err(|_| AppError::BadRequest(format!("{field}: {v:?} is not a date and time (YYYY-MM-DDTHH:MM, UTC)."))),
    }
}

impl Filters {
    /// The store's filter, checked by the same rules as `GET /api/v1/executions`.
    fn parse(&self) -> Result<store::history::HistoryFilter, AppError> {
        let job_id = match self.job_id.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(Uuid::parse_str(v).map_err(|_| AppError::NotFound)?),
        };
        let q = HistoryQuery { status: self.status.clone(), job_id, source: self.source.clone(), from: utc("From", &self.from)?, to: utc("To", &self.to)? };
        q.parse().map_err(AppError::from)
    }

    /// The query string of these filters (without the cursor).
    fn query(&self) -> String {
        [("status", &self.status), ("source", &self.source), ("job_id", &self.job_id), ("from", &self.from), ("to", &self.to)]
            .iter()
            .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| format!("{k}={}", url_escape(v))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A page of the filtered history as a table, and the next page's cursor.
async fn rows(state: &AppState, m: &Member, f: &Filters, now: DateTime<Utc>) -> Result<(Markup, Option<String>), AppError> {
    let filter = f.parse()?;
    let wanted = PageQuery { limit: Some(PAGE), cursor: f.cursor.clone() }.parse()?;
    let rows = store::history::list(&state.pool, m.org.id, &filter, wanted.after, i64::from(wanted.limit) + 1).await?;
    let (rows, next) = paginate(rows, wanted.limit, |e| (e.scheduled_for, e.id));
    let mut ids: Vec<Uuid> = rows.iter().filter_map(|e| e.job_id).collect();
    ids.sort();
    ids.dedup();
    let names = store::jobs::names(&state.pool, m.org.id, &ids).await?;
    let markup = html! {
        @if rows.is_empty() { p.muted { "No executions match. Runs appear here as soon as they are recorded." } }
        @else { (executions_table(&rows, Some(&names), now)) }
    };
    Ok((markup, next))
}

pub async fn list(State(state): State<AppState>, m: Member, Query(f): Query<Filters>) -> Result<Response, AppError> {
    let now = Utc::now();
    let (table, next) = rows(&state, &m, &f, now).await?;
    let query = f.query();
    let selected = |v: &str, field: &Option<String>| field.as_deref() == Some(v);
    let body = html! {
        form.row method="get" action="/app/executions" {
            label { "Status" select name="status" {
                option value="" { "Any" }
                @for (v, label) in [("failed,timeout", "Failed or timed out"), ("success", "Succeeded"), ("pending,running,waiting", "Waiting or running"), ("skipped,cancelled", "Skipped or cancelled")] {
                    option value=(v) selected[selected(v, &f.status)] { (label) }
                }
            } }
            label { "Source" select name="source" {
                option value="" { "Any" }
                @for v in ["schedule", "manual", "queue", "redelivery"] { option value=(v) selected[selected(v, &f.source)] { (v) } }
            } }
            label { "From (UTC)" input type="datetime-local" name="from" value=[f.from.as_deref()]; }
            label { "To (UTC)" input type="datetime-local" name="to" value=[f.to.as_deref()]; }
            @if let Some(j) = f.job_id.as_deref().filter(|j| !j.is_empty()) { input type="hidden" name="job_id" value=(j); }
            button.button type="submit" { "Filter" }
        }
        @if f.cursor.is_none() {
            div #history data-refresh={ "/app/executions/rows" @if !query.is_empty() { "?" (query) } } aria-live="polite" { (table) }
        } @else { (table) p { a href={ "/app/executions" @if !query.is_empty() { "?" (query) } } { "Latest runs" } } }
        @if let Some(c) = &next { p { a href={ "/app/executions?" (query) @if !query.is_empty() { "&" } "cursor=" (c) } { "Older runs" } } }
        p.muted { "The same list from the API: " code { "GET /api/v1/executions?status=failed,timeout" } " (" a href="/docs/api" { "reference" } ")." }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "executions"), "History", body)))
}

/// The first page of the filtered history, for the live refresh.
pub async fn rows_fragment(State(state): State<AppState>, m: Member, Query(mut f): Query<Filters>) -> Result<Response, AppError> {
    f.cursor = None;
    Ok(fragment(rows(&state, &m, &f, Utc::now()).await?.0))
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    /// Only the part that changes while it runs (the live refresh).
    pub part: Option<String>,
}

fn completion(view: &ExecutionView) -> Markup {
    let Some(c) = &view.completion else { return html! {} };
    let words = match c.state {
        CompletionState::NotStarted => "the call has not been answered yet",
        CompletionState::Waiting => "waiting for the completion ping",
        CompletionState::Completed => "completed in time",
        CompletionState::Late => "completed after the window",
        CompletionState::Missed => "no completion ping within the window",
    };
    html! {
        h2 { "Completion ping" }
        p data-testid="completion" { (words) " (window " (c.window_secs) " s"
            @if let Some(d) = c.deadline { ", until " (instant(d)) " UTC" }
            @if let Some(at) = c.completed_at { "; pinged " (instant(at)) " UTC" } ")." }
    }
}

async fn detail_part(state: &AppState, m: &Member, id: Uuid, now: DateTime<Utc>) -> Result<(Markup, store::executions::Execution), AppError> {
    let e = store::executions::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    let attempts = store::executions::attempts(&state.pool, m.org.id, id).await?;
    let job = match e.job_id {
        Some(j) => store::jobs::get(&state.pool, m.org.id, j).await?,
        None => None,
    };
    let view = ExecutionView::from(&e);
    let markup = html! {
        dl.facts {
            dt { "Status" } dd data-testid="execution-status" { (status(e.status)) @if let Some(r) = &e.status_reason { " " span.muted { (r) } } }
            dt { "Job" } dd { @match &job { Some(j) => a href={ "/app/jobs/" (j.id) } { (j.spec.name.as_str()) }, None => span.muted { @if e.job_id.is_some() { "(deleted)" } @else { "queue call" } } } }
            dt { "Source" } dd { (e.source.as_str()) @if let Some(o) = e.redelivery_of { " of " a href={ "/app/executions/" (o) } { "an earlier execution" } } }
            dt { "Scheduled" } dd { (when(e.scheduled_for, now)) }
            dt { "Started" } dd { @match e.started_at { Some(t) => (when(t, now)), None => "—" } }
            dt { "Duration" } dd { @match e.duration_ms { Some(ms) => { (ms) " ms" }, None => "—" } }
            dt { "Attempt" } dd { (e.attempt) " of " (e.max_attempts) }
            dt { "webhook-id" } dd { code { (view.message_id) } }
            @if let Some(err) = &e.error { dt { "Error" } dd { (err) } }
        }
        h2 { "Request sent" }
        p { code { (e.method.as_str()) " " (e.url) } " · timeout " (e.timeout_secs) " s" }
        (display::headers(&e.headers.0))
        (display::body(e.body.as_deref()))
        h2 { "Response received" }
        @match e.response_status {
            Some(code) => {
                p data-testid="response-status" { "HTTP " strong { (code) } }
                (display::headers(e.response_headers.as_ref().map(|h| h.0.as_slice()).unwrap_or_default()))
                (display::body(e.response_body.as_deref()))
            },
            None => p.muted { @if e.status.is_final() { "No response (see the error above)." } @else { "Not answered yet." } },
        }
        (completion(&view))
        h2 { "Attempts" }
        @if attempts.is_empty() { p.muted { "Only the attempt above." } } @else {
            div.scroll tabindex="0" role="region" aria-label="Earlier attempts" { table {
                caption.visually-hidden { "Earlier attempts" }
                thead { tr { th scope="col" { "Attempt" } th scope="col" { "Started (UTC)" } th scope="col" { "Status" } th scope="col" { "HTTP" } th scope="col" { "Duration" } th scope="col" { "Error" } } }
                tbody { @for a in &attempts { tr {
                    td { (a.attempt) } td { (instant(a.started_at)) } td { (status(a.status)) }
                    td { @match a.response_status { Some(c) => (c), None => "—" } } td { (a.duration_ms) " ms" } td { @if let Some(err) = &a.error { (err) } }
                } } }
            } }
        }
    };
    Ok((markup, e))
}

pub async fn detail(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, Query(q): Query<DetailQuery>) -> Result<Response, AppError> {
    let now = Utc::now();
    let (part, e) = detail_part(&state, &m, id, now).await?;
    if q.part.is_some() {
        return Ok(fragment(part));
    }
    let body = html! {
        @if e.status.is_final() {
            (part)
            form method="post" action={ "/app/executions/" (id) "/redeliver" } {
                (csrf_field(&m.visitor.csrf))
                button.button type="submit" { "Redeliver" }
                " " span.muted { "Sends the same message again (same webhook-id) as a new execution." }
            }
        } @else {
            (notice("warn", html! { "Not finished yet: this page follows it." }))
            div #execution data-refresh={ "/app/executions/" (id) "?part=1" } aria-live="polite" { (part) }
        }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "executions"), "Execution", body)))
}

pub async fn redeliver(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    let mut tx = state.pool.begin().await?;
    let copy = crate::v1::runs::redeliver_one(&mut tx, m.org.id, m.org.tier, id, Utc::now()).await?;
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, execution_id = %copy.id, redelivery_of = %id, user_id = %m.user.id, "execution redelivered from the dashboard");
    Ok(see_other(&format!("/app/executions/{}", copy.id)))
}
