//! How long short-lived records count. Execution history is kept per plan
//! ([`crate::tier::TierLimits::history_days`]); the records here have one lifetime for everyone.

use chrono::TimeDelta;

/// An `Idempotency-Key` replays the first response this long; the cleanup task deletes older keys.
pub const IDEMPOTENCY_KEY: TimeDelta = TimeDelta::hours(24);
