//! Dispatcher benchmarks (not tests): `scripts/bench-dispatcher.sh [throughput|precision|scale|alerts|all]`
//! or `cargo run --release -p dispatcher --example bench -- <which>` with DATABASE_URL pointing at
//! a Postgres server (a fresh database is created and dropped for each benchmark).
//!
//! - throughput: N due executions (default 100,000), receiver on 127.0.0.1, every call signed and
//!   recorded: deliveries/s, next to the claim+record SQL ceiling measured in the same run;
//! - precision: 10,000 cron jobs due at the same second (lag p50/p99 from scheduled_for to the
//!   request's arrival), then 100,000 due at the same minute (all fired within it?; BENCH_MINUTE=0
//!   skips this part);
//! - scale: the scheduler's tick cost with 10,000 vs 1,000,000 enabled jobs, 1,000 due each time;
//! - alerts: final failure → alert received at a webhook (p50/p99) for 1,000 failures at once,
//!   and a 10,000-delivery burst without and with those 1,000 alerts at the same instant
//!   (BENCH_ALERTS, BENCH_BURST, BENCH_ROUNDS);
//! - memory: peak RSS while BENCH_BURST (10,000) queued calls due at one second are delivered,
//!   with small bodies and with 256 KiB bodies.

mod alerts;
mod fixture;
mod memory;
mod precision;
mod receiver;
mod scale;
mod throughput;

/// glibc malloc was a fifth of the delivery path's CPU (many small, short-lived allocations
/// across threads); mimalloc handles that pattern with far less contention.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "all".to_owned());
    let server = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let n = |var: &str, default: usize| std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    println!("machine: {} cores, {}", std::thread::available_parallelism().map_or(0, |n| n.get()), fixture::cpu_model());
    println!("date: {}", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"));
    match which.as_str() {
        "throughput" => throughput::run(&server, n("BENCH_N", 100_000)).await,
        "precision" => precision::run(&server, n("BENCH_BURST", 10_000), n("BENCH_MINUTE", 100_000)).await,
        "scale" => scale::run(&server).await,
        "alerts" => alerts::run(&server, n("BENCH_ALERTS", 1_000), n("BENCH_BURST", 10_000), n("BENCH_ROUNDS", 2)).await,
        "memory" => memory::run(&server, n("BENCH_BURST", 10_000)).await,
        "all" => {
            throughput::run(&server, n("BENCH_N", 100_000)).await;
            precision::run(&server, n("BENCH_BURST", 10_000), n("BENCH_MINUTE", 100_000)).await;
            scale::run(&server).await;
            alerts::run(&server, n("BENCH_ALERTS", 1_000), n("BENCH_BURST", 10_000), n("BENCH_ROUNDS", 2)).await;
        }
        other => {
            eprintln!("unknown benchmark {other:?}: throughput | precision | scale | alerts | memory | all");
            std::process::exit(2);
        }
    }
}
