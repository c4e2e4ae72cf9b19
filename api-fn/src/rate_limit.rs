//! Rate limiting per API key (every `/api/v1` request) and per client IP (`/ping/*`), answered
//! with `429` + `Retry-After`.
//!
//! # Design: a sliding window counted in Postgres, drawn in leases
//!
//! api-fn runs on AWS Lambda, where one busy client is spread over many short-lived instances;
//! an in-memory token bucket per instance would allow *N instances × the limit*, and Lambda adds
//! instances precisely when someone hammers the API. The edge Worker already limits per client
//! IP, but an API key is used from many IPs (CI fleets, serverless callers), so a per-key limit
//! has to be counted where every instance sees it: the database the request uses anyway.
//!
//! Each bucket (`key:<api key id>`, `ping-ip:<address>`) is one row of the UNLOGGED table
//! `rate_limit_counters` with the hits of the current fixed one-minute window and of the
//! previous one. The estimate `previous × (time left in the window / window) + current` is the
//! classic sliding-window approximation: no burst of twice the limit at a window boundary, and
//! no per-request log to keep. UNLOGGED: counting writes no WAL and waits for no flush; a crash
//! forgets a minute of counts.
//!
//! Writing that row on every request was measured (docs/benchmarks.md): all requests of one
//! key serialise on one row lock, which cost 40 % of the throughput of `POST /api/v1/jobs` at
//! 100 concurrent clients. So an instance takes a **lease**: one upsert adds `lease` hits to the
//! shared count (and returns the estimate), and the instance then admits that many requests
//! from memory before it asks again; a lease expires with its window. The lease is 1/100 of the
//! limit (at least 1, at most 50): with the default 600 requests a minute an instance writes once
//! per 6 requests, and N busy instances can overshoot the limit by at most N × (lease − 1)
//! requests a minute (1 % of the limit per instance). Refreshes of one bucket are serialised
//! inside an instance, so a burst waits for one lease instead of racing for many. Rejected
//! requests count too (a lease is charged when refused), so a client that keeps hammering stays
//! limited. Authentication runs first, so nobody can spend a key's budget without its secret.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::PgPool;

use crate::problem::Problem;

/// Length of one fixed window.
pub const WINDOW: TimeDelta = TimeDelta::minutes(1);

/// What the limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after_secs: u64 },
}

/// The sliding-window decision for a request whose hit is already counted in `hits`, made
/// `elapsed` into the current window.
pub fn assess(hits: i32, previous_hits: i32, elapsed: TimeDelta, limit: u32) -> Decision {
    let w = WINDOW.num_milliseconds() as f64;
    let e = (elapsed.num_milliseconds() as f64).clamp(0.0, w);
    let (hits, previous, limit) = (f64::from(hits.max(0)), f64::from(previous_hits.max(0)), f64::from(limit));
    let estimate = previous * (w - e) / w + hits;
    if estimate <= limit {
        return Decision::Allowed;
    }
    // When would one more request fit (estimate ≤ limit − 1, nobody else calling)?
    let room = (limit - 1.0).max(0.0);
    let wait_ms = if hits <= room && previous > 0.0 {
        // within this window, as the previous window's weight fades
        (w - e - (room - hits) * w / previous).max(0.0)
    } else {
        // in the next window, as this window's hits fade in turn
        (w - e) + (w * (1.0 - room / hits)).max(0.0)
    };
    Decision::Limited { retry_after_secs: ((wait_ms / 1000.0).ceil() as u64).max(1) }
}

/// Requests an instance admits per shared-counter write, for a limit per minute.
pub fn lease_size(limit: u32) -> u32 {
    (limit / 100).clamp(1, 50)
}

/// Requests of a bucket this instance may still admit in a window.
#[derive(Debug, Default)]
struct Lease {
    window_start: Option<DateTime<Utc>>,
    remaining: u32,
}

/// The per-instance side of the limiter: leases per bucket. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Limiter {
    leases: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<Lease>>>>>,
}

/// Buckets kept in memory before idle ones are dropped.
const MAX_BUCKETS: usize = 10_000;

impl Limiter {
    /// Counts a request on `bucket` and refuses it when over `limit` per minute (0: no limit).
    pub async fn check(&self, pool: &PgPool, bucket: &str, limit: u32, now: DateTime<Utc>) -> Result<(), Problem> {
        if limit == 0 {
            return Ok(());
        }
        let window_start = now.duration_trunc(WINDOW).unwrap_or(now);
        let entry = {
            let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
            if leases.len() >= MAX_BUCKETS && !leases.contains_key(bucket) {
                leases.retain(|_, l| l.try_lock().map(|l| l.window_start == Some(window_start)).unwrap_or(true));
            }
            leases.entry(bucket.to_owned()).or_default().clone()
        };
        let mut lease = entry.lock().await;
        if lease.window_start == Some(window_start) && lease.remaining > 0 {
            lease.remaining -= 1;
            return Ok(());
        }
        let size = lease_size(limit);
        let counts = store::rate_limits::hit(pool, bucket, size as i32, window_start, window_start - WINDOW).await?;
        purge_now_and_then(pool, now).await;
        match assess(counts.hits, counts.previous_hits, now - window_start, limit) {
            Decision::Allowed => {
                *lease = Lease { window_start: Some(window_start), remaining: size - 1 };
                Ok(())
            }
            Decision::Limited { retry_after_secs } => {
                *lease = Lease::default();
                tracing::info!(bucket, retry_after_secs, "rate limited");
                Err(Problem::rate_limited(retry_after_secs))
            }
        }
    }
}

/// Failed API-key authentications per client IP, counted in memory per instance: once a client
/// has presented `limit` unknown (or revoked, or wrong) keys in a minute, its requests with a key
/// are refused with 429 before any lookup, until the minute is over. Guessing keys then costs
/// the database nothing: not a lookup (the failures) and not a counter write (the shared limiter
/// would write per request at such limits). Per instance, so N busy Lambda instances admit N ×
/// the limit; the edge limits per client IP in front of them all.
#[derive(Debug, Clone, Default)]
pub struct FailureGate {
    failures: Arc<Mutex<HashMap<std::net::IpAddr, (DateTime<Utc>, u32)>>>,
}

impl FailureGate {
    /// Refuses a client that used up its failures in this window (0: no limit).
    pub fn check(&self, ip: std::net::IpAddr, limit: u32, now: DateTime<Utc>) -> Result<(), Problem> {
        if limit == 0 {
            return Ok(());
        }
        let window_start = now.duration_trunc(WINDOW).unwrap_or(now);
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(&ip) {
            Some((start, n)) if *start == window_start && *n >= limit => {
                let retry_after_secs = ((window_start + WINDOW - now).num_milliseconds() as f64 / 1000.0).ceil().max(1.0) as u64;
                Err(Problem::rate_limited(retry_after_secs))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed authentication of `ip`.
    pub fn failed(&self, ip: std::net::IpAddr, now: DateTime<Utc>) {
        let window_start = now.duration_trunc(WINDOW).unwrap_or(now);
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_BUCKETS && !failures.contains_key(&ip) {
            failures.retain(|_, (start, _)| *start == window_start);
            if failures.len() >= MAX_BUCKETS {
                failures.clear(); // a flood from more addresses than we keep: start over rather than grow
            }
        }
        let entry = failures.entry(ip).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 == u32::MAX {
            tracing::warn!(%ip, "a client keeps presenting unknown API keys");
        }
    }
}

/// Every this many shared-counter writes an instance deletes buckets idle for ten minutes (rows
/// of keys and IPs that stopped calling); cheap, and needs no scheduler.
const PURGE_EVERY: u64 = 5_000;

async fn purge_now_and_then(pool: &PgPool, now: DateTime<Utc>) {
    static COUNTED: AtomicU64 = AtomicU64::new(0);
    if COUNTED.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1
        && let Err(e) = store::rate_limits::purge_stale(pool, now - TimeDelta::minutes(10)).await
    {
        tracing::warn!(error = %e, "purging idle rate-limit buckets failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> TimeDelta {
        TimeDelta::seconds(s)
    }

    #[test]
    fn allows_up_to_the_limit_in_a_fresh_window() {
        assert_eq!(assess(10, 0, secs(5), 10), Decision::Allowed);
        assert!(matches!(assess(11, 0, secs(5), 10), Decision::Limited { .. }));
    }

    #[test]
    fn the_previous_window_weighs_in_proportion_to_the_time_left() {
        // 10 in the previous minute, 30 s into this one: they weigh 5.
        assert_eq!(assess(5, 10, secs(30), 10), Decision::Allowed);
        assert!(matches!(assess(6, 10, secs(30), 10), Decision::Limited { .. }));
        // at the very end of the window the previous one no longer counts
        assert_eq!(assess(10, 1000, secs(60), 10), Decision::Allowed);
    }

    #[test]
    fn retry_after_points_to_when_a_request_fits_again() {
        // over the limit in this window alone: wait for the window to end, and then some
        let Decision::Limited { retry_after_secs } = assess(20, 0, secs(50), 10) else { panic!() };
        assert!((10..=60).contains(&retry_after_secs), "{retry_after_secs}");
        // this window has room; the previous window's weight must fade: 6 + 10×(60−30)/60 = 11 > 10,
        // fits when 10×(60−30−t)/60 ≤ 3 → t ≥ 12 s
        assert_eq!(assess(6, 10, secs(30), 10), Decision::Limited { retry_after_secs: 12 });
        // never zero
        let Decision::Limited { retry_after_secs } = assess(11, 0, secs(60), 10) else { panic!() };
        assert!(retry_after_secs >= 1);
    }

    #[test]
    fn leases_are_a_hundredth_of_the_limit_within_bounds() {
        assert_eq!(lease_size(3), 1);
        assert_eq!(lease_size(600), 6);
        assert_eq!(lease_size(1_000_000), 50);
    }

    #[test]
    fn the_failure_gate_closes_after_the_limit_until_the_window_ends() {
        let gate = FailureGate::default();
        let (ip, other) = ("198.51.100.7".parse().unwrap(), "198.51.100.8".parse().unwrap());
        let now = Utc::now().duration_trunc(WINDOW).unwrap() + secs(15);
        for _ in 0..3 {
            gate.check(ip, 3, now).unwrap();
            gate.failed(ip, now);
        }
        let refused = gate.check(ip, 3, now).unwrap_err();
        assert_eq!(refused.status, 429);
        assert!(refused.detail.contains("retry in 45 s"), "{}", refused.detail);
        gate.check(other, 3, now).unwrap();
        gate.check(ip, 3, now + secs(45)).unwrap();
        gate.check(ip, 0, now).unwrap();
    }

    #[sqlx::test(migrator = "store::MIGRATOR")]
    async fn a_lease_admits_from_memory_and_the_shared_count_holds_across_instances(pool: PgPool) {
        let (a, b) = (Limiter::default(), Limiter::default());
        let now = Utc::now().duration_trunc(WINDOW).unwrap() + secs(1);
        let count = || sqlx::query_scalar::<_, i32>("SELECT hits FROM rate_limit_counters WHERE bucket = 'k'").fetch_one(&pool);
        // limit 300: leases of 3
        for _ in 0..3 {
            a.check(&pool, "k", 300, now).await.unwrap();
        }
        assert_eq!(count().await.unwrap(), 3, "one write for three requests");
        a.check(&pool, "k", 300, now).await.unwrap();
        assert_eq!(count().await.unwrap(), 6);
        // another instance draws on the same count; near the limit both are refused
        sqlx::query("UPDATE rate_limit_counters SET hits = 298").execute(&pool).await.unwrap();
        let refused = b.check(&pool, "k", 300, now).await.unwrap_err();
        assert_eq!(refused.status, 429);
        a.check(&pool, "k", 300, now).await.unwrap();
        a.check(&pool, "k", 300, now).await.unwrap();
        assert_eq!(a.check(&pool, "k", 300, now).await.unwrap_err().status, 429, "the lease ran out, the shared count is over");
    }
}
