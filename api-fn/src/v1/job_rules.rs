//! The rules every job write shares (create, update, sync): validation against the plan at
//! `now` with every field error reported, the plan's job count checked under a lock, and where
//! the scheduler's cursor (`next_run_at`) goes after the write; and the tenant's job lookup every
//! job handler starts from.

use chrono::{DateTime, TimeDelta, Utc};
use domain::job::{JobDraft, JobSpec};
use domain::schedule::{Schedule, ScheduleSpec};
use sqlx::PgConnection;
use uuid::Uuid;

use super::auth::Tenant;
use crate::problem::{FieldProblem, Problem};

/// Loads a job of the tenant or answers 404.
pub async fn find(db: impl sqlx::PgExecutor<'_>, tenant: &Tenant, id: Uuid) -> Result<store::jobs::Job, Problem> {
    store::jobs::get(db, tenant.org_id, id).await?.ok_or_else(|| Problem::not_found("job"))
}

/// Validates `draft` for the tenant's plan at `now`; field paths get `prefix` (`jobs[3].`).
///
/// A one-time job whose instant has passed keeps validating when its schedule is unchanged
/// (`previous` holds the same instant), so renaming a fired job, or syncing the same
/// configuration again, is not refused for a past the user did not choose.
pub fn validate(draft: &JobDraft, tier: domain::tier::Tier, now: DateTime<Utc>, previous: Option<&JobSpec>, prefix: &str) -> Result<JobSpec, Problem> {
    // secret header values are shown masked; one written back masked keeps its stored value
    let unmasked;
    let draft = match previous {
        Some(old) if draft.headers.0.iter().any(|h| h.value.starts_with(domain::job::MASK_PREFIX)) => {
            let mut d = draft.clone();
            let stored: Vec<(String, String)> = old.headers.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
            domain::job::unmask(&mut d.headers, &stored);
            unmasked = d;
            &unmasked
        }
        _ => draft,
    };
    let at = match (previous.map(|p| &p.schedule), draft.schedule.as_ref().and_then(|s| s.parse().ok())) {
        (Some(Schedule::Once(old)), Some(Schedule::Once(new))) if *old == new => now.min(new - TimeDelta::microseconds(1)),
        _ => now,
    };
    let result = domain::job::validate(draft, tier, at).map_err(|errors| Problem::from_validation(&errors, prefix));
    // An instant Postgres cannot store is reported with the other errors, in place of the
    // domain's word on that field.
    let Some(ScheduleSpec::Once { at }) = &draft.schedule else { return result };
    let field = format!("{prefix}schedule.at");
    let Err(out_of_range) = super::instants::check_instant(&field, *at) else { return result };
    let mut errors = match result {
        Err(p) => p.errors,
        Ok(_) => Vec::new(),
    };
    errors.retain(|e| e.field != field);
    errors.extend(out_of_range.errors);
    let detail = match errors.as_slice() {
        [one] => format!("{}: {}", one.field, one.message),
        many => format!("{} fields are invalid; see errors", many.len()),
    };
    Err(Problem::validation(detail, errors))
}

/// The field errors of every channel a job lists that is not one of the organization's, for
/// each job given with the prefix of its fields (one query for all of them).
pub async fn unknown_channels(db: impl sqlx::PgExecutor<'_>, org_id: Uuid, jobs: &[(&JobDraft, &JobSpec, String)]) -> Result<Vec<FieldProblem>, Problem> {
    let listed: Vec<Uuid> = jobs.iter().flat_map(|(_, spec, _)| spec.alerts.channel_ids().iter().copied()).collect();
    let missing = store::notification_channels::not_found(db, org_id, &listed).await?;
    let mut errors = Vec::new();
    for (draft, _, prefix) in jobs {
        let given = draft.notifications.as_ref().and_then(|n| n.channels.as_ref()).map(Vec::as_slice).unwrap_or_default();
        let mut named = Vec::new();
        for (i, s) in given.iter().enumerate() {
            let Ok(id) = Uuid::parse_str(s.trim()) else { continue };
            if missing.contains(&id) && !named.contains(&id) {
                named.push(id);
                errors.push(FieldProblem {
                    field: format!("{prefix}notifications.channels[{i}]"),
                    code: "notifications_channel_unknown".into(),
                    message: format!("no notification channel of this organization has the id {id}"),
                });
            }
        }
    }
    Ok(errors)
}

/// Refuses a job that lists a channel the organization does not have.
pub async fn ensure_channels(db: impl sqlx::PgExecutor<'_>, org_id: Uuid, draft: &JobDraft, spec: &JobSpec) -> Result<(), Problem> {
    if spec.alerts.channel_ids().is_empty() {
        return Ok(());
    }
    match unknown_channels(db, org_id, &[(draft, spec, String::new())]).await?.as_slice() {
        [] => Ok(()),
        errors => Err(Problem::validation(format!("{}: {}", errors[0].field, errors[0].message), errors.to_vec())),
    }
}

/// Refuses when adding `adding` jobs would pass the plan's job count. On a plan with a limit
/// the organization row is locked first (until the transaction ends), so concurrent creates
/// cannot both pass the check.
pub async fn ensure_room(conn: &mut PgConnection, tenant: &Tenant, adding: i64) -> Result<(), Problem> {
    ensure_org_room(conn, tenant.org_id, tenant.tier, adding).await
}

/// [`ensure_room`] for an organization on `tier`, whoever acts for it (an API key, or a member
/// in the dashboard).
pub async fn ensure_org_room(conn: &mut PgConnection, org_id: Uuid, tier: domain::tier::Tier, adding: i64) -> Result<(), Problem> {
    if tier.limits().max_jobs.is_none() {
        return Ok(());
    }
    let org = store::organizations::lock(&mut *conn, org_id).await?.ok_or_else(|| Problem::unauthorized("organization no longer exists"))?;
    // the locked row's tier is authoritative (the plan may have changed since authentication)
    let Some(max) = org.tier.limits().max_jobs else { return Ok(()) };
    let count = store::jobs::count(&mut *conn, org_id).await?;
    if count + adding > i64::from(max) {
        return Err(Problem::job_limit(org.tier, max, count, adding));
    }
    Ok(())
}

/// Seals the values of `spec`'s credential headers with the organization's data key before they
/// are stored (see `store::keyring`); values equal to those of `previous` keep their sealed text.
pub async fn seal(state: &crate::AppState, org_id: Uuid, spec: &mut JobSpec, previous: Option<&JobSpec>) -> Result<(), Problem> {
    if !store::keyring::OrgKey::needs_sealing(&spec.headers) {
        return Ok(());
    }
    let key = state.keyring.org_key(&state.pool, org_id).await?;
    key.seal_headers(&mut spec.headers, previous.map(|p| &p.headers));
    Ok(())
}

/// The cursor of a new job: its first run after `now`, when enabled.
pub fn first_cursor(spec: &JobSpec, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if spec.enabled { spec.schedule.next_after(now) } else { None }
}

/// Writes `new` over the stored job `old` (same organization) at `now`, keeping the scheduler's
/// cursor when the schedule did not change (so a pending catch-up is not lost), moving it to the
/// next run of a changed schedule, and going through `set_enabled` for a change of the enabled
/// flag (which cancels pending scheduled runs on disable and resumes from the cursor on enable).
pub async fn apply_update(conn: &mut PgConnection, old: &store::jobs::Job, new: &JobSpec, now: DateTime<Utc>) -> Result<store::jobs::Job, Problem> {
    let schedule_changed = old.spec.schedule != new.schedule;
    let cursor = match (schedule_changed, old.spec.enabled) {
        (false, _) => old.next_run_at,
        (true, true) => new.schedule.next_after(now),
        (true, false) => None,
    };
    let mut stored = new.clone();
    stored.enabled = old.spec.enabled;
    let mut job = store::jobs::update(&mut *conn, old.org_id, old.id, &stored, cursor)
        .await
        .map_err(|e| key_conflict(e, "key"))?
        .ok_or_else(|| Problem::not_found("job"))?;
    if new.enabled != old.spec.enabled {
        set_enabled(conn, &job, new.enabled, now).await?;
        job = store::jobs::get(&mut *conn, old.org_id, old.id).await?.ok_or_else(|| Problem::not_found("job"))?;
    }
    Ok(job)
}

/// Enables or disables a job (see `store::jobs::set_enabled`). Enabling is refused when the
/// organization's plan (read under a lock) would not let the job run: its schedule is faster
/// than the plan allows, or the plan's jobs are all running already (after a downgrade an
/// organization may hold more jobs than its plan runs; the rest stay paused).
pub async fn set_enabled(conn: &mut PgConnection, job: &store::jobs::Job, enabled: bool, now: DateTime<Utc>) -> Result<(), Problem> {
    if enabled && !job.spec.enabled {
        let org = store::organizations::lock(&mut *conn, job.org_id).await?.ok_or_else(|| Problem::not_found("job"))?;
        let limits = org.tier.limits();
        if job.spec.interval_minutes.is_some_and(|m| m < limits.min_interval_minutes) {
            let e = domain::job::ScheduleRuleError::IntervalBelowTier { interval_minutes: job.spec.interval_minutes.unwrap_or_default(), tier: org.tier };
            return Err(Problem::invalid_field("schedule", "schedule_interval_below_tier", e.to_string()));
        }
        if let Some(max) = limits.max_jobs {
            let running = store::jobs::count_enabled(&mut *conn, job.org_id).await?;
            if running >= i64::from(max) {
                return Err(Problem::job_limit(org.tier, max, running, 1));
            }
        }
    }
    let resume_at = job.spec.schedule.next_after(now);
    if !store::jobs::set_enabled(&mut *conn, job.org_id, job.id, enabled, resume_at, now).await? {
        return Err(Problem::not_found("job"));
    }
    Ok(())
}

/// A new job id (time-ordered).
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Maps a duplicate sync key to a problem naming the field.
pub fn key_conflict(err: store::StoreError, field: &str) -> Problem {
    if err.is_conflict_on("jobs_org_key") {
        Problem::new(axum::http::StatusCode::CONFLICT, "conflict", "Conflict", format!("{field}: another job of this organization has this key"))
    } else {
        Problem::from(err)
    }
}
