//! The organization's heartbeat monitors: each one's state, last ping, expected rhythm, and its
//! ping URL with copyable curl and crontab lines (the state refreshes live); and the form that
//! makes one (an interval or a cron schedule, grace, longest run), validated by the API's rules;
//! one monitor with its latest pings (live), its edit form and its deletion. Another
//! organization's monitor is a 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::monitor::MonitorStatus;
use maud::{Markup, html};
use store::monitors::{Monitor, MonitorSchedule};

use super::auth::AppForm;
use super::display::{relative, when};
use super::{AppError, Frame, Member, csrf_field, fragment, notice, page, respond, see_other};
use crate::AppState;
use crate::v1::monitors::{MonitorInput, MonitorScheduleInput};

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
                h2 { a href={ "/app/monitors/" (x.id) } { (x.name) } " " (badge(x.status)) }
                p { "Expected: " (rhythm(x)) @if let Some(max) = x.max_runtime_secs { ", runs at most " (max) " s" } }
                p { "Last ping: " @match x.last_ping_at { Some(t) => (when(t, now)), None => "never" }
                    @if let Some(at) = x.alert_at { @if x.status != MonitorStatus::Down { " · down if nothing arrives " (relative(at, now)) } } }
                p { "Ping URL: " code data-testid="ping-url" { (url) } " " (super::display::copy_button("the ping URL")) }
                details {
                    summary { "curl and crontab examples" }
                    pre.code { "# at the end of your job\ncurl -fsS -m 10 --retry 3 " (url) "\n\n# when it starts, and when it fails\ncurl -fsS " (url) "/start\ncurl -fsS " (url) "/fail\n\n# in a crontab\n*/5 * * * * /usr/local/bin/backup.sh && curl -fsS -m 10 " (url) }
                    (super::display::copy_button("the curl and crontab examples"))
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
        p { a.button href="/app/monitors/new" { "New monitor" } }
        @if monitors.is_empty() {
            (notice("", html! { "No monitors yet. A monitor expects your own cron job to ping a URL on a schedule, and alerts when a ping is late. "
                a href="/app/monitors/new" { "Create one" } ", or use " code { "POST /api/v1/monitors" } " (" a href="/docs/api" { "API reference" } ")." }))
            pre.code { "curl -X POST " (base) "/api/v1/monitors \\\n  -H \"Authorization: Bearer $PRIKKE_API_KEY\" -H \"Content-Type: application/json\" \\\n  -d '{\"name\": \"nightly backup\", \"schedule\": {\"kind\": \"interval\", \"interval_secs\": 86400}, \"grace_secs\": 600}'" }
            (super::display::copy_button("the curl example"))
        } @else {
            div #monitors data-refresh="/app/monitors?part=1" aria-live="polite" { (list) }
        }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "monitors"), "Monitors", body)))
}

/// The new-monitor form as posted.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct MonitorForm {
    pub csrf: String,
    pub name: String,
    /// `interval` or `cron`.
    pub kind: String,
    pub every_minutes: String,
    pub cron: String,
    pub timezone: String,
    pub grace_minutes: String,
    pub max_runtime_minutes: String,
    /// `true` when ticked (edit only).
    pub paused: String,
}

fn minutes(field: &str, v: &str, default: Option<u32>) -> Result<Option<u32>, String> {
    match v.trim() {
        "" => Ok(default),
        t => t.parse::<u32>().map(|m| Some(m * 60)).map_err(|_| format!("{field}: a whole number of minutes")),
    }
}

impl MonitorForm {
    fn input(&self) -> Result<MonitorInput, String> {
        let schedule = match self.kind.as_str() {
            "cron" => MonitorScheduleInput::Cron { expr: self.cron.trim().to_owned(), timezone: Some(if self.timezone.trim().is_empty() { "UTC".into() } else { self.timezone.trim().to_owned() }) },
            _ => MonitorScheduleInput::Interval { interval_secs: minutes("Every", &self.every_minutes, Some(3600))?.unwrap_or(3600) },
        };
        Ok(MonitorInput {
            name: self.name.clone(),
            schedule,
            grace_secs: minutes("Grace", &self.grace_minutes, None)?,
            max_runtime_secs: minutes("Longest run", &self.max_runtime_minutes, None)?,
            paused: None,
        })
    }
}

/// The form for a new monitor, or for monitor `editing`.
fn form_page(m: &Member, f: &MonitorForm, errors: &[String], editing: Option<uuid::Uuid>) -> Markup {
    let (action, title, save) = match editing {
        Some(id) => (format!("/app/monitors/{id}/edit"), "Edit monitor", "Save changes"),
        None => ("/app/monitors/new".to_owned(), "New monitor", "Create monitor"),
    };
    let body = html! {
        @if !errors.is_empty() { div.notice.error role="alert" { p { "The monitor was not saved:" } ul { @for e in errors { li { (e) } } } } }
        p.muted { "Your job pings the monitor's URL when it runs; the monitor goes down (and alerts) when a ping is later than expected plus the grace period." }
        form.stack.wide method="post" action=(action) {
            (csrf_field(&m.visitor.csrf))
            label { "Name" input type="text" name="name" value=(f.name) required maxlength="200"; }
            fieldset {
                legend { "Expected" }
                label { "Pings arrive" select name="kind" {
                    option value="interval" selected[f.kind != "cron"] { "Every N minutes" }
                    option value="cron" selected[f.kind == "cron"] { "On a cron schedule" }
                } }
                div.only data-kinds="interval" { label { "Every (minutes)" input type="number" name="every_minutes" min="1" value=(if f.every_minutes.is_empty() { "60" } else { &f.every_minutes }); span.hint { "for “Every N minutes”: 1 minute to 31 days" } } }
                div.only data-kinds="cron" { label { "Cron expression" input type="text" name="cron" value=(f.cron); span.hint { "for “On a cron schedule”, e.g. 0 3 * * *" } } }
                div.only data-kinds="cron" { (super::job_form::zone_picker(if f.timezone.is_empty() { "UTC" } else { &f.timezone })) }
            }
            label { "Grace (minutes)" input type="number" name="grace_minutes" min="0" value=(if f.grace_minutes.is_empty() { "5" } else { &f.grace_minutes }); span.hint { "how late a ping may be" } }
            label { "Longest run (minutes, optional)" input type="number" name="max_runtime_minutes" min="1" value=(f.max_runtime_minutes); span.hint { "after a /start ping, down if no finish arrives in time" } }
            @if editing.is_some() { label.check { input type="checkbox" name="paused" value="true" checked[f.paused == "true"]; " Paused (pings are recorded, it never goes down)" } }
            button.button type="submit" { (save) }
        }
    };
    page(&Frame::of(m, "monitors"), title, body)
}

pub async fn new_page(m: Member) -> Response {
    respond(&m.visitor, StatusCode::OK, form_page(&m, &MonitorForm::default(), &[], None))
}

pub async fn create(State(state): State<AppState>, m: Member, AppForm(f): AppForm<MonitorForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    let refuse = |errors: Vec<String>| Ok(respond(&m.visitor, StatusCode::UNPROCESSABLE_ENTITY, form_page(&m, &f, &errors, None)));
    let input = match f.input() {
        Ok(i) => i,
        Err(e) => return refuse(vec![e]),
    };
    match crate::v1::monitors::create_monitor(&state.pool, m.org.id, &input, Utc::now()).await {
        Ok(x) => {
            tracing::info!(org_id = %m.org.id, monitor_id = %x.id, user_id = %m.user.id, "monitor created from the dashboard");
            Ok(see_other("/app/monitors"))
        }
        Err(p) if p.status == 422 => refuse(p.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect()),
        Err(p) => Err(p.into()),
    }
}

/// One monitor and its latest pings (the pings refresh live).
pub async fn detail(State(state): State<AppState>, m: Member, crate::v1::extract::ApiPath(id): crate::v1::extract::ApiPath<uuid::Uuid>, axum::extract::Query(q): axum::extract::Query<super::history::DetailQuery>) -> Result<Response, AppError> {
    let now = Utc::now();
    let x = store::monitors::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    let pings = store::monitors::recent_pings(&state.pool, m.org.id, id, 20).await?;
    let part = html! {
        (cards(std::slice::from_ref(&x), &state.config.public_url, now))
        h2 { "Latest pings" }
        @if pings.is_empty() { p.muted { "No pings yet. Call the ping URL above when your job finishes." } } @else {
            div.scroll tabindex="0" role="region" aria-label="Latest pings" { table {
                caption.visually-hidden { "Latest pings" }
                thead { tr { th scope="col" { "Received (UTC)" } th scope="col" { "Kind" } th scope="col" { "From" } th scope="col" { "Body" } } }
                tbody { @for p in &pings { tr {
                    td { (when(p.received_at, now)) } td { (p.kind.as_str()) " (" (p.method) ")" }
                    td { (p.source_ip.as_deref().unwrap_or("—")) @if let Some(ua) = &p.user_agent { br; span.muted.clip { (ua) } } }
                    td { @if let Some(b) = &p.body { code.clip { (b) } } }
                } } }
            } }
        }
    };
    if q.part.is_some() {
        return Ok(fragment(part));
    }
    let body = html! {
        div.actions {
            a.button href={ "/app/monitors/" (id) "/edit" } { "Edit" }
            form.inline method="post" action={ "/app/monitors/" (id) "/delete" } { (csrf_field(&m.visitor.csrf)) button.button.danger type="submit" { "Delete" } }
        }
        div #monitor data-refresh={ "/app/monitors/" (id) "?part=1" } aria-live="polite" { (part) }
        p { a href="/app/monitors" { "All monitors" } }
    };
    Ok(respond(&m.visitor, StatusCode::OK, page(&Frame::of(&m, "monitors"), &x.name, body)))
}

/// The form filled from a stored monitor.
fn form_of(x: &Monitor) -> MonitorForm {
    let mins = |secs: i32| (secs / 60).to_string();
    let (kind, every, cron, timezone) = match &x.schedule {
        MonitorSchedule::Interval { secs } => ("interval", mins(*secs), String::new(), "UTC".to_owned()),
        MonitorSchedule::Cron { expr, timezone } => ("cron", String::new(), expr.clone(), timezone.clone()),
    };
    MonitorForm {
        name: x.name.clone(),
        kind: kind.into(),
        every_minutes: every,
        cron,
        timezone,
        grace_minutes: mins(x.grace_secs),
        max_runtime_minutes: x.max_runtime_secs.map(mins).unwrap_or_default(),
        paused: if x.status == MonitorStatus::Paused { "true".into() } else { String::new() },
        ..MonitorForm::default()
    }
}

pub async fn edit_page(State(state): State<AppState>, m: Member, crate::v1::extract::ApiPath(id): crate::v1::extract::ApiPath<uuid::Uuid>) -> Result<Response, AppError> {
    let x = store::monitors::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    Ok(respond(&m.visitor, StatusCode::OK, form_page(&m, &form_of(&x), &[], Some(id))))
}

/// Saves an edit through the API's update (validated whole, its deadline moved for the new rhythm).
pub async fn edit(State(state): State<AppState>, m: Member, crate::v1::extract::ApiPath(id): crate::v1::extract::ApiPath<uuid::Uuid>, AppForm(f): AppForm<MonitorForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    let refuse = |errors: Vec<String>| Ok(respond(&m.visitor, StatusCode::UNPROCESSABLE_ENTITY, form_page(&m, &f, &errors, Some(id))));
    let input = match f.input() {
        Ok(i) => i,
        Err(e) => return refuse(vec![e]),
    };
    let patch = crate::v1::monitors::MonitorPatch {
        name: Some(input.name),
        schedule: Some(input.schedule),
        grace_secs: Some(input.grace_secs.unwrap_or(crate::v1::monitors::DEFAULT_GRACE_SECS)),
        max_runtime_secs: Some(input.max_runtime_secs.unwrap_or(0)),
        paused: Some(f.paused == "true"),
    };
    let mut tx = state.pool.begin().await?;
    match crate::v1::monitors::update_monitor(&mut tx, m.org.id, id, &patch, Utc::now()).await {
        Ok(_) => {}
        Err(p) if p.status == 422 => return refuse(p.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect()),
        Err(p) => return Err(p.into()),
    }
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, monitor_id = %id, user_id = %m.user.id, "monitor edited from the dashboard");
    Ok(see_other(&format!("/app/monitors/{id}")))
}

pub async fn delete(State(state): State<AppState>, m: Member, crate::v1::extract::ApiPath(id): crate::v1::extract::ApiPath<uuid::Uuid>, AppForm(f): AppForm<super::orgs::CsrfOnly>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    if !store::monitors::delete(&state.pool, m.org.id, id).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(org_id = %m.org.id, monitor_id = %id, user_id = %m.user.id, "monitor deleted from the dashboard");
    Ok(see_other("/app/monitors"))
}
