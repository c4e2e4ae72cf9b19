//! The dashboard's benchmark (`scripts/bench-dashboard.sh`): a fresh database (dropped at the
//! end) with one Pro organization holding 1,000 jobs and 100,000 executions (all of them one
//! job's history, 10 % failed, spread over 30 days), the real router served on loopback, and one
//! signed-in client loading each dashboard page in turn: latency per page (p50 / p99 / max over
//! `--rounds`, after a warm-up; one client, so this is the server's time plus loopback) and each
//! page's weight gzipped, with the stylesheet and the script. Prints one JSON line per page.
//!
//! cargo run --release -p api-fn --example bench_dashboard -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/postgres --rounds 300

use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

#[path = "support/web_client.rs"]
mod web_client;
use web_client::{gzip_len, percentiles};

/// One request to the bench host.
async fn send(s: &mut SendRequest<Full<Bytes>>, method: &str, path: &str, cookie: &str, form: Option<String>) -> (u16, Vec<String>, Vec<u8>) {
    web_client::send(s, "bench", method, path, cookie, form).await
}

const PASSWORD: &str = "correct horse battery";

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}



/// The organization, its owner, 1,000 jobs and 100,000 executions of the first job; returns the
/// big job's id and one execution's.
async fn seed(pool: &sqlx::PgPool) -> (uuid::Uuid, uuid::Uuid) {
    let hash = api_fn::app::password::hash(PASSWORD.into()).await;
    let org = store::organizations::insert(pool, "Bench", "bench-dashboard", domain::tier::Tier::Pro).await.unwrap();
    let key = store::keyring::Keyring::development().org_key(pool, org.id).await.unwrap();
    store::signing_secrets::insert(pool, org.id, &key, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").await.unwrap();
    let user = store::users::insert(pool, "owner@bench.example", None, Some(&hash)).await.unwrap();
    store::users::signed_in(pool, user.id, chrono::Utc::now()).await.unwrap();
    store::users::upsert_membership(pool, org.id, user.id, domain::account::Role::Owner).await.unwrap();
    let mut first = None;
    for i in 0..1000 {
        let draft: domain::job::JobDraft = serde_json::from_value(serde_json::json!({
            "name": format!("job {i}"), "url": format!("https://example.com/hook/{i}"),
            "headers": [{"name": "Authorization", "value": "Bearer 0123456789abcdef0123"}],
            "schedule": {"kind": "cron", "expr": format!("{} * * * *", i % 60), "timezone": "Europe/Oslo"}
        }))
        .unwrap();
        let spec = domain::job::restore(&draft).unwrap();
        let job = store::jobs::insert(pool, org.id, uuid::Uuid::now_v7(), &spec, spec.schedule.next_after(chrono::Utc::now())).await.unwrap();
        first.get_or_insert(job.id);
    }
    let job = first.unwrap();
    sqlx::query(
        "INSERT INTO executions (id, org_id, job_id, source, scheduled_for, run_at, status, priority, attempt, max_attempts, retry_base_delay_secs,
                                 retry_max_delay_secs, message_id, method, url, headers, timeout_secs, started_at, finished_at, duration_ms,
                                 response_status, response_headers, response_body, error)
         SELECT u, $1, $2, 'schedule', t, t, CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'success' END, 140, 1, 1, 10, 10, u, 'POST',
                'https://example.com/hook/0', '[[\"Authorization\", \"Bearer 0123456789abcdef0123\"]]', 30, t, t + interval '80 ms', 80,
                CASE WHEN i % 10 = 0 THEN 500 ELSE 200 END, '[[\"Content-Type\", \"application/json\"]]', '{\"ok\":true}',
                CASE WHEN i % 10 = 0 THEN 'HTTP 500' END
           FROM (SELECT i, gen_random_uuid() AS u, now() - i * interval '26 seconds' AS t FROM generate_series(1, 100000) i) s",
    )
    .bind(org.id)
    .bind(job)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    let one: uuid::Uuid = sqlx::query_scalar("SELECT id FROM executions ORDER BY scheduled_for DESC LIMIT 1").fetch_one(pool).await.unwrap();
    (job, one)
}

#[tokio::main]
async fn main() {
    let server = arg("--database-url").expect("--database-url");
    let rounds: usize = arg("--rounds").and_then(|v| v.parse().ok()).unwrap_or(300);
    let db = format!("bench_dashboard_{}", std::process::id());
    let admin = sqlx::PgPool::connect(&server).await.expect("the database server");
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(&admin).await.unwrap();
    let url = format!("{}/{db}", server.rsplit_once('/').unwrap().0);
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(10).connect(&url).await.unwrap();
    store::MIGRATOR.run(&pool).await.unwrap();
    let t = Instant::now();
    let (job, execution) = seed(&pool).await;
    println!(r#"{{"measure":"seed","jobs":1000,"executions":100000,"secs":{:.1}}}"#, t.elapsed().as_secs_f64());

    let vars = [("DATABASE_URL", url.clone()), ("PRIKKE_ENV", "test".to_owned()), ("PRIKKE_PUBLIC_URL", "https://prikke.example".to_owned()), ("PRIKKE_LOGIN_RATE_PER_MINUTE", "0".to_owned())];
    let config = api_fn::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let app = api_fn::router(api_fn::AppState::new(pool.clone(), config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);

    let (_, cookies, page) = send(&mut s, "GET", "/app/login", "", None).await;
    let html = String::from_utf8_lossy(&page);
    let at = html.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
    let form = format!("csrf={}&email=owner%40bench.example&password={}", &html[at..at + 64], PASSWORD.replace(' ', "+"));
    let (status, cookies, _) = send(&mut s, "POST", "/app/login", &cookies.join("; "), Some(form)).await;
    assert_eq!(status, 303, "signed in");
    let cookie = cookies.into_iter().find(|c| c.starts_with("prikke_session=")).unwrap();

    let (_, _, css) = send(&mut s, "GET", "/app/static/app.css", "", None).await;
    let (_, _, js) = send(&mut s, "GET", "/app/static/app.js", "", None).await;
    let assets_gz = gzip_len(&css) + gzip_len(&js);
    let (_, _, first) = send(&mut s, "GET", "/app/executions", &cookie, None).await;
    let first = String::from_utf8_lossy(&first);
    let at = first.find("/app/executions?cursor=").expect("a second page");
    let second: String = first[at..].chars().take_while(|c| *c != '"').collect();
    let pages = [
        "/app".to_owned(),
        "/app/jobs".to_owned(),
        "/app/jobs?q=job+99".to_owned(),
        format!("/app/jobs/{job}"),
        "/app/executions".to_owned(),
        second.replace("&amp;", "&"),
        "/app/executions?status=failed,timeout".to_owned(),
        format!("/app/executions/{execution}"),
        "/app/jobs/new".to_owned(),
        "/app/monitors".to_owned(),
    ];
    for path in &pages {
        let mut ms = Vec::with_capacity(rounds);
        let mut weight = 0;
        for i in 0..rounds + 20 {
            let t = Instant::now();
            let (status, _, html) = send(&mut s, "GET", path, &cookie, None).await;
            let took = t.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(status, 200, "{path}");
            if i >= 20 {
                ms.push(took);
            }
            weight = html.len();
            if i == 0 {
                let gz = gzip_len(&html);
                println!(r#"{{"measure":"weight","path":"{path}","html_bytes":{weight},"html_gzip":{gz},"with_css_js_gzip":{}}}"#, gz + assets_gz);
            }
        }
        let (p50, p99, max) = percentiles(ms);
        println!(r#"{{"measure":"page","path":"{path}","rounds":{rounds},"p50_ms":{p50:.2},"p99_ms":{p99:.2},"max_ms":{max:.2},"html_bytes":{weight}}}"#);
    }
    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {db}")).execute(&admin).await.unwrap();
}
