//! Scheduler scale: the cost of one tick materialising 1,000 due jobs, with 10,000 and with
//! 1,000,000 enabled jobs in the table. A tick must cost what the due jobs cost, not the table.

use std::time::Instant;

use chrono::{DurationRound, Utc};

use crate::fixture::{self, BenchDb, percentile};

const DUE: usize = 1_000;
const ROUNDS: usize = 7;

pub async fn run(server: &str) {
    println!("\n== scale: tick cost with {DUE} due jobs");
    let db = BenchDb::create(server, "scale").await;
    let org = fixture::org(&db.pool).await;
    let far = Utc::now() + chrono::Duration::days(30);
    fixture::cron_jobs(&db.pool, org, "https://example.com/x", far, 10_000 - DUE).await;
    let small = measure(&db, org).await;
    fixture::cron_jobs(&db.pool, org, "https://example.com/x", far, 1_000_000 - 10_000).await;
    let large = measure(&db, org).await;
    println!(
        "RESULT scale tick_ms_10k={small:.1} tick_ms_1m={large:.1} ratio={:.2}",
        large / small
    );
    db.drop_db().await;
}

/// Median over ROUNDS of: put DUE jobs due now, run one tick, undo.
async fn measure(db: &BenchDb, org: uuid::Uuid) -> f64 {
    let total = DUE as i64 + sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE name <> 'due'").fetch_one(&db.pool).await.unwrap();
    let mut samples = Vec::new();
    for _ in 0..ROUNDS {
        sqlx::query("DELETE FROM executions").execute(&db.pool).await.unwrap();
        sqlx::query("DELETE FROM jobs WHERE name = 'due'").execute(&db.pool).await.unwrap();
        // 10 s past a minute: the next `* * * * *` occurrence is beyond the 5 s look-ahead, so each
        // due job plans exactly one run whatever the wall clock says
        let now = Utc::now().duration_trunc(chrono::Duration::minutes(1)).unwrap() + chrono::Duration::seconds(10);
        sqlx::query(
            "INSERT INTO jobs (org_id, name, url, method, schedule_kind, cron_expr, timezone, interval_minutes,
                               retry_max_attempts, retry_base_delay_secs, retry_max_delay_secs, next_run_at)
             SELECT $1, 'due', 'https://example.com/x', 'POST', 'cron', '* * * * *', 'UTC', 1, 1, 10, 10, $2
               FROM generate_series(1, $3)",
        )
        .bind(org)
        .bind(now)
        .bind(DUE as i64)
        .execute(&db.pool)
        .await
        .unwrap();
        fixture::vacuum(&db.pool).await;
        let settings = dispatcher::scheduler::TickSettings {
            lookahead: chrono::Duration::seconds(5),
            missed_grace: chrono::Duration::seconds(60),
        };
        let t = Instant::now();
        let report = dispatcher::scheduler::tick(&db.queue, now, settings).await.unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(report.runs, DUE);
    }
    samples.sort_by(f64::total_cmp);
    let median = percentile(&samples, 0.5);
    println!("{total} jobs in the table ({DUE} due): tick median {median:.1} ms over {ROUNDS} rounds (min {:.1}, max {:.1})", samples[0], samples[ROUNDS - 1]);
    median
}
