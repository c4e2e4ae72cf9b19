//! `GET /api/v1/executions`: the organization-wide history with its filters (status, job,
//! source, time range), cursor pages, and another organization's runs never showing.

mod support;

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::{Api, finish, hourly};

/// Triggers job `job` and sets the run's status and scheduled time as if it had run at `at`.
async fn ran(api: &Api, key: &str, job: &str, status: &str, at: DateTime<Utc>) -> String {
    let id = api.call(Method::POST, &format!("/api/v1/jobs/{job}/trigger"), key, None).await.id();
    finish(&api.pool, &id, status).await;
    sqlx::query("UPDATE executions SET scheduled_for = $2, run_at = $2 WHERE id = $1::uuid").bind(&id).bind(at).execute(&api.pool).await.unwrap();
    id
}

fn ids(r: &support::Reply) -> Vec<String> {
    r.json["data"].as_array().unwrap_or_else(|| panic!("{r:?}")).iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn filters_by_status_job_source_and_time(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let (a, b) = (api.job(&org.api_key, hourly("a")).await, api.job(&org.api_key, hourly("b")).await);
    let t0 = Utc::now() - Duration::hours(10);
    let a_ok = ran(&api, &org.api_key, &a, "success", t0).await;
    let a_bad = ran(&api, &org.api_key, &a, "failed", t0 + Duration::hours(1)).await;
    let b_slow = ran(&api, &org.api_key, &b, "timeout", t0 + Duration::hours(2)).await;
    let queued = api.post("/api/v1/queue", &org.api_key, json!({"url": "https://example.com/q", "delay_secs": 3600})).await.id();

    let all = api.get("/api/v1/executions", &org.api_key).await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    assert_eq!(ids(&all), vec![queued.clone(), b_slow.clone(), a_bad.clone(), a_ok.clone()], "latest scheduled first");
    assert_eq!(all.json["next_cursor"], json!(null));
    assert_eq!(all.json["data"][1]["status"], "timeout");

    let failures = api.get("/api/v1/executions?status=failed,timeout", &org.api_key).await;
    assert_eq!(ids(&failures), vec![b_slow.clone(), a_bad.clone()]);
    assert_eq!(ids(&api.get("/api/v1/executions?status=success", &org.api_key).await), vec![a_ok.clone()]);
    assert_eq!(ids(&api.get(&format!("/api/v1/executions?job_id={a}"), &org.api_key).await), vec![a_bad.clone(), a_ok.clone()]);
    assert_eq!(ids(&api.get(&format!("/api/v1/executions?job_id={a}&status=failed"), &org.api_key).await), vec![a_bad.clone()]);
    assert_eq!(ids(&api.get("/api/v1/executions?source=queue", &org.api_key).await), vec![queued.clone()]);
    assert_eq!(ids(&api.get("/api/v1/executions?source=manual", &org.api_key).await), vec![b_slow.clone(), a_bad.clone(), a_ok.clone()]);
    let from = (t0 + Duration::minutes(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (t0 + Duration::minutes(150)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(ids(&api.get(&format!("/api/v1/executions?from={from}&to={to}"), &org.api_key).await), vec![b_slow.clone(), a_bad.clone()]);
    assert_eq!(ids(&api.get(&format!("/api/v1/executions?to={from}"), &org.api_key).await), vec![a_ok.clone()]);

    // wrong filters are explained, naming the field
    let r = api.get("/api/v1/executions?status=failed,broken", &org.api_key).await;
    assert_eq!((r.status, r.field_errors()), (StatusCode::UNPROCESSABLE_ENTITY, vec![("status".to_owned(), "status_unknown".to_owned())]), "{r:?}");
    let r = api.get("/api/v1/executions?source=cron", &org.api_key).await;
    assert_eq!(r.field_errors(), vec![("source".to_owned(), "source_unknown".to_owned())]);
    let r = api.get(&format!("/api/v1/executions?from={to}&to={from}"), &org.api_key).await;
    assert_eq!(r.field_errors(), vec![("from".to_owned(), "range_empty".to_owned())]);
    let r = api.get("/api/v1/executions?from=9999-12-31T23:59:59Z&to=%2B10000-01-01T00:00:00Z", &org.api_key).await;
    assert_eq!(r.field_errors(), vec![("to".to_owned(), "instant_out_of_range".to_owned())], "an instant Postgres cannot take is refused before the query: {r:?}");
    assert_eq!(api.get("/api/v1/executions?job_id=nope", &org.api_key).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.get("/api/v1/executions?from=yesterday", &org.api_key).await.status, StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn pages_by_cursor_without_gaps_or_repeats(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let job = api.job(&org.api_key, hourly("a")).await;
    let t0 = Utc::now() - Duration::hours(1);
    let mut made = Vec::new();
    for i in 0..7 {
        // two runs share each instant: the id breaks the tie
        made.push(ran(&api, &org.api_key, &job, "success", t0 + Duration::minutes(i / 2)).await);
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/executions?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let r = api.get(&url, &org.api_key).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        let page = ids(&r);
        assert!(page.len() <= 3);
        seen.extend(page);
        pages += 1;
        match r.json["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/executions?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().collect::<HashSet<_>>(), made.iter().collect::<HashSet<_>>());
    assert_eq!(api.get("/api/v1/executions?limit=0", &org.api_key).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.get("/api/v1/executions?cursor=garbage", &org.api_key).await.status, StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn another_organizations_runs_never_appear(pool: PgPool) {
    let api = Api::new(pool.clone());
    let a = api.org("a", Tier::Pro).await;
    let b = api.org("b", Tier::Pro).await;
    let a_job = api.job(&a.api_key, hourly("a")).await;
    let b_job = api.job(&b.api_key, hourly("b")).await;
    let now = Utc::now();
    let mine = ran(&api, &a.api_key, &a_job, "failed", now - Duration::minutes(5)).await;
    ran(&api, &b.api_key, &b_job, "failed", now - Duration::minutes(4)).await;
    api.post("/api/v1/queue", &b.api_key, json!({"url": "https://example.com/q"})).await;

    assert_eq!(ids(&api.get("/api/v1/executions", &a.api_key).await), vec![mine.clone()]);
    assert_eq!(ids(&api.get("/api/v1/executions?status=failed", &a.api_key).await), vec![mine]);
    let through_b_job = api.get(&format!("/api/v1/executions?job_id={b_job}"), &a.api_key).await;
    assert_eq!((through_b_job.status, ids(&through_b_job).len()), (StatusCode::OK, 0), "B's job id gives A nothing");
    assert_eq!(ids(&api.get("/api/v1/executions", &b.api_key).await).len(), 2);
    assert_eq!(api.get("/api/v1/executions", "pk_live_nope.sk_live_nope").await.status, StatusCode::UNAUTHORIZED);
}
