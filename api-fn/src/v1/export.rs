//! `GET /api/v1/export` (and `POST /app/export` for a signed-in admin): everything the organization
//! owns, as NDJSON, streamed (GDPR data portability).
//!
//! One JSON object a line, each `{"type": …, …fields}`: first an `export` header (org, time,
//! `format_version`, what is `excluded`), then the organization, its members, invites, API keys
//! (metadata), jobs, monitors, notification channels, executions (each with its earlier
//! attempts), pings, alert events, notification deliveries, the audit log and the monthly usage
//! counters, and last an `end` trailer with the number of records between the two, so a consumer
//! can tell a complete export from a cut one (an error mid-way aborts the response: no trailer).
//!
//! Records are shaped as the API shows them (credential headers and webhook URLs masked, never a
//! sealed value or a secret). Rows are read in keyset-paged batches (no transaction or cursor is
//! held while a slow client reads) and written to the response as each batch is encoded; a
//! bounded channel between the reader and the body holds back the reader when the client is
//! slow, so memory stays at a few batches whatever the organization's size. One export of an
//! organization runs at a time (`store::exports`: a session advisory lock); a second gets 409.

use std::io;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::audit::{Actor, AuditAction};
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::auth::Tenant;
use super::execution_schema::{AttemptView, ExecutionDetail, ExecutionView};
use super::job_schema::JobView;
use crate::AppState;
use crate::problem::Problem;

/// The version of the record shapes; raised when a record changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// The NDJSON media type of the export.
pub const CONTENT_TYPE: &str = "application/x-ndjson";

/// What the export leaves out on purpose, named in its header record.
pub const EXCLUDED: &[&str] = &[
    "signing_secrets",
    "api_key_secret_hashes",
    "password_hashes",
    "sessions",
    "invite_token_hashes",
    "email_tokens",
    "credential_header_values (shown masked)",
    "webhook_channel_urls (shown masked)",
    "channel_unsubscribe_tokens",
    "completion_tokens",
    "idempotency_keys",
    "outgoing_mail",
    "billing_events",
    "data_keys",
];

/// Rows per query. Executions carry request and response bodies (up to 256 KiB and the response
/// cap), so they come in smaller batches; the others are small rows.
const BATCH: i64 = 1000;
const EXECUTION_BATCH: i64 = 250;
/// Encoded bytes gathered before a chunk goes to the client.
const CHUNK: usize = 256 * 1024;
/// Chunks waiting for a slow client before the reader waits too.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Under the Lambda runtime the response is buffered, and Lambda refuses a buffered response over
/// 6 MB, counted after lambda_http base64-encodes a body that is not text by its type (NDJSON is
/// not, for it): 4 MB of NDJSON is 5.3 MB encoded. An export that grows past this fails there at
/// once rather than filling the function's memory first (see the README: large exports need the
/// streaming server, `api-fn serve`).
pub const LAMBDA_RESPONSE_LIMIT: u64 = 4_000_000;

/// Whether this process serves under the Lambda runtime (as `main` decides).
fn under_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Export the organization.
///
/// Everything the organization owns, streamed as NDJSON (one JSON object a line, each with a
/// `type`): an `export` header naming what is excluded (signing secrets, key hashes, password
/// hashes, sessions; credentials are shown masked as everywhere in the API), then the
/// organization, members, invites, API keys, jobs, monitors, notification channels, executions
/// with their attempts, pings, alert events, notification deliveries, the audit log and usage
/// counters, and an `end` trailer counting the records between them (a response without it was
/// cut). One export of an organization runs at a time. Recorded in the audit log as
/// `org.exported`.
#[utoipa::path(get, path = "/api/v1/export", tag = "account", operation_id = "exportOrganization",
    responses(
        (status = 200, description = "The export, one JSON record a line; complete only when its last line is the `end` record", content_type = "application/x-ndjson", body = String, example = json!(crate::v1::examples::export_ndjson())),
        (status = 409, description = "An export of the organization is already running", body = Problem, content_type = "application/problem+json", example = json!(crate::v1::examples::export_running_problem())),
    ),
    security(("api_key" = [])))]
pub async fn export(State(state): State<AppState>, tenant: Tenant) -> Result<Response, Problem> {
    start(state, tenant.org_id, Actor::ApiKey(tenant.key_id)).await
}

/// The 409 of a second export while one runs.
pub fn already_running() -> Problem {
    Problem::conflict("an export of this organization is already running; try again when it has finished")
}

/// Starts `org_id`'s export for `actor` (who the API or the web app checked may export): takes
/// the organization's export lock, records the export, and answers with the streaming body.
pub async fn start(state: AppState, org_id: Uuid, actor: Actor) -> Result<Response, Problem> {
    let Some(lock) = store::exports::try_lock(&state.pool, org_id).await? else {
        return Err(already_running());
    };
    let org = match store::organizations::get(&state.pool, org_id).await {
        Ok(Some(org)) => org,
        Ok(None) => {
            lock.release().await;
            return Err(Problem::not_found("organization"));
        }
        Err(e) => {
            lock.release().await;
            return Err(e.into());
        }
    };
    let exported_at = Utc::now();
    if let Err(e) = store::audit::record(&state.pool, org_id, actor, AuditAction::OrgExported, Some(("organization", &org_id.to_string())), serde_json::json!({"format_version": FORMAT_VERSION})).await {
        lock.release().await;
        return Err(e.into());
    }
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, io::Error>>(CHUNKS_IN_FLIGHT);
    let filename = format!("prikke-export-{}-{}.ndjson", org.slug, exported_at.format("%Y%m%dT%H%M%SZ"));
    tokio::spawn(async move {
        let limit = under_lambda().then_some(LAMBDA_RESPONSE_LIMIT);
        let mut out = Out { tx, buf: Vec::with_capacity(CHUNK + 64 * 1024), records: 0, sent: 0, limit };
        match write_all(&state, &org, exported_at, &mut out).await {
            Ok(()) => tracing::info!(org_id = %org.id, records = out.records, "organization exported"),
            Err(Stop::ClientGone) => tracing::info!(org_id = %org.id, records = out.records, "export abandoned by the client"),
            Err(Stop::Failed(e)) => {
                tracing::error!(org_id = %org.id, records = out.records, error = %e, "export failed part-way");
                // the body errors: the response is aborted, without its trailer
                let _ = out.tx.send(Err(io::Error::other("the export failed part-way"))).await;
            }
        }
        lock.release().await;
    });
    let body = Body::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let mut res = (StatusCode::OK, body).into_response();
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// Why the writing stopped early.
enum Stop {
    ClientGone,
    Failed(String),
}

impl From<store::StoreError> for Stop {
    fn from(e: store::StoreError) -> Self {
        Stop::Failed(e.to_string())
    }
}

/// The encoder: lines gathered into chunks, sent when a chunk is full.
struct Out {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
    /// Records written, the header not counted.
    records: u64,
    /// Bytes handed to the body so far.
    sent: u64,
    /// Most bytes the response may have (under Lambda).
    limit: Option<u64>,
}

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    value: &'a T,
}

impl Out {
    fn line<T: Serialize>(&mut self, kind: &str, value: &T) -> Result<(), Stop> {
        serde_json::to_writer(&mut self.buf, &Line { kind, value }).map_err(|e| Stop::Failed(format!("encoding a {kind} record: {e}")))?;
        self.buf.push(b'\n');
        Ok(())
    }

    async fn record<T: Serialize>(&mut self, kind: &str, value: &T) -> Result<(), Stop> {
        self.line(kind, value)?;
        self.records += 1;
        if self.buf.len() >= CHUNK { self.flush().await } else { Ok(()) }
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.sent += self.buf.len() as u64;
        if let Some(limit) = self.limit.filter(|l| self.sent > *l) {
            return Err(Stop::Failed(format!("the export is larger than the {limit} bytes a buffered Lambda response may have; export from the streaming server")));
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 64 * 1024)));
        self.tx.send(Ok(chunk)).await.map_err(|_| Stop::ClientGone)
    }
}

#[derive(Serialize)]
struct Header<'a> {
    org_id: Uuid,
    exported_at: DateTime<Utc>,
    format_version: u32,
    excluded: &'a [&'a str],
}

#[derive(Serialize)]
struct OrganizationRecord<'a> {
    id: Uuid,
    name: &'a str,
    slug: &'a str,
    tier: &'a str,
    created_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct MemberRecord<'a> {
    user_id: Uuid,
    email: &'a str,
    name: Option<&'a str>,
    role: &'a str,
    email_verified_at: Option<DateTime<Utc>>,
    joined_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct InviteRecord<'a> {
    id: Uuid,
    email: &'a str,
    role: &'a str,
    invited_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    declined_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct ApiKeyRecord<'a> {
    id: Uuid,
    name: &'a str,
    prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    rotated_from: Option<Uuid>,
}

#[derive(Serialize)]
struct PingRecord<'a> {
    id: i64,
    monitor_id: Uuid,
    kind: &'a str,
    received_at: DateTime<Utc>,
    method: &'a str,
    source_ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    body: Option<&'a str>,
}

#[derive(Serialize)]
struct AuditRecord<'a> {
    id: i64,
    action: AuditAction,
    actor_kind: &'static str,
    actor_id: Option<Uuid>,
    target_type: Option<&'a str>,
    target_id: Option<&'a str>,
    details: &'a serde_json::Value,
    created_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct End {
    records: u64,
}

async fn write_all(state: &AppState, org: &store::organizations::Organization, exported_at: DateTime<Utc>, out: &mut Out) -> Result<(), Stop> {
    let pool = &state.pool;
    let org_id = org.id;
    out.line("export", &Header { org_id, exported_at, format_version: FORMAT_VERSION, excluded: EXCLUDED })?;
    out.record("organization", &OrganizationRecord { id: org.id, name: &org.name, slug: &org.slug, tier: org.tier.as_str(), created_at: org.created_at }).await?;

    // members: at most the plan's seats, one query
    for m in store::users::members(pool, org_id).await? {
        let u = &m.user;
        out.record("member", &MemberRecord { user_id: u.id, email: &u.email, name: u.name.as_deref(), role: m.role.as_str(), email_verified_at: u.email_verified_at, joined_at: m.joined_at }).await?;
    }

    let mut after = None;
    loop {
        let page = store::invites::page(pool, org_id, after, BATCH).await?;
        for r in &page {
            let i = &r.invite;
            out.record("invite", &InviteRecord { id: i.id, email: &i.email, role: i.role.as_str(), invited_by: i.invited_by, created_at: i.created_at, expires_at: i.expires_at, accepted_at: r.accepted_at, declined_at: r.declined_at, revoked_at: r.revoked_at }).await?;
        }
        if page.len() < BATCH as usize { break; }
        after = page.last().map(|r| r.invite.id);
    }

    let mut before = None;
    loop {
        let page = store::api_keys::list_page(pool, org_id, before, BATCH).await?;
        for k in &page {
            out.record("api_key", &ApiKeyRecord { id: k.id, name: &k.name, prefix: format!("pk_live_{}", k.public_id), created_at: k.created_at, last_used_at: k.last_used_at, revoked_at: k.revoked_at, rotated_from: k.rotated_from }).await?;
        }
        if page.len() < BATCH as usize { break; }
        before = page.last().map(|k| (k.created_at, k.id));
    }

    let mut before = None;
    loop {
        let page = store::jobs::list(pool, org_id, before, BATCH).await?;
        for j in &page {
            out.record("job", &JobView::from(j)).await?;
        }
        if page.len() < BATCH as usize { break; }
        before = page.last().map(|j| (j.created_at, j.id));
    }

    let mut before = None;
    loop {
        let page = store::monitors::list(pool, org_id, before, BATCH).await?;
        for m in &page {
            out.record("monitor", &super::monitors::MonitorView::of(m, &state.config.public_url)).await?;
        }
        if page.len() < BATCH as usize { break; }
        before = page.last().map(|m| (m.created_at, m.id));
    }

    let mut before = None;
    loop {
        let page = store::notification_channels::list(pool, org_id, before, BATCH).await?;
        for c in &page {
            out.record("notification_channel", &super::channels::ChannelView::from(c)).await?;
        }
        if page.len() < BATCH as usize { break; }
        before = page.last().map(|c| (c.created_at, c.id));
    }

    // executions, latest scheduled first (the history's own index), each with its attempts
    let all = store::history::HistoryFilter::default();
    let mut before = None;
    loop {
        let page = store::history::list(pool, org_id, &all, before, EXECUTION_BATCH).await?;
        let ids: Vec<Uuid> = page.iter().map(|e| e.id).collect();
        let attempts = store::executions::attempts_of(pool, org_id, &ids).await?;
        let mut by_execution: std::collections::HashMap<Uuid, Vec<AttemptView>> = std::collections::HashMap::new();
        for (id, a) in &attempts {
            by_execution.entry(*id).or_default().push(AttemptView::from(a));
        }
        for e in &page {
            let detail = ExecutionDetail { execution: ExecutionView::from(e), attempts: by_execution.remove(&e.id).unwrap_or_default() };
            out.record("execution", &detail).await?;
        }
        if page.len() < EXECUTION_BATCH as usize { break; }
        before = page.last().map(|e| (e.scheduled_for, e.id));
    }

    let mut after = None;
    loop {
        let page = store::monitors::pings_page(pool, org_id, after, BATCH).await?;
        for (id, monitor_id, p) in &page {
            out.record("ping", &PingRecord { id: *id, monitor_id: *monitor_id, kind: p.kind.as_str(), received_at: p.received_at, method: &p.method, source_ip: p.source_ip.as_deref(), user_agent: p.user_agent.as_deref(), body: p.body.as_deref() }).await?;
        }
        if page.len() < BATCH as usize { break; }
        after = page.last().map(|p| p.0);
    }

    let mut after = None;
    loop {
        let page = store::outbox::alert_events_page(pool, org_id, after, BATCH).await?;
        for a in &page {
            out.record("alert_event", a).await?;
        }
        if page.len() < BATCH as usize { break; }
        after = page.last().map(|a| a.id);
    }

    let mut after = None;
    loop {
        let page = store::outbox::deliveries_page(pool, org_id, after, BATCH).await?;
        for d in &page {
            out.record("notification_delivery", d).await?;
        }
        if page.len() < BATCH as usize { break; }
        after = page.last().map(|d| d.id);
    }

    // the audit log, newest first (this export's own entry included)
    let mut before = None;
    loop {
        let page = store::audit::list(pool, org_id, before, BATCH).await?;
        for e in &page {
            let (actor_kind, actor_id) = match e.actor {
                Actor::User(id) => ("user", Some(id)),
                Actor::ApiKey(id) => ("api_key", Some(id)),
                Actor::System => ("system", None),
            };
            let target = e.target.as_ref();
            out.record("audit_log", &AuditRecord { id: e.id, action: e.action, actor_kind, actor_id, target_type: target.map(|t| t.0.as_str()), target_id: target.map(|t| t.1.as_str()), details: &e.details, created_at: e.created_at }).await?;
        }
        if page.len() < BATCH as usize { break; }
        before = page.last().map(|e| e.id);
    }

    for u in store::usage::all_months(pool, org_id).await? {
        out.record("usage", &u).await?;
    }

    let records = out.records;
    out.line("end", &End { records })?;
    out.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_capped_export_stops_once_past_its_limit() {
        let (tx, mut rx) = mpsc::channel(64);
        let mut out = Out { tx, buf: Vec::new(), records: 0, sent: 0, limit: Some(3 * CHUNK as u64) };
        let filler = serde_json::json!({"body": "x".repeat(1000)});
        let mut stopped = None;
        for n in 0..10_000 {
            if let Err(e) = out.record("filler", &filler).await {
                stopped = Some((n, e));
                break;
            }
        }
        let (n, e) = stopped.expect("stopped");
        assert!(matches!(e, Stop::Failed(ref m) if m.contains("Lambda")), "{n}");
        // records are about 1 KB: the limit is crossed within a chunk of it
        assert!((2 * CHUNK / 1100..=4 * CHUNK / 1000).contains(&n), "stopped near the limit, after {n} records");
        rx.close();
        let mut got = 0;
        while let Some(Ok(chunk)) = rx.recv().await {
            got += chunk.len();
        }
        assert!(got > 0 && got as u64 <= 3 * CHUNK as u64, "nothing past the limit went out: {got}");

        // uncapped, the same records all go out, and a line is one JSON object with its type first
        let (tx, mut rx) = mpsc::channel(1024);
        let mut out = Out { tx, buf: Vec::new(), records: 0, sent: 0, limit: None };
        for _ in 0..5_000 {
            out.record("filler", &filler).await.unwrap_or_else(|_| panic!("uncapped"));
        }
        out.flush().await.unwrap_or_else(|_| panic!("flush"));
        drop(out);
        let mut text = Vec::new();
        while let Some(Ok(chunk)) = rx.recv().await {
            text.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.lines().count(), 5_000);
        assert!(text.starts_with(r#"{"type":"filler","body":"xxx"#), "{}", &text[..40]);
    }

    /// The document's example reads as an export does: JSON objects, `type` first, header and a
    /// trailer counting the lines between.
    #[test]
    fn the_documented_example_is_a_well_formed_export() {
        let example = crate::v1::examples::export_ndjson();
        let text = example.as_str().unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.iter().all(|l| l.starts_with(r#"{"type":""#) && serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.is_object())), "{text}");
        assert!(lines[0].starts_with(r#"{"type":"export""#));
        let end: serde_json::Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
        assert_eq!((end["type"].as_str(), end["records"].as_u64()), (Some("end"), Some(lines.len() as u64 - 2)));
    }
}
