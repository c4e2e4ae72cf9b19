//! Micro-benchmark of the delivery path: sign + guard + per-host permit + send + capture against
//! a local keep-alive receiver (axum, same process, same cores), at a fixed concurrency.
//!
//! Run: `cargo bench -p dispatcher --bench delivery [-- --concurrency 64 --seconds 5 --secrets 1]`
//! Prints deliveries/s and latency percentiles, then the cost of preparing one request (the part
//! done while a run waits for its instant). Sender and receiver share the machine, so the
//! figure is a lower bound for the sender alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use dispatcher::delivery::{Deliverer, DeliveryConfig, DeliveryRequest, parse_allow_list};
use domain::retry::AttemptOutcome;
use domain::signing::SigningSecret;

struct Args {
    concurrency: usize,
    seconds: u64,
    secrets: usize,
    body_bytes: usize,
}

fn args() -> Args {
    let mut args = Args {
        concurrency: 64,
        seconds: 5,
        secrets: 1,
        body_bytes: 256,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .and_then(|v| v.parse().ok())
                .expect("a number after the flag")
        };
        match flag.as_str() {
            "--concurrency" => args.concurrency = value(),
            "--seconds" => args.seconds = value() as u64,
            "--secrets" => args.secrets = value(),
            "--body-bytes" => args.body_bytes = value(),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// The same allocator as the dispatcher binary, so the figure is the production path's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(args));
}

/// The one signed POST every measurement sends (or prepares).
fn bench_request<'a>(
    url: &'a str,
    headers: &'a [(String, String)],
    body: &'a str,
    secrets: &'a [SigningSecret],
) -> DeliveryRequest<'a> {
    DeliveryRequest {
        message_id: "msg_0123456789abcdef0123456789abcdef",
        method: "POST",
        url,
        headers,
        body: Some(body),
        timeout: Duration::from_secs(10),
        secrets,
        timestamp: 1_700_000_000,
    }
}

async fn run(args: Args) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/bench", listener.local_addr().unwrap());
    let app = Router::new().fallback(|| async { r#"{"ok":true}"# });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let deliverer = Deliverer::new(DeliveryConfig {
        allow_targets: parse_allow_list("127.0.0.0/8").unwrap(),
        per_host_concurrency: args.concurrency,
        pool_idle_per_host: args.concurrency,
        ..DeliveryConfig::default()
    })
    .unwrap();
    let secrets: Arc<[SigningSecret]> = (0..args.secrets)
        .map(|i| SigningSecret::generate([i as u8 + 1; 32]))
        .collect();
    let body: Arc<str> = format!(
        r#"{{"event":"tick","pad":"{}"}}"#,
        "x".repeat(args.body_bytes)
    )
    .into();
    let headers: Arc<[(String, String)]> = vec![
        ("Authorization".to_owned(), "Bearer bench-token".to_owned()),
        ("X-Job".to_owned(), "nightly".to_owned()),
    ]
    .into();

    let measure = |seconds: u64| {
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..args.concurrency)
            .map(|_| {
                let (deliverer, secrets, body, headers, url, stop) = (
                    deliverer.clone(),
                    secrets.clone(),
                    body.clone(),
                    headers.clone(),
                    url.clone(),
                    stop.clone(),
                );
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(64 * 1024);
                    while !stop.load(Ordering::Relaxed) {
                        let request = bench_request(&url, &headers, &body, &secrets);
                        let delivery = deliverer.deliver(&request).await;
                        assert_eq!(
                            delivery.outcome,
                            AttemptOutcome::Success { status: 200 },
                            "{:?}",
                            delivery.error
                        );
                        latencies.push(delivery.duration);
                    }
                    latencies
                })
            })
            .collect();
        async move {
            let started = Instant::now();
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            stop.store(true, Ordering::Relaxed);
            let mut all = Vec::new();
            for w in workers {
                all.extend(w.await.unwrap());
            }
            (all, started.elapsed())
        }
    };

    // Warm up: open the pool's connections and fault in the code paths.
    let _ = measure(1).await;
    let (mut latencies, elapsed) = measure(args.seconds).await;
    latencies.sort();
    let n = latencies.len();
    let pct = |p: f64| latencies[((n as f64 * p) as usize).min(n - 1)];
    println!(
        "delivery bench: concurrency {}, {} secret(s), {} B body, {:.1} s",
        args.concurrency,
        args.secrets,
        body.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "{n} deliveries, {:.0} deliveries/s; latency p50 {:?}, p99 {:?}, max {:?}",
        n as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        latencies[n - 1]
    );

    // The part of each delivery the dispatcher does while a run waits for its instant.
    let request = bench_request(&url, &headers, &body, &secrets);
    let rounds = 200_000u32;
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(deliverer.prepare(std::hint::black_box(&request)));
    }
    println!(
        "prepare (check, build, sign; done ahead of the instant): {:.2} µs per request",
        started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
    );
}
