//! `POST /api/v1/queue`: a one-off HTTP call, delivered now or after a delay with the same
//! signing, retries and history as a job's runs. `Idempotency-Key` makes a retried request
//! enqueue the call once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use domain::job::{HeadersInput, JobDraft};
use domain::retry::{RetryPolicy, RetryPolicyInput};
use domain::schedule::ScheduleSpec;
use serde::Deserialize;
use store::executions::Source;
use utoipa::ToSchema;

use super::auth::Tenant;
use super::execution_schema::ExecutionView;
use super::runs::{Adding, enqueue_spec, ensure_quota};
use super::extract::{IdempotencyKey, RawJson};
use super::idempotent;
use super::instants::check_instant;
use crate::AppState;
use crate::problem::Problem;

/// The longest a call can be delayed.
pub const MAX_DELAY: TimeDelta = TimeDelta::days(30);

/// A call to deliver once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueRequest {
    /// http or https URL to call.
    #[schema(example = "https://example.com/hooks/welcome-email", max_length = 2048)]
    pub url: String,
    /// Default POST.
    #[schema(value_type = Option<super::job_schema::Method>)]
    pub method: Option<String>,
    #[serde(default)]
    #[schema(value_type = super::job_schema::HeadersInput, required = false)]
    pub headers: HeadersInput,
    /// Sent verbatim (at most 256 KiB); not allowed with GET and HEAD.
    pub body: Option<String>,
    /// 1 to 30 s on Free, to 300 s on Pro (default 30).
    #[schema(minimum = 1, maximum = 300)]
    pub timeout_secs: Option<u32>,
    /// Default: 5 attempts backing off from 10 s.
    #[schema(value_type = Option<super::job_schema::Retry>)]
    pub retry: Option<RetryPolicyInput>,
    /// Deliver this many seconds from now (0 to 2592000, 30 days). Not with `deliver_at`.
    #[schema(minimum = 0, maximum = 2592000)]
    pub delay_secs: Option<u32>,
    /// Deliver at this instant (at most 30 days ahead; a past instant means now). Not with `delay_secs`.
    pub deliver_at: Option<DateTime<Utc>>,
}

/// Enqueue a one-off call.
///
/// The call is delivered now, after `delay_secs` or at `deliver_at`, signed and retried like a
/// job's runs, and kept in the execution history (with `job_id` null).
#[utoipa::path(post, path = "/api/v1/queue", tag = "queue", operation_id = "enqueueCall", request_body(content = QueueRequest, example = json!(crate::v1::examples::queue_request())),
    params(("Idempotency-Key" = Option<String>, Header, description = "Enqueues the call once; a repeat within 24 h replays the first response")),
    responses(
        (status = 202, description = "Enqueued", body = ExecutionView, example = json!(crate::v1::examples::queued_execution())),
        (status = 403, description = "The monthly quota is used up (counting the runs already waiting)", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::quota_problem())),
        (status = 429, description = "The plan's cap on runs (or request-body bytes) waiting to be delivered is reached", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::pending_problem())),
    ),
    security(("api_key" = [])))]
pub async fn enqueue(State(state): State<AppState>, tenant: Tenant, key: IdempotencyKey, body: RawJson) -> Result<Response, Problem> {
    let req: QueueRequest = body.parse()?;
    let now = Utc::now();
    let at = deliver_at(&req, now)?;
    let retry = req.retry.unwrap_or_else(|| RetryPolicy::one_time_default().into());
    let draft = JobDraft {
        name: "queued call".to_owned(),
        url: req.url,
        method: req.method,
        headers: req.headers,
        body: req.body,
        timeout_secs: req.timeout_secs,
        retry: Some(retry),
        schedule: Some(ScheduleSpec::Once { at }),
        ..JobDraft::default()
    };
    // The instant was checked above; validating "as of" just before it leaves the field rules.
    let mut spec = domain::job::validate(&draft, tenant.tier, at - TimeDelta::microseconds(1))
        .map_err(|errors| Problem::from_validation(&errors, ""))?;
    super::job_rules::seal(&state, tenant.org_id, &mut spec, None).await?;

    let mut tx = state.pool.begin().await?;
    if let Some(replay) = idempotent::begin(&mut tx, &tenant, &key, &idempotent::fingerprint("POST", "/api/v1/queue", &body.0)).await? {
        return Ok(replay);
    }
    ensure_quota(&mut tx, &tenant, now, Adding::one(spec.body.as_ref().map_or(0, |b| b.as_str().len()))).await?;
    let priority = domain::priority::priority(tenant.tier, None);
    let execution = enqueue_spec(&mut tx, &tenant, None, Source::Queue, at, priority, &spec).await?;
    let res = idempotent::finish(&mut tx, &tenant, &key, StatusCode::ACCEPTED, &ExecutionView::from(&execution)).await?;
    tx.commit().await?;
    tracing::info!(org_id = %tenant.org_id, execution_id = %execution.id, "call queued");
    Ok(res)
}

/// When to deliver: now, `now + delay_secs`, or `deliver_at` (a past instant meaning now).
fn deliver_at(req: &QueueRequest, now: DateTime<Utc>) -> Result<DateTime<Utc>, Problem> {
    let too_far = || format!("calls can be delayed by at most {} days", MAX_DELAY.num_days());
    match (req.delay_secs, req.deliver_at) {
        (Some(_), Some(_)) => Err(Problem::invalid_field("delay_secs", "delay_conflict", "give delay_secs or deliver_at, not both")),
        (Some(secs), None) => {
            let delay = TimeDelta::seconds(i64::from(secs));
            if delay > MAX_DELAY {
                return Err(Problem::invalid_field("delay_secs", "delay_too_long", too_far()));
            }
            Ok(now + delay)
        }
        (None, Some(at)) => {
            check_instant("deliver_at", at)?;
            if at - now > MAX_DELAY {
                return Err(Problem::invalid_field("deliver_at", "delay_too_long", too_far()));
            }
            Ok(at.max(now))
        }
        (None, None) => Ok(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(delay_secs: Option<u32>, at: Option<DateTime<Utc>>) -> QueueRequest {
        QueueRequest {
            url: "https://example.com".into(),
            method: None,
            headers: HeadersInput::default(),
            body: None,
            timeout_secs: None,
            retry: None,
            delay_secs,
            deliver_at: at,
        }
    }

    #[test]
    fn delivery_time_rules() {
        let now = Utc::now();
        assert_eq!(deliver_at(&req(None, None), now).unwrap(), now);
        assert_eq!(deliver_at(&req(Some(60), None), now).unwrap(), now + TimeDelta::seconds(60));
        assert_eq!(deliver_at(&req(None, Some(now - TimeDelta::hours(1))), now).unwrap(), now, "the past means now");
        let p = deliver_at(&req(Some(1), Some(now)), now).unwrap_err();
        assert_eq!(p.errors[0].code, "delay_conflict");
        let p = deliver_at(&req(Some(31 * 86400), None), now).unwrap_err();
        assert_eq!(p.errors[0].code, "delay_too_long");
        let p = deliver_at(&req(None, Some(now + TimeDelta::days(31))), now).unwrap_err();
        assert_eq!((p.errors[0].field.as_str(), p.errors[0].code.as_str()), ("deliver_at", "delay_too_long"));
    }
}
