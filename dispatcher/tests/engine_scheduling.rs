//! The leader's chores at instants the test chooses, against real Postgres: scheduler ticks that
//! materialise one cron expression in two time zones across both daylight-saving changes of a
//! year, and retention of every kind of row it owns. Every expected instant and count below is
//! written out, not computed by the code under test.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use dispatcher::scheduler::{self, TickSettings};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

const SETTINGS: TickSettings = TickSettings { lookahead: chrono::Duration::seconds(5), missed_grace: chrono::Duration::seconds(60) };

/// A `30 2 * * *` job in `zone` whose cursor is `first`.
async fn daily_at_half_past_two(pool: &PgPool, org: Uuid, zone: &str, first: DateTime<Utc>) -> Uuid {
    let draft: domain::job::JobDraft = serde_json::from_value(json!({
        "name": format!("02:30 in {zone}"), "url": "https://example.com/hook",
        "schedule": {"kind": "cron", "expr": "30 2 * * *", "timezone": zone}
    }))
    .unwrap();
    let spec = domain::job::restore(&draft).unwrap();
    store::jobs::insert(pool, org, Uuid::now_v7(), &spec, Some(first)).await.unwrap().id
}

async fn runs(pool: &PgPool) -> Vec<(Uuid, DateTime<Utc>, String)> {
    sqlx::query_as("SELECT job_id, scheduled_for, status FROM executions ORDER BY scheduled_for, job_id").fetch_all(pool).await.unwrap()
}

async fn cursor(pool: &PgPool, job: Uuid) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT next_run_at FROM jobs WHERE id = $1").bind(job).fetch_one(pool).await.unwrap()
}

/// Ticks just before every expected instant, in order: 10 s before, nothing may appear (the
/// look-ahead is 5 s); 2 s before, exactly the runs due at that instant appear, pending.
async fn tick_through(pool: &PgPool, expected: &[(Uuid, Vec<DateTime<Utc>>)]) {
    let mut instants: Vec<DateTime<Utc>> = expected.iter().flat_map(|(_, at)| at.iter().copied()).collect();
    instants.sort();
    instants.dedup();
    for t in instants {
        let before = runs(pool).await;
        scheduler::tick(pool, t - chrono::Duration::seconds(10), SETTINGS).await.unwrap();
        assert_eq!(runs(pool).await, before, "a tick 10 s before {t} materialised something");
        scheduler::tick(pool, t - chrono::Duration::seconds(2), SETTINGS).await.unwrap();
        let new: Vec<_> = runs(pool).await.into_iter().filter(|r| !before.contains(r)).collect();
        let mut want: Vec<_> = expected.iter().filter(|(_, at)| at.contains(&t)).map(|(job, _)| (*job, t, "pending".to_owned())).collect();
        want.sort_by_key(|w| w.0);
        assert_eq!(new, want, "the tick 2 s before {t}");
    }
}

/// One season: a `30 2 * * *` job in each of two zones, whose cursors start at their first
/// expected run; ticked through their expected runs one zone after the other (a zone's job is
/// disabled once its runs are done, so its cursor stays put), each cursor checked afterwards.
async fn season(pool: &PgPool, org: Uuid, zones: [(&str, [DateTime<Utc>; 3], DateTime<Utc>); 2]) {
    let mut jobs = Vec::new();
    for (zone, runs, _) in &zones {
        jobs.push(daily_at_half_past_two(pool, org, zone, runs[0]).await);
    }
    for ((_, runs, next), job) in zones.iter().zip(&jobs) {
        tick_through(pool, &[(*job, runs.to_vec())]).await;
        assert_eq!(cursor(pool, *job).await, Some(*next));
        sqlx::query("UPDATE jobs SET enabled = false WHERE id = $1").bind(job).execute(pool).await.unwrap();
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn one_expression_in_two_zones_runs_at_their_own_instants_across_both_clock_changes(pool: PgPool) {
    let org = support::org(&pool, Tier::Pro).await;

    // Spring: New York moves 02:00 → 03:00 on 8 March 2026, Oslo on 29 March. 02:30 does not
    // exist on those days; a fixed-time job runs at the end of the gap (03:00 local).
    season(
        &pool,
        org,
        [
            ("America/New_York", [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)], utc(2026, 3, 10, 6, 30)),
            ("Europe/Oslo", [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)], utc(2026, 3, 31, 0, 30)),
        ],
    )
    .await;
    // Autumn: Oslo goes 03:00 → 02:00 on 25 October, so 02:30 happens twice: it runs once, in
    // the first pass (CEST). New York goes 02:00 → 01:00 on 1 November: 02:30 happens once, now
    // an hour later in UTC.
    season(
        &pool,
        org,
        [
            ("Europe/Oslo", [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)], utc(2026, 10, 27, 1, 30)),
            ("America/New_York", [utc(2026, 10, 31, 6, 30), utc(2026, 11, 1, 7, 30), utc(2026, 11, 2, 7, 30)], utc(2026, 11, 3, 7, 30)),
        ],
    )
    .await;
    assert_eq!(runs(&pool).await.len(), 12, "three runs per job and season, nothing else");
}

// --- retention -------------------------------------------------------------------------------

/// Executions of `org` created `age` before `now`, `n` of them, in `status`.
async fn executions(pool: &PgPool, org: Uuid, now: DateTime<Utc>, age: chrono::Duration, status: &str, n: i64) {
    sqlx::query(
        "INSERT INTO executions (org_id, source, scheduled_for, run_at, status, priority, max_attempts,
             retry_base_delay_secs, retry_max_delay_secs, message_id, method, url, timeout_secs, created_at)
         SELECT $1, 'queue', $2, $2, $3, 40, 1, 10, 10, gen_random_uuid(), 'POST', 'https://x.eu', 30, $2
           FROM generate_series(1, $4)",
    )
    .bind(org)
    .bind(now - age)
    .bind(status)
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

/// Pings of a new monitor of `org`, one per age.
async fn pings(pool: &PgPool, org: Uuid, now: DateTime<Utc>, ages: &[chrono::Duration]) {
    let monitor: Uuid = sqlx::query_scalar(
        "INSERT INTO monitors (org_id, name, token, schedule_kind, interval_secs) VALUES ($1, 'm', md5(random()::text), 'interval', 60) RETURNING id",
    )
    .bind(org)
    .fetch_one(pool)
    .await
    .unwrap();
    for age in ages {
        sqlx::query("INSERT INTO pings (monitor_id, kind, received_at, method) VALUES ($1, 'success', $2, 'GET')")
            .bind(monitor)
            .bind(now - *age)
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn count_by_org(pool: &PgPool, sql: &str, org: Uuid) -> i64 {
    sqlx::query_scalar(sql).bind(org).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn retention_at_a_fixed_instant_keeps_exactly_what_each_plan_keeps(pool: PgPool) {
    let now = utc(2026, 6, 15, 12, 0);
    let days = chrono::Duration::days;
    let hours = chrono::Duration::hours;
    let free = support::org(&pool, Tier::Free).await; // keeps 7 days
    let pro = support::org(&pool, Tier::Pro).await; // keeps 30 days
    for org in [free, pro] {
        executions(&pool, org, now, days(1), "success", 2).await;
        executions(&pool, org, now, days(8), "failed", 12).await; // past Free's 7 days
        executions(&pool, org, now, days(31), "success", 3).await; // past both
        executions(&pool, org, now, days(40), "pending", 1).await; // never deleted: not finished
        executions(&pool, org, now, days(40), "running", 1).await;
        pings(&pool, org, now, &[hours(1), days(8), days(8), days(31)]).await;
    }
    for (age, expired) in [(hours(25), true), (hours(23), false)] {
        sqlx::query("INSERT INTO idempotency_keys (org_id, key, request_hash, created_at) VALUES ($1, $2, '\\x00', $3)")
            .bind(free)
            .bind(format!("k{expired}"))
            .bind(now - age)
            .execute(&pool)
            .await
            .unwrap();
    }
    let user: Uuid = sqlx::query_scalar("INSERT INTO users (email) VALUES ('ada@example.com') RETURNING id").fetch_one(&pool).await.unwrap();
    for (i, expires) in [now - hours(1), now + hours(1)].into_iter().enumerate() {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_secret, expires_at) VALUES ($1, $2, '\\x00', $3)")
            .bind(vec![i as u8])
            .bind(user)
            .bind(expires)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO email_tokens (token_hash, purpose, email, user_id, expires_at) VALUES ($1, 'magic_link', 'ada@example.com', $2, $3)")
            .bind(vec![i as u8])
            .bind(user)
            .bind(expires)
            .execute(&pool)
            .await
            .unwrap();
    }

    // batches of 5: the 12 failed runs of each organization take three statements
    let deleted = dispatcher::maintenance::retention(&pool, now, 5, &CancellationToken::new()).await.unwrap();

    let left_executions = "SELECT count(*) FROM executions WHERE org_id = $1";
    assert_eq!(count_by_org(&pool, left_executions, free).await, 2 + 1 + 1, "Free keeps the last 7 days and what is unfinished");
    assert_eq!(count_by_org(&pool, left_executions, pro).await, 2 + 12 + 1 + 1, "Pro keeps 30 days");
    let left_pings = "SELECT count(*) FROM pings p JOIN monitors m ON m.id = p.monitor_id WHERE m.org_id = $1";
    assert_eq!(count_by_org(&pool, left_pings, free).await, 1);
    assert_eq!(count_by_org(&pool, left_pings, pro).await, 3);
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM idempotency_keys").fetch_all(&pool).await.unwrap();
    assert_eq!(keys, vec!["kfalse".to_owned()], "idempotency keys last 24 h");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE expires_at > $1").bind(now).fetch_one(&pool).await.unwrap();
    let all_sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&pool).await.unwrap();
    assert_eq!((sessions, all_sessions), (1, 1), "expired sessions go");
    let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM email_tokens").fetch_one(&pool).await.unwrap();
    assert_eq!(tokens, 1, "expired e-mailed tokens go");
    // executions 12 + 3 (Free) + 3 (Pro); pings 3 (Free) + 1 (Pro); a key, a session, a token
    assert_eq!(deleted, 18 + 4 + 3);
    assert_eq!(dispatcher::maintenance::retention(&pool, now, 5, &CancellationToken::new()).await.unwrap(), 0, "nothing left to do");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn retention_stops_after_a_batch_once_shutdown_is_asked(pool: PgPool) {
    let now = utc(2026, 6, 15, 12, 0);
    let free = support::org(&pool, Tier::Free).await;
    executions(&pool, free, now, chrono::Duration::days(8), "success", 12).await;
    let stopping = CancellationToken::new();
    stopping.cancel();
    assert_eq!(dispatcher::maintenance::retention(&pool, now, 5, &stopping).await.unwrap(), 5, "one batch, then it stops");
    assert_eq!(count_by_org(&pool, "SELECT count(*) FROM executions WHERE org_id = $1", free).await, 7);
}

/// Every record with a lifetime (`domain::lifetimes`) goes once it is past it, and not a day
/// before; what is still pending stays whatever its age; batches of 1 are enough to drain it.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn records_past_their_lifetime_go_and_younger_ones_stay(pool: PgPool) {
    use domain::lifetimes as l;
    let now = utc(2026, 6, 15, 12, 0);
    let day = chrono::Duration::days(1);
    let org = support::org(&pool, Tier::Pro).await;
    let exec = |sql: &'static str| sqlx::query(sql);
    // (past, within) each lifetime: one row a day older than it, one a day younger
    let ages = |lifetime: chrono::Duration| [(true, lifetime + day), (false, lifetime - day)];

    let channel: Uuid = sqlx::query_scalar("INSERT INTO notification_channels (org_id, kind, target) VALUES ($1, 'email', 'ops@example.com') RETURNING id")
        .bind(org).fetch_one(&pool).await.unwrap();
    for (past, age) in ages(l::ALERT_EVENT) {
        for pending in [false, true] {
            let event: Uuid = sqlx::query_scalar("INSERT INTO alert_events (org_id, kind, details, created_at, processed_at) VALUES ($1, 'job_failed', $2, $3, $3) RETURNING id")
                .bind(org).bind(json!({"past": past, "pending": pending})).bind(now - age).fetch_one(&pool).await.unwrap();
            exec("INSERT INTO notification_deliveries (alert_event_id, channel_id, org_id, status, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(event).bind(channel).bind(org).bind(if pending { "pending" } else { "sent" }).bind(now - age).execute(&pool).await.unwrap();
        }
        exec("INSERT INTO notification_deliveries (channel_id, org_id, is_test, status, created_at) VALUES ($1, $2, true, 'sent', $3)")
            .bind(channel).bind(org).bind(now - age).execute(&pool).await.unwrap();
    }
    for (past, age) in ages(l::SENT_MAIL) {
        for status in ["sent", "failed", "pending"] {
            let body = (status == "pending").then_some("a link");
            exec("INSERT INTO outgoing_mail (org_id, kind, to_address, subject, body_text, status, created_at, sent_at) VALUES ($1, 'magic_link', $2, 'Sign in', $3, $4, $5, CASE WHEN $4 = 'sent' THEN $5 END)")
                .bind(org).bind(format!("{status}-{past}@example.com")).bind(body).bind(status).bind(now - age).execute(&pool).await.unwrap();
        }
    }
    for (past, age) in ages(l::ENDED_INVITE) {
        // one expired that long ago, one revoked that long ago (and expiring later)
        exec("INSERT INTO invites (org_id, email, role, token_hash, created_at, expires_at) VALUES ($1, $2, 'member', $3, $4, $4)")
            .bind(org).bind(format!("expired-{past}@example.com")).bind(format!("e{past}").into_bytes()).bind(now - age).execute(&pool).await.unwrap();
        exec("INSERT INTO invites (org_id, email, role, token_hash, created_at, expires_at, revoked_at) VALUES ($1, $2, 'member', $3, $4, $5, $4)")
            .bind(org).bind(format!("revoked-{past}@example.com")).bind(format!("r{past}").into_bytes()).bind(now - age).bind(now + day).execute(&pool).await.unwrap();
    }
    // an open invitation, made long ago but not expired: kept
    exec("INSERT INTO invites (org_id, email, role, token_hash, created_at, expires_at) VALUES ($1, 'open@example.com', 'member', 'open', $2, $3)")
        .bind(org).bind(now - l::ENDED_INVITE * 2).bind(now + day).execute(&pool).await.unwrap();
    for (past, age) in ages(l::WAITLIST_ENTRY) {
        exec("INSERT INTO waitlist (email, created_at) VALUES ($1, $2)").bind(format!("{past}@example.com")).bind(now - age).execute(&pool).await.unwrap();
    }
    for (past, age) in ages(l::AUDIT_ENTRY) {
        exec("INSERT INTO audit_log (org_id, action, target_id, created_at) VALUES ($1, 'api_key.created', $2, $3)")
            .bind(org).bind(past.to_string()).bind(now - age).execute(&pool).await.unwrap();
    }
    for (past, age) in ages(l::BILLING_EVENT) {
        exec("INSERT INTO billing_events (provider, event_id, event_name, org_id, payload, received_at) VALUES ('lemonsqueezy', $1, 'order_created', $2, '{}', $3)")
            .bind(past.to_string()).bind(org).bind(now - age).execute(&pool).await.unwrap();
    }
    // June 2026 and the 24 months before it are kept: May 2024 goes, June 2024 stays
    for month in [(2024, 5), (2024, 6), (2026, 6)] {
        exec("INSERT INTO usage_counters (org_id, month, executions) VALUES ($1, make_date($2, $3, 1), 1)")
            .bind(org).bind(month.0).bind(month.1).execute(&pool).await.unwrap();
    }

    let deleted = dispatcher::maintenance::retention(&pool, now, 1, &CancellationToken::new()).await.unwrap();

    let strings = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_scalar::<_, String>(sql).fetch_all(&pool).await.unwrap() }
    };
    assert_eq!(strings("SELECT details::text FROM alert_events ORDER BY 1").await, [
        r#"{"past": false, "pending": false}"#, r#"{"past": false, "pending": true}"#, r#"{"past": true, "pending": true}"#,
    ], "a processed event past 90 days goes unless a send of it is pending");
    assert_eq!(strings("SELECT status || ' ' || is_test FROM notification_deliveries ORDER BY created_at, 1").await, [
        "pending false", "pending false", "sent false", "sent true",
    ], "the old event's send went with it, the old test notification went; the pending send stays");
    assert_eq!(strings("SELECT to_address FROM outgoing_mail ORDER BY 1").await, ["failed-false@example.com", "pending-false@example.com", "pending-true@example.com", "sent-false@example.com"]);
    assert_eq!(strings("SELECT email FROM invites ORDER BY 1").await, ["expired-false@example.com", "open@example.com", "revoked-false@example.com"]);
    assert_eq!(strings("SELECT email FROM waitlist").await, ["false@example.com"]);
    assert_eq!(strings("SELECT target_id FROM audit_log").await, ["false"]);
    assert_eq!(strings("SELECT event_id FROM billing_events").await, ["false"]);
    assert_eq!(strings("SELECT to_char(month, 'YYYY-MM') FROM usage_counters ORDER BY 1").await, ["2024-06", "2026-06"]);
    // alert event (its send goes with it, uncounted), test notification, 2 mails, 2 invites, waitlist, audit, billing, usage
    assert_eq!(deleted, 1 + 1 + 2 + 2 + 1 + 1 + 1 + 1);
    assert_eq!(dispatcher::maintenance::retention(&pool, now, 1, &CancellationToken::new()).await.unwrap(), 0, "nothing left to do");
}
