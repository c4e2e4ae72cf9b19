//! End to end: jobs and calls created through the REST API (the real router, in process) are
//! delivered by the real dispatcher to a real receiver on 127.0.0.1, signed with the
//! organization's secret, and their executions are visible through the API afterwards.

mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{Receiver, stack, verify};

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn jobs_and_calls_made_through_the_api_are_delivered_and_visible(pool: PgPool) {
    let receiver = Receiver::start().await;
    let (org, api, dispatcher) = stack(&pool).await;

    // 1. A one-time job due in two seconds: scheduled by the dispatcher from what the API stored.
    let at = (Utc::now() + chrono::TimeDelta::seconds(2)).to_rfc3339();
    let (status, job) = api
        .call(Method::POST, "/api/v1/jobs", Some(json!({"name": "launch", "url": format!("{}/launch", receiver.base), "body": "{\"go\":true}", "schedule": {"kind": "once", "at": at},
            "headers": {"Authorization": "Bearer sk_live_0123456789abcdef", "X-Job": "launch"}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let job_id = job["id"].as_str().unwrap().to_owned();
    let got = receiver.next().await;
    assert_eq!((got.path.as_str(), got.body.as_ref()), ("/launch", b"{\"go\":true}".as_ref()));
    verify(&org.signing_secret, &got.headers, &got.body);
    // stored sealed (signing secret and credential), sent as written
    assert_eq!(got.headers["authorization"], "Bearer sk_live_0123456789abcdef");
    assert_eq!(got.headers["x-job"], "launch");
    let at_rest: String = sqlx::query_scalar("SELECT (SELECT string_agg(secret, ',') FROM signing_secrets) || (SELECT string_agg(headers::text, ',') FROM jobs) || (SELECT string_agg(headers::text, ',') FROM executions)")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!at_rest.contains("sk_live_0123456789abcdef") && !at_rest.contains(&org.signing_secret), "{at_rest}");
    let (_, page) = api.call(Method::GET, &format!("/api/v1/jobs/{job_id}/executions"), None).await;
    let exec_id = page["data"][0]["id"].as_str().expect("the run is listed").to_owned();
    let e = api.finished_execution(&exec_id).await;
    assert_eq!((e["status"].as_str(), e["source"].as_str(), e["response"]["status"].as_i64()), (Some("success"), Some("schedule"), Some(200)));
    assert_eq!(got.headers["webhook-id"].to_str().unwrap(), e["message_id"].as_str().unwrap(), "the webhook-id the API shows");
    assert_eq!(e["response"]["body"], "received");

    // 2. Trigger now: a manual run of the same job.
    let (status, manual) = api.call(Method::POST, &format!("/api/v1/jobs/{job_id}/trigger"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{manual}");
    let got = receiver.next().await;
    assert_eq!(got.headers["webhook-id"].to_str().unwrap(), manual["message_id"].as_str().unwrap());
    assert_eq!(got.headers["authorization"], "Bearer sk_live_0123456789abcdef", "a triggered run sends the job's credential");
    assert_eq!(api.finished_execution(manual["id"].as_str().unwrap()).await["status"], "success");

    // 3. A queued call, then its redelivery: the same message again.
    let (status, queued) = api.call(Method::POST, "/api/v1/queue", Some(json!({"url": format!("{}/queue", receiver.base), "method": "PUT", "body": "q", "headers": {"X-Api-Key": "queued-key-0123456789"}}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let got = receiver.next().await;
    assert_eq!((got.path.as_str(), got.body.as_ref()), ("/queue", b"q".as_ref()));
    let queued_id = queued["id"].as_str().unwrap();
    assert_eq!(api.finished_execution(queued_id).await["status"], "success");
    let (status, again) = api.call(Method::POST, &format!("/api/v1/executions/{queued_id}/redeliver"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    let got = receiver.next().await;
    assert_eq!(got.headers["webhook-id"].to_str().unwrap(), queued["message_id"].as_str().unwrap(), "a redelivery is the same message");
    assert_eq!(got.headers["x-api-key"], "queued-key-0123456789", "a redelivery sends the queued call's credential");
    let at_rest: String = sqlx::query_scalar("SELECT string_agg(headers::text, ',') FROM executions").fetch_one(&pool).await.unwrap();
    assert!(!at_rest.contains("queued-key-0123456789") && at_rest.contains("sealed:v1:"), "sealed: {at_rest}");
    verify(&org.signing_secret, &got.headers, &got.body);
    assert_eq!(api.finished_execution(again["id"].as_str().unwrap()).await["status"], "success");

    dispatcher.shutdown().await;
}

/// The history the API shows for a call that failed every attempt is the one the dispatcher's
/// recorder wrote: each earlier attempt, the last response, the reason it gave up.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_history_of_a_failing_call_is_what_the_recorder_wrote(pool: PgPool) {
    let receiver = Receiver::answering(&[503, 502, 500]).await;
    let (_org, api, dispatcher) = stack(&pool).await;
    let (status, queued) = api
        .call(Method::POST, "/api/v1/queue", Some(json!({"url": format!("{}/flaky", receiver.base), "retry": {"max_attempts": 3, "base_delay_secs": 1}})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    for _ in 0..3 {
        receiver.next().await;
    }
    let e = api.finished_execution(queued["id"].as_str().unwrap()).await;
    assert_eq!((e["status"].as_str(), e["attempt"].as_i64(), e["max_attempts"].as_i64()), (Some("failed"), Some(3), Some(3)));
    assert_eq!(e["response"]["status"], 500);
    assert_eq!(e["response"]["body"], "received");
    assert_eq!(e["error"], "gave up after 3 attempt(s); the last one failed: HTTP 500");
    let attempts: Vec<(i64, &str, i64)> = e["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["attempt"].as_i64().unwrap(), a["status"].as_str().unwrap(), a["response_status"].as_i64().unwrap()))
        .collect();
    assert_eq!(attempts, vec![(1, "failed", 503), (2, "failed", 502)]);
    for a in e["attempts"].as_array().unwrap() {
        assert!(a["duration_ms"].as_i64().is_some_and(|ms| ms >= 0), "{a}");
        let at = |k: &str| a[k].as_str().unwrap().parse::<chrono::DateTime<Utc>>().unwrap();
        assert!(at("started_at") <= at("finished_at"), "{a}");
    }
    dispatcher.shutdown().await;
}

/// `POST /api/v1/notification-channels/{id}/test` through the whole stack: the API queues the
/// message, the dispatcher sends it, and the API answers with what the endpoint said.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_channel_test_message_is_sent_by_the_dispatcher_and_its_answer_returned(pool: PgPool) {
    let receiver = Receiver::answering(&[200, 410]).await;
    let (org, api, dispatcher) = stack(&pool).await;
    // the API waits for a live dispatcher only: wait for this one's first heartbeat
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store::status::scheduler(&pool, Utc::now()).await.unwrap().instances == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the dispatcher never beat");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, channel) =
        api.call(Method::POST, "/api/v1/notification-channels", Some(json!({"kind": "webhook", "target": format!("{}/alerts", receiver.base)}))).await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    let path = format!("/api/v1/notification-channels/{}/test", channel["id"].as_str().unwrap());
    let (status, sent) = api.call(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!((sent["status"].as_str(), sent["response_status"].as_i64(), sent["attempts"].as_i64()), (Some("sent"), Some(200), Some(1)));
    let got = receiver.next().await;
    assert_eq!(got.path, "/alerts");
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!((body["type"].as_str(), body["organization"]["name"].as_str()), (Some("test"), Some("E2E")));
    verify(&org.signing_secret, &got.headers, &got.body);

    let (status, failed) = api.call(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!((failed["status"].as_str(), failed["response_status"].as_i64(), failed["error"].as_str()), (Some("failed"), Some(410), Some("the endpoint answered HTTP 410")));
    dispatcher.shutdown().await;
}
