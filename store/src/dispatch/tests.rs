//! Tests of the dispatcher's SQL against a freshly migrated database.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::tier::Tier;
use sqlx::PgPool;
use uuid::Uuid;

use super::*;
use domain::execution::{ExecutionStatus, MessageId};
use crate::executions::{self, NewExecution, Source};
use crate::{jobs, organizations};

const ME: &str = "test-worker";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 10, 12, 0, 0).unwrap()
}

async fn org(pool: &PgPool, slug: &str, tier: Tier) -> Uuid {
    organizations::insert(pool, slug, slug, tier).await.unwrap().id
}

async fn job(pool: &PgPool, org_id: Uuid, json: serde_json::Value, next: Option<DateTime<Utc>>) -> Uuid {
    let draft: domain::job::JobDraft = serde_json::from_value(json).unwrap();
    let spec = domain::job::restore(&draft).unwrap();
    jobs::insert(pool, org_id, Uuid::now_v7(), &spec, next).await.unwrap().id
}

fn cron_job(expr: &str) -> serde_json::Value {
    serde_json::json!({"name": "j", "url": "https://example.com/hook", "body": "{}",
                       "headers": {"X-Job": "1"}, "schedule": {"kind": "cron", "expr": expr}})
}

async fn enqueue(pool: &PgPool, org_id: Uuid, at: DateTime<Utc>, priority: i16) -> Uuid {
    let id = Uuid::now_v7();
    executions::enqueue(
        pool,
        &NewExecution {
            id,
            org_id,
            job_id: None,
            source: Source::Queue,
            scheduled_for: at,
            priority,
            max_attempts: 3,
            retry_base_delay_secs: 10,
            retry_max_delay_secs: 60,
            message_id: id,
            method: "POST",
            url: "https://example.com/q",
            headers: &[],
            body: None,
            timeout_secs: 30,
            redelivery_of: None,
            completion_window_secs: None,
        },
    )
    .await
    .unwrap()
    .id
}

async fn claim_now(pool: &PgPool, me: &str, now: DateTime<Utc>, limit: i64) -> Vec<Claimed> {
    let mut tx = pool.begin().await.unwrap();
    let c = claim(&mut tx, me, now, now, limit, Duration::seconds(30)).await.unwrap();
    tx.commit().await.unwrap();
    c
}

async fn status_of(pool: &PgPool, id: Uuid) -> (String, i16, Option<String>) {
    sqlx::query_as("SELECT status, attempt, leased_by FROM executions WHERE id = $1").bind(id).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn claim_takes_due_rows_by_priority_then_most_overdue(pool: PgPool) {
    let o = org(&pool, "o", Tier::Pro).await;
    let now = t0();
    let low_old = enqueue(&pool, o, now - Duration::seconds(30), 10).await;
    let high_new = enqueue(&pool, o, now - Duration::seconds(1), 140).await;
    let high_old = enqueue(&pool, o, now - Duration::seconds(5), 140).await;
    let future = enqueue(&pool, o, now + Duration::seconds(5), 140).await;
    let got: Vec<Uuid> = claim_now(&pool, ME, now, 10).await.into_iter().map(|c| c.id).collect();
    assert_eq!(got, vec![high_old, high_new, low_old]);
    assert_eq!(status_of(&pool, high_old).await, ("running".into(), 1, Some(ME.into())));
    assert_eq!(status_of(&pool, future).await.0, "pending");
    // a horizon in the future pre-claims rows that are about to be due
    let mut tx = pool.begin().await.unwrap();
    let pre = claim(&mut tx, ME, now, now + Duration::seconds(10), 10, Duration::seconds(30)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(pre.iter().map(|c| c.id).collect::<Vec<_>>(), vec![future]);
    let lease: DateTime<Utc> = sqlx::query_scalar("SELECT lease_expires_at FROM executions WHERE id = $1")
        .bind(future)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(lease, now + Duration::seconds(5 + 30 + 30), "lease runs from run_at, not from the claim");
}

/// A claim within a byte budget takes runs in claim order while they fit, says when it stopped
/// short, and takes a run larger than the whole budget only when asked to.
#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_claim_stays_within_its_byte_budget(pool: PgPool) {
    let o = org(&pool, "o", Tier::Pro).await;
    let now = t0();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(enqueue(&pool, o, now - Duration::seconds(10 - i), 100).await);
    }
    sqlx::query("UPDATE executions SET body = repeat('x', 100 * 1024)").execute(&pool).await.unwrap();
    let within = |budget_kib: i64, first_anyway: bool| {
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            let (c, cut) = claim_within(&mut tx, ME, now, now, 10, budget_kib, first_anyway, Duration::seconds(30)).await.unwrap();
            tx.commit().await.unwrap();
            (c.into_iter().map(|c| c.id).collect::<Vec<_>>(), cut)
        }
    };
    // 101 KiB each: two fit in 250 KiB, the third would make 303
    assert_eq!(held_kib(100 * 1024), 101);
    assert_eq!(within(250, false).await, (ids[..2].to_vec(), true));
    assert_eq!(within(100, false).await, (vec![], true), "none fits");
    assert_eq!(within(100, true).await, (vec![ids[2]], true), "one larger than the budget, when asked");
    assert_eq!(within(i64::MAX, false).await, (ids[3..].to_vec(), false));
    assert_eq!(within(100, false).await, (vec![], false), "nothing due is not a budget cut");
    assert_eq!(status_of(&pool, ids[2]).await.0, "running");
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn concurrent_claims_never_share_a_row(pool: PgPool) {
    let o = org(&pool, "o", Tier::Pro).await;
    let now = t0();
    for i in 0..200 {
        enqueue(&pool, o, now - Duration::milliseconds(i), 40).await;
    }
    // Make them retries: retries are not charged to the quota, so neither claim touches the
    // usage counter row (which a first-attempt claim holds until it commits).
    sqlx::query("UPDATE executions SET attempt = 1").execute(&pool).await.unwrap();
    let mut tx_a = pool.begin().await.unwrap();
    let a = claim(&mut tx_a, "a", now, now, 120, Duration::seconds(30)).await.unwrap();
    // while a still holds its row locks, b skips them instead of waiting
    let mut tx_b = pool.begin().await.unwrap();
    let b = claim(&mut tx_b, "b", now, now, 120, Duration::seconds(30)).await.unwrap();
    tx_a.commit().await.unwrap();
    tx_b.commit().await.unwrap();
    assert_eq!(a.len(), 120);
    assert_eq!(b.len(), 80);
    let mut all: Vec<Uuid> = a.iter().chain(b.iter()).map(|c| c.id).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 200);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn over_quota_runs_are_recorded_as_skipped_and_counted(pool: PgPool) {
    let free = org(&pool, "free", Tier::Free).await;
    let now = t0();
    sqlx::query("INSERT INTO usage_counters (org_id, month, executions) VALUES ($1, '2026-05-01', 4998)")
        .bind(free)
        .execute(&pool)
        .await
        .unwrap();
    let ids: Vec<Uuid> = futures_join(&pool, free, now, 4).await;
    sqlx::query("UPDATE executions SET body = repeat('x', 1000)").execute(&pool).await.unwrap();
    let claimed = claim_now(&pool, ME, now, 10).await;
    assert_eq!(claimed.iter().map(|c| c.id).collect::<Vec<_>>(), ids[..2].to_vec(), "two fit in the quota");
    assert!(claimed.iter().all(|c| c.body.is_some()));
    for id in &ids[2..] {
        let (status, reason, body): (String, String, Option<String>) =
            sqlx::query_as("SELECT status, status_reason, body FROM executions WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
        assert_eq!(status, "skipped");
        assert!(reason.contains("Free plan"), "{reason}");
        assert_eq!(body, None, "a run not delivered does not keep its payload");
    }
    let usage: (i64, i64) = sqlx::query_as("SELECT executions, over_quota FROM usage_counters WHERE org_id = $1")
        .bind(free)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(usage, (5000, 2));

    // releasing a never-sent first attempt refunds it
    assert_eq!(release(&pool, ME, &[(claimed[0].id, claimed[0].attempt + 1)], now).await.unwrap(), 0, "another attempt than the one held");
    assert_eq!(release(&pool, ME, &[(claimed[0].id, claimed[0].attempt)], now).await.unwrap(), 1);
    assert_eq!(status_of(&pool, claimed[0].id).await, ("pending".into(), 0, None));
    let used: i64 = sqlx::query_scalar("SELECT executions FROM usage_counters WHERE org_id = $1").bind(free).fetch_one(&pool).await.unwrap();
    assert_eq!(used, 4999);
    assert_eq!(release(&pool, "someone-else", &[(claimed[1].id, claimed[1].attempt)], now).await.unwrap(), 0, "only the holder releases");
}

async fn futures_join(pool: &PgPool, org_id: Uuid, now: DateTime<Utc>, n: i64) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(enqueue(pool, org_id, now - Duration::seconds(10 - i), 40).await);
    }
    ids
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn expired_leases_are_rescued_and_stale_results_are_ignored(pool: PgPool) {
    let o = org(&pool, "o", Tier::Pro).await;
    let now = t0();
    let id = enqueue(&pool, o, now, 40).await;
    let first = claim_now(&pool, "dead-worker", now, 1).await;
    assert_eq!(first.len(), 1);
    assert_eq!(rescue_expired(&pool, now + Duration::seconds(59), 10).await.unwrap(), Rescued::default(), "lease still valid");
    assert_eq!(rescue_expired(&pool, now + Duration::seconds(61), 10).await.unwrap(), Rescued { retried: vec![id], failed: vec![] });
    let later = now + Duration::seconds(62);
    let second = claim_now(&pool, "live-worker", later, 1).await;
    assert_eq!((second[0].attempt, second[0].message_id), (2, first[0].message_id), "same webhook-id");

    // the dead worker wakes up and reports attempt 1: it must not overwrite attempt 2
    let stale = Outcome::Finished(Finished {
        record: record_of(id, 1, later, Some(500)),
        status: ExecutionStatus::Failed,
        reason: None,
    });
    let mut tx = pool.begin().await.unwrap();
    let r = record(&mut tx, "dead-worker", &[stale]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((r.finished, r.stale), (0, 1));
    assert_eq!(status_of(&pool, id).await, ("running".into(), 2, Some("live-worker".into())));
}

/// A run whose delivery kills its worker every time: each lease expires, the rescuer puts it back
/// while attempts are left, and once the last one is lost it is failed (with its alert), never
/// claimed again.
#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_run_that_keeps_killing_its_worker_fails_once_its_attempts_are_used_up(pool: PgPool) {
    let o = org(&pool, "o", Tier::Pro).await;
    let mut now = t0();
    let id = enqueue(&pool, o, now, 40).await; // max_attempts 3
    assert_eq!(attempt_cap(3), 3);
    assert_eq!(attempt_cap(1), 3, "a single-attempt job is tried again after a crash, twice at most");
    assert_eq!(attempt_cap(5), 5);
    for attempt in 1..=3 {
        let claimed = claim_now(&pool, &format!("worker-{attempt}"), now, 10).await;
        assert_eq!(claimed.iter().map(|c| (c.id, c.attempt)).collect::<Vec<_>>(), vec![(id, attempt)]);
        now += Duration::seconds(120); // the worker died: its lease (30 s timeout + 30 s margin) runs out
        let rescued = rescue_expired(&pool, now, 10).await.unwrap();
        if attempt < 3 {
            assert_eq!(rescued, Rescued { retried: vec![id], failed: vec![] }, "attempt {attempt}");
        } else {
            assert_eq!(rescued, Rescued { retried: vec![], failed: vec![id] });
        }
    }
    assert!(claim_now(&pool, "worker-4", now, 10).await.is_empty(), "never a fourth attempt");
    let (status, attempt, error): (String, i16, String) =
        sqlx::query_as("SELECT status, attempt, error FROM executions WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!((status.as_str(), attempt), ("failed", 3));
    assert!(error.contains("worker-3") && error.contains("no attempts left"), "{error}");
    let alerts: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events WHERE execution_id = $1 AND kind = 'job_failed'")
        .bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(alerts, 1, "the final failure raises its alert");
    assert!(rescue_expired(&pool, now + Duration::hours(1), 10).await.unwrap().failed.is_empty());
}

/// A run put back with its attempts used up (not by the rescuer) is failed at claim, not sent.
#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn claim_never_starts_an_attempt_beyond_the_limit(pool: PgPool) {
    let o = org(&pool, "o", Tier::Pro).await;
    let now = t0();
    let id = enqueue(&pool, o, now, 40).await;
    sqlx::query("UPDATE executions SET attempt = 3 WHERE id = $1").bind(id).execute(&pool).await.unwrap();
    assert!(claim_now(&pool, ME, now, 10).await.is_empty());
    let (status, error): (String, String) = sqlx::query_as("SELECT status, error FROM executions WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(status, "failed");
    assert!(error.contains("all 3 attempts are used up"), "{error}");
}

fn record_of(id: Uuid, attempt: i16, at: DateTime<Utc>, status: Option<i16>) -> AttemptRecord {
    AttemptRecord {
        id,
        attempt,
        started_at: Some(at),
        finished_at: at + Duration::milliseconds(25),
        duration_ms: Some(25),
        response_status: status,
        response_headers: Some(vec![("content-type".into(), "text/plain".into())]),
        response_body: Some("nope".into()),
        error: status.filter(|s| *s >= 400).map(|s| format!("HTTP {s}")),
    }
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn retries_keep_each_attempt_and_final_failure_alerts_then_recovery_alerts(pool: PgPool) {
    let o = org(&pool, "o", Tier::Pro).await;
    let now = t0();
    let job_id = job(&pool, o, cron_job("0 * * * *"), None).await;
    let mut tx = pool.begin().await.unwrap();
    let plan = |at: DateTime<Utc>| PlannedRun { job_id, scheduled_for: at, priority: 120, skipped: None };
    assert_eq!(insert_runs(&mut tx, &[plan(now), plan(now + Duration::hours(1))], now).await.unwrap(), 2);
    tx.commit().await.unwrap();

    let c = claim_now(&pool, ME, now, 1).await.remove(0);
    let retry_at = now + Duration::seconds(20);
    let mut tx = pool.begin().await.unwrap();
    let r = record(
        &mut tx,
        ME,
        &[Outcome::Retry { record: record_of(c.id, 1, now, Some(503)), failed_as: ExecutionStatus::Failed, run_at: retry_at }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(r.retried, 1);
    let (status, run_at): (String, DateTime<Utc>) =
        sqlx::query_as("SELECT status, run_at FROM executions WHERE id = $1").bind(c.id).fetch_one(&pool).await.unwrap();
    assert_eq!((status.as_str(), run_at), ("pending", retry_at));
    let kept = executions::attempts(&pool, o, c.id).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].attempt, kept[0].status.as_str(), kept[0].response_status), (1, "failed", Some(503)));

    let c2 = claim_now(&pool, ME, retry_at, 1).await.remove(0);
    assert_eq!(c2.attempt, 2);
    let mut tx = pool.begin().await.unwrap();
    let fail = Outcome::Finished(Finished { record: record_of(c2.id, 2, retry_at, Some(500)), status: ExecutionStatus::Failed, reason: None });
    let r = record(&mut tx, ME, &[fail]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((r.finished, r.alerts), (1, 1));
    let failing: bool = sqlx::query_scalar("SELECT failing FROM jobs WHERE id = $1").bind(job_id).fetch_one(&pool).await.unwrap();
    assert!(failing);

    let next = now + Duration::hours(1);
    let c3 = claim_now(&pool, ME, next, 1).await.remove(0);
    let mut tx = pool.begin().await.unwrap();
    let ok = Outcome::Finished(Finished { record: record_of(c3.id, 1, next, Some(200)), status: ExecutionStatus::Success, reason: None });
    let r = record(&mut tx, ME, &[ok]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((r.finished, r.alerts), (1, 1), "recovered");
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM alert_events ORDER BY created_at, kind").fetch_all(&pool).await.unwrap();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"job_failed".to_owned()) && kinds.contains(&"job_recovered".to_owned()));
    let e = executions::get(&pool, o, c3.id).await.unwrap().unwrap();
    assert_eq!((e.status.as_str(), e.response_status), ("success", Some(200)));
    let lease: (Option<String>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT leased_by, lease_expires_at FROM executions WHERE id = $1").bind(c3.id).fetch_one(&pool).await.unwrap();
    assert_eq!(lease, (None, None), "a finished run holds no lease");
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn materialise_copies_the_request_and_ignores_a_double_tick(pool: PgPool) {
    let o = org(&pool, "o", Tier::Pro).await;
    let now = t0();
    let overlap = serde_json::json!({"name": "j", "url": "https://example.com/hook", "method": "PUT", "body": "{\"a\":1}",
        "headers": {"X-Job": "1"}, "overlap": "skip", "schedule": {"kind": "cron", "expr": "* * * * *"}});
    let job_id = job(&pool, o, overlap, Some(now)).await;
    let due = {
        let mut tx = pool.begin().await.unwrap();
        let due = lock_due_jobs(&mut tx, now, now + Duration::seconds(5), 100).await.unwrap();
        tx.commit().await.unwrap();
        due
    };
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id, due[0].tier, due[0].next_run_at), (job_id, Tier::Pro, now));
    let runs = vec![
        PlannedRun { job_id, scheduled_for: now, priority: 130, skipped: None },
        PlannedRun { job_id, scheduled_for: now - Duration::minutes(1), priority: 130, skipped: Some("missed".into()) },
    ];
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(insert_runs(&mut tx, &runs, now).await.unwrap(), 2);
    assert_eq!(insert_runs(&mut tx, &runs, now).await.unwrap(), 0, "a double tick inserts nothing");
    advance_cursors(&mut tx, &[(job_id, Some(now + Duration::minutes(1)))]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(next_cursor(&pool).await.unwrap(), Some(now + Duration::minutes(1)));

    let c = claim_now(&pool, ME, now, 10).await;
    assert_eq!(c.len(), 1, "the skipped occurrence is not claimable");
    let c = &c[0];
    assert_eq!((c.method.as_str(), c.url.as_str(), c.body.as_deref()), ("PUT", "https://example.com/hook", Some("{\"a\":1}")));
    assert_eq!(c.headers.0, vec![("X-Job".to_owned(), "1".to_owned())]);
    assert_eq!((c.message_id, c.skip_if_running, c.source.as_str()), (MessageId::new(c.id), true, "schedule"));
    let skipped: (String, Option<String>) =
        sqlx::query_as("SELECT status, status_reason FROM executions WHERE scheduled_for = $1").bind(now - Duration::minutes(1)).fetch_one(&pool).await.unwrap();
    assert_eq!(skipped, ("skipped".to_owned(), Some("missed".to_owned())));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn retention_deletes_only_old_finished_history_per_tier(pool: PgPool) {
    let free = org(&pool, "free", Tier::Free).await;
    let pro = org(&pool, "pro", Tier::Pro).await;
    let now = t0();
    for o in [free, pro] {
        for (age_days, status) in [(10, "success"), (10, "pending"), (1, "success")] {
            sqlx::query(
                "INSERT INTO executions (org_id, source, scheduled_for, run_at, status, priority, max_attempts,
                     retry_base_delay_secs, retry_max_delay_secs, message_id, method, url, timeout_secs, created_at)
                 VALUES ($1, 'queue', $2, $2, $3, 40, 1, 10, 10, gen_random_uuid(), 'POST', 'https://x.eu', 30, $2)",
            )
            .bind(o)
            .bind(now - Duration::days(age_days))
            .bind(status)
            .execute(&pool)
            .await
            .unwrap();
        }
    }
    let gone = retention::delete_old_executions(&pool, Tier::Free, now - Duration::days(7), 100).await.unwrap();
    assert_eq!(gone, 1, "only the free org's 10-day-old finished run");
    let gone = retention::delete_old_executions(&pool, Tier::Pro, now - Duration::days(30), 100).await.unwrap();
    assert_eq!(gone, 0);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM executions").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 5);

    // pings: one old and one recent per organization
    for o in [free, pro] {
        let monitor: Uuid = sqlx::query_scalar(
            "INSERT INTO monitors (org_id, name, token, schedule_kind, interval_secs) VALUES ($1, 'm', md5(random()::text), 'interval', 60) RETURNING id",
        )
        .bind(o)
        .fetch_one(&pool)
        .await
        .unwrap();
        for age in [Duration::days(10), Duration::hours(1)] {
            sqlx::query("INSERT INTO pings (monitor_id, kind, received_at, method) VALUES ($1, 'success', $2, 'GET')")
                .bind(monitor)
                .bind(now - age)
                .execute(&pool)
                .await
                .unwrap();
        }
    }
    assert_eq!(retention::delete_old_pings(&pool, Tier::Free, now - Duration::days(7), 10).await.unwrap(), 1, "only the free org's old ping");
    let pings: i64 = sqlx::query_scalar("SELECT count(*) FROM pings").fetch_one(&pool).await.unwrap();
    assert_eq!(pings, 3);

    // bookkeeping: an idempotency key past 24 h and one within; an expired and a live session and token
    for (key, age) in [("old", Duration::hours(25)), ("new", Duration::hours(23))] {
        sqlx::query("INSERT INTO idempotency_keys (org_id, key, request_hash, created_at) VALUES ($1, $2, '\\x00', $3)")
            .bind(free)
            .bind(key)
            .bind(now - age)
            .execute(&pool)
            .await
            .unwrap();
    }
    let user: Uuid = sqlx::query_scalar("INSERT INTO users (email) VALUES ('ada@example.com') RETURNING id").fetch_one(&pool).await.unwrap();
    for (i, expires) in [now - Duration::minutes(1), now + Duration::minutes(1)].into_iter().enumerate() {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_secret, expires_at) VALUES ($1, $2, '\\x00', $3)")
            .bind(vec![i as u8])
            .bind(user)
            .bind(expires)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO email_tokens (token_hash, purpose, email, expires_at) VALUES ($1, 'password_reset', 'ada@example.com', $2)")
            .bind(vec![i as u8])
            .bind(expires)
            .execute(&pool)
            .await
            .unwrap();
    }
    let mut deleted = retention::delete_expired(&pool, retention::Expiring::IdempotencyKeys, now - Duration::hours(24), 10).await.unwrap();
    for what in [retention::Expiring::Sessions, retention::Expiring::EmailTokens] {
        deleted += retention::delete_expired(&pool, what, now, 10).await.unwrap();
    }
    assert_eq!(deleted, 3);
    let kept: (String, i64, i64) = sqlx::query_as(
        "SELECT (SELECT string_agg(key, ',') FROM idempotency_keys), (SELECT count(*) FROM sessions WHERE expires_at > $1),
                (SELECT count(*) FROM email_tokens WHERE expires_at > $1)",
    )
    .bind(now)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(kept, ("new".to_owned(), 1, 1));
}

/// On a dispatcher session the claim's plan must not depend on statistics: taken while the queue
/// was empty, they say "nothing here" when a burst of thousands of runs arrives at once. (Without
/// `QUEUE_SESSION` this plan was a sort of every pending row, then a full index scan to find the
/// picked ids: 60–100 ms per claim at 100,000 rows.)
#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn on_a_queue_session_the_claim_plan_ignores_stale_statistics(pool: PgPool) {
    use sqlx::{ConnectOptions, Connection};
    let org_id = org(&pool, "burst", Tier::Pro).await;
    sqlx::query("ANALYZE executions").execute(&pool).await.unwrap(); // statistics of an empty queue
    sqlx::query(
        "INSERT INTO executions (id, message_id, org_id, source, scheduled_for, run_at, priority, max_attempts,
                                 retry_base_delay_secs, retry_max_delay_secs, method, url, timeout_secs)
         SELECT g, g, $1, 'queue', $2, $2, 40, 1, 1, 1, 'POST', 'https://example.com/q', 30
           FROM (SELECT gen_random_uuid() AS g FROM generate_series(1, 20000)) s",
    )
    .bind(org_id)
    .bind(t0())
    .execute(&pool)
    .await
    .unwrap();

    let options = pool.connect_options().as_ref().clone().options(crate::pool::QUEUE_SESSION.iter().copied());
    let mut conn = options.connect().await.unwrap();
    let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {}", claim::CLAIM_SQL))
        .bind(ME)
        .bind(t0())
        .bind(t0())
        .bind(200_i64)
        .bind(Duration::seconds(30))
        .bind(1_000_000_i64)
        .bind(true)
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("Index Scan using executions_due_idx"), "the pick walks the due index in order:\n{plan}");
    assert!(plan.contains("executions_pkey"), "the picked rows are found by primary key:\n{plan}");
    for bad in ["Seq Scan", "Bitmap", "Hash Join", "Merge Join"] {
        assert!(!plan.contains(bad), "{bad} in the claim plan:\n{plan}");
    }
    // the only sort is the weighing window's, over the picked rows
    for line in plan.lines().filter(|l| l.contains("Sort Key")) {
        assert!(line.contains("Sort Key: locked"), "a sort of more than the picked rows:\n{plan}");
    }
    conn.close().await.unwrap();
}

/// One alert per state change: a job's second failure in a row raises nothing new; a recovery
/// raises one; a failure after it raises one again. Every failed queued call alerts.
#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_job_alerts_when_it_starts_failing_and_when_it_recovers_not_for_every_run(pool: PgPool) {
    let o = org(&pool, "o", Tier::Pro).await;
    let now = t0();
    let job_id = job(&pool, o, cron_job("0 * * * *"), None).await;
    let mut tx = pool.begin().await.unwrap();
    let runs: Vec<PlannedRun> =
        (0..5).map(|h| PlannedRun { job_id, scheduled_for: now + Duration::hours(h), priority: 120, skipped: None }).collect();
    insert_runs(&mut tx, &runs, now).await.unwrap();
    tx.commit().await.unwrap();
    let mut kinds = Vec::new();
    for (h, status) in [ExecutionStatus::Failed, ExecutionStatus::Timeout, ExecutionStatus::Success, ExecutionStatus::Success, ExecutionStatus::Failed]
        .into_iter()
        .enumerate()
    {
        let at = now + Duration::hours(h as i64);
        let c = claim_now(&pool, ME, at, 1).await.remove(0);
        let code = if status == ExecutionStatus::Success { 200 } else { 500 };
        let mut tx = pool.begin().await.unwrap();
        let r = record(&mut tx, ME, &[Outcome::Finished(Finished { record: record_of(c.id, 1, at, Some(code)), status, reason: None })]).await.unwrap();
        tx.commit().await.unwrap();
        kinds.push(r.alerts);
    }
    assert_eq!(kinds, vec![1, 0, 1, 0, 1], "failing, still failing, recovered, fine, failing again");
    let q = enqueue(&pool, o, now, 40).await;
    let q2 = enqueue(&pool, o, now, 40).await;
    let claimed = claim_now(&pool, ME, now, 10).await;
    let fails: Vec<Outcome> = claimed
        .iter()
        .map(|c| Outcome::Finished(Finished { record: record_of(c.id, 1, now, Some(500)), status: ExecutionStatus::Failed, reason: None }))
        .collect();
    assert_eq!(claimed.iter().map(|c| c.id).collect::<std::collections::BTreeSet<_>>(), [q, q2].into_iter().collect());
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(record(&mut tx, ME, &fails).await.unwrap().alerts, 2, "each failed queued call alerts");
    tx.commit().await.unwrap();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn completion_windows_wait_for_the_ping_and_fail_when_it_does_not_come(pool: PgPool) {
    use crate::completion::{complete, fail_missed};
    use domain::execution::CompletionPing;
    let o = org(&pool, "o", Tier::Pro).await;
    let now = t0();
    let mut with_window = cron_job("0 * * * *");
    with_window["completion_window_secs"] = serde_json::json!(30);
    let job_id = job(&pool, o, with_window, None).await;
    let plain = job(&pool, o, cron_job("0 * * * *"), None).await;
    let mut tx = pool.begin().await.unwrap();
    let mut runs: Vec<PlannedRun> =
        (0..4).map(|h| PlannedRun { job_id, scheduled_for: now + Duration::hours(h), priority: 120, skipped: None }).collect();
    runs.push(PlannedRun { job_id: plain, scheduled_for: now + Duration::hours(5), priority: 120, skipped: None });
    insert_runs(&mut tx, &runs, now).await.unwrap();
    tx.commit().await.unwrap();
    let alerts = |kind: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM alert_events WHERE kind = $1").bind(kind).fetch_one(&pool).await.unwrap()
        }
    };
    // claims run `hour`, answers it 200 at its time, and returns it with its completion token
    let answer = |hour: i64| {
        let pool = pool.clone();
        async move {
            let at = now + Duration::hours(hour);
            let c = claim_now(&pool, ME, at, 1).await.remove(0);
            let mut tx = pool.begin().await.unwrap();
            let ok = Finished { record: record_of(c.id, 1, at, Some(200)), status: ExecutionStatus::Success, reason: None };
            record(&mut tx, ME, &[Outcome::Finished(ok)]).await.unwrap();
            tx.commit().await.unwrap();
            (c.id, c.completion_token, at)
        }
    };
    let ping = |token: String, at: DateTime<Utc>| {
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            let done = complete(&mut tx, &token, at).await.unwrap().expect("a known token");
            tx.commit().await.unwrap();
            done.outcome
        }
    };

    // 1. answered, then pinged within the window: waiting, then success
    let (first, token, at) = answer(0).await;
    let token = token.expect("a run of a job with a window has a completion token");
    assert!(token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    assert_eq!(status_of(&pool, first).await.0, "waiting", "a 2xx is not enough");
    let deadline: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT completion_deadline FROM executions WHERE id = $1").bind(first).fetch_one(&pool).await.unwrap();
    assert_eq!(deadline, Some(at + Duration::seconds(30)), "the window counts from when the call was sent");
    assert_eq!(ping(token.clone(), at + Duration::seconds(10)).await, CompletionPing::OnTime);
    assert_eq!(status_of(&pool, first).await.0, "success");
    assert_eq!(ping(token, at + Duration::seconds(11)).await, CompletionPing::Recorded, "a second ping changes nothing");

    // 2. never pinged: the chore fails it once the window has passed, and the job alerts
    let (second, token, at) = answer(1).await;
    assert!(fail_missed(&pool, at + Duration::seconds(30), None, 10).await.unwrap().is_empty(), "the last second is still in");
    assert_eq!(fail_missed(&pool, at + Duration::seconds(31), None, 10).await.unwrap(), vec![second]);
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, error FROM executions WHERE id = $1").bind(second).fetch_one(&pool).await.unwrap();
    assert_eq!(status, "failed");
    assert!(error.unwrap().contains("did not call its completion URL within the 30 s window"));
    assert_eq!(alerts("completion_missed").await, 1);
    assert_eq!(ping(token.unwrap(), at + Duration::seconds(40)).await, CompletionPing::Recorded, "too late, and already failed");
    assert_eq!(status_of(&pool, second).await.0, "failed");

    // 3. pinged late, before the chore saw it: it fails there and then; the job was failing
    // already, so no second alert
    let (third, token, at) = answer(2).await;
    assert_eq!(ping(token.unwrap(), at + Duration::seconds(45)).await, CompletionPing::Late);
    let (status, completed_at): (String, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT status, completed_at FROM executions WHERE id = $1").bind(third).fetch_one(&pool).await.unwrap();
    assert_eq!((status.as_str(), completed_at), ("failed", Some(at + Duration::seconds(45))));
    assert_eq!(alerts("completion_missed").await, 1);

    // 4. pinged while its call was still running: it succeeds as soon as the call does, and
    // the job recovers
    let at = now + Duration::hours(3);
    let c = claim_now(&pool, ME, at, 1).await.remove(0);
    assert_eq!(ping(c.completion_token.clone().unwrap(), at).await, CompletionPing::Early);
    let mut tx = pool.begin().await.unwrap();
    let ok = Finished { record: record_of(c.id, 1, at, Some(200)), status: ExecutionStatus::Success, reason: None };
    record(&mut tx, ME, &[Outcome::Finished(ok)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(status_of(&pool, c.id).await.0, "success");
    assert_eq!(alerts("job_recovered").await, 1);

    // a job without a window: no token, and a 2xx is a success
    let (plain_run, token, _) = answer(5).await;
    assert_eq!((token, status_of(&pool, plain_run).await.0.as_str()), (None, "success"));
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(complete(&mut tx, "0123456789abcdef0123456789abcdef", now).await.unwrap(), None, "an unknown token");
}
