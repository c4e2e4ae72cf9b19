//! Real receivers on loopback port 0 for the delivery tests: a recording axum server that counts
//! TCP accepts, a gated server that holds requests until released, and a raw TCP server that
//! answers with scripted bytes (or nothing) and keeps the connection open.
#![allow(dead_code)]

pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, Response, Version};
use axum::serve::{Listener, ListenerExt};
use dispatcher::delivery::{Deliverer, DeliveryConfig, DeliveryRequest, parse_allow_list};
use domain::signing::SigningSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const MESSAGE_ID: &str = "msg_0123456789abcdef0123456789abcdef";

pub fn secret() -> SigningSecret {
    SECRET.parse().unwrap()
}

/// A deliverer whose guard admits the given CIDRs (e.g. `"127.0.0.0/8,::1/128"`).
pub fn deliverer(allow: &str) -> Deliverer {
    deliverer_with(allow, |_| {})
}

pub fn deliverer_with(allow: &str, adjust: impl FnOnce(&mut DeliveryConfig)) -> Deliverer {
    let mut cfg = DeliveryConfig {
        allow_targets: parse_allow_list(allow).unwrap(),
        ..DeliveryConfig::default()
    };
    adjust(&mut cfg);
    Deliverer::new(cfg).unwrap()
}

pub const LOOPBACK: &str = "127.0.0.0/8,::1/128";

/// A POST with a JSON body, one secret, a 5 s timeout, stamped "now".
pub fn post<'a>(
    url: &'a str,
    body: Option<&'a str>,
    secrets: &'a [SigningSecret],
) -> DeliveryRequest<'a> {
    DeliveryRequest {
        message_id: MESSAGE_ID,
        method: "POST",
        url,
        headers: &[],
        body,
        timeout: Duration::from_secs(5),
        secrets,
        timestamp: chrono::Utc::now().timestamp(),
    }
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub version: Version,
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

type Reply = Arc<dyn Fn(&Recorded) -> Response<Body> + Send + Sync>;

/// An HTTP/1.1 + h2c server that records every request and answers with `reply`.
pub struct Receiver {
    pub addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Receiver {
    pub async fn start(
        reply: impl Fn(&Recorded) -> Response<Body> + Send + Sync + 'static,
    ) -> Receiver {
        Self::start_on("127.0.0.1:0", reply).await
    }

    pub async fn start_on(
        bind: &str,
        reply: impl Fn(&Recorded) -> Response<Body> + Send + Sync + 'static,
    ) -> Receiver {
        Self::start_listening(TcpListener::bind(bind).await.unwrap(), reply)
    }

    /// Serves on a listener the caller bound (a port it had to choose itself).
    pub fn start_listening(
        listener: TcpListener,
        reply: impl Fn(&Recorded) -> Response<Body> + Send + Sync + 'static,
    ) -> Receiver {
        let accepts = Arc::new(AtomicUsize::new(0));
        let counter = accepts.clone();
        let listener = listener.tap_io(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        Self::serve(listener, accepts, reply)
    }

    /// Serves HTTP/1.1 and h2 on `listener`, whose accepts the caller counts in `accepts`.
    pub fn serve<L: Listener<Addr = SocketAddr>>(
        listener: L,
        accepts: Arc<AtomicUsize>,
        reply: impl Fn(&Recorded) -> Response<Body> + Send + Sync + 'static,
    ) -> Receiver {
        let reply: Reply = Arc::new(reply);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let app = {
            let requests = requests.clone();
            Router::new().fallback(move |req: Request| {
                let requests = requests.clone();
                let reply = reply.clone();
                async move {
                    let recorded = record(req).await;
                    let response = reply(&recorded);
                    requests.lock().unwrap().push(recorded);
                    response
                }
            })
        };
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            addr,
            accepts,
            requests,
        }
    }

    /// Answers every request with `status` and an empty body.
    pub async fn status(status: u16) -> Receiver {
        Self::start(move |_| reply(status, &[], "")).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected exactly one request");
        requests.into_iter().next().unwrap()
    }

    /// TCP connections accepted so far.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }
}

async fn record(req: Request) -> Recorded {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    Recorded {
        version: parts.version,
        method: parts.method,
        path_and_query: parts.uri.path_and_query().unwrap().to_string(),
        headers: parts.headers,
        body,
    }
}

pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Response<Body> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

/// A server that holds every request until the test releases it, tracking how many are held
/// at once.
pub struct Gate {
    pub receiver: Receiver,
    arrived: watch::Receiver<usize>,
    release: Arc<Semaphore>,
    max_held: Arc<AtomicUsize>,
}

impl Gate {
    pub async fn start() -> Gate {
        let (arrived_tx, arrived) = watch::channel(0usize);
        let arrived_tx = Arc::new(arrived_tx);
        let release = Arc::new(Semaphore::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let max_held = Arc::new(AtomicUsize::new(0));
        let app = {
            let (release, held, max_held) = (release.clone(), held.clone(), max_held.clone());
            Router::new().fallback(move || {
                let (release, held, max_held) = (release.clone(), held.clone(), max_held.clone());
                let arrived_tx = arrived_tx.clone();
                async move {
                    let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                    max_held.fetch_max(now, Ordering::SeqCst);
                    arrived_tx.send_modify(|n| *n += 1);
                    release.acquire().await.unwrap().forget();
                    held.fetch_sub(1, Ordering::SeqCst);
                    "released"
                }
            })
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Gate {
            receiver: Receiver {
                addr,
                accepts: Arc::new(AtomicUsize::new(0)),
                requests: Arc::new(Mutex::new(Vec::new())),
            },
            arrived,
            release,
            max_held,
        }
    }

    /// Waits until at least `n` requests have arrived in total.
    pub async fn arrived_at_least(&mut self, n: usize) {
        self.arrived.wait_for(|a| *a >= n).await.unwrap();
    }

    pub fn arrived(&self) -> usize {
        *self.arrived.borrow()
    }

    pub fn release(&self, n: usize) {
        self.release.add_permits(n);
    }

    pub fn max_held(&self) -> usize {
        self.max_held.load(Ordering::SeqCst)
    }
}

/// A raw TCP server that reads each request head, writes `script` (possibly nothing) and then
/// keeps the connection open without another byte. Reports every accept on `accepted`.
pub struct Scripted {
    pub addr: SocketAddr,
    pub accepted: mpsc::UnboundedReceiver<()>,
}

impl Scripted {
    pub async fn start(script: &'static [u8]) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, accepted) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut open = Vec::new();
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let _ = tx.send(());
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(script).await;
                open.push(stream);
            }
        });
        Scripted { addr, accepted }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}
