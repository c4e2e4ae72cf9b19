//! End to end: an organization's data exported, its deletion requested, then purged after the
//! grace period, and exported again: everything, then nothing; the runs the dispatcher already
//! holds for it are never sent, and another organization's data and deliveries carry on.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{Api, Receiver, stack};
use tower::ServiceExt;
use uuid::Uuid;

/// `GET /api/v1/export` with `key`: the status and the NDJSON records.
async fn export(api: &Api, key: &str) -> (StatusCode, Vec<Value>) {
    let req = Request::builder().method(Method::GET).uri("/api/v1/export").header("authorization", format!("Bearer {key}")).body(Body::empty()).unwrap();
    let res = api.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap();
    let records = String::from_utf8_lossy(&bytes).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    (status, records)
}

fn ids_of(records: &[Value], kind: &str) -> Vec<String> {
    records.iter().filter(|r| r["type"] == kind).filter_map(|r| r["id"].as_str().map(str::to_owned)).collect()
}

/// Every row that belongs to `org`, in each table with an `org_id` (and the organization's own).
async fn rows_of(pool: &PgPool, org: Uuid) -> i64 {
    let tables: Vec<String> = sqlx::query_scalar("SELECT table_name::text FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'org_id'").fetch_all(pool).await.unwrap();
    let mut n: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations WHERE id = $1").bind(org).fetch_one(pool).await.unwrap();
    for t in tables {
        n += sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {t} WHERE org_id = $1")).bind(org).fetch_one(pool).await.unwrap();
    }
    n
}

/// Queues a call to `path` on the receiver, delivered `delay` seconds from now; its execution id.
async fn queue(api: &Api, receiver: &Receiver, path: &str, delay: u32) -> String {
    let (status, queued) = api.call(Method::POST, "/api/v1/queue", Some(json!({"url": format!("{}{path}", receiver.base), "body": path, "delay_secs": delay}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    queued["id"].as_str().unwrap().to_owned()
}

async fn status_of(pool: &PgPool, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM executions WHERE id = $1::uuid").bind(id).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn export_delete_purge_export_shows_everything_then_nothing_and_held_runs_are_never_sent(pool: PgPool) {
    let receiver = Receiver::start().await;
    let (gone, api, dispatcher) = stack(&pool).await;
    let kept = api_fn::provision::create_organization(
        &pool,
        &store::keyring::Keyring::development(),
        &api_fn::provision::NewOrganization { name: "Kept", slug: "kept", tier: domain::tier::Tier::Pro, key_name: "e2e" },
    )
    .await
    .unwrap();
    let other = Api { router: api.router.clone(), key: kept.api_key.clone() };

    // history in both: a job each and a delivered call each
    for (a, name) in [(&api, "gone-job"), (&other, "kept-job")] {
        let (status, job) = a.call(Method::POST, "/api/v1/jobs", Some(json!({"name": name, "url": format!("{}/{name}", receiver.base), "schedule": {"kind": "cron", "expr": "0 3 * * *"}}))).await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
    }
    let delivered = queue(&api, &receiver, "/gone-now", 0).await;
    assert_eq!(receiver.next().await.path, "/gone-now");
    let kept_delivered = queue(&other, &receiver, "/kept-now", 0).await;
    assert_eq!(receiver.next().await.path, "/kept-now");
    assert_eq!(api.finished_execution(&delivered).await["status"], "success");
    assert_eq!(other.finished_execution(&kept_delivered).await["status"], "success");

    // 1. the export shows everything
    let (status, before) = export(&api, &gone.api_key).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ids_of(&before, "execution").contains(&delivered), "{before:?}");
    assert_eq!(before.iter().filter(|r| r["type"] == "job").count(), 1);
    let kept_rows = rows_of(&pool, kept.org_id).await;

    // 2. runs the dispatcher holds (claimed ahead of their instant), and one further out
    let held = queue(&api, &receiver, "/gone-held", 3).await;
    let later = queue(&api, &receiver, "/gone-later", 600).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while status_of(&pool, &held).await != "running" {
        assert!(tokio::time::Instant::now() < deadline, "the dispatcher claims the run ahead of its instant");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // the other organization's run is due after the held one: when it arrives, the held one's instant has passed
    let kept_held = queue(&other, &receiver, "/kept-held", 4).await;

    // 3. deletion requested (what the owner's confirmation in the web app does)
    let mut tx = pool.begin().await.unwrap();
    let now = Utc::now();
    let done = store::erasure::request(&mut tx, gone.org_id, now, now + domain::lifetimes::ORG_DELETION_GRACE).await.unwrap().expect("marked");
    tx.commit().await.unwrap();
    assert_eq!((done.jobs_paused, done.runs_cancelled), (1, 2));
    let (status, refused) = api.call(Method::GET, "/api/v1/jobs", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(refused["detail"].as_str().unwrap().contains("scheduled for deletion"), "{refused}");

    let next = receiver.next().await;
    assert_eq!(next.path, "/kept-held", "the deleted organization's held run is not sent");
    assert_eq!(other.finished_execution(&kept_held).await["status"], "success");
    assert!(receiver.try_next().await.is_none(), "nothing else arrived");
    for id in [&held, &later] {
        assert_eq!(status_of(&pool, id).await, "cancelled");
    }

    // 4. the purge, after the grace period (time injected), erases every row of it and nothing else
    let shutdown = tokio_util::sync::CancellationToken::new();
    let after_grace = Utc::now() + domain::lifetimes::ORG_DELETION_GRACE + chrono::TimeDelta::minutes(1);
    assert_eq!(dispatcher::erasure::purge(&pool, Utc::now(), 2, &shutdown).await.unwrap(), 0, "not within the grace period");
    assert_eq!(dispatcher::erasure::purge(&pool, after_grace, 2, &shutdown).await.unwrap(), 1);
    assert_eq!(rows_of(&pool, gone.org_id).await, 0);
    assert_eq!(rows_of(&pool, kept.org_id).await, kept_rows + 1, "the other organization's rows, and its one new run");

    // 5. the export shows nothing: the key is gone with everything else
    let (status, after) = export(&api, &gone.api_key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{after:?}");
    let (status, theirs) = export(&other, &kept.api_key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids_of(&theirs, "execution").len(), 2, "the other organization exports its own two runs");
    assert!(!theirs.iter().any(|r| r.to_string().contains(&gone.org_id.to_string())));
    dispatcher.shutdown().await;
}
