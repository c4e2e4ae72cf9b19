//! API keys through the API: create (the token shown once), list (never a secret), revoke (the
//! next request with it gets 401), rotate (the old key works through the overlap), the limit,
//! another organization's keys, and the audit log that records each change.

mod support;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::Api;

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn keys_are_created_used_revoked_and_rotated(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let admin = &org.api_key;

    let made = api.post("/api/v1/api-keys", admin, json!({"name": "  CI  "})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let ci = made.json["token"].as_str().unwrap().to_owned();
    let ci_id = made.id();
    assert_eq!(made.headers["location"], format!("/api/v1/api-keys/{ci_id}"));
    assert_eq!((made.json["name"].as_str(), made.json["active"].as_bool()), (Some("CI"), Some(true)));
    assert!(ci.starts_with(made.json["prefix"].as_str().unwrap()), "the prefix is the token's public half");
    assert_eq!(api.get("/api/v1/jobs", &ci).await.status, StatusCode::OK, "the new key works at once");

    let listed = api.get("/api/v1/api-keys", admin).await;
    assert_eq!(listed.json["data"].as_array().unwrap().len(), 2);
    assert_eq!(listed.json["data"][0]["id"], ci_id.as_str(), "newest first");
    assert!(!listed.text.contains("sk_live_"), "no secret is ever listed: {}", listed.text);
    assert!(api.get(&format!("/api/v1/api-keys/{ci_id}"), admin).await.json["last_used_at"].is_string(), "its use was recorded");

    // bad input changes nothing
    let r = api.post("/api/v1/api-keys", admin, json!({"name": " "})).await;
    assert_eq!(r.field_errors(), vec![("name".into(), "name_invalid".into())], "{r:?}");
    assert_eq!(api.post("/api/v1/api-keys", admin, json!({"name": "x", "scope": "all"})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = api.call(Method::POST, &format!("/api/v1/api-keys/{ci_id}/rotate?overlap_secs=604801"), admin, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{r:?}");
    assert_eq!(api.get("/api/v1/api-keys", admin).await.json["data"].as_array().unwrap().len(), 2);

    // revoked: its next request is refused
    assert_eq!(api.call(Method::DELETE, &format!("/api/v1/api-keys/{ci_id}"), admin, None).await.status, StatusCode::NO_CONTENT);
    let refused = api.get("/api/v1/jobs", &ci).await;
    assert_eq!((refused.status, refused.problem()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let gone = api.get(&format!("/api/v1/api-keys/{ci_id}"), admin).await;
    assert_eq!((gone.json["active"].as_bool(), gone.json["revoked_at"].is_string()), (Some(false), true));
    assert_eq!(api.call(Method::DELETE, &format!("/api/v1/api-keys/{ci_id}"), admin, None).await.status, StatusCode::NOT_FOUND, "already revoked");

    // rotated with an hour's overlap: both work; rotated again with none: the old one stops
    let first_id = org.api_key_id.to_string();
    let before = Utc::now();
    let r = api.call(Method::POST, &format!("/api/v1/api-keys/{first_id}/rotate?overlap_secs=3600"), admin, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let second = r.json["token"].as_str().unwrap().to_owned();
    assert_eq!((r.json["rotated_from"].as_str(), r.json["name"].as_str()), (Some(first_id.as_str()), Some("test")), "the same name");
    let expires: DateTime<Utc> = r.json["previous_expires_at"].as_str().unwrap().parse().unwrap();
    assert!((expires - before - chrono::TimeDelta::hours(1)).num_seconds().abs() <= 5, "{expires}");
    assert_eq!(api.get("/api/v1/jobs", admin).await.status, StatusCode::OK, "the old key works through the overlap");
    assert_eq!(api.get("/api/v1/jobs", &second).await.status, StatusCode::OK);
    let second_id = r.id();
    let r = api.call(Method::POST, &format!("/api/v1/api-keys/{second_id}/rotate?overlap_secs=0"), &second, None).await;
    let third = r.json["token"].as_str().unwrap().to_owned();
    assert_eq!(api.get("/api/v1/jobs", &second).await.status, StatusCode::UNAUTHORIZED, "no overlap: the old key stops at once");
    assert_eq!(api.get("/api/v1/jobs", &third).await.status, StatusCode::OK);

    // the audit log says who did what, newest first, and holds no secret
    let log = api.get("/api/v1/audit-log", &third).await;
    let entries: Vec<(String, String, String)> = log.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().into(), e["actor"]["kind"].as_str().unwrap().into(), e["target_id"].as_str().unwrap().into()))
        .collect();
    let key = |id: &str| ("api_key".to_owned(), id.to_owned());
    let expected = [("api_key.rotated", key(&second_id)), ("api_key.rotated", key(&first_id)), ("api_key.revoked", key(&ci_id)), ("api_key.created", key(&ci_id))];
    assert_eq!(entries, expected.iter().map(|(a, (k, id))| (a.to_string(), k.clone(), id.clone())).collect::<Vec<_>>());
    assert_eq!(log.json["data"][0]["actor"]["id"], second_id.as_str(), "the key that asked");
    assert!(!log.text.contains("sk_live_"), "{}", log.text);
    let paged = api.get("/api/v1/audit-log?limit=3", &third).await;
    let rest = api.get(&format!("/api/v1/audit-log?limit=3&cursor={}", paged.json["next_cursor"].as_str().unwrap()), &third).await;
    assert_eq!(rest.json["data"][0]["action"], "api_key.created");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn another_organizations_keys_are_not_found_and_the_count_is_capped(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let other = api.org("other", Tier::Pro).await;
    let theirs = other.api_key_id;
    for (method, path) in [
        (Method::GET, format!("/api/v1/api-keys/{theirs}")),
        (Method::DELETE, format!("/api/v1/api-keys/{theirs}")),
        (Method::POST, format!("/api/v1/api-keys/{theirs}/rotate")),
    ] {
        let r = api.call(method.clone(), &path, &org.api_key, None).await;
        assert_eq!((r.status, r.problem()), (StatusCode::NOT_FOUND, "not-found"), "{method} {path}");
    }
    assert_eq!(api.get("/api/v1/jobs", &other.api_key).await.status, StatusCode::OK, "untouched");
    assert_eq!(api.get("/api/v1/audit-log", &other.api_key).await.json["data"], json!([]));

    for i in 1..domain::api_key::MAX_ACTIVE_KEYS {
        assert_eq!(api.post("/api/v1/api-keys", &org.api_key, json!({"name": format!("k{i}")})).await.status, StatusCode::CREATED);
    }
    let over = api.post("/api/v1/api-keys", &org.api_key, json!({"name": "one more"})).await;
    assert_eq!((over.status, over.problem()), (StatusCode::FORBIDDEN, "key-limit-reached"), "{over:?}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM api_keys WHERE org_id = $1").bind(org.org_id).fetch_one(&pool).await.unwrap();
    assert_eq!(n, domain::api_key::MAX_ACTIVE_KEYS as i64);
}
