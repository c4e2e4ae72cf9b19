//! The one-export-at-a-time guard of an organization: a Postgres session advisory lock (in a key
//! space of its own) held on a connection taken out of the pool for as long as the export
//! streams. The lock belongs to that session, so however the export ends (finished, client gone,
//! process killed) closing or losing the connection releases it; no row is left to clean up.

use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::error::StoreResult;

/// The advisory lock's first key: "export" as a 32-bit constant (the second is the org's hash).
const EXPORT_LOCK_SPACE: i32 = 0x6578_706f;

/// The held lock. Dropping it closes its connection, which releases the lock.
#[derive(Debug)]
pub struct ExportLock {
    conn: PgConnection,
}

/// Takes `org_id`'s export lock if no export of the organization holds it; `None` when one does.
pub async fn try_lock(pool: &PgPool, org_id: Uuid) -> StoreResult<Option<ExportLock>> {
    let mut conn = pool.acquire().await?.detach();
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2::text))").bind(EXPORT_LOCK_SPACE).bind(org_id).fetch_one(&mut conn).await?;
    if got {
        Ok(Some(ExportLock { conn }))
    } else {
        let _ = conn.close().await;
        Ok(None)
    }
}

impl ExportLock {
    /// Releases the lock and closes its connection.
    pub async fn release(self) {
        // closing the session releases its advisory locks
        let _ = self.conn.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn one_export_per_organization_at_a_time(pool: PgPool) {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let held = try_lock(&pool, a).await.unwrap().expect("free");
        assert!(try_lock(&pool, a).await.unwrap().is_none(), "held by the first export");
        let other = try_lock(&pool, b).await.unwrap().expect("another organization is not held up");
        held.release().await;
        let again = try_lock(&pool, a).await.unwrap().expect("released");
        drop(again);
        // a dropped lock's connection is closed without a goodbye; the server notices shortly
        let mut freed = None;
        for _ in 0..50 {
            freed = try_lock(&pool, a).await.unwrap();
            if freed.is_some() { break; }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(freed.is_some(), "dropping the lock releases it");
        other.release().await;
    }

    /// The reads the export pages through (in their tables' modules): every row of the
    /// organization, in pages by key, and never another organization's.
    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn the_exports_reads_page_through_one_organization(pool: PgPool) {
        use domain::tier::Tier;
        let mut orgs = Vec::new();
        for slug in ["a", "b"] {
            let org = crate::organizations::insert(&pool, slug, slug, Tier::Pro).await.unwrap().id;
            let user: Uuid = sqlx::query_scalar("INSERT INTO users (email) VALUES ($1) RETURNING id").bind(format!("{slug}@example.com")).fetch_one(&pool).await.unwrap();
            for n in 0..3 {
                sqlx::query("INSERT INTO invites (org_id, email, role, token_hash, invited_by, expires_at, revoked_at) VALUES ($1, $2, 'member', $3, $4, now() + interval '7 days', CASE WHEN $5 = 0 THEN now() END)")
                    .bind(org).bind(format!("{slug}{n}@example.com")).bind(vec![n as u8; 32].into_iter().chain([slug.as_bytes()[0]]).collect::<Vec<u8>>()).bind(user).bind(n)
                    .execute(&pool).await.unwrap();
            }
            let monitor: Uuid = sqlx::query_scalar("INSERT INTO monitors (org_id, name, token, schedule_kind, interval_secs, grace_secs, status) VALUES ($1, 'm', $2, 'interval', 3600, 60, 'new') RETURNING id")
                .bind(org).bind(format!("{slug}token{slug}token{slug}token{slug}token")).fetch_one(&pool).await.unwrap();
            for _ in 0..3 {
                sqlx::query("INSERT INTO pings (monitor_id, kind, method) VALUES ($1, 'success', 'GET')").bind(monitor).execute(&pool).await.unwrap();
            }
            let execution: Uuid = sqlx::query_scalar("INSERT INTO executions (org_id, source, scheduled_for, run_at, status, priority, max_attempts, retry_base_delay_secs, retry_max_delay_secs, method, url, headers, timeout_secs, message_id) VALUES ($1, 'queue', now(), now(), 'failed', 0, 3, 1, 1, 'POST', 'https://example.com', '[]', 30, gen_random_uuid()) RETURNING id")
                .bind(org).fetch_one(&pool).await.unwrap();
            for attempt in [2i16, 1] {
                sqlx::query("INSERT INTO execution_attempts (execution_id, attempt, status, started_at, finished_at, duration_ms) VALUES ($1, $2, 'failed', now(), now(), 5)").bind(execution).bind(attempt).execute(&pool).await.unwrap();
            }
            let channel: Uuid = sqlx::query_scalar("INSERT INTO notification_channels (org_id, kind, target) VALUES ($1, 'email', 'ops@example.com') RETURNING id").bind(org).fetch_one(&pool).await.unwrap();
            for _ in 0..3 {
                let event: Uuid = sqlx::query_scalar("INSERT INTO alert_events (org_id, kind) VALUES ($1, 'monitor_down') RETURNING id").bind(org).fetch_one(&pool).await.unwrap();
                sqlx::query("INSERT INTO notification_deliveries (alert_event_id, channel_id, org_id, status) VALUES ($1, $2, $3, 'pending')").bind(event).bind(channel).bind(org).execute(&pool).await.unwrap();
            }
            sqlx::query("INSERT INTO usage_counters (org_id, month, executions) VALUES ($1, '2026-12-01', 7), ($1, '2026-10-01', 5)").bind(org).execute(&pool).await.unwrap();
            orgs.push((org, execution, monitor));
        }
        let (org, execution, monitor) = orgs[0];

        let first = crate::invites::page(&pool, org, None, 2).await.unwrap();
        let rest = crate::invites::page(&pool, org, first.last().map(|r| r.invite.id), 2).await.unwrap();
        assert_eq!((first.len(), rest.len()), (2, 1));
        assert!(first.iter().chain(&rest).all(|r| r.invite.org_id == org && r.invite.email.starts_with('a')));
        assert_eq!(first.iter().chain(&rest).filter(|r| r.revoked_at.is_some()).count(), 1, "answered invitations too");

        let first = crate::monitors::pings_page(&pool, org, None, 2).await.unwrap();
        let rest = crate::monitors::pings_page(&pool, org, first.last().map(|p| p.0), 2).await.unwrap();
        assert_eq!((first.len(), rest.len()), (2, 1));
        assert!(first.iter().chain(&rest).all(|p| p.1 == monitor));

        let attempts = crate::executions::attempts_of(&pool, org, &[execution, orgs[1].1]).await.unwrap();
        assert_eq!(attempts.iter().map(|(id, a)| (*id, a.attempt)).collect::<Vec<_>>(), vec![(execution, 1), (execution, 2)], "in order, and not another organization's");

        let first = crate::outbox::alert_events_page(&pool, org, None, 2).await.unwrap();
        let rest = crate::outbox::alert_events_page(&pool, org, first.last().map(|e| e.id), 2).await.unwrap();
        assert_eq!((first.len(), rest.len()), (2, 1));
        let first = crate::outbox::deliveries_page(&pool, org, None, 2).await.unwrap();
        let rest = crate::outbox::deliveries_page(&pool, org, first.last().map(|d| d.id), 2).await.unwrap();
        assert_eq!((first.len(), rest.len()), (2, 1));
        let events: Vec<Uuid> = crate::outbox::alert_events_page(&pool, org, None, 10).await.unwrap().iter().map(|e| e.id).collect();
        assert!(first.iter().chain(&rest).all(|d| d.alert_event_id.is_some_and(|e| events.contains(&e))));

        let months: Vec<(String, i64)> = crate::usage::all_months(&pool, org).await.unwrap().iter().map(|m| (m.month.to_string(), m.executions)).collect();
        assert_eq!(months, vec![("2026-10-01".to_owned(), 5), ("2026-12-01".to_owned(), 7)]);
    }
}
