//! Who hears about one job's alerts ([`JobAlerts`]): the organization's channels (the default),
//! nobody (muted), or a list of the organization's channels of its own. Submitted as the job's
//! `notifications` field: absent or `null` for the default, `{"mute": true}`, or
//! `{"channels": ["<channel id>", …]}`. A listed channel still takes only the events it takes.
//!
//! That the listed channels belong to the organization is checked where the organization's
//! channels are known (the API, against the store). A list whose channels have all been deleted
//! since falls back to the organization's channels when alerts fan out: an alert is never
//! dropped because its job points at nothing.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::field_error::{ErrorCode, FieldError, ValidationErrors};

/// The most channels one job may list.
pub const MAX_JOB_CHANNELS: usize = 20;

/// Who gets a job's alerts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum JobAlerts {
    /// Every channel of the organization (each filtered by its events).
    #[default]
    OrgChannels,
    /// Nobody: the job's alerts are recorded and sent nowhere.
    Muted,
    /// Only these channels of the organization (each filtered by its events), in order, no
    /// repeats, 1 to [`MAX_JOB_CHANNELS`].
    Channels(Vec<Uuid>),
}

/// The `notifications` field as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobAlertsInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobAlertsError {
    #[error("set either mute or channels, not both")]
    MuteAndChannels,
    #[error("list at least one channel id, or set mute to true to silence the job")]
    NoChannels,
    #[error("a job lists at most {MAX_JOB_CHANNELS} channels; it lists {0}")]
    TooManyChannels(usize),
    #[error("{0:?} is not a channel id (a UUID from /api/v1/notification-channels)")]
    NotAnId(String),
}

impl ErrorCode for JobAlertsError {
    fn code(&self) -> &'static str {
        match self {
            JobAlertsError::MuteAndChannels => "notifications_conflict",
            JobAlertsError::NoChannels => "notifications_no_channels",
            JobAlertsError::TooManyChannels(_) => "notifications_too_many_channels",
            JobAlertsError::NotAnId(_) => "notifications_channel_id",
        }
    }
}

impl JobAlerts {
    /// Validates the submitted field (`None`: the default), pushing every problem onto `errors`
    /// under `notifications…`.
    pub(crate) fn parse(input: Option<&JobAlertsInput>, errors: &mut ValidationErrors) -> Option<JobAlerts> {
        let Some(input) = input else { return Some(JobAlerts::OrgChannels) };
        let push = |errors: &mut ValidationErrors, field: String, e: JobAlertsError| errors.push(FieldError::from_error(field, &e));
        match (input.mute.unwrap_or(false), &input.channels) {
            (true, Some(_)) => {
                push(errors, "notifications".into(), JobAlertsError::MuteAndChannels);
                None
            }
            (true, None) => Some(JobAlerts::Muted),
            (false, None) => Some(JobAlerts::OrgChannels),
            (false, Some(list)) if list.is_empty() => {
                push(errors, "notifications.channels".into(), JobAlertsError::NoChannels);
                None
            }
            (false, Some(list)) if list.len() > MAX_JOB_CHANNELS => {
                push(errors, "notifications.channels".into(), JobAlertsError::TooManyChannels(list.len()));
                None
            }
            (false, Some(list)) => {
                let mut ids: Vec<Uuid> = Vec::with_capacity(list.len());
                let mut ok = true;
                for (i, s) in list.iter().enumerate() {
                    match Uuid::parse_str(s.trim()) {
                        Ok(id) if !ids.contains(&id) => ids.push(id),
                        Ok(_) => {}
                        Err(_) => {
                            ok = false;
                            push(errors, format!("notifications.channels[{i}]"), JobAlertsError::NotAnId(s.clone()));
                        }
                    }
                }
                ok.then_some(JobAlerts::Channels(ids))
            }
        }
    }

    /// The field that validates back to this (`None` for the default).
    pub fn to_input(&self) -> Option<JobAlertsInput> {
        match self {
            JobAlerts::OrgChannels => None,
            JobAlerts::Muted => Some(JobAlertsInput { mute: Some(true), channels: None }),
            JobAlerts::Channels(ids) => Some(JobAlertsInput { mute: None, channels: Some(ids.iter().map(Uuid::to_string).collect()) }),
        }
    }

    /// The listed channels (empty unless [`JobAlerts::Channels`]).
    pub fn channel_ids(&self) -> &[Uuid] {
        match self {
            JobAlerts::Channels(ids) => ids,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<JobAlerts, Vec<(String, String)>> {
        let input: JobAlertsInput = serde_json::from_value(json).unwrap();
        let mut errors = ValidationErrors::default();
        match JobAlerts::parse(Some(&input), &mut errors) {
            Some(a) if errors.is_empty() => Ok(a),
            _ => Err(errors.iter().map(|e| (e.field.clone(), e.code.to_string())).collect()),
        }
    }

    #[test]
    fn the_three_forms_and_their_round_trip() {
        let a = "0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5b";
        let b = "0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5c";
        assert_eq!(JobAlerts::parse(None, &mut ValidationErrors::default()), Some(JobAlerts::OrgChannels));
        assert_eq!(parse(serde_json::json!({})), Ok(JobAlerts::OrgChannels));
        assert_eq!(parse(serde_json::json!({"mute": false})), Ok(JobAlerts::OrgChannels));
        assert_eq!(parse(serde_json::json!({"mute": true})), Ok(JobAlerts::Muted));
        let listed = parse(serde_json::json!({"channels": [a, b, a]})).unwrap();
        assert_eq!(listed.channel_ids().iter().map(Uuid::to_string).collect::<Vec<_>>(), vec![a, b], "in order, repeats dropped");
        for alerts in [JobAlerts::OrgChannels, JobAlerts::Muted, listed] {
            let back = JobAlerts::parse(alerts.to_input().as_ref(), &mut ValidationErrors::default());
            assert_eq!(back, Some(alerts));
        }
    }

    #[test]
    fn every_mistake_is_named() {
        let code = |json| parse(json).unwrap_err();
        assert_eq!(code(serde_json::json!({"mute": true, "channels": []})), vec![("notifications".into(), "notifications_conflict".into())]);
        assert_eq!(code(serde_json::json!({"channels": []})), vec![("notifications.channels".into(), "notifications_no_channels".into())]);
        let many: Vec<String> = (0..21).map(|i| format!("0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a{i:02}")).collect();
        assert_eq!(code(serde_json::json!({"channels": many}))[0].1, "notifications_too_many_channels");
        assert_eq!(
            code(serde_json::json!({"channels": ["0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5b", "slack", "x"]})),
            vec![
                ("notifications.channels[1]".into(), "notifications_channel_id".into()),
                ("notifications.channels[2]".into(), "notifications_channel_id".into())
            ]
        );
        assert!(serde_json::from_value::<JobAlertsInput>(serde_json::json!({"muted": true})).is_err(), "unknown fields are refused");
    }
}
