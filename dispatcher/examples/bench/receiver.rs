//! A minimal, fast receiver for benchmarks: reads each request to its end, answers 204 (500 to a
//! path under `/fail`) and records the arrival instant (and, if asked, the body), on its own single-threaded runtime (a separate "machine" as far
//! as scheduling goes). Plain hyper HTTP/1.1 rather than axum: it stands in for a remote
//! receiver, so the less of the shared two cores it takes, the more the figures are the
//! dispatcher's (wrk against each here: ≈ 136k req/s for this one, ≈ 110k for an axum router).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

#[derive(Default)]
pub struct Log {
    pub count: AtomicUsize,
    pub arrivals: Mutex<Vec<DateTime<Utc>>>,
    /// Each request's arrival and body, when kept.
    pub bodies: Mutex<Vec<(DateTime<Utc>, Bytes)>>,
}

pub fn start(record_arrivals: bool) -> (SocketAddr, Arc<Log>) {
    start_with(record_arrivals, false)
}

/// Like [`start`]; `keep_bodies` also keeps every request's body with its arrival.
pub fn start_with(record_arrivals: bool, keep_bodies: bool) -> (SocketAddr, Arc<Log>) {
    let log = Arc::new(Log::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = log.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let _ = stream.set_nodelay(true);
                let log = shared.clone();
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let log = log.clone();
                    async move {
                        let fail = req.uri().path().starts_with("/fail");
                        // A request has arrived when all of it has.
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let at = Utc::now();
                        if record_arrivals {
                            log.arrivals.lock().unwrap().push(at);
                        }
                        if keep_bodies {
                            log.bodies.lock().unwrap().push((at, body));
                        }
                        log.count.fetch_add(1, Ordering::Relaxed);
                        let mut response = Response::new(Empty::<Bytes>::new());
                        *response.status_mut() = if fail { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::NO_CONTENT };
                        Ok::<_, Infallible>(response)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
    });
    (rx.recv().unwrap(), log)
}
