//! Trigger now, execution history, single and bulk redelivery, the monthly quota.

mod support;

use axum::http::{Method, StatusCode};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::{Api, finish, hourly};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn trigger_enqueues_the_jobs_request_and_wakes_the_dispatcher(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let mut body = hourly("a");
    body["headers"] = json!([{"name": "X-Trace", "value": "1"}]);
    body["body"] = json!("{\"hello\":1}");
    body["retry"] = json!({"max_attempts": 4, "base_delay_secs": 2, "max_delay_secs": 20});
    let id = api.job(&org.api_key, body).await;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await.unwrap();
    listener.listen("prikke_due").await.unwrap();

    let r = api.call(Method::POST, &format!("/api/v1/jobs/{id}/trigger"), &org.api_key, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    let e = &r.json;
    assert_eq!((e["source"].as_str(), e["status"].as_str(), e["job_id"].as_str()), (Some("manual"), Some("pending"), Some(id.as_str())));
    assert_eq!(e["request"], json!({"method": "POST", "url": "https://example.com/hook", "headers": [{"name": "X-Trace", "value": "1"}], "body": "{\"hello\":1}", "timeout_secs": 30}));
    assert_eq!(e["max_attempts"], 4);
    let exec_id = e["id"].as_str().unwrap();
    assert_eq!(e["message_id"], format!("msg_{}", exec_id.replace('-', "")));
    assert_eq!(listener.recv().await.unwrap().channel(), "prikke_due");
    let (priority, base): (i16, i32) = sqlx::query_as("SELECT priority, retry_base_delay_secs FROM executions WHERE id = $1::uuid").bind(exec_id).fetch_one(&pool).await.unwrap();
    assert_eq!((priority, base), (140, 2), "a manual run is a Pro one-off, whatever the job's cadence");

    let list = api.get(&format!("/api/v1/jobs/{id}/executions"), &org.api_key).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json["data"][0]["id"], exec_id);
    let one = api.get(&format!("/api/v1/executions/{exec_id}"), &org.api_key).await;
    assert_eq!((one.status, one.json["attempts"].clone()), (StatusCode::OK, json!([])));
    assert_eq!(one.json["id"], exec_id);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn execution_detail_shows_response_and_attempts(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let id = api.job(&org.api_key, hourly("a")).await;
    let exec = api.call(Method::POST, &format!("/api/v1/jobs/{id}/trigger"), &org.api_key, None).await.id();
    finish(&pool, &exec, "failed").await;
    sqlx::query("INSERT INTO execution_attempts (execution_id, attempt, status, started_at, finished_at, duration_ms, response_status, error) VALUES ($1::uuid, 1, 'failed', now(), now(), 12, 500, 'boom')")
        .bind(&exec)
        .execute(&pool)
        .await
        .unwrap();
    let r = api.get(&format!("/api/v1/executions/{exec}"), &org.api_key).await;
    assert_eq!(r.json["status"], "failed");
    assert_eq!(r.json["response"]["status"], 500);
    assert_eq!(r.json["attempts"][0]["duration_ms"], 12);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn redelivery_reuses_the_message_and_waits_for_the_end(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let id = api.job(&org.api_key, hourly("a")).await;
    let first = api.call(Method::POST, &format!("/api/v1/jobs/{id}/trigger"), &org.api_key, None).await;
    let exec = first.id();
    let r = api.call(Method::POST, &format!("/api/v1/executions/{exec}/redeliver"), &org.api_key, None).await;
    assert_eq!((r.status, r.problem()), (StatusCode::CONFLICT, "conflict"), "still pending");
    finish(&pool, &exec, "failed").await;
    let r = api.call(Method::POST, &format!("/api/v1/executions/{exec}/redeliver"), &org.api_key, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    assert_eq!((r.json["source"].as_str(), r.json["redelivery_of"].as_str()), (Some("redelivery"), Some(exec.as_str())));
    assert_eq!(r.json["message_id"], first.json["message_id"], "the same Standard Webhooks message");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn bulk_redelivery_of_a_time_range(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let id = api.job(&org.api_key, hourly("a")).await;
    let mut ids = Vec::new();
    for status in ["failed", "success", "timeout"] {
        let e = api.call(Method::POST, &format!("/api/v1/jobs/{id}/trigger"), &org.api_key, None).await.id();
        finish(&pool, &e, status).await;
        ids.push(e);
    }
    let path = format!("/api/v1/jobs/{id}/executions/redeliver-failed");
    let from = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let r = api.post(&path, &org.api_key, json!({"from": from})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    assert_eq!(r.json["count"], 2);
    let of: Vec<&str> = r.json["executions"].as_array().unwrap().iter().map(|e| e["redelivery_of"].as_str().unwrap()).collect();
    assert_eq!(of, vec![ids[0].as_str(), ids[2].as_str()]);
    let again = api.post(&path, &org.api_key, json!({"from": from})).await;
    assert_eq!(again.json["count"], 0, "nothing is redelivered twice");
    let r = api.post(&path, &org.api_key, json!({"from": "2030-01-01T00:00:00Z", "to": "2029-01-01T00:00:00Z"})).await;
    assert_eq!(r.field_errors(), vec![("from".to_owned(), "range_empty".to_owned())]);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_used_up_quota_refuses_new_runs(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let id = api.job(&org.api_key, hourly("a")).await;
    // this month and the next: the quota still holds if the month turns while the test runs
    sqlx::query(
        "INSERT INTO usage_counters (org_id, month, executions)
         SELECT $1, (date_trunc('month', now() AT TIME ZONE 'UTC') + m * interval '1 month')::date, 5000 FROM generate_series(0, 1) m",
    )
    .bind(org.org_id)
    .execute(&pool)
    .await
    .unwrap();
    let r = api.call(Method::POST, &format!("/api/v1/jobs/{id}/trigger"), &org.api_key, None).await;
    assert_eq!((r.status, r.problem()), (StatusCode::FORBIDDEN, "quota-exceeded"));
    assert!(r.json["detail"].as_str().unwrap().contains("5000 executions of the Free plan"), "{r:?}");
    let r = api.post("/api/v1/queue", &org.api_key, json!({"url": "https://example.com"})).await;
    assert_eq!(r.problem(), "quota-exceeded");
    let usage = api.get("/api/v1/usage", &org.api_key).await;
    assert_eq!(usage.json["executions"], json!({"used": 5000, "limit": 5000, "remaining": 0, "over_quota": 0}));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM executions").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
}
