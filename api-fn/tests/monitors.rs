//! Monitors CRUD and the public ping endpoints.

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::Api;

fn ping(method: Method, path: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder().method(method).uri(path).header("user-agent", "cron/1.0").body(Body::from(body)).unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn monitor_lifecycle_through_pings(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let bad = api.post("/api/v1/monitors", &org.api_key, json!({"name": "x", "schedule": {"kind": "cron", "expr": "0 3 * * *", "timezone": "Nowhere/Atlantis"}, "grace_secs": 9999999})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.field_errors().into_iter().map(|e| e.0).collect::<Vec<_>>(), vec!["schedule.timezone", "grace_secs"]);
    let r = api.post("/api/v1/monitors", &org.api_key, json!({"name": "backup", "schedule": {"kind": "interval", "interval_secs": 3600}, "grace_secs": 60})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let id = r.id();
    assert_eq!(r.json["status"], "new");
    let url = r.json["ping_url"].as_str().unwrap().to_owned();
    let path = url.strip_prefix("https://prikke.test").expect("shown under the public URL").to_owned();
    assert!(path.starts_with("/ping/") && path.len() == "/ping/".len() + 32, "{path}");

    let r = api.send(ping(Method::GET, &format!("{path}/start"), vec![])).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::OK, Some("new")));
    let r = api.send(ping(Method::GET, &path, vec![])).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::OK, Some("up")));
    let m = api.get(&format!("/api/v1/monitors/{id}"), &org.api_key).await;
    let (last, alert) = (m.json["last_ping_at"].as_str().unwrap(), m.json["alert_at"].as_str().unwrap());
    let gap = alert.parse::<chrono::DateTime<chrono::Utc>>().unwrap() - last.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    assert_eq!(gap.num_seconds(), 3660, "interval plus grace");
    assert!(m.json["last_start_at"].is_string());

    let output = "x".repeat(20_000);
    let r = api.send(ping(Method::POST, &format!("{path}/fail"), output.into_bytes())).await;
    assert_eq!(r.json["status"], "down");
    let r = api.send(ping(Method::POST, &path, b"all good".to_vec())).await;
    assert_eq!(r.json["status"], "up");
    let alerts: Vec<String> = sqlx::query_scalar("SELECT kind FROM alert_events ORDER BY created_at").fetch_all(&pool).await.unwrap();
    assert_eq!(alerts, vec!["monitor_down", "monitor_up"]);

    let m = api.get(&format!("/api/v1/monitors/{id}"), &org.api_key).await;
    let pings = m.json["recent_pings"].as_array().unwrap();
    assert_eq!(pings.iter().map(|p| p["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["success", "fail", "success", "start"]);
    assert_eq!(pings[0]["body"], "all good");
    assert_eq!(pings[1]["body"].as_str().unwrap().len(), api_fn::pings::PING_BODY_MAX, "bodies are kept up to the cap");
    assert_eq!(pings[0]["user_agent"], "cron/1.0");

    let r = api.send(ping(Method::GET, "/ping/0123456789abcdef0123456789abcdef", vec![])).await;
    assert_eq!((r.status, r.problem()), (StatusCode::NOT_FOUND, "not-found"));
    let r = api.send(ping(Method::GET, "/ping/short", vec![])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn update_pause_resume_and_delete(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let r = api.post("/api/v1/monitors", &org.api_key, json!({"name": "nightly", "schedule": {"kind": "cron", "expr": "0 3 * * *", "timezone": "Europe/Oslo"}})).await;
    let id = r.id();
    let path = r.json["ping_url"].as_str().unwrap().replace("https://prikke.test", "");
    assert_eq!(r.json["grace_secs"], 300);
    assert_eq!(r.json["schedule"], json!({"kind": "cron", "expr": "0 3 * * *", "timezone": "Europe/Oslo"}));
    api.send(ping(Method::GET, &path, vec![])).await;
    let mpath = format!("/api/v1/monitors/{id}");

    let r = api.call(Method::PATCH, &mpath, &org.api_key, Some(json!({"grace_secs": 60}))).await;
    assert_eq!((r.status, r.json["status"].as_str(), r.json["grace_secs"].as_i64()), (StatusCode::OK, Some("up"), Some(60)));
    let r = api.call(Method::PATCH, &mpath, &org.api_key, Some(json!({"paused": true}))).await;
    assert_eq!((r.json["status"].as_str(), r.json["alert_at"].clone()), (Some("paused"), json!(null)));
    let p = api.send(ping(Method::GET, &format!("{path}/fail"), vec![])).await;
    assert_eq!(p.json["status"], "paused", "a paused monitor records but ignores pings");
    let r = api.call(Method::PATCH, &mpath, &org.api_key, Some(json!({"paused": false}))).await;
    assert_eq!(r.json["status"], "new");
    let r = api.call(Method::PATCH, &mpath, &org.api_key, Some(json!({"schedule": {"kind": "interval", "interval_secs": 5}, "name": ""}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = r.field_errors().into_iter().map(|e| e.0).collect();
    assert_eq!(fields, vec!["name", "schedule.interval_secs"]);

    let list = api.get("/api/v1/monitors", &org.api_key).await;
    assert_eq!(list.json["data"].as_array().unwrap().len(), 1);
    assert_eq!(api.call(Method::DELETE, &mpath, &org.api_key, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&mpath, &org.api_key).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.send(ping(Method::GET, &path, vec![])).await.status, StatusCode::NOT_FOUND, "its token is gone");
}
