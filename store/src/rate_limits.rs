//! Shared request counters for api-fn's rate limiter: one row per bucket with the hits of the
//! current fixed window and of the previous one (the caller weighs them into a sliding-window
//! estimate). One statement records a batch of hits (an instance's lease of requests), on an
//! UNLOGGED table, so counting costs no WAL.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::error::StoreResult;

/// The counts of a bucket right after a hit was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct WindowCounts {
    /// Hits in the current window, this one included.
    pub hits: i32,
    /// Hits in the window just before the current one (0 when that window saw none).
    pub previous_hits: i32,
}

/// Records `n` hits on `bucket` in the window starting at `window_start`; `previous_start` is the
/// start of the window before it. A row still in an older window rolls over: its hits become
/// `previous_hits` when that older window is exactly the previous one, else they are dropped.
/// A caller whose clock lags behind another instance's (its `window_start` is older than the
/// row's) is counted in the row's newer window.
pub async fn hit(
    db: impl PgExecutor<'_>,
    bucket: &str,
    n: i32,
    window_start: DateTime<Utc>,
    previous_start: DateTime<Utc>,
) -> StoreResult<WindowCounts> {
    Ok(sqlx::query_as(
        "INSERT INTO rate_limit_counters AS c (bucket, window_start, hits, previous_hits) VALUES ($1, $2, $4, 0)
         ON CONFLICT (bucket) DO UPDATE SET
             previous_hits = CASE WHEN c.window_start >= $2 THEN c.previous_hits
                                  WHEN c.window_start = $3 THEN c.hits
                                  ELSE 0 END,
             hits = CASE WHEN c.window_start >= $2 THEN c.hits + $4 ELSE $4 END,
             window_start = GREATEST(c.window_start, $2)
         RETURNING hits, previous_hits",
    )
    .bind(bucket)
    .bind(window_start)
    .bind(previous_start)
    .bind(n)
    .fetch_one(db)
    .await?)
}

/// Deletes the rows of buckets not hit since `before` (they count nothing any more).
pub async fn purge_stale(db: impl PgExecutor<'_>, before: DateTime<Utc>) -> StoreResult<u64> {
    Ok(sqlx::query("DELETE FROM rate_limit_counters WHERE window_start < $1")
        .bind(before)
        .execute(db)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use sqlx::PgPool;

    fn minute(m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 12, m, 0).unwrap()
    }

    async fn at(pool: &PgPool, bucket: &str, m: u32) -> WindowCounts {
        hit(pool, bucket, 1, minute(m), minute(m) - Duration::minutes(1)).await.unwrap()
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn counts_roll_over_window_by_window(pool: PgPool) {
        assert_eq!(at(&pool, "key:a", 0).await, WindowCounts { hits: 1, previous_hits: 0 });
        assert_eq!(at(&pool, "key:a", 0).await, WindowCounts { hits: 2, previous_hits: 0 });
        assert_eq!(at(&pool, "key:b", 0).await, WindowCounts { hits: 1, previous_hits: 0 }, "buckets are apart");
        assert_eq!(at(&pool, "key:a", 1).await, WindowCounts { hits: 1, previous_hits: 2 }, "next window");
        assert_eq!(at(&pool, "key:a", 1).await, WindowCounts { hits: 2, previous_hits: 2 });
        assert_eq!(at(&pool, "key:a", 5).await, WindowCounts { hits: 1, previous_hits: 0 }, "a gap forgets");
        // an instance whose clock lags is counted in the newer window
        assert_eq!(at(&pool, "key:a", 4).await, WindowCounts { hits: 2, previous_hits: 0 });
        // a batch of hits at once (an instance taking a lease)
        let batch = hit(&pool, "key:a", 10, minute(5), minute(4)).await.unwrap();
        assert_eq!(batch, WindowCounts { hits: 12, previous_hits: 0 });
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn purge_removes_only_stale_buckets(pool: PgPool) {
        at(&pool, "old", 0).await;
        at(&pool, "new", 10).await;
        assert_eq!(purge_stale(&pool, minute(5)).await.unwrap(), 1);
        assert_eq!(at(&pool, "new", 10).await.hits, 2);
        assert_eq!(at(&pool, "old", 10).await.hits, 1);
    }
}
