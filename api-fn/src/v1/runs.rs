//! Starting runs on demand, shared by the handlers that do (trigger, redelivery, queue): the
//! monthly quota check, and the enqueue of a validated spec as a pending execution.

use chrono::{DateTime, Datelike, TimeZone, Utc};
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
    let limits = tenant.tier.limits();
    store::usage::lock_enqueues(&mut *conn, tenant.org_id).await?;
    let pending = store::usage::pending(&mut *conn, tenant.org_id, i64::from(limits.max_pending_runs) + 1).await?;
    if pending.runs + adding.runs > i64::from(limits.max_pending_runs) {
        return Err(Problem::pending_limit(tenant.tier, format!(
            "this organization has {} runs waiting to be delivered, the most the {} plan allows; enqueue more once some have been sent",
            limits.max_pending_runs, tenant.tier.display_name()
        )));
    }
    if pending.bytes.saturating_add(adding.bytes as i64) > limits.max_pending_bytes as i64 {
        return Err(Problem::pending_limit(tenant.tier, format!(
            "the runs waiting to be delivered hold {} MiB of request bodies, and this one would pass the {} MiB the {} plan allows; enqueue it once some have been sent",
            pending.bytes / (1024 * 1024), limits.max_pending_bytes / (1024 * 1024), tenant.tier.display_name()
        )));
    }
    let used = store::usage::month(&mut *conn, tenant.org_id, now).await?;
    if used.executions + pending.runs + adding.runs > i64::from(limits.monthly_executions) {
        return Err(Problem::quota_exceeded(tenant.tier, limits.monthly_executions, next_month(now)));
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
