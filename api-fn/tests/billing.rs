//! The billing webhook: signed events move the plan as documented, anything unsigned or replayed
//! changes nothing, a downgrade pauses what the plan does not run (and deletes nothing), an
//! upgrade resumes it, and the API's limits follow the plan at once.

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use domain::tier::Tier;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{Api, Reply, hourly};
use uuid::Uuid;

const SECRET: &str = "whsk-test-0123456789abcdef";

fn billing_api(pool: &PgPool) -> Api {
    Api::with(pool.clone(), &[("PRIKKE_BILLING_WEBHOOK_SECRET", SECRET), ("PRIKKE_CHECKOUT_URL", "https://prikke.lemonsqueezy.com/buy/abc")])
}

fn event(name: &str, org: Uuid, status: &str, updated_at: &str) -> Value {
    json!({
        "meta": {"event_name": name, "test_mode": false, "custom_data": {"org_id": org.to_string()}},
        "data": {"type": "subscriptions", "id": "42", "attributes": {"status": status, "updated_at": updated_at}}
    })
}

async fn deliver(api: &Api, body: &[u8], signature: Option<&str>) -> Reply {
    let mut req = Request::builder().method(Method::POST).uri("/billing/webhook").header("content-type", "application/json");
    if let Some(sig) = signature {
        req = req.header("x-signature", sig);
    }
    api.send(req.body(Body::from(body.to_vec())).unwrap()).await
}

async fn signed(api: &Api, event: &Value) -> Reply {
    let body = serde_json::to_vec(event).unwrap();
    deliver(api, &body, Some(&domain::billing::sign(SECRET.as_bytes(), &body))).await
}

async fn tier(pool: &PgPool, org: Uuid) -> String {
    sqlx::query_scalar("SELECT tier FROM organizations WHERE id = $1").bind(org).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn forged_unsigned_and_replayed_events_change_nothing(pool: PgPool) {
    let api = billing_api(&pool);
    let org = api.org("acme", Tier::Free).await;
    let upgrade = serde_json::to_vec(&event("subscription_created", org.org_id, "active", "2026-12-05T10:00:00Z")).unwrap();
    for signature in [None, Some("nope"), Some(domain::billing::sign(b"someone else's secret", &upgrade)).as_deref(), Some(&"0".repeat(64)[..])] {
        let r = deliver(&api, &upgrade, signature).await;
        assert_eq!((r.status, r.problem()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{signature:?}: {r:?}");
    }
    // a body changed after signing
    let sig = domain::billing::sign(SECRET.as_bytes(), &upgrade);
    let tampered = String::from_utf8(upgrade.clone()).unwrap().replace("acme", "evil").replace("active", "active ").into_bytes();
    assert_eq!(deliver(&api, &tampered, Some(&sig)).await.status, StatusCode::UNAUTHORIZED);
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM billing_events").fetch_one(&pool).await.unwrap();
    assert_eq!((tier(&pool, org.org_id).await.as_str(), kept), ("free", 0), "nothing changed, nothing kept");

    let r = deliver(&api, &upgrade, Some(&sig)).await;
    assert_eq!((r.status, r.json["tier"].as_str(), r.json["duplicate"].as_bool()), (StatusCode::OK, Some("pro"), Some(false)), "{r:?}");
    // the subscription ends; then the first event is sent again (a replay, or the provider's retry)
    signed(&api, &event("subscription_expired", org.org_id, "expired", "2026-12-06T10:00:00Z")).await;
    assert_eq!(tier(&pool, org.org_id).await, "free");
    let again = deliver(&api, &upgrade, Some(&sig)).await;
    assert_eq!((again.status, again.json["duplicate"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(tier(&pool, org.org_id).await, "free", "a replayed upgrade does not upgrade");

    // an event for no organization of ours is kept and changes nothing
    let stray = signed(&api, &event("subscription_created", Uuid::now_v7(), "active", "2026-12-05T10:00:00Z")).await;
    assert_eq!((stray.status, stray.json["tier"].clone()), (StatusCode::OK, Value::Null));
    // not configured: refused, so the provider retries once it is
    let unconfigured = Api::new(pool.clone());
    assert_eq!(deliver(&unconfigured, &upgrade, Some(&sig)).await.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn each_event_moves_the_plan_as_documented(pool: PgPool) {
    let api = billing_api(&pool);
    let org = api.org("acme", Tier::Free).await;
    let steps = [
        ("subscription_created", "active", "pro"),
        ("subscription_payment_failed", "past_due", "pro"),
        ("subscription_updated", "past_due", "pro"),
        ("subscription_cancelled", "cancelled", "pro"),
        ("subscription_expired", "expired", "free"),
        ("subscription_resumed", "active", "pro"),
        ("subscription_updated", "unpaid", "free"),
        ("subscription_payment_recovered", "active", "pro"),
        ("order_created", "paid", "pro"),
        ("subscription_updated", "paused", "free"),
    ];
    for (i, (name, status, expected)) in steps.into_iter().enumerate() {
        let r = signed(&api, &event(name, org.org_id, status, &format!("2026-12-05T10:{i:02}:00Z"))).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {r:?}");
        assert_eq!(tier(&pool, org.org_id).await, expected, "after {name} ({status})");
    }
    let log = api.get("/api/v1/audit-log", &org.api_key).await;
    let changes: Vec<(String, String)> = log.json["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| (e["details"]["to"].as_str().unwrap().to_owned(), e["details"]["event"].as_str().unwrap().to_owned()))
        .collect();
    let expected: Vec<(String, String)> = [("pro", "subscription_created"), ("free", "subscription_expired"), ("pro", "subscription_resumed"), ("free", "subscription_updated"), ("pro", "subscription_payment_recovered"), ("free", "subscription_updated")]
        .iter()
        .map(|(t, e)| (t.to_string(), e.to_string()))
        .collect();
    assert_eq!(changes, expected, "one audit entry per plan change, by the system");
    assert_eq!(log.json["data"][0]["actor"]["kind"], "system");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_downgrade_pauses_what_the_plan_does_not_run_deletes_nothing_and_an_upgrade_resumes_it(pool: PgPool) {
    let api = billing_api(&pool);
    let org = api.org("acme", Tier::Pro).await;
    let key = &org.api_key;
    let minutely = |name: &str| json!({"name": name, "url": "https://example.com/hook", "schedule": {"kind": "cron", "expr": "* * * * *"}});
    let mut jobs = Vec::new();
    for i in 0..8 {
        let body = if i == 1 || i == 4 { minutely(&format!("fast {i}")) } else { hourly(&format!("hourly {i}")) };
        jobs.push(api.job(key, body).await);
    }
    assert!(api.get("/api/v1/usage", key).await.json["upgrade_url"].is_null(), "Pro has nothing to upgrade to");

    let r = signed(&api, &event("subscription_expired", org.org_id, "expired", "2026-12-05T10:00:00Z")).await;
    assert_eq!(r.json["tier"], "free", "{r:?}");
    let paused: Vec<String> = r.json["paused_jobs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    // the two every-minute jobs, then of the six hourly ones the newest beyond five
    assert_eq!(paused, vec![jobs[1].clone(), jobs[4].clone(), jobs[7].clone()]);
    for (i, id) in jobs.iter().enumerate() {
        let j = api.get(&format!("/api/v1/jobs/{id}"), key).await.json;
        let want = match i {
            1 | 4 => (false, json!("plan_min_interval")),
            7 => (false, json!("plan_job_limit")),
            _ => (true, Value::Null),
        };
        assert_eq!((j["enabled"].as_bool().unwrap(), j["paused_reason"].clone()), want, "job {i}");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 8, "nothing deleted");
    // the owner is told (an operator-made organization has none; give it one)
    let owner = store::users::insert(&pool, "owner@example.com", None, None).await.unwrap();
    store::users::upsert_membership(&pool, org.org_id, owner.id, domain::account::Role::Owner).await.unwrap();
    signed(&api, &event("subscription_updated", org.org_id, "active", "2026-12-05T11:00:00Z")).await;
    signed(&api, &event("subscription_expired", org.org_id, "expired", "2026-12-05T12:00:00Z")).await;
    let (to, subject, text): (String, String, String) =
        sqlx::query_as("SELECT to_address, subject, body_text FROM outgoing_mail WHERE kind = 'plan_changed' ORDER BY created_at DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((to.as_str(), subject.as_str()), ("owner@example.com", "[Prikke] acme is on the Free plan"));
    assert!(text.contains("3 job(s) the Free plan does not run are paused, not deleted"), "{text}");

    // the Free plan's limits apply at once
    let usage = api.get("/api/v1/usage", key).await.json;
    assert_eq!((usage["plan"].as_str(), usage["executions"]["limit"].as_u64()), (Some("free"), Some(5_000)));
    assert_eq!(usage["upgrade_url"], format!("https://prikke.lemonsqueezy.com/buy/abc?checkout%5Bcustom%5D%5Borg_id%5D={}", org.org_id));
    assert_eq!(api.post("/api/v1/jobs", key, hourly("one more")).await.problem(), "job-limit-reached");
    let r = api.call(Method::POST, &format!("/api/v1/jobs/{}/enable", jobs[7]), key, None).await;
    assert_eq!((r.status, r.problem()), (StatusCode::FORBIDDEN, "job-limit-reached"), "five run already: {r:?}");
    let r = api.call(Method::POST, &format!("/api/v1/jobs/{}/enable", jobs[1]), key, None).await;
    assert_eq!(r.field_errors(), vec![("schedule".into(), "schedule_interval_below_tier".into())], "{r:?}");
    // pausing one of the five makes room for the one the plan paused
    api.call(Method::POST, &format!("/api/v1/jobs/{}/disable", jobs[0]), key, None).await;
    let r = api.call(Method::POST, &format!("/api/v1/jobs/{}/enable", jobs[7]), key, None).await;
    assert_eq!((r.status, r.json["paused_reason"].clone()), (StatusCode::OK, Value::Null), "{r:?}");

    // upgrading resumes what the plan paused (not what its user paused)
    let r = signed(&api, &event("subscription_created", org.org_id, "active", "2026-12-06T10:00:00Z")).await;
    let resumed: Vec<String> = r.json["resumed_jobs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(resumed, vec![jobs[1].clone(), jobs[4].clone()]);
    let fast = api.get(&format!("/api/v1/jobs/{}", jobs[1]), key).await.json;
    assert_eq!((fast["enabled"].as_bool(), fast["paused_reason"].clone(), fast["next_run_at"].is_string()), (Some(true), Value::Null, true));
    assert_eq!(api.get(&format!("/api/v1/jobs/{}", jobs[0]), key).await.json["enabled"], false, "its user paused it");
}
