//! Notification channels: an organization's e-mail addresses and webhook URLs that alerts go
//! to, each with the events it takes. Rows are decoded into `domain::notification` values.

use chrono::{DateTime, Utc};
use domain::notification::{ChannelKind, ChannelTarget, EventSet};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::tenant_rows;

#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: Option<String>,
    pub target: ChannelTarget,
    pub events: EventSet,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a write sets.
#[derive(Debug, Clone)]
pub struct ChannelFields<'a> {
    pub name: Option<&'a str>,
    pub target: &'a ChannelTarget,
    pub events: &'a EventSet,
    pub enabled: bool,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    id: Uuid,
    org_id: Uuid,
    name: Option<String>,
    kind: String,
    target: String,
    events: Vec<String>,
    enabled: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, org_id, name, kind, target, events, enabled, created_at, updated_at";

impl TryFrom<ChannelRow> for Channel {
    type Error = StoreError;

    fn try_from(r: ChannelRow) -> StoreResult<Channel> {
        let corrupt = |what: String| StoreError::Corrupt { column: "notification_channels", value: format!("channel {}: {what}", r.id) };
        let kind: ChannelKind = r.kind.parse().map_err(|e: domain::UnknownName| corrupt(e.to_string()))?;
        let target = ChannelTarget::parse(kind, &r.target).map_err(|e| corrupt(e.to_string()))?;
        let kinds = r.events.iter().map(|e| e.parse::<domain::alert::AlertKind>()).collect::<Result<Vec<_>, _>>().map_err(|e| corrupt(e.to_string()))?;
        Ok(Channel {
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            target,
            events: EventSet::of(kinds),
            enabled: r.enabled,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn event_names(events: &EventSet) -> Vec<&'static str> {
    events.kinds().into_iter().map(|k| k.as_str()).collect()
}

/// Creates a channel.
pub async fn insert(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, f: &ChannelFields<'_>) -> StoreResult<Channel> {
    let sql = format!(
        "INSERT INTO notification_channels (org_id, id, name, kind, target, events, enabled)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    );
    let row: ChannelRow = sqlx::query_as(&sql)
        .bind(org_id)
        .bind(id)
        .bind(f.name)
        .bind(f.target.kind().as_str())
        .bind(f.target.as_str())
        .bind(event_names(f.events))
        .bind(f.enabled)
        .fetch_one(db)
        .await?;
    row.try_into()
}

/// Replaces a channel's fields (its kind stays). None when there is no such channel in `org_id`.
pub async fn update(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid, f: &ChannelFields<'_>) -> StoreResult<Option<Channel>> {
    let sql = format!(
        "UPDATE notification_channels SET name = $3, target = $4, events = $5, enabled = $6, updated_at = now()
          WHERE org_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let row: Option<ChannelRow> = sqlx::query_as(&sql)
        .bind(org_id)
        .bind(id)
        .bind(f.name)
        .bind(f.target.as_str())
        .bind(event_names(f.events))
        .bind(f.enabled)
        .fetch_optional(db)
        .await?;
    row.map(TryInto::try_into).transpose()
}

pub async fn get(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Channel>> {
    tenant_rows::one::<ChannelRow, _, _>(db, &format!("SELECT {COLUMNS} FROM notification_channels"), org_id, "id", id).await
}

/// A page of an organization's channels, newest first.
pub async fn list(db: impl PgExecutor<'_>, org_id: Uuid, before: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> StoreResult<Vec<Channel>> {
    tenant_rows::newest_first::<ChannelRow, _>(db, &format!("SELECT {COLUMNS} FROM notification_channels"), org_id, before, limit).await
}

/// Deletes a channel (and its pending sends). False when not found.
///
/// Jobs that list it in their own channels stop listing it, in the same statement; a job whose
/// list this empties goes back to the organization's channels (its alerts are never silenced by
/// deleting a channel; muting is a choice of its own).
pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let sql = "WITH gone AS (
                   DELETE FROM notification_channels WHERE org_id = $1 AND id = $2 RETURNING id
               ), unlisted AS (
                   UPDATE jobs SET alert_channel_ids = nullif(alert_channel_ids - $2::text, '[]'::jsonb), updated_at = now()
                    WHERE org_id = $1 AND alert_channel_ids ? $2::text AND EXISTS (SELECT 1 FROM gone)
               )
               SELECT count(*) FROM gone";
    let deleted: i64 = sqlx::query_scalar(sql).bind(org_id).bind(id).fetch_one(db).await?;
    Ok(deleted == 1)
}

/// Those of `ids` that are not channels of the organization (in the order given).
pub async fn not_found(db: impl PgExecutor<'_>, org_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar(
        "SELECT x.id FROM unnest($2::uuid[]) WITH ORDINALITY AS x(id, n)
          WHERE NOT EXISTS (SELECT 1 FROM notification_channels c WHERE c.org_id = $1 AND c.id = x.id)
          ORDER BY x.n",
    )
    .bind(org_id)
    .bind(ids)
    .fetch_all(db)
    .await?)
}

/// The channel an unsubscribe token names: (organization name, target).
pub async fn by_unsubscribe_token(db: impl PgExecutor<'_>, token: &str) -> StoreResult<Option<(String, String, bool)>> {
    Ok(sqlx::query_as(
        "SELECT o.name, c.target, c.enabled FROM notification_channels c JOIN organizations o ON o.id = c.org_id
          WHERE c.unsubscribe_token = $1",
    )
    .bind(token)
    .fetch_optional(db)
    .await?)
}

/// Disables the channel an unsubscribe token names (the one-click link in alert e-mails).
/// Returns its target, or None for an unknown token.
pub async fn unsubscribe(db: impl PgExecutor<'_>, token: &str) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "UPDATE notification_channels SET enabled = false, updated_at = now() WHERE unsubscribe_token = $1 RETURNING target",
    )
    .bind(token)
    .fetch_optional(db)
    .await?)
}

/// How many channels of `kind` the organization has, counted with its row locked, so two
/// concurrent creates cannot both pass the plan's limit. Call inside the creating transaction.
pub async fn count_locked(conn: &mut sqlx::PgConnection, org_id: Uuid, kind: ChannelKind) -> StoreResult<i64> {
    sqlx::query("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE").bind(org_id).execute(&mut *conn).await?;
    let sql = "SELECT count(*) FROM notification_channels WHERE org_id = $1 AND kind = $2";
    Ok(sqlx::query_scalar(sql).bind(org_id).bind(kind.as_str()).fetch_one(&mut *conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organizations;
    use domain::alert::AlertKind;
    use domain::notification::ChannelKind;
    use domain::tier::Tier;
    use sqlx::PgPool;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn channels_round_trip_per_tenant(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Pro).await.unwrap();
        let b = organizations::insert(&pool, "B", "b", Tier::Pro).await.unwrap();
        let slack = ChannelTarget::parse(ChannelKind::Webhook, "https://hooks.slack.com/services/T/B/x").unwrap();
        let events = EventSet::of([AlertKind::JobFailed, AlertKind::MonitorDown]);
        let f = ChannelFields { name: Some("ops"), target: &slack, events: &events, enabled: true };
        let c = insert(&pool, a.id, Uuid::now_v7(), &f).await.unwrap();
        assert_eq!((c.name.as_deref(), &c.target, &c.events, c.enabled), (Some("ops"), &slack, &events, true));
        assert_eq!(get(&pool, a.id, c.id).await.unwrap(), Some(c.clone()));
        assert_eq!(get(&pool, b.id, c.id).await.unwrap(), None, "invisible to another organization");
        assert!(list(&pool, b.id, None, 10).await.unwrap().is_empty());

        let all = EventSet::all();
        let other = ChannelTarget::parse(ChannelKind::Webhook, "https://example.com/alerts").unwrap();
        let g = ChannelFields { name: None, target: &other, events: &all, enabled: false };
        assert_eq!(update(&pool, b.id, c.id, &g).await.unwrap(), None);
        let c2 = update(&pool, a.id, c.id, &g).await.unwrap().unwrap();
        assert_eq!((c2.name, c2.target, c2.events, c2.enabled), (None, other, all, false));

        let token: String = sqlx::query_scalar("SELECT unsubscribe_token FROM notification_channels WHERE id = $1").bind(c.id).fetch_one(&pool).await.unwrap();
        assert_eq!(token.len(), 32);
        assert_eq!(by_unsubscribe_token(&pool, &token).await.unwrap(), Some(("A".to_owned(), "https://example.com/alerts".to_owned(), false)));
        assert_eq!(unsubscribe(&pool, "no-such-token").await.unwrap(), None);
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(count_locked(&mut conn, a.id, ChannelKind::Webhook).await.unwrap(), 1);
        assert_eq!(count_locked(&mut conn, a.id, ChannelKind::Email).await.unwrap(), 0);
        assert!(!delete(&pool, b.id, c.id).await.unwrap());
        assert!(delete(&pool, a.id, c.id).await.unwrap());
        assert!(list(&pool, a.id, None, 10).await.unwrap().is_empty());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn the_schema_refuses_an_empty_or_unknown_event_list(pool: PgPool) {
        let a = organizations::insert(&pool, "A", "a", Tier::Pro).await.unwrap();
        for events in [vec![], vec!["job_exploded"]] {
            let r = sqlx::query("INSERT INTO notification_channels (org_id, kind, target, events) VALUES ($1, 'email', 'a@b.eu', $2)")
                .bind(a.id)
                .bind(events)
                .execute(&pool)
                .await;
            assert!(r.is_err());
        }
    }
}
