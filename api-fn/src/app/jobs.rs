//! The organization's jobs: the list (state, last run and its outcome, next run; search by name
//! or URL; cursor pages), one job with its history (edit is in `job_form`) (cursor pages, the first page refreshed
//! live), copyable API examples, and the actions: run now, pause, resume, delete (after a page
//! that asks). Every member may act on jobs (roles only guard the organization's credentials and
//! members); another organization's job is a 404.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::AppForm;
use super::display::{executions_table, status, when};
use super::orgs::CsrfOnly;
use super::{AppError, Frame, Member, csrf_field, fragment, notice, page, respond, see_other, url_escape};
use crate::AppState;
use crate::v1::extract::ApiPath;
use crate::v1::pagination::{PageQuery, paginate};

/// Jobs per page of the list; executions per page of a job's history.
const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// What was just done (a notice).
    pub done: Option<String>,
}

fn page_of(cursor: &Option<String>) -> Result<crate::v1::pagination::PageRequest, AppError> {
    PageQuery { limit: Some(PAGE), cursor: cursor.clone() }.parse().map_err(AppError::from)
}

/// A job's state in words.
fn state_of(job: &store::jobs::Job, tier: domain::tier::Tier) -> Markup {
    html! {
        @if let Some(reason) = job.paused_reason { span.badge { "paused" } " " span.muted { (reason.explain(tier)) } }
        @else if job.spec.enabled { span.badge.ok { "enabled" } } @else { span.badge { "paused" } }
    }
}

pub async fn list(State(state): State<AppState>, m: Member, Query(q): Query<ListQuery>) -> Result<Response, AppError> {
    let now = Utc::now();
    let wanted = page_of(&q.cursor)?;
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let limit = i64::from(wanted.limit) + 1;
    let rows = match text {
        Some(t) => store::jobs::search(&state.pool, m.org.id, t, wanted.after, limit).await?,
        None => store::jobs::list(&state.pool, m.org.id, wanted.after, limit).await?,
    };
    let (jobs, next) = paginate(rows, wanted.limit, |j| (j.created_at, j.id));
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
    let last = store::history::last_runs(&state.pool, m.org.id, &ids).await?;
    let body = html! {
        @if q.done.as_deref() == Some("deleted") { (notice("", html! { "The job is deleted. Its history stays under " a href="/app/executions" { "History" } "." })) }
        form.row method="get" action="/app/jobs" role="search" {
            label { "Search by name or URL" input type="search" name="q" value=[text]; }
            button.button type="submit" { "Search" }
            a.button href="/app/jobs/new" { "New job" }
        }
        @if jobs.is_empty() {
            @if text.is_some() { p { "No job's name or URL contains that. " a href="/app/jobs" { "Show all jobs" } } }
            @else { (notice("", html! { "No jobs yet. " a href="/app/jobs/new" { "Create a job" } " with a schedule preset, or with " code { "POST /api/v1/jobs" } " (" a href="/docs/getting-started" { "getting started" } ")." })) }
        } @else {
            div.scroll { table {
                caption.visually-hidden { "Jobs" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Schedule" } th scope="col" { "State" } th scope="col" { "Last run" } th scope="col" { "Next run (UTC)" } } }
                tbody {
                    @for job in &jobs {
                        tr {
                            td { a href={ "/app/jobs/" (job.id) } { (job.spec.name.as_str()) } br; span.muted.clip { (job.spec.method.as_str()) " " (job.spec.url.as_str()) } }
                            td { (job.spec.schedule.describe()) }
                            td { (state_of(job, m.org.tier)) }
                            td { @match last.iter().find(|l| l.job_id == job.id) {
                                Some(l) => { a href={ "/app/executions/" (l.execution_id) } { (status(l.status)) } @if let Some(c) = l.response_status { " HTTP " (c) } br; span.muted { (super::display::relative(l.scheduled_for, now)) } },
                                None => span.muted { "never" },
                            } }
                            td { @match job.next_run_at { Some(at) => (when(at, now)), None => "—" } }
                        }
                    }
                }
            } }
            @if let Some(c) = &next { p { a href={ "/app/jobs?cursor=" (c) @if let Some(t) = text { "&q=" (url_escape(t)) } } { "Older jobs" } } }
        }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "jobs"), "Jobs", body)))
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    pub cursor: Option<String>,
    pub done: Option<String>,
    /// How many runs a bulk redelivery enqueued.
    pub count: Option<usize>,
}

/// The first page of a job's history, as the live fragment and the job page show it.
async fn history(state: &AppState, m: &Member, job_id: Uuid, cursor: &Option<String>, now: DateTime<Utc>) -> Result<(Markup, Option<String>), AppError> {
    let wanted = page_of(cursor)?;
    let rows = store::executions::list_for_job(&state.pool, m.org.id, job_id, wanted.after, i64::from(wanted.limit) + 1).await?;
    let (rows, next) = paginate(rows, wanted.limit, |e| (e.scheduled_for, e.id));
    let markup = html! {
        @if rows.is_empty() { p.muted { "No runs yet. Press " strong { "Run now" } " to call it once, or wait for its next run." } }
        @else { (executions_table(&rows, None, now)) }
    };
    Ok((markup, next))
}

pub async fn detail(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, Query(q): Query<DetailQuery>) -> Result<Response, AppError> {
    let now = Utc::now();
    let job = store::jobs::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    let (runs, next) = history(&state, &m, id, &q.cursor, now).await?;
    let csrf = &m.visitor.csrf;
    let base = &state.config.public_url;
    let done = match q.done.as_deref() {
        Some("triggered") => Some("A run is on its way; it shows below as soon as it is recorded."),
        Some("created") => Some("The job is saved."),
        Some("saved") => Some("Your changes are saved."),
        Some("paused") => Some("Paused: no new runs until you resume it."),
        Some("resumed") => Some("Resumed: it runs on its schedule again."),
        Some("muted") => Some("Muted: this job's alerts are sent nowhere."),
        Some("unmuted") => Some("Unmuted: this job's alerts go to the organization's channels."),
        Some("alerts") => Some("Saved: this job's alerts go where you chose."),
        Some("redelivered") => Some("Failed runs of that range are on their way again (those already redelivered are skipped)."),
        _ => None,
    };
    let spec = &job.spec;
    // the channels are shown to those who manage them (as on the channels page)
    let channels = if m.role.can_administer() { store::notification_channels::list(&state.pool, m.org.id, None, 100).await? } else { Vec::new() };
    let body = html! {
        @if let Some(d) = done { (notice("", html! { (d) @if let Some(n) = q.count { " " (n) " run(s) enqueued." } })) }
        dl.facts {
            dt { "State" } dd { (state_of(&job, m.org.tier)) }
            dt { "Schedule" } dd { (spec.schedule.describe()) }
            dt { "Next run" } dd { @match job.next_run_at { Some(at) => (when(at, now)), None => "—" } }
            dt { "Request" } dd { code { (spec.method.as_str()) " " (spec.url.as_str()) } }
            dt { "Retries" } dd { "up to " (spec.retry.max_attempts()) " attempt(s)" }
            dt { "Timeout" } dd { (spec.timeout.secs()) " s" }
            dt { "Missed runs" } dd { @match spec.catch_up {
                domain::job::CatchUp::RunOnce => "run once after downtime or a pause",
                domain::job::CatchUp::RunAll { cap } => { "every missed run, at most " (cap.get()) },
                domain::job::CatchUp::Skip => "skipped",
            } @if matches!(spec.overlap, domain::job::Overlap::Skip) { "; a run is skipped while the previous one is still going" } }
            dt { "Completion ping" } dd { @match spec.completion_window { Some(w) => { "expected within " (w.secs()) " s of each call" }, None => "not expected" } }
            dt { "Alerts" } dd {
                @match &spec.alerts {
                    domain::job::JobAlerts::Muted => "muted: its failures are recorded and sent nowhere",
                    domain::job::JobAlerts::OrgChannels => { "to the organization's " a href="/app/channels" { "alert channels" } },
                    domain::job::JobAlerts::Channels(ids) => { "to " (ids.len()) " channel(s) of its own: "
                        @for (i, c) in channels.iter().filter(|c| ids.contains(&c.id)).enumerate() { @if i > 0 { ", " } (channel_label(c)) } },
                }
                " "
                form.inline method="post" action={ "/app/jobs/" (id) "/mute" } {
                    (csrf_field(csrf))
                    @if matches!(spec.alerts, domain::job::JobAlerts::Muted) {
                        input type="hidden" name="mute" value="false"; button.linklike type="submit" { "Unmute" }
                    } @else {
                        input type="hidden" name="mute" value="true"; button.linklike type="submit" { "Mute" }
                    }
                }
            }
        }
        @if m.role.can_administer() { (alerts_form(&m, &job, &channels)) }
        div.actions {
            form.inline method="post" action={ "/app/jobs/" (id) "/trigger" } { (csrf_field(csrf)) button.button type="submit" { "Run now" } }
            @if spec.enabled {
                form.inline method="post" action={ "/app/jobs/" (id) "/pause" } { (csrf_field(csrf)) button.button type="submit" { "Pause" } }
            } @else {
                form.inline method="post" action={ "/app/jobs/" (id) "/resume" } { (csrf_field(csrf)) button.button type="submit" { "Resume" } }
            }
            a.button href={ "/app/jobs/" (id) "/edit" } { "Edit" }
            a.button href={ "/app/jobs/new?from=" (id) } { "Duplicate" }
            a.button.danger href={ "/app/jobs/" (id) "/delete" } { "Delete" }
        }
        h2 { "History" }
        @if q.cursor.is_none() {
            div #history data-refresh={ "/app/jobs/" (id) "/history" } aria-live="polite" { (runs) }
        } @else { (runs) p { a href={ "/app/jobs/" (id) } { "Latest runs" } } }
        @if let Some(c) = &next { p { a href={ "/app/jobs/" (id) "?cursor=" (c) } { "Older runs" } } }
        details.help {
            summary { "Redeliver failed runs of a time range" }
            form.row method="post" action={ "/app/jobs/" (id) "/redeliver-failed" } {
                (csrf_field(csrf))
                label { "From (UTC)" input type="datetime-local" name="from" required value=((now - chrono::Duration::hours(24)).format("%Y-%m-%dT%H:%M")); }
                label { "To (UTC)" input type="datetime-local" name="to" value=(now.format("%Y-%m-%dT%H:%M")); }
                button.button type="submit" { "Redeliver failed runs" }
            }
            p.muted { "Failed and timed-out runs scheduled in the range, oldest first, at most 1,000 at a time; each is sent again with its own webhook-id, once." }
        }
        details.help {
            summary { "Use this job from the API" }
            p { "With an API key from " a href="/app/keys" { "API keys" } " in " code { "PRIKKE_API_KEY" } " (" a href="/docs/api" { "API reference" } "):" }
            pre.code data-testid="api-example" {
                "# run it now\ncurl -X POST " (base) "/api/v1/jobs/" (id) "/trigger \\\n  -H \"Authorization: Bearer $PRIKKE_API_KEY\"\n\n"
                "# its latest runs\ncurl " (base) "/api/v1/executions?job_id=" (id) " \\\n  -H \"Authorization: Bearer $PRIKKE_API_KEY\""
            }
            (super::display::copy_button("the API examples"))
        }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "jobs"), spec.name.as_str(), body)))
}

/// The first page of the job's history, for the live refresh.
pub async fn history_fragment(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>) -> Result<Response, AppError> {
    store::jobs::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    let (runs, _) = history(&state, &m, id, &None, Utc::now()).await?;
    Ok(fragment(runs))
}

pub async fn trigger(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let job = store::jobs::get(&mut *tx, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    let execution = crate::v1::runs::trigger_job(&mut tx, m.org.id, m.org.tier, &job, now).await?;
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, job_id = %id, execution_id = %execution.id, user_id = %m.user.id, "job triggered from the dashboard");
    Ok(see_other(&format!("/app/jobs/{id}?done=triggered")))
}

async fn set_enabled(state: &AppState, m: &Member, id: Uuid, enabled: bool) -> Result<(), AppError> {
    let mut tx = state.pool.begin().await?;
    let job = store::jobs::get(&mut *tx, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    if job.spec.enabled != enabled {
        crate::v1::job_rules::set_enabled(&mut tx, &job, enabled, Utc::now()).await?;
    }
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, job_id = %id, enabled, user_id = %m.user.id, "job enabled or disabled from the dashboard");
    Ok(())
}

pub async fn pause(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    set_enabled(&state, &m, id, false).await?;
    Ok(see_other(&format!("/app/jobs/{id}?done=paused")))
}

pub async fn resume(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    set_enabled(&state, &m, id, true).await?;
    Ok(see_other(&format!("/app/jobs/{id}?done=resumed")))
}

/// Asks before deleting (a GET never deletes).
pub async fn delete_page(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>) -> Result<Response, AppError> {
    let job = store::jobs::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    let body = html! {
        p { "Delete " strong { (job.spec.name.as_str()) } "? Runs that have not started are cancelled; its history stays. This cannot be undone." }
        form.inline method="post" action={ "/app/jobs/" (id) "/delete" } { (csrf_field(&m.visitor.csrf)) button.button.danger type="submit" { "Delete the job" } }
        " " a href={ "/app/jobs/" (id) } { "Keep it" }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "jobs"), "Delete the job?", body)))
}

pub async fn delete(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    if !store::jobs::delete(&state.pool, m.org.id, id, Utc::now()).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(org_id = %m.org.id, job_id = %id, user_id = %m.user.id, "job deleted from the dashboard");
    Ok(see_other("/app/jobs?done=deleted"))
}

#[derive(Debug, Deserialize)]
pub struct RangeForm {
    pub csrf: String,
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// Redelivers the job's failed runs of a range (the API's bulk redelivery).
pub async fn redeliver_failed(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<RangeForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    let from = super::history::utc("From", &Some(f.from.clone()))?.ok_or_else(|| AppError::BadRequest("From: a date and time is needed.".into()))?;
    let to = super::history::utc("To", &Some(f.to.clone()))?;
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let batch = crate::v1::runs::redeliver_failed_range(&mut tx, m.org.id, m.org.tier, id, from, to, now).await?;
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, job_id = %id, count = batch.len(), user_id = %m.user.id, "failed executions redelivered from the dashboard");
    Ok(see_other(&format!("/app/jobs/{id}?done=redelivered&count={}", batch.len())))
}

#[derive(Debug, Deserialize)]
pub struct MuteForm {
    pub csrf: String,
    pub mute: bool,
}

/// Mutes a job's alerts, or sends them to the organization's channels again, through the API's
/// update rules (the rest of the job unchanged).
pub async fn set_mute(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<MuteForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let old = store::jobs::get(&mut *tx, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    let mut draft = old.spec.to_draft();
    draft.notifications = f.mute.then_some(domain::job::JobAlertsInput { mute: Some(true), channels: None });
    let spec = crate::v1::job_rules::validate(&draft, m.org.tier, now, Some(&old.spec), "")?;
    crate::v1::job_rules::apply_update(&mut tx, &old, &spec, now).await?;
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, job_id = %id, mute = f.mute, user_id = %m.user.id, "job alerts muted or unmuted from the dashboard");
    Ok(see_other(&format!("/app/jobs/{id}?done={}", if f.mute { "muted" } else { "unmuted" })))
}

/// A channel as a person recognises it: its name, else its (masked) address.
fn channel_label(c: &store::notification_channels::Channel) -> String {
    c.name.clone().unwrap_or_else(|| crate::v1::channels::masked(&c.target))
}

/// Where this job's alerts go, for admins (who manage the channels): the organization's
/// channels, none (muted), or channels of its own chosen from the organization's.
fn alerts_form(m: &Member, job: &store::jobs::Job, channels: &[store::notification_channels::Channel]) -> Markup {
    use domain::job::JobAlerts;
    let own: &[Uuid] = match &job.spec.alerts { JobAlerts::Channels(ids) => ids, _ => &[] };
    let mode = match &job.spec.alerts { JobAlerts::OrgChannels => "org", JobAlerts::Muted => "mute", JobAlerts::Channels(_) => "own" };
    html! {
        details.help #alerts open[mode == "own"] {
            summary { "Choose where this job's alerts go" }
            form.stack method="post" action={ "/app/jobs/" (job.id) "/alerts" } {
                (csrf_field(&m.visitor.csrf))
                fieldset {
                    legend { "Alerts of this job" }
                    label.check { input type="radio" name="alerts" value="org" checked[mode == "org"]; " Every channel of the organization" }
                    label.check { input type="radio" name="alerts" value="mute" checked[mode == "mute"]; " None (muted: failures are recorded, sent nowhere)" }
                    label.check { input type="radio" name="alerts" value="own" checked[mode == "own"]; " Only the channels ticked below" }
                }
                @if channels.is_empty() { p.muted { "The organization has no channels yet. " a href="/app/channels" { "Add one" } } } @else {
                    fieldset {
                        legend { "Channels (for “only the channels ticked”)" }
                        @for c in channels {
                            label.check { input type="checkbox" name={ "channel:" (c.id) } value="on" checked[own.contains(&c.id)]; " " (channel_label(c)) " · " span.muted { (c.target.kind().as_str()) @if !c.enabled { ", disabled" } } }
                        }
                    }
                }
                button.button type="submit" { "Save alert choice" }
            }
        }
    }
}

/// Sets where a job's alerts go (admins: the choice names the organization's channels) through
/// the API's update rules. A channel id that is not the organization's is a 404.
pub async fn set_alerts(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<std::collections::HashMap<String, String>>) -> Result<Response, AppError> {
    m.visitor.check_csrf(f.get("csrf").map(String::as_str).unwrap_or_default())?;
    m.require_admin()?;
    let mut chosen = Vec::new();
    for key in f.keys().filter_map(|k| k.strip_prefix("channel:")) {
        chosen.push(Uuid::parse_str(key).map_err(|_| AppError::BadRequest(format!("{key:?} is not a channel id.")))?);
    }
    chosen.sort();
    let notifications = match f.get("alerts").map(String::as_str) {
        Some("org") | None => None,
        Some("mute") => Some(domain::job::JobAlertsInput { mute: Some(true), channels: None }),
        Some("own") if chosen.is_empty() => return Err(AppError::BadRequest("Tick at least one channel for “only the channels ticked”, or choose “none” to mute the job.".into())),
        Some("own") => Some(domain::job::JobAlertsInput { mute: None, channels: Some(chosen.iter().map(Uuid::to_string).collect()) }),
        Some(other) => return Err(AppError::BadRequest(format!("{other:?} is not a choice of where alerts go."))),
    };
    let now = Utc::now();
    let mut tx = state.pool.begin().await?;
    let old = store::jobs::get(&mut *tx, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    if notifications.as_ref().is_some_and(|n| n.channels.is_some()) && !store::notification_channels::not_found(&mut *tx, m.org.id, &chosen).await?.is_empty() {
        return Err(AppError::NotFound);
    }
    let mut draft = old.spec.to_draft();
    draft.notifications = notifications;
    let spec = crate::v1::job_rules::validate(&draft, m.org.tier, now, Some(&old.spec), "")?;
    crate::v1::job_rules::apply_update(&mut tx, &old, &spec, now).await?;
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, job_id = %id, user_id = %m.user.id, "job alert channels chosen from the dashboard");
    Ok(see_other(&format!("/app/jobs/{id}?done=alerts#alerts")))
}
