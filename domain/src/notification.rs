//! Notification channels: where an organization's alerts go, which of them each channel takes,
//! and the rules the dispatcher sends by.
//!
//! A channel is an e-mail address or a webhook URL. A webhook's payload is chosen by the URL's
//! host ([`Flavor`]): Slack incoming webhooks (`hooks.slack.com`) get Slack's `text` + `blocks`,
//! Discord webhooks (`discord.com/api/webhooks/…`) get `content` + `embeds`, any other URL gets
//! JSON signed like a job delivery (Standard Webhooks, the organization's secret).
//!
//! Sending rules (the README repeats them):
//! - **One alert per state change**: a job raises `job.failed` when it starts failing, not for
//!   every failed run, and `job.recovered` at its next success.
//! - **No storms**: a channel gets at most [`MESSAGES_PER_WINDOW`] messages per
//!   [`DIGEST_WINDOW`]; alerts beyond that wait for the window to end and then go as one digest
//!   that counts them per job and monitor (a flapping job shows as one line).
//! - **Retries**: a failed send is retried after [`retry_delay`] (10 s, tripling to an hour) for
//!   [`RETRY_FOR`] (24 h) after the alert was raised, then given up.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alert::AlertKind;
use crate::email::EmailAddress;
use crate::job::TargetUrl;
use crate::names::stored_names;

/// How a channel is stored: an e-mail address or a webhook URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Webhook,
}

stored_names!(ChannelKind, "channel kind" {
    Email => "email",
    Webhook => "webhook",
});

/// Where one send of the outbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    /// Waiting for its time (a retry, or the end of a digest window), or being sent.
    Pending,
    Sent,
    /// Given up after [`RETRY_FOR`], or refused for good.
    Failed,
}

stored_names!(SendStatus, "send status" {
    Pending => "pending",
    Sent => "sent",
    Failed => "failed",
});

/// What a channel's messages look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    /// A multipart (text and HTML) e-mail.
    Email,
    /// A Slack incoming webhook: `text` plus Block Kit `blocks`.
    Slack,
    /// A Discord webhook: `content` plus `embeds`.
    Discord,
    /// Any other URL: JSON signed per Standard Webhooks.
    Webhook,
}

/// A validated channel target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelTarget {
    Email(EmailAddress),
    Webhook(TargetUrl),
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelTargetError {
    #[error("{0}")]
    Email(#[from] crate::email::EmailError),
    #[error("{0}")]
    Url(#[from] crate::job::TargetUrlError),
}

impl ChannelTarget {
    pub fn parse(kind: ChannelKind, target: &str) -> Result<Self, ChannelTargetError> {
        Ok(match kind {
            ChannelKind::Email => ChannelTarget::Email(EmailAddress::parse(target)?),
            ChannelKind::Webhook => ChannelTarget::Webhook(TargetUrl::parse(target)?),
        })
    }

    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelTarget::Email(_) => ChannelKind::Email,
            ChannelTarget::Webhook(_) => ChannelKind::Webhook,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ChannelTarget::Email(a) => a.as_str(),
            ChannelTarget::Webhook(u) => u.as_str(),
        }
    }

    /// The payload format: by the URL's host for webhooks.
    pub fn flavor(&self) -> Flavor {
        let ChannelTarget::Webhook(url) = self else { return Flavor::Email };
        let url = url.as_url();
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let path = url.path();
        if host == "hooks.slack.com" && path.starts_with("/services/") {
            Flavor::Slack
        } else if matches!(host.as_str(), "discord.com" | "discordapp.com" | "ptb.discord.com" | "canary.discord.com")
            && path.starts_with("/api/webhooks/")
        {
            Flavor::Discord
        } else {
            Flavor::Webhook
        }
    }
}

/// The events a channel takes, as their event names (`job.failed`, …) on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSet(BTreeSet<AlertKindOrd>);

/// `AlertKind` in declaration order, for a set with a stable order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct AlertKindOrd(u8);

impl AlertKindOrd {
    fn of(kind: AlertKind) -> Self {
        AlertKindOrd(AlertKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u8)
    }

    fn kind(self) -> AlertKind {
        AlertKind::ALL[usize::from(self.0)]
    }
}

/// An event name that is not one of [`AlertKind::event_name`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event {0:?}; use job.failed, job.recovered, monitor.down, monitor.up or completion.missed")]
pub struct UnknownEvent(pub String);

impl EventSet {
    /// Every event (the default for a new channel).
    pub fn all() -> Self {
        EventSet(AlertKind::ALL.iter().map(|k| AlertKindOrd::of(*k)).collect())
    }

    pub fn of(kinds: impl IntoIterator<Item = AlertKind>) -> Self {
        EventSet(kinds.into_iter().map(AlertKindOrd::of).collect())
    }

    /// Parses event names; an empty list is refused (a channel that takes nothing is a mistake:
    /// disable it instead).
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, EventSetError> {
        let mut set = BTreeSet::new();
        for name in names {
            let name = name.as_ref();
            let kind = AlertKind::ALL.iter().find(|k| k.event_name() == name).ok_or_else(|| UnknownEvent(name.to_owned()))?;
            set.insert(AlertKindOrd::of(*kind));
        }
        if set.is_empty() {
            return Err(EventSetError::Empty);
        }
        Ok(EventSet(set))
    }

    pub fn contains(&self, kind: AlertKind) -> bool {
        self.0.contains(&AlertKindOrd::of(kind))
    }

    /// The kinds, in declaration order.
    pub fn kinds(&self) -> Vec<AlertKind> {
        self.0.iter().map(|k| k.kind()).collect()
    }

    /// The event names, in declaration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|k| k.kind().event_name()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventSetError {
    #[error("{0}")]
    Unknown(#[from] UnknownEvent),
    #[error("a channel takes at least one event; to stop it, set enabled to false")]
    Empty,
}

/// Most messages one channel gets per [`DIGEST_WINDOW`]; more alerts go as one digest.
pub const MESSAGES_PER_WINDOW: u32 = 3;
/// The window [`MESSAGES_PER_WINDOW`] counts in.
pub const DIGEST_WINDOW: Duration = Duration::from_secs(60);
/// How long after an alert is raised its sends are retried before they are given up.
pub const RETRY_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// The wait after a send's first failure ([`retry_delay`] triples it from there).
pub const FIRST_RETRY: Duration = Duration::from_secs(10);
/// The longest wait between two attempts of a send.
pub const LONGEST_RETRY: Duration = Duration::from_secs(3600);

/// The wait before attempt `attempts + 1` of a send that failed `attempts` times: `first`
/// ([`FIRST_RETRY`] in production: 10 s, 30 s, 90 s, …), tripling, at most [`LONGEST_RETRY`].
pub fn retry_delay(first: Duration, attempts: u32) -> Duration {
    let factor = 3u32.saturating_pow(attempts.saturating_sub(1).min(20));
    first.saturating_mul(factor).min(LONGEST_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(url: &str) -> ChannelTarget {
        ChannelTarget::parse(ChannelKind::Webhook, url).unwrap()
    }

    #[test]
    fn the_host_picks_the_payload() {
        assert_eq!(webhook("https://hooks.slack.com/services/T0/B0/abc").flavor(), Flavor::Slack);
        assert_eq!(webhook("https://discord.com/api/webhooks/1/abc").flavor(), Flavor::Discord);
        assert_eq!(webhook("https://discordapp.com/api/webhooks/1/abc").flavor(), Flavor::Discord);
        assert_eq!(webhook("https://HOOKS.SLACK.COM/services/x").flavor(), Flavor::Slack);
        for generic in ["https://example.com/hook", "https://hooks.slack.com.evil.eu/services/x", "https://discord.com/channels/1", "https://evil.eu/discord.com/api/webhooks/"] {
            assert_eq!(webhook(generic).flavor(), Flavor::Webhook, "{generic}");
        }
        let email = ChannelTarget::parse(ChannelKind::Email, " ops@Example.COM ").unwrap();
        assert_eq!((email.flavor(), email.as_str(), email.kind()), (Flavor::Email, "ops@example.com", ChannelKind::Email));
    }

    #[test]
    fn targets_are_validated_by_kind() {
        assert!(ChannelTarget::parse(ChannelKind::Email, "not an address").is_err());
        assert!(ChannelTarget::parse(ChannelKind::Webhook, "ftp://example.com").is_err());
        assert!(ChannelTarget::parse(ChannelKind::Webhook, "ops@example.com").is_err());
    }

    #[test]
    fn event_sets() {
        let all = EventSet::all();
        assert_eq!(all.names(), vec!["job.failed", "job.recovered", "completion.missed", "monitor.down", "monitor.up"]);
        let some = EventSet::parse(&["monitor.down", "job.failed", "job.failed"]).unwrap();
        assert_eq!(some.names(), vec!["job.failed", "monitor.down"]);
        assert!(some.contains(AlertKind::MonitorDown) && !some.contains(AlertKind::MonitorUp));
        assert_eq!(EventSet::parse::<&str>(&[]), Err(EventSetError::Empty));
        assert_eq!(EventSet::parse(&["job.failed", "job.exploded"]), Err(EventSetError::Unknown(UnknownEvent("job.exploded".into()))));
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        let delays: Vec<u64> = (1..=7).map(|n| retry_delay(FIRST_RETRY, n).as_secs()).collect();
        assert_eq!(delays, vec![10, 30, 90, 270, 810, 2430, 3600]);
        assert_eq!(retry_delay(FIRST_RETRY, 40), Duration::from_secs(3600));
        assert_eq!(retry_delay(FIRST_RETRY, 0), Duration::from_secs(10));
        assert_eq!(retry_delay(Duration::from_millis(100), 2), Duration::from_millis(300));
    }
}
