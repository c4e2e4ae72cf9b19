//! On-demand calls: now or later, defaults, validation, Idempotency-Key.

mod support;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::Api;

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_call_is_enqueued_now_with_one_time_retries(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let before = Utc::now();
    let r = api.post("/api/v1/queue", &org.api_key, json!({"url": "https://example.com/in", "body": "{\"x\":1}", "headers": {"X-A": "b"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    let e = &r.json;
    assert_eq!((e["source"].as_str(), e["job_id"].clone(), e["max_attempts"].as_i64()), (Some("queue"), json!(null), Some(5)));
    assert_eq!(e["request"]["method"], "POST");
    let at: DateTime<Utc> = e["scheduled_for"].as_str().unwrap().parse().unwrap();
    assert!(at >= before && at <= Utc::now());
    let priority: i16 = sqlx::query_scalar("SELECT priority FROM executions").fetch_one(&pool).await.unwrap();
    assert_eq!(priority, 40, "the band of a Free one-off call");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn delays_and_their_limits(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let r = api.post("/api/v1/queue", &org.api_key, json!({"url": "https://example.com", "method": "get", "delay_secs": 3600})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    assert_eq!(r.json["request"]["method"], "GET", "methods are case-insensitive on input");
    let at: DateTime<Utc> = r.json["scheduled_for"].as_str().unwrap().parse().unwrap();
    assert!((at - Utc::now()).num_seconds() > 3500);
    let r = api.post("/api/v1/queue", &org.api_key, json!({"url": "https://example.com", "delay_secs": 1, "deliver_at": "2030-01-01T00:00:00Z"})).await;
    assert_eq!(r.field_errors()[0].1, "delay_conflict");
    let r = api.post("/api/v1/queue", &org.api_key, json!({"url": "ftp://example.com", "method": "GET", "body": "x", "retry": {"max_attempts": 11}})).await;
    let errors = r.field_errors();
    for f in ["url", "body", "retry.max_attempts"] {
        assert!(errors.iter().any(|(field, _)| field == f), "{f} missing in {errors:?}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM executions").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn idempotency_key_enqueues_once(pool: PgPool) {
    let api = std::sync::Arc::new(Api::new(pool.clone()));
    let org = api.org("acme", Tier::Pro).await;
    let body = json!({"url": "https://example.com/charge", "body": "{\"amount\":10}"});
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (api, key, body) = (api.clone(), org.api_key.clone(), body.clone());
        tasks.push(tokio::spawn(async move { api.call_with(Method::POST, "/api/v1/queue", &key, Some(body), &[("idempotency-key", "charge-42")]).await }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
        ids.push(r.id());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "concurrent retries get the same execution");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM executions").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 1);
    let other = api.call_with(Method::POST, "/api/v1/queue", &org.api_key, Some(json!({"url": "https://example.com/other"})), &[("idempotency-key", "charge-42")]).await;
    assert_eq!(other.problem(), "idempotency-key-reused");
    let bad = api.call_with(Method::POST, "/api/v1/queue", &org.api_key, Some(body), &[("idempotency-key", "  ")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// A Free organization cannot park more than its plan's waiting runs in the queue (it used to
/// store as many 30-day-delayed calls as it liked, since the quota was charged only when a run
/// was sent); a cancelled or delivered run frees its place.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn waiting_runs_are_capped_per_plan(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let cap = Tier::Free.limits().max_pending_runs;
    let later = json!({"url": "https://example.com/later", "delay_secs": 2_000_000, "body": "{}"});
    for i in 0..cap {
        let r = api.post("/api/v1/queue", &org.api_key, later.clone()).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "call {i}: {r:?}");
    }
    let r = api.post("/api/v1/queue", &org.api_key, later.clone()).await;
    assert_eq!((r.status, r.problem()), (StatusCode::TOO_MANY_REQUESTS, "pending-limit"), "{r:?}");
    assert!(r.json["detail"].as_str().unwrap().contains("1000 runs waiting"), "{r:?}");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'pending'").fetch_one(&pool).await.unwrap();
    assert_eq!(pending, i64::from(cap), "the refused call changed nothing");
    // one of them is cancelled: its place is free again
    sqlx::query("UPDATE executions SET status = 'cancelled', finished_at = now() WHERE id = (SELECT id FROM executions LIMIT 1)").execute(&pool).await.unwrap();
    assert_eq!(api.post("/api/v1/queue", &org.api_key, later).await.status, StatusCode::ACCEPTED);
}

/// Waiting runs reserve their share of the monthly quota: with one execution left this month,
/// a second call is refused while the first still waits, instead of both being accepted and one
/// skipped as over quota when it comes due.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn waiting_runs_reserve_the_monthly_quota(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let limit = i64::from(Tier::Free.limits().monthly_executions);
    sqlx::query("INSERT INTO usage_counters (org_id, month, executions) VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, $2)")
        .bind(org.org_id)
        .bind(limit - 1)
        .execute(&pool)
        .await
        .unwrap();
    let later = json!({"url": "https://example.com/later", "delay_secs": 3600});
    assert_eq!(api.post("/api/v1/queue", &org.api_key, later.clone()).await.status, StatusCode::ACCEPTED);
    let r = api.post("/api/v1/queue", &org.api_key, later).await;
    assert_eq!((r.status, r.problem()), (StatusCode::FORBIDDEN, "quota-exceeded"), "{r:?}");
}

/// Calls racing for the last places under the cap do not pass it together: each counts the
/// waiting runs under its organization's enqueue lock (before, each could count 999, and all
/// were accepted).
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn racing_calls_do_not_pass_the_waiting_cap(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let cap = i64::from(Tier::Free.limits().max_pending_runs);
    let later = json!({"url": "https://example.com/later", "delay_secs": 2_000_000});
    for i in 0..cap - 3 {
        let r = api.post("/api/v1/queue", &org.api_key, later.clone()).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "call {i}: {r:?}");
    }
    let racing = futures::future::join_all((0..16).map(|_| api.post("/api/v1/queue", &org.api_key, later.clone()))).await;
    let accepted = racing.iter().filter(|r| r.status == StatusCode::ACCEPTED).count();
    assert!(racing.iter().all(|r| r.status == StatusCode::ACCEPTED || r.problem() == "pending-limit"), "{racing:?}");
    assert_eq!(accepted, 3, "exactly the places left");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'pending'").fetch_one(&pool).await.unwrap();
    assert_eq!(pending, cap);
}

/// A bulk redelivery counts every run it would add against the cap, not one: refused whole when
/// they do not all fit, and nothing is enqueued.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_bulk_redelivery_that_would_pass_the_waiting_cap_is_refused_whole(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let cap = i64::from(Tier::Free.limits().max_pending_runs);
    let id = api.job(&org.api_key, support::hourly("flaky")).await;
    for _ in 0..5 {
        let r = api.call(Method::POST, &format!("/api/v1/jobs/{id}/trigger"), &org.api_key, None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    }
    sqlx::query("UPDATE executions SET status = 'failed', finished_at = now(), attempt = 1").execute(&pool).await.unwrap();
    let later = json!({"url": "https://example.com/later", "delay_secs": 2_000_000});
    for _ in 0..cap - 2 {
        assert_eq!(api.post("/api/v1/queue", &org.api_key, later.clone()).await.status, StatusCode::ACCEPTED);
    }
    let from = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let r = api.post(&format!("/api/v1/jobs/{id}/executions/redeliver-failed"), &org.api_key, json!({"from": from})).await;
    assert_eq!((r.status, r.problem()), (StatusCode::TOO_MANY_REQUESTS, "pending-limit"), "{r:?}");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'pending'").fetch_one(&pool).await.unwrap();
    assert_eq!(pending, cap - 2, "nothing enqueued");
    // with room for all five, they go
    sqlx::query("UPDATE executions SET status = 'cancelled', finished_at = now() WHERE id IN (SELECT id FROM executions WHERE status = 'pending' LIMIT 3)").execute(&pool).await.unwrap();
    let r = api.post(&format!("/api/v1/jobs/{id}/executions/redeliver-failed"), &org.api_key, json!({"from": from})).await;
    assert_eq!((r.status, r.json["count"].as_i64()), (StatusCode::ACCEPTED, Some(5)), "{r:?}");
}
