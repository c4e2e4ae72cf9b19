//! Memory: the dispatcher's peak resident set (VmHWM of the release `dispatcher` binary, run in
//! its own process as deployed) while 10,000 queued calls due at the same second are claimed,
//! held and delivered, with small bodies and with 256 KiB bodies. The fixture and the receiver
//! live in this process, so they do not count.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::fixture::{self, BenchDb};
use crate::receiver;

pub async fn run(server: &str, n: usize) {
    for body_bytes in [20, 256 * 1024] {
        let (peak_mb, early_mb) = peak(server, n, body_bytes).await;
        println!("RESULT memory runs={n} body_bytes={body_bytes} dispatcher_peak_rss_mb={peak_mb:.0} idle_rss_mb={early_mb:.0}");
    }
}

async fn peak(server: &str, n: usize, body_bytes: usize) -> (f64, f64) {
    println!("\n== memory: {n} calls due at one second, {body_bytes}-byte bodies");
    let db = BenchDb::create(server, "memory").await;
    let (addr, log) = receiver::start(false);
    let org = fixture::org(&db.pool).await;
    fixture::executions(&db.pool, org, &format!("http://{addr}/m"), Utc::now() + chrono::Duration::hours(1), n).await;
    if body_bytes > 20 {
        sqlx::query("UPDATE executions SET body = '{\"pad\":\"' || repeat('x', $1) || '\"}'")
            .bind(body_bytes as i32 - 10)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    // due 5 s after the dispatcher starts, however long writing the bodies took
    sqlx::query("UPDATE executions SET run_at = $1, scheduled_for = $1")
        .bind(Utc::now() + chrono::Duration::seconds(5))
        .execute(&db.pool)
        .await
        .unwrap();
    fixture::vacuum(&db.pool).await;
    // The real dispatcher binary, as deployed (the release build beside this example), in its
    // own process: its peak is the dispatcher's alone, not this process's fixture and receiver.
    let binary = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("dispatcher");
    let mut child = std::process::Command::new(&binary)
        .env_clear()
        .env("DATABASE_URL", &db.url)
        .env("PRIKKE_ENV", "development")
        .env("PRIKKE_INSTANCE_ID", "bench")
        .env("PRIKKE_DISPATCHER_BIND", "127.0.0.1:0")
        .env("PRIKKE_ALLOW_PRIVATE_TARGETS", "127.0.0.0/8")
        .env("RUST_LOG", "warn")
        .envs(std::env::var("BENCH_PREFETCH_MAX").ok().map(|v| ("PRIKKE_PREFETCH_MAX", v)))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{} (build it with cargo build --release -p dispatcher): {e}", binary.display()));
    let status = format!("/proc/{}/status", child.id());
    let kb = |field: &str| -> f64 {
        std::fs::read_to_string(&status)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0)
    };
    let t0 = Instant::now();
    // idle: started and connected, nothing due within its prefetch horizon (1 s) yet
    let mut idle_kb = 0.0;
    while log.count.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if idle_kb == 0.0 && t0.elapsed() >= Duration::from_millis(2500) {
            idle_kb = kb("VmRSS:");
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "stalled at {}", log.count.load(Ordering::Relaxed));
        assert!(child.try_wait().unwrap().is_none(), "the dispatcher exited");
    }
    let peak_kb = kb("VmHWM:");
    // SIGTERM: the dispatcher drains and exits
    let _ = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    db.drop_db().await;
    (peak_kb / 1024.0, idle_kb / 1024.0)
}
