//! A real HTTP receiver on 127.0.0.1:0: records every request with its arrival time and answers
//! with whatever the test's reply function says. Tests await arrivals through a watch channel.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: DateTime<Utc>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// What to answer: status, extra headers, body; optionally after a delay (a slow receiver) or
/// once a gate opens (a receiver that holds the call until the test says so, or forever).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Option<Duration>,
    pub hold: Option<Gate>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply { status, headers: Vec::new(), body: String::new(), delay: None, hold: None }
    }

    /// Answers `status` once `gate` opens.
    pub fn held(status: u16, gate: &Gate) -> Self {
        Reply { hold: Some(gate.clone()), ..Reply::status(status) }
    }
}

/// Holds replies until opened (see [`Reply::held`]); a gate never opened holds them forever.
#[derive(Debug, Clone)]
pub struct Gate(Arc<watch::Sender<bool>>);

impl Gate {
    pub fn new() -> Gate {
        Gate(Arc::new(watch::channel(false).0))
    }

    pub fn open(&self) {
        self.0.send_replace(true);
    }

    async fn passed(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

type ReplyFn = dyn Fn(&Received, usize) -> Reply + Send + Sync;

#[derive(Clone)]
struct Shared {
    log: Arc<Mutex<Vec<Received>>>,
    count: watch::Sender<usize>,
    reply: Arc<ReplyFn>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver whose answer to the n-th request (0-based) is `reply(request, n)`.
    pub async fn start(reply: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> Receiver {
        let (count, _) = watch::channel(0usize);
        let shared = Shared { log: Arc::new(Mutex::new(Vec::new())), count, reply: Arc::new(reply) };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, shared, server }
    }

    /// A receiver that answers 200 "ok" to everything.
    pub async fn ok() -> Receiver {
        Self::start(|_, _| Reply { headers: vec![("x-receiver", "yes".into())], body: "ok".into(), ..Reply::status(200) }).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (fails the test after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let mut rx = self.shared.count.subscribe();
        let reached = tokio::time::timeout(within, rx.wait_for(|c| *c >= n)).await;
        assert!(reached.is_ok(), "expected {n} requests within {within:?}, got {}", self.received().len());
        self.received()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(State(s): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let req = Received { method, path: uri.path().to_owned(), headers, body, at: Utc::now() };
    let n = {
        let mut log = s.log.lock().unwrap();
        log.push(req.clone());
        log.len() - 1
    };
    let reply = (s.reply)(&req, n);
    s.count.send_modify(|c| *c += 1);
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    if let Some(gate) = &reply.hold {
        gate.passed().await;
    }
    let mut res = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (k, v) in reply.headers {
        res.headers_mut().insert(k, v.parse().unwrap());
    }
    res
}
