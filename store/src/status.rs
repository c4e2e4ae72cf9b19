//! Liveness of the dispatchers (heartbeat rows) and incidents: what health checks and the public
//! status page read.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::StoreResult;

/// A dispatcher whose heartbeat is older than this is considered gone.
pub const HEARTBEAT_STALE_AFTER: Duration = Duration::seconds(30);

/// One dispatcher's heartbeat, written every few seconds.
#[derive(Debug, Clone)]
pub struct Heartbeat<'a> {
    pub instance_id: &'a str,
    pub version: &'a str,
    pub is_leader: bool,
    /// Set by the leader after each scheduling tick.
    pub last_tick_at: Option<DateTime<Utc>>,
    pub fire_lag_ms: Option<i32>,
    pub now: DateTime<Utc>,
}

pub async fn beat(db: impl PgExecutor<'_>, hb: &Heartbeat<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO dispatcher_instances (instance_id, version, started_at, last_seen_at, is_leader, last_tick_at, fire_lag_ms)
         VALUES ($1, $2, $3, $3, $4, $5, $6)
         ON CONFLICT (instance_id) DO UPDATE SET
             version = EXCLUDED.version, last_seen_at = EXCLUDED.last_seen_at, is_leader = EXCLUDED.is_leader,
             last_tick_at = coalesce(EXCLUDED.last_tick_at, dispatcher_instances.last_tick_at),
             fire_lag_ms = coalesce(EXCLUDED.fire_lag_ms, dispatcher_instances.fire_lag_ms)",
    )
    .bind(hb.instance_id)
    .bind(hb.version)
    .bind(hb.now)
    .bind(hb.is_leader)
    .bind(hb.last_tick_at)
    .bind(hb.fire_lag_ms)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes an instance's row at clean shutdown, and rows that have been silent for a day.
pub async fn forget(db: impl PgExecutor<'_>, instance_id: &str, now: DateTime<Utc>) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM dispatcher_instances WHERE instance_id = $1 OR last_seen_at < $2 - interval '1 day'")
        .bind(instance_id)
        .bind(now)
        .execute(db)
        .await?
        .rows_affected())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchedulerStatus {
    /// A leader has beaten within `HEARTBEAT_STALE_AFTER`.
    pub up: bool,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    pub last_tick_at: Option<DateTime<Utc>>,
    pub lag_ms: Option<i32>,
    pub instances: i64,
}

pub async fn scheduler(db: impl PgExecutor<'_>, now: DateTime<Utc>) -> StoreResult<SchedulerStatus> {
    let (leader_seen, last_seen, last_tick, lag, instances): (
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<i32>,
        i64,
    ) = sqlx::query_as(
        "SELECT max(last_seen_at) FILTER (WHERE is_leader),
                max(last_seen_at),
                max(last_tick_at),
                (array_agg(fire_lag_ms ORDER BY last_seen_at DESC) FILTER (WHERE is_leader))[1],
                count(*) FILTER (WHERE last_seen_at > $1)
           FROM dispatcher_instances",
    )
    .bind(now - HEARTBEAT_STALE_AFTER)
    .fetch_one(db)
    .await?;
    Ok(SchedulerStatus {
        up: leader_seen.is_some_and(|t| t > now - HEARTBEAT_STALE_AFTER),
        last_heartbeat_at: last_seen,
        last_tick_at: last_tick,
        lag_ms: lag,
        instances,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Incident {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub severity: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Open incidents and those started within the last 14 days, newest first.
pub async fn recent_incidents(db: impl PgExecutor<'_>, now: DateTime<Utc>) -> StoreResult<Vec<Incident>> {
    Ok(sqlx::query_as(
        "SELECT id, title, body, severity, started_at, resolved_at FROM incidents
          WHERE resolved_at IS NULL OR started_at > $1 - interval '14 days'
          ORDER BY started_at DESC LIMIT 20",
    )
    .bind(now)
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::PgPool;

    fn hb(id: &str, leader: bool, now: DateTime<Utc>) -> Heartbeat<'_> {
        Heartbeat { instance_id: id, version: "test", is_leader: leader, last_tick_at: None, fire_lag_ms: None, now }
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn scheduler_is_up_only_while_a_leader_beats(pool: PgPool) {
        let t0 = Utc::now();
        assert!(!scheduler(&pool, t0).await.unwrap().up, "no dispatcher at all");
        beat(&pool, &hb("a", false, t0)).await.unwrap();
        assert!(!scheduler(&pool, t0).await.unwrap().up, "followers alone do not schedule");
        beat(&pool, &Heartbeat { last_tick_at: Some(t0), fire_lag_ms: Some(12), ..hb("b", true, t0) }).await.unwrap();
        let s = scheduler(&pool, t0).await.unwrap();
        assert!(s.up);
        assert_eq!((s.lag_ms, s.instances), (Some(12), 2));
        // a later beat without tick data keeps the last known tick and lag
        beat(&pool, &hb("b", true, t0 + Duration::seconds(5))).await.unwrap();
        assert_eq!(scheduler(&pool, t0 + Duration::seconds(5)).await.unwrap().lag_ms, Some(12));
        assert!(!scheduler(&pool, t0 + Duration::seconds(40)).await.unwrap().up, "stale leader");
        assert_eq!(forget(&pool, "b", t0).await.unwrap(), 1);
        assert_eq!(scheduler(&pool, t0).await.unwrap().instances, 1);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn recent_incidents_keeps_open_and_recent_ones(pool: PgPool) {
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO incidents (title, severity, started_at, resolved_at) VALUES
               ('old', 'minor', $1 - interval '30 days', $1 - interval '29 days'),
               ('open', 'major', $1 - interval '40 days', NULL),
               ('recent', 'minor', $1 - interval '1 day', $1)",
        )
        .bind(now)
        .execute(&pool)
        .await
        .unwrap();
        let titles: Vec<String> = recent_incidents(&pool, now).await.unwrap().into_iter().map(|i| i.title).collect();
        assert_eq!(titles, vec!["recent", "open"]);
    }
}
