//! Billing: what a subscription event from the billing provider (Lemon Squeezy) does to an
//! organization's plan, how its signature is checked, and which jobs a downgrade pauses.
//!
//! | event                                                          | plan afterwards                              |
//! |----------------------------------------------------------------|----------------------------------------------|
//! | `subscription_created`, `subscription_updated`, `subscription_resumed`, `subscription_unpaused`, `subscription_payment_success`, `subscription_payment_recovered` | by the subscription's `status`: `active`, `on_trial`, `past_due`, `cancelled` (paid until its period ends) → Pro; `expired`, `unpaid`, `paused` → Free |
//! | `subscription_cancelled`                                       | unchanged (paid until the period ends; `subscription_expired` follows) |
//! | `subscription_payment_failed`                                  | unchanged (the provider retries; the status says `past_due`, then `unpaid`) |
//! | `subscription_expired`                                         | Free                                         |
//! | anything else                                                  | unchanged (recorded)                         |
//!
//! A downgrade deletes nothing: [`downgrade_pauses`] names the jobs the new plan does not
//! allow to run, and they are paused with that reason; an upgrade resumes them.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::tier::Tier;

/// `X-Signature`: the hex HMAC-SHA256 of the raw body under the shared secret. Compared in
/// constant time; anything that is not 64 hex digits is refused.
pub fn signature_valid(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(given) = unhex(header.trim()) else { return false };
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    given.len() == expected.len() && bool::from(given.as_slice().ct_eq(expected.as_slice()))
}

/// The hex signature of `body` (what the provider sends; for tests and tools).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// What an event does to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanChange {
    /// The organization is on this plan afterwards (which may be the one it had).
    Set(Tier),
    /// The plan stays as it is.
    Keep,
}

/// The rule of the table above for `event_name` with the subscription's `status`.
pub fn plan_change(event_name: &str, status: Option<&str>) -> PlanChange {
    match event_name {
        "subscription_expired" => PlanChange::Set(Tier::Free),
        "subscription_cancelled" | "subscription_payment_failed" => PlanChange::Keep,
        "subscription_created"
        | "subscription_updated"
        | "subscription_resumed"
        | "subscription_unpaused"
        | "subscription_payment_success"
        | "subscription_payment_recovered" => match status {
            Some("active" | "on_trial" | "past_due" | "cancelled") => PlanChange::Set(Tier::Pro),
            Some("expired" | "unpaid" | "paused") => PlanChange::Set(Tier::Free),
            _ => PlanChange::Keep,
        },
        _ => PlanChange::Keep,
    }
}

/// Why a job is paused by its plan (shown on the job; stored as written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// The plan allows fewer enabled jobs; the newest ones beyond it are paused.
    PlanJobLimit,
    /// Its schedule runs more often than the plan allows.
    PlanMinInterval,
    /// The organization is scheduled for deletion; restoring it resumes the job.
    OrgDeletion,
}

crate::names::stored_names!(PauseReason, "pause reason" {
    PlanJobLimit => "plan_job_limit",
    PlanMinInterval => "plan_min_interval",
    OrgDeletion => "org_deletion",
});

impl PauseReason {
    /// For people, on the job and in the owner's notice.
    pub fn explain(self, tier: Tier) -> String {
        let limits = tier.limits();
        match self {
            PauseReason::PlanJobLimit => format!(
                "paused: the {} plan allows {} jobs; enable it after pausing another, or upgrade",
                tier.display_name(),
                limits.max_jobs.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
            ),
            PauseReason::PlanMinInterval => format!(
                "paused: its schedule runs more often than the {} plan allows (once every {} minutes); change the schedule, or upgrade",
                tier.display_name(),
                limits.min_interval_minutes
            ),
            PauseReason::OrgDeletion => "paused: the organization is scheduled for deletion; an owner can restore it in Settings".to_owned(),
        }
    }
}

/// One enabled job, as a downgrade sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunningJob<Id> {
    pub id: Id,
    /// The shortest gap between its runs (None for a one-time job).
    pub interval_minutes: Option<u32>,
}

/// Which of an organization's enabled jobs (`jobs`, oldest first) `tier` does not allow to run,
/// and why: every schedule faster than the tier's minimum, then, of the rest, the newest beyond
/// its job limit.
pub fn downgrade_pauses<Id: Copy>(jobs: &[RunningJob<Id>], tier: Tier) -> Vec<(Id, PauseReason)> {
    let limits = tier.limits();
    let mut paused = Vec::new();
    let mut kept = 0u32;
    for job in jobs {
        if job.interval_minutes.is_some_and(|m| m < limits.min_interval_minutes) {
            paused.push((job.id, PauseReason::PlanMinInterval));
        } else if limits.max_jobs.is_some_and(|max| kept >= max) {
            paused.push((job.id, PauseReason::PlanJobLimit));
        } else {
            kept += 1;
        }
    }
    paused
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_raw_body() {
        let body = br#"{"meta":{"event_name":"subscription_created"}}"#;
        let good = sign(b"s3cret", body);
        assert_eq!(good.len(), 64);
        assert!(signature_valid(b"s3cret", body, &good));
        assert!(signature_valid(b"s3cret", body, &good.to_uppercase()), "hex in either case");
        assert!(!signature_valid(b"other", body, &good), "another secret");
        assert!(!signature_valid(b"s3cret", b"{}", &good), "another body");
        assert!(!signature_valid(b"s3cret", body, &good[..63]), "truncated");
        assert!(!signature_valid(b"s3cret", body, ""), "missing");
        assert!(!signature_valid(b"s3cret", body, &format!("{}zz", &good[..62])), "not hex");
    }

    #[test]
    fn events_move_the_plan_as_documented() {
        use PlanChange::*;
        assert_eq!(plan_change("subscription_created", Some("active")), Set(Tier::Pro));
        assert_eq!(plan_change("subscription_created", Some("on_trial")), Set(Tier::Pro));
        assert_eq!(plan_change("subscription_updated", Some("past_due")), Set(Tier::Pro));
        assert_eq!(plan_change("subscription_updated", Some("cancelled")), Set(Tier::Pro), "paid until the period ends");
        assert_eq!(plan_change("subscription_updated", Some("unpaid")), Set(Tier::Free));
        assert_eq!(plan_change("subscription_updated", Some("paused")), Set(Tier::Free));
        assert_eq!(plan_change("subscription_updated", None), Keep);
        assert_eq!(plan_change("subscription_cancelled", Some("cancelled")), Keep);
        assert_eq!(plan_change("subscription_payment_failed", Some("past_due")), Keep);
        assert_eq!(plan_change("subscription_expired", Some("expired")), Set(Tier::Free));
        assert_eq!(plan_change("subscription_expired", None), Set(Tier::Free));
        assert_eq!(plan_change("order_created", Some("paid")), Keep);
    }

    #[test]
    fn a_downgrade_pauses_fast_schedules_then_the_newest_beyond_the_limit() {
        let job = |id: u32, interval: Option<u32>| RunningJob { id, interval_minutes: interval };
        // oldest first: two every-minute jobs, six hourly ones, a one-time job
        let jobs = [job(1, Some(1)), job(2, Some(60)), job(3, Some(5)), job(4, Some(60)), job(5, Some(1440)), job(6, Some(60)), job(7, None), job(8, Some(60)), job(9, Some(60))];
        let paused = downgrade_pauses(&jobs, Tier::Free);
        assert_eq!(
            paused,
            vec![(1, PauseReason::PlanMinInterval), (3, PauseReason::PlanMinInterval), (8, PauseReason::PlanJobLimit), (9, PauseReason::PlanJobLimit)]
        );
        assert!(downgrade_pauses(&jobs, Tier::Pro).is_empty());
        assert!(PauseReason::PlanJobLimit.explain(Tier::Free).contains("allows 5 jobs"));
        assert!(PauseReason::PlanMinInterval.explain(Tier::Free).contains("once every 60 minutes"));
    }
}
