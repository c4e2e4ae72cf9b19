//! Heartbeat monitors: their status, the pings they receive, and the state machine that turns a
//! ping (or its absence) into a new status, pure (time is an argument):
//!
//! ```text
//!            success ping                    the down rule (see below)
//!   new ───────────────────► up ─────────────────────────────────────────► down
//!    │                        ▲ │ fail ping                                 │ │
//!    │ fail ping              │ └─────────────────────────────────────────► │ │
//!    └────────────────────────┼───────────────────────────────────────────► │ │
//!                             └──────────── success ping (alert: monitor_up) ┘ │
//!   paused: pings are recorded, nothing changes; resuming goes back to new  ◄──┘
//! ```
//!
//! `alert_at` is when the monitor goes down without a new ping: the next expected ping (the
//! interval after the last success, or the cron schedule's next occurrence; for a new monitor,
//! the first one after it was created or resumed) plus the grace period. A start ping records
//! `last_start_at` and, when the monitor has a `max_runtime`, a `start_deadline` by which a
//! success or fail ping must follow. The down rule ([`MonitorStatus::WATCHED`], [`overdue`]):
//! a new or up monitor goes down when `alert_at` passes (`late`, which for a monitor that never
//! pinged means its first ping never came) or when `start_deadline` passes (`hung`). The
//! dispatcher applies it to many monitors at once, in one statement.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::alert::AlertKind;
use crate::names::stored_names;
use crate::schedule::Schedule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MonitorStatus {
    /// Created (or resumed), no success ping yet.
    New,
    Up,
    Down,
    /// Pings are recorded; nothing changes until it is resumed.
    Paused,
}

stored_names!(MonitorStatus, "monitor status" {
    New => "new",
    Up => "up",
    Down => "down",
    Paused => "paused",
});

impl MonitorStatus {
    /// The statuses in which a late ping takes a monitor down.
    pub const WATCHED: [MonitorStatus; 2] = [MonitorStatus::New, MonitorStatus::Up];

    /// The status after pausing (`Some(true)`) or resuming (`Some(false)`), or leaving it
    /// (`None`): resuming starts over as new, waiting for the next ping.
    pub const fn paused(self, paused: Option<bool>) -> MonitorStatus {
        match (paused, self) {
            (Some(true), _) => MonitorStatus::Paused,
            (Some(false), MonitorStatus::Paused) => MonitorStatus::New,
            _ => self,
        }
    }
}

/// Why the down rule takes a monitor down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownReason {
    /// The expected ping did not come by `alert_at` (or, for a new monitor, the first one).
    Late,
    /// A start ping was not followed by a success or fail ping within `max_runtime`.
    Hung,
}

stored_names!(DownReason, "down reason" {
    Late => "late",
    Hung => "hung",
});

/// The down rule: whether a monitor in `status` with these deadlines is down at `now`, and why.
pub fn overdue(status: MonitorStatus, alert_at: Option<DateTime<Utc>>, start_deadline: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DownReason> {
    if !MonitorStatus::WATCHED.contains(&status) {
        return None;
    }
    let passed = |at: Option<DateTime<Utc>>| at.filter(|at| *at <= now);
    match (passed(alert_at), passed(start_deadline)) {
        (Some(late), Some(hung)) if hung < late => Some(DownReason::Hung),
        (Some(_), _) => Some(DownReason::Late),
        (None, Some(_)) => Some(DownReason::Hung),
        (None, None) => None,
    }
}

/// The start deadline after a ping of `kind` at `now`: a start ping opens one when the monitor
/// has a `max_runtime`; a success or fail ping (and a paused monitor) closes it.
pub fn start_deadline_after(status: MonitorStatus, current: Option<DateTime<Utc>>, kind: PingKind, max_runtime: Option<TimeDelta>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match (status, kind) {
        (MonitorStatus::Paused, _) => None,
        (_, PingKind::Start) => max_runtime.and_then(|m| now.checked_add_signed(m)).or(current),
        (_, PingKind::Success | PingKind::Fail) => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PingKind {
    /// The job ran and succeeded (`/ping/<token>`).
    Success,
    /// The job started (`/ping/<token>/start`).
    Start,
    /// The job failed (`/ping/<token>/fail`).
    Fail,
}

stored_names!(PingKind, "ping kind" {
    Success => "success",
    Start => "start",
    Fail => "fail",
});

/// A monitor's expected rhythm, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhythm {
    /// A ping at every occurrence of a schedule.
    Cron(Schedule),
    /// A ping at most this long after the previous one.
    Every(TimeDelta),
}

impl Rhythm {
    /// The next ping expected after one at `t`.
    pub fn expected_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Rhythm::Cron(s) => s.next_after(t),
            Rhythm::Every(d) => t.checked_add_signed(*d),
        }
    }
}

/// A monitor's state after a ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterPing {
    pub status: MonitorStatus,
    pub alert_at: Option<DateTime<Utc>>,
    /// `monitor_up` / `monitor_down` when the ping changed the monitor's health.
    pub alert: Option<AlertKind>,
}

/// The state after a ping of `kind` at `now` on a monitor in `status`.
pub fn after_ping(
    status: MonitorStatus,
    alert_at: Option<DateTime<Utc>>,
    kind: PingKind,
    rhythm: &Rhythm,
    grace: TimeDelta,
    now: DateTime<Utc>,
) -> AfterPing {
    use MonitorStatus::*;
    if status == Paused {
        return AfterPing { status: Paused, alert_at: None, alert: None };
    }
    match kind {
        PingKind::Start => AfterPing { status, alert_at, alert: None },
        PingKind::Success => AfterPing {
            status: Up,
            alert_at: rhythm.expected_after(now).and_then(|t| t.checked_add_signed(grace)),
            alert: (status == Down).then_some(AlertKind::MonitorUp),
        },
        PingKind::Fail => AfterPing { status: Down, alert_at: None, alert: (status != Down).then_some(AlertKind::MonitorDown) },
    }
}

/// `alert_at` of a monitor in `status` written at `now` (created, edited, paused or resumed):
/// for one that is up, the ping expected after its last one; for a new one, the first ping
/// expected after `now`; plus the grace. None while down or paused.
pub fn alert_at_for(status: MonitorStatus, last_ping_at: Option<DateTime<Utc>>, rhythm: &Rhythm, grace: TimeDelta, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let from = match (status, last_ping_at) {
        (MonitorStatus::Up, Some(t)) => t,
        (MonitorStatus::New, _) => now,
        _ => return None,
    };
    rhythm.expected_after(from).and_then(|t| t.checked_add_signed(grace))
}

#[cfg(test)]
mod tests {
    use super::MonitorStatus::*;
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, h, m, 0).unwrap()
    }

    #[test]
    fn success_brings_a_monitor_up_and_sets_the_deadline() {
        let every = Rhythm::Every(TimeDelta::minutes(10));
        let grace = TimeDelta::minutes(5);
        let a = after_ping(New, None, PingKind::Success, &every, grace, t(12, 0));
        assert_eq!(a, AfterPing { status: Up, alert_at: Some(t(12, 15)), alert: None });
        let a = after_ping(Down, None, PingKind::Success, &every, grace, t(12, 0));
        assert_eq!(a.alert, Some(AlertKind::MonitorUp), "recovery is announced");
    }

    #[test]
    fn cron_monitors_expect_the_next_occurrence() {
        let daily = Rhythm::Cron(Schedule::cron("0 3 * * *", "UTC").unwrap());
        let a = after_ping(Up, None, PingKind::Success, &daily, TimeDelta::minutes(30), t(3, 1));
        assert_eq!(a.alert_at, Some(Utc.with_ymd_and_hms(2026, 5, 2, 3, 30, 0).unwrap()));
    }

    #[test]
    fn fail_takes_it_down_once_and_start_changes_nothing() {
        let every = Rhythm::Every(TimeDelta::minutes(10));
        let g = TimeDelta::zero();
        assert_eq!(
            after_ping(Up, Some(t(1, 0)), PingKind::Fail, &every, g, t(0, 0)),
            AfterPing { status: Down, alert_at: None, alert: Some(AlertKind::MonitorDown) }
        );
        assert_eq!(after_ping(Down, None, PingKind::Fail, &every, g, t(0, 0)).alert, None);
        assert_eq!(after_ping(Up, Some(t(1, 0)), PingKind::Start, &every, g, t(0, 0)), AfterPing { status: Up, alert_at: Some(t(1, 0)), alert: None });
    }

    #[test]
    fn paused_monitors_ignore_pings() {
        let every = Rhythm::Every(TimeDelta::minutes(10));
        for kind in [PingKind::Success, PingKind::Start, PingKind::Fail] {
            assert_eq!(after_ping(Paused, None, kind, &every, TimeDelta::zero(), t(0, 0)), AfterPing { status: Paused, alert_at: None, alert: None });
        }
    }

    #[test]
    fn deadline_after_a_schedule_change_counts_from_the_last_ping() {
        let every = Rhythm::Every(TimeDelta::hours(1));
        let g = TimeDelta::minutes(5);
        assert_eq!(alert_at_for(Up, Some(t(1, 0)), &every, g, t(1, 30)), Some(t(2, 5)));
        assert_eq!(alert_at_for(New, Some(t(1, 0)), &every, g, t(1, 30)), Some(t(2, 35)), "a new monitor waits for its first ping");
        assert_eq!(alert_at_for(New, None, &Rhythm::Cron(Schedule::cron("0 3 * * *", "UTC").unwrap()), g, t(1, 30)), Some(t(3, 5)));
        assert_eq!(alert_at_for(Down, Some(t(1, 0)), &every, g, t(1, 30)), None);
        assert_eq!(alert_at_for(Paused, Some(t(1, 0)), &every, g, t(1, 30)), None);
    }

    #[test]
    fn a_start_opens_a_deadline_that_a_finish_closes() {
        let max = Some(TimeDelta::minutes(30));
        assert_eq!(start_deadline_after(Up, None, PingKind::Start, max, t(1, 0)), Some(t(1, 30)));
        assert_eq!(start_deadline_after(Up, None, PingKind::Start, None, t(1, 0)), None, "no max runtime, no deadline");
        assert_eq!(start_deadline_after(Up, Some(t(1, 30)), PingKind::Success, max, t(1, 10)), None);
        assert_eq!(start_deadline_after(Up, Some(t(1, 30)), PingKind::Fail, max, t(1, 10)), None);
        assert_eq!(start_deadline_after(Paused, None, PingKind::Start, max, t(1, 0)), None);
    }

    #[test]
    fn pausing_and_resuming() {
        for s in MonitorStatus::ALL {
            assert_eq!(s.paused(Some(true)), Paused);
            assert_eq!(s.paused(None), *s);
        }
        assert_eq!(Paused.paused(Some(false)), New, "resuming waits for the next ping");
        assert_eq!(Down.paused(Some(false)), Down, "not paused: unchanged");
    }

    #[test]
    fn the_down_rule_watches_new_and_up_monitors_only() {
        let late = Some(t(1, 0));
        assert_eq!(overdue(New, late, None, t(1, 0)), Some(DownReason::Late));
        assert_eq!(overdue(Up, late, None, t(2, 0)), Some(DownReason::Late));
        assert_eq!(overdue(Up, late, None, t(0, 59)), None, "not yet");
        assert_eq!(overdue(Down, late, None, t(2, 0)), None);
        assert_eq!(overdue(Paused, late, Some(t(1, 0)), t(2, 0)), None);
        assert_eq!(overdue(Up, None, None, t(2, 0)), None, "no deadline, nothing to be late for");
        assert_eq!(overdue(Up, Some(t(3, 0)), Some(t(1, 0)), t(2, 0)), Some(DownReason::Hung));
        assert_eq!(overdue(Up, Some(t(1, 30)), Some(t(1, 0)), t(2, 0)), Some(DownReason::Hung), "the earlier deadline names the reason");
        assert_eq!(overdue(Up, Some(t(1, 0)), Some(t(1, 30)), t(2, 0)), Some(DownReason::Late));
    }
}
