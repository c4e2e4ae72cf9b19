//! Declarative sync: one transaction, created/updated/deleted/unchanged, dry run, errors.

mod support;

use axum::http::{Method, StatusCode};
use domain::tier::Tier;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{Api, hourly};

fn keyed(key: &str, expr: &str) -> Value {
    json!({"key": key, "name": key, "url": format!("https://example.com/{key}"), "schedule": {"kind": "cron", "expr": expr}})
}

fn keys(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect()
}

async fn put(api: &Api, key: &str, jobs: Vec<Value>, query: &str) -> support::Reply {
    api.call(Method::PUT, &format!("/api/v1/sync{query}"), key, Some(json!({"jobs": jobs}))).await
}

async fn job_names(pool: &PgPool) -> Vec<(Option<String>, String)> {
    sqlx::query_as("SELECT key, name FROM jobs ORDER BY name").fetch_all(pool).await.unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn sync_creates_updates_deletes_and_reports(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let manual = api.job(&org.api_key, hourly("made by hand")).await;

    let r = put(&api, &org.api_key, vec![keyed("a", "0 * * * *"), keyed("b", "0 3 * * *")], "").await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!((keys(&r.json["created"]), r.json["dry_run"].as_bool()), (vec!["a", "b"], Some(false)));
    assert!(r.json["created"][0]["id"].is_string());

    let r = put(&api, &org.api_key, vec![keyed("a", "0 * * * *"), keyed("b", "0 4 * * *"), keyed("c", "@daily")], "").await;
    assert_eq!((keys(&r.json["created"]), keys(&r.json["updated"]), keys(&r.json["unchanged"])), (vec!["c"], vec!["b"], vec!["a"]));

    // dry run: the report, nothing else
    let before = job_names(&pool).await;
    let r = put(&api, &org.api_key, vec![keyed("a", "0 * * * *"), keyed("d", "@daily")], "?dry_run=true").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!((keys(&r.json["created"]), keys(&r.json["deleted"]), keys(&r.json["unchanged"])), (vec!["d"], vec!["b", "c"], vec!["a"]));
    assert!(r.json["created"][0]["id"].is_null());
    assert_eq!(job_names(&pool).await, before);

    let r = put(&api, &org.api_key, vec![keyed("a", "0 * * * *"), keyed("d", "@daily")], "").await;
    assert_eq!(keys(&r.json["deleted"]), vec!["b", "c"]);
    let after = job_names(&pool).await;
    assert_eq!(after.len(), 3);
    assert!(after.contains(&(None, "made by hand".to_owned())), "jobs without a key are left alone");
    assert_eq!(api.get(&format!("/api/v1/jobs/{manual}"), &org.api_key).await.status, StatusCode::OK);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn invalid_syncs_change_nothing_and_name_every_field(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let put = |body: Value| api.call(Method::PUT, "/api/v1/sync", &org.api_key, Some(body));
    let r = put(json!({"jobs": [keyed("a", "@daily"), {"name": "no key", "url": "https://e.com", "schedule": {"kind": "cron", "expr": "@daily"}}, keyed("a", "@hourly")]})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_errors(), vec![("jobs[1].key".to_owned(), "key_required".to_owned()), ("jobs[2].key".to_owned(), "key_duplicate".to_owned())]);
    let r = put(json!({"jobs": [keyed("a", "@daily"), keyed("b", "*/5 * * * *"), {"key": "c", "name": "", "url": "x", "schedule": {"kind": "cron", "expr": "@daily"}}]})).await;
    let errors = r.field_errors();
    assert!(errors.contains(&("jobs[1].schedule".into(), "schedule_interval_below_tier".into())), "{errors:?}");
    assert!(errors.contains(&("jobs[2].name".into(), "name_empty".into())), "{errors:?}");
    assert!(errors.contains(&("jobs[2].url".into(), "url_invalid".into())), "{errors:?}");
    let r = put(json!({"jobs": [{"key": "x", "name": "x", "url": "https://e.com", "timeout_secs": "long", "schedule": {"kind": "cron", "expr": "@daily"}}]})).await;
    assert_eq!(r.field_errors(), vec![("jobs[0].timeout_secs".to_owned(), "invalid_type".to_owned())]);
    let six: Vec<Value> = (0..6).map(|i| keyed(&format!("k{i}"), "@daily")).collect();
    let r = put(json!({"jobs": six})).await;
    assert_eq!((r.status, r.problem()), (StatusCode::FORBIDDEN, "job-limit-reached"));
    assert!(job_names(&pool).await.is_empty(), "nothing was written");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn syncing_a_fired_one_time_job_again_is_unchanged(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let at = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let once = json!({"key": "launch", "name": "launch", "url": "https://e.com", "schedule": {"kind": "once", "at": at}});
    let r = api.call(Method::PUT, "/api/v1/sync", &org.api_key, Some(json!({"jobs": [once.clone()]}))).await;
    assert_eq!(keys(&r.json["created"]), vec!["launch"]);
    // an hour later the instant has passed; the same desired state is still valid and unchanged
    sqlx::query("UPDATE jobs SET once_at = once_at - interval '2 hours', next_run_at = NULL").execute(&pool).await.unwrap();
    let stored: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT once_at FROM jobs").fetch_one(&pool).await.unwrap();
    let mut same = once.clone();
    same["schedule"]["at"] = json!(stored.to_rfc3339());
    let r = api.call(Method::PUT, "/api/v1/sync", &org.api_key, Some(json!({"jobs": [same]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(keys(&r.json["unchanged"]), vec!["launch"]);
}

/// A job given a declared key by someone else while the sync runs (a PATCH does not wait for the
/// sync's lock): the sync answers 409 and changes nothing, instead of failing with a 500.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_key_taken_while_syncing_is_a_conflict_that_changes_nothing(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let r = put(&api, &org.api_key, vec![keyed("x", "@daily")], "").await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let x = r.json["created"][0]["id"].as_str().unwrap().to_owned();

    // someone renames x's key to "k" and has not committed yet
    let mut other = pool.begin().await.unwrap();
    sqlx::query("UPDATE jobs SET key = 'k' WHERE id = $1::uuid").bind(&x).execute(&mut *other).await.unwrap();
    let (a, key) = (api.clone(), org.api_key.clone());
    let sync = tokio::spawn(async move { put(&a, &key, vec![keyed("x", "@daily"), keyed("k", "@hourly")], "").await });
    loop {
        let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
            .fetch_one(&pool).await.unwrap();
        if waiting > 0 || sync.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    other.commit().await.unwrap();
    let r = sync.await.unwrap();
    assert_eq!((r.status, r.problem()), (StatusCode::CONFLICT, "conflict"), "{r:?}");
    assert!(r.json["detail"].as_str().unwrap().contains("\"k\""), "{r:?}");
    assert_eq!(job_names(&pool).await, vec![(Some("k".to_owned()), "x".to_owned())], "nothing written by the sync");
}
