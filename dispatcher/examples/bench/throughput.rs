//! Throughput: N due executions delivered (signed, recorded) by one dispatcher, next to the
//! ceiling of the same claim+record SQL without HTTP, measured in the same run on the same rows.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::execution::ExecutionStatus;
use sqlx::PgPool;
use store::dispatch::{AttemptRecord, Finished, Outcome};
use tokio::sync::mpsc;

use crate::fixture::{self, BenchDb};
use crate::receiver;

pub async fn run(server: &str, n: usize) {
    println!("\n== throughput: {n} due executions, receiver on 127.0.0.1");
    let db = BenchDb::create(server, "throughput").await;
    let (addr, log) = receiver::start(false);
    let org = fixture::org(&db.pool).await;
    let url = format!("http://{addr}/hook");
    // on a queue this deep every claim after the first few is as large as the dispatcher's may grow
    let claim_batch = fixture::config(&db.url).claim_batch_max;
    fixture::executions(&db.pool, org, &url, Utc::now() - chrono::Duration::seconds(1), n).await;
    fixture::vacuum(&db.pool).await;

    let ceiling = sql_ceiling(&db.queue, claim_batch, n).await;
    let c = fixture::config(&db.url);
    println!(
        "claim+record SQL alone: {ceiling:.0} rows/s (claim batch {claim_batch}, record batch ≤ 1000, pipelined like the dispatcher)\n\
         dispatcher settings: claim batch {} growing to {}, delivery limit {}..{}, per-host cap {}",
        c.claim_batch, c.claim_batch_max, c.concurrency_min, c.concurrency_max, c.per_host_concurrency
    );

    reset(&db.pool).await;
    let t0 = Instant::now();
    let d = dispatcher::Dispatcher::start(fixture::config(&db.url), Arc::new(dispatcher::SystemClock)).unwrap();
    while log.count.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(t0.elapsed() < Duration::from_secs(600), "stalled at {} deliveries", log.count.load(Ordering::Relaxed));
    }
    let delivered_in = t0.elapsed();
    loop {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'success'").fetch_one(&db.pool).await.unwrap();
        if done as usize >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recorded_in = t0.elapsed();
    d.shutdown().await;
    let rate = n as f64 / recorded_in.as_secs_f64();
    println!(
        "dispatcher: {n} signed deliveries in {:.2} s, all recorded after {:.2} s → {rate:.0} deliveries/s ({:.0}% of the SQL ceiling)",
        delivered_in.as_secs_f64(),
        recorded_in.as_secs_f64(),
        100.0 * rate / ceiling
    );
    println!("RESULT throughput deliveries_per_s={rate:.0} sql_ceiling_rows_per_s={ceiling:.0} fraction={:.2}", rate / ceiling);
    db.drop_db().await;
}

/// Claims in batches and records every claimed row as a success, the two loops running
/// concurrently on separate connections (as the dispatcher's pump and recorder do).
async fn sql_ceiling(pool: &PgPool, batch: usize, n: usize) -> f64 {
    let (tx, mut rx) = mpsc::channel::<Vec<store::dispatch::Claimed>>(64);
    let t0 = Instant::now();
    let claimer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let (mut spent, mut rounds) = (Duration::ZERO, 0u32);
            loop {
                let now = Utc::now();
                let t1 = Instant::now();
                let mut t = pool.begin().await.unwrap();
                let rows = store::dispatch::claim(&mut t, "ceiling", now, now, batch as i64, chrono::Duration::seconds(60)).await.unwrap();
                t.commit().await.unwrap();
                spent += t1.elapsed();
                rounds += 1;
                if rows.is_empty() {
                    break;
                }
                tx.send(rows).await.unwrap();
            }
            println!("  claim: {rounds} transactions, {:.1} ms each on average", spent.as_secs_f64() * 1000.0 / f64::from(rounds));
        })
    };
    let mut recorded = 0;
    let (mut spent, mut rounds) = (Duration::ZERO, 0u32);
    let mut buf = Vec::new();
    while rx.recv_many(&mut buf, 8).await > 0 {
        let rows: Vec<_> = buf.drain(..).flatten().collect();
        for chunk in rows.chunks(1000) {
            let now = Utc::now();
            let outcomes: Vec<Outcome> = chunk
                .iter()
                .map(|c| {
                    Outcome::Finished(Finished {
                        record: AttemptRecord {
                            id: c.id,
                            attempt: c.attempt,
                            started_at: Some(now),
                            finished_at: now,
                            duration_ms: Some(1),
                            response_status: Some(204),
                            response_headers: Some(vec![("date".into(), "Sun, 22 Nov 2026 10:00:00 GMT".into())]),
                            response_body: None,
                            error: None,
                        },
                        status: ExecutionStatus::Success,
                        reason: None,
                    })
                })
                .collect();
            let t1 = Instant::now();
            let mut t = pool.begin().await.unwrap();
            store::dispatch::record(&mut t, "ceiling", &outcomes).await.unwrap();
            t.commit().await.unwrap();
            spent += t1.elapsed();
            rounds += 1;
            recorded += chunk.len();
        }
    }
    claimer.await.unwrap();
    println!("  record: {rounds} transactions, {:.1} ms each on average ({:.0} rows each)", spent.as_secs_f64() * 1000.0 / f64::from(rounds), recorded as f64 / f64::from(rounds));
    assert_eq!(recorded, n, "the ceiling run must process every row once");
    n as f64 / t0.elapsed().as_secs_f64()
}

async fn reset(pool: &PgPool) {
    sqlx::query(
        "UPDATE executions SET status = 'pending', attempt = 0, leased_by = NULL, lease_expires_at = NULL,
                started_at = NULL, finished_at = NULL, duration_ms = NULL, response_status = NULL,
                response_headers = NULL, response_body = NULL, error = NULL",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM usage_counters").execute(pool).await.unwrap();
    sqlx::query("VACUUM FULL executions").execute(pool).await.unwrap();
    fixture::vacuum(pool).await;
}
