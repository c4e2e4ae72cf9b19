//! The example bodies of the OpenAPI document, in one place so the operations that share a shape
//! show the same object. Where the API itself can make the value (a problem document, a
//! schedule's description, a cursor), it is made by the same code that answers requests, so an
//! example cannot drift from what the API says. `openapi.rs` validates every example of the
//! served document against its schema.

use chrono::{DateTime, Utc};
use domain::tier::Tier;
use serde_json::{Value, json};
use uuid::Uuid;

use super::pagination::encode_cursor;
use crate::problem::Problem;

pub const JOB_ID: &str = "0192f2a1-7c3e-7b8a-9d41-5e6f7a8b9c0d";
pub const EXECUTION_ID: &str = "0192f2a2-0d4b-7f10-8a2c-3b4d5e6f7a81";
pub const EARLIER_EXECUTION_ID: &str = "0192eda6-5e10-7c44-b1a2-93c4d5e6f702";
pub const MONITOR_ID: &str = "0192f2a3-4a5b-7c6d-8e7f-901a2b3c4d5e";
pub const CHANNEL_ID: &str = "0192f2a4-1b2c-7d3e-9f40-5a6b7c8d9e0f";
pub const API_KEY_ID: &str = "0192f2a5-6c7d-7e8f-a091-b2c3d4e5f607";
pub const NEW_API_KEY_ID: &str = "0192f2a6-8d9e-7f0a-8b1c-2d3e4f5a6b7c";
pub const SECRET_ID: &str = "0192f2a7-9e0f-7a1b-9c2d-3e4f5a6b7c8d";
pub const TEST_SEND_ID: &str = "0192f2a8-0f1a-7b2c-8d3e-4f5a6b7c8d9e";

const CREATED: &str = "2026-11-20T09:30:00Z";
const TRIGGERED: &str = "2026-11-23T10:15:00Z";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap_or_default()
}

/// A cursor as the API issues it (the last item of a page).
pub fn cursor() -> String {
    encode_cursor(at(CREATED), JOB_ID.parse().unwrap_or_default())
}

fn describe(expr: &str, timezone: &str) -> String {
    domain::schedule::Schedule::cron(expr, timezone).map(|s| s.describe()).unwrap_or_default()
}

// ---- jobs ----

/// A job as submitted (`POST /api/v1/jobs`, and each job of a sync).
pub fn job_input() -> Value {
    json!({
        "name": "Nightly report",
        "key": "nightly-report",
        "url": "https://example.com/hooks/report",
        "method": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": "{\"report\":\"daily\"}",
        "timeout_secs": 30,
        "retry": {"max_attempts": 3},
        "schedule": {"kind": "cron", "expr": "0 3 * * *", "timezone": "Europe/Oslo"}
    })
}

/// Changes to a job (`PATCH /api/v1/jobs/{id}`).
pub fn job_patch() -> Value {
    json!({"schedule": {"kind": "cron", "expr": "30 4 * * 1-5", "timezone": "Europe/Oslo"}, "timeout_secs": 60})
}

/// The job of [`job_input`] as stored.
pub fn job() -> Value {
    json!({
        "id": JOB_ID,
        "key": "nightly-report",
        "name": "Nightly report",
        "url": "https://example.com/hooks/report",
        "method": "POST",
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "body": "{\"report\":\"daily\"}",
        "timeout_secs": 30,
        "enabled": true,
        "retry": {"max_attempts": 3, "base_delay_secs": 10, "max_delay_secs": 3600},
        "catch_up": {"mode": "run_once"},
        "overlap": "allow",
        "completion_window_secs": null,
        "notifications": null,
        "schedule": {"kind": "cron", "expr": "0 3 * * *", "timezone": "Europe/Oslo"},
        "schedule_description": describe("0 3 * * *", "Europe/Oslo"),
        "interval_minutes": 1440,
        "next_run_at": "2026-11-24T02:00:00Z",
        "paused_reason": null,
        "created_at": CREATED,
        "updated_at": CREATED
    })
}

/// [`job`] after [`job_patch`].
pub fn job_updated() -> Value {
    let mut job = job();
    job["schedule"] = json!({"kind": "cron", "expr": "30 4 * * 1-5", "timezone": "Europe/Oslo"});
    job["schedule_description"] = json!(describe("30 4 * * 1-5", "Europe/Oslo"));
    job["timeout_secs"] = json!(60);
    job["next_run_at"] = json!("2026-11-24T03:30:00Z");
    job["updated_at"] = json!(TRIGGERED);
    job
}

/// [`job`], enabled or disabled.
pub fn job_enabled(enabled: bool) -> Value {
    let mut job = job();
    job["enabled"] = json!(enabled);
    if !enabled {
        job["next_run_at"] = Value::Null;
    }
    job["updated_at"] = json!(TRIGGERED);
    job
}

/// A page of jobs with more to come.
pub fn job_page() -> Value {
    json!({"data": [job()], "next_cursor": cursor()})
}

/// `PUT /api/v1/sync`: the desired set.
pub fn sync_request() -> Value {
    let mut weekly = job_input();
    weekly["name"] = json!("Weekly cleanup");
    weekly["key"] = json!("weekly-cleanup");
    weekly["url"] = json!("https://example.com/hooks/cleanup");
    weekly["schedule"] = json!({"kind": "preset", "preset": {"interval": "weekly", "weekday": "Sun", "hour": 4}, "timezone": "Europe/Oslo"});
    json!({"jobs": [job_input(), weekly]})
}

/// What [`sync_request`] changed.
pub fn sync_report() -> Value {
    json!({
        "dry_run": false,
        "created": [{"key": "weekly-cleanup", "id": "0192f2b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f"}],
        "updated": [],
        "deleted": [{"key": "old-export", "id": "0191d4c2-7b8a-7e6f-9d0c-1b2a3c4d5e6f"}],
        "unchanged": [{"key": "nightly-report", "id": JOB_ID}]
    })
}

/// `POST /api/v1/schedule/preview`.
pub fn preview_request() -> Value {
    json!({"schedule": {"kind": "cron", "expr": "0 9 * * 1-5", "timezone": "Europe/Oslo"}, "count": 3, "from": "2026-11-20T12:00:00Z"})
}

/// The preview of [`preview_request`], computed by the API's own preview.
pub fn preview_response() -> Value {
    let spec = domain::schedule::ScheduleSpec::Cron { expr: "0 9 * * 1-5".into(), timezone: Some("Europe/Oslo".into()) };
    match super::preview::preview_of(&spec, Tier::Pro, at("2026-11-20T12:00:00Z"), 3) {
        Ok(p) => serde_json::to_value(p).unwrap_or_default(),
        Err(p) => problem(p),
    }
}

// ---- executions ----

fn request_snapshot() -> Value {
    json!({
        "method": "POST",
        "url": "https://example.com/hooks/report",
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "body": "{\"report\":\"daily\"}",
        "timeout_secs": 30
    })
}

/// A run just enqueued by `POST /api/v1/jobs/{id}/trigger`.
pub fn execution_pending() -> Value {
    json!({
        "id": EXECUTION_ID,
        "job_id": JOB_ID,
        "source": "manual",
        "status": "pending",
        "status_reason": null,
        "scheduled_for": TRIGGERED,
        "run_at": TRIGGERED,
        "attempt": 0,
        "max_attempts": 3,
        "message_id": message_id(EXECUTION_ID),
        "request": request_snapshot(),
        "response": null,
        "started_at": null,
        "finished_at": null,
        "duration_ms": null,
        "error": null,
        "redelivery_of": null,
        "created_at": TRIGGERED,
        "completion": null
    })
}

fn message_id(execution_id: &str) -> String {
    format!("msg_{}", execution_id.replace('-', ""))
}

/// A run that succeeded on its second attempt.
pub fn execution_done() -> Value {
    let mut e = execution_pending();
    e["status"] = json!("success");
    e["attempt"] = json!(2);
    e["run_at"] = json!("2026-11-23T10:15:15Z");
    e["response"] = json!({"status": 200, "headers": [{"name": "content-type", "value": "application/json"}], "body": "{\"ok\":true}"});
    e["started_at"] = json!("2026-11-23T10:15:15.120Z");
    e["finished_at"] = json!("2026-11-23T10:15:15.302Z");
    e["duration_ms"] = json!(182);
    e
}

/// [`execution_done`] with its earlier attempt (`GET /api/v1/executions/{id}`).
pub fn execution_detail() -> Value {
    let mut e = execution_done();
    e["attempts"] = json!([{
        "attempt": 1,
        "status": "failed",
        "started_at": "2026-11-23T10:15:00.050Z",
        "finished_at": "2026-11-23T10:15:05.061Z",
        "duration_ms": 5011,
        "response_status": 503,
        "error": "the endpoint answered 503 Service Unavailable"
    }]);
    e
}

/// A page of executions with more to come.
pub fn execution_page() -> Value {
    let mut failed = execution_done();
    failed["id"] = json!(EARLIER_EXECUTION_ID);
    failed["message_id"] = json!(message_id(EARLIER_EXECUTION_ID));
    failed["source"] = json!("schedule");
    failed["status"] = json!("failed");
    failed["attempt"] = json!(3);
    failed["scheduled_for"] = json!("2026-11-22T02:00:00Z");
    failed["run_at"] = json!("2026-11-22T02:01:10Z");
    failed["created_at"] = json!("2026-11-22T01:59:00Z");
    failed["started_at"] = json!("2026-11-22T02:01:10.004Z");
    failed["finished_at"] = json!("2026-11-22T02:01:40.005Z");
    failed["duration_ms"] = json!(30001);
    failed["response"] = Value::Null;
    failed["error"] = json!("timed out after 30 s");
    json!({"data": [execution_done(), failed], "next_cursor": encode_cursor(at("2026-11-22T02:00:00Z"), EARLIER_EXECUTION_ID.parse().unwrap_or_default())})
}

/// A redelivery of [`execution_done`]: the same message again.
pub fn execution_redelivery() -> Value {
    let mut e = execution_pending();
    let id = "0192f2c0-2b3c-7d4e-8f50-6a7b8c9d0e1f";
    e["id"] = json!(id);
    e["source"] = json!("redelivery");
    e["redelivery_of"] = json!(EXECUTION_ID);
    e["scheduled_for"] = json!("2026-11-23T11:00:00Z");
    e["run_at"] = json!("2026-11-23T11:00:00Z");
    e["created_at"] = json!("2026-11-23T11:00:00Z");
    e
}

/// `POST /api/v1/jobs/{id}/executions/redeliver-failed`.
pub fn redeliver_failed_request() -> Value {
    json!({"from": "2026-11-22T00:00:00Z", "to": "2026-11-23T00:00:00Z"})
}

pub fn redelivered_batch() -> Value {
    json!({"count": 1, "executions": [execution_redelivery()]})
}

/// `POST /api/v1/queue`.
pub fn queue_request() -> Value {
    json!({
        "url": "https://example.com/hooks/welcome-email",
        "headers": {"Content-Type": "application/json"},
        "body": "{\"user_id\":42}",
        "retry": {"max_attempts": 5},
        "delay_secs": 60
    })
}

/// The call of [`queue_request`], enqueued.
pub fn queued_execution() -> Value {
    let mut e = execution_pending();
    e["job_id"] = Value::Null;
    e["source"] = json!("queue");
    e["scheduled_for"] = json!("2026-11-23T10:16:00Z");
    e["run_at"] = json!("2026-11-23T10:16:00Z");
    e["max_attempts"] = json!(5);
    e["request"] = json!({
        "method": "POST",
        "url": "https://example.com/hooks/welcome-email",
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "body": "{\"user_id\":42}",
        "timeout_secs": 30
    });
    e
}

// ---- monitors and pings ----

pub fn monitor_input() -> Value {
    json!({
        "name": "Nightly backup",
        "schedule": {"kind": "cron", "expr": "0 3 * * *", "timezone": "Europe/Oslo"},
        "grace_secs": 600,
        "max_runtime_secs": 3600
    })
}

pub fn monitor_patch() -> Value {
    json!({"grace_secs": 900, "paused": false})
}

/// The monitor of [`monitor_input`], as created (no ping yet).
pub fn monitor_new() -> Value {
    json!({
        "id": MONITOR_ID,
        "name": "Nightly backup",
        "schedule": {"kind": "cron", "expr": "0 3 * * *", "timezone": "Europe/Oslo"},
        "grace_secs": 600,
        "max_runtime_secs": 3600,
        "status": "new",
        "ping_url": "https://prikke.eu/ping/4f9c2a7e5b1d4c3a8e6f0b2d9c7a5e3f",
        "last_ping_at": null,
        "last_start_at": null,
        "alert_at": "2026-11-21T02:10:00Z",
        "start_deadline": null,
        "created_at": CREATED,
        "updated_at": CREATED
    })
}

/// The monitor after a night of pings.
pub fn monitor() -> Value {
    let mut m = monitor_new();
    m["status"] = json!("up");
    m["last_start_at"] = json!("2026-11-23T02:00:02Z");
    m["last_ping_at"] = json!("2026-11-23T02:05:14Z");
    m["alert_at"] = json!("2026-11-24T02:10:00Z");
    m
}

/// [`monitor`] after [`monitor_patch`].
pub fn monitor_updated() -> Value {
    let mut m = monitor();
    m["grace_secs"] = json!(900);
    m["alert_at"] = json!("2026-11-24T02:15:00Z");
    m["updated_at"] = json!(TRIGGERED);
    m
}

pub fn monitor_detail() -> Value {
    let mut m = monitor();
    m["recent_pings"] = json!([
        {"kind": "success", "received_at": "2026-11-23T02:05:14Z", "method": "POST", "source_ip": "203.0.113.7", "user_agent": "curl/8.5.0", "body": "backup: 1.2 GB in 312 s"},
        {"kind": "start", "received_at": "2026-11-23T02:00:02Z", "method": "GET", "source_ip": "203.0.113.7", "user_agent": "curl/8.5.0", "body": null}
    ]);
    m
}

pub fn monitor_page() -> Value {
    json!({"data": [monitor()], "next_cursor": null})
}

/// What a ping answers, with the monitor's status after it.
pub fn ping_received(status: &str) -> Value {
    json!({"ok": true, "status": status})
}

pub fn completion_received() -> Value {
    json!({"ok": true, "execution_id": EXECUTION_ID, "completion": "on_time"})
}

// ---- notification channels ----

pub fn channel_input() -> Value {
    json!({
        "name": "On-call",
        "kind": "webhook",
        "target": "https://hooks.slack.com/services/T000/B000/XXXX",
        "events": ["job.failed", "job.recovered", "monitor.down", "monitor.up"]
    })
}

pub fn channel_patch() -> Value {
    json!({"events": ["job.failed", "monitor.down"], "enabled": true})
}

pub fn channel() -> Value {
    json!({
        "id": CHANNEL_ID,
        "name": "On-call",
        "kind": "webhook",
        "flavor": "slack",
        "target": "https://hooks.slack.com/…XXXX",
        "events": ["job.failed", "job.recovered", "monitor.down", "monitor.up"],
        "enabled": true,
        "created_at": CREATED,
        "updated_at": CREATED
    })
}

pub fn channel_updated() -> Value {
    let mut c = channel();
    c["events"] = json!(["job.failed", "monitor.down"]);
    c["updated_at"] = json!(TRIGGERED);
    c
}

pub fn channel_page() -> Value {
    let email = json!({
        "id": "0192f2a4-0a1b-7c2d-8e3f-4a5b6c7d8e9f",
        "name": null,
        "kind": "email",
        "flavor": "email",
        "target": "ops@example.com",
        "events": ["job.failed", "job.recovered", "monitor.down", "monitor.up", "completion.missed"],
        "enabled": true,
        "created_at": "2026-11-19T08:00:00Z",
        "updated_at": "2026-11-19T08:00:00Z"
    });
    json!({"data": [channel(), email], "next_cursor": null})
}

pub fn test_sent() -> Value {
    json!({"id": TEST_SEND_ID, "status": "sent", "attempts": 1, "response_status": 200, "error": null})
}

pub fn test_pending() -> Value {
    json!({"id": TEST_SEND_ID, "status": "pending", "attempts": 0, "response_status": null, "error": null})
}

// ---- account ----

pub fn usage() -> Value {
    json!({
        "plan": "pro",
        "period": {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
        "executions": {"used": 1234, "limit": 250000, "remaining": 248766, "over_quota": 0},
        "jobs": {"count": 12, "limit": null},
        "limits": {"min_interval_minutes": 1, "history_days": 30, "max_timeout_secs": 300, "max_members": null},
        "upgrade_url": null
    })
}

pub fn secret_list() -> Value {
    json!({"data": [{"id": SECRET_ID, "created_at": CREATED, "expires_at": null}]})
}

pub fn rotated_secret() -> Value {
    json!({
        "id": "0192f2c1-3c4d-7e5f-8a6b-7c8d9e0f1a2b",
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "created_at": TRIGGERED,
        "previous_expire_at": "2026-11-24T10:15:00Z"
    })
}

pub fn api_key_input() -> Value {
    json!({"name": "CI"})
}

pub fn api_key() -> Value {
    json!({
        "id": API_KEY_ID,
        "name": "CI",
        "prefix": "pk_live_0f3a9c2e8b7d6a5f4e3d2c1b",
        "created_at": CREATED,
        "last_used_at": "2026-11-23T10:14:58Z",
        "revoked_at": null,
        "active": true,
        "rotated_from": null
    })
}

pub fn new_api_key() -> Value {
    let mut k = api_key();
    k["last_used_at"] = Value::Null;
    k["token"] = json!("pk_live_0f3a9c2e8b7d6a5f4e3d2c1b.sk_live_8Jd0qLx2VbN4mYt6Rw9ZcA1sE3uG5iK7");
    k
}

pub fn rotated_api_key() -> Value {
    json!({
        "id": NEW_API_KEY_ID,
        "name": "CI",
        "prefix": "pk_live_7e1d5b9a3c2f4e6d8b0a1c3e",
        "created_at": TRIGGERED,
        "last_used_at": null,
        "revoked_at": null,
        "active": true,
        "rotated_from": API_KEY_ID,
        "token": "pk_live_7e1d5b9a3c2f4e6d8b0a1c3e.sk_live_Qw3eR5tY7uI9oP1aS3dF5gH7jK9lZ2xC",
        "previous_expires_at": "2026-11-24T10:15:00Z"
    })
}

pub fn api_key_page() -> Value {
    json!({"data": [api_key()], "next_cursor": null})
}

pub fn audit_page() -> Value {
    json!({
        "data": [{
            "action": "api_key.rotated",
            "actor": {"kind": "api_key", "id": API_KEY_ID},
            "target_type": "api_key",
            "target_id": API_KEY_ID,
            "details": {"name": "CI", "new_key_id": NEW_API_KEY_ID, "expires_at": "2026-11-24T10:15:00Z"},
            "created_at": TRIGGERED
        }],
        "next_cursor": encode_cursor(at(TRIGGERED), Uuid::from_u64_pair(0, 41))
    })
}

// ---- operations ----

pub fn health(up: bool) -> Value {
    json!({"sha": "240d595", "env": "production", "up": up, "deps": {"postgres": up}})
}

/// The start of this document.
pub fn document() -> Value {
    json!({"openapi": "3.1.0", "info": {"title": "Prikke API", "version": "1"}, "paths": {}})
}

// ---- problems, made by the constructors the handlers use ----

pub fn problem(p: Problem) -> Value {
    serde_json::to_value(p).unwrap_or_default()
}

/// A validation problem as the job rules report it: every invalid field of a real draft.
pub fn validation() -> Problem {
    let draft = domain::job::JobDraft {
        name: "Nightly report".into(),
        url: "ftp://example.com/report".into(),
        timeout_secs: Some(900),
        schedule: Some(domain::schedule::ScheduleSpec::Cron { expr: "0 25 * * *".into(), timezone: Some("Europe/Oslo".into()) }),
        ..Default::default()
    };
    match domain::job::validate(&draft, Tier::Pro, at(CREATED)) {
        Err(errors) => Problem::from_validation(&errors, ""),
        // a test fails on it: the draft is meant to be invalid
        Ok(_) => Problem::validation("the example draft was valid", Vec::new()),
    }
}

pub fn job_limit_problem() -> Value {
    let max = Tier::Free.limits().max_jobs.unwrap_or_default();
    problem(Problem::job_limit(Tier::Free, max, i64::from(max), 1))
}

pub fn quota_problem() -> Value {
    problem(Problem::quota_exceeded(Tier::Free, Tier::Free.limits().monthly_executions, at("2026-12-01T00:00:00Z")))
}

pub fn pending_problem() -> Value {
    let max = Tier::Pro.limits().max_pending_runs;
    problem(Problem::pending_limit(
        Tier::Pro,
        format!("this organization has {max} runs waiting to be delivered, the most the Pro plan allows; enqueue more once some have been sent"),
    ))
}

pub fn key_conflict_problem() -> Value {
    problem(Problem::new(axum::http::StatusCode::CONFLICT, "conflict", "Conflict", "key: another job of this organization has this key"))
}

pub fn history_filter_problem() -> Value {
    let query = super::executions::HistoryQuery { status: Some("done".into()), ..Default::default() };
    match query.parse() {
        Err(p) => problem(p),
        Ok(_) => Value::Null,
    }
}

pub fn not_finished_problem() -> Value {
    problem(Problem::conflict(format!("the execution is {}; only finished executions can be redelivered", domain::execution::ExecutionStatus::Running)))
}

pub fn channel_limit_problem() -> Value {
    let max = Tier::Free.limits().max_webhook_channels.unwrap_or_default();
    problem(Problem::channel_limit(Tier::Free, domain::notification::ChannelKind::Webhook, max))
}

pub fn key_limit_problem() -> Value {
    problem(Problem::key_limit(domain::api_key::MAX_ACTIVE_KEYS))
}

/// A few lines of an export (`GET /api/v1/export`), as one string: NDJSON is not one JSON value.
/// Written as the export writes them, `type` first.
pub fn export_ndjson() -> Value {
    let org = "0192f2a0-1a2b-7c3d-8e4f-5a6b7c8d9e0f";
    let excluded = serde_json::to_string(super::export::EXCLUDED).unwrap_or_default();
    let version = super::export::FORMAT_VERSION;
    Value::String(format!(
        r#"{{"type":"export","org_id":"{org}","exported_at":"{TRIGGERED}","format_version":{version},"excluded":{excluded}}}
{{"type":"organization","id":"{org}","name":"Acme","slug":"acme","tier":"pro","created_at":"{CREATED}"}}
{{"type":"api_key","id":"{API_KEY_ID}","name":"CI","prefix":"pk_live_0f3a9c2e8b7d6a5f4e3d2c1b","created_at":"{CREATED}","last_used_at":"{TRIGGERED}","revoked_at":null,"rotated_from":null}}
{{"type":"end","records":2}}
"#
    ))
}

pub fn export_running_problem() -> Value {
    problem(super::export::already_running())
}
