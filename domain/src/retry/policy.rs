//! The per-job retry policy: how many attempts, and the bounds of the exponential backoff.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often and how patiently a delivery is retried.
///
/// Always valid: built by [`RetryPolicy::new`] (or deserialised through it), which enforces
/// `max_attempts` in 1..=10, `base_delay` in 1 s..=1 h and `max_delay` in `base_delay`..=24 h.
/// Delays are whole seconds. On the wire it is
/// `{"max_attempts": 5, "base_delay_secs": 10, "max_delay_secs": 3600}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RetryPolicyInput", into = "RetryPolicyInput")]
pub struct RetryPolicy {
    max_attempts: u8,
    base_delay_secs: u32,
    max_delay_secs: u32,
}

/// The unvalidated wire form of a [`RetryPolicy`], as a user sends it.
///
/// `base_delay_secs` defaults to 10 s; `max_delay_secs` defaults to the larger of 1 h and
/// `base_delay_secs`, so `{"max_attempts": 3}` alone is a complete policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicyInput {
    pub max_attempts: u8,
    #[serde(default)]
    pub base_delay_secs: Option<u32>,
    #[serde(default)]
    pub max_delay_secs: Option<u32>,
}

/// Why a retry policy was rejected. [`field`](Self::field) and [`code`](Self::code) name the
/// offending input for field-level API errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryPolicyError {
    #[error("max_attempts must be between 1 and {max} (1 means no retries), got {got}", max = RetryPolicy::MAX_ATTEMPTS)]
    MaxAttempts { got: u8 },
    #[error("base_delay_secs must be between 1 and {max} seconds (1 hour), got {got}", max = RetryPolicy::MAX_BASE_DELAY_SECS)]
    BaseDelay { got: u32 },
    #[error("max_delay_secs must be between base_delay_secs ({base}) and {max} seconds (24 hours), got {got}", max = RetryPolicy::MAX_MAX_DELAY_SECS)]
    MaxDelay { got: u32, base: u32 },
}

impl RetryPolicyError {
    /// The input field at fault, relative to the policy object.
    pub fn field(&self) -> &'static str {
        match self {
            RetryPolicyError::MaxAttempts { .. } => "max_attempts",
            RetryPolicyError::BaseDelay { .. } => "base_delay_secs",
            RetryPolicyError::MaxDelay { .. } => "max_delay_secs",
        }
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            RetryPolicyError::MaxAttempts { .. } => "retry_max_attempts",
            RetryPolicyError::BaseDelay { .. } => "retry_base_delay",
            RetryPolicyError::MaxDelay { .. } => "retry_max_delay",
        }
    }
}

impl RetryPolicy {
    pub const MAX_ATTEMPTS: u8 = 10;
    pub const MIN_BASE_DELAY_SECS: u32 = 1;
    pub const MAX_BASE_DELAY_SECS: u32 = 60 * 60;
    pub const MAX_MAX_DELAY_SECS: u32 = 24 * 60 * 60;
    const DEFAULT_BASE_DELAY_SECS: u32 = 10;
    const DEFAULT_MAX_DELAY_SECS: u32 = 60 * 60;

    /// A policy with `max_attempts` total attempts (the first one included), backing off
    /// exponentially from `base_delay_secs`, never waiting longer than `max_delay_secs` of its
    /// own accord.
    pub fn new(
        max_attempts: u8,
        base_delay_secs: u32,
        max_delay_secs: u32,
    ) -> Result<Self, RetryPolicyError> {
        Self::check(max_attempts, base_delay_secs, max_delay_secs)
            .into_iter()
            .next()
            .map_or(
                Ok(RetryPolicy {
                    max_attempts,
                    base_delay_secs,
                    max_delay_secs,
                }),
                Err,
            )
    }

    /// Every rule `new` enforces, each violation reported (for APIs that list all errors).
    pub fn check(
        max_attempts: u8,
        base_delay_secs: u32,
        max_delay_secs: u32,
    ) -> Vec<RetryPolicyError> {
        let mut errors = Vec::new();
        if !(1..=Self::MAX_ATTEMPTS).contains(&max_attempts) {
            errors.push(RetryPolicyError::MaxAttempts { got: max_attempts });
        }
        let base_ok =
            (Self::MIN_BASE_DELAY_SECS..=Self::MAX_BASE_DELAY_SECS).contains(&base_delay_secs);
        if !base_ok {
            errors.push(RetryPolicyError::BaseDelay {
                got: base_delay_secs,
            });
        }
        // Only compare against the base when the base itself is sane, so one mistake is not
        // reported twice.
        let floor = if base_ok {
            base_delay_secs
        } else {
            Self::MIN_BASE_DELAY_SECS
        };
        if !(floor..=Self::MAX_MAX_DELAY_SECS).contains(&max_delay_secs) {
            errors.push(RetryPolicyError::MaxDelay {
                got: max_delay_secs,
                base: base_delay_secs,
            });
        }
        errors
    }

    /// The default for one-time jobs and queued calls: 5 attempts, backing off from 10 s,
    /// at most 1 h between attempts.
    pub const fn one_time_default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay_secs: Self::DEFAULT_BASE_DELAY_SECS,
            max_delay_secs: Self::DEFAULT_MAX_DELAY_SECS,
        }
    }

    /// The default for cron jobs: a single attempt; the next scheduled run is the retry.
    pub const fn cron_default() -> Self {
        RetryPolicy {
            max_attempts: 1,
            base_delay_secs: Self::DEFAULT_BASE_DELAY_SECS,
            max_delay_secs: Self::DEFAULT_MAX_DELAY_SECS,
        }
    }

    /// Total attempts, the first one included.
    pub const fn max_attempts(&self) -> u8 {
        self.max_attempts
    }

    pub const fn base_delay(&self) -> Duration {
        Duration::from_secs(self.base_delay_secs as u64)
    }

    pub const fn max_delay(&self) -> Duration {
        Duration::from_secs(self.max_delay_secs as u64)
    }

    /// Whether this policy ever retries.
    pub const fn retries(&self) -> bool {
        self.max_attempts > 1
    }

    /// The backoff ceiling after attempt `attempt` (1-based) failed, before jitter:
    /// `min(max_delay, base_delay × 2^(attempt−1))`.
    pub fn backoff_ceiling(&self, attempt: u8) -> Duration {
        let doublings = u32::from(attempt.max(1) - 1).min(31);
        let secs = u64::from(self.base_delay_secs).saturating_mul(1u64 << doublings);
        Duration::from_secs(secs.min(u64::from(self.max_delay_secs)))
    }
}

impl TryFrom<RetryPolicyInput> for RetryPolicy {
    type Error = RetryPolicyError;

    fn try_from(input: RetryPolicyInput) -> Result<Self, Self::Error> {
        let (a, b, m) = input.resolved();
        RetryPolicy::new(a, b, m)
    }
}

impl From<RetryPolicy> for RetryPolicyInput {
    fn from(p: RetryPolicy) -> Self {
        RetryPolicyInput {
            max_attempts: p.max_attempts,
            base_delay_secs: Some(p.base_delay_secs),
            max_delay_secs: Some(p.max_delay_secs),
        }
    }
}

impl RetryPolicyInput {
    /// `(max_attempts, base_delay_secs, max_delay_secs)` with the documented defaults filled in.
    pub fn resolved(&self) -> (u8, u32, u32) {
        let base = self
            .base_delay_secs
            .unwrap_or(RetryPolicy::DEFAULT_BASE_DELAY_SECS);
        let max = self
            .max_delay_secs
            .unwrap_or(base.max(RetryPolicy::DEFAULT_MAX_DELAY_SECS));
        (self.max_attempts, base, max)
    }

    /// Validates, reporting every violated rule.
    pub fn validate(&self) -> Result<RetryPolicy, Vec<RetryPolicyError>> {
        let (a, b, m) = self.resolved();
        let errors = RetryPolicy::check(a, b, m);
        if errors.is_empty() {
            Ok(RetryPolicy {
                max_attempts: a,
                base_delay_secs: b,
                max_delay_secs: m,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_as_documented() {
        let once = RetryPolicy::one_time_default();
        assert_eq!(once.max_attempts(), 5);
        assert_eq!(once.base_delay(), Duration::from_secs(10));
        assert_eq!(once.max_delay(), Duration::from_secs(3600));
        assert!(once.retries());
        let cron = RetryPolicy::cron_default();
        assert_eq!(cron.max_attempts(), 1);
        assert!(!cron.retries());
    }

    #[test]
    fn new_accepts_the_bounds() {
        assert!(RetryPolicy::new(1, 1, 1).is_ok());
        assert!(RetryPolicy::new(10, 3600, 86_400).is_ok());
    }

    #[test]
    fn new_rejects_attempts_out_of_range() {
        assert_eq!(
            RetryPolicy::new(0, 10, 60),
            Err(RetryPolicyError::MaxAttempts { got: 0 })
        );
        let err = RetryPolicy::new(11, 10, 60).unwrap_err();
        assert_eq!(err.field(), "max_attempts");
        assert_eq!(err.code(), "retry_max_attempts");
        assert!(err.to_string().contains("got 11"));
    }

    #[test]
    fn new_rejects_base_delay_out_of_range() {
        assert_eq!(
            RetryPolicy::new(3, 0, 60),
            Err(RetryPolicyError::BaseDelay { got: 0 })
        );
        assert_eq!(
            RetryPolicy::new(3, 3601, 7200),
            Err(RetryPolicyError::BaseDelay { got: 3601 })
        );
    }

    #[test]
    fn new_rejects_max_delay_below_base_or_above_a_day() {
        let err = RetryPolicy::new(3, 60, 59).unwrap_err();
        assert_eq!(err, RetryPolicyError::MaxDelay { got: 59, base: 60 });
        assert_eq!(err.code(), "retry_max_delay");
        assert!(RetryPolicy::new(3, 60, 86_401).is_err());
    }

    #[test]
    fn check_reports_every_violation_once() {
        let errors = RetryPolicy::check(0, 0, 100_000);
        let codes: Vec<_> = errors.iter().map(RetryPolicyError::code).collect();
        assert_eq!(
            codes,
            ["retry_max_attempts", "retry_base_delay", "retry_max_delay"]
        );
        // A bad base alone does not also flag a max that is fine on its own.
        assert_eq!(RetryPolicy::check(3, 0, 60).len(), 1);
    }

    #[test]
    fn backoff_ceiling_doubles_then_caps() {
        let p = RetryPolicy::new(10, 10, 100).unwrap();
        let secs: Vec<u64> = (1..=6).map(|n| p.backoff_ceiling(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 100, 100]);
        assert_eq!(p.backoff_ceiling(0), Duration::from_secs(10));
        assert_eq!(p.backoff_ceiling(u8::MAX), Duration::from_secs(100));
    }

    #[test]
    fn wire_form_round_trips_and_fills_defaults() {
        let p: RetryPolicy = serde_json::from_str(r#"{"max_attempts":3}"#).unwrap();
        assert_eq!(p, RetryPolicy::new(3, 10, 3600).unwrap());
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"max_attempts":3,"base_delay_secs":10,"max_delay_secs":3600}"#
        );
        assert_eq!(serde_json::from_str::<RetryPolicy>(&json).unwrap(), p);
        // A large base lifts the default maximum with it.
        let big: RetryPolicy =
            serde_json::from_str(r#"{"max_attempts":2,"base_delay_secs":3600}"#).unwrap();
        assert_eq!(big.max_delay(), Duration::from_secs(3600));
    }

    #[test]
    fn deserialising_an_invalid_policy_fails_with_the_rule() {
        let err = serde_json::from_str::<RetryPolicy>(r#"{"max_attempts":0}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("max_attempts must be between 1 and 10")
        );
        assert!(serde_json::from_str::<RetryPolicy>(r#"{"max_attempts":2,"bogus":1}"#).is_err());
    }

    #[test]
    fn input_validate_lists_all_errors() {
        let input = RetryPolicyInput {
            max_attempts: 20,
            base_delay_secs: Some(0),
            max_delay_secs: Some(0),
        };
        assert_eq!(input.validate().unwrap_err().len(), 3);
    }
}
