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

/// A processed alert event, with the notifications it sent, is kept this long (as is a test
/// notification); one whose sends are still pending is kept until they end.
pub const ALERT_EVENT: TimeDelta = TimeDelta::days(90);
/// An account e-mail's record (address, subject, outcome; its body is blanked once sent) is kept
/// this long after it was sent or gave up; one still pending is kept.
pub const SENT_MAIL: TimeDelta = TimeDelta::days(30);
/// An invitation is kept this long after it was accepted, declined, revoked or expired.
pub const ENDED_INVITE: TimeDelta = TimeDelta::days(30);
/// A waitlist sign-up is kept this long.
pub const WAITLIST_ENTRY: TimeDelta = TimeDelta::days(365);
/// An audit-log entry is kept this long.
pub const AUDIT_ENTRY: TimeDelta = TimeDelta::days(365);
/// Monthly usage counters: the current month and this many before it are kept.
pub const USAGE_MONTHS: u32 = 24;
/// A payment provider's event is kept this long (the bookkeeping law's five years, and a margin).
pub const BILLING_EVENT: TimeDelta = TimeDelta::days(5 * 366);
/// An organization whose deletion an owner asked for can be restored this long; then every row
/// it owns is erased.
pub const ORG_DELETION_GRACE: TimeDelta = TimeDelta::days(7);
