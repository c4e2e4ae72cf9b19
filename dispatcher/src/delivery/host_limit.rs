//! Per-target-host concurrency cap: at most N deliveries in flight to one `host:port`, so a slow
//! or hanging receiver holds at most N of the dispatcher's workers and cannot starve the others.
//!
//! # State machine of one host entry
//!
//! ```text
//!   (absent) ──acquire──► entry { semaphore(N), users = 1 } ──acquire──► users += 1
//!       ▲                                                                     │
//!       └──── last permit dropped while nobody waits (users == 0) ◄─ release ─┘
//! ```
//!
//! An entry exists only while someone holds or waits for one of its permits, so the map holds at
//! most (in-flight + waiting) hosts: idle hosts cost nothing. `users` is changed only under the
//! map's lock, which is held for a hash lookup and never across an await.
//!
//! Waiting is bounded by the caller: [`HostLimiter::acquire`] is awaited inside the job's timeout,
//! so the wait for a permit counts against it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Caps in-flight deliveries per target host. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HostLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    per_host: usize,
    hosts: Mutex<HashMap<Box<str>, Entry>>,
}

#[derive(Debug)]
struct Entry {
    semaphore: Arc<Semaphore>,
    /// Permits held plus acquisitions under way.
    users: usize,
}

/// One in-flight slot for a host; dropping it frees the slot (and the entry when idle).
#[derive(Debug)]
pub struct HostPermit {
    permit: Option<OwnedSemaphorePermit>,
    inner: Arc<Inner>,
    key: Box<str>,
}

/// Removes a registration on drop, so a cancelled wait (timeout) leaves no trace.
struct Registration<'a> {
    inner: &'a Arc<Inner>,
    key: &'a str,
    armed: bool,
}

impl HostLimiter {
    /// A limiter allowing `per_host` concurrent deliveries per host (at least 1).
    pub fn new(per_host: usize) -> Self {
        HostLimiter {
            inner: Arc::new(Inner {
                per_host: per_host.max(1),
                hosts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The configured cap per host.
    pub fn per_host(&self) -> usize {
        self.inner.per_host
    }

    /// Waits for a slot for `host_key` (e.g. `example.com:443`). Cancel-safe: dropping the
    /// future gives up the wait without leaking the entry.
    pub async fn acquire(&self, host_key: &str) -> HostPermit {
        self.acquire_capped(host_key, self.inner.per_host).await
    }

    /// Waits for a slot for `key` whose cap is `cap` (at least 1) rather than the configured one
    /// (the same limiter keys organizations by their plan's share). The cap is fixed while the
    /// key has holders or waiters.
    pub async fn acquire_capped(&self, host_key: &str, cap: usize) -> HostPermit {
        let semaphore = {
            let mut hosts = self.inner.lock();
            let entry = hosts.entry(host_key.into()).or_insert_with(|| Entry {
                semaphore: Arc::new(Semaphore::new(cap.max(1))),
                users: 0,
            });
            entry.users += 1;
            Arc::clone(&entry.semaphore)
        };
        let mut registration = Registration {
            inner: &self.inner,
            key: host_key,
            armed: true,
        };
        let permit = semaphore
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("host semaphores are never closed"));
        registration.armed = false;
        HostPermit {
            permit: Some(permit),
            inner: Arc::clone(&self.inner),
            key: host_key.into(),
        }
    }

    /// How many hosts currently have an entry (holders or waiters).
    pub fn tracked_hosts(&self) -> usize {
        self.inner.lock().len()
    }

    /// How many deliveries to `host_key` hold a slot right now.
    pub fn in_flight(&self, host_key: &str) -> usize {
        self.inner
            .lock()
            .get(host_key)
            .map_or(0, |e| self.inner.per_host - e.semaphore.available_permits())
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Entry>> {
        // The critical sections cannot panic half-way; a poisoned map is still consistent.
        self.hosts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn release(&self, key: &str) {
        let mut hosts = self.lock();
        if let Some(entry) = hosts.get_mut(key) {
            entry.users -= 1;
            if entry.users == 0 {
                hosts.remove(key);
            }
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.inner.release(self.key);
        }
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        // Free the slot before unregistering, so a waiter is woken with the entry still there.
        drop(self.permit.take());
        self.inner.release(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::task::{Context, Waker};

    /// Polls once: whether the future is still waiting.
    fn is_pending<F: Future>(fut: std::pin::Pin<&mut F>) -> bool {
        fut.poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    }

    #[tokio::test]
    async fn caps_each_host_independently() {
        let limiter = HostLimiter::new(2);
        let a1 = limiter.acquire("a:80").await;
        let _a2 = limiter.acquire("a:80").await;
        let _b1 = limiter.acquire("b:80").await;
        assert_eq!(limiter.in_flight("a:80"), 2);
        assert_eq!(limiter.in_flight("b:80"), 1);

        // A third permit for a waits until one is dropped.
        let third = limiter.acquire("a:80");
        tokio::pin!(third);
        assert!(is_pending(third.as_mut()));
        drop(a1);
        let _a3 = third.await;
        assert_eq!(limiter.in_flight("a:80"), 2);
    }

    #[tokio::test]
    async fn idle_hosts_leave_no_entry() {
        let limiter = HostLimiter::new(1);
        for i in 0..100 {
            let _p = limiter.acquire(&format!("host{i}:443")).await;
        }
        assert_eq!(limiter.tracked_hosts(), 0);

        let held = limiter.acquire("x:1").await;
        assert_eq!(limiter.tracked_hosts(), 1);
        drop(held);
        assert_eq!(limiter.tracked_hosts(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_wait_leaves_no_entry_and_keeps_the_holder() {
        let limiter = HostLimiter::new(1);
        let held = limiter.acquire("x:1").await;
        let mut waiting = Box::pin(limiter.acquire("x:1"));
        assert!(is_pending(waiting.as_mut()));
        drop(waiting);
        assert_eq!(limiter.tracked_hosts(), 1);
        assert_eq!(limiter.in_flight("x:1"), 1);
        drop(held);
        assert_eq!(limiter.tracked_hosts(), 0);
        // The slot is usable again right away.
        let _again = limiter.acquire("x:1").await;
        assert_eq!(limiter.in_flight("x:1"), 1);
    }

    #[test]
    fn a_zero_cap_means_one() {
        assert_eq!(HostLimiter::new(0).per_host(), 1);
    }
}
