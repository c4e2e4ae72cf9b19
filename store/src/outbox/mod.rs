//! The durable outbox of alert messages (`notification_deliveries`): every alert event becomes
//! one pending send per channel that takes it, and the dispatcher sends from here. Nothing is
//! held only in memory: a crash between raising an alert and sending it leaves the send pending
//! (or leased until its lease expires), and some dispatcher sends it after.
//!
//! ```text
//!   alert event ──fan_out──► pending ──claim (SKIP LOCKED, lease)──► leased ──┬─► sent
//!                               ▲                                              ├─► pending at a later
//!                               │                                              │   run_at (retry; or held
//!                               └──────── lease expired (crash) ◄──────────────┤   for a digest)
//!                                                                              └─► failed (24 h of retries)
//! ```
//!
//! A send keeps its id across retries and crashes: it is the message's id (the webhook's
//! `webhook-id`, the e-mail's `Message-ID`), so a receiver can drop a duplicate. A digest goes out
//! under the id of its oldest send (`sent_as`). Writes to a leased send are guarded by the lease.

use chrono::{DateTime, Utc};
use domain::alert::AlertKind;
use domain::notification::{ChannelKind, ChannelTarget, SendStatus};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};

/// Turns up to `limit` unprocessed alert events into one pending send per enabled channel of
/// their organization that takes the event's kind, and marks the events processed, in one
/// statement (SKIP LOCKED: several dispatchers fan out side by side without waiting). Returns
/// how many events were processed.
pub async fn fan_out(db: impl PgExecutor<'_>, now: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    let processed: i64 = sqlx::query_scalar(
        "WITH ev AS (
             SELECT id, org_id, kind, job_id FROM alert_events WHERE processed_at IS NULL
              ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ), fanned AS (
             INSERT INTO notification_deliveries (alert_event_id, channel_id, org_id, status, run_at)
             SELECT ev.id, c.id, ev.org_id, 'pending', $1
               FROM ev JOIN notification_channels c ON c.org_id = ev.org_id AND c.enabled AND ev.kind = ANY(c.events)
               LEFT JOIN jobs j ON j.id = ev.job_id AND j.org_id = ev.org_id
              -- a job's own say (domain::job::JobAlerts): muted, or its own channels; a list
              -- whose channels were all deleted falls back to the organization's
              WHERE j.id IS NULL
                 OR (NOT j.alerts_muted
                     AND (j.alert_channel_ids IS NULL
                          OR j.alert_channel_ids ? c.id::text
                          OR NOT EXISTS (SELECT 1 FROM notification_channels l
                                          WHERE l.org_id = j.org_id AND j.alert_channel_ids ? l.id::text)))
             ON CONFLICT (alert_event_id, channel_id) DO NOTHING
         ), done AS (
             UPDATE alert_events SET processed_at = $1 WHERE id IN (SELECT id FROM ev) RETURNING 1
         )
         SELECT count(*) FROM done",
    )
    .bind(now)
    .bind(limit)
    .fetch_one(db)
    .await?;
    Ok(processed as u64)
}

/// The alert a send carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: Uuid,
    pub kind: AlertKind,
    pub job: Option<(Uuid, String)>,
    pub monitor: Option<(Uuid, String)>,
    pub execution_id: Option<Uuid>,
    /// What the state change recorded (status, attempts, error, response status; a monitor's reason).
    pub details: serde_json::Value,
    pub raised_at: DateTime<Utc>,
}

/// A claimed send, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Send {
    pub id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub channel_id: Uuid,
    pub channel_name: Option<String>,
    pub target: ChannelTarget,
    /// The capability of the channel's unsubscribe link.
    pub unsubscribe_token: String,
    /// Attempts including the one this claim starts.
    pub attempts: i16,
    /// Held back by the digest rule: goes out in a digest.
    pub held: bool,
    pub created_at: DateTime<Utc>,
    /// `None` for a test message.
    pub alert: Option<Alert>,
}

#[derive(sqlx::FromRow)]
struct SendRow {
    id: Uuid,
    org_id: Uuid,
    org_name: String,
    channel_id: Uuid,
    channel_name: Option<String>,
    channel_kind: String,
    target: String,
    unsubscribe_token: String,
    attempts: i16,
    held: bool,
    created_at: DateTime<Utc>,
    alert_id: Option<Uuid>,
    alert_kind: Option<String>,
    job_id: Option<Uuid>,
    job_name: Option<String>,
    monitor_id: Option<Uuid>,
    monitor_name: Option<String>,
    execution_id: Option<Uuid>,
    details: Option<serde_json::Value>,
    raised_at: Option<DateTime<Utc>>,
}

impl TryFrom<SendRow> for Send {
    type Error = StoreError;

    fn try_from(r: SendRow) -> StoreResult<Send> {
        let corrupt = |what: String| StoreError::Corrupt { column: "notification_deliveries", value: format!("send {}: {what}", r.id) };
        let kind: ChannelKind = r.channel_kind.parse().map_err(|e: domain::UnknownName| corrupt(e.to_string()))?;
        let target = ChannelTarget::parse(kind, &r.target).map_err(|e| corrupt(e.to_string()))?;
        let alert = match (r.alert_id, r.alert_kind) {
            (Some(id), Some(kind)) => Some(Alert {
                id,
                kind: kind.parse().map_err(|e: domain::UnknownName| corrupt(e.to_string()))?,
                job: r.job_id.zip(r.job_name),
                monitor: r.monitor_id.zip(r.monitor_name),
                execution_id: r.execution_id,
                details: r.details.unwrap_or_default(),
                raised_at: r.raised_at.unwrap_or(r.created_at),
            }),
            _ => None,
        };
        Ok(Send {
            id: r.id,
            org_id: r.org_id,
            org_name: r.org_name,
            channel_id: r.channel_id,
            channel_name: r.channel_name,
            target,
            unsubscribe_token: r.unsubscribe_token,
            attempts: r.attempts,
            held: r.held,
            created_at: r.created_at,
            alert,
        })
    }
}

/// Claims up to `limit` due sends (pending, `run_at` passed, no live lease), oldest first, leased
/// to `me` until `now + lease`. A send whose row does not decode is given up with the reason.
pub async fn claim(tx: &mut PgConnection, me: &str, now: DateTime<Utc>, lease: chrono::Duration, limit: i64) -> StoreResult<Vec<Send>> {
    let rows: Vec<SendRow> = sqlx::query_as(
        "WITH claimed AS (
             UPDATE notification_deliveries d
                SET leased_by = $1, lease_expires_at = $2 + $3, attempts = d.attempts + 1
              WHERE d.id = ANY(ARRAY(
                    SELECT id FROM notification_deliveries
                     WHERE status = 'pending' AND run_at <= $2 AND (lease_expires_at IS NULL OR lease_expires_at < $2)
                     ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED))
             RETURNING d.*
         )
         SELECT d.id, d.org_id, o.name AS org_name, c.id AS channel_id, c.name AS channel_name, c.kind AS channel_kind,
                c.target, c.unsubscribe_token, d.attempts, d.held, d.created_at, e.id AS alert_id, e.kind AS alert_kind,
                e.job_id, j.name AS job_name, e.monitor_id, m.name AS monitor_name, e.execution_id, e.details,
                e.created_at AS raised_at
           FROM claimed d
           JOIN organizations o ON o.id = d.org_id
           JOIN notification_channels c ON c.id = d.channel_id
           LEFT JOIN alert_events e ON e.id = d.alert_event_id
           LEFT JOIN jobs j ON j.id = e.job_id
           LEFT JOIN monitors m ON m.id = e.monitor_id
          ORDER BY d.run_at, d.id",
    )
    .bind(me)
    .bind(now)
    .bind(lease)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut sends = Vec::with_capacity(rows.len());
    let mut undecodable = Vec::new();
    for row in rows {
        let id = row.id;
        match Send::try_from(row) {
            Ok(send) => sends.push(send),
            Err(e) => {
                tracing::error!(delivery_id = %id, error = %e, "a claimed alert send does not decode; it is given up");
                undecodable.push((id, SendOutcome::GaveUp { error: e.to_string(), response_status: None }));
            }
        }
    }
    if !undecodable.is_empty() {
        record(&mut *tx, me, &undecodable, now).await?;
    }
    Ok(sends)
}

/// What the digest rule needs to know of a channel's recent messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelRecent {
    pub channel_id: Uuid,
    /// Messages sent since the window's start.
    pub sent: i64,
    /// When the oldest of them went.
    pub oldest_sent_at: Option<DateTime<Utc>>,
    /// When the digest already waiting (sends held back) goes out, if one is.
    pub held_until: Option<DateTime<Utc>>,
}

/// Per channel with recent messages or a waiting digest: see [`ChannelRecent`].
pub async fn recent_messages(db: impl PgExecutor<'_>, channel_ids: &[Uuid], since: DateTime<Utc>) -> StoreResult<Vec<ChannelRecent>> {
    Ok(sqlx::query_as(
        "SELECT channel_id,
                count(DISTINCT sent_as) FILTER (WHERE status = 'sent') AS sent,
                min(sent_at) FILTER (WHERE status = 'sent') AS oldest_sent_at,
                min(run_at) FILTER (WHERE status = 'pending') AS held_until
           FROM notification_deliveries
          WHERE channel_id = ANY($1) AND ((status = 'sent' AND sent_at > $2) OR (status = 'pending' AND held))
          GROUP BY channel_id",
    )
    .bind(channel_ids)
    .bind(since)
    .fetch_all(db)
    .await?)
}

/// What became of a claimed send.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Delivered, alone (`sent_as` is its own id) or in a digest (the digest's id).
    Sent { sent_as: Uuid, response_status: Option<i16> },
    /// Not delivered; tried again at `at`.
    Retry { at: DateTime<Utc>, error: String, response_status: Option<i16> },
    /// Not delivered, for good (24 h of retries, or a send that cannot be made).
    GaveUp { error: String, response_status: Option<i16> },
    /// Held back by the digest rule until `until` (not an attempt).
    Held { until: DateTime<Utc> },
}

/// Writes the outcomes of sends leased by `me`; those whose lease was lost are left alone.
/// Returns how many were written.
pub async fn record(db: impl PgExecutor<'_>, me: &str, outcomes: &[(Uuid, SendOutcome)], now: DateTime<Utc>) -> StoreResult<u64> {
    if outcomes.is_empty() {
        return Ok(0);
    }
    let mut ids = Vec::with_capacity(outcomes.len());
    let mut statuses = Vec::with_capacity(outcomes.len());
    let mut sent_as = Vec::with_capacity(outcomes.len());
    let mut response_status = Vec::with_capacity(outcomes.len());
    let mut errors = Vec::with_capacity(outcomes.len());
    let mut run_at = Vec::with_capacity(outcomes.len());
    let mut held = Vec::with_capacity(outcomes.len());
    for (id, o) in outcomes {
        ids.push(*id);
        let (status, as_, code, error, at, hold) = match o {
            SendOutcome::Sent { sent_as, response_status } => ("sent", Some(*sent_as), *response_status, None, None, false),
            SendOutcome::Retry { at, error, response_status } => ("pending", None, *response_status, Some(error.as_str()), Some(*at), false),
            SendOutcome::GaveUp { error, response_status } => ("failed", None, *response_status, Some(error.as_str()), None, false),
            SendOutcome::Held { until } => ("pending", None, None, None, Some(*until), true),
        };
        statuses.push(status);
        sent_as.push(as_);
        response_status.push(code);
        errors.push(error);
        run_at.push(at);
        held.push(hold);
    }
    let written = sqlx::query(
        "UPDATE notification_deliveries d
            SET status = v.status, sent_as = v.sent_as,
                -- a held send that failed stays held: it goes out in the next digest
                held = CASE WHEN v.status = 'pending' THEN v.held OR d.held ELSE false END,
                response_status = coalesce(v.response_status, d.response_status),
                last_error = coalesce(v.error, d.last_error),
                sent_at = CASE WHEN v.status = 'sent' THEN $2 ELSE d.sent_at END,
                run_at = coalesce(v.run_at, d.run_at),
                attempts = d.attempts - CASE WHEN v.held THEN 1 ELSE 0 END,
                leased_by = NULL, lease_expires_at = NULL
           FROM unnest($3::uuid[], $4::text[], $5::uuid[], $6::smallint[], $7::text[], $8::timestamptz[], $9::bool[],
                       array_fill($1::text, ARRAY[cardinality($3::uuid[])]))
                AS v(id, status, sent_as, response_status, error, run_at, held, me)
          WHERE d.id = v.id AND d.leased_by = v.me",
    )
    .bind(me)
    .bind(now)
    .bind(&ids)
    .bind(&statuses)
    .bind(&sent_as)
    .bind(&response_status)
    .bind(&errors)
    .bind(&run_at)
    .bind(&held)
    .execute(db)
    .await?
    .rows_affected();
    Ok(written)
}

/// Queues a test message to a channel of `org_id` (the API's `…/test`): a send without an alert
/// event, picked up like any other. None when there is no such channel in the organization.
pub async fn request_test(db: impl PgExecutor<'_>, org_id: Uuid, channel_id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO notification_deliveries (channel_id, org_id, status, run_at, is_test)
         SELECT id, org_id, 'pending', $3, true FROM notification_channels WHERE org_id = $1 AND id = $2
         RETURNING id",
    )
    .bind(org_id)
    .bind(channel_id)
    .bind(now)
    .fetch_optional(db)
    .await?)
}

/// Where a send stands.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SendState {
    #[sqlx(try_from = "String")]
    pub status: SendStatus,
    pub attempts: i16,
    pub response_status: Option<i16>,
    pub last_error: Option<String>,
}

/// A send of `org_id` as it stands.
pub async fn state(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<SendState>> {
    Ok(sqlx::query_as("SELECT status, attempts, response_status, last_error FROM notification_deliveries WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// An alert event as recorded (for the organization's export).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct AlertEventRecord {
    pub id: Uuid,
    pub kind: String,
    pub job_id: Option<Uuid>,
    pub monitor_id: Option<Uuid>,
    pub execution_id: Option<Uuid>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// A page of the organization's alert events, by id after `after`.
pub async fn alert_events_page(db: impl PgExecutor<'_>, org_id: Uuid, after: Option<Uuid>, limit: i64) -> StoreResult<Vec<AlertEventRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, kind, job_id, monitor_id, execution_id, details, created_at, processed_at
           FROM alert_events WHERE org_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
    )
    .bind(org_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// A send of an alert to a channel as recorded (for the organization's export).
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub alert_event_id: Option<Uuid>,
    pub channel_id: Uuid,
    pub status: String,
    pub attempts: i16,
    pub last_error: Option<String>,
    pub response_status: Option<i16>,
    pub is_test: bool,
    pub sent_as: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub run_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A page of the organization's notification deliveries, by id after `after`.
pub async fn deliveries_page(db: impl PgExecutor<'_>, org_id: Uuid, after: Option<Uuid>, limit: i64) -> StoreResult<Vec<DeliveryRecord>> {
    Ok(sqlx::query_as(
        "SELECT id, alert_event_id, channel_id, status, attempts, last_error, response_status, is_test, sent_as, created_at, run_at, sent_at
           FROM notification_deliveries WHERE org_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
    )
    .bind(org_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests;
