//! Schedule preview, usage, signing-secret rotation, the OpenAPI document and health.

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use domain::signing::SigningSecret;
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::{Api, hourly};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn preview_lists_runs_and_says_whether_the_plan_allows_them(pool: PgPool) {
    let api = Api::new(pool);
    let org = api.org("acme", Tier::Free).await;
    let r = api.post("/api/v1/schedule/preview", &org.api_key, json!({"schedule": {"kind": "cron", "expr": "30 9 * * 1-5", "timezone": "Europe/Oslo"}, "count": 3, "from": "2026-03-27T00:00:00Z"})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.json["runs"], json!(["2026-03-27T08:30:00Z", "2026-03-30T07:30:00Z", "2026-03-31T07:30:00Z"]), "across the DST change");
    assert_eq!(r.json["description"], "at 09:30 on Monday through Friday (Europe/Oslo)");
    assert_eq!((r.json["allowed_on_plan"].as_bool(), r.json["interval_minutes"].as_i64()), (Some(true), Some(1440)));
    let r = api.post("/api/v1/schedule/preview", &org.api_key, json!({"schedule": {"kind": "cron", "expr": "* * * * *"}})).await;
    assert_eq!((r.json["allowed_on_plan"].as_bool(), r.json["runs"].as_array().unwrap().len()), (Some(false), 5));
    let r = api.post("/api/v1/schedule/preview", &org.api_key, json!({"schedule": {"kind": "cron", "expr": "61 * * * *", "timezone": "UTC"}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_errors()[0].0, "schedule.expr");
    let r = api.post("/api/v1/schedule/preview", &org.api_key, json!({"schedule": {"kind": "cron", "expr": "@daily", "timezone": "Mars/Base"}})).await;
    assert_eq!(r.field_errors()[0], ("schedule.timezone".to_owned(), "schedule_timezone".to_owned()));
    let r = api.post("/api/v1/schedule/preview", &org.api_key, json!({"schedule": {"kind": "cron", "expr": "@daily"}, "count": 0})).await;
    assert_eq!(r.field_errors()[0].0, "count");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn usage_shows_quota_jobs_and_limits(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    api.job(&org.api_key, hourly("a")).await;
    // this month and the next: the figures still hold if the month turns while the test runs
    sqlx::query(
        "INSERT INTO usage_counters (org_id, month, executions, over_quota)
         SELECT $1, (date_trunc('month', now() AT TIME ZONE 'UTC') + m * interval '1 month')::date, 1200, 3 FROM generate_series(0, 1) m",
    )
    .bind(org.org_id)
    .execute(&pool)
    .await
    .unwrap();
    let r = api.get("/api/v1/usage", &org.api_key).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["plan"], "free");
    assert_eq!(r.json["executions"], json!({"used": 1200, "limit": 5000, "remaining": 3800, "over_quota": 3}));
    assert_eq!(r.json["jobs"], json!({"count": 1, "limit": 5}));
    assert_eq!(r.json["limits"]["min_interval_minutes"], 60);
    let start = r.json["period"]["start"].as_str().unwrap();
    assert!(start.ends_with("-01T00:00:00Z"), "{start}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn rotation_returns_a_new_secret_once_and_keeps_the_old_one_signing(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let r = api.call(Method::POST, "/api/v1/signing-secrets/rotate?overlap_secs=3600", &org.api_key, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let secret = r.json["secret"].as_str().unwrap();
    assert!(secret.parse::<SigningSecret>().is_ok());
    assert_ne!(secret, org.signing_secret);
    let key = store::keyring::Keyring::development().org_key(&pool, org.org_id).await.unwrap();
    let active = store::signing_secrets::active(&pool, org.org_id, &key, chrono::Utc::now()).await.unwrap();
    assert_eq!(active, vec![secret.to_owned(), org.signing_secret.clone()], "both sign during the overlap");
    let later = chrono::Utc::now() + chrono::TimeDelta::seconds(3601);
    assert_eq!(store::signing_secrets::active(&pool, org.org_id, &key, later).await.unwrap(), vec![secret.to_owned()]);
    let list = api.get("/api/v1/signing-secrets", &org.api_key).await;
    assert_eq!(list.json["data"].as_array().unwrap().len(), 2);
    assert!(!list.text.contains("whsec_"), "values are never listed");
    let r = api.call(Method::POST, "/api/v1/signing-secrets/rotate?overlap_secs=9999999", &org.api_key, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn openapi_and_health_are_public(pool: PgPool) {
    let api = Api::new(pool);
    let r = api.send(Request::get("/api/v1/openapi.json").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["openapi"], "3.1.0");
    for path in ["/api/v1/jobs", "/api/v1/sync", "/api/v1/queue", "/api/v1/monitors/{id}", "/ping/{token}/fail", "/api/v1/schedule/preview", "/api/v1/usage"] {
        assert!(r.json["paths"][path].is_object(), "{path} undocumented");
    }
    let r = api.send(Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!((r.status, r.json["up"].as_bool(), r.json["deps"]["postgres"].as_bool()), (StatusCode::OK, Some(true), Some(true)));
}
