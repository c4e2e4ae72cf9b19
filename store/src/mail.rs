//! The outbox of account e-mails (`outgoing_mail`): confirmation, magic-link, reset, invitation
//! and plan-change messages. api-fn writes a message in the transaction that makes its link and
//! NOTIFYs `prikke_mail`; a dispatcher claims it under a lease (SKIP LOCKED), sends it, and blanks
//! its body (which may hold a single-use link). Failed sends are retried; a message whose links
//! have expired is not worth sending after an hour, so it is given up then.

use chrono::{DateTime, Duration, Utc};
use domain::account::MailKind;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::{StoreResult, parse_column};
use crate::notify::mail_channel;

/// How long a message is retried before it is given up.
pub const GIVE_UP_AFTER: Duration = Duration::hours(1);

/// A message to send.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub org_id: Option<Uuid>,
    pub kind: MailKind,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

/// Queues a message (and wakes the dispatchers when the caller's transaction commits).
pub async fn enqueue(db: impl PgExecutor<'_>, m: &NewMail<'_>) -> StoreResult<Uuid> {
    Ok(sqlx::query_scalar(concat!(
        "WITH queued AS (
             INSERT INTO outgoing_mail (org_id, kind, to_address, subject, body_text, body_html)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
         ), woken AS (SELECT pg_notify('",
        mail_channel!(),
        "', '') FROM queued)
         SELECT id FROM queued, (SELECT count(*) FROM woken) w"
    ))
    .bind(m.org_id)
    .bind(m.kind.as_str())
    .bind(m.to)
    .bind(m.subject)
    .bind(m.text)
    .bind(m.html)
    .fetch_one(db)
    .await?)
}

/// A claimed message.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    pub id: Uuid,
    pub kind: MailKind,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Including the one this claim starts.
    pub attempts: i16,
    pub created_at: DateTime<Utc>,
}

/// Leases up to `limit` due messages to `me` until `now + lease`.
pub async fn claim(tx: &mut PgConnection, me: &str, now: DateTime<Utc>, lease: Duration, limit: i64) -> StoreResult<Vec<Mail>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        kind: String,
        to_address: String,
        subject: String,
        body_text: Option<String>,
        body_html: Option<String>,
        attempts: i16,
        created_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "WITH due AS (
             SELECT id FROM outgoing_mail
              WHERE status = 'pending' AND run_at <= $2 AND (lease_expires_at IS NULL OR lease_expires_at < $2)
              ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED
         )
         UPDATE outgoing_mail m SET leased_by = $1, lease_expires_at = $3, attempts = m.attempts + 1
           FROM due WHERE m.id = due.id
         RETURNING m.id, m.kind, m.to_address, m.subject, m.body_text, m.body_html, m.attempts, m.created_at",
    )
    .bind(me)
    .bind(now)
    .bind(now + lease)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Mail {
                id: r.id,
                kind: parse_column("outgoing_mail.kind", r.kind)?,
                to: r.to_address,
                subject: r.subject,
                text: r.body_text.unwrap_or_default(),
                html: r.body_html.unwrap_or_default(),
                attempts: r.attempts,
                created_at: r.created_at,
            })
        })
        .collect()
}

/// What became of a claimed message.
#[derive(Debug, Clone, PartialEq)]
pub enum MailOutcome {
    Sent,
    /// Try again at `at`.
    Retry { at: DateTime<Utc>, error: String },
    GaveUp { error: String },
}

/// Writes the outcome of a message leased by `me` (a lost lease writes nothing). Sent and
/// given-up messages lose their body.
pub async fn record(db: impl PgExecutor<'_>, me: &str, id: Uuid, outcome: &MailOutcome, now: DateTime<Utc>) -> StoreResult<bool> {
    let (status, run_at, error) = match outcome {
        MailOutcome::Sent => ("sent", None, None),
        MailOutcome::Retry { at, error } => ("pending", Some(*at), Some(error.as_str())),
        MailOutcome::GaveUp { error } => ("failed", None, Some(error.as_str())),
    };
    let written = sqlx::query(
        "UPDATE outgoing_mail
            SET status = $3, run_at = coalesce($4, run_at), last_error = coalesce($5, last_error),
                sent_at = CASE WHEN $3 = 'sent' THEN $6 ELSE sent_at END,
                body_text = CASE WHEN $3 = 'pending' THEN body_text END,
                body_html = CASE WHEN $3 = 'pending' THEN body_html END,
                leased_by = NULL, lease_expires_at = NULL
          WHERE id = $1 AND leased_by = $2",
    )
    .bind(id)
    .bind(me)
    .bind(status)
    .bind(run_at)
    .bind(error)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected();
    Ok(written == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::PgPool;

    fn mail(to: &str) -> NewMail<'_> {
        NewMail { org_id: None, kind: MailKind::MagicLink, to, subject: "Sign in", text: "https://x/app/magic/secret", html: "<a>link</a>" }
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_message_is_leased_sent_once_and_its_link_forgotten(pool: PgPool) {
        let id = enqueue(&pool, &mail("a@example.com")).await.unwrap();
        let now = Utc::now() + Duration::seconds(1); // (queued at the database's now)
        let mut tx = pool.begin().await.unwrap();
        let claimed = claim(&mut tx, "me", now, Duration::seconds(60), 10).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(claimed.iter().map(|m| (m.id, m.attempts, m.text.as_str())).collect::<Vec<_>>(), vec![(id, 1, "https://x/app/magic/secret")]);
        let mut tx = pool.begin().await.unwrap();
        assert!(claim(&mut tx, "other", now, Duration::seconds(60), 10).await.unwrap().is_empty(), "leased");
        tx.rollback().await.unwrap();
        assert!(!record(&pool, "other", id, &MailOutcome::Sent, now).await.unwrap(), "only the leaseholder writes");
        // a failure: retried later, with its body
        assert!(record(&pool, "me", id, &MailOutcome::Retry { at: now + Duration::seconds(10), error: "451".into() }, now).await.unwrap());
        let mut tx = pool.begin().await.unwrap();
        assert!(claim(&mut tx, "me", now + Duration::seconds(5), Duration::seconds(60), 10).await.unwrap().is_empty(), "not yet");
        let again = claim(&mut tx, "me", now + Duration::seconds(11), Duration::seconds(60), 10).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((again[0].attempts, again[0].text.as_str()), (2, "https://x/app/magic/secret"));
        assert!(record(&pool, "me", id, &MailOutcome::Sent, now).await.unwrap());
        let (status, body): (String, Option<String>) =
            sqlx::query_as("SELECT status, body_text FROM outgoing_mail WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
        assert_eq!((status.as_str(), body), ("sent", None), "the link is gone once sent");
        // a dead worker's lease runs out: another takes the message
        let other = enqueue(&pool, &mail("b@example.com")).await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        claim(&mut tx, "dead", now, Duration::seconds(60), 10).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        let taken = claim(&mut tx, "alive", now + Duration::seconds(61), Duration::seconds(60), 10).await.unwrap();
        assert_eq!(taken.iter().map(|m| m.id).collect::<Vec<_>>(), vec![other]);
    }
}
