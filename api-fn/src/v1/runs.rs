//! Starting runs on demand, shared by the handlers that do (trigger, redelivery, queue) and by
//! the dashboard's buttons: the monthly quota check, the enqueue of a validated spec as a
//! pending execution, a job's run now, and one execution's redelivery.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use domain::tier::Tier;
use sqlx::PgConnection;
use store::executions::Source;
use uuid::Uuid;

use super::auth::Tenant;
use crate::problem::Problem;

/// The first instant of the month after `now`'s (when the monthly quota resets).
pub fn next_month(now: DateTime<Utc>) -> DateTime<Utc> {
    let (y, m) = if now.month() == 12 { (now.year() + 1, 1) } else { (now.year(), now.month() + 1) };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().unwrap_or(now)
}

/// Runs a transaction is about to add: how many, with how many request-body bytes.
#[derive(Debug, Clone, Copy)]
pub struct Adding {
    pub runs: i64,
    pub bytes: usize,
}

impl Adding {
    /// One run with a body of `bytes`.
    pub fn one(bytes: usize) -> Adding {
        Adding { runs: 1, bytes }
    }

    /// Nothing more: the transaction already wrote its runs (a bulk redelivery checks after).
    pub const WRITTEN: Adding = Adding { runs: 0, bytes: 0 };
}

/// Refuses `adding` when the organization would pass its monthly executions, counting the runs
/// it already has waiting (each will be charged when it is sent: a run enqueued reserves its
/// share of the quota, and gives it back if cancelled), or its plan's cap on waiting runs in
/// number or in stored bytes. It first takes the organization's enqueue lock for the rest of the
/// transaction, so concurrent enqueues count one after the other and cannot together pass a cap
/// that each alone respects.
pub async fn ensure_quota(conn: &mut PgConnection, tenant: &Tenant, now: DateTime<Utc>, adding: Adding) -> Result<(), Problem> {
    ensure_org_quota(conn, tenant.org_id, tenant.tier, now, adding).await
}

/// [`ensure_quota`] for an organization on `tier`, whoever acts for it (an API key, or a member
/// in the dashboard).
pub async fn ensure_org_quota(conn: &mut PgConnection, org_id: Uuid, tier: Tier, now: DateTime<Utc>, adding: Adding) -> Result<(), Problem> {
    let limits = tier.limits();
    store::usage::lock_enqueues(&mut *conn, org_id).await?;
    let pending = store::usage::pending(&mut *conn, org_id, i64::from(limits.max_pending_runs) + 1).await?;
    if pending.runs + adding.runs > i64::from(limits.max_pending_runs) {
        return Err(Problem::pending_limit(tier, format!(
            "this organization has {} runs waiting to be delivered, the most the {} plan allows; enqueue more once some have been sent",
            limits.max_pending_runs, tier.display_name()
        )));
    }
    if pending.bytes.saturating_add(adding.bytes as i64) > limits.max_pending_bytes as i64 {
        return Err(Problem::pending_limit(tier, format!(
            "the runs waiting to be delivered hold {} MiB of request bodies, and this one would pass the {} MiB the {} plan allows; enqueue it once some have been sent",
            pending.bytes / (1024 * 1024), limits.max_pending_bytes / (1024 * 1024), tier.display_name()
        )));
    }
    let used = store::usage::month(&mut *conn, org_id, now).await?;
    if used.executions + pending.runs + adding.runs > i64::from(limits.monthly_executions) {
        return Err(Problem::quota_exceeded(tier, limits.monthly_executions, next_month(now)));
    }
    Ok(())
}

/// Enqueues one pending execution carrying `spec`'s request and retry policy (a trigger of a
/// stored job, or a queued one-off call), due at `at`.
pub async fn enqueue_spec(
    tx: &mut PgConnection,
    tenant: &Tenant,
    job_id: Option<Uuid>,
    source: Source,
    at: DateTime<Utc>,
    priority: i16,
    spec: &domain::job::JobSpec,
) -> Result<store::executions::Execution, Problem> {
    Ok(store::executions::enqueue_spec(tx, Uuid::now_v7(), tenant.org_id, job_id, source, at, priority, spec).await?)
}

/// Runs a stored job now (the API's trigger and the dashboard's button): the quota checked,
/// then a one-off at the plan's one-off priority, since someone is waiting for it and no next
/// occurrence makes up for it.
pub async fn trigger_job(tx: &mut PgConnection, org_id: Uuid, tier: Tier, job: &store::jobs::Job, now: DateTime<Utc>) -> Result<store::executions::Execution, Problem> {
    ensure_org_quota(&mut *tx, org_id, tier, now, Adding::one(job.spec.body.as_ref().map_or(0, |b| b.as_str().len()))).await?;
    let priority = domain::priority::priority(tier, None);
    Ok(store::executions::enqueue_spec(&mut *tx, Uuid::now_v7(), org_id, Some(job.id), Source::Manual, now, priority, &job.spec).await?)
}

/// Delivers a finished execution's message again (same `webhook-id`, request and retry policy)
/// as a new execution due now; 404 for another organization's, 409 while it is not finished.
pub async fn redeliver_one(tx: &mut PgConnection, org_id: Uuid, tier: Tier, id: Uuid, now: DateTime<Utc>) -> Result<store::executions::Execution, Problem> {
    let original = store::executions::get(&mut *tx, org_id, id).await?.ok_or_else(|| Problem::not_found("execution"))?;
    if !original.status.is_final() {
        return Err(Problem::conflict(format!("the execution is {}; only finished executions can be redelivered", original.status)));
    }
    ensure_org_quota(&mut *tx, org_id, tier, now, Adding::one(original.body.as_deref().map_or(0, str::len))).await?;
    store::executions::redeliver(&mut *tx, org_id, id, Uuid::now_v7(), now).await?.ok_or_else(|| Problem::conflict("the execution changed while redelivering; try again"))
}

/// Most executions one bulk redelivery enqueues.
pub const MAX_BULK_REDELIVERY: i64 = 1000;

/// Redelivers job `job_id`'s failed and timed-out executions scheduled in `[from, to)` (`to`
/// defaults to `now`), oldest first, at most [`MAX_BULK_REDELIVERY`]; those already redelivered
/// are skipped. 404 for another organization's job. The runs are written first, then the caps
/// checked with all of them counted (the caller's transaction rolls back when refused).
pub async fn redeliver_failed_range(
    tx: &mut PgConnection,
    org_id: Uuid,
    tier: Tier,
    job_id: Uuid,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<store::executions::Execution>, Problem> {
    let to = to.unwrap_or(now);
    if from >= to {
        return Err(Problem::invalid_field("from", "range_empty", "from must be earlier than to (which defaults to now)"));
    }
    store::jobs::get(&mut *tx, org_id, job_id).await?.ok_or_else(|| Problem::not_found("job"))?;
    store::usage::lock_enqueues(&mut *tx, org_id).await?;
    let batch = store::executions::redeliver_failed(&mut *tx, org_id, job_id, from, to, now, MAX_BULK_REDELIVERY).await?;
    ensure_org_quota(&mut *tx, org_id, tier, now, Adding::WRITTEN).await?;
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_resets_on_the_first_of_next_month() {
        let may = Utc.with_ymd_and_hms(2026, 5, 31, 23, 0, 0).unwrap();
        assert_eq!(next_month(may), Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap());
        let dec = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap();
        assert_eq!(next_month(dec), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
    }
}
