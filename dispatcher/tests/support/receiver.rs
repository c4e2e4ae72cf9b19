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
        Self::start_at("127.0.0.1:0", reply).await
    }

    /// A receiver on `bind` that holds every request until `gate` opens, then answers 200.
    pub async fn holding(bind: &str, gate: &Gate) -> Receiver {
        let gate = gate.clone();
        Self::start_at(bind, move |_, _| Reply::held(200, &gate)).await
    }

    /// [`Receiver::start`] on another address (e.g. `127.0.0.2:0`: another host as far as the
    /// per-host limit can tell).
    pub async fn start_at(bind: &str, reply: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> Receiver {
        let (count, _) = watch::channel(0usize);
        let shared = Shared { log: Arc::new(Mutex::new(Vec::new())), count, reply: Arc::new(reply) };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { addr, shared, server }
    }

    /// [`Receiver::start`] over HTTPS, with a certificate for `names` signed by a throw-away CA
    /// whose PEM comes back too (the client must trust it). A stand-in for a public host such
    /// as `hooks.slack.com`, reached through a resolver override.
    pub async fn start_tls(names: &[&str], reply: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> (Receiver, String) {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "Prikke test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap().signed_by(&leaf_key, &ca).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())))
            .unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let (count, _) = watch::channel(0usize);
        let shared = Shared { log: Arc::new(Mutex::new(Vec::new())), count, reply: Arc::new(reply) };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = TlsListener { tcp, acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)) };
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (Receiver { addr, shared, server }, ca.pem())
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

/// Accepts TCP and completes the TLS handshake; a failed handshake drops that connection.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else { continue };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
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
