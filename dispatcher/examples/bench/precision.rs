//! Fire precision: cron jobs all due at the same instant; lag from the scheduled second to each
//! request's arrival at the receiver.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, Utc};

use crate::fixture::{self, BenchDb, percentile};
use crate::receiver;

pub async fn run(server: &str, burst: usize, minute: usize) {
    let (p50, p99, max) = burst_lag(server, burst).await;
    println!("RESULT precision jobs={burst} p50_ms={p50:.0} p99_ms={p99:.0} max_ms={max:.0}");
    if minute == 0 {
        return;
    }
    let (_, _, last) = burst_lag(server, minute).await;
    println!(
        "RESULT minute jobs={minute} last_fired_after_ms={last:.0} within_the_minute={}",
        last < 60_000.0
    );
}

/// `n` `* * * * *` jobs due at the next minute boundary at least 15 s away.
async fn burst_lag(server: &str, n: usize) -> (f64, f64, f64) {
    println!("\n== precision: {n} cron jobs due at the same second");
    let db = BenchDb::create(server, "precision").await;
    let (addr, log) = receiver::start(true);
    let org = fixture::org(&db.pool).await;
    let due = next_boundary(Utc::now() + chrono::Duration::seconds(15));
    fixture::cron_jobs(&db.pool, org, &format!("http://{addr}/tick"), due, n).await;
    fixture::vacuum(&db.pool).await;
    println!("due at {due} (in {:.0} s)", (due - Utc::now()).num_milliseconds() as f64 / 1000.0);
    let d = dispatcher::Dispatcher::start(fixture::config(&db.url), Arc::new(dispatcher::SystemClock)).unwrap();
    let t0 = Instant::now();
    while log.count.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(t0.elapsed() < Duration::from_secs(600), "stalled at {}", log.count.load(Ordering::Relaxed));
    }
    d.shutdown().await;
    let mut lags: Vec<f64> = log.arrivals.lock().unwrap().iter().map(|a| (*a - due).num_microseconds().unwrap_or(0) as f64 / 1000.0).collect();
    lags.sort_by(f64::total_cmp);
    let early = lags.iter().filter(|l| **l < 0.0).count();
    println!("arrivals per second after the due instant: {:?}", arrivals_per(&lags, 1000.0, usize::MAX));
    println!("arrivals per 10 ms, first 300 ms: {:?}", arrivals_per(&lags, 10.0, 30));
    let (p50, p99, max) = (percentile(&lags, 0.5), percentile(&lags, 0.99), *lags.last().unwrap());
    println!("lag scheduled→received: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms, min {:.1} ms, early {early}", lags[0]);
    assert_eq!(early, 0, "no call may arrive before its scheduled instant");
    db.drop_db().await;
    (p50, p99, max)
}

/// How many arrivals fall in each `bucket_ms` after the due instant, for the first `buckets`.
fn arrivals_per(lags: &[f64], bucket_ms: f64, buckets: usize) -> Vec<usize> {
    let mut counts = Vec::new();
    for l in lags {
        let b = (l.max(0.0) / bucket_ms) as usize;
        if b < buckets {
            if counts.len() <= b {
                counts.resize(b + 1, 0);
            }
            counts[b] += 1;
        }
    }
    counts
}

fn next_boundary(after: DateTime<Utc>) -> DateTime<Utc> {
    after.duration_trunc(chrono::Duration::minutes(1)).unwrap() + chrono::Duration::minutes(1)
}
