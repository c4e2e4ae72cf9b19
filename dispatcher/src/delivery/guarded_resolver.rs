//! The HTTP client's DNS resolver: resolves a host once and hands the connector only the
//! addresses the SSRF guard allows, so what is checked is exactly what is connected to (no
//! window for DNS rebinding between a check and the connect).
//!
//! Reserved names (`localhost`, `metadata.google.internal`, …) are not looked up; they are
//! judged as the addresses they stand for. Addresses the guard refuses are dropped; when none is
//! left, resolution fails with [`TargetRefused`], which the deliverer finds in the error chain
//! and reports as `AttemptOutcome::Refused`. IP-literal URLs never reach a resolver; the
//! deliverer checks those before sending.
//!
//! Answers are kept for [`ANSWER_TTL`]: the deliverer resolves a name to key the per-address
//! limit before sending, and the connection made right after uses the same answer (what was
//! vetted is what is connected to) without a second lookup.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::ssrf::{RefusedAddress, TargetGuard, refused_name_message, reserved_name_addresses};

/// A delivery target refused by the SSRF guard; `Display` is the user-facing sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TargetRefused {
    pub message: String,
}

impl From<RefusedAddress> for TargetRefused {
    fn from(refused: RefusedAddress) -> Self {
        TargetRefused {
            message: refused.to_string(),
        }
    }
}

/// A name that resolved to no address at all.
#[derive(Debug, thiserror::Error)]
#[error("{host} has no IP addresses")]
struct NoAddresses {
    host: String,
}

/// Resolves with the system resolver (getaddrinfo on tokio's blocking pool) and filters.
///
/// getaddrinfo blocks a thread of tokio's shared blocking pool for as long as DNS takes; a
/// burst of runs aimed at names whose DNS hangs would fill that pool and stall everything else
/// that uses it. So at most [`MAX_LOOKUPS`] lookups run at once, each given [`LOOKUP_TIMEOUT`].
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    guard: Arc<TargetGuard>,
    lookups: Arc<tokio::sync::Semaphore>,
    /// Vetted answers by name, with when each was looked up (only successful lookups are kept).
    answers: Arc<Mutex<HashMap<Box<str>, (Instant, Arc<[SocketAddr]>)>>>,
}

/// How long a vetted answer is used before the name is looked up again.
pub const ANSWER_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// Names whose answers are kept at most (expired ones are dropped first, then all).
const MAX_ANSWERS: usize = 10_000;

/// Lookups in flight at once (each holds a blocking-pool thread).
pub const MAX_LOOKUPS: usize = 32;
/// The longest one lookup may take before the delivery fails as a network error.
pub const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A name whose lookup did not finish in time.
#[derive(Debug, thiserror::Error)]
#[error("looking up {host} took longer than {secs} s")]
struct LookupTimedOut {
    host: String,
    secs: u64,
}

impl GuardedResolver {
    pub fn new(guard: Arc<TargetGuard>) -> Self {
        GuardedResolver { guard, lookups: Arc::new(tokio::sync::Semaphore::new(MAX_LOOKUPS)), answers: Arc::default() }
    }

    fn remembered(&self, host: &str) -> Option<Arc<[SocketAddr]>> {
        let answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        answers.get(host).filter(|(at, _)| at.elapsed() < ANSWER_TTL).map(|(_, addrs)| Arc::clone(addrs))
    }

    fn remember(&self, host: &str, addrs: Arc<[SocketAddr]>) {
        let mut answers = self.answers.lock().unwrap_or_else(PoisonError::into_inner);
        if answers.len() >= MAX_ANSWERS {
            answers.retain(|_, (at, _)| at.elapsed() < ANSWER_TTL);
            if answers.len() >= MAX_ANSWERS {
                answers.clear();
            }
        }
        answers.insert(host.into(), (Instant::now(), addrs));
    }

    /// The system resolver's answer, bounded in concurrency and time.
    async fn lookup(&self, host: &str) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let timed_out = || LookupTimedOut { host: host.to_owned(), secs: LOOKUP_TIMEOUT.as_secs() };
        let started = tokio::time::Instant::now();
        let _turn = tokio::time::timeout(LOOKUP_TIMEOUT, self.lookups.acquire()).await.map_err(|_| timed_out())?;
        let left = LOOKUP_TIMEOUT.saturating_sub(started.elapsed());
        let found = tokio::time::timeout(left, tokio::net::lookup_host((host, 0))).await.map_err(|_| timed_out())??;
        Ok(found.collect())
    }

    /// The addresses of `host` the guard allows, or why there are none: a recent answer, or a
    /// new lookup.
    pub async fn vetted_addresses(&self, host: &str) -> Result<Arc<[SocketAddr]>, Box<dyn std::error::Error + Send + Sync>> {
        if let Some(addrs) = self.remembered(host) {
            return Ok(addrs);
        }
        let addrs: Arc<[SocketAddr]> = self.look_up_and_vet(host).await?.into();
        self.remember(host, Arc::clone(&addrs));
        Ok(addrs)
    }

    async fn look_up_and_vet(&self, host: &str) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let found: Vec<SocketAddr> = match reserved_name_addresses(host) {
            Some(fixed) => fixed.iter().map(|ip| SocketAddr::new(*ip, 0)).collect(),
            None => self.lookup(host).await?,
        };
        if found.is_empty() {
            return Err(NoAddresses {
                host: host.to_owned(),
            }
            .into());
        }
        let (allowed, refused) = self.partition(host, found);
        if allowed.is_empty() {
            return Err(TargetRefused {
                message: refused_name_message(host, &refused),
            }
            .into());
        }
        Ok(allowed)
    }

    fn partition(
        &self,
        host: &str,
        found: Vec<SocketAddr>,
    ) -> (Vec<SocketAddr>, Vec<RefusedAddress>) {
        let mut allowed = Vec::with_capacity(found.len());
        let mut refused = Vec::new();
        for addr in found {
            match self.guard.check(addr.ip()) {
                Ok(()) => allowed.push(addr),
                Err(r) => {
                    if !refused
                        .iter()
                        .any(|x: &RefusedAddress| x.address == r.address)
                    {
                        refused.push(r);
                    }
                }
            }
        }
        if !allowed.is_empty() && !refused.is_empty() {
            tracing::warn!(
                host,
                refused = ?refused.iter().map(|r| r.address).collect::<Vec<IpAddr>>(),
                "dropped refused addresses of a target host; connecting to the allowed ones only"
            );
        }
        (allowed, refused)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let addrs = this.vetted_addresses(name.as_str()).await?;
            Ok(Box::new(addrs.to_vec().into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(allow: &[&str]) -> GuardedResolver {
        let allow = allow.iter().map(|c| c.parse().unwrap()).collect();
        GuardedResolver::new(Arc::new(TargetGuard::new(allow)))
    }

    fn refused_message(err: &(dyn std::error::Error + Send + Sync + 'static)) -> String {
        err.downcast_ref::<TargetRefused>()
            .expect("a TargetRefused error")
            .message
            .clone()
    }

    #[tokio::test]
    async fn localhost_is_refused_by_name_without_dns() {
        let err = resolver(&[])
            .vetted_addresses("localhost")
            .await
            .unwrap_err();
        let msg = refused_message(err.as_ref());
        assert!(
            msg.starts_with("refused: localhost resolves only to addresses that are not public (a loopback address)"),
            "{msg}"
        );
        let err = resolver(&[])
            .vetted_addresses("app.localhost.")
            .await
            .unwrap_err();
        assert!(refused_message(err.as_ref()).contains("loopback"));
        let err = resolver(&[])
            .vetted_addresses("metadata.google.internal")
            .await
            .unwrap_err();
        assert!(
            refused_message(err.as_ref()).contains("(a cloud metadata address)")
        );
    }

    #[tokio::test]
    async fn the_allow_list_keeps_only_the_allowed_family() {
        let addrs = resolver(&["127.0.0.0/8"])
            .vetted_addresses("localhost")
            .await
            .unwrap();
        assert_eq!(*addrs, ["127.0.0.1:0".parse().unwrap()]);
    }

    /// A vetted answer is reused within its lifetime (no lookup: none could run here) and
    /// looked up again after it; failures are not kept.
    #[tokio::test]
    async fn answers_are_kept_for_their_lifetime_only() {
        let r = resolver(&[]);
        let kept: Arc<[SocketAddr]> = vec!["93.184.215.14:0".parse().unwrap()].into();
        r.remember("kept.example", Arc::clone(&kept));
        let all = r.lookups.clone().acquire_many_owned(MAX_LOOKUPS as u32).await.unwrap();
        assert_eq!(r.vetted_addresses("kept.example").await.unwrap(), kept);
        drop(all);
        r.answers.lock().unwrap().get_mut("kept.example").unwrap().0 -= ANSWER_TTL;
        // `.example` names do not exist: a new lookup fails
        assert!(r.vetted_addresses("kept.example").await.is_err(), "an expired answer is not used");
        assert!(r.vetted_addresses("localhost").await.is_err());
        assert!(r.remembered("localhost").is_none(), "a refusal is not kept");
    }

    #[tokio::test]
    async fn names_the_system_resolves_to_non_public_addresses_are_refused() {
        // The machine's own name goes through the system resolver (not our reserved-name list)
        // and resolves to a loopback or private address on any host or container.
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let name = name.trim();
        let err = resolver(&[]).vetted_addresses(name).await.unwrap_err();
        let msg = refused_message(err.as_ref());
        assert!(
            msg.starts_with(&format!("refused: {name} resolves only to addresses that are not public (")),
            "{msg}"
        );
    }

    /// Lookups are bounded: with every turn taken (lookups hanging in DNS), another one fails
    /// after the timeout instead of taking one more blocking thread.
    #[tokio::test]
    async fn lookups_beyond_the_bound_wait_at_most_the_timeout() {
        let r = resolver(&[]);
        let _all = r.lookups.clone().acquire_many_owned(MAX_LOOKUPS as u32).await.unwrap();
        let err = r.vetted_addresses("example.com").await.unwrap_err();
        assert_eq!(err.to_string(), "looking up example.com took longer than 5 s");
    }

    #[test]
    fn mixed_answers_keep_the_public_addresses() {
        let r = resolver(&[]);
        let found = vec![
            "10.0.0.7:0".parse().unwrap(),
            "93.184.215.14:0".parse().unwrap(),
            "10.0.0.7:0".parse().unwrap(),
        ];
        let (allowed, refused) = r.partition("mixed.example", found);
        assert_eq!(allowed, vec!["93.184.215.14:0".parse().unwrap()]);
        assert_eq!(refused.len(), 1);
    }
}
