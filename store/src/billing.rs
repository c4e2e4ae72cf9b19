//! The billing provider's events, each kept once (`billing_events`, unique per provider and
//! event id): a replayed or repeated event is recognised and changes nothing.

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::StoreResult;

/// Keeps an event unless one with its id was kept before. Returns whether it is new.
pub async fn record_event(
    db: impl PgExecutor<'_>,
    event_id: &str,
    event_name: &str,
    org_id: Option<Uuid>,
    payload: &serde_json::Value,
) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO billing_events (provider, event_id, event_name, org_id, payload)
         VALUES ('lemonsqueezy', $1, $2, $3, $4)
         ON CONFLICT (provider, event_id) DO NOTHING",
    )
    .bind(event_id)
    .bind(event_name)
    .bind(org_id)
    .bind(payload)
    .execute(db)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}
