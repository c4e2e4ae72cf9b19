//! The dispatcher's notion of "now". Production uses the system clock; tests can shift it so a
//! minute boundary is seconds away instead of up to a minute. Every query receives `now` from
//! here; nothing in the dispatcher calls `Utc::now()` directly.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall-clock time shifted by a fixed offset (tests): time still passes at the real rate.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock(pub Duration);

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// How long from `now` until `at` as a std duration (zero when `at` has passed).
pub fn until(now: DateTime<Utc>, at: DateTime<Utc>) -> std::time::Duration {
    (at - now).to_std().unwrap_or_default()
}
