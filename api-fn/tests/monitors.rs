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

/// Every way a monitor goes down raises exactly one `monitor_down` saying why, and the next
/// success one `monitor_up`: its first ping never came, a ping late, a run that started and did
/// not finish, a fail ping. The down rule runs at instants the test chooses (never slept through).
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn never_pinged_late_hung_and_failed_each_alert_once_and_recover(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let r = api
        .post("/api/v1/monitors", &org.api_key, json!({"name": "backup", "schedule": {"kind": "interval", "interval_secs": 600}, "grace_secs": 60, "max_runtime_secs": 120}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let created: chrono::DateTime<chrono::Utc> = r.json["created_at"].as_str().unwrap().parse().unwrap();
    let first: chrono::DateTime<chrono::Utc> = r.json["alert_at"].as_str().expect("a new monitor has a first deadline").parse().unwrap();
    // the deadline counts from when the request arrived, just before the row's created_at
    let after_creation = (first - created).num_milliseconds();
    assert!((659_000..=660_000).contains(&after_creation), "interval plus grace after creation: {after_creation} ms");
    assert_eq!(r.json["max_runtime_secs"], 120);
    let path = r.json["ping_url"].as_str().unwrap().replace("https://prikke.test", "");
    let down_at = |at: chrono::DateTime<chrono::Utc>| {
        let pool = pool.clone();
        async move { store::monitors::mark_overdue(&pool, at, 100).await.unwrap().len() }
    };
    let ping = |suffix: &'static str| {
        let (api, path) = (api.clone(), path.clone());
        async move { api.send(super_ping(&format!("{path}{suffix}"))).await.json["status"].as_str().unwrap().to_owned() }
    };

    assert_eq!(down_at(first - chrono::Duration::seconds(1)).await, 0, "not yet");
    assert_eq!(down_at(first).await, 1, "its first ping never came");
    assert_eq!(ping("").await, "up");
    let late = chrono::Utc::now() + chrono::Duration::seconds(661);
    assert_eq!(down_at(late).await, 1, "the next ping is late");
    assert_eq!(ping("").await, "up");
    assert_eq!(ping("/start").await, "up");
    let hung = chrono::Utc::now() + chrono::Duration::seconds(121);
    assert_eq!(down_at(hung).await, 1, "started, not finished within 120 s");
    assert_eq!(ping("").await, "up");
    assert_eq!(ping("/fail").await, "down");
    assert_eq!(down_at(chrono::Utc::now() + chrono::Duration::days(1)).await, 0, "already down: nothing more");
    assert_eq!(ping("").await, "up");

    let alerts: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT kind, details->>'reason', details->>'last_ping_at' FROM alert_events ORDER BY created_at, id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let shape: Vec<(&str, Option<&str>, bool)> = alerts.iter().map(|(k, r, last)| (k.as_str(), r.as_deref(), last.is_some())).collect();
    assert_eq!(
        shape,
        vec![
            ("monitor_down", Some("late"), false),
            ("monitor_up", None, false),
            ("monitor_down", Some("late"), true),
            ("monitor_up", None, false),
            ("monitor_down", Some("hung"), true),
            ("monitor_up", None, false),
            ("monitor_down", None, false),
            ("monitor_up", None, false),
        ]
    );
}

fn super_ping(path: &str) -> Request<Body> {
    ping(Method::GET, path, vec![])
}
