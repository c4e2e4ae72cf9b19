//! The audit log: who did what to an organization's credentials, members and plan. Entries are
//! written in the caller's transaction, with the change they record.

use chrono::{DateTime, Utc};
use domain::audit::{Actor, AuditAction};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult, parse_column};

/// What one entry says.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub org_id: Uuid,
    pub actor: Actor,
    pub action: AuditAction,
    /// What it was done to: a kind (`api_key`, …) and its id.
    pub target: Option<(String, String)>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Records `action` by `actor` on `target` in `org_id`.
pub async fn record(
    db: impl PgExecutor<'_>,
    org_id: Uuid,
    actor: Actor,
    action: AuditAction,
    target: Option<(&str, &str)>,
    details: serde_json::Value,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (org_id, actor_user_id, actor_api_key_id, action, target_type, target_id, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(org_id)
    .bind(actor.user_id())
    .bind(actor.api_key_id())
    .bind(action.as_str())
    .bind(target.map(|t| t.0))
    .bind(target.map(|t| t.1))
    .bind(details)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    org_id: Uuid,
    actor_user_id: Option<Uuid>,
    actor_api_key_id: Option<Uuid>,
    action: String,
    target_type: Option<String>,
    target_id: Option<String>,
    details: serde_json::Value,
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for Entry {
    type Error = StoreError;

    fn try_from(r: Row) -> StoreResult<Entry> {
        let actor = match (r.actor_user_id, r.actor_api_key_id) {
            (Some(user), _) => Actor::User(user),
            (None, Some(key)) => Actor::ApiKey(key),
            (None, None) => Actor::System,
        };
        Ok(Entry {
            id: r.id,
            org_id: r.org_id,
            actor,
            action: parse_column("audit_log.action", r.action)?,
            target: r.target_type.zip(r.target_id),
            details: r.details,
            created_at: r.created_at,
        })
    }
}

/// A page of the organization's entries, newest first, before entry `before` (its id).
pub async fn list(db: impl PgExecutor<'_>, org_id: Uuid, before: Option<i64>, limit: i64) -> StoreResult<Vec<Entry>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, org_id, actor_user_id, actor_api_key_id, action, target_type, target_id, details, created_at
           FROM audit_log WHERE org_id = $1 AND ($2::bigint IS NULL OR id < $2)
          ORDER BY id DESC LIMIT $3",
    )
    .bind(org_id)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Entry::try_from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::tier::Tier;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn entries_are_the_organizations_own_newest_first(pool: PgPool) {
        let org = crate::organizations::insert(&pool, "O", "o", Tier::Pro).await.unwrap().id;
        let other = crate::organizations::insert(&pool, "P", "p", Tier::Pro).await.unwrap().id;
        let key = crate::api_keys::insert(&pool, org, "k", "ci", &[1; 32], None, None).await.unwrap().id;
        record(&pool, org, Actor::System, AuditAction::SigningSecretRotated, None, serde_json::json!({"overlap_secs": 0})).await.unwrap();
        record(&pool, org, Actor::ApiKey(key), AuditAction::ApiKeyCreated, Some(("api_key", "abc")), serde_json::json!({})).await.unwrap();
        record(&pool, other, Actor::System, AuditAction::ApiKeyRevoked, None, serde_json::json!({})).await.unwrap();
        let page = list(&pool, org, None, 10).await.unwrap();
        let seen: Vec<_> = page.iter().map(|e| (e.action, e.actor, e.target.clone())).collect();
        assert_eq!(
            seen,
            vec![
                (AuditAction::ApiKeyCreated, Actor::ApiKey(key), Some(("api_key".into(), "abc".into()))),
                (AuditAction::SigningSecretRotated, Actor::System, None)
            ]
        );
        assert_eq!(list(&pool, org, Some(page[0].id), 10).await.unwrap().len(), 1, "paged by id");
    }
}
