//! Memory: the process's peak resident set while 10,000 queued calls due at the same second are
//! claimed, held and delivered, with small bodies and with 256 KiB bodies. The peak is reset
//! (`/proc/self/clear_refs`) after the fixture is written, so it is the dispatcher's (and the
//! in-process receiver's, which reads and drops each body).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::fixture::{self, BenchDb};
use crate::receiver;

pub async fn run(server: &str, n: usize) {
    for body_bytes in [20, 256 * 1024] {
        let peak_mb = peak(server, n, body_bytes).await;
        println!("RESULT memory runs={n} body_bytes={body_bytes} peak_rss_mb={peak_mb:.0}");
    }
}

async fn peak(server: &str, n: usize, body_bytes: usize) -> f64 {
    println!("\n== memory: {n} calls due at one second, {body_bytes}-byte bodies");
    let db = BenchDb::create(server, "memory").await;
    let (addr, log) = receiver::start(false);
    let org = fixture::org(&db.pool).await;
    let due = Utc::now() + chrono::Duration::seconds(10);
    fixture::executions(&db.pool, org, &format!("http://{addr}/m"), due, n).await;
    if body_bytes > 20 {
        sqlx::query("UPDATE executions SET body = '{\"pad\":\"' || repeat('x', $1) || '\"}'")
            .bind(body_bytes as i32 - 10)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    fixture::vacuum(&db.pool).await;
    std::fs::write("/proc/self/clear_refs", "5").expect("the peak RSS can be reset (Linux)");
    let d = dispatcher::Dispatcher::start(fixture::config(&db.url), Arc::new(dispatcher::SystemClock)).unwrap();
    let t0 = Instant::now();
    while log.count.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(t0.elapsed() < Duration::from_secs(600), "stalled at {}", log.count.load(Ordering::Relaxed));
    }
    let peak_kb: f64 = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    d.shutdown().await;
    db.drop_db().await;
    peak_kb / 1024.0
}
