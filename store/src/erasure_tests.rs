//! Tests of erasure against a freshly migrated database.

use chrono::{Duration, TimeZone};
use domain::tier::Tier;
use sqlx::PgPool;

use super::*;
use crate::{organizations, users};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 10, 12, 0, 0).unwrap()
}

/// An organization with a row in every table that holds tenant data: two jobs (one enabled, one
/// paused by its plan), runs in each state with attempts, a monitor with pings, an alert with a
/// pending notification, a pending e-mail, an audit entry, usage, an idempotency key, a member.
async fn populated(pool: &PgPool, slug: &str) -> Uuid {
    let org = organizations::insert(pool, slug, slug, Tier::Pro).await.unwrap().id;
    let script = format!(
        "INSERT INTO jobs (org_id, name, schedule_kind, cron_expr, url, method, retry_max_attempts, retry_base_delay_secs, retry_max_delay_secs, next_run_at)
              VALUES ('{org}', 'on', 'cron', '* * * * *', 'https://example.com/a', 'POST', 1, 10, 60, now()),
                     ('{org}', 'plan-paused', 'cron', '* * * * *', 'https://example.com/b', 'POST', 1, 10, 60, now());
         UPDATE jobs SET enabled = false, paused_reason = 'plan_job_limit' WHERE org_id = '{org}' AND name = 'plan-paused';
         INSERT INTO executions (org_id, source, scheduled_for, run_at, status, priority, max_attempts, retry_base_delay_secs,
                                 retry_max_delay_secs, message_id, method, url, body, timeout_secs, attempt, leased_by)
              SELECT '{org}', 'queue', now(), now(), s, 0, 3, 10, 60, gen_random_uuid(), 'POST', 'https://example.com/q', 'payload', 30,
                     CASE WHEN s = 'pending' THEN 0 ELSE 1 END, CASE WHEN s = 'running' THEN 'w' END
                FROM unnest(ARRAY['pending', 'pending', 'running', 'success', 'failed']) s;
         INSERT INTO execution_attempts (execution_id, attempt, status, started_at, finished_at, duration_ms)
              SELECT id, 1, 'success', now(), now(), 5 FROM executions WHERE org_id = '{org}' AND status = 'success';
         INSERT INTO monitors (org_id, name, token, schedule_kind, interval_secs) VALUES ('{org}', 'm', '{slug}-token-0123456789', 'interval', 60);
         INSERT INTO pings (monitor_id, kind, method) SELECT id, 'success', 'GET' FROM monitors, generate_series(1, 3) WHERE org_id = '{org}';
         INSERT INTO notification_channels (org_id, kind, target) VALUES ('{org}', 'email', 'ops@{slug}.example');
         INSERT INTO alert_events (org_id, kind) VALUES ('{org}', 'monitor_down');
         INSERT INTO notification_deliveries (alert_event_id, channel_id, org_id, status)
              SELECT a.id, c.id, '{org}', 'pending' FROM alert_events a, notification_channels c WHERE a.org_id = '{org}' AND c.org_id = '{org}';
         INSERT INTO outgoing_mail (org_id, kind, to_address, subject, body_text) VALUES ('{org}', 'invite', 'new@{slug}.example', 'Join', 'link');
         INSERT INTO audit_log (org_id, action) VALUES ('{org}', 'tier.changed');
         INSERT INTO usage_counters (org_id, month, executions) VALUES ('{org}', '2026-05-01', 3);
         INSERT INTO idempotency_keys (org_id, key, request_hash) VALUES ('{org}', 'k', '\\x00');"
    );
    sqlx::raw_sql(&script).execute(pool).await.unwrap();
    let user = users::insert(pool, &format!("owner@{slug}.example"), None, None).await.unwrap();
    users::upsert_membership(pool, org, user.id, users::Role::Owner).await.unwrap();
    org
}

/// Rows that belong to `org`, in every table with an `org_id` and the tables reached through one.
async fn rows_of(pool: &PgPool, org: Uuid) -> i64 {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'org_id' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(tables.len() >= 15, "every tenant table is counted: {tables:?}");
    let mut n = 0;
    for t in tables {
        n += sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {t} WHERE org_id = $1")).bind(org).fetch_one(pool).await.unwrap();
    }
    let through: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM organizations WHERE id = $1)
              + (SELECT count(*) FROM pings p JOIN monitors m ON m.id = p.monitor_id WHERE m.org_id = $1)
              + (SELECT count(*) FROM execution_attempts a JOIN executions e ON e.id = a.execution_id WHERE e.org_id = $1)",
    )
    .bind(org)
    .fetch_one(pool)
    .await
    .unwrap();
    n + through
}

async fn request_at(pool: &PgPool, org: Uuid, now: DateTime<Utc>) -> Option<Requested> {
    let mut tx = pool.begin().await.unwrap();
    let r = request(&mut tx, org, now, now + domain::lifetimes::ORG_DELETION_GRACE).await.unwrap();
    tx.commit().await.unwrap();
    r
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_request_stops_everything_the_organization_would_send(pool: PgPool) {
    let org = populated(&pool, "gone").await;
    let other = populated(&pool, "kept").await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await.unwrap();
    listener.listen(DELETED_CHANNEL).await.unwrap();

    assert_eq!(request_at(&pool, org, t0()).await, Some(Requested { jobs_paused: 1, runs_cancelled: 3 }));
    assert_eq!(listener.recv().await.unwrap().payload(), org.to_string(), "announced at commit");
    assert_eq!(request_at(&pool, org, t0()).await, None, "a second request changes nothing");

    let states = |org: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT 'run ' || status || coalesce(' ' || status_reason, '') || CASE WHEN body IS NULL THEN ' no body' ELSE '' END, count(*) FROM executions WHERE org_id = $1 GROUP BY 1
                 UNION ALL SELECT 'job ' || enabled || ' ' || coalesce(paused_reason, '-'), count(*) FROM jobs WHERE org_id = $1 GROUP BY 1
                 UNION ALL SELECT 'alert processed ' || (processed_at IS NOT NULL), count(*) FROM alert_events WHERE org_id = $1 GROUP BY 1
                 UNION ALL SELECT 'notification ' || status, count(*) FROM notification_deliveries WHERE org_id = $1 GROUP BY 1
                 UNION ALL SELECT 'mail ' || status, count(*) FROM outgoing_mail WHERE org_id = $1 GROUP BY 1
                 ORDER BY 1",
            )
            .bind(org)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let not_sent = format!("run cancelled {NOT_SENT} no body");
    let expect = |cancelled: bool| -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = if cancelled {
            vec![
                ("alert processed true".into(), 1),
                ("job false org_deletion".into(), 1),
                ("job false plan_job_limit".into(), 1),
                ("mail failed".into(), 1),
                ("notification failed".into(), 1),
                (not_sent.clone(), 3),
                ("run failed".into(), 1),
                ("run success".into(), 1),
            ]
        } else {
            vec![
                ("alert processed false".into(), 1),
                ("job false plan_job_limit".into(), 1),
                ("job true -".into(), 1),
                ("mail pending".into(), 1),
                ("notification pending".into(), 1),
                ("run failed".into(), 1),
                ("run pending".into(), 2),
                ("run running".into(), 1),
                ("run success".into(), 1),
            ]
        };
        v.sort();
        v
    };
    assert_eq!(states(org).await, expect(true));
    assert_eq!(states(other).await, expect(false), "another organization is untouched");
    assert_eq!(deleting(&pool).await.unwrap(), vec![org]);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_restore_within_the_grace_period_resumes_only_what_the_request_paused(pool: PgPool) {
    let org = populated(&pool, "back").await;
    request_at(&pool, org, t0()).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let late = t0() + domain::lifetimes::ORG_DELETION_GRACE;
    assert_eq!(restore(&mut tx, org, late).await.unwrap(), None, "the grace period is over");
    assert_eq!(restore(&mut tx, org, late - Duration::seconds(1)).await.unwrap(), Some(1));
    assert_eq!(restore(&mut tx, org, t0()).await.unwrap(), None, "no longer marked");
    tx.commit().await.unwrap();
    let jobs: Vec<(bool, Option<String>)> = sqlx::query_as("SELECT enabled, paused_reason FROM jobs WHERE org_id = $1 ORDER BY name").bind(org).fetch_all(&pool).await.unwrap();
    assert_eq!(jobs, vec![(true, None), (false, Some("plan_job_limit".into()))]);
    assert!(deleting(&pool).await.unwrap().is_empty());
    assert!(due_for_purge(&pool, late + Duration::days(30), 10).await.unwrap().is_empty());
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_purge_erases_every_row_in_batches_and_only_after_the_grace_period(pool: PgPool) {
    let org = populated(&pool, "purged").await;
    let other = populated(&pool, "stays").await;
    let before_other = rows_of(&pool, other).await;
    assert_eq!(rows_of(&pool, org).await, 21, "what populated() made");
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(purge_step(&mut conn, org, t0() + Duration::days(30), 2).await.unwrap(), PurgeStep::NotDue, "never marked");
    request_at(&pool, org, t0()).await.unwrap();
    let end = t0() + domain::lifetimes::ORG_DELETION_GRACE;
    assert_eq!(purge_step(&mut conn, org, end - Duration::seconds(1), 2).await.unwrap(), PurgeStep::NotDue, "within the grace period");
    assert!(due_for_purge(&pool, end - Duration::seconds(1), 10).await.unwrap().is_empty());
    assert_eq!(due_for_purge(&pool, end, 10).await.unwrap(), vec![org]);

    let mut steps = Vec::new();
    loop {
        match purge_step(&mut conn, org, end, 2).await.unwrap() {
            PurgeStep::Deleted(table, n) => {
                assert!(n <= 2, "{table}: a batch is at most the limit");
                steps.push(table);
            }
            PurgeStep::Done => break,
            PurgeStep::NotDue => panic!("a due purge stopped"),
        }
        assert!(steps.len() < 50, "the purge ends");
    }
    assert_eq!(steps.iter().filter(|t| **t == "executions").count(), 3, "five runs, two at a time");
    assert_eq!(rows_of(&pool, org).await, 0, "nothing of it is left");
    assert_eq!(rows_of(&pool, other).await, before_other, "another organization is untouched");
    assert_eq!(purge_step(&mut conn, org, end, 2).await.unwrap(), PurgeStep::NotDue, "gone");
    let record: (Option<Uuid>, String, String) = sqlx::query_as("SELECT org_id, action, target_id FROM audit_log WHERE action = 'organization.purged'").fetch_one(&pool).await.unwrap();
    assert_eq!(record, (None, "organization.purged".into(), org.to_string()));
    let users_left: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&pool).await.unwrap();
    assert_eq!(users_left, 2, "people are not deleted with an organization; their accounts are theirs");
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn deleting_a_user_erases_their_address_and_keeps_owned_organizations_owned(pool: PgPool) {
    let org = populated(&pool, "team").await;
    let owner = users::by_email(&pool, "owner@team.example").await.unwrap().unwrap();
    let colleague = users::insert(&pool, "Colleague@Example.com", Some("C"), None).await.unwrap();
    users::upsert_membership(&pool, org, colleague.id, users::Role::Member).await.unwrap();
    let script = format!(
        "INSERT INTO audit_log (org_id, action, details) VALUES ('{org}', 'member.invited', '{{\"email\": \"colleague@example.com\", \"role\": \"member\"}}');
         INSERT INTO waitlist (email) VALUES ('colleague@example.com');
         INSERT INTO outgoing_mail (kind, to_address, subject) VALUES ('magic_link', 'colleague@example.com', 'Sign in');
         INSERT INTO invites (org_id, email, role, token_hash, expires_at) VALUES ('{org}', 'colleague@example.com', 'member', '\\x01', now());
         INSERT INTO sessions (token_hash, user_id, csrf_secret, expires_at) VALUES ('\\x02', '{}', '\\x03', now() + interval '1 day');",
        colleague.id
    );
    sqlx::raw_sql(&script).execute(&pool).await.unwrap();

    let mut tx = pool.begin().await.unwrap();
    assert_eq!(delete_user(&mut tx, owner.id).await.unwrap(), UserDeletion::SoleOwner(vec![(org, "team".into())]));
    tx.rollback().await.unwrap();
    assert!(users::get(&pool, owner.id).await.unwrap().is_some(), "refused: nothing changed");

    let mut tx = pool.begin().await.unwrap();
    assert_eq!(delete_user(&mut tx, colleague.id).await.unwrap(), UserDeletion::Deleted);
    assert_eq!(delete_user(&mut tx, colleague.id).await.unwrap(), UserDeletion::NotFound);
    tx.commit().await.unwrap();
    let mentions: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM users WHERE lower(email) = 'colleague@example.com')
              + (SELECT count(*) FROM memberships WHERE user_id = $1) + (SELECT count(*) FROM sessions WHERE user_id = $1)
              + (SELECT count(*) FROM waitlist WHERE lower(email) = 'colleague@example.com')
              + (SELECT count(*) FROM outgoing_mail WHERE lower(to_address) = 'colleague@example.com')
              + (SELECT count(*) FROM invites WHERE lower(email) = 'colleague@example.com')
              + (SELECT count(*) FROM audit_log WHERE details::text ILIKE '%colleague@example.com%')",
    )
    .bind(colleague.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(mentions, 0, "no row names them any more");
    let audit: Vec<(String, Option<Uuid>, Option<String>)> =
        sqlx::query_as("SELECT action, actor_user_id, target_id FROM audit_log WHERE org_id = $1 AND action IN ('user.deleted', 'member.invited') ORDER BY id").bind(org).fetch_all(&pool).await.unwrap();
    assert_eq!(audit, vec![("member.invited".into(), None, None), ("user.deleted".into(), None, Some(colleague.id.to_string()))]);

    // once the organization itself is being deleted, its last owner may leave
    request_at(&pool, org, t0()).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(delete_user(&mut tx, owner.id).await.unwrap(), UserDeletion::Deleted);
    tx.commit().await.unwrap();
}
