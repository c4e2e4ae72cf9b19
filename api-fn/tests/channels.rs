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

/// A job's own say over its alerts (`notifications`): muted, or its own channels of the
/// organization; unknown or foreign channel ids are refused field by field, in every write path;
/// deleting a listed channel takes it out of the list.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_job_is_muted_or_alerts_its_own_channels(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let other = api.org("other", Tier::Pro).await;
    let key = &org.api_key;
    let mine = api.post("/api/v1/notification-channels", key, json!({"kind": "email", "target": "ops@example.com"})).await.id();
    let second = api.post("/api/v1/notification-channels", key, json!({"kind": "webhook", "target": "https://example.com/alerts"})).await.id();
    let foreign = api.post("/api/v1/notification-channels", &other.api_key, json!({"kind": "email", "target": "x@example.com"})).await.id();
    let job = |notifications: serde_json::Value| {
        let mut j = support::hourly("report");
        j["notifications"] = notifications;
        j
    };

    let listed = api.post("/api/v1/jobs", key, job(json!({"channels": [mine, second]}))).await;
    assert_eq!(listed.status, StatusCode::CREATED, "{listed:?}");
    assert_eq!(listed.json["notifications"], json!({"channels": [mine, second]}));
    let id = listed.id();
    let muted = api.call(Method::PATCH, &format!("/api/v1/jobs/{id}"), key, Some(json!({"notifications": {"mute": true}}))).await;
    assert_eq!(muted.json["notifications"], json!({"mute": true}), "{muted:?}");
    let reset = api.call(Method::PATCH, &format!("/api/v1/jobs/{id}"), key, Some(json!({"notifications": null}))).await;
    assert_eq!(reset.json["notifications"], json!(null), "null: the organization's channels again");
    let plain = api.post("/api/v1/jobs", key, support::hourly("plain")).await;
    assert_eq!(plain.json["notifications"], json!(null));

    // refused, field by field, and nothing changes
    let unknown = "0192f2a1-c3d8-4e5f-8a9b-0c1d2e3f4a5b";
    let r = api.post("/api/v1/jobs", key, job(json!({"channels": [mine, foreign, "nope", unknown]}))).await;
    assert_eq!((r.status, r.problem()), (StatusCode::UNPROCESSABLE_ENTITY, "validation"), "{r:?}");
    assert_eq!(r.field_errors(), vec![("notifications.channels[2]".into(), "notifications_channel_id".into())], "syntax first");
    let r = api.post("/api/v1/jobs", key, job(json!({"channels": [mine, foreign, unknown]}))).await;
    assert_eq!(
        r.field_errors(),
        vec![
            ("notifications.channels[1]".into(), "notifications_channel_unknown".into()),
            ("notifications.channels[2]".into(), "notifications_channel_unknown".into())
        ],
        "another organization's channel is as unknown as a made-up one"
    );
    let r = api.post("/api/v1/jobs", key, job(json!({"mute": true, "channels": [mine]}))).await;
    assert_eq!(r.field_errors(), vec![("notifications".into(), "notifications_conflict".into())]);
    let r = api.call(Method::PATCH, &format!("/api/v1/jobs/{id}"), key, Some(json!({"notifications": {"channels": [foreign]}}))).await;
    assert_eq!(r.field_errors(), vec![("notifications.channels[0]".into(), "notifications_channel_unknown".into())]);
    let mut synced = job(json!({"channels": [foreign]}));
    synced["key"] = json!("k");
    let r = api.call(Method::PUT, "/api/v1/sync", key, Some(json!({"jobs": [synced]}))).await;
    assert_eq!(r.field_errors(), vec![("jobs[0].notifications.channels[0]".into(), "notifications_channel_unknown".into())]);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(jobs, 2, "nothing was written");

    // deleting a listed channel takes it out; deleting the last one leaves the default
    api.call(Method::PATCH, &format!("/api/v1/jobs/{id}"), key, Some(json!({"notifications": {"channels": [mine, second]}}))).await;
    api.call(Method::DELETE, &format!("/api/v1/notification-channels/{mine}"), key, None).await;
    assert_eq!(api.get(&format!("/api/v1/jobs/{id}"), key).await.json["notifications"], json!({"channels": [second]}));
    api.call(Method::DELETE, &format!("/api/v1/notification-channels/{second}"), key, None).await;
    assert_eq!(api.get(&format!("/api/v1/jobs/{id}"), key).await.json["notifications"], json!(null));
}
