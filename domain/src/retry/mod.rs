//! Retry rules for deliveries: the per-job [`RetryPolicy`], how an attempt's outcome is classified
//! ([`AttemptOutcome`]), what happens next ([`decide`] → [`RetryDecision`]) and the `Retry-After`
//! header parser ([`parse_retry_after`]).
//!
//! # State machine of one execution
//!
//! ```text
//!   attempt n runs ──► outcome ──► decide(policy, n, outcome, jitter)
//!                                   ├─ Succeeded            → execution `success`
//!                                   ├─ RetryAfter(delay)    → attempt n+1 scheduled at now + delay
//!                                   └─ GiveUp { reason }    → execution `failed`/`timeout`, alert
//! ```
//!
//! The dispatcher records the outcome and the decision in one short transaction after the HTTP
//! call; nothing here reads the clock or draws random numbers (jitter is an argument).

mod decision;
mod policy;
mod retry_after_header;

pub use decision::{
    AttemptFailure, AttemptOutcome, GiveUpReason, RETRY_AFTER_CAP, RetryDecision, decide,
};
pub use policy::{RetryPolicy, RetryPolicyError, RetryPolicyInput};
pub use retry_after_header::parse_retry_after;
