//! A closed-loop load generator for the API benchmark (`scripts/bench-api.sh`): N clients, each
//! sending its next request as soon as the previous answer arrives, for a warm-up and then a
//! measured period; prints one JSON line with throughput and latency percentiles.
//!
//! cargo run --release -p api-fn --example load_api -- \
//!     --url http://127.0.0.1:8080 --key pk_live_….sk_live_… --scenario create --clients 100 --secs 15

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

#[derive(Debug, Clone)]
struct Options {
    url: String,
    key: String,
    scenario: String,
    clients: usize,
    secs: u64,
    warmup_secs: u64,
}

fn options() -> Result<Options, String> {
    let mut o = Options { url: String::new(), key: String::new(), scenario: "create".into(), clients: 100, secs: 15, warmup_secs: 3 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?.clone();
        match flag.as_str() {
            "--url" => o.url = v,
            "--key" => o.key = v,
            "--scenario" => o.scenario = v,
            "--clients" => o.clients = v.parse().map_err(|_| "--clients is a number")?,
            "--secs" => o.secs = v.parse().map_err(|_| "--secs is a number")?,
            "--warmup-secs" => o.warmup_secs = v.parse().map_err(|_| "--warmup-secs is a number")?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if o.url.is_empty() || o.key.is_empty() || !["create", "list"].contains(&o.scenario.as_str()) {
        return Err("usage: load_api --url URL --key KEY --scenario create|list [--clients N] [--secs S] [--warmup-secs S]".into());
    }
    Ok(o)
}

/// What one client measured after the warm-up.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
}

/// One client: its own HTTP/1.1 keep-alive connection (a lean hyper client, so the generator
/// takes as little of the machine's CPU as it can).
async fn client(o: Arc<Options>, n: usize, measuring: Arc<AtomicBool>, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    let authority = o.url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let stream = tokio::net::TcpStream::connect(&authority).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(conn);
    let auth = format!("Bearer {}", o.key);
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let builder = Request::builder().header("host", &authority).header("authorization", &auth);
        let (req, expected) = match o.scenario.as_str() {
            "create" => {
                let body = format!(
                    r#"{{"name":"bench {n}-{i}","url":"https://example.com/hook/{n}/{i}","schedule":{{"kind":"cron","expr":"{} * * * *"}}}}"#,
                    i % 60
                );
                let req = builder.method("POST").uri("/api/v1/jobs").header("content-type", "application/json").body(Full::new(Bytes::from(body)));
                (req, 201)
            }
            _ => (builder.method("GET").uri("/api/v1/jobs?limit=20").body(Full::new(Bytes::new())), 200),
        };
        let req = req.expect("a request");
        let started = Instant::now();
        let ok = match sender.send_request(req).await {
            Ok(res) => {
                let status = res.status().as_u16();
                res.into_body().collect().await.is_ok() && status == expected
            }
            Err(_) => false,
        };
        if measuring.load(Ordering::Relaxed) {
            tally.latencies_us.push(started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            if !ok {
                tally.errors += 1;
            }
        }
        if !ok && sender.ready().await.is_err() {
            break;
        }
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

#[tokio::main]
async fn main() {
    let o = match options() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..o.clients).map(|n| tokio::spawn(client(o.clone(), n, measuring.clone(), stop.clone()))).collect();
    tokio::time::sleep(Duration::from_secs(o.warmup_secs)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(o.secs)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let tally = t.await.expect("a client task");
        all.extend(tally.latencies_us);
        errors += tally.errors;
    }
    all.sort_unstable();
    println!(
        "{{\"scenario\":\"{}\",\"clients\":{},\"requests\":{},\"errors\":{},\"rps\":{:.0},\"p50_ms\":{:.2},\"p90_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2}}}",
        o.scenario,
        o.clients,
        all.len(),
        errors,
        all.len() as f64 / elapsed,
        percentile(&all, 50.0),
        percentile(&all, 90.0),
        percentile(&all, 99.0),
        percentile(&all, 100.0)
    );
}
