//! The tenant-isolation matrix: for every endpoint that takes an id, another organization's key
//! gets 404 and nothing changes; lists and sync never reach another tenant's rows.

mod support;

use axum::http::{Method, StatusCode};
use domain::tier::Tier;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{Api, finish, hourly};

/// A fingerprint of every tenant table's rows.
async fn snapshot(pool: &PgPool) -> Vec<String> {
    let mut out = Vec::new();
    for table in [
        "jobs",
        "executions",
        "monitors",
        "pings",
        "alert_events",
        "idempotency_keys",
        "signing_secrets",
        "usage_counters",
        "notification_channels",
        "notification_deliveries",
        // (a key's last use is refreshed by the intruder's own requests: not part of the print)
        "(SELECT id, org_id, public_id, name, revoked_at, rotated_from FROM api_keys) AS",
        "audit_log",
    ] {
        let q = format!("SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t");
        let digest: String = sqlx::query_scalar(&q).fetch_one(pool).await.unwrap();
        out.push(format!("{table}:{digest}"));
    }
    out
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn another_organizations_ids_are_not_found_and_untouched(pool: PgPool) {
    let api = Api::new(pool.clone());
    let owner = api.org("owner", Tier::Pro).await;
    let intruder = api.org("intruder", Tier::Pro).await;
    let job = api.job(&owner.api_key, hourly("private")).await;
    let exec = api.call(Method::POST, &format!("/api/v1/jobs/{job}/trigger"), &owner.api_key, None).await.id();
    finish(&pool, &exec, "failed").await;
    let monitor = api.post("/api/v1/monitors", &owner.api_key, json!({"name": "m", "schedule": {"kind": "interval", "interval_secs": 600}})).await.id();
    let channel = api.post("/api/v1/notification-channels", &owner.api_key, json!({"name": "private", "kind": "email", "target": "ops@example.com"})).await.id();

    let key = api.post("/api/v1/api-keys", &owner.api_key, json!({"name": "private"})).await.id();

    let patch_job = json!({"name": "stolen"});
    let range = json!({"from": "2000-01-01T00:00:00Z"});
    let patch_monitor = json!({"paused": true});
    let matrix: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/v1/jobs/{job}"), None),
        (Method::PATCH, format!("/api/v1/jobs/{job}"), Some(patch_job)),
        (Method::DELETE, format!("/api/v1/jobs/{job}"), None),
        (Method::POST, format!("/api/v1/jobs/{job}/enable"), None),
        (Method::POST, format!("/api/v1/jobs/{job}/disable"), None),
        (Method::POST, format!("/api/v1/jobs/{job}/trigger"), None),
        (Method::GET, format!("/api/v1/jobs/{job}/executions"), None),
        (Method::POST, format!("/api/v1/jobs/{job}/executions/redeliver-failed"), Some(range)),
        (Method::GET, format!("/api/v1/executions/{exec}"), None),
        (Method::POST, format!("/api/v1/executions/{exec}/redeliver"), None),
        (Method::GET, format!("/api/v1/monitors/{monitor}"), None),
        (Method::PATCH, format!("/api/v1/monitors/{monitor}"), Some(patch_monitor)),
        (Method::DELETE, format!("/api/v1/monitors/{monitor}"), None),
        (Method::GET, format!("/api/v1/notification-channels/{channel}"), None),
        (Method::PATCH, format!("/api/v1/notification-channels/{channel}"), Some(json!({"enabled": false}))),
        (Method::DELETE, format!("/api/v1/notification-channels/{channel}"), None),
        (Method::POST, format!("/api/v1/notification-channels/{channel}/test"), None),
        (Method::GET, format!("/api/v1/api-keys/{key}"), None),
        (Method::DELETE, format!("/api/v1/api-keys/{key}"), None),
        (Method::POST, format!("/api/v1/api-keys/{key}/rotate"), None),
    ];
    let before = snapshot(&pool).await;
    for (method, path, body) in &matrix {
        let r = api.call(method.clone(), path, &intruder.api_key, body.clone()).await;
        assert_eq!((r.status, r.problem()), (StatusCode::NOT_FOUND, "not-found"), "{method} {path}: {r:?}");
        assert!(!r.text.contains("private"), "{method} {path} leaked data");
        assert_eq!(snapshot(&pool).await, before, "{method} {path} changed something");
    }
    // the owner still reaches every one of them
    for (method, path, _) in matrix.iter().filter(|(m, _, _)| *m == Method::GET) {
        assert_eq!(api.call(method.clone(), path, &owner.api_key, None).await.status, StatusCode::OK, "{path}");
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn lists_and_sync_stay_inside_the_organization(pool: PgPool) {
    let api = Api::new(pool.clone());
    let owner = api.org("owner", Tier::Pro).await;
    let intruder = api.org("intruder", Tier::Pro).await;
    let mut keyed = hourly("owned");
    keyed["key"] = json!("shared-key");
    api.job(&owner.api_key, keyed.clone()).await;
    api.post("/api/v1/monitors", &owner.api_key, json!({"name": "m", "schedule": {"kind": "interval", "interval_secs": 600}})).await;
    api.post("/api/v1/api-keys", &owner.api_key, json!({"name": "owned"})).await;
    for path in ["/api/v1/jobs", "/api/v1/monitors", "/api/v1/audit-log"] {
        let r = api.get(path, &intruder.api_key).await;
        assert_eq!(r.json["data"], json!([]), "{path}");
    }
    let usage = api.get("/api/v1/usage", &intruder.api_key).await;
    assert_eq!(usage.json["jobs"]["count"], 0);
    let before = snapshot(&pool).await;
    let r = api.call(Method::PUT, "/api/v1/sync", &intruder.api_key, Some(json!({"jobs": []}))).await;
    assert_eq!((r.status, r.json["deleted"].clone()), (StatusCode::OK, json!([])));
    assert_eq!(snapshot(&pool).await, before);
    let r = api.call(Method::PUT, "/api/v1/sync", &intruder.api_key, Some(json!({"jobs": [keyed]}))).await;
    assert_eq!(r.json["created"][0]["key"], "shared-key", "the same key is a different job in another organization");
    let owners: i64 = sqlx::query_scalar("SELECT count(DISTINCT org_id) FROM jobs WHERE key = 'shared-key'").fetch_one(&pool).await.unwrap();
    assert_eq!(owners, 2);
}
