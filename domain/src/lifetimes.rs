//! How long short-lived records count. Execution history is kept per plan
//! ([`crate::tier::TierLimits::history_days`]); the records here have one lifetime for everyone.

use chrono::TimeDelta;

/// An `Idempotency-Key` replays the first response this long; the cleanup task deletes older keys.
pub const IDEMPOTENCY_KEY: TimeDelta = TimeDelta::hours(24);

/// How long a rotated credential (an API key, the signing secrets) keeps working after its
/// replacement is made, so its users can switch without a failed request: the default, and the
/// most a rotation may ask for.
pub const ROTATION_OVERLAP_DEFAULT_SECS: u32 = 24 * 3600;
pub const ROTATION_OVERLAP_MAX_SECS: u32 = 7 * 24 * 3600;
