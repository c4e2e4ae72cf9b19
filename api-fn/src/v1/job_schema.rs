//! The wire shapes of jobs: [`JobView`] (what the API returns, built from a stored job) and the
//! documented request shapes. Requests are parsed by `domain::job::JobDraft` itself (one parser
//! for the API, sync and the dashboard); the `*Input` types here only describe that format in
//! the OpenAPI document, and a test keeps their field names equal to the draft's.

use chrono::{DateTime, Utc};
use domain::job::{CatchUp, JobAlerts, Overlap};
use domain::retry::RetryPolicyInput;
use domain::schedule::Schedule;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One request header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Header {
    #[schema(example = "Authorization")]
    pub name: String,
    #[schema(example = "Bearer s3cr3t")]
    pub value: String,
}

/// HTTP method of the call (case-insensitive on input).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
}

/// Headers as an object (`{"X-Env": "prod"}`) or a list of `{name, value}`, in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum HeadersInput {
    Object(std::collections::BTreeMap<String, String>),
    List(Vec<Header>),
}

/// Retry policy: total attempts (1 = no retries) and the bounds of exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    #[schema(minimum = 1, maximum = 10, example = 5)]
    pub max_attempts: u8,
    /// Default 10.
    #[schema(minimum = 1, maximum = 3600)]
    pub base_delay_secs: Option<u32>,
    /// Default the larger of 3600 and `base_delay_secs`.
    #[schema(minimum = 1, maximum = 86400)]
    pub max_delay_secs: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CatchUpMode {
    RunOnce,
    RunAll,
    Skip,
}

/// Missed-run policy after downtime or a pause: run once, run every missed occurrence (at most
/// `cap`, 1 to 100, default 10; only with `run_all`), or skip to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatchUpPolicy {
    pub mode: CatchUpMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 100)]
    pub cap: Option<u16>,
}

/// Overlap policy: start a run while the previous one is still going (`allow`), or skip it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverlapPolicy {
    Allow,
    Skip,
}

/// Who gets a job's alerts instead of all of the organization's notification channels: nobody
/// (`{"mute": true}`), or only the channels listed (`{"channels": [...]}`, 1 to 20 channel ids of
/// the organization; each still takes only the events it takes). Not both. A channel deleted
/// later drops out of the list; a list left empty means the organization's channels again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobNotifications {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 20, min_items = 1)]
    pub channels: Option<Vec<Uuid>>,
}

/// An hourly, daily or weekly preset; stored as the cron expression it stands for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "interval", rename_all = "snake_case", deny_unknown_fields)]
pub enum Preset {
    #[schema(title = "HourlyPreset")]
    Hourly {
        #[schema(minimum = 0, maximum = 59)]
        minute: Option<u8>,
    },
    #[schema(title = "DailyPreset")]
    Daily {
        #[schema(minimum = 0, maximum = 23)]
        hour: u8,
        #[schema(minimum = 0, maximum = 59)]
        minute: Option<u8>,
    },
    #[schema(title = "WeeklyPreset")]
    Weekly {
        /// `Mon` … `Sun` or the full English name.
        #[schema(example = "Mon")]
        weekday: String,
        #[schema(minimum = 0, maximum = 23)]
        hour: u8,
        #[schema(minimum = 0, maximum = 59)]
        minute: Option<u8>,
    },
}

/// When a job runs: a five-field cron expression (or `@hourly`, `@daily`, `@weekly`,
/// `@monthly`) in an IANA time zone (default UTC), one instant, or a preset.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleInput {
    #[schema(title = "CronScheduleInput")]
    Cron {
        #[schema(example = "*/15 * * * *", max_length = 256)]
        expr: String,
        #[schema(example = "Europe/Oslo")]
        timezone: Option<String>,
    },
    #[schema(title = "OnceScheduleInput")]
    Once {
        at: DateTime<Utc>,
    },
    #[schema(title = "PresetScheduleInput")]
    Preset {
        preset: Preset,
        #[schema(example = "Europe/Oslo")]
        timezone: Option<String>,
    },
}

/// A job as submitted. Only `name`, `url` and `schedule` are required.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobInput {
    #[schema(example = "Nightly report", max_length = 200)]
    pub name: String,
    /// Client-chosen key for declarative sync: letters, digits, `.`, `_`, `-` (1 to 128).
    #[schema(example = "nightly-report", max_length = 128)]
    pub key: Option<String>,
    /// http or https URL to call.
    #[schema(example = "https://example.com/hooks/report", max_length = 2048)]
    pub url: String,
    /// Default POST (every call is a Standard Webhooks delivery).
    pub method: Option<Method>,
    /// Default none.
    #[schema(nullable = false)]
    pub headers: Option<HeadersInput>,
    /// Sent verbatim (at most 256 KiB); not allowed with GET and HEAD.
    pub body: Option<String>,
    /// 1 to 30 s on Free, to 300 s on Pro (default 30).
    #[schema(minimum = 1, maximum = 300)]
    pub timeout_secs: Option<u32>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Default: cron jobs 1 attempt (the next run is the retry); one-time jobs 5 attempts.
    pub retry: Option<Retry>,
    pub catch_up: Option<CatchUpPolicy>,
    pub overlap: Option<OverlapPolicy>,
    /// The endpoint must ping back within this many seconds of a run's start (10 to 86400).
    #[schema(minimum = 10, maximum = 86400)]
    pub completion_window_secs: Option<u32>,
    /// Default: the organization's channels.
    pub notifications: Option<JobNotifications>,
    pub schedule: ScheduleInput,
}

/// Changes to a job: each field given replaces the stored one (objects such as `schedule` and
/// `retry` are replaced whole); `null` resets a field to its default.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobPatch {
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 128)]
    pub key: Option<String>,
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    pub method: Option<Method>,
    pub headers: Option<HeadersInput>,
    pub body: Option<String>,
    #[schema(minimum = 1, maximum = 300)]
    pub timeout_secs: Option<u32>,
    pub enabled: Option<bool>,
    pub retry: Option<Retry>,
    pub catch_up: Option<CatchUpPolicy>,
    pub overlap: Option<OverlapPolicy>,
    #[schema(minimum = 10, maximum = 86400)]
    pub completion_window_secs: Option<u32>,
    pub notifications: Option<JobNotifications>,
    pub schedule: Option<ScheduleInput>,
}

/// A stored schedule in canonical form: presets appear as their cron expression, the zone named.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScheduleView {
    #[schema(title = "CronSchedule")]
    Cron {
        expr: String,
        timezone: String,
    },
    #[schema(title = "OnceSchedule")]
    Once {
        at: DateTime<Utc>,
    },
}

impl From<&Schedule> for ScheduleView {
    fn from(s: &Schedule) -> Self {
        match s {
            Schedule::Cron(c) => ScheduleView::Cron { expr: c.expr().to_owned(), timezone: c.timezone().name().to_owned() },
            Schedule::Once(at) => ScheduleView::Once { at: *at },
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobView {
    pub id: Uuid,
    pub key: Option<String>,
    pub name: String,
    pub url: String,
    pub method: Method,
    pub headers: Vec<Header>,
    pub body: Option<String>,
    pub timeout_secs: u32,
    pub enabled: bool,
    pub retry: Retry,
    pub catch_up: CatchUpPolicy,
    pub overlap: OverlapPolicy,
    pub completion_window_secs: Option<u32>,
    /// Null: the organization's channels get this job's alerts.
    pub notifications: Option<JobNotifications>,
    pub schedule: ScheduleView,
    /// Plain-language description, e.g. "every day at 09:00 (Europe/Oslo)".
    pub schedule_description: String,
    /// Shortest gap between runs, in minutes (null for one-time jobs).
    pub interval_minutes: Option<u32>,
    /// The next run the scheduler will create (null when disabled or when a one-time job has fired).
    pub next_run_at: Option<DateTime<Utc>>,
    /// Set when the organization's plan paused the job (after a downgrade): `plan_job_limit` (the
    /// plan runs fewer jobs; the newest beyond it are paused) or `plan_min_interval` (its
    /// schedule is faster than the plan allows). Upgrading resumes it; enabling it is allowed
    /// once the plan would run it. `org_deletion` while the organization is scheduled for
    /// deletion (its API keys are refused then, so the API shows it only in an export).
    pub paused_reason: Option<domain::billing::PauseReason>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn method_of(m: domain::job::HttpMethod) -> Method {
    use domain::job::HttpMethod as M;
    match m {
        M::Get => Method::Get,
        M::Post => Method::Post,
        M::Put => Method::Put,
        M::Patch => Method::Patch,
        M::Delete => Method::Delete,
        M::Head => Method::Head,
    }
}

impl From<&store::jobs::Job> for JobView {
    fn from(job: &store::jobs::Job) -> Self {
        let spec = &job.spec;
        let (max_attempts, base, max) = RetryPolicyInput::from(spec.retry).resolved();
        let catch_up = match spec.catch_up {
            CatchUp::RunOnce => CatchUpPolicy { mode: CatchUpMode::RunOnce, cap: None },
            CatchUp::RunAll { cap } => CatchUpPolicy { mode: CatchUpMode::RunAll, cap: Some(cap.get()) },
            CatchUp::Skip => CatchUpPolicy { mode: CatchUpMode::Skip, cap: None },
        };
        JobView {
            id: job.id,
            key: spec.key.as_ref().map(|k| k.as_str().to_owned()),
            name: spec.name.as_str().to_owned(),
            url: spec.url.as_str().to_owned(),
            method: method_of(spec.method),
            // credentials are never shown back (written back masked, they are kept)
            headers: spec.headers.iter().map(|(n, v)| Header { name: n.to_owned(), value: domain::job::shown_value(n, v) }).collect(),
            body: spec.body.as_ref().map(|b| b.as_str().to_owned()),
            timeout_secs: u32::from(spec.timeout.secs()),
            enabled: spec.enabled,
            retry: Retry { max_attempts, base_delay_secs: Some(base), max_delay_secs: Some(max) },
            catch_up,
            overlap: match spec.overlap {
                Overlap::Allow => OverlapPolicy::Allow,
                Overlap::Skip => OverlapPolicy::Skip,
            },
            completion_window_secs: spec.completion_window.map(|w| w.secs()),
            notifications: match &spec.alerts {
                JobAlerts::OrgChannels => None,
                JobAlerts::Muted => Some(JobNotifications { mute: Some(true), channels: None }),
                JobAlerts::Channels(ids) => Some(JobNotifications { mute: None, channels: Some(ids.clone()) }),
            },
            schedule: ScheduleView::from(&spec.schedule),
            schedule_description: spec.schedule.describe(),
            interval_minutes: spec.interval_minutes,
            next_run_at: job.next_run_at,
            paused_reason: job.paused_reason,
            created_at: job.created_at,
            updated_at: job.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use utoipa::PartialSchema;

    fn schema_properties<T: PartialSchema>() -> BTreeSet<String> {
        let json = serde_json::to_value(T::schema()).unwrap();
        json["properties"].as_object().unwrap().keys().cloned().collect()
    }

    /// The documented request shapes name exactly the fields `JobDraft` parses.
    #[test]
    fn documented_fields_match_the_draft() {
        let draft = domain::job::JobDraft {
            key: Some("k".into()),
            method: Some("GET".into()),
            headers: domain::job::HeadersInput(vec![domain::job::HeaderInput { name: "a".into(), value: "b".into() }]),
            body: Some("b".into()),
            timeout_secs: Some(1),
            enabled: Some(true),
            retry: Some(RetryPolicyInput { max_attempts: 1, base_delay_secs: Some(1), max_delay_secs: Some(1) }),
            catch_up: Some(domain::job::CatchUpInput { mode: domain::job::CatchUpMode::Skip, cap: None }),
            overlap: Some(Overlap::Allow),
            completion_window_secs: Some(10),
            notifications: Some(domain::job::JobAlertsInput { mute: Some(true), channels: Some(vec![]) }),
            schedule: Some(domain::schedule::ScheduleSpec::Once { at: Utc::now() }),
            ..Default::default()
        };
        let fields: BTreeSet<String> = serde_json::to_value(&draft).unwrap().as_object().unwrap().keys().cloned().collect();
        assert_eq!(schema_properties::<JobInput>(), fields);
        assert_eq!(schema_properties::<JobPatch>(), fields);
        let retry: BTreeSet<String> =
            serde_json::to_value(draft.retry.unwrap()).unwrap().as_object().unwrap().keys().cloned().collect();
        assert_eq!(schema_properties::<Retry>(), retry);
        let notifications: BTreeSet<String> =
            serde_json::to_value(draft.notifications.unwrap()).unwrap().as_object().unwrap().keys().cloned().collect();
        assert_eq!(schema_properties::<JobNotifications>(), notifications);
    }
}
