//! Classifying an attempt's outcome and deciding whether, and when, to try again.
//!
//! # What is retried
//!
//! | outcome                                  | decision                                        |
//! |------------------------------------------|-------------------------------------------------|
//! | 2xx                                      | success                                         |
//! | 3xx                                      | give up: redirects are not followed             |
//! | 408, 429, 5xx                            | retry (honouring `Retry-After`)                 |
//! | 410 Gone                                 | give up: the receiver says it is gone           |
//! | other 4xx, 1xx, ≥ 600                    | give up: retrying the same request cannot help  |
//! | timeout, network error                   | retry                                           |
//! | refused by the SSRF guard                | give up, never retried                          |
//!
//! 3xx is a failure, not a success: the request never reached the code behind the URL, and a
//! silent "success" would hide a moved endpoint forever. The reason tells the user to update
//! the job's URL to the final location (this matches the Standard Webhooks guidance).
//!
//! # How long to wait
//!
//! After attempt `n` fails, the ceiling is `min(max_delay, base_delay × 2^(n−1))` and the delay
//! uses **equal jitter**: `ceiling/2 + jitter × ceiling/2`, i.e. uniformly between half and all of
//! the ceiling. Full jitter (`jitter × ceiling`) spreads load slightly better but can retry a
//! failing receiver almost immediately; equal jitter keeps a guaranteed minimum backoff while
//! still de-synchronising retries of executions that failed together.
//!
//! # `Retry-After`
//!
//! When a retryable response carries `Retry-After`, the delay is the **larger** of the header
//! and the jittered backoff — we never come back earlier than the receiver asked, nor earlier
//! than our own backoff. The header may exceed the policy's `max_delay`: that bound limits our
//! own guesses, but the receiver knows when it will accept traffic again, and retrying before
//! that would only burn an attempt on another 429/503. It is still clamped to
//! [`RETRY_AFTER_CAP`] (24 h) so a buggy or hostile header cannot park an execution forever.

use std::fmt;
use std::time::Duration;

use super::RetryPolicy;

/// The longest a `Retry-After` header can defer the next attempt.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(24 * 60 * 60);

/// What one delivery attempt produced, as observed by the deliverer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Success { status: u16 },
    /// The receiver answered with a non-2xx status (any 2xx here is still treated as success).
    HttpStatus {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No complete response within the job's timeout.
    Timeout,
    /// Connecting, TLS or reading failed.
    Network { message: String },
    /// The SSRF guard refused the target (private, loopback, link-local or metadata address).
    Refused { message: String },
}

impl AttemptOutcome {
    /// Builds the outcome of a received response: `Success` for 2xx, `HttpStatus` otherwise.
    pub fn from_response(status: u16, retry_after: Option<Duration>) -> Self {
        if (200..300).contains(&status) {
            AttemptOutcome::Success { status }
        } else {
            AttemptOutcome::HttpStatus {
                status,
                retry_after,
            }
        }
    }

    /// Whether this outcome, on its own, warrants another attempt.
    pub fn is_retryable(&self) -> bool {
        match self {
            AttemptOutcome::Success { .. } | AttemptOutcome::Refused { .. } => false,
            AttemptOutcome::Timeout | AttemptOutcome::Network { .. } => true,
            AttemptOutcome::HttpStatus { status, .. } => status_is_retryable(*status),
        }
    }
}

fn status_is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// A retryable failure, kept on [`GiveUpReason::AttemptsExhausted`] to say what the last try saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptFailure {
    HttpStatus(u16),
    Timeout,
    Network(String),
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptFailure::HttpStatus(s) => write!(f, "HTTP {s}"),
            AttemptFailure::Timeout => f.write_str("the request timed out"),
            AttemptFailure::Network(m) => write!(f, "network error: {m}"),
        }
    }
}

/// Why an execution ends as failed. `Display` is a sentence fit for the execution history and
/// alerts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GiveUpReason {
    #[error("gave up after {attempts} attempt(s); the last one failed: {last}")]
    AttemptsExhausted { attempts: u8, last: AttemptFailure },
    #[error(
        "the endpoint answered with redirect {status}; redirects are not followed, so update the job's URL to the final location"
    )]
    Redirect { status: u16 },
    #[error("the endpoint answered 410 Gone; it no longer accepts these calls")]
    Gone,
    #[error(
        "the endpoint answered {status}; a client error is not retried because the same request would fail again"
    )]
    ClientError { status: u16 },
    #[error("the endpoint answered with unexpected status {status}")]
    UnexpectedStatus { status: u16 },
    #[error("the call was refused before it was sent: {message}")]
    Refused { message: String },
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryDecision {
    Succeeded,
    /// Schedule the next attempt this long after the current one finished.
    RetryAfter(Duration),
    GiveUp {
        reason: GiveUpReason,
    },
}

/// Decides what follows attempt `attempt` (1-based: the one that just finished) under `policy`.
///
/// `jitter` is a uniformly random number in `[0, 1)` supplied by the caller; values outside that
/// range (or NaN) are clamped, never trusted to scale the delay.
pub fn decide(
    policy: &RetryPolicy,
    attempt: u8,
    outcome: &AttemptOutcome,
    jitter: f64,
) -> RetryDecision {
    let (last, retry_after) = match outcome {
        AttemptOutcome::Success { .. } => return RetryDecision::Succeeded,
        AttemptOutcome::Refused { message } => {
            return give_up(GiveUpReason::Refused {
                message: message.clone(),
            });
        }
        AttemptOutcome::Timeout => (AttemptFailure::Timeout, None),
        AttemptOutcome::Network { message } => (AttemptFailure::Network(message.clone()), None),
        AttemptOutcome::HttpStatus {
            status,
            retry_after,
        } => match *status {
            200..=299 => return RetryDecision::Succeeded,
            s if status_is_retryable(s) => (AttemptFailure::HttpStatus(s), *retry_after),
            s @ 300..=399 => return give_up(GiveUpReason::Redirect { status: s }),
            410 => return give_up(GiveUpReason::Gone),
            s @ 400..=499 => return give_up(GiveUpReason::ClientError { status: s }),
            s => return give_up(GiveUpReason::UnexpectedStatus { status: s }),
        },
    };
    let attempt = attempt.max(1);
    if attempt >= policy.max_attempts() {
        return give_up(GiveUpReason::AttemptsExhausted {
            attempts: attempt,
            last,
        });
    }
    let backoff = equal_jitter(policy.backoff_ceiling(attempt), jitter);
    let delay = match retry_after {
        Some(asked) => backoff.max(asked).min(RETRY_AFTER_CAP),
        None => backoff,
    };
    RetryDecision::RetryAfter(delay)
}

fn give_up(reason: GiveUpReason) -> RetryDecision {
    RetryDecision::GiveUp { reason }
}

/// Uniform in `[ceiling/2, ceiling)`, rounded down to whole milliseconds.
fn equal_jitter(ceiling: Duration, jitter: f64) -> Duration {
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let half_ms = ceiling.as_millis() as f64 / 2.0;
    Duration::from_millis((half_ms + half_ms * jitter) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(attempts: u8) -> RetryPolicy {
        RetryPolicy::new(attempts, 10, 3600).unwrap()
    }

    fn status(s: u16) -> AttemptOutcome {
        AttemptOutcome::HttpStatus {
            status: s,
            retry_after: None,
        }
    }

    fn delay(d: RetryDecision) -> Duration {
        match d {
            RetryDecision::RetryAfter(d) => d,
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    fn reason(d: RetryDecision) -> GiveUpReason {
        match d {
            RetryDecision::GiveUp { reason } => reason,
            other => panic!("expected to give up, got {other:?}"),
        }
    }

    #[test]
    fn success_is_success_on_any_attempt() {
        for attempt in [1, 5, 10] {
            let outcome = AttemptOutcome::Success { status: 204 };
            assert_eq!(
                decide(&policy(5), attempt, &outcome, 0.5),
                RetryDecision::Succeeded
            );
        }
        assert_eq!(
            decide(&policy(5), 1, &status(200), 0.5),
            RetryDecision::Succeeded
        );
    }

    #[test]
    fn retryable_statuses_are_retried() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(
                matches!(
                    decide(&policy(5), 1, &status(s), 0.0),
                    RetryDecision::RetryAfter(_)
                ),
                "{s}"
            );
        }
    }

    #[test]
    fn timeouts_and_network_errors_are_retried() {
        let network = AttemptOutcome::Network {
            message: "connection reset".into(),
        };
        assert!(matches!(
            decide(&policy(2), 1, &network, 0.0),
            RetryDecision::RetryAfter(_)
        ));
        assert!(matches!(
            decide(&policy(2), 1, &AttemptOutcome::Timeout, 0.0),
            RetryDecision::RetryAfter(_)
        ));
    }

    #[test]
    fn other_client_errors_are_not_retried() {
        for s in [400, 401, 403, 404, 409, 422] {
            assert_eq!(
                reason(decide(&policy(5), 1, &status(s), 0.0)),
                GiveUpReason::ClientError { status: s }
            );
        }
    }

    #[test]
    fn gone_is_its_own_reason() {
        let r = reason(decide(&policy(5), 1, &status(410), 0.0));
        assert_eq!(r, GiveUpReason::Gone);
        assert!(r.to_string().contains("410"));
    }

    #[test]
    fn redirects_fail_with_advice_to_update_the_url() {
        for s in [301, 302, 307, 308] {
            let r = reason(decide(&policy(5), 1, &status(s), 0.0));
            assert_eq!(r, GiveUpReason::Redirect { status: s });
            assert!(r.to_string().contains("update the job's URL"));
        }
    }

    #[test]
    fn informational_and_nonstandard_statuses_are_unexpected() {
        for s in [100, 199, 600, 999] {
            assert_eq!(
                reason(decide(&policy(5), 1, &status(s), 0.0)),
                GiveUpReason::UnexpectedStatus { status: s }
            );
        }
    }

    #[test]
    fn refusals_are_never_retried_even_with_attempts_left() {
        let refused = AttemptOutcome::Refused {
            message: "10.0.0.1 is a private address".into(),
        };
        let r = reason(decide(&policy(10), 1, &refused, 0.0));
        assert!(r.to_string().contains("10.0.0.1 is a private address"));
    }

    #[test]
    fn last_attempt_gives_up_naming_the_last_failure() {
        let r = reason(decide(&policy(3), 3, &status(503), 0.0));
        assert_eq!(
            r,
            GiveUpReason::AttemptsExhausted {
                attempts: 3,
                last: AttemptFailure::HttpStatus(503)
            }
        );
        assert_eq!(
            r.to_string(),
            "gave up after 3 attempt(s); the last one failed: HTTP 503"
        );
        let once = reason(decide(
            &RetryPolicy::cron_default(),
            1,
            &AttemptOutcome::Timeout,
            0.0,
        ));
        assert!(once.to_string().contains("timed out"));
    }

    #[test]
    fn attempts_past_the_maximum_still_give_up() {
        assert!(matches!(
            decide(&policy(3), 9, &AttemptOutcome::Timeout, 0.0),
            RetryDecision::GiveUp { .. }
        ));
    }

    #[test]
    fn backoff_grows_exponentially_with_equal_jitter_bounds() {
        let p = policy(10);
        for (attempt, ceiling) in [(1u8, 10u64), (2, 20), (3, 40), (4, 80)] {
            let low = delay(decide(&p, attempt, &AttemptOutcome::Timeout, 0.0));
            let high = delay(decide(&p, attempt, &AttemptOutcome::Timeout, 0.999_999));
            assert_eq!(low, Duration::from_secs(ceiling) / 2);
            assert!(high < Duration::from_secs(ceiling) && high > low);
        }
        let mid = delay(decide(&p, 1, &AttemptOutcome::Timeout, 0.5));
        assert_eq!(mid, Duration::from_millis(7_500));
    }

    #[test]
    fn backoff_is_capped_by_max_delay() {
        let p = RetryPolicy::new(10, 60, 300).unwrap();
        let d = delay(decide(&p, 9, &AttemptOutcome::Timeout, 0.999));
        assert!(d <= Duration::from_secs(300) && d >= Duration::from_secs(150));
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        let p = policy(5);
        let ceiling = Duration::from_secs(10);
        assert_eq!(
            delay(decide(&p, 1, &AttemptOutcome::Timeout, f64::NAN)),
            ceiling / 2
        );
        assert_eq!(
            delay(decide(&p, 1, &AttemptOutcome::Timeout, -3.0)),
            ceiling / 2
        );
        assert_eq!(delay(decide(&p, 1, &AttemptOutcome::Timeout, 7.0)), ceiling);
    }

    #[test]
    fn retry_after_longer_than_backoff_wins() {
        let outcome = AttemptOutcome::HttpStatus {
            status: 429,
            retry_after: Some(Duration::from_secs(120)),
        };
        assert_eq!(
            delay(decide(&policy(5), 1, &outcome, 0.5)),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn retry_after_shorter_than_backoff_does_not_shorten_it() {
        let outcome = AttemptOutcome::HttpStatus {
            status: 503,
            retry_after: Some(Duration::from_secs(1)),
        };
        assert_eq!(
            delay(decide(&policy(5), 3, &outcome, 0.0)),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn retry_after_may_exceed_max_delay_up_to_the_hard_cap() {
        let p = RetryPolicy::new(5, 10, 60).unwrap();
        let two_hours = AttemptOutcome::HttpStatus {
            status: 503,
            retry_after: Some(Duration::from_secs(7200)),
        };
        assert_eq!(
            delay(decide(&p, 1, &two_hours, 0.0)),
            Duration::from_secs(7200)
        );
        let a_week = AttemptOutcome::HttpStatus {
            status: 429,
            retry_after: Some(Duration::from_secs(7 * 86_400)),
        };
        assert_eq!(delay(decide(&p, 1, &a_week, 0.0)), RETRY_AFTER_CAP);
    }

    #[test]
    fn retry_after_on_a_non_retryable_status_is_ignored() {
        let outcome = AttemptOutcome::HttpStatus {
            status: 404,
            retry_after: Some(Duration::from_secs(5)),
        };
        assert!(matches!(
            decide(&policy(5), 1, &outcome, 0.0),
            RetryDecision::GiveUp { .. }
        ));
    }

    #[test]
    fn from_response_splits_success_from_failure() {
        assert_eq!(
            AttemptOutcome::from_response(201, None),
            AttemptOutcome::Success { status: 201 }
        );
        assert!(!AttemptOutcome::from_response(201, None).is_retryable());
        assert!(AttemptOutcome::from_response(503, None).is_retryable());
        assert!(!AttemptOutcome::from_response(302, None).is_retryable());
    }
}
