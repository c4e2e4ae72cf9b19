//! Heartbeat monitors: their status, the pings they receive, and the state machine that turns a
//! ping (or its absence) into a new status, pure (time is an argument):
//!
//! ```text
//!            success ping                    no ping by alert_at (the down rule)
//!   new ───────────────────► up ─────────────────────────────────────────► down
//!    │                        ▲ │ fail ping                                 │ │
//!    │ fail ping              │ └─────────────────────────────────────────► │ │
//!    └────────────────────────┼───────────────────────────────────────────► │ │
//!                             └──────────── success ping (alert: monitor_up) ┘ │
//!   paused: pings are recorded, nothing changes; resuming goes back to new  ◄──┘
//! ```
//!
//! `alert_at` is when the monitor goes down without a new ping: the next expected ping (the
//! interval after the last success, or the cron schedule's next occurrence) plus the grace
//! period. A start ping only records `last_start_at`. The down rule ([`MonitorStatus::WATCHED`],
//! [`is_late`]) is applied by the dispatcher to many monitors at once, in one statement.

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

/// The down rule: a watched monitor whose expected ping has not come by `alert_at`.
pub fn is_late(status: MonitorStatus, alert_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    MonitorStatus::WATCHED.contains(&status) && alert_at.is_some_and(|at| at <= now)
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

/// `alert_at` for a monitor that is up, after its schedule or grace changed.
pub fn alert_at_for(status: MonitorStatus, last_ping_at: Option<DateTime<Utc>>, rhythm: &Rhythm, grace: TimeDelta) -> Option<DateTime<Utc>> {
    match (status, last_ping_at) {
        (MonitorStatus::Up, Some(t)) => rhythm.expected_after(t).and_then(|t| t.checked_add_signed(grace)),
        _ => None,
    }
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
        assert_eq!(alert_at_for(Up, Some(t(1, 0)), &every, TimeDelta::minutes(5)), Some(t(2, 5)));
        assert_eq!(alert_at_for(New, Some(t(1, 0)), &every, TimeDelta::minutes(5)), None);
        assert_eq!(alert_at_for(Down, Some(t(1, 0)), &every, TimeDelta::minutes(5)), None);
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
        assert!(is_late(New, late, t(1, 0)) && is_late(Up, late, t(2, 0)));
        assert!(!is_late(Up, late, t(0, 59)), "not yet");
        assert!(!is_late(Down, late, t(2, 0)) && !is_late(Paused, late, t(2, 0)));
        assert!(!is_late(Up, None, t(2, 0)), "no deadline, nothing to be late for");
    }
}
