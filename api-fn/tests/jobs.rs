//! Jobs: create, validation, plan limits, list pagination, read, update, delete, enable/disable.

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, Datelike, TimeZone, Utc, Weekday};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::{Api, hourly};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn create_returns_the_stored_job_with_its_location(pool: PgPool) {
    let api = Api::new(pool);
    let org = api.org("acme", Tier::Pro).await;
    let body = json!({
        "name": "Nightly report", "key": "nightly", "url": "https://example.com/report",
        "headers": {"X-Env": "prod"}, "body": "{\"a\":1}", "timeout_secs": 120,
        "retry": {"max_attempts": 3}, "catch_up": {"mode": "run_all", "cap": 5}, "overlap": "skip",
        "schedule": {"kind": "preset", "preset": {"interval": "daily", "hour": 2, "minute": 30}, "timezone": "Europe/Oslo"}
    });
    let r = api.post("/api/v1/jobs", &org.api_key, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let id = r.id();
    assert_eq!(r.headers["location"], format!("/api/v1/jobs/{id}"));
    let j = &r.json;
    assert_eq!(j["method"], "POST", "default method");
    assert_eq!(j["headers"], json!([{"name": "X-Env", "value": "prod"}]));
    assert_eq!(j["schedule"], json!({"kind": "cron", "expr": "30 2 * * *", "timezone": "Europe/Oslo"}), "presets are stored as cron");
    assert_eq!(j["schedule_description"], "every day at 02:30 (Europe/Oslo)");
    assert_eq!(j["interval_minutes"], 1440);
    assert_eq!(j["retry"], json!({"max_attempts": 3, "base_delay_secs": 10, "max_delay_secs": 3600}));
    assert_eq!(j["catch_up"], json!({"mode": "run_all", "cap": 5}));
    assert!(j["next_run_at"].is_string());
    let got = api.get(&format!("/api/v1/jobs/{id}"), &org.api_key).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json, r.json, "read back exactly as created");
}

/// The next `hh:mm` on the wall clock of `zone` after `now`, on `weekday` when given: the
/// expectation, computed with chrono-tz alone (the times chosen exist exactly once on every day
/// in their zones, so no daylight-saving rule is involved).
fn next_wall_clock(now: DateTime<Utc>, zone: chrono_tz::Tz, hh: u32, mm: u32, weekday: Option<Weekday>) -> DateTime<Utc> {
    let mut date = now.with_timezone(&zone).date_naive();
    loop {
        if weekday.is_none_or(|w| date.weekday() == w) {
            let at = zone.from_local_datetime(&date.and_hms_opt(hh, mm, 0).unwrap()).single().unwrap().with_timezone(&Utc);
            if at > now {
                return at;
            }
        }
        date = date.succ_opt().unwrap();
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn next_run_at_is_the_next_occurrence_on_the_jobs_own_wall_clock(pool: PgPool) {
    let api = Api::new(pool);
    let org = api.org("acme", Tier::Pro).await;
    let cases = [
        ("0 9 * * *", "America/New_York", 9, 0, None),
        ("45 7 * * 1", "Asia/Kolkata", 7, 45, Some(Weekday::Mon)),
        ("@daily", "Australia/Lord_Howe", 0, 0, None),
        ("15 23 * * *", "Pacific/Chatham", 23, 15, None),
    ];
    for (expr, zone, hh, mm, weekday) in cases {
        let tz: chrono_tz::Tz = zone.parse().unwrap();
        let before = Utc::now();
        let r = api.post("/api/v1/jobs", &org.api_key, json!({"name": expr, "url": "https://example.com/hook", "schedule": {"kind": "cron", "expr": expr, "timezone": zone}})).await;
        let after = Utc::now();
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        let got: DateTime<Utc> = r.json["next_run_at"].as_str().unwrap().parse().unwrap();
        // an occurrence falling between the two readings of the clock moves the answer on
        let want = [next_wall_clock(before, tz, hh, mm, weekday), next_wall_clock(after, tz, hh, mm, weekday)];
        assert!(want.contains(&got), "{expr} in {zone}: next_run_at {got}, expected {}", want[0]);
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn validation_lists_every_invalid_field(pool: PgPool) {
    let api = Api::new(pool);
    let org = api.org("acme", Tier::Free).await;
    let r = api
        .post("/api/v1/jobs", &org.api_key, json!({"name": "", "url": "ftp://x", "method": "GET", "body": "x", "timeout_secs": 99, "schedule": {"kind": "cron", "expr": "*/5 * * * *"}}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert_eq!(r.problem(), "validation");
    let errors = r.field_errors();
    for (field, code) in [
        ("name", "name_empty"),
        ("url", "url_scheme"),
        ("body", "body_not_allowed"),
        ("timeout_secs", "timeout_tier_limit"),
        ("schedule", "schedule_interval_below_tier"),
    ] {
        assert!(errors.contains(&(field.to_owned(), code.to_owned())), "{field}/{code} missing from {errors:?}");
    }
    let message = r.json["errors"].as_array().unwrap().iter().find(|e| e["code"] == "schedule_interval_below_tier").unwrap()["message"].clone();
    assert!(message.as_str().unwrap().contains("upgrade to Pro"), "{message}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn malformed_requests_are_problems_not_crashes(pool: PgPool) {
    let api = Api::new(pool);
    let org = api.org("acme", Tier::Free).await;
    let auth = format!("Bearer {}", org.api_key);
    let raw = |body: &'static str, ct: Option<&str>| {
        let mut b = Request::builder().method(Method::POST).uri("/api/v1/jobs").header("authorization", auth.clone());
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        b.body(Body::from(body)).unwrap()
    };
    let r = api.send(raw("{\"name\": ", Some("application/json"))).await;
    assert_eq!((r.status, r.problem()), (StatusCode::BAD_REQUEST, "bad-request"));
    let r = api.send(raw("{}", None)).await;
    assert_eq!((r.status, r.problem()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"));
    let r = api.send(raw(r#"{"name": "x", "url": "https://e.com", "schedule": {"kind": "cron", "expr": "@daily"}, "colour": "red"}"#, Some("application/json"))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_errors()[0].1, "unknown_field");
    // a misspelt schedule field is refused, not dropped (the job would quietly run in UTC)
    for schedule in [r#"{"kind": "cron", "expr": "0 3 * * *", "tz": "Europe/Oslo"}"#, r#"{"kind": "preset", "preset": {"interval": "daily", "hour": 3, "minutes": 5}}"#] {
        let body = format!(r#"{{"name": "x", "url": "https://e.com", "schedule": {schedule}}}"#);
        let r = api.send(raw(Box::leak(body.into_boxed_str()), Some("application/json"))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{schedule}: {}", r.text);
        assert_eq!(r.field_errors()[0].1, "unknown_field", "{schedule}");
    }
    let r = api.send(raw(r#"{"name": "x", "url": "https://e.com", "timeout_secs": "soon", "schedule": {"kind": "cron", "expr": "@daily"}}"#, Some("application/json"))).await;
    assert_eq!(r.field_errors(), vec![("timeout_secs".to_owned(), "invalid_type".to_owned())]);
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(api_fn::MAX_REQUEST_BODY + 1));
    let req = Request::builder().method(Method::POST).uri("/api/v1/jobs").header("authorization", auth.clone()).header("content-type", "application/json").body(Body::from(big)).unwrap();
    let r = api.send(req).await;
    assert_eq!((r.status, r.problem()), (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large"));
    let r = api.get("/api/v1/jobs/not-a-uuid", &org.api_key).await;
    assert_eq!((r.status, r.problem()), (StatusCode::BAD_REQUEST, "bad-request"));
    let r = api.get("/api/v1/jobs?limit=1000", &org.api_key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api.get("/api/v1/jobs?cursor=garbage", &org.api_key).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api.call(Method::PUT, "/api/v1/jobs", &org.api_key, None).await;
    assert_eq!((r.status, r.problem()), (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed"));
    let r = api.get("/api/v1/nothing-here", &org.api_key).await;
    assert_eq!((r.status, r.problem()), (StatusCode::NOT_FOUND, "not-found"));
    // a one-time job in the year 10000 is refused, not a database error
    let r = api.post("/api/v1/jobs", &org.api_key, json!({"name": "far", "url": "https://e.com", "schedule": {"kind": "once", "at": "+10000-01-01T00:00:00Z"}})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert_eq!(r.field_errors(), vec![("schedule.at".to_owned(), "instant_out_of_range".to_owned())]);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn free_plan_stops_at_five_jobs_even_when_creates_race(pool: PgPool) {
    let api = std::sync::Arc::new(Api::new(pool.clone()));
    let org = api.org("small", Tier::Free).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let api = api.clone();
        let key = org.api_key.clone();
        tasks.push(tokio::spawn(async move { api.post("/api/v1/jobs", &key, hourly(&format!("job {i}"))).await }));
    }
    let mut created = 0;
    let mut refused = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::CREATED => created += 1,
            StatusCode::FORBIDDEN => {
                assert_eq!(r.problem(), "job-limit-reached");
                assert!(r.json["detail"].as_str().unwrap().contains("Free plan allows 5 jobs"), "{r:?}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {r:?}"),
        }
    }
    assert_eq!((created, refused), (5, 3));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 5);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn keys_are_unique_per_organization(pool: PgPool) {
    let api = Api::new(pool);
    let org = api.org("acme", Tier::Pro).await;
    let other = api.org("other", Tier::Pro).await;
    let mut body = hourly("a");
    body["key"] = json!("same");
    api.job(&org.api_key, body.clone()).await;
    let r = api.post("/api/v1/jobs", &org.api_key, body.clone()).await;
    assert_eq!((r.status, r.problem()), (StatusCode::CONFLICT, "conflict"));
    api.job(&other.api_key, body).await;
    // taking another job's key on update is the same conflict, not a server error
    let second = api.job(&org.api_key, hourly("b")).await;
    let r = api.call(Method::PATCH, &format!("/api/v1/jobs/{second}"), &org.api_key, Some(json!({"key": "same"}))).await;
    assert_eq!((r.status, r.problem()), (StatusCode::CONFLICT, "conflict"), "{r:?}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn idempotent_create_replays_and_refuses_a_different_body(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let send = |body: serde_json::Value| api.call_with(Method::POST, "/api/v1/jobs", &org.api_key, Some(body), &[("idempotency-key", "create-1")]);
    let first = send(hourly("a")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = send(hourly("a")).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json, first.json);
    let other = send(hourly("b")).await;
    assert_eq!((other.status, other.problem()), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused"));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 1);
    // a failed request leaves the key free
    let bad = api.call_with(Method::POST, "/api/v1/jobs", &org.api_key, Some(json!({"name": ""})), &[("idempotency-key", "create-2")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let good = api.call_with(Method::POST, "/api/v1/jobs", &org.api_key, Some(hourly("c")), &[("idempotency-key", "create-2")]).await;
    assert_eq!(good.status, StatusCode::CREATED);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn list_pages_through_every_job_newest_first(pool: PgPool) {
    let api = Api::new(pool);
    let org = api.org("acme", Tier::Pro).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(api.job(&org.api_key, hourly(&format!("j{i}"))).await);
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut path = "/api/v1/jobs?limit=3".to_owned();
    loop {
        let r = api.get(&path, &org.api_key).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        seen.extend(r.json["data"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_owned()));
        match r.json["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/jobs?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn patch_merges_revalidates_and_moves_the_cursor_only_for_a_new_schedule(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let mut body = hourly("a");
    body["headers"] = json!({"X-A": "1"});
    let id = api.job(&org.api_key, body).await;
    let path = format!("/api/v1/jobs/{id}");
    let before = api.get(&path, &org.api_key).await.json;

    let r = api.call(Method::PATCH, &path, &org.api_key, Some(json!({"name": "renamed", "headers": null}))).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!((r.json["name"].as_str(), r.json["headers"].clone()), (Some("renamed"), json!([])), "null resets to the default");
    assert_eq!(r.json["url"], before["url"], "fields not sent stay");
    assert_eq!(r.json["next_run_at"], before["next_run_at"], "same schedule, same cursor");

    let r = api.call(Method::PATCH, &path, &org.api_key, Some(json!({"schedule": {"kind": "cron", "expr": "*/5 * * * *"}}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the Free plan's minimum interval holds on update");
    assert_eq!(r.field_errors()[0].1, "schedule_interval_below_tier");

    // at :30, so the daily run can never be the hourly one's next :00 (with "0 3 * * *" this
    // failed every day between 02:00 and 03:00 UTC)
    let r = api.call(Method::PATCH, &path, &org.api_key, Some(json!({"schedule": {"kind": "cron", "expr": "30 3 * * *"}}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["interval_minutes"], 1440);
    assert_ne!(r.json["next_run_at"], before["next_run_at"]);
    assert!(r.json["next_run_at"].as_str().is_some_and(|t| t.ends_with("T03:30:00Z")), "{}", r.json["next_run_at"]);

    let r = api.call(Method::PATCH, &path, &org.api_key, Some(json!({"enabled": false}))).await;
    assert_eq!((r.json["enabled"].as_bool(), r.json["next_run_at"].is_string()), (Some(false), true), "disabling keeps the cursor");
    let r = api.call(Method::PATCH, &path, &org.api_key, Some(json!({"id": "x"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.field_errors()[0].1, "unknown_field");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_fired_one_time_job_can_still_be_renamed(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let at = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let id = api.job(&org.api_key, json!({"name": "once", "url": "https://e.com", "schedule": {"kind": "once", "at": at}})).await;
    sqlx::query("UPDATE jobs SET once_at = now() - interval '1 day', next_run_at = NULL").execute(&pool).await.unwrap();
    let r = api.call(Method::PATCH, &format!("/api/v1/jobs/{id}"), &org.api_key, Some(json!({"name": "renamed"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = api.call(Method::PATCH, &format!("/api/v1/jobs/{id}"), &org.api_key, Some(json!({"schedule": {"kind": "once", "at": "2020-01-01T00:00:00Z"}}))).await;
    assert_eq!(r.field_errors(), vec![("schedule.at".to_owned(), "schedule_in_past".to_owned())], "a new past instant is refused");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn disable_enable_and_delete(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Pro).await;
    let id = api.job(&org.api_key, hourly("a")).await;
    let r = api.call(Method::POST, &format!("/api/v1/jobs/{id}/disable"), &org.api_key, None).await;
    assert_eq!((r.status, r.json["enabled"].as_bool()), (StatusCode::OK, Some(false)));
    let r = api.call(Method::POST, &format!("/api/v1/jobs/{id}/enable"), &org.api_key, None).await;
    assert_eq!((r.status, r.json["enabled"].as_bool()), (StatusCode::OK, Some(true)));
    assert!(r.json["next_run_at"].is_string());
    let r = api.call(Method::DELETE, &format!("/api/v1/jobs/{id}"), &org.api_key, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = api.call(Method::DELETE, &format!("/api/v1/jobs/{id}"), &org.api_key, None).await;
    assert_eq!((r.status, r.problem()), (StatusCode::NOT_FOUND, "not-found"));
    assert_eq!(api.get(&format!("/api/v1/jobs/{id}"), &org.api_key).await.status, StatusCode::NOT_FOUND);
}

/// Credentials in job headers are never echoed: reads show them masked, a job read and written
/// back keeps its secret, and a new value replaces it.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn secret_header_values_are_masked_and_survive_a_round_trip(pool: PgPool) {
    let api = Api::new(pool.clone());
    let org = api.org("acme", Tier::Free).await;
    let mut body = hourly("with credentials");
    body["headers"] = json!({"Authorization": "Bearer sk_live_0123456789abcdef", "X-Job": "nightly"});
    let id = api.job(&org.api_key, body).await;
    // what is stored, opened with the organization's key (at rest it is sealed)
    let key = api.state.keyring.org_key(&pool, org.org_id).await.unwrap();
    let stored = || async {
        let h: sqlx::types::Json<Vec<(String, String)>> = sqlx::query_scalar("SELECT headers FROM jobs WHERE id = $1::uuid").bind(&id).fetch_one(&pool).await.unwrap();
        assert!(!serde_json::to_string(&h.0).unwrap().contains("Bearer"), "sealed at rest: {:?}", h.0);
        format!("{:?}", key.open_headers(&h.0).unwrap())
    };
    let r = api.get(&format!("/api/v1/jobs/{id}"), &org.api_key).await;
    assert!(!r.text.contains("sk_live_0123456789abcdef"), "{}", r.text);
    assert_eq!(r.json["headers"], json!([{"name": "Authorization", "value": "********cdef"}, {"name": "X-Job", "value": "nightly"}]));

    // written back as read: the secret is kept
    let r = api.call(Method::PATCH, &format!("/api/v1/jobs/{id}"), &org.api_key, Some(json!({"headers": r.json["headers"], "name": "renamed"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert!(stored().await.contains("Bearer sk_live_0123456789abcdef"), "{}", stored().await);
    // a new value replaces it
    let r = api.call(Method::PATCH, &format!("/api/v1/jobs/{id}"), &org.api_key, Some(json!({"headers": {"Authorization": "Bearer new-token-value-xyz1"}}))).await;
    assert_eq!(r.json["headers"][0]["value"], "********xyz1");
    assert!(stored().await.contains("Bearer new-token-value-xyz1"));
}

/// Every path that stores a request's headers seals its credentials (and nothing else) with the
/// organization's key: create (alone and coalesced), update, sync, queue; a trigger copies them
/// sealed. Writing the same values again changes nothing (a sync reports them unchanged).
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn credentials_are_sealed_at_rest_on_every_write_path(pool: PgPool) {
    let api = Api::new(pool.clone());
    let free = api.org("free", Tier::Free).await;
    let pro = api.org("pro", Tier::Pro).await;
    let creds = json!({"Authorization": "Bearer sk_live_0123456789abcdef", "X-Api-Key": "key-0123456789abcdef", "X-Job": "nightly"});
    for org in [&free, &pro] {
        let mut body = hourly("created");
        body["headers"] = creds.clone();
        let id = api.job(&org.api_key, body).await;
        let r = api.call(Method::PATCH, &format!("/api/v1/jobs/{id}"), &org.api_key, Some(json!({"headers": {"Authorization": "Bearer patched-0123456789abcdef"}}))).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        let r = api.call(Method::POST, &format!("/api/v1/jobs/{id}/trigger"), &org.api_key, None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
        let r = api.call(Method::POST, "/api/v1/queue", &org.api_key, Some(json!({"url": "https://example.com/q", "headers": creds}))).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{r:?}");
        let mut synced = hourly("synced");
        synced["key"] = json!("synced");
        synced["headers"] = creds.clone();
        let put = || api.call(Method::PUT, "/api/v1/sync", &org.api_key, Some(json!({"jobs": [synced.clone()]})));
        let r = put().await;
        assert_eq!(r.json["created"].as_array().map(Vec::len), Some(1), "{r:?}");
        let r = put().await;
        assert_eq!(r.json["unchanged"].as_array().map(Vec::len), Some(1), "the same plain values as the sealed ones: unchanged: {r:?}");
    }
    let at_rest: String = sqlx::query_scalar("SELECT (SELECT string_agg(headers::text, ',') FROM jobs) || (SELECT string_agg(headers::text, ',') FROM executions)").fetch_one(&pool).await.unwrap();
    for plain in ["sk_live", "patched-", "key-0123"] {
        assert!(!at_rest.contains(plain), "{plain} at rest: {at_rest}");
    }
    assert!(at_rest.contains("nightly"), "other headers stay plain: {at_rest}");
    // and they open to what was written, each with its own organization's key only
    let rows: Vec<(uuid::Uuid, sqlx::types::Json<Vec<(String, String)>>)> =
        sqlx::query_as("SELECT org_id, headers FROM executions WHERE source = 'queue'").fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), 2);
    for (org_id, headers) in rows {
        let own = api.state.keyring.org_key(&pool, org_id).await.unwrap();
        assert_eq!(own.open_headers(&headers.0).unwrap()[1], ("X-Api-Key".to_owned(), "key-0123456789abcdef".to_owned()));
        let other = api.state.keyring.org_key(&pool, if org_id == free.org_id { pro.org_id } else { free.org_id }).await.unwrap();
        assert!(other.open_headers(&headers.0).is_err());
    }
}
