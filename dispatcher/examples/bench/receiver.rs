//! A minimal, fast receiver for benchmarks: answers 204 at once and records arrival instants, on
//! its own single-threaded runtime (a separate "machine" as far as scheduling goes).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};

#[derive(Default)]
pub struct Log {
    pub count: AtomicUsize,
    pub arrivals: Mutex<Vec<DateTime<Utc>>>,
}

pub fn start(record_arrivals: bool) -> (SocketAddr, Arc<Log>) {
    let log = Arc::new(Log::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = log.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = Router::new()
                .fallback(move |State(log): State<Arc<Log>>| async move {
                    if record_arrivals {
                        log.arrivals.lock().unwrap().push(Utc::now());
                    }
                    log.count.fetch_add(1, Ordering::Relaxed);
                    StatusCode::NO_CONTENT
                })
                .with_state(shared);
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), log)
}
