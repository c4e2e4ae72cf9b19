//! Subscription tiers (`free`, `pro`) and the limits each one grants.
//!
//! | Limit                                   | Free        | Pro          |
//! |-----------------------------------------|-------------|--------------|
//! | Jobs                                    | 5           | unlimited    |
//! | Executions per calendar month           | 5,000       | 250,000      |
//! | Minimum schedule interval               | 60 minutes  | 1 minute     |
//! | Execution history kept                  | 7 days      | 30 days      |
//! | Members (including pending invitations) | 2           | unlimited    |
//! | Maximum request timeout                 | 30 seconds  | 300 seconds  |
//! | Alert channels: e-mail                  | 1           | unlimited    |
//! | Alert channels: webhook (incl. Slack, Discord) | 1    | unlimited    |
//!
//! "Unlimited" is `None`. These numbers are the single source of truth: the API checks them on
//! create/update, the dispatcher at dispatch time, the cleanup task for retention and the
//! pricing page renders them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An organization's plan. Serialised and displayed as `"free"` / `"pro"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Pro,
}

/// What a tier allows. `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimits {
    /// Jobs an organization may have (enabled or not).
    pub max_jobs: Option<u32>,
    /// Executions (deliveries of scheduled, triggered or queued calls) per calendar month.
    pub monthly_executions: u32,
    /// Shortest allowed gap between two runs of a cron schedule, in minutes.
    pub min_interval_minutes: u32,
    /// Days of execution history kept before the cleanup task deletes it.
    pub history_days: u32,
    /// Members of an organization, counting pending invitations.
    pub max_members: Option<u32>,
    /// Longest per-request timeout a job may ask for, in seconds.
    pub max_timeout_secs: u32,
    /// Notification channels of each kind an organization may have.
    pub max_email_channels: Option<u32>,
    pub max_webhook_channels: Option<u32>,
    /// Runs waiting to be delivered (queued, triggered, redelivered, or scheduled and not yet
    /// sent) an organization may have at once: what it can park in the queue ahead of time.
    pub max_pending_runs: u32,
    /// Bytes of request bodies those waiting runs may hold together (as stored, compressed).
    pub max_pending_bytes: u64,
}

impl Tier {
    /// Every tier, cheapest first (for pricing tables and exhaustive tests).
    pub const ALL: [Tier; 2] = [Tier::Free, Tier::Pro];

    /// The limits this tier grants.
    pub const fn limits(self) -> TierLimits {
        match self {
            Tier::Free => TierLimits {
                max_jobs: Some(5),
                monthly_executions: 5_000,
                min_interval_minutes: 60,
                history_days: 7,
                max_members: Some(2),
                max_timeout_secs: 30,
                max_email_channels: Some(1),
                max_webhook_channels: Some(1),
                max_pending_runs: 1_000,
                max_pending_bytes: 64 * 1024 * 1024,
            },
            Tier::Pro => TierLimits {
                max_jobs: None,
                monthly_executions: 250_000,
                min_interval_minutes: 1,
                history_days: 30,
                max_members: None,
                max_timeout_secs: 300,
                max_email_channels: None,
                max_webhook_channels: None,
                max_pending_runs: 50_000,
                max_pending_bytes: 2 * 1024 * 1024 * 1024,
            },
        }
    }

    /// The wire and database spelling: `"free"` or `"pro"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
        }
    }

    /// The name shown to people: "Free" or "Pro".
    pub const fn display_name(self) -> &'static str {
        match self {
            Tier::Free => "Free",
            Tier::Pro => "Pro",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tier name that is neither `free` nor `pro`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tier {0:?}: expected \"free\" or \"pro\"")]
pub struct UnknownTier(pub String);

impl FromStr for Tier {
    type Err = UnknownTier;

    /// Accepts exactly the wire spelling (`free`, `pro`); the database stores it that way, so a
    /// differently-cased value signals corruption rather than a user typo.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "free" => Ok(Tier::Free),
            "pro" => Ok(Tier::Pro),
            other => Err(UnknownTier(other.to_owned())),
        }
    }
}

impl TierLimits {
    /// Whether an organization that already has `current` jobs may create one more.
    pub fn allows_another_job(&self, current: u32) -> bool {
        self.max_jobs.is_none_or(|max| current < max)
    }

    /// Whether an organization with `current` channels of `kind` may add one more.
    pub fn allows_another_channel(&self, kind: crate::notification::ChannelKind, current: u32) -> bool {
        let max = match kind {
            crate::notification::ChannelKind::Email => self.max_email_channels,
            crate::notification::ChannelKind::Webhook => self.max_webhook_channels,
        };
        max.is_none_or(|max| current < max)
    }

    /// Whether an organization with `current` members and pending invitations may invite one more.
    pub fn allows_another_member(&self, current: u32) -> bool {
        self.max_members.is_none_or(|max| current < max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_limits_match_the_pricing_table() {
        let l = Tier::Free.limits();
        assert_eq!(l.max_jobs, Some(5));
        assert_eq!(l.monthly_executions, 5_000);
        assert_eq!(l.min_interval_minutes, 60);
        assert_eq!(l.history_days, 7);
        assert_eq!(l.max_members, Some(2));
        assert_eq!(l.max_timeout_secs, 30);
    }

    #[test]
    fn pro_limits_match_the_pricing_table() {
        let l = Tier::Pro.limits();
        assert_eq!(l.max_jobs, None);
        assert_eq!(l.monthly_executions, 250_000);
        assert_eq!(l.min_interval_minutes, 1);
        assert_eq!(l.history_days, 30);
        assert_eq!(l.max_members, None);
        assert_eq!(l.max_timeout_secs, 300);
    }

    #[test]
    fn pro_is_never_stricter_than_free() {
        let (f, p) = (Tier::Free.limits(), Tier::Pro.limits());
        assert!(p.monthly_executions >= f.monthly_executions);
        assert!(p.min_interval_minutes <= f.min_interval_minutes);
        assert!(p.history_days >= f.history_days);
        assert!(p.max_timeout_secs >= f.max_timeout_secs);
    }

    #[test]
    fn display_and_from_str_round_trip() {
        for tier in Tier::ALL {
            assert_eq!(tier.to_string().parse::<Tier>(), Ok(tier));
        }
        assert_eq!(Tier::Free.to_string(), "free");
        assert_eq!(Tier::Pro.to_string(), "pro");
    }

    #[test]
    fn from_str_rejects_unknown_and_miscased_names() {
        let err = "enterprise".parse::<Tier>().unwrap_err();
        assert_eq!(err, UnknownTier("enterprise".into()));
        assert!(err.to_string().contains("\"enterprise\""));
        assert!("Pro".parse::<Tier>().is_err());
        assert!("".parse::<Tier>().is_err());
    }

    #[test]
    fn serde_uses_lowercase_names() {
        assert_eq!(serde_json::to_string(&Tier::Pro).unwrap(), "\"pro\"");
        assert_eq!(
            serde_json::from_str::<Tier>("\"free\"").unwrap(),
            Tier::Free
        );
        assert!(serde_json::from_str::<Tier>("\"FREE\"").is_err());
    }

    #[test]
    fn job_and_member_allowances_stop_at_the_limit() {
        let free = Tier::Free.limits();
        assert!(free.allows_another_job(4));
        assert!(!free.allows_another_job(5));
        assert!(free.allows_another_member(1));
        assert!(!free.allows_another_member(2));
        use crate::notification::ChannelKind::{Email, Webhook};
        assert!(free.allows_another_channel(Email, 0) && !free.allows_another_channel(Email, 1));
        assert!(free.allows_another_channel(Webhook, 0) && !free.allows_another_channel(Webhook, 1));
        let pro = Tier::Pro.limits();
        assert!(pro.allows_another_channel(Webhook, 1_000) && pro.allows_another_channel(Email, 1_000));
        assert!(pro.allows_another_job(1_000_000));
        assert!(pro.allows_another_member(1_000_000));
    }
}
