//! The wire shape of executions (one delivery of a message, with its retries) and of their
//! finished attempts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::job_schema::{Header, Method, method_of};

pub use domain::execution::{ExecutionStatus, Source};

/// The request as delivered (a snapshot: editing the job later does not change history).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestSnapshot {
    pub method: Method,
    pub url: String,
    pub headers: Vec<Header>,
    pub body: Option<String>,
    pub timeout_secs: i32,
}

/// The endpoint's answer to the latest attempt (body truncated to a set size).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResponseSnapshot {
    pub status: i16,
    pub headers: Vec<Header>,
    pub body: Option<String>,
}

/// One execution.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExecutionView {
    pub id: Uuid,
    /// Null for queue calls and after the job was deleted.
    pub job_id: Option<Uuid>,
    pub source: Source,
    pub status: ExecutionStatus,
    /// Why it was skipped or cancelled.
    pub status_reason: Option<String>,
    /// The nominal run time (cron occurrence, queue deliver-at, trigger instant).
    pub scheduled_for: DateTime<Utc>,
    /// When it may next be attempted (equals `scheduled_for` until a retry is planned).
    pub run_at: DateTime<Utc>,
    /// Attempts started so far.
    pub attempt: i16,
    pub max_attempts: i16,
    /// The Standard Webhooks `webhook-id`, the same for every retry and redelivery of the message.
    #[schema(example = "msg_0192f2a1c3d84e5f8a9b0c1d2e3f4a5b")]
    pub message_id: String,
    pub request: RequestSnapshot,
    pub response: Option<ResponseSnapshot>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    pub error: Option<String>,
    /// The execution this one redelivers.
    pub redelivery_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// For a job with a completion window: whether its endpoint reported completion in time.
    pub completion: Option<CompletionView>,
}

/// Where a run's completion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompletionState {
    /// The call has not been answered yet.
    NotStarted,
    /// The call succeeded; the completion URL has not been called yet.
    Waiting,
    /// Called within the window.
    Completed,
    /// Called after the window.
    Late,
    /// Not called within the window.
    Missed,
}

/// The completion part of a run of a job with a completion window.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompletionView {
    pub window_secs: i32,
    /// When the window ends (the call was sent at its start).
    pub deadline: Option<DateTime<Utc>>,
    /// When the completion URL was first called.
    pub completed_at: Option<DateTime<Utc>>,
    pub state: CompletionState,
}

fn completion_of(e: &store::executions::Execution) -> Option<CompletionView> {
    let window_secs = e.completion_window_secs?;
    let answered_ok = e.response_status.is_some_and(|s| (200..300).contains(&s));
    let state = match (e.status, e.completed_at, e.completion_deadline) {
        (ExecutionStatus::Waiting, _, _) => CompletionState::Waiting,
        (_, Some(at), Some(deadline)) if at > deadline => CompletionState::Late,
        (_, Some(_), _) => CompletionState::Completed,
        (ExecutionStatus::Failed, None, Some(_)) if answered_ok => CompletionState::Missed,
        _ => CompletionState::NotStarted,
    };
    Some(CompletionView { window_secs, deadline: e.completion_deadline, completed_at: e.completed_at, state })
}

/// A finished attempt of an execution.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i16,
    pub status: ExecutionStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub response_status: Option<i16>,
    pub error: Option<String>,
}

/// An execution with the attempts that finished before its latest one.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExecutionDetail {
    #[serde(flatten)]
    pub execution: ExecutionView,
    pub attempts: Vec<AttemptView>,
}

/// Headers as shown: credentials masked (a request's `Authorization`, a response's `Set-Cookie`).
fn headers_of(pairs: &[(String, String)]) -> Vec<Header> {
    domain::job::shown_headers(pairs).into_iter().map(|(name, value)| Header { name, value }).collect()
}

impl From<&store::executions::Execution> for ExecutionView {
    fn from(e: &store::executions::Execution) -> Self {
        ExecutionView {
            id: e.id,
            job_id: e.job_id,
            source: e.source,
            status: e.status,
            status_reason: e.status_reason.clone(),
            scheduled_for: e.scheduled_for,
            run_at: e.run_at,
            attempt: e.attempt,
            max_attempts: e.max_attempts,
            message_id: e.webhook_id().to_string(),
            request: RequestSnapshot {
                method: method_of(e.method),
                url: e.url.clone(),
                headers: headers_of(&e.headers.0),
                body: e.body.clone(),
                timeout_secs: e.timeout_secs,
            },
            response: e.response_status.map(|status| ResponseSnapshot {
                status,
                headers: e.response_headers.as_ref().map(|h| headers_of(&h.0)).unwrap_or_default(),
                body: e.response_body.clone(),
            }),
            started_at: e.started_at,
            finished_at: e.finished_at,
            duration_ms: e.duration_ms,
            error: e.error.clone(),
            redelivery_of: e.redelivery_of,
            created_at: e.created_at,
            completion: completion_of(e),
        }
    }
}

impl From<&store::executions::Attempt> for AttemptView {
    fn from(a: &store::executions::Attempt) -> Self {
        AttemptView {
            attempt: a.attempt,
            status: a.status,
            started_at: a.started_at,
            finished_at: a.finished_at,
            duration_ms: a.duration_ms,
            response_status: a.response_status,
            error: a.error.clone(),
        }
    }
}
