//! The heartbeat monitor's state machine, pure (time is an argument):
//!
//! ```text
//!            success ping                    no ping by alert_at (dispatcher)
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
//! period. A start ping only records `last_start_at`.

use chrono::{DateTime, TimeDelta, Utc};
use domain::schedule::Schedule;

/// A monitor's expected rhythm, parsed.
#[derive(Debug, Clone)]
pub enum Rhythm {
    Cron(Schedule),
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

    /// Parses a stored schedule (stored values were validated on write).
    pub fn of(schedule: &store::monitors::MonitorSchedule) -> Option<Rhythm> {
        match schedule {
            store::monitors::MonitorSchedule::Cron { expr, timezone } => Schedule::cron(expr, timezone).ok().map(Rhythm::Cron),
            store::monitors::MonitorSchedule::Interval { secs } => Some(Rhythm::Every(TimeDelta::seconds(i64::from(*secs)))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingKind {
    Success,
    Start,
    Fail,
}

impl PingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PingKind::Success => "success",
            PingKind::Start => "start",
            PingKind::Fail => "fail",
        }
    }
}

/// A monitor's state after a ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterPing {
    pub status: &'static str,
    pub alert_at: Option<DateTime<Utc>>,
    /// `monitor_up` / `monitor_down` when the ping changed the monitor's health.
    pub alert: Option<&'static str>,
}

/// The state after a ping of `kind` at `now` on a monitor in `status`.
pub fn after_ping(status: &str, alert_at: Option<DateTime<Utc>>, kind: PingKind, rhythm: &Rhythm, grace: TimeDelta, now: DateTime<Utc>) -> AfterPing {
    let keep = |s: &str| match s {
        "up" => "up",
        "down" => "down",
        "paused" => "paused",
        _ => "new",
    };
    if status == "paused" {
        return AfterPing { status: "paused", alert_at: None, alert: None };
    }
    match kind {
        PingKind::Start => AfterPing { status: keep(status), alert_at, alert: None },
        PingKind::Success => AfterPing {
            status: "up",
            alert_at: rhythm.expected_after(now).and_then(|t| t.checked_add_signed(grace)),
            alert: (status == "down").then_some("monitor_up"),
        },
        PingKind::Fail => AfterPing { status: "down", alert_at: None, alert: (status != "down").then_some("monitor_down") },
    }
}

/// `alert_at` for a monitor that is up, after its schedule or grace changed.
pub fn alert_at_for(status: &str, last_ping_at: Option<DateTime<Utc>>, rhythm: &Rhythm, grace: TimeDelta) -> Option<DateTime<Utc>> {
    match (status, last_ping_at) {
        ("up", Some(t)) => rhythm.expected_after(t).and_then(|t| t.checked_add_signed(grace)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, h, m, 0).unwrap()
    }

    #[test]
    fn success_brings_a_monitor_up_and_sets_the_deadline() {
        let every = Rhythm::Every(TimeDelta::minutes(10));
        let grace = TimeDelta::minutes(5);
        let a = after_ping("new", None, PingKind::Success, &every, grace, t(12, 0));
        assert_eq!(a, AfterPing { status: "up", alert_at: Some(t(12, 15)), alert: None });
        let a = after_ping("down", None, PingKind::Success, &every, grace, t(12, 0));
        assert_eq!(a.alert, Some("monitor_up"), "recovery is announced");
    }

    #[test]
    fn cron_monitors_expect_the_next_occurrence() {
        let daily = Rhythm::Cron(Schedule::cron("0 3 * * *", "UTC").unwrap());
        let a = after_ping("up", None, PingKind::Success, &daily, TimeDelta::minutes(30), t(3, 1));
        assert_eq!(a.alert_at, Some(Utc.with_ymd_and_hms(2026, 5, 2, 3, 30, 0).unwrap()));
    }

    #[test]
    fn fail_takes_it_down_once_and_start_changes_nothing() {
        let every = Rhythm::Every(TimeDelta::minutes(10));
        let g = TimeDelta::zero();
        assert_eq!(after_ping("up", Some(t(1, 0)), PingKind::Fail, &every, g, t(0, 0)), AfterPing { status: "down", alert_at: None, alert: Some("monitor_down") });
        assert_eq!(after_ping("down", None, PingKind::Fail, &every, g, t(0, 0)).alert, None);
        assert_eq!(after_ping("up", Some(t(1, 0)), PingKind::Start, &every, g, t(0, 0)), AfterPing { status: "up", alert_at: Some(t(1, 0)), alert: None });
    }

    #[test]
    fn paused_monitors_ignore_pings() {
        let every = Rhythm::Every(TimeDelta::minutes(10));
        for kind in [PingKind::Success, PingKind::Start, PingKind::Fail] {
            assert_eq!(after_ping("paused", None, kind, &every, TimeDelta::zero(), t(0, 0)), AfterPing { status: "paused", alert_at: None, alert: None });
        }
    }

    #[test]
    fn deadline_after_a_schedule_change_counts_from_the_last_ping() {
        let every = Rhythm::Every(TimeDelta::hours(1));
        assert_eq!(alert_at_for("up", Some(t(1, 0)), &every, TimeDelta::minutes(5)), Some(t(2, 5)));
        assert_eq!(alert_at_for("new", Some(t(1, 0)), &every, TimeDelta::minutes(5)), None);
        assert_eq!(alert_at_for("down", Some(t(1, 0)), &every, TimeDelta::minutes(5)), None);
    }
}
