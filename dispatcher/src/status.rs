//! What this process knows about itself, shared between its tasks: whether it leads, when it last
//! ticked, the recent fire lag. The heartbeat publishes it; /health and /metrics read it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use chrono::{DateTime, Utc};

#[derive(Debug, Default)]
pub struct Status {
    leader: AtomicBool,
    last_tick: Mutex<Option<DateTime<Utc>>>,
    /// Largest fire lag (ms) of a first attempt since the last heartbeat; -1 = none seen.
    max_lag_ms: AtomicI64,
    db_ok: AtomicBool,
}

impl Status {
    pub fn new() -> Self {
        Status { max_lag_ms: AtomicI64::new(-1), ..Default::default() }
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    pub fn ticked(&self, at: DateTime<Utc>) {
        *self.last_tick.lock().expect("status lock") = Some(at);
    }

    pub fn last_tick(&self) -> Option<DateTime<Utc>> {
        *self.last_tick.lock().expect("status lock")
    }

    pub fn observe_lag(&self, lag_ms: i64) {
        self.max_lag_ms.fetch_max(lag_ms, Ordering::Relaxed);
    }

    /// The largest lag since the previous call (None when nothing fired).
    pub fn take_max_lag(&self) -> Option<i64> {
        let v = self.max_lag_ms.swap(-1, Ordering::Relaxed);
        (v >= 0).then_some(v)
    }

    pub fn set_db_ok(&self, ok: bool) {
        self.db_ok.store(ok, Ordering::Relaxed);
    }

    pub fn db_ok(&self) -> bool {
        self.db_ok.load(Ordering::Relaxed)
    }
}
