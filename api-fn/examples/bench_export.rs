//! The export's benchmark (`scripts/bench-export.sh`): an organization with N executions (default
//! 1,000,000, a tenth of them failed with an earlier attempt each), exported through a running
//! release `api-fn serve` over loopback, while the server's memory is read from /proc: its peak
//! resident size (VmHWM) before and after the export, and the largest resident size seen during
//! it. Prints one JSON line per measurement and a RESULT line.
//!
//! Two steps, so the server starts on a database already filled (its memory before the export is
//! its own):
//!   bench_export seed --database-url postgres://…/db [--executions 1000000]
//!   bench_export export --url http://127.0.0.1:PORT --key pk_live_….sk_live_… --pid SERVER_PID

use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// A field of /proc/<pid>/status in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's /proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.trim_start_matches(':').split_whitespace().next()).and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

async fn seed(url: &str, executions: i64) {
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(url).await.expect("the database");
    let org: uuid::Uuid = sqlx::query_scalar("SELECT id FROM organizations ORDER BY created_at LIMIT 1").fetch_one(&pool).await.expect("an organization (create-org)");
    let draft: domain::job::JobDraft = serde_json::from_value(serde_json::json!({
        "name": "nightly report", "url": "https://example.com/hook",
        "headers": [{"name": "Authorization", "value": "Bearer 0123456789abcdef0123"}],
        "schedule": {"kind": "cron", "expr": "* * * * *"}
    }))
    .unwrap();
    let spec = domain::job::restore(&draft).unwrap();
    let job = store::jobs::insert(&pool, org, uuid::Uuid::now_v7(), &spec, spec.schedule.next_after(chrono::Utc::now())).await.unwrap();
    let t = Instant::now();
    // in slices of 100,000 rows, so no single statement holds a huge transaction
    let slice = 100_000i64;
    let mut done = 0i64;
    while done < executions {
        let n = slice.min(executions - done);
        sqlx::query(
            "INSERT INTO executions (id, org_id, job_id, source, scheduled_for, run_at, status, priority, attempt, max_attempts, retry_base_delay_secs,
                                     retry_max_delay_secs, message_id, method, url, headers, body, timeout_secs, started_at, finished_at, duration_ms,
                                     response_status, response_headers, response_body, error)
             SELECT u, $1, $2, 'schedule', t, t, CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'success' END, 140, CASE WHEN i % 10 = 0 THEN 2 ELSE 1 END, 2, 10, 10, u, 'POST',
                    'https://example.com/hook', '[[\"Authorization\", \"Bearer 0123456789abcdef0123\"], [\"Content-Type\", \"application/json\"]]',
                    '{\"report\":\"nightly\",\"run\":' || i || '}', 30, t, t + interval '80 ms', 80,
                    CASE WHEN i % 10 = 0 THEN 500 ELSE 200 END, '[[\"Content-Type\", \"application/json\"]]', '{\"ok\":true,\"rows\":1234}',
                    CASE WHEN i % 10 = 0 THEN 'HTTP 500' END
               FROM (SELECT i, gen_random_uuid() AS u, now() - i * interval '1 minute' AS t FROM generate_series($3::bigint + 1, $3::bigint + $4::bigint) i) s",
        )
        .bind(org)
        .bind(job.id)
        .bind(done)
        .bind(n)
        .execute(&pool)
        .await
        .unwrap();
        done += n;
    }
    let attempts = sqlx::query(
        "INSERT INTO execution_attempts (execution_id, attempt, status, started_at, finished_at, duration_ms, response_status, error)
         SELECT id, 1, 'failed', started_at - interval '10 s', started_at - interval '10 s' + interval '50 ms', 50, 503, 'HTTP 503'
           FROM executions WHERE org_id = $1 AND status = 'failed'",
    )
    .bind(org)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    sqlx::query("VACUUM ANALYZE executions").execute(&pool).await.unwrap();
    sqlx::query("VACUUM ANALYZE execution_attempts").execute(&pool).await.unwrap();
    let size: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('executions')").fetch_one(&pool).await.unwrap();
    println!(r#"{{"measure":"seed","executions":{executions},"attempts":{attempts},"executions_table_mb":{},"secs":{:.1}}}"#, size >> 20, t.elapsed().as_secs_f64());
}

async fn export(url: &str, key: &str, pid: u32) {
    let hwm_before = status_kb(pid, "VmHWM");
    let rss_before = status_kb(pid, "VmRSS");
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut max_rss = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                max_rss = max_rss.max(status_kb(pid, "VmRSS"));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            max_rss
        })
    };
    // reqwest is built without a TLS provider of its own (plain http here, but it asks for one)
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let t = Instant::now();
    let mut res = client.get(format!("{url}/api/v1/export")).bearer_auth(key).send().await.expect("the export request");
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let first_byte = t.elapsed();
    let (mut bytes, mut lines, mut executions) = (0u64, 0u64, 0u64);
    let mut last_line = Vec::new();
    let mut line = Vec::new();
    while let Some(chunk) = res.chunk().await.expect("the body") {
        bytes += chunk.len() as u64;
        for &b in chunk.iter() {
            if b == b'\n' {
                lines += 1;
                if line.starts_with(br#"{"type":"execution""#) {
                    executions += 1;
                }
                last_line = std::mem::take(&mut line);
            } else if line.len() < 64 {
                line.push(b);
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let max_rss = sampler.await.unwrap();
    let hwm_after = status_kb(pid, "VmHWM");
    let trailer: serde_json::Value = serde_json::from_slice(&last_line).expect("the last line is JSON");
    assert_eq!(trailer["type"], "end", "the export is complete");
    assert_eq!(trailer["records"].as_u64(), Some(lines - 2), "the trailer counts the records");
    println!(
        r#"{{"measure":"export","executions":{executions},"lines":{lines},"bytes":{bytes},"secs":{secs:.1},"first_byte_ms":{},"mb_per_sec":{:.1},"rss_before_kb":{rss_before},"hwm_before_kb":{hwm_before},"max_rss_during_kb":{max_rss},"hwm_after_kb":{hwm_after}}}"#,
        first_byte.as_millis(),
        bytes as f64 / secs / 1e6
    );
    println!(
        "RESULT export: {executions} executions, {lines} lines, {:.1} MB in {secs:.1} s ({:.1} MB/s); server peak RSS (VmHWM) {:.1} MB after (was {:.1} MB before the export; largest RSS seen during it {:.1} MB)",
        bytes as f64 / 1e6,
        bytes as f64 / secs / 1e6,
        hwm_after as f64 / 1024.0,
        hwm_before as f64 / 1024.0,
        max_rss as f64 / 1024.0
    );
}

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("seed") => seed(&arg("--database-url").expect("--database-url"), arg("--executions").and_then(|v| v.parse().ok()).unwrap_or(1_000_000)).await,
        Some("export") => export(&arg("--url").expect("--url"), &arg("--key").expect("--key"), arg("--pid").and_then(|v| v.parse().ok()).expect("--pid")).await,
        _ => panic!("usage: bench_export seed --database-url URL [--executions N] | export --url URL --key KEY --pid PID"),
    }
}
