//! What an alert is about. Alert events are written in the same transaction as the state change
//! that raises them (a job's final failure or recovery, a monitor going down or up, a missed
//! completion ping) and are delivered from there.

use serde::Serialize;

use crate::names::stored_names;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A job's run failed after its last attempt (and the job was not failing already).
    JobFailed,
    /// A failing job succeeded again.
    JobRecovered,
    /// A job's endpoint did not call its completion URL within the window.
    CompletionMissed,
    /// A heartbeat monitor's ping is late, or it pinged `fail`.
    MonitorDown,
    /// A down monitor pinged success.
    MonitorUp,
}

stored_names!(AlertKind, "alert kind" {
    JobFailed => "job_failed",
    JobRecovered => "job_recovered",
    CompletionMissed => "completion_missed",
    MonitorDown => "monitor_down",
    MonitorUp => "monitor_up",
});

impl AlertKind {
    /// The event name notification channels filter on and payloads carry (`job.failed`, …).
    pub const fn event_name(self) -> &'static str {
        match self {
            AlertKind::JobFailed => "job.failed",
            AlertKind::JobRecovered => "job.recovered",
            AlertKind::CompletionMissed => "completion.missed",
            AlertKind::MonitorDown => "monitor.down",
            AlertKind::MonitorUp => "monitor.up",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_a_stored_name_and_an_event_name() {
        let names: Vec<(&str, &str)> = AlertKind::ALL.iter().map(|k| (k.as_str(), k.event_name())).collect();
        assert_eq!(
            names,
            vec![
                ("job_failed", "job.failed"),
                ("job_recovered", "job.recovered"),
                ("completion_missed", "completion.missed"),
                ("monitor_down", "monitor.down"),
                ("monitor_up", "monitor.up"),
            ]
        );
        assert_eq!("monitor_up".parse::<AlertKind>(), Ok(AlertKind::MonitorUp));
    }
}
