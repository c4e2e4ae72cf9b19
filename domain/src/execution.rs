//! An execution's vocabulary, shared by the store (which decodes rows into it), the dispatcher
//! and the API: its status and the status's state machine, why it exists, and the Standard
//! Webhooks message it is delivered as.
//!
//! ```text
//!   pending ──claim──► running ──2xx / give up / overlap or quota skip──► success | failed
//!     ▲  │                │  │                                           | timeout | skipped
//!     │  │                │  └─ 2xx of a job with a completion window ──► waiting ──► success
//!     │  │                │                (its completion URL is called in time) │
//!     │  │                │                         (the window passes) ──► failed ┘
//!     │  │                └──► pending   (retry with attempts left; lease expired and rescued;
//!     │  │                                handed back at shutdown)
//!     │  ├──► cancelled   (the job was disabled or deleted before the run started)
//!     │  └──► skipped     (over quota at claim time)
//!     └── new rows: pending, or skipped at once (missed-run policy, plan limit) — never running
//! ```
//!
//! A final status never changes again; a redelivery is a new execution of the same message.
//! A completion ping that comes late, or after the run already ended, is recorded on the run
//! ([`completion_ping`]) without changing its status.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use uuid::Uuid;

use crate::names::stored_names;

/// Where an execution is in its life (see the module docs for the transitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    Pending,
    Running,
    /// The call succeeded; the job's endpoint has yet to call its completion URL.
    Waiting,
    Success,
    Failed,
    Timeout,
    Cancelled,
    Skipped,
}

stored_names!(ExecutionStatus, "execution status" {
    Pending => "pending",
    Running => "running",
    Waiting => "waiting",
    Success => "success",
    Failed => "failed",
    Timeout => "timeout",
    Cancelled => "cancelled",
    Skipped => "skipped",
});

impl ExecutionStatus {
    /// Finished for good: it may be redelivered (as a new execution), never changed.
    pub const fn is_final(self) -> bool {
        !matches!(self, ExecutionStatus::Pending | ExecutionStatus::Running | ExecutionStatus::Waiting)
    }

    /// A final status that counts as the job failing (it raises `job.failed`).
    pub const fn is_failure(self) -> bool {
        matches!(self, ExecutionStatus::Failed | ExecutionStatus::Timeout)
    }

    /// Whether a row in this status may move to `next`. Any unfinished run is cancelled when its
    /// organization's deletion is requested.
    pub const fn can_become(self, next: ExecutionStatus) -> bool {
        use ExecutionStatus::*;
        matches!(
            (self, next),
            (Pending, Running | Cancelled | Skipped)
                | (Running, Pending | Waiting | Success | Failed | Timeout | Skipped | Cancelled)
                | (Waiting, Success | Failed | Cancelled)
        )
    }
}

/// What a call of a run's completion URL does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionPing {
    /// The run was waiting and the window is open: it succeeds now.
    OnTime,
    /// The run was waiting but its window has passed: it fails as missed (if nothing failed it
    /// yet), and the ping is recorded as late.
    Late,
    /// The call has not been answered yet (or will be retried): the ping is kept, and the run
    /// succeeds as soon as its call does.
    Early,
    /// The run already ended (or was completed before): the ping is only recorded.
    Recorded,
}

/// The rule for a completion ping at `now` on a run in `status` whose window ends at `deadline`
/// (`None` while the call has not been sent) and which was completed at `completed_at`.
pub fn completion_ping(
    status: ExecutionStatus,
    deadline: Option<chrono::DateTime<chrono::Utc>>,
    completed_at: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> CompletionPing {
    if completed_at.is_some() {
        return CompletionPing::Recorded;
    }
    match status {
        ExecutionStatus::Waiting if deadline.is_none_or(|d| now <= d) => CompletionPing::OnTime,
        ExecutionStatus::Waiting => CompletionPing::Late,
        ExecutionStatus::Pending | ExecutionStatus::Running => CompletionPing::Early,
        _ => CompletionPing::Recorded,
    }
}

/// Why an execution exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// An occurrence of a job's schedule.
    Schedule,
    /// "Trigger now".
    Manual,
    /// `POST /api/v1/queue`.
    Queue,
    /// Another delivery of a finished execution's message.
    Redelivery,
}

stored_names!(Source, "execution source" {
    Schedule => "schedule",
    Manual => "manual",
    Queue => "queue",
    Redelivery => "redelivery",
});

/// The Standard Webhooks message an execution delivers: `webhook-id` is `msg_` and the id in
/// simple hex. Retries, rescues and redeliveries of one message keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(Uuid);

impl MessageId {
    pub const PREFIX: &'static str = "msg_";

    pub const fn new(id: Uuid) -> Self {
        MessageId(id)
    }

    pub const fn uuid(self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for MessageId {
    fn from(id: Uuid) -> Self {
        MessageId(id)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0.simple())
    }
}

/// Text that is not `msg_` followed by 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a message id: {0:?} (expected msg_ and 32 hex digits)")]
pub struct NotAMessageId(pub String);

impl FromStr for MessageId {
    type Err = NotAMessageId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix(Self::PREFIX)
            .filter(|hex| hex.len() == 32)
            .and_then(|hex| Uuid::try_parse(hex).ok())
            .map(MessageId)
            .ok_or_else(|| NotAMessageId(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_spelled_once_and_round_trip() {
        for s in ExecutionStatus::ALL {
            assert_eq!(s.as_str().parse::<ExecutionStatus>(), Ok(*s));
        }
        assert_eq!(ExecutionStatus::Timeout.to_string(), "timeout");
        let err = "done".parse::<ExecutionStatus>().unwrap_err();
        assert_eq!(err.to_string(), "unknown execution status \"done\"");
        assert_eq!("redelivery".parse::<Source>(), Ok(Source::Redelivery));
    }

    #[test]
    fn final_statuses_never_change_and_pending_never_finishes_without_running() {
        use ExecutionStatus::*;
        for s in ExecutionStatus::ALL {
            for next in ExecutionStatus::ALL {
                if s.is_final() {
                    assert!(!s.can_become(*next), "{s} -> {next}");
                }
            }
        }
        assert!(Pending.can_become(Running) && Running.can_become(Pending), "claim, and retry / rescue / release");
        assert!(!Pending.can_become(Success) && !Pending.can_become(Failed));
        assert!(Running.can_become(Timeout) && Running.can_become(Skipped));
        assert!(Running.can_become(Waiting) && Waiting.can_become(Success) && Waiting.can_become(Failed));
        assert!(!Waiting.is_final() && !Waiting.can_become(Pending));
        assert_eq!(ExecutionStatus::ALL.iter().filter(|s| s.is_failure()).collect::<Vec<_>>(), vec![&Failed, &Timeout]);
    }

    #[test]
    fn completion_pings() {
        use ExecutionStatus::*;
        use chrono::{TimeZone, Utc};
        let deadline = Some(Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 30).unwrap());
        let at = |s| Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, s).unwrap();
        assert_eq!(completion_ping(Waiting, deadline, None, at(30)), CompletionPing::OnTime, "the last second counts");
        assert_eq!(completion_ping(Waiting, deadline, None, at(31)), CompletionPing::Late);
        assert_eq!(completion_ping(Running, None, None, at(1)), CompletionPing::Early);
        assert_eq!(completion_ping(Failed, deadline, None, at(45)), CompletionPing::Recorded, "missed already");
        assert_eq!(completion_ping(Success, deadline, Some(at(5)), at(6)), CompletionPing::Recorded, "a second ping");
    }

    #[test]
    fn message_ids_are_msg_and_simple_hex() {
        let id = Uuid::parse_str("0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5b").unwrap();
        let m = MessageId::new(id);
        assert_eq!(m.to_string(), "msg_0192f2a1c3d84e5f8a9b0c1d2e3f4a5b");
        assert_eq!("msg_0192f2a1c3d84e5f8a9b0c1d2e3f4a5b".parse::<MessageId>(), Ok(m));
        for bad in ["0192f2a1c3d84e5f8a9b0c1d2e3f4a5b", "msg_0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5b", "msg_xyz"] {
            assert!(bad.parse::<MessageId>().is_err(), "{bad}");
        }
    }
}
