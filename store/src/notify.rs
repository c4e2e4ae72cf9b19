//! The wake-up channel between whoever creates due work (api-fn's trigger, queue and redelivery;
//! the leader's scheduler) and every dispatcher's claim loop: `NOTIFY prikke_due`. The payload is
//! the earliest new run's instant in epoch milliseconds, or empty for "due now". A notification
//! is delivered at commit, so nobody is woken for a row that may still roll back; one lost while
//! a listener reconnects is made up for by the claim loop's poll.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::PgExecutor;
use sqlx::postgres::PgListener;

use crate::error::StoreResult;

/// The channel's name, for SQL text built with `concat!`.
macro_rules! due_channel {
    () => {
        "prikke_due"
    };
}
pub(crate) use due_channel;

pub const DUE_CHANNEL: &str = due_channel!();

/// The channel that says an account e-mail is waiting in the outbox (`store::mail`): the
/// dispatcher sends it at once instead of at its next poll.
macro_rules! mail_channel {
    () => {
        "prikke_mail"
    };
}
pub(crate) use mail_channel;

pub const MAIL_CHANNEL: &str = mail_channel!();

/// The payload announcing a run due at `at`: epoch milliseconds, rounded up. Rounded down, a
/// run due at 18.8079 s was announced for 18.807 s, and the claim loop, woken then with its
/// prefetch window ending just before the run, found nothing and slept until its poll.
pub fn due_payload(at: DateTime<Utc>) -> String {
    let ms = at.timestamp_millis() + i64::from(!at.timestamp_subsec_nanos().is_multiple_of(1_000_000));
    ms.to_string()
}

/// The instant a payload announces; `None` for "due now" (an empty payload, or one this version
/// does not understand: waking at once is always safe).
pub fn parse_due_payload(payload: &str) -> Option<DateTime<Utc>> {
    payload.parse::<i64>().ok().and_then(|ms| Utc.timestamp_millis_opt(ms).single())
}

/// Announces a run due at `at` (sent when the caller's transaction commits).
pub async fn notify_due(db: impl PgExecutor<'_>, at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query(concat!("SELECT pg_notify('", due_channel!(), "', $1)")).bind(due_payload(at)).execute(db).await?;
    Ok(())
}

/// A connection listening on the wake-up channels and `crate::erasure`'s deletion notices
/// (`Notification::channel` tells them apart).
pub async fn listen_due(pool: &sqlx::PgPool) -> StoreResult<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([DUE_CHANNEL, MAIL_CHANNEL, crate::erasure::DELETED_CHANNEL]).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::PgPool;

    #[test]
    fn payloads() {
        assert_eq!(parse_due_payload(""), None);
        assert_eq!(parse_due_payload("1700000000000").map(|t| t.timestamp()), Some(1_700_000_000));
        assert_eq!(parse_due_payload("garbage"), None);
        let at = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        assert_eq!(parse_due_payload(&due_payload(at)), Some(at));
        let between = at + chrono::Duration::microseconds(807_923);
        assert_eq!(due_payload(between), "1774746000808", "never announced before it is due");
        assert!(parse_due_payload(&due_payload(between)).unwrap() >= between);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn a_notification_reaches_a_listener(pool: PgPool) {
        let mut listener = listen_due(&pool).await.unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
        let mut tx = pool.begin().await.unwrap();
        notify_due(&mut *tx, at).await.unwrap();
        tx.commit().await.unwrap();
        let note = listener.recv().await.unwrap();
        assert_eq!((note.channel(), parse_due_payload(note.payload())), (DUE_CHANNEL, Some(at)));
    }
}
