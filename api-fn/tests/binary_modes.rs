//! The real `api-fn` binary in both of its modes, driven through the same request sequence
//! (create a job → trigger it → read its executions):
//! - as a local HTTP server (port 0, address read from its first stdout line);
//! - under the Lambda runtime, against a small Lambda Runtime API emulator that hands it API
//!   Gateway v2 and function-URL events and collects its responses.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::tier::Tier;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc, oneshot};

/// The per-test database's URL (the binary connects on its own).
fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = pool.connect_options().get_database().unwrap().to_owned();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{db}")
}

fn binary(pool: &PgPool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_api-fn"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url(pool))
        .env("PRIKKE_ENV", "test")
        .env("PRIKKE_MIGRATE", "false")
        .env("PRIKKE_DB_MAX_CONNECTIONS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    cmd
}

/// One request of the sequence.
struct Call {
    method: &'static str,
    path: String,
    body: Option<Value>,
}

/// Create a job → trigger → read the job's executions and the execution, through `send`.
async fn run_sequence<F, Fut>(send: F)
where
    F: Fn(Call) -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    let job = json!({"name": "binary check", "url": "https://example.com/hook", "schedule": {"kind": "cron", "expr": "@daily"}});
    let (status, created) = send(Call { method: "POST", path: "/api/v1/jobs".into(), body: Some(job) }).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, exec) = send(Call { method: "POST", path: format!("/api/v1/jobs/{id}/trigger"), body: None }).await;
    assert_eq!((status, exec["status"].as_str()), (202, Some("pending")), "{exec}");
    let (status, page) = send(Call { method: "GET", path: format!("/api/v1/jobs/{id}/executions?limit=5"), body: None }).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"][0]["id"], exec["id"]);
    assert_eq!(page["data"][0]["job_id"], json!(id));
    let (status, one) = send(Call { method: "GET", path: format!("/api/v1/executions/{}", exec["id"].as_str().unwrap()), body: None }).await;
    assert_eq!((status, one["message_id"].clone()), (200, exec["message_id"].clone()));
    let (status, problem) = send(Call { method: "GET", path: "/api/v1/jobs/00000000-0000-0000-0000-000000000000".into(), body: None }).await;
    assert_eq!((status, problem["type"].as_str()), (404, Some("https://prikke.eu/problems/not-found")));
}

async fn org(pool: &PgPool) -> String {
    let new = api_fn::provision::NewOrganization { name: "Binary", slug: "binary", tier: Tier::Pro, key_name: "t" };
    api_fn::provision::create_organization(pool, &store::keyring::Keyring::development(), &new).await.unwrap().api_key
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn local_server_serves_the_sequence(pool: PgPool) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key = org(&pool).await;
    let mut child = binary(&pool).env("PRIKKE_BIND", "127.0.0.1:0").spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().expect("the server prints its address");
    let base = first.strip_prefix("listening on ").expect(&first).to_owned();
    let client = reqwest::Client::new();
    run_sequence(|call: Call| {
        let req = client
            .request(call.method.parse().unwrap(), format!("{base}{}", call.path))
            .bearer_auth(&key);
        let req = match call.body {
            Some(b) => req.json(&b),
            None => req,
        };
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    })
    .await;
    child.kill().await.unwrap();
}

// ---- the Lambda Runtime API emulator ---------------------------------------------------------

/// What the function answered to one invocation.
#[derive(Debug)]
enum Outcome {
    Response(Value),
    Error(String),
}

#[derive(Clone)]
struct Emulator {
    events: Arc<Mutex<mpsc::Receiver<(String, Value)>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
}

async fn next(State(em): State<Emulator>) -> Response {
    let Some((id, event)) = em.events.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let mut res = axum::Json(event).into_response();
    let h = res.headers_mut();
    h.insert("lambda-runtime-aws-request-id", HeaderValue::from_str(&id).unwrap());
    h.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline));
    h.insert("lambda-runtime-invoked-function-arn", HeaderValue::from_static("arn:aws:lambda:eu-central-1:123456789012:function:prikke-api"));
    h.insert("lambda-runtime-trace-id", HeaderValue::from_static("Root=1-00000000-000000000000000000000000"));
    res
}

async fn respond(State(em): State<Emulator>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    if let Some(tx) = em.waiting.lock().await.remove(&id) {
        let _ = tx.send(Outcome::Response(serde_json::from_slice(&body).unwrap_or(Value::Null)));
    }
    StatusCode::ACCEPTED
}

async fn fail(State(em): State<Emulator>, Path(id): Path<String>, _: HeaderMap, body: Bytes) -> StatusCode {
    if let Some(tx) = em.waiting.lock().await.remove(&id) {
        let _ = tx.send(Outcome::Error(String::from_utf8_lossy(&body).into_owned()));
    }
    StatusCode::ACCEPTED
}

async fn init_error(body: Bytes) -> StatusCode {
    panic!("the function failed to start: {}", String::from_utf8_lossy(&body));
}

/// A running emulator: push an event, await the function's answer.
struct Runtime {
    addr: std::net::SocketAddr,
    events: mpsc::Sender<(String, Value)>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    counter: std::sync::atomic::AtomicU64,
}

impl Runtime {
    async fn start() -> Runtime {
        let (events, rx) = mpsc::channel(16);
        let em = Emulator { events: Arc::new(Mutex::new(rx)), waiting: Arc::default() };
        let waiting = em.waiting.clone();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(em);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Runtime { addr, events, waiting, counter: Default::default() }
    }

    async fn invoke(&self, event: Value) -> Outcome {
        let id = format!("req-{}", self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().await.insert(id.clone(), tx);
        self.events.send((id, event)).await.unwrap();
        // a guard against a hung function, not a wait for something to happen
        tokio::time::timeout(Duration::from_secs(30), rx).await.expect("the function answered").unwrap()
    }
}

/// An event from a fixture, for `call`.
fn event(fixture: &str, call: &Call, key: &str) -> Value {
    let mut e: Value = serde_json::from_str(fixture).unwrap();
    let (path, query) = call.path.split_once('?').unwrap_or((&call.path, ""));
    e["rawPath"] = json!(path);
    e["rawQueryString"] = json!(query);
    e["requestContext"]["http"]["method"] = json!(call.method);
    e["requestContext"]["http"]["path"] = json!(path);
    e["headers"]["authorization"] = json!(format!("Bearer {key}"));
    if let Some(body) = &call.body {
        e["headers"]["content-type"] = json!("application/json");
        e["body"] = json!(body.to_string());
    }
    e
}

fn decode(outcome: Outcome) -> (u16, Value) {
    let r = match outcome {
        Outcome::Response(r) => r,
        Outcome::Error(e) => panic!("the function reported an error: {e}"),
    };
    let status = r["statusCode"].as_u64().unwrap() as u16;
    let body = r["body"].as_str().unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

const APIGW_V2: &str = include_str!("fixtures/apigw_v2_request.json");
const FUNCTION_URL: &str = include_str!("fixtures/lambda_function_url_request.json");

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn lambda_runtime_serves_the_sequence(pool: PgPool) {
    let key = org(&pool).await;
    let runtime = Arc::new(Runtime::start().await);
    let mut child: Child = binary(&pool)
        .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "prikke-api")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/prikke-api")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .spawn()
        .unwrap();

    run_sequence(|call: Call| {
        let runtime = runtime.clone();
        let e = event(APIGW_V2, &call, &key);
        async move { decode(runtime.invoke(e).await) }
    })
    .await;

    // a function-URL event, unauthenticated: the problem comes back with its content type
    let call = Call { method: "GET", path: "/api/v1/jobs".into(), body: None };
    let mut e = event(FUNCTION_URL, &call, &key);
    e["headers"].as_object_mut().unwrap().remove("authorization");
    let Outcome::Response(r) = runtime.invoke(e).await else { panic!() };
    assert_eq!(r["statusCode"], 401);
    assert_eq!(r["headers"]["content-type"], "application/problem+json");
    let (status, health) = decode(runtime.invoke(event(FUNCTION_URL, &Call { method: "GET", path: "/health".into(), body: None }, &key)).await);
    assert_eq!((status, health["up"].as_bool()), (200, Some(true)));
    child.kill().await.unwrap();
}

/// `create-org` reads `PRIKKE_ENV` as the services do: with `prod` it is production, so it refuses
/// to seal the new organization's secret without master keys (it used the public development key).
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn create_org_in_production_needs_the_master_keys(pool: PgPool) {
    for env in ["production", "prod"] {
        let out = binary(&pool).env("PRIKKE_ENV", env).stderr(Stdio::piped()).args(["create-org", "--slug", "prod-check", "--name", "P"]).output().await.unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("PRIKKE_ENCRYPTION_KEYS"), "{env}: {err}");
    }
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations").fetch_one(&pool).await.unwrap();
    assert_eq!(made, 0, "nothing was created");
    let out = binary(&pool).env("PRIKKE_ENV", "staging").stderr(Stdio::piped()).args(["create-org", "--slug", "s", "--name", "S"]).output().await.unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("must be development, test or production"));
}
