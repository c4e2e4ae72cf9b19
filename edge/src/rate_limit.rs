//! Per-client rate limits: the buckets, their rules, the `Retry-After` arithmetic and the
//! in-isolate fixed-window counter used when the Cloudflare rate-limiting binding is unavailable.
//!
//! The binding (`[[ratelimits]]` in wrangler.toml) is authoritative: it counts across all isolates
//! of a Cloudflare location, where this module's counter only sees one isolate. See edge/README.md.

use std::collections::HashMap;

/// A limit: at most `limit` requests per client in each `period_secs` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub limit: u32,
    pub period_secs: u32,
}

/// What a client is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Every request reaching the edge (pages, assets, forwarded calls).
    Requests,
    /// Waitlist sign-ups, on top of `Requests`.
    Waitlist,
}

impl Bucket {
    pub const ALL: [Bucket; 2] = [Bucket::Requests, Bucket::Waitlist];

    /// Name of the `[[ratelimits]]` binding in wrangler.toml.
    pub fn binding(self) -> &'static str {
        match self {
            Bucket::Requests => "REQUEST_LIMITER",
            Bucket::Waitlist => "WAITLIST_LIMITER",
        }
    }

    /// The rule; it must equal the binding's `simple` settings in wrangler.toml (a test checks).
    pub fn rule(self) -> Rule {
        match self {
            Bucket::Requests => Rule {
                limit: 120,
                period_secs: 10,
            },
            Bucket::Waitlist => Rule {
                limit: 5,
                period_secs: 60,
            },
        }
    }
}

/// Whether a request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Limit { retry_after_secs: u32 },
}

/// Seconds until the window containing `now_ms` closes, rounded up, never 0. Both the binding's
/// local implementation and [`FixedWindows`] use windows aligned to multiples of the period.
pub fn retry_after_secs(now_ms: u64, period_secs: u32) -> u32 {
    let period_ms = u64::from(period_secs.max(1)) * 1000;
    let remaining_ms = period_ms - now_ms % period_ms;
    u32::try_from(remaining_ms.div_ceil(1000))
        .unwrap_or(period_secs)
        .max(1)
}

/// Counts requests per client in the current window of one bucket, within one isolate.
#[derive(Debug)]
pub struct FixedWindows {
    rule: Rule,
    window: u64,
    counts: HashMap<String, u32>,
    max_clients: usize,
}

impl FixedWindows {
    /// `max_clients` bounds memory: once that many clients are counted in a window, further new
    /// clients pass uncounted until the window turns (a flood from that many addresses is beyond
    /// what per-client limits can stop anyway).
    pub fn new(rule: Rule, max_clients: usize) -> Self {
        Self {
            rule,
            window: 0,
            counts: HashMap::new(),
            max_clients,
        }
    }

    /// Counts one request from `client` at `now_ms` (milliseconds since the Unix epoch).
    pub fn check(&mut self, client: &str, now_ms: u64) -> Decision {
        let window = now_ms / (u64::from(self.rule.period_secs.max(1)) * 1000);
        if window != self.window {
            self.window = window;
            self.counts.clear();
        }
        if !self.counts.contains_key(client) && self.counts.len() >= self.max_clients {
            return Decision::Allow;
        }
        let count = self.counts.entry(client.to_owned()).or_insert(0);
        if *count >= self.rule.limit {
            return Decision::Limit {
                retry_after_secs: retry_after_secs(now_ms, self.rule.period_secs),
            };
        }
        *count += 1;
        Decision::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a multiple of every period

    #[test]
    fn retry_after_counts_to_the_end_of_the_window() {
        assert_eq!(retry_after_secs(T0, 60), 60);
        assert_eq!(retry_after_secs(T0 + 1, 60), 60);
        assert_eq!(retry_after_secs(T0 + 1_000, 60), 59);
        assert_eq!(retry_after_secs(T0 + 59_001, 60), 1);
        assert_eq!(retry_after_secs(T0 + 59_999, 60), 1);
        assert_eq!(retry_after_secs(T0 + 4_500, 10), 6);
    }

    #[test]
    fn a_client_is_limited_after_its_allowance_until_the_window_turns() {
        let mut windows = FixedWindows::new(
            Rule {
                limit: 3,
                period_secs: 10,
            },
            100,
        );
        for i in 0..3 {
            assert_eq!(windows.check("203.0.113.7", T0 + i * 100), Decision::Allow);
        }
        assert_eq!(
            windows.check("203.0.113.7", T0 + 2_500),
            Decision::Limit {
                retry_after_secs: 8
            }
        );
        assert_eq!(
            windows.check("203.0.113.7", T0 + 9_999),
            Decision::Limit {
                retry_after_secs: 1
            }
        );
        assert_eq!(windows.check("203.0.113.7", T0 + 10_000), Decision::Allow);
    }

    #[test]
    fn clients_are_counted_separately() {
        let mut windows = FixedWindows::new(
            Rule {
                limit: 1,
                period_secs: 60,
            },
            100,
        );
        assert_eq!(windows.check("a", T0), Decision::Allow);
        assert_eq!(windows.check("b", T0), Decision::Allow);
        assert!(matches!(windows.check("a", T0), Decision::Limit { .. }));
        assert!(matches!(windows.check("b", T0), Decision::Limit { .. }));
    }

    #[test]
    fn memory_stays_bounded_and_known_clients_stay_limited() {
        let mut windows = FixedWindows::new(
            Rule {
                limit: 1,
                period_secs: 60,
            },
            2,
        );
        assert_eq!(windows.check("a", T0), Decision::Allow);
        assert_eq!(windows.check("b", T0), Decision::Allow);
        for _ in 0..5 {
            assert_eq!(windows.check("c", T0), Decision::Allow);
        }
        assert_eq!(windows.counts.len(), 2);
        assert!(matches!(windows.check("a", T0), Decision::Limit { .. }));
    }

    #[test]
    fn bucket_rules_match_the_bindings_in_wrangler_toml() {
        let config = include_str!("../../wrangler.toml");
        for bucket in Bucket::ALL {
            let rule = bucket.rule();
            let block = config
                .split("[[ratelimits]]")
                .skip(1)
                .find(|block| {
                    block
                        .lines()
                        .any(|line| line.trim() == format!("name = \"{}\"", bucket.binding()))
                })
                .unwrap_or_else(|| {
                    panic!(
                        "wrangler.toml has no [[ratelimits]] binding {}",
                        bucket.binding()
                    )
                });
            let simple = block
                .lines()
                .find(|line| line.trim_start().starts_with("simple"))
                .expect("simple = { … }");
            assert!(
                simple.contains(&format!("limit = {}", rule.limit)),
                "{}: {simple}",
                bucket.binding()
            );
            assert!(
                simple.contains(&format!("period = {}", rule.period_secs)),
                "{}: {simple}",
                bucket.binding()
            );
        }
    }
}
