//! The stack in process for the end-to-end tests: the real API router, the real dispatcher, a
//! receiver on 127.0.0.1 that hands every request to the test, all on the test's database.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use domain::tier::Tier;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{Mutex, mpsc};
use tower::ServiceExt;

/// A request the receiver got.
#[derive(Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// An HTTP endpoint on 127.0.0.1 that hands every request to the test and answers the n-th one
/// with the n-th status it was given (the last one from then on), body "received".
pub struct Receiver {
    pub base: String,
    got: Mutex<mpsc::UnboundedReceiver<Received>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        Self::answering(&[200]).await
    }

    pub async fn answering(statuses: &[u16]) -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let statuses: Arc<Vec<StatusCode>> = Arc::new(statuses.iter().map(|s| StatusCode::from_u16(*s).unwrap()).collect());
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let app = Router::new().fallback(move |req: Request<Body>| {
            let (tx, statuses, seen) = (tx.clone(), statuses.clone(), seen.clone());
            async move {
                let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
                let _ = tx.send(Received { path: parts.uri.path().to_owned(), headers: parts.headers, body });
                (statuses[n.min(statuses.len() - 1)], "received")
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { base, got: Mutex::new(rx) }
    }

    /// A delivery that has already arrived, if any (does not wait).
    pub async fn try_next(&self) -> Option<Received> {
        self.got.lock().await.try_recv().ok()
    }

    /// The next delivery (a guard against a hang, not a wait for time to pass).
    pub async fn next(&self) -> Received {
        tokio::time::timeout(Duration::from_secs(30), self.got.lock().await.recv()).await.expect("a delivery arrives").unwrap()
    }
}

pub struct Api {
    pub router: Router,
    pub key: String,
}

impl Api {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {}", self.key));
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Reads an execution until the dispatcher has recorded its outcome.
    pub async fn finished_execution(&self, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, e) = self.call(Method::GET, &format!("/api/v1/executions/{id}"), None).await;
            assert_eq!(status, StatusCode::OK, "{e}");
            if !matches!(e["status"].as_str(), Some("pending" | "running")) {
                return e;
            }
            assert!(tokio::time::Instant::now() < deadline, "execution {id} never finished: {e}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub async fn database_url(pool: &PgPool) -> String {
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(pool).await.unwrap();
    let server = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let (base, _) = server.rsplit_once('/').unwrap();
    format!("{base}/{db}")
}

pub fn api_config() -> api_fn::Config {
    let vars = [("DATABASE_URL", "postgres://unused@127.0.0.1/unused"), ("PRIKKE_ENV", "test")];
    api_fn::Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap()
}

/// Verifies a delivery with the official Standard Webhooks library (not our own code).
pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) {
    let official = standardwebhooks::Webhook::new(secret).unwrap();
    official.verify(body, headers).expect("the delivery verifies with the organization's secret");
}

/// A Pro organization, the API in process for it, and a dispatcher on the same database.
pub async fn stack(pool: &PgPool) -> (api_fn::provision::Provisioned, Api, dispatcher::Dispatcher) {
    let org = api_fn::provision::create_organization(
        pool,
        &store::keyring::Keyring::development(),
        &api_fn::provision::NewOrganization { name: "E2E", slug: "e2e", tier: Tier::Pro, key_name: "e2e" },
    )
    .await
    .unwrap();
    let api = Api { router: api_fn::router(api_fn::AppState::new(pool.clone(), api_config())), key: org.api_key.clone() };
    let mut config = dispatcher::DispatcherConfig::with_database_url(database_url(pool).await);
    config.allow_targets = vec!["127.0.0.0/8".parse().unwrap()];
    config.poll = Duration::from_millis(200);
    config.leader_poll = Duration::from_millis(200);
    config.shutdown_grace = Duration::from_secs(5);
    let dispatcher = dispatcher::Dispatcher::start(config, Arc::new(dispatcher::SystemClock)).expect("the dispatcher starts");
    (org, api, dispatcher)
}

