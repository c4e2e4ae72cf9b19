//! Notification channels through the API: create, read (webhook URLs masked), update, delete,
//! validation, the plans' limits, test messages, and the one-click unsubscribe page.

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::Api;

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_channel_is_created_read_changed_and_deleted(pool: PgPool) {
    let api = Api::new(pool);
    let org = api.org("acme", Tier::Pro).await;
    let r = api
        .post(
            "/api/v1/notification-channels",
            &org.api_key,
            json!({"name": "On-call", "kind": "webhook", "target": "https://hooks.slack.com/services/T0/B0/secretXYZW", "events": ["job.failed", "monitor.down"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let id = r.id();
    assert_eq!(r.headers["location"], format!("/api/v1/notification-channels/{id}"));
    let c = &r.json;
    assert_eq!((c["kind"].as_str(), c["flavor"].as_str(), c["target"].as_str()), (Some("webhook"), Some("slack"), Some("https://hooks.slack.com/…XYZW")));
    assert_eq!((c["events"].clone(), c["enabled"].clone(), c["name"].clone()), (json!(["job.failed", "monitor.down"]), json!(true), json!("On-call")));
    assert!(!r.text.contains("secret"), "the webhook URL is a credential: {}", r.text);

    let got = api.get(&format!("/api/v1/notification-channels/{id}"), &org.api_key).await;
    assert_eq!(got.json, r.json);
    let page = api.get("/api/v1/notification-channels?limit=10", &org.api_key).await;
    assert_eq!((page.json["data"][0]["id"].as_str(), page.json["next_cursor"].clone()), (Some(id.as_str()), json!(null)));

    let patched = api.call(Method::PATCH, &format!("/api/v1/notification-channels/{id}"), &org.api_key, Some(json!({"enabled": false, "target": "https://discord.com/api/webhooks/1/abcd"}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert_eq!((patched.json["flavor"].as_str(), patched.json["enabled"].as_bool(), patched.json["events"].clone()), (Some("discord"), Some(false), json!(["job.failed", "monitor.down"])));

    let email = api.post("/api/v1/notification-channels", &org.api_key, json!({"kind": "email", "target": "Ops@Example.com"})).await;
    assert_eq!((email.json["target"].as_str(), email.json["flavor"].as_str(), email.json["events"].as_array().map(Vec::len)), (Some("Ops@example.com"), Some("email"), Some(5)));

    assert_eq!(api.call(Method::DELETE, &format!("/api/v1/notification-channels/{id}"), &org.api_key, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&format!("/api/v1/notification-channels/{id}"), &org.api_key).await.problem(), "not-found");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn bad_input_is_explained_field_by_field_and_stores_nothing(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let r = api.post("/api/v1/notification-channels", &org.api_key, json!({"name": "", "kind": "email", "target": "not an address", "events": ["job.exploded"]})).await;
    assert_eq!((r.status, r.problem()), (StatusCode::UNPROCESSABLE_ENTITY, "validation"));
    assert_eq!(r.field_errors(), vec![("name".into(), "name_empty".into()), ("target".into(), "target_invalid".into()), ("events".into(), "event_unknown".into())]);
    let r = api.post("/api/v1/notification-channels", &org.api_key, json!({"kind": "webhook", "target": "ftp://example.com", "events": []})).await;
    assert_eq!(r.field_errors(), vec![("target".into(), "target_invalid".into()), ("events".into(), "events_empty".into())]);
    let r = api.post("/api/v1/notification-channels", &org.api_key, json!({"kind": "pager", "target": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_channels").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_free_plan_has_one_email_and_one_webhook_channel(pool: PgPool) {
    let api = Api::new(pool);
    let org = api.org("acme", Tier::Free).await;
    let add = |kind: &'static str, target: &'static str| {
        let (api, key) = (api.clone(), org.api_key.clone());
        async move { api.post("/api/v1/notification-channels", &key, json!({"kind": kind, "target": target})).await }
    };
    assert_eq!(add("email", "a@example.com").await.status, StatusCode::CREATED);
    assert_eq!(add("webhook", "https://example.com/a").await.status, StatusCode::CREATED);
    for (kind, target) in [("email", "b@example.com"), ("webhook", "https://example.com/b")] {
        let r = add(kind, target).await;
        assert_eq!((r.status, r.problem()), (StatusCode::FORBIDDEN, "channel-limit-reached"), "{r:?}");
        assert!(r.json["detail"].as_str().unwrap().contains("upgrade to Pro"), "{r:?}");
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_test_message_is_queued_and_answered_at_once_when_no_dispatcher_runs(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let id = api.post("/api/v1/notification-channels", &org.api_key, json!({"kind": "webhook", "target": "https://example.com/a"})).await.id();
    let r = api.call(Method::POST, &format!("/api/v1/notification-channels/{id}/test"), &org.api_key, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
    assert_eq!((r.json["status"].as_str(), r.json["attempts"].as_i64()), (Some("pending"), Some(0)));
    let queued: (bool, String) = sqlx::query_as("SELECT is_test, status FROM notification_deliveries").fetch_one(&pool).await.unwrap();
    assert_eq!(queued, (true, "pending".to_owned()));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_unsubscribe_link_asks_then_turns_the_channel_off(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let id = api.post("/api/v1/notification-channels", &org.api_key, json!({"kind": "email", "target": "ops@example.com"})).await.id();
    let token: String = sqlx::query_scalar("SELECT unsubscribe_token FROM notification_channels").fetch_one(&pool).await.unwrap();
    let page = |method: &str| Request::builder().method(method).uri(format!("/app/unsubscribe/{token}")).body(Body::empty()).unwrap();
    let asked = api.send(page("GET")).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.text.contains("ops@example.com") && asked.text.contains("<form method=\"post\">"), "{}", asked.text);
    assert_eq!(api.get(&format!("/api/v1/notification-channels/{id}"), &org.api_key).await.json["enabled"], true, "a GET changes nothing");
    let done = api.send(page("POST")).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.text.contains("no more alerts go to"), "{}", done.text);
    assert_eq!(api.get(&format!("/api/v1/notification-channels/{id}"), &org.api_key).await.json["enabled"], false);
    let unknown = api.send(Request::builder().method("POST").uri("/app/unsubscribe/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
