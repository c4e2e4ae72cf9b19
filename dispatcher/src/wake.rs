//! Waking the claim loop at the right moment instead of polling tightly.
//!
//! Sources of work and how they reach the claim loop:
//! - `NOTIFY prikke_due` from the API (trigger, queue) and from the leader after materialising
//!   runs; the payload, when present, is the earliest `run_at` in milliseconds since the epoch.
//!   A listener task turns each notification into [`Wake::hint`].
//! - retries recorded by this process: the recorder hints their retry time;
//! - rescued leases: the rescuer wakes the loop at once;
//! - and a fallback poll, which also covers notifications lost while reconnecting.
//!
//! `hint(at)` means "a run is due at `at`". The loop claims runs `lead` (the prefetch window)
//! before they are due, so it is woken at `at - lead`: immediately when that has passed, else by
//! lowering the next timer. The loop calls [`Wake::wait`] when a claim found nothing more to do.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::clock::{SharedClock, until};

pub struct Wake {
    notify: Notify,
    next: Mutex<Option<DateTime<Utc>>>,
    clock: SharedClock,
    lead: chrono::Duration,
}

impl Wake {
    /// `lead`: how long before a run is due the loop wants to claim it.
    pub fn new(clock: SharedClock, lead: Duration) -> Self {
        Wake { notify: Notify::new(), next: Mutex::new(None), clock, lead: chrono::Duration::from_std(lead).unwrap_or_default() }
    }

    /// A run is due at `at`.
    pub fn hint(&self, at: DateTime<Utc>) {
        let at = at - self.lead;
        if at <= self.clock.now() {
            self.notify.notify_one();
            return;
        }
        let mut next = self.next.lock().expect("wake lock");
        if next.is_none_or(|n| at < n) {
            *next = Some(at);
            // the waiter must re-arm its timer for the earlier instant
            self.notify.notify_one();
        }
    }

    /// Work is available now.
    pub fn now(&self) {
        self.notify.notify_one();
    }

    /// Waits until notified, until the earliest hinted instant, or at most `poll`.
    pub async fn wait(&self, poll: Duration) {
        let timer = {
            let mut next = self.next.lock().expect("wake lock");
            let now = self.clock.now();
            match *next {
                Some(at) if at <= now => {
                    *next = None;
                    return;
                }
                Some(at) => until(now, at).min(poll),
                None => poll,
            }
        };
        tokio::select! {
            _ = self.notify.notified() => {}
            _ = tokio::time::sleep(timer) => {}
        }
        let mut next = self.next.lock().expect("wake lock");
        if next.is_some_and(|at| at <= self.clock.now()) {
            *next = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_due_hint_wakes_at_once_and_a_future_hint_sets_the_timer() {
        let wake = Arc::new(Wake::new(Arc::new(SystemClock), Duration::ZERO));
        wake.hint(Utc::now() - chrono::Duration::seconds(1));
        let t = std::time::Instant::now();
        wake.wait(Duration::from_secs(30)).await;
        assert!(t.elapsed() < Duration::from_secs(1));

        let at = Utc::now() + chrono::Duration::milliseconds(150);
        wake.hint(at);
        // the hint itself notifies (so a sleeping waiter re-arms); consume that wake-up
        wake.wait(Duration::from_secs(30)).await;
        wake.wait(Duration::from_secs(30)).await;
        assert!(Utc::now() >= at, "woke before the hinted instant");
        assert!(Utc::now() < at + chrono::Duration::seconds(2));
    }

    #[tokio::test]
    async fn the_lead_wakes_the_loop_before_the_run_is_due() {
        let wake = Wake::new(Arc::new(SystemClock), Duration::from_millis(500));
        let due = Utc::now() + chrono::Duration::milliseconds(700);
        wake.hint(due);
        wake.wait(Duration::from_secs(30)).await; // the re-arm notification
        wake.wait(Duration::from_secs(30)).await;
        let early = due - Utc::now();
        assert!(early > chrono::Duration::milliseconds(300), "woke only {early} before the run");
    }
}
