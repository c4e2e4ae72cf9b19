//! Read-only questions the dispatcher asks about the queue: is an earlier run of a job still
//! running (the overlap policy), and how many runs are due and unclaimed (a metric).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::StoreResult;

/// The scheduled time of the earliest run of `job_id`, scheduled before `scheduled_for`, that is
/// still running, or waiting for its completion ping (other than `id`); `None` when there is none.
pub async fn previous_still_running(
    db: impl PgExecutor<'_>,
    job_id: Uuid,
    id: Uuid,
    scheduled_for: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "SELECT scheduled_for FROM executions
          WHERE job_id = $1 AND status IN ('running', 'waiting') AND id <> $2 AND scheduled_for < $3
          ORDER BY scheduled_for LIMIT 1",
    )
    .bind(job_id)
    .bind(id)
    .bind(scheduled_for)
    .fetch_optional(db)
    .await?)
}

/// Pending runs due at `now` or earlier.
pub async fn queue_depth(db: impl PgExecutor<'_>, now: DateTime<Utc>) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'pending' AND run_at <= $1").bind(now).fetch_one(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations;
    use chrono::{Duration, TimeZone};
    use domain::tier::Tier;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn overlap_and_depth_read_the_queue_as_it_is(pool: PgPool) {
        let org = organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap().id;
        let job = crate::jobs::insert(
            &pool,
            org,
            Uuid::now_v7(),
            &domain::job::restore(
                &serde_json::from_value(serde_json::json!({"name": "j", "url": "https://example.com", "schedule": {"kind": "cron", "expr": "* * * * *"}}))
                    .unwrap(),
            )
            .unwrap(),
            None,
        )
        .await
        .unwrap()
        .id;
        let t = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "INSERT INTO executions (org_id, job_id, source, scheduled_for, run_at, status, priority, max_attempts,
                                     retry_base_delay_secs, retry_max_delay_secs, message_id, method, url, timeout_secs)
             SELECT $1, $2, 'schedule', $3 + (i || ' minutes')::interval, $3 + (i || ' minutes')::interval, s, 10, 1, 10, 60,
                    gen_random_uuid(), 'POST', 'https://example.com', 30
               FROM (VALUES (0, 'running'), (1, 'running'), (2, 'pending'), (3, 'pending')) v(i, s)
             RETURNING id",
        )
        .bind(org)
        .bind(job)
        .bind(t)
        .fetch_all(&pool)
        .await
        .unwrap();
        let later = t + Duration::minutes(2);
        assert_eq!(previous_still_running(&pool, job, ids[2], later).await.unwrap(), Some(t), "the earliest one still running");
        assert_eq!(previous_still_running(&pool, job, ids[0], t).await.unwrap(), None, "nothing earlier");
        assert_eq!(queue_depth(&pool, later).await.unwrap(), 1, "only the pending run due by then");
        assert_eq!(queue_depth(&pool, t + Duration::minutes(3)).await.unwrap(), 2);
    }
}
