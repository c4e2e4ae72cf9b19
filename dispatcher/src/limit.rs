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

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct AdaptiveLimit {
    sem: Arc<Semaphore>,
    size: AtomicUsize,
    min: usize,
    max: usize,
}

impl AdaptiveLimit {
    pub fn new(min: usize, max: usize) -> Self {
        AdaptiveLimit { sem: Arc::new(Semaphore::new(min)), size: AtomicUsize::new(min), min, max }
    }

    pub fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    pub fn in_use(&self) -> usize {
        self.size().saturating_sub(self.sem.available_permits())
    }

    /// A delivery permit; grows the limit first when none is free.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        if let Ok(p) = self.sem.clone().try_acquire_owned() {
            return p;
        }
        self.grow();
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
