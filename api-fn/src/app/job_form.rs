//! The job form, for a new job (also reached as "Duplicate") and to edit one: schedule presets (every N minutes, hourly,
//! daily at, weekly on, monthly on) that become cron expressions, a cron field, a one-time
//! instant, an IANA time-zone picker, the next five runs with the plain-language description
//! (the API preview's own logic; a "Preview" button without JavaScript, refreshed as you type
//! with it), the request (method, URL, headers, body), retries, missed-run and overlap policies.
//! A job is validated by the API's rules for the organization's plan (`job_rules`), whose words
//! are shown where they refuse something.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use domain::schedule::{Schedule, ScheduleSpec};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::auth::AppForm;
use super::{AppError, Frame, Member, csrf_field, fragment, page, respond, see_other};
use crate::AppState;
use crate::v1::extract::ApiPath;
use crate::v1::job_rules;

/// The form as posted (every field text, as the browser sends it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct JobForm {
    pub csrf: String,
    /// `preview` re-renders the form with the preview; anything else saves.
    pub intent: String,
    /// The job this one duplicates (its secret header values, shown masked, are copied).
    pub from: String,
    pub name: String,
    pub url: String,
    pub method: String,
    /// One `Name: value` per line.
    pub headers: String,
    pub body: String,
    /// `minutes`, `hourly`, `daily`, `weekly`, `monthly`, `cron` or `once`.
    pub kind: String,
    pub every: String,
    pub minute: String,
    /// `HH:MM`.
    pub time: String,
    /// 0 (Sunday) to 6.
    pub weekday: String,
    pub day: String,
    pub cron: String,
    pub timezone: String,
    /// `YYYY-MM-DDTHH:MM` in `timezone`.
    pub at: String,
    pub timeout_secs: String,
    pub max_attempts: String,
    pub catch_up: String,
    /// For `run_all`: how many missed runs are replayed at most (blank: the default, 10).
    pub catch_up_cap: String,
    pub overlap: String,
    /// Seconds the endpoint has to ping back after a run starts (blank: no ping expected).
    pub completion_window_secs: String,
}

const KINDS: [(&str, &str); 7] = [
    ("minutes", "Every N minutes"),
    ("hourly", "Hourly"),
    ("daily", "Daily at"),
    ("weekly", "Weekly on"),
    ("monthly", "Monthly on"),
    ("cron", "Cron expression"),
    ("once", "Once, at"),
];
const WEEKDAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

fn number(field: &str, value: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!("{field}: a whole number from {} to {}", range.start(), range.end())),
    }
}

fn clock(value: &str) -> Result<(u32, u32), String> {
    let (h, m) = value.trim().split_once(':').ok_or_else(|| "Time: HH:MM, e.g. 09:30".to_owned())?;
    Ok((number("Hour", h, 0..=23)?, number("Minute", m, 0..=59)?))
}

impl JobForm {
    /// The zone the schedule is read in (UTC when none is chosen).
    fn zone(&self) -> &str {
        let z = self.timezone.trim();
        if z.is_empty() { "UTC" } else { z }
    }

    /// The schedule the form describes: a preset becomes its cron expression.
    pub fn schedule(&self) -> Result<ScheduleSpec, String> {
        let cron = |expr: String| ScheduleSpec::Cron { expr, timezone: Some(self.zone().to_owned()) };
        match self.kind.as_str() {
            "minutes" | "" => {
                let n = number("Every N minutes", if self.every.trim().is_empty() { "5" } else { &self.every }, 1..=59)?;
                Ok(cron(if n == 1 { "* * * * *".to_owned() } else { format!("*/{n} * * * *") }))
            }
            "hourly" => Ok(cron(format!("{} * * * *", number("Minute past the hour", or(&self.minute, "0"), 0..=59)?))),
            "daily" => {
                let (h, m) = clock(or(&self.time, "09:00"))?;
                Ok(cron(format!("{m} {h} * * *")))
            }
            "weekly" => {
                let (h, m) = clock(or(&self.time, "09:00"))?;
                Ok(cron(format!("{m} {h} * * {}", number("Weekday", or(&self.weekday, "1"), 0..=6)?)))
            }
            "monthly" => {
                let (h, m) = clock(or(&self.time, "09:00"))?;
                Ok(cron(format!("{m} {h} {} * *", number("Day of the month", or(&self.day, "1"), 1..=31)?)))
            }
            "cron" => Ok(cron(self.cron.trim().to_owned())),
            "once" => {
                let tz: Tz = self.zone().parse().map_err(|_| format!("Time zone: {:?} is not an IANA time zone", self.zone()))?;
                let local = NaiveDateTime::parse_from_str(self.at.trim(), "%Y-%m-%dT%H:%M")
                    .or_else(|_| NaiveDateTime::parse_from_str(self.at.trim(), "%Y-%m-%dT%H:%M:%S"))
                    .map_err(|_| "Once, at: a date and time, e.g. 2026-12-24T18:00".to_owned())?;
                let at = tz.from_local_datetime(&local).earliest().ok_or_else(|| format!("Once, at: {local} does not exist in {tz} (a clock change skips it)"))?;
                Ok(ScheduleSpec::Once { at: at.with_timezone(&Utc) })
            }
            other => Err(format!("Schedule: unknown kind {other:?}")),
        }
    }

    /// The API's draft of this form (validated by `job_rules::validate`): the fields the form
    /// has, written over `base` (a new job's defaults, or the stored job's draft when editing, so
    /// its sync key, alert settings, completion window and enabled state are kept).
    fn draft(&self, schedule: ScheduleSpec, base: &domain::job::JobDraft) -> Result<domain::job::JobDraft, String> {
        let mut headers = Vec::new();
        for (i, line) in self.headers.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let (name, value) = line.split_once(':').ok_or_else(|| format!("Headers, line {}: write Name: value", i + 1))?;
            headers.push(serde_json::json!({"name": name.trim(), "value": value.trim()}));
        }
        let mut draft = serde_json::to_value(base).map_err(|e| format!("The job could not be read: {e}"))?;
        let fields = draft.as_object_mut().ok_or("The job could not be read")?;
        let mode = or(&self.catch_up, "run_once");
        let mut catch_up = serde_json::json!({"mode": mode});
        // a cap only means something for run_all; left in the field for another mode, it is ignored
        if mode == "run_all" && !self.catch_up_cap.trim().is_empty() {
            let cap: u16 = self.catch_up_cap.trim().parse().map_err(|_| "Missed runs to replay: a whole number from 1 to 100, or blank for 10".to_owned())?;
            catch_up["cap"] = cap.into();
        }
        fields.insert("catch_up".into(), catch_up);
        if self.completion_window_secs.trim().is_empty() {
            fields.remove("completion_window_secs");
        } else {
            let secs: u32 = self.completion_window_secs.trim().parse().map_err(|_| "Completion window: a whole number of seconds from 10 to 86400, or blank for none".to_owned())?;
            fields.insert("completion_window_secs".into(), secs.into());
        }
        for (k, v) in [
            ("name", serde_json::json!(self.name.trim())),
            ("url", serde_json::json!(self.url.trim())),
            ("method", serde_json::json!(or(&self.method, "POST"))),
            ("headers", serde_json::json!(headers)),
            ("retry", serde_json::json!({"max_attempts": number("Attempts", or(&self.max_attempts, "1"), 1..=10)?})),
            ("overlap", serde_json::json!(or(&self.overlap, "allow"))),
            ("schedule", serde_json::to_value(&schedule).map_err(|e| e.to_string())?),
        ] {
            fields.insert(k.into(), v);
        }
        if self.body.is_empty() {
            fields.remove("body");
        } else {
            fields.insert("body".into(), self.body.clone().into());
        }
        if self.timeout_secs.trim().is_empty() {
            fields.remove("timeout_secs");
        } else {
            fields.insert("timeout_secs".into(), number("Timeout", &self.timeout_secs, 1..=3600)?.into());
        }
        serde_json::from_value(draft).map_err(|e| format!("The form could not be read: {e}"))
    }

    /// The form filled from a stored job (for "Duplicate"): secret header values stay masked.
    fn of(job: &store::jobs::Job) -> JobForm {
        let s = &job.spec;
        let (kind, cron, timezone, at) = match &s.schedule {
            Schedule::Cron(c) => ("cron", c.expr().to_owned(), c.timezone().name().to_owned(), String::new()),
            Schedule::Once(at) => ("once", String::new(), "UTC".to_owned(), at.format("%Y-%m-%dT%H:%M:%S").to_string()),
        };
        let headers: Vec<(String, String)> = s.headers.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
        JobForm {
            from: job.id.to_string(),
            name: format!("Copy of {}", s.name.as_str()),
            url: s.url.as_str().to_owned(),
            method: s.method.as_str().to_owned(),
            headers: domain::job::shown_headers(&headers).iter().map(|(n, v)| format!("{n}: {v}\n")).collect(),
            body: s.body.as_ref().map(|b| b.as_str().to_owned()).unwrap_or_default(),
            kind: kind.to_owned(),
            cron,
            timezone,
            at,
            timeout_secs: s.timeout.secs().to_string(),
            max_attempts: s.retry.max_attempts().to_string(),
            catch_up: serde_json::to_value(domain::job::CatchUpInput::from(s.catch_up).mode).ok().and_then(|m| m.as_str().map(str::to_owned)).unwrap_or_default(),
            catch_up_cap: domain::job::CatchUpInput::from(s.catch_up).cap.map(|c| c.to_string()).unwrap_or_default(),
            completion_window_secs: s.completion_window.map(|w| w.secs().to_string()).unwrap_or_default(),
            overlap: serde_json::to_value(s.overlap).ok().and_then(|m| m.as_str().map(str::to_owned)).unwrap_or_default(),
            ..JobForm::default()
        }
    }
}

fn or<'a>(value: &'a str, default: &'a str) -> &'a str {
    if value.trim().is_empty() { default } else { value.trim() }
}

/// The next five runs and the description, or why the schedule cannot run (on this plan).
fn preview(form: &JobForm, tier: domain::tier::Tier, now: DateTime<Utc>) -> Markup {
    let spec = match form.schedule() {
        Ok(s) => s,
        Err(e) => return html! { p.error role="status" { (e) } },
    };
    let p = match crate::v1::preview::preview_of(&spec, tier, now, 5) {
        Ok(p) => p,
        Err(problem) => return html! { p.error role="status" { (problem.detail) } },
    };
    let zone: Option<Tz> = p.timezone.as_deref().and_then(|z| z.parse().ok());
    html! {
        p data-testid="description" { strong { (p.description) } @if let Some(e) = &p.expr { " · cron " code { (e) } } }
        @if !p.allowed_on_plan {
            p.error role="status" { "The " (tier.display_name()) " plan runs a job at most every " (tier.limits().min_interval_minutes) " minutes; this schedule is faster. "
                a href="/app/settings" { "Upgrade to Pro" } " for schedules down to every minute." }
        }
        @if p.runs.is_empty() { p.muted { "No runs after now." } } @else {
            ol.runs data-testid="next-runs" {
                @for r in &p.runs {
                    li { @match zone { Some(z) => { (r.with_timezone(&z).format("%a %Y-%m-%d %H:%M %Z")) " · " }, None => {} } (r.format("%Y-%m-%d %H:%M UTC")) }
                }
            }
        }
    }
}

/// The IANA time-zone picker (every zone chrono-tz knows), `selected` chosen.
pub fn zone_picker(selected: &str) -> Markup {
    html! {
        label { "Time zone" select name="timezone" {
            @for tz in chrono_tz::TZ_VARIANTS.iter() { @let n = tz.name(); option selected[n == selected] { (n) } }
        } }
    }
}

/// Which form: a new job (or a duplicate), or the edit of a stored one.
#[derive(Debug, Clone, Copy)]
enum Target {
    New,
    Edit(Uuid),
}

fn render(m: &Member, f: &JobForm, errors: &[String], now: DateTime<Utc>, target: Target) -> Markup {
    let (action, title, save) = match target {
        Target::New => ("/app/jobs/new".to_owned(), "New job", "Create job"),
        Target::Edit(id) => (format!("/app/jobs/{id}/edit"), "Edit job", "Save changes"),
    };
    let tier = m.org.tier;
    let limits = tier.limits();
    let field = |name: &'static str, label: &'static str, value: &str, kind: &'static str, hint: &'static str| {
        html! { label { (label) input type=(kind) name=(name) value=(value); @if !hint.is_empty() { span.hint { (hint) } } } }
    };
    // `data-kinds`: the schedule kinds a field belongs to (the script hides the others' fields)
    let only = |kinds: &'static str, inner: Markup| html! { div.only data-kinds=(kinds) { (inner) } };
    let body = html! {
        @if !errors.is_empty() {
            div.notice.error role="alert" { p { "The job was not saved:" } ul { @for e in errors { li { (e) } } } }
        }
        p.muted { "Your " (tier.display_name()) " plan: schedules every " (limits.min_interval_minutes) " minute(s) or slower"
            @if let Some(max) = limits.max_jobs { ", " (max) " jobs" } ", timeouts up to " (limits.max_timeout_secs) " s. " a href="/docs/cron" { "Cron syntax" } }
        form.stack.wide method="post" action=(action) data-preview="/app/jobs/preview" {
            (csrf_field(&m.visitor.csrf))
            input type="hidden" name="from" value=(f.from);
            (field("name", "Name", &f.name, "text", ""))
            fieldset {
                legend { "Schedule" }
                label { "Runs" select name="kind" {
                    @for (v, label) in KINDS { option value=(v) selected[f.kind == v || (f.kind.is_empty() && v == "minutes")] { (label) } }
                } }
                (only("minutes", field("every", "Every N minutes", or(&f.every, "5"), "number", "for “Every N minutes”: 1 to 59")))
                (only("hourly", field("minute", "Minute past the hour", or(&f.minute, "0"), "number", "for “Hourly”")))
                (only("daily weekly monthly", field("time", "At (HH:MM)", or(&f.time, "09:00"), "time", "for daily, weekly and monthly")))
                (only("weekly", html! { label { "Weekday" select name="weekday" {
                    @for (i, d) in WEEKDAYS.iter().enumerate() { option value=(i) selected[f.weekday == i.to_string() || (f.weekday.is_empty() && i == 1)] { (d) } }
                } span.hint { "for “Weekly on”" } } }))
                (only("monthly", field("day", "Day of the month", or(&f.day, "1"), "number", "for “Monthly on”: 1 to 31 (months without that day are skipped)")))
                (only("cron", field("cron", "Cron expression", &f.cron, "text", "for “Cron expression”: 5 fields or @hourly, @daily, @weekly, @monthly")))
                (only("once", html! { label { "Once, at" input type="datetime-local" name="at" step="1" value=(f.at); span.hint { "for “Once, at”, in the time zone below" } } }))
                (zone_picker(f.zone()))
                button.button.secondary type="submit" name="intent" value="preview" { "Preview" }
                section #preview aria-live="polite" aria-label="Next runs" { h3 { "Next runs" } (preview(f, tier, now)) }
            }
            fieldset {
                legend { "Request" }
                label { "Method" select name="method" { @for v in METHODS { option selected[or(&f.method, "POST") == v] { (v) } } } }
                (field("url", "URL", &f.url, "url", "https:// — the endpoint Prikke calls, signed with your webhook secret"))
                label { "Headers" textarea name="headers" rows="3" placeholder="Authorization: Bearer …" { (f.headers) } span.hint { "One Name: value per line. Credentials are stored and shown masked." } }
                label { "Body" textarea name="body" rows="4" { (f.body) } }
                (field("timeout_secs", "Timeout (seconds)", or(&f.timeout_secs, "30"), "number", ""))
            }
            fieldset {
                legend { "When things go wrong" }
                (field("max_attempts", "Attempts", or(&f.max_attempts, "1"), "number", "1 to 10; later attempts back off exponentially"))
                label { "After downtime or a pause" select name="catch_up" {
                    @for (v, label) in [("run_once", "run once for what was missed"), ("run_all", "run every missed occurrence"), ("skip", "skip to the next run")] { option value=(v) selected[f.catch_up == v] { (label) } }
                } }
                (field("catch_up_cap", "Missed runs to replay at most", &f.catch_up_cap, "number", "for “run every missed occurrence”: 1 to 100, the most recent ones (blank: 10)"))
                label { "If the previous run is still going" select name="overlap" {
                    @for (v, label) in [("allow", "start the new run anyway"), ("skip", "skip the new run")] { option value=(v) selected[f.overlap == v] { (label) } }
                } }
            }
            fieldset {
                legend { "Completion ping" }
                (field("completion_window_secs", "Completion window (seconds)", &f.completion_window_secs, "number", "blank: the run ends with the endpoint's answer. 10 to 86400: after a 2xx the run waits for the URL in the Prikke-Completion-Url header to be called within this many seconds of the call, else it fails and alerts."))
                p.hint { a href="/docs/getting-started" { "How completion pings work" } " (under “Long-running work”)" }
            }
            button.button type="submit" name="intent" value="create" { (save) }
        }
    };
    page(&Frame::of(m, "jobs"), title, body)
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    /// Duplicate this job.
    pub from: Option<Uuid>,
}

pub async fn new_page(State(state): State<AppState>, m: Member, Query(q): Query<NewQuery>) -> Result<Response, AppError> {
    let form = match q.from {
        Some(id) => JobForm::of(&store::jobs::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?),
        None => JobForm::default(),
    };
    Ok(respond(&m.visitor, StatusCode::OK, render(&m, &form, &[], Utc::now(), Target::New)))
}

/// The preview alone, for the script that refreshes it as the form changes.
pub async fn preview_fragment(m: Member, Query(f): Query<JobForm>) -> Response {
    fragment(html! { h3 { "Next runs" } (preview(&f, m.org.tier, Utc::now())) })
}

pub async fn create(State(state): State<AppState>, m: Member, AppForm(f): AppForm<JobForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    let now = Utc::now();
    if f.intent == "preview" {
        return Ok(respond(&m.visitor, StatusCode::OK, render(&m, &f, &[], now, Target::New)));
    }
    let refuse = |errors: Vec<String>| Ok(respond(&m.visitor, StatusCode::UNPROCESSABLE_ENTITY, render(&m, &f, &errors, now, Target::New)));
    let draft = match f.schedule().and_then(|s| f.draft(s, &domain::job::JobDraft::default())) {
        Ok(d) => d,
        Err(e) => return refuse(vec![e]),
    };
    let source = match Uuid::parse_str(f.from.trim()) {
        Ok(id) => Some(store::jobs::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?),
        Err(_) => None,
    };
    let mut spec = match job_rules::validate(&draft, m.org.tier, now, source.as_ref().map(|j| &j.spec), "") {
        Ok(s) => s,
        Err(p) => return refuse(problems(p)),
    };
    job_rules::seal(&state, m.org.id, &mut spec, source.as_ref().map(|j| &j.spec)).await?;
    let id = job_rules::new_id();
    let mut tx = state.pool.begin().await?;
    if let Err(p) = job_rules::ensure_org_room(&mut tx, m.org.id, m.org.tier, 1).await {
        return refuse(vec![p.detail]);
    }
    store::jobs::insert_spec(&mut *tx, m.org.id, id, &spec, job_rules::first_cursor(&spec, now)).await?;
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, job_id = %id, user_id = %m.user.id, "job created from the dashboard");
    Ok(see_other(&format!("/app/jobs/{id}?done=created")))
}

/// A refusal's words, one per field.
fn problems(p: crate::problem::Problem) -> Vec<String> {
    if p.errors.is_empty() { vec![p.detail] } else { p.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect() }
}

pub async fn edit_page(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>) -> Result<Response, AppError> {
    let job = store::jobs::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    let form = JobForm { from: String::new(), name: job.spec.name.as_str().to_owned(), ..JobForm::of(&job) };
    Ok(respond(&m.visitor, StatusCode::OK, render(&m, &form, &[], Utc::now(), Target::Edit(id))))
}

/// Saves an edit through the API's update rules: the scheduler's cursor kept when the schedule
/// is unchanged, masked secret header values kept, the plan's limits checked.
pub async fn edit(State(state): State<AppState>, m: Member, ApiPath(id): ApiPath<Uuid>, AppForm(f): AppForm<JobForm>) -> Result<Response, AppError> {
    m.visitor.check_csrf(&f.csrf)?;
    let now = Utc::now();
    let old = store::jobs::get(&state.pool, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    if f.intent == "preview" {
        return Ok(respond(&m.visitor, StatusCode::OK, render(&m, &f, &[], now, Target::Edit(id))));
    }
    let refuse = |errors: Vec<String>| Ok(respond(&m.visitor, StatusCode::UNPROCESSABLE_ENTITY, render(&m, &f, &errors, now, Target::Edit(id))));
    let draft = match f.schedule().and_then(|s| f.draft(s, &old.spec.to_draft())) {
        Ok(d) => d,
        Err(e) => return refuse(vec![e]),
    };
    let mut spec = match job_rules::validate(&draft, m.org.tier, now, Some(&old.spec), "") {
        Ok(s) => s,
        Err(p) => return refuse(problems(p)),
    };
    job_rules::seal(&state, m.org.id, &mut spec, Some(&old.spec)).await?;
    let mut tx = state.pool.begin().await?;
    // the job as it is now, under the transaction (it may have changed since the form was shown)
    let current = store::jobs::get(&mut *tx, m.org.id, id).await?.ok_or(AppError::NotFound)?;
    if let Err(p) = job_rules::apply_update(&mut tx, &current, &spec, now).await {
        return refuse(problems(p));
    }
    tx.commit().await?;
    tracing::info!(org_id = %m.org.id, job_id = %id, user_id = %m.user.id, "job edited from the dashboard");
    Ok(see_other(&format!("/app/jobs/{id}?done=saved")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str, set: impl Fn(&mut JobForm)) -> Result<ScheduleSpec, String> {
        let mut f = JobForm { kind: kind.into(), timezone: "Europe/Oslo".into(), ..JobForm::default() };
        set(&mut f);
        f.schedule()
    }

    fn expr(s: Result<ScheduleSpec, String>) -> String {
        match s.unwrap() {
            ScheduleSpec::Cron { expr, timezone } => {
                assert_eq!(timezone.as_deref(), Some("Europe/Oslo"));
                expr
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn presets_become_cron_expressions() {
        assert_eq!(expr(form("minutes", |f| f.every = "5".into())), "*/5 * * * *");
        assert_eq!(expr(form("minutes", |f| f.every = "1".into())), "* * * * *");
        assert_eq!(expr(form("hourly", |f| f.minute = "15".into())), "15 * * * *");
        assert_eq!(expr(form("daily", |f| f.time = "07:30".into())), "30 7 * * *");
        assert_eq!(expr(form("weekly", |f| { f.time = "18:05".into(); f.weekday = "5".into() })), "5 18 * * 5");
        assert_eq!(expr(form("monthly", |f| { f.time = "00:00".into(); f.day = "31".into() })), "0 0 31 * *");
        assert_eq!(expr(form("cron", |f| f.cron = " 0 3 * * 1-5 ".into())), "0 3 * * 1-5");
        assert!(form("minutes", |f| f.every = "60".into()).unwrap_err().contains("1 to 59"));
        assert!(form("daily", |f| f.time = "25:00".into()).is_err());
        assert!(form("monthly", |f| f.day = "0".into()).is_err());
    }

    #[test]
    fn a_one_time_instant_is_read_in_the_chosen_zone() {
        let s = form("once", |f| f.at = "2027-07-01T12:00".into()).unwrap();
        assert_eq!(s, ScheduleSpec::Once { at: "2027-07-01T10:00:00Z".parse().unwrap() }, "Oslo is UTC+2 in summer");
        assert!(form("once", |f| f.at = "2027-03-28T02:30".into()).unwrap_err().contains("does not exist"), "skipped by the clock change");
    }

    #[test]
    fn headers_are_lines_of_name_and_value() {
        let f = JobForm { name: "n".into(), url: "https://example.com".into(), headers: "X-A: 1\n\nAuthorization: Bearer x:y\n".into(), ..JobForm::default() };
        let d = f.draft(ScheduleSpec::Once { at: Utc::now() }, &domain::job::JobDraft::default()).unwrap();
        assert_eq!(d.headers.0.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect::<Vec<_>>(), vec![("X-A", "1"), ("Authorization", "Bearer x:y")]);
        let bad = JobForm { headers: "no colon".into(), ..f };
        assert!(bad.draft(ScheduleSpec::Once { at: Utc::now() }, &domain::job::JobDraft::default()).unwrap_err().contains("line 1"));
    }
}
