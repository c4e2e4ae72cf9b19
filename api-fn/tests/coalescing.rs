//! Concurrent requests share statements (api-fn's `batch`): each request must still get exactly
//! its own answer — its tenant, its job, its conflict — whatever else is in its batch.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use domain::tier::Tier;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{Api, Reply};
use tokio::task::JoinHandle;

fn job(name: &str, key: Option<&str>) -> Value {
    let mut j = json!({"name": name, "url": format!("https://example.com/{name}"), "schedule": {"kind": "cron", "expr": "0 * * * *"}});
    if let Some(k) = key {
        j["key"] = json!(k);
    }
    j
}

fn create(api: &Api, api_key: &str, body: Value) -> JoinHandle<Reply> {
    let (api, api_key) = (api.clone(), api_key.to_owned());
    tokio::spawn(async move { api.post("/api/v1/jobs", &api_key, body).await })
}

/// Waits until some session of this database waits for a lock (the held batch below).
async fn until_a_statement_waits_on_a_lock(pool: &PgPool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the first create never blocked on the held key");
        tokio::task::yield_now().await;
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn creates_queued_behind_a_busy_batch_share_one_and_each_gets_its_own_answer(pool: PgPool) {
    let api = Api::new(pool.clone());
    let a = api.org("alpha", Tier::Pro).await;
    let b = api.org("beta", Tier::Pro).await;
    let gone = api.org("gone", Tier::Pro).await;
    store::api_keys::revoke(&pool, gone.org_id, gone.api_key_id, chrono::Utc::now()).await.unwrap();

    // Another transaction holds sync key "held" of alpha: the first create with that key waits
    // on the unique index, and with it the batch it is in; everything sent meanwhile queues.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO jobs (org_id, key, name, url, method, schedule_kind, cron_expr, retry_max_attempts,
                           retry_base_delay_secs, retry_max_delay_secs)
         VALUES ($1, 'held', 'held elsewhere', 'https://example.com/', 'POST', 'cron', '0 * * * *', 1, 1, 1)",
    )
    .bind(a.org_id)
    .execute(&mut *holder)
    .await
    .unwrap();
    let first = create(&api, &a.api_key, job("first", Some("held")));
    until_a_statement_waits_on_a_lock(&pool).await;

    let mut sent: Vec<(&str, &str, Value, JoinHandle<Reply>)> = Vec::new();
    for i in 0..10 {
        for (who, key) in [("alpha", &a.api_key), ("beta", &b.api_key)] {
            let body = job(&format!("{who}-{i}"), None);
            sent.push((who, key, body.clone(), create(&api, key, body)));
        }
    }
    for (who, key) in [("alpha", &a.api_key), ("alpha", &a.api_key), ("beta", &b.api_key)] {
        let body = job(&format!("{who}-twin"), Some("twin"));
        sent.push((who, key, body.clone(), create(&api, key, body)));
    }
    let body = job("alpha-held-again", Some("held"));
    sent.push(("alpha", &a.api_key, body.clone(), create(&api, &a.api_key, body)));
    let body = job("revoked", None);
    sent.push(("gone", &gone.api_key, body.clone(), create(&api, &gone.api_key, body)));
    // All but the revoked one pass authentication and queue behind the held batch; then the
    // holder commits, and they go as one batch.
    let expected = sent.len() - 1;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while api.state.batches.new_jobs.waiting() < expected {
        assert!(tokio::time::Instant::now() < deadline, "{} of {expected} creates queued", api.state.batches.new_jobs.waiting());
        tokio::task::yield_now().await;
    }
    holder.commit().await.unwrap();

    let first = first.await.unwrap();
    assert_eq!((first.status, first.problem()), (StatusCode::CONFLICT, "conflict"), "{first:?}");
    let mut twins_created = Vec::new();
    for (who, api_key, body, reply) in sent {
        let r = reply.await.unwrap();
        let name = body["name"].as_str().unwrap();
        match (who, body["key"].as_str()) {
            ("gone", _) => {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}: {r:?}");
                continue;
            }
            (_, Some("held")) => {
                assert_eq!(r.status, StatusCode::CONFLICT, "{name}: {r:?}");
                continue;
            }
            (_, Some("twin")) if who == "alpha" && r.status == StatusCode::CONFLICT => continue,
            (_, Some("twin")) if who == "alpha" => twins_created.push(name.to_owned()),
            _ => {}
        }
        assert_eq!(r.status, StatusCode::CREATED, "{name}: {r:?}");
        assert_eq!((r.json["name"].as_str(), r.json["url"].as_str()), (Some(name), body["url"].as_str()), "{name} got its own job");
        let own = api.get(&format!("/api/v1/jobs/{}", r.id()), api_key).await;
        assert_eq!((own.status, &own.json), (StatusCode::OK, &r.json), "{name} is stored as answered, for its own tenant");
        let other = if who == "alpha" { &b.api_key } else { &a.api_key };
        assert_eq!(api.get(&format!("/api/v1/jobs/{}", r.id()), other).await.status, StatusCode::NOT_FOUND, "{name}");
    }
    assert_eq!(twins_created.len(), 1, "one of alpha's two 'twin' creates wins: {twins_created:?}");

    let count = |org| sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE org_id = $1").bind(org).fetch_one(&pool);
    assert_eq!(count(a.org_id).await.unwrap(), 10 + 1 + 1, "ten plain, one twin, the held one");
    assert_eq!(count(b.org_id).await.unwrap(), 10 + 1);
    assert_eq!(count(gone.org_id).await.unwrap(), 0);
}
