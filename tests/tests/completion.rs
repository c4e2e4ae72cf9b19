//! End to end: a job with a completion window, through the REST API, the real dispatcher and a
//! real receiver. Its endpoint gets the run's completion URL in `Prikke-Completion-Url`; the run
//! waits for that URL after a 2xx, succeeds when it is called, and fails with a
//! `completion.missed` alert (sent to the organization's webhook channel) when it is not.

mod support;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{Api, Receiver, stack, verify};

/// Triggers the job, takes the completion URL's path from the delivery, and returns the run once
/// the dispatcher has recorded its call.
async fn run(api: &Api, receiver: &Receiver, job_id: &str) -> (Value, String) {
    let (status, run) = api.call(Method::POST, &format!("/api/v1/jobs/{job_id}/trigger"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let got = receiver.next().await;
    let url = got.headers.get("prikke-completion-url").expect("the completion URL is sent").to_str().unwrap().to_owned();
    // the dispatcher's default public URL; the path is what a client calls
    let path = url.strip_prefix("http://127.0.0.1:8080").expect("the public URL first").to_owned();
    assert!(path.starts_with("/ping/c/"), "{url}");
    (api.finished_execution(run["id"].as_str().unwrap()).await, path)
}

/// The alert webhook's next event.
async fn alert(alerts: &Receiver, secret: &str) -> Value {
    let got = alerts.next().await;
    verify(secret, &got.headers, &got.body);
    serde_json::from_slice(&got.body).unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_run_waits_for_its_completion_url_and_fails_with_an_alert_when_it_is_not_called(pool: PgPool) {
    let receiver = Receiver::start().await;
    let alerts = Receiver::start().await;
    let (org, api, dispatcher) = stack(&pool).await;
    let (status, channel) = api
        .call(Method::POST, "/api/v1/notification-channels", Some(json!({"kind": "webhook", "target": format!("{}/alerts", alerts.base)})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    let far = (Utc::now() + chrono::TimeDelta::days(400)).to_rfc3339();
    let (status, job) = api
        .call(Method::POST, "/api/v1/jobs", Some(json!({"name": "export", "url": format!("{}/export", receiver.base),
              "completion_window_secs": 600, "schedule": {"kind": "once", "at": far}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let job_id = job["id"].as_str().unwrap();

    // 1. The endpoint answers 200: the run waits; calling its completion URL completes it.
    let (e, path) = run(&api, &receiver, job_id).await;
    assert_eq!((e["status"].as_str(), e["completion"]["state"].as_str()), (Some("waiting"), Some("waiting")), "{e}");
    let deadline: DateTime<Utc> = e["completion"]["deadline"].as_str().unwrap().parse().unwrap();
    let started: DateTime<Utc> = e["started_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(deadline - started, chrono::TimeDelta::seconds(600), "the window counts from when the call was sent");
    let (status, done) = api.call(Method::POST, &path, None).await;
    assert_eq!((status, done["completion"].as_str()), (StatusCode::OK, Some("on_time")), "{done}");
    let (_, e) = api.call(Method::GET, &format!("/api/v1/executions/{}", e["id"].as_str().unwrap()), None).await;
    assert_eq!((e["status"].as_str(), e["completion"]["state"].as_str()), (Some("success"), Some("completed")), "{e}");
    let (_, again) = api.call(Method::GET, &path, None).await;
    assert_eq!(again["completion"], "recorded", "a second call changes nothing");

    // 2. Never called: once its window has passed, the dispatcher fails the run and alerts.
    // (The window is moved into the past rather than waited out.)
    let (e, path) = run(&api, &receiver, job_id).await;
    let missed = e["id"].as_str().unwrap().to_owned();
    sqlx::query("UPDATE executions SET completion_deadline = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&missed)
        .execute(&pool)
        .await
        .unwrap();
    let event = alert(&alerts, &org.signing_secret).await;
    assert_eq!(event["type"], "completion.missed", "{event}");
    assert_eq!(event["data"]["execution"]["id"], missed.as_str());
    let (_, e) = api.call(Method::GET, &format!("/api/v1/executions/{missed}"), None).await;
    assert_eq!((e["status"].as_str(), e["completion"]["state"].as_str()), (Some("failed"), Some("missed")), "{e}");
    assert!(e["error"].as_str().unwrap().contains("did not call its completion URL within the 600 s window"), "{e}");
    let (_, late) = api.call(Method::GET, &path, None).await;
    assert_eq!(late["completion"], "recorded", "too late: the run stays failed");
    let (_, e) = api.call(Method::GET, &format!("/api/v1/executions/{missed}"), None).await;
    assert_eq!((e["status"].as_str(), e["completion"]["state"].as_str()), (Some("failed"), Some("late")), "{e}");

    // 3. The next run completes on time: the job recovers, and says so.
    let (e, path) = run(&api, &receiver, job_id).await;
    assert_eq!(e["status"], "waiting");
    assert_eq!(api.call(Method::GET, &path, None).await.1["completion"], "on_time");
    assert_eq!(alert(&alerts, &org.signing_secret).await["type"], "job.recovered");

    // An unknown completion URL is a 404, and a job without a window sends no header.
    let (status, problem) = api.call(Method::GET, "/ping/c/0123456789abcdef0123456789abcdef", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let (_, plain) = api
        .call(Method::POST, "/api/v1/jobs", Some(json!({"name": "plain", "url": format!("{}/plain", receiver.base), "schedule": {"kind": "once", "at": far}})))
        .await;
    api.call(Method::POST, &format!("/api/v1/jobs/{}/trigger", plain["id"].as_str().unwrap()), None).await;
    let got = receiver.next().await;
    assert_eq!(got.path, "/plain");
    assert!(got.headers.get("prikke-completion-url").is_none());
    dispatcher.shutdown().await;
}
