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

/// Refuses new runs when the organization has used its monthly executions (the dispatcher would
/// record them as skipped; saying so now is clearer).
pub async fn ensure_quota(conn: &mut PgConnection, tenant: &Tenant, now: DateTime<Utc>) -> Result<(), Problem> {
    let limit = tenant.tier.limits().monthly_executions;
    let used = store::usage::month(conn, tenant.org_id, now).await?;
    if used.executions >= i64::from(limit) {
        return Err(Problem::quota_exceeded(tenant.tier, limit, next_month(now)));
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
