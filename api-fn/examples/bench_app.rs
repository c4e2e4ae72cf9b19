//! The web app's benchmark (`scripts/bench-app.sh`), against a running api-fn on its own
//! database: what one argon2id hash costs; N people signing in at once (each: load the sign-in
//! page for its form token, post the password); the same N sessions loading the jobs page (20
//! jobs) and the members page in a closed loop; and what each page weighs gzipped, with the
//! stylesheet. Prints one JSON line per measurement.
//!
//! cargo run --release -p api-fn --example bench_app -- --url http://127.0.0.1:8080 \
//!     --database-url postgres://…/db --clients 100 --secs 15

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

#[path = "support/web_client.rs"]
mod web_client;
use web_client::{gzip_len, percentiles, send};

const PASSWORD: &str = "correct horse battery";

struct Options {
    url: String,
    database_url: String,
    clients: usize,
    secs: u64,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    Options {
        url: get("--url").expect("--url"),
        database_url: get("--database-url").expect("--database-url"),
        clients: get("--clients").and_then(|v| v.parse().ok()).unwrap_or(100),
        secs: get("--secs").and_then(|v| v.parse().ok()).unwrap_or(15),
    }
}

async fn connect(url: &str) -> SendRequest<Full<Bytes>> {
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let stream = tokio::net::TcpStream::connect(authority).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
    tokio::spawn(conn);
    sender
}


fn csrf_of(html: &[u8]) -> String {
    let html = String::from_utf8_lossy(html);
    let at = html.find(r#"name="csrf" value=""#).expect("a form token") + r#"name="csrf" value=""#.len();
    html[at..at + 64].to_owned()
}


/// Makes `n` confirmed users in one organization (the first its owner) with 20 jobs.
async fn people(database_url: &str, n: usize) {
    let pool = sqlx::PgPool::connect(database_url).await.expect("the database");
    let hash = api_fn::app::password::hash(PASSWORD.into()).await;
    let org = store::organizations::insert(&pool, "Bench", &format!("bench-app-{}", std::process::id()), domain::tier::Tier::Pro).await.unwrap();
    let key = store::keyring::Keyring::development().org_key(&pool, org.id).await.unwrap();
    store::signing_secrets::insert(&pool, org.id, &key, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").await.unwrap();
    for i in 0..n {
        let user = store::users::insert(&pool, &format!("user{i}@bench.example"), None, Some(&hash)).await.unwrap();
        store::users::signed_in(&pool, user.id, chrono::Utc::now()).await.unwrap();
        let role = if i == 0 { domain::account::Role::Owner } else { domain::account::Role::Admin };
        store::users::upsert_membership(&pool, org.id, user.id, role).await.unwrap();
    }
    for i in 0..20 {
        let draft: domain::job::JobDraft = serde_json::from_value(serde_json::json!({
            "name": format!("job {i}"), "url": "https://example.com/hook", "schedule": {"kind": "cron", "expr": format!("{} 3 * * *", i)}
        }))
        .unwrap();
        let spec = domain::job::restore(&draft).unwrap();
        store::jobs::insert(&pool, org.id, uuid::Uuid::now_v7(), &spec, spec.schedule.next_after(chrono::Utc::now())).await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let o = Arc::new(options());
    let host = o.url.trim_start_matches("http://").trim_end_matches('/').to_owned();

    // one argon2id hash, alone on the machine
    let mut costs = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        api_fn::app::password::hash(PASSWORD.into()).await;
        costs.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99, _) = percentiles(costs);
    println!(r#"{{"measure":"argon2id_hash","params":"m=19456,t=2,p=1","p50_ms":{p50:.1},"max_ms":{p99:.1}}}"#);

    people(&o.database_url, o.clients).await;

    // everyone signs in at once
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..o.clients {
        let (o, host) = (o.clone(), host.clone());
        logins.spawn(async move {
            let mut s = connect(&o.url).await;
            let (_, cookies, page) = send(&mut s, &host, "GET", "/app/login", "", None).await;
            let csrf = csrf_of(&page);
            let form = format!("csrf={csrf}&email=user{i}%40bench.example&password={}", PASSWORD.replace(' ', "+"));
            let t = Instant::now();
            let (status, cookies, _) = send(&mut s, &host, "POST", "/app/login", &cookies.join("; "), Some(form)).await;
            assert_eq!(status, 303, "user {i} signs in");
            let session = cookies.into_iter().find(|c| c.starts_with("prikke_session=")).expect("a session");
            (t.elapsed().as_secs_f64() * 1000.0, s, session)
        });
    }
    let mut login_ms = Vec::new();
    let mut sessions = Vec::new();
    while let Some(done) = logins.join_next().await {
        let (ms, s, cookie) = done.unwrap();
        login_ms.push(ms);
        sessions.push((s, cookie));
    }
    let (p50, p99, max) = percentiles(login_ms);
    println!(r#"{{"measure":"sign_in","clients":{},"p50_ms":{p50:.1},"p99_ms":{p99:.1},"max_ms":{max:.1}}}"#, o.clients);

    // every session loads pages in a closed loop
    for path in ["/app", "/app/members"] {
        let measuring = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let mut clients = tokio::task::JoinSet::new();
        for (mut s, cookie) in std::mem::take(&mut sessions) {
            let (host, measuring, stop) = (host.clone(), measuring.clone(), stop.clone());
            clients.spawn(async move {
                let mut ms = Vec::new();
                let mut errors = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let (status, _, _) = send(&mut s, &host, "GET", path, &cookie, None).await;
                    if measuring.load(Ordering::Relaxed) {
                        ms.push(t.elapsed().as_secs_f64() * 1000.0);
                        errors += u64::from(status != 200);
                    }
                }
                (ms, errors, s, cookie)
            });
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        measuring.store(true, Ordering::Relaxed);
        let t = Instant::now();
        tokio::time::sleep(Duration::from_secs(o.secs)).await;
        measuring.store(false, Ordering::Relaxed);
        let elapsed = t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        let mut errors = 0;
        while let Some(done) = clients.join_next().await {
            let (ms, e, s, cookie) = done.unwrap();
            all.extend(ms);
            errors += e;
            sessions.push((s, cookie));
        }
        let rps = all.len() as f64 / elapsed;
        let (p50, p99, max) = percentiles(all);
        println!(r#"{{"measure":"page","path":"{path}","clients":{},"rps":{rps:.0},"p50_ms":{p50:.1},"p99_ms":{p99:.1},"max_ms":{max:.1},"errors":{errors}}}"#, o.clients);
    }

    // what the pages weigh
    let (s, cookie) = sessions.first_mut().unwrap();
    let (_, _, css) = send(s, &host, "GET", "/app/static/app.css", "", None).await;
    let css_gz = gzip_len(&css);
    for (path, signed_in) in [("/app/login", false), ("/app/signup", false), ("/app", true), ("/app/keys", true), ("/app/members", true), ("/app/audit", true), ("/app/settings", true)] {
        let (status, _, html) = send(s, &host, "GET", path, if signed_in { cookie } else { "" }, None).await;
        assert_eq!(status, 200, "{path}");
        let html_gz = gzip_len(&html);
        println!(
            r#"{{"measure":"weight","path":"{path}","html_bytes":{},"html_gzip":{html_gz},"css_gzip":{css_gz},"total_gzip":{},"js_bytes":0}}"#,
            html.len(),
            html_gz + css_gz
        );
    }
}
