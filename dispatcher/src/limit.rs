//! Adaptive delivery concurrency between configured bounds.
//!
//! A run takes a delivery permit when it is due and about to be sent, and gives it back when
//! its outcome is handed to the recorder. (Runs claimed ahead of their instant wait without one;
//! a separate, fixed bound limits how many may wait.)
//! - a due run that finds no free permit means the queue is deeper than the current limit: the
//!   limit grows by half, up to the maximum, and the run waits for a permit;
//! - when the claim loop finds the queue drained and fewer than a quarter of the permits are in
//!   use, the limit shrinks by a quarter, down to the minimum.
//!
//! So a burst quickly gets the maximum, a quiet system holds few resources, and a slow receiver
//! (bounded separately per host by the delivery module) cannot take every permit.
//!
//! Runs waiting here are due and not yet sent: the firing backlog, with the runs waiting in a
//! lane for a task (see [`crate::lanes`]). The recorder defers its writes
//! while there is one ([`AdaptiveLimit::backlog_drained`]), so a burst gets the cores first.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

pub struct AdaptiveLimit {
    sem: Arc<Semaphore>,
    size: AtomicUsize,
    min: usize,
    max: usize,
    /// Due runs waiting for a permit.
    backlog: AtomicUsize,
    /// Signalled when the backlog falls to zero.
    drained: Notify,
}

/// Counts one run in the backlog for as long as it waits (also when the wait is cancelled).
pub struct Waiting<'a>(&'a AdaptiveLimit);

impl<'a> Waiting<'a> {
    fn new(limit: &'a AdaptiveLimit) -> Self {
        limit.enter_backlog();
        Waiting(limit)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.leave_backlog();
    }
}

impl AdaptiveLimit {
    pub fn new(min: usize, max: usize) -> Self {
        // published from the start, not only once it first changes
        metrics::gauge!("prikke_concurrency_limit").set(min as f64);
        AdaptiveLimit {
            sem: Arc::new(Semaphore::new(min)),
            size: AtomicUsize::new(min),
            min,
            max,
            backlog: AtomicUsize::new(0),
            drained: Notify::new(),
        }
    }

    /// Due runs waiting for a delivery permit right now.
    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Acquire)
    }

    /// Counts one run in the backlog until [`AdaptiveLimit::leave_backlog`] (a run waiting
    /// outside any future, as [`crate::lanes`]' queued runs do).
    pub fn enter_backlog(&self) {
        self.backlog.fetch_add(1, Ordering::AcqRel);
    }

    pub fn leave_backlog(&self) {
        if self.backlog.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.drained.notify_waiters();
        }
    }

    /// Returns once no due run waits for a permit (at once when none does).
    pub async fn backlog_drained(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // registered before the check, so a drain between the check and the await is not missed
            drained.as_mut().enable();
            if self.backlog() == 0 {
                return;
            }
            drained.await;
        }
    }

    pub fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    pub fn in_use(&self) -> usize {
        self.size().saturating_sub(self.sem.available_permits())
    }

    /// Counts a due run in the backlog while it waits for something before its permit (its
    /// host's slot): it is as much a part of the burst as a run waiting for the permit itself.
    pub fn waiting(&self) -> Waiting<'_> {
        Waiting::new(self)
    }

    /// A delivery permit; grows the limit first when none is free.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        if let Ok(p) = self.sem.clone().try_acquire_owned() {
            return p;
        }
        self.grow();
        let _waiting = Waiting::new(self);
        self.sem.clone().acquire_owned().await.expect("the delivery semaphore is never closed")
    }

    fn grow(&self) {
        let size = self.size();
        if size >= self.max {
            return;
        }
        let grow = (size / 2).max(1).min(self.max - size);
        // fetch_add first so two racing growers never exceed the maximum together
        let before = self.size.fetch_add(grow, Ordering::Relaxed);
        if before + grow > self.max {
            self.size.fetch_sub(grow, Ordering::Relaxed);
            return;
        }
        self.sem.add_permits(grow);
        metrics::gauge!("prikke_concurrency_limit").set(self.size() as f64);
    }

    /// Called when the queue ran dry: gives back a quarter of the permits if most are idle.
    pub fn shrink_if_idle(&self) {
        let size = self.size();
        if size <= self.min || self.in_use() >= size / 4 {
            return;
        }
        let shrink = (size / 4).max(1).min(size - self.min);
        if let Ok(p) = self.sem.try_acquire_many(shrink as u32) {
            p.forget();
            self.size.fetch_sub(shrink, Ordering::Relaxed);
            metrics::gauge!("prikke_concurrency_limit").set(self.size() as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn grows_under_contention_up_to_the_maximum_and_shrinks_when_idle() {
        let l = AdaptiveLimit::new(4, 20);
        let mut held = Vec::new();
        for _ in 0..20 {
            held.push(l.acquire().await);
        }
        assert_eq!((l.size(), l.in_use()), (20, 20), "grew to the maximum as runs kept coming");
        let blocked = tokio::time::timeout(std::time::Duration::from_millis(50), l.acquire()).await;
        assert!(blocked.is_err(), "never beyond the maximum");
        drop(held);
        l.shrink_if_idle();
        assert_eq!(l.size(), 15);
        for _ in 0..10 {
            l.shrink_if_idle();
        }
        assert_eq!(l.size(), 4, "floored at the minimum");
    }

    #[tokio::test]
    async fn counts_the_runs_that_wait_and_signals_when_none_is_left() {
        let l = Arc::new(AdaptiveLimit::new(1, 1));
        l.backlog_drained().await; // nothing waits: returns at once
        let held = l.acquire().await;
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { drop(l.acquire().await) })
            })
            .collect();
        while l.backlog() < 3 {
            tokio::task::yield_now().await;
        }
        let mut drained = std::pin::pin!(l.backlog_drained());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(drained.as_mut().poll(&mut cx).is_pending(), "three runs still wait");
        drop(held);
        for w in waiters {
            w.await.unwrap();
        }
        drained.await;
        assert_eq!(l.backlog(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_wait_leaves_the_backlog() {
        let l = AdaptiveLimit::new(1, 1);
        let _held = l.acquire().await;
        let gave_up = tokio::time::timeout(std::time::Duration::from_millis(10), l.acquire()).await;
        assert!(gave_up.is_err());
        assert_eq!(l.backlog(), 0);
        l.backlog_drained().await;
    }

    #[tokio::test]
    async fn does_not_shrink_while_busy() {
        let l = AdaptiveLimit::new(4, 8);
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(l.acquire().await);
        }
        l.shrink_if_idle();
        assert_eq!(l.size(), 4);
        drop(held);
        assert_eq!(l.in_use(), 0);
    }
}
