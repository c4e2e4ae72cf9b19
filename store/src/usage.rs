//! Reading an organization's monthly execution usage (the dispatcher charges `usage_counters`
//! as it claims runs; see `crate::dispatch::claim`).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::StoreResult;

/// One organization's counters for one calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct MonthUsage {
    /// Runs charged against the quota (first attempts that were delivered or are under way).
    pub executions: i64,
    /// Runs recorded as skipped because the quota was used up.
    pub over_quota: i64,
}

/// The first day of `now`'s month: the `usage_counters.month` key.
pub fn month_of(now: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or(NaiveDate::MIN)
}

/// The counters of `org_id` for the month containing `now` (zeros when nothing ran yet).
pub async fn month(db: impl PgExecutor<'_>, org_id: Uuid, now: DateTime<Utc>) -> StoreResult<MonthUsage> {
    let row: Option<MonthUsage> =
        sqlx::query_as("SELECT executions, over_quota FROM usage_counters WHERE org_id = $1 AND month = $2")
            .bind(org_id)
            .bind(month_of(now))
            .fetch_optional(db)
            .await?;
    Ok(row.unwrap_or_default())
}

/// An organization's runs waiting to be delivered, counted up to a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, sqlx::FromRow)]
pub struct Pending {
    pub runs: i64,
    /// Their request bodies as stored (compressed where Postgres compressed them).
    pub bytes: i64,
}

/// The runs of `org_id` waiting to be delivered, counting at most `up_to` of them (the check
/// against a cap never reads more than the cap): an index scan of `executions_org_pending_idx`.
/// Takes the organization's enqueue lock until the transaction ends (a transaction-level
/// advisory lock in a key space of its own): enqueues that check the caps serialise per
/// organization, not globally.
pub async fn lock_enqueues(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(1886546539, hashtext($1::text))").bind(org_id).execute(db).await?;
    Ok(())
}

pub async fn pending(db: impl PgExecutor<'_>, org_id: Uuid, up_to: i64) -> StoreResult<Pending> {
    Ok(sqlx::query_as(
        "SELECT count(*) AS runs, coalesce(sum(coalesce(pg_column_size(body), 0)), 0)::bigint AS bytes
           FROM (SELECT body FROM executions WHERE org_id = $1 AND status = 'pending' LIMIT $2) p",
    )
    .bind(org_id)
    .bind(up_to)
    .fetch_one(db)
    .await?)
}

/// One month's counters of an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct MonthCounters {
    /// The month's first day.
    pub month: NaiveDate,
    pub executions: i64,
    pub over_quota: i64,
}

/// Every month's counters of `org_id`, oldest first (one row a month: a short list).
pub async fn all_months(db: impl PgExecutor<'_>, org_id: Uuid) -> StoreResult<Vec<MonthCounters>> {
    Ok(sqlx::query_as("SELECT month, executions, over_quota FROM usage_counters WHERE org_id = $1 ORDER BY month")
        .bind(org_id)
        .fetch_all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations;
    use chrono::TimeZone;
    use domain::tier::Tier;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn reads_the_current_month_only(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Free).await.unwrap();
        let now = Utc.with_ymd_and_hms(2026, 5, 31, 23, 59, 0).unwrap();
        assert_eq!(month(&pool, org.id, now).await.unwrap(), MonthUsage::default());
        sqlx::query("INSERT INTO usage_counters (org_id, month, executions, over_quota) VALUES ($1, '2026-05-01', 42, 3), ($1, '2026-04-01', 7, 0)")
            .bind(org.id)
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(month(&pool, org.id, now).await.unwrap(), MonthUsage { executions: 42, over_quota: 3 });
        assert_eq!(month_of(now), NaiveDate::from_ymd_opt(2026, 5, 1).unwrap());
    }
}
