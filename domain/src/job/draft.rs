//! The job aggregate: [`JobDraft`] (what a user submits) validated by [`validate`] into a
//! [`JobSpec`] (what is stored and dispatched), with every error collected.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::alerts::{JobAlerts, JobAlertsInput};
use super::field_error::{ErrorCode, FieldError, ValidationErrors};
use super::fields::{CompletionWindow, JobBody, JobBodyError, JobKey, JobName, TimeoutSecs};
use super::headers::{HeadersInput, JobHeaders};
use super::run_policies::{CatchUp, CatchUpError, CatchUpInput, Overlap};
use super::target::{HttpMethod, TargetUrl};
use crate::retry::{RetryPolicy, RetryPolicyError, RetryPolicyInput};
use crate::schedule::{Schedule, ScheduleError, ScheduleSpec};
use crate::tier::Tier;

/// A job as submitted through the API, the dashboard or declarative sync: unvalidated, with
/// every optional field left out meaning "the default".
///
/// | field                    | default                                                   |
/// |--------------------------|-----------------------------------------------------------|
/// | `method`                 | `POST`                                                    |
/// | `headers`                | none; an object or an array of `{name, value}`            |
/// | `body`                   | none (`""` is also none)                                  |
/// | `timeout_secs`           | 30                                                        |
/// | `enabled`                | `true`                                                    |
/// | `retry`                  | cron: 1 attempt (no retries); once: 5 attempts from 10 s  |
/// | `catch_up`               | `{"mode": "run_once"}`                                    |
/// | `overlap`                | `"allow"`                                                 |
/// | `completion_window_secs` | none (no ping-back expected)                              |
/// | `notifications`          | the organization's channels (see [`JobAlerts`])           |
///
/// **Why POST by default:** every call is a Standard Webhooks delivery, which the
/// specification defines as a POST, and receivers built with its libraries expect one. A plain
/// GET ping (health checks, cron-job.org-style URLs) is one explicit `"method": "GET"` away,
/// whereas a GET default would make every signed-payload job need the override.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobDraft {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "headers_are_empty")]
    pub headers: HeadersInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicyInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<CatchUpInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<Overlap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_window_secs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<JobAlertsInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
}

fn headers_are_empty(h: &HeadersInput) -> bool {
    h.0.is_empty()
}

/// A fully validated job, ready to store and dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub name: JobName,
    pub key: Option<JobKey>,
    pub url: TargetUrl,
    pub method: HttpMethod,
    pub headers: JobHeaders,
    pub body: Option<JobBody>,
    pub timeout: TimeoutSecs,
    pub enabled: bool,
    pub retry: RetryPolicy,
    pub catch_up: CatchUp,
    pub overlap: Overlap,
    pub completion_window: Option<CompletionWindow>,
    /// Who hears about this job's alerts.
    pub alerts: JobAlerts,
    pub schedule: Schedule,
    /// Derived from `schedule` (`None` for one-time jobs); drives priority and tier checks.
    pub interval_minutes: Option<u32>,
}

impl JobSpec {
    /// The draft that validates back to this spec (for editing, duplicating, sync diffs). The
    /// schedule comes back in its canonical form (presets as cron, the zone named).
    pub fn to_draft(&self) -> JobDraft {
        JobDraft {
            name: self.name.as_str().to_owned(),
            key: self.key.as_ref().map(|k| k.as_str().to_owned()),
            url: self.url.as_str().to_owned(),
            method: Some(self.method.as_str().to_owned()),
            headers: self.headers.to_input(),
            body: self.body.as_ref().map(|b| b.as_str().to_owned()),
            timeout_secs: Some(u32::from(self.timeout.secs())),
            enabled: Some(self.enabled),
            retry: Some(self.retry.into()),
            catch_up: Some(self.catch_up.into()),
            overlap: Some(self.overlap),
            completion_window_secs: self.completion_window.map(CompletionWindow::secs),
            notifications: self.alerts.to_input(),
            schedule: Some(self.schedule.to_spec()),
        }
    }
}

impl ErrorCode for RetryPolicyError {
    fn code(&self) -> &'static str {
        RetryPolicyError::code(self)
    }
}

impl ErrorCode for ScheduleError {
    fn code(&self) -> &'static str {
        schedule_error_location(self).1
    }
}

/// Where in `schedule` an error points, and its code.
fn schedule_error_location(e: &ScheduleError) -> (&'static str, &'static str) {
    match e {
        ScheduleError::EmptyTimezone | ScheduleError::UnknownTimezone { .. } => {
            ("schedule.timezone", "schedule_timezone")
        }
        ScheduleError::PresetOutOfRange { .. } => ("schedule.preset", "schedule_preset"),
        _ => ("schedule.expr", "schedule_cron"),
    }
}

/// Schedule rules that depend on the moment and the plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleRuleError {
    #[error("a schedule is required: a cron expression, a preset, or a one-time instant")]
    Missing,
    #[error("the run time {at} is not in the future (it is now {now})")]
    InThePast { at: String, now: String },
    #[error("{}", interval_message(*interval_minutes, *tier))]
    IntervalBelowTier { interval_minutes: u32, tier: Tier },
}

impl ErrorCode for ScheduleRuleError {
    fn code(&self) -> &'static str {
        match self {
            ScheduleRuleError::Missing => "schedule_required",
            ScheduleRuleError::InThePast { .. } => "schedule_in_past",
            ScheduleRuleError::IntervalBelowTier { .. } => "schedule_interval_below_tier",
        }
    }
}

fn interval_message(interval: u32, tier: Tier) -> String {
    let min = tier.limits().min_interval_minutes;
    let every = match interval {
        1 => "every minute".to_owned(),
        n => format!("every {n} minutes"),
    };
    let allowed = match min {
        60 => "at most once per hour".to_owned(),
        n => format!("at most once every {n} minutes"),
    };
    let upgrade = match tier {
        Tier::Free => "; upgrade to Pro for every-minute schedules",
        Tier::Pro => "",
    };
    format!(
        "this schedule runs as often as {every}; the {} plan allows schedules {allowed}{upgrade}",
        tier.display_name()
    )
}

/// Rebuilds a spec from stored values. The field rules are the same as [`validate`], but nothing
/// that depends on the moment or the plan is checked: a one-time job whose instant has passed
/// still loads, and a job created on Pro stays readable after a downgrade (the dispatcher and
/// the API enforce plan limits where they act).
pub fn restore(draft: &JobDraft) -> Result<JobSpec, ValidationErrors> {
    validate(draft, Tier::Pro, DateTime::<Utc>::MIN_UTC)
}

/// Validates `draft` for an organization on `tier` at `now`, reporting every problem at once.
pub fn validate(
    draft: &JobDraft,
    tier: Tier,
    now: DateTime<Utc>,
) -> Result<JobSpec, ValidationErrors> {
    let mut errors = ValidationErrors::default();

    let name = errors.check("name", JobName::parse(&draft.name));
    let key = match &draft.key {
        None => Some(None),
        Some(k) => errors.check("key", JobKey::parse(k)).map(Some),
    };
    let url = errors.check("url", TargetUrl::parse(&draft.url));
    let method = match &draft.method {
        None => Some(HttpMethod::Post),
        Some(m) => errors.check("method", m.parse::<HttpMethod>()),
    };
    let headers = match JobHeaders::parse(&draft.headers) {
        Ok(h) => Some(h),
        Err(list) => {
            list.into_iter().for_each(|e| errors.push(e));
            None
        }
    };
    let body = match &draft.body {
        None => Some(None),
        Some(b) => errors.check("body", JobBody::parse(b)),
    };
    if let (Some(m), Some(Some(_))) = (method, &body)
        && !m.allows_body()
    {
        let e = JobBodyError::NotAllowed { method: m.as_str() };
        errors.push(FieldError::from_error("body", &e));
    }
    let timeout = match draft.timeout_secs {
        None => Some(TimeoutSecs::DEFAULT),
        Some(s) => errors.check("timeout_secs", TimeoutSecs::new(s, tier)),
    };
    let schedule = validate_schedule(draft.schedule.as_ref(), tier, now, &mut errors);
    let retry = match &draft.retry {
        Some(input) => match input.validate() {
            Ok(p) => Some(p),
            Err(list) => {
                for e in list {
                    errors.push(FieldError::from_error(format!("retry.{}", e.field()), &e));
                }
                None
            }
        },
        None => Some(match schedule {
            Some(Schedule::Once(_)) => RetryPolicy::one_time_default(),
            _ => RetryPolicy::cron_default(),
        }),
    };
    let catch_up = match draft.catch_up {
        None => Some(CatchUp::default()),
        Some(input) => {
            let result = CatchUp::try_from(input);
            let field = match &result {
                Err(CatchUpError::CapRange { .. } | CatchUpError::CapWithoutRunAll) => {
                    "catch_up.cap"
                }
                Ok(_) => "catch_up",
            };
            errors.check(field, result)
        }
    };
    let completion_window = match draft.completion_window_secs {
        None => Some(None),
        Some(s) => errors
            .check("completion_window_secs", CompletionWindow::from_secs(s))
            .map(Some),
    };
    let alerts = JobAlerts::parse(draft.notifications.as_ref(), &mut errors);

    match (
        name,
        key,
        url,
        method,
        headers,
        body,
        timeout,
        schedule,
        retry,
        catch_up,
        completion_window,
        alerts,
    ) {
        (
            Some(name),
            Some(key),
            Some(url),
            Some(method),
            Some(headers),
            Some(body),
            Some(timeout),
            Some(schedule),
            Some(retry),
            Some(catch_up),
            Some(completion_window),
            Some(alerts),
        ) if errors.is_empty() => Ok(JobSpec {
            name,
            key,
            url,
            method,
            headers,
            body,
            timeout,
            enabled: draft.enabled.unwrap_or(true),
            retry,
            catch_up,
            overlap: draft.overlap.unwrap_or_default(),
            completion_window,
            alerts,
            interval_minutes: schedule.interval_minutes(),
            schedule,
        }),
        _ => Err(errors),
    }
}

/// Parses the schedule and applies the rules that depend on `now` and the tier. Returns the
/// schedule only when it passes all of them.
fn validate_schedule(
    spec: Option<&ScheduleSpec>,
    tier: Tier,
    now: DateTime<Utc>,
    errors: &mut ValidationErrors,
) -> Option<Schedule> {
    let Some(spec) = spec else {
        errors.push(FieldError::from_error(
            "schedule",
            &ScheduleRuleError::Missing,
        ));
        return None;
    };
    let schedule = match spec.parse() {
        Ok(s) => s,
        Err(e) => {
            errors.push(FieldError::from_error(schedule_error_location(&e).0, &e));
            return None;
        }
    };
    let rule = match &schedule {
        Schedule::Once(at) if *at <= now => Some((
            "schedule.at",
            ScheduleRuleError::InThePast {
                at: at.to_rfc3339(),
                now: now.to_rfc3339(),
            },
        )),
        Schedule::Once(_) => None,
        Schedule::Cron(_) => schedule
            .interval_minutes()
            .filter(|m| *m < tier.limits().min_interval_minutes)
            .map(|interval_minutes| {
                (
                    "schedule",
                    ScheduleRuleError::IntervalBelowTier {
                        interval_minutes,
                        tier,
                    },
                )
            }),
    };
    match rule {
        Some((field, e)) => {
            errors.push(FieldError::from_error(field, &e));
            None
        }
        None => Some(schedule),
    }
}
