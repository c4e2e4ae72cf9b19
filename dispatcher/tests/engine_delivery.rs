//! The dispatcher end to end, in process: real Postgres, a real receiver on 127.0.0.1, the real
//! engine (leader, scheduler, pump, recorder). Covers on-time signed delivery, retries, overlap,
//! quota, catch-up and graceful shutdown.

mod support;

use std::time::Duration;

use chrono::{DurationRound, Utc};
use dispatcher::{OffsetClock, SystemClock};
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::{Receiver, Reply, shared};

/// A clock whose "now" is `from` away from a minute boundary (which it returns), so a test
/// decides where in its minute it runs instead of the wall clock.
fn clock_at(from: chrono::Duration) -> (OffsetClock, chrono::DateTime<Utc>) {
    let real = Utc::now();
    let boundary = (real + chrono::Duration::seconds(70)).duration_trunc(chrono::Duration::minutes(1)).unwrap();
    (OffsetClock(boundary + from - real), boundary)
}

/// 2.5 s before a minute boundary, so a `* * * * *` job is due shortly.
fn clock_before_a_minute() -> (OffsetClock, chrono::DateTime<Utc>) {
    clock_at(chrono::Duration::milliseconds(-2500))
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_cron_job_fires_at_its_second_signed_and_recorded(pool: PgPool) {
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;
    let (clock, boundary) = clock_before_a_minute();
    let job = support::job(
        &pool,
        org,
        json!({"name": "every minute", "url": receiver.url("/tick"), "body": "{\"n\":1}",
               "headers": {"X-Team": "ops"}, "schedule": {"kind": "cron", "expr": "* * * * *"}}),
        dispatcher::Clock::now(&clock),
    )
    .await;
    assert_eq!(job.next_run_at, Some(boundary));
    let d = support::start(&pool, shared(clock), |_| {}).await;

    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let req = &got[0];
    let arrived = req.at + clock.0;
    // Causality, not speed (how close to the second is the benchmarks' business): never before
    // its instant, and as this minute's occurrence, not the next one's.
    let lag = arrived - boundary;
    assert!(lag >= chrono::Duration::zero(), "fired {lag} early");
    assert!(lag < chrono::Duration::minutes(1), "fired {lag} late: that is the next occurrence's time");

    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/tick"));
    assert_eq!(req.body.as_ref(), b"{\"n\":1}");
    assert_eq!(req.header("x-team"), "ops");
    assert!(req.header("user-agent").starts_with("Prikke/"), "{}", req.header("user-agent"));
    let (id, ts, sig) = (req.header("webhook-id"), req.header("webhook-timestamp"), req.header("webhook-signature"));
    assert!(support::verify_by_hand(support::SECRET, id, ts, sig, &req.body), "independent verifier rejects {sig}");
    let secret: domain::signing::SigningSecret = support::SECRET.parse().unwrap();
    domain::signing::verify(&[secret], id, ts, sig, &req.body, arrived.timestamp(), 300).expect("domain verifier");
    let signed_for: i64 = ts.parse().unwrap();
    assert!(signed_for >= boundary.timestamp() && signed_for <= arrived.timestamp(), "signed for {signed_for}, due {boundary}, arrived {arrived}");

    let exec_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM executions WHERE job_id = $1").bind(job.id).fetch_one(&pool).await.unwrap();
    let e = support::wait_final(&pool, exec_id, Duration::from_secs(5)).await;
    assert_eq!(id, format!("msg_{}", e.message_id.simple()));
    assert_eq!((e.status.as_str(), e.response_status, e.attempt), ("success", Some(200), 1));
    assert_eq!(e.scheduled_for, boundary);
    assert!(e.duration_ms.is_some_and(|ms| ms >= 0));
    assert_eq!(e.response_body.as_deref(), Some("ok"));
    assert!(e.response_headers.as_ref().is_some_and(|h| h.0.iter().any(|(k, v)| k == "x-receiver" && v == "yes")));
    let cursor: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT next_run_at FROM jobs WHERE id = $1").bind(job.id).fetch_one(&pool).await.unwrap();
    assert_eq!(cursor, Some(boundary + chrono::Duration::minutes(1)));
    d.shutdown().await;
}

/// Runs are built and signed while they wait for their second; one that is sent in a later
/// second (here: it waits 1.5 s for the only delivery permit) is signed again with the time it
/// is actually sent, never with the stale one.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_run_sent_in_a_later_second_than_it_was_due_is_signed_with_the_send_time(pool: PgPool) {
    let receiver = Receiver::start(|_, n| Reply { delay: (n == 0).then_some(Duration::from_millis(1500)), ..Reply::status(200) }).await;
    let org = support::org(&pool, Tier::Pro).await;
    let at = Utc::now() + chrono::Duration::milliseconds(500);
    let ids = [
        support::queue(&pool, org, &receiver.url("/first"), at, 1, 1).await,
        support::queue(&pool, org, &receiver.url("/second"), at, 1, 1).await,
    ];
    let d = support::start(&pool, shared(SystemClock), |c| {
        (c.concurrency_min, c.concurrency_max) = (1, 1);
    })
    .await;

    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    let secret: domain::signing::SigningSecret = support::SECRET.parse().unwrap();
    for req in &got {
        let (id, ts, sig) = (req.header("webhook-id"), req.header("webhook-timestamp"), req.header("webhook-signature"));
        assert!(support::verify_by_hand(support::SECRET, id, ts, sig, &req.body), "independent verifier rejects {sig}");
        domain::signing::verify(&[secret.clone()], id, ts, sig, &req.body, req.at.timestamp(), 300).expect("domain verifier");
        let ts: i64 = ts.parse().unwrap();
        assert!(ts >= at.timestamp() && ts <= req.at.timestamp(), "timestamp {ts}: due {}, arrived {}", at.timestamp(), req.at);
    }
    let late = &got[1];
    assert!(late.at - got[0].at >= chrono::Duration::milliseconds(1400), "the second run did not wait for the permit");
    let late_ts: i64 = late.header("webhook-timestamp").parse().unwrap();
    assert!(late_ts > at.timestamp(), "sent at {} but signed with the due second {late_ts}", late.at);
    for id in ids {
        assert_eq!(support::wait_final(&pool, id, Duration::from_secs(5)).await.status, "success");
    }
    d.shutdown().await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn retries_on_5xx_with_the_same_webhook_id_and_keep_every_attempt(pool: PgPool) {
    let receiver = Receiver::start(|_, n| Reply::status(if n < 2 { 503 } else { 200 })).await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let id = support::queue(&pool, org, &receiver.url("/flaky"), Utc::now(), 5, 1).await;

    let got = receiver.wait_for(3, Duration::from_secs(15)).await;
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "webhook-id changed across retries: {ids:?}");
    assert!(got[1].at - got[0].at >= chrono::Duration::milliseconds(500), "backoff too short");
    let e = support::wait_final(&pool, id, Duration::from_secs(5)).await;
    assert_eq!((e.status.as_str(), e.attempt, e.response_status), ("success", 3, Some(200)));
    let attempts = store::executions::attempts(&pool, org, id).await.unwrap();
    assert_eq!(attempts.iter().map(|a| (a.attempt, a.response_status)).collect::<Vec<_>>(), vec![(1, Some(503)), (2, Some(503))]);
    assert_eq!(receiver.received().len(), 3);
    d.shutdown().await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_client_error_is_not_retried_and_raises_an_alert(pool: PgPool) {
    let receiver = Receiver::start(|_, _| Reply::status(404)).await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let id = support::queue(&pool, org, &receiver.url("/gone"), Utc::now(), 5, 1).await;
    let e = support::wait_final(&pool, id, Duration::from_secs(10)).await;
    assert_eq!((e.status.as_str(), e.attempt, e.response_status), ("failed", 1, Some(404)));
    assert!(e.error.as_deref().is_some_and(|m| m.contains("404")), "{:?}", e.error);
    let alerts: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events WHERE execution_id = $1 AND kind = 'job_failed'")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(alerts, 1);
    d.shutdown().await;
    assert_eq!(receiver.received().len(), 1, "no retry after the outcome was recorded");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn retry_after_is_honoured(pool: PgPool) {
    let receiver = Receiver::start(|_, n| {
        if n == 0 { Reply { headers: vec![("retry-after", "3".into())], ..Reply::status(429) } } else { Reply::status(200) }
    })
    .await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let id = support::queue(&pool, org, &receiver.url("/busy"), Utc::now(), 3, 1).await;
    let got = receiver.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(support::wait_final(&pool, id, Duration::from_secs(5)).await.status, "success");
    // The retry was planned exactly Retry-After after the first attempt ended (the backoff of a
    // 1 s base is shorter, so the header decides), and it was not sent before that instant.
    let first = &store::executions::attempts(&pool, org, id).await.unwrap()[0];
    assert_eq!((first.attempt, first.response_status), (1, Some(429)));
    let retry_at: chrono::DateTime<Utc> = sqlx::query_scalar("SELECT run_at FROM executions WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(retry_at - first.finished_at, chrono::Duration::seconds(3), "planned {retry_at}, first attempt ended {}", first.finished_at);
    assert!(got[1].at >= retry_at, "retried at {}, before Retry-After allowed ({retry_at})", got[1].at);
    d.shutdown().await;
}

/// The give-up branch: every attempt answered 503, so after the last one the run is `failed`,
/// once, with every attempt kept and one alert.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn after_the_last_retry_the_run_fails_with_every_attempt_kept_and_one_alert(pool: PgPool) {
    let receiver = Receiver::start(|_, _| Reply::status(503)).await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let id = support::queue(&pool, org, &receiver.url("/down"), Utc::now(), 3, 1).await;
    let e = support::wait_final(&pool, id, Duration::from_secs(20)).await;
    assert_eq!((e.status.as_str(), e.attempt, e.response_status), ("failed", 3, Some(503)));
    assert_eq!(e.error.as_deref(), Some("gave up after 3 attempt(s); the last one failed: HTTP 503"));
    let attempts = store::executions::attempts(&pool, org, id).await.unwrap();
    assert_eq!(attempts.iter().map(|a| (a.attempt, a.status.as_str(), a.response_status)).collect::<Vec<_>>(), vec![(1, "failed", Some(503)), (2, "failed", Some(503))]);
    let alerts: Vec<(String, serde_json::Value)> = sqlx::query_as("SELECT kind, details FROM alert_events WHERE org_id = $1")
        .bind(org)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].0, "job_failed");
    assert_eq!((alerts[0].1["status"].as_str(), alerts[0].1["attempts"].as_i64(), alerts[0].1["response_status"].as_i64()), (Some("failed"), Some(3), Some(503)));
    d.shutdown().await;
    let got = receiver.received();
    assert_eq!(got.len(), 3, "three attempts, no fourth");
    let message = format!("msg_{}", e.message_id.simple());
    assert!(got.iter().all(|r| r.header("webhook-id") == message), "one webhook-id for every attempt");
}

/// A receiver that never answers: the call is cut at its timeout and the run ends `timeout`.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_receiver_that_never_answers_ends_in_timeout(pool: PgPool) {
    let never = support::Gate::new();
    let receiver = Receiver::start(move |_, _| Reply::held(200, &never)).await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let id = support::queue_with_timeout(&pool, org, &receiver.url("/hang"), Utc::now(), 1, 1, 1).await;
    let e = support::wait_final(&pool, id, Duration::from_secs(15)).await;
    assert_eq!((e.status.as_str(), e.attempt, e.response_status), ("timeout", 1, None));
    let said = format!("gave up after 1 attempt(s); the last one failed: the request timed out (timed out after 1 s: no response from {})", receiver.addr);
    assert_eq!(e.error.as_deref(), Some(said.as_str()));
    let started = e.started_at.expect("it was sent");
    assert!(e.finished_at.unwrap() - started >= chrono::Duration::seconds(1), "cut before its 1 s timeout");
    let kinds: Vec<(String, String)> = sqlx::query_as("SELECT kind, details->>'status' FROM alert_events WHERE execution_id = $1")
        .bind(id)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(kinds, vec![("job_failed".to_owned(), "timeout".to_owned())]);
    d.shutdown().await;
    assert_eq!(receiver.received().len(), 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn private_targets_are_refused_unless_allow_listed(pool: PgPool) {
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |c| c.allow_targets.clear()).await;
    let id = support::queue(&pool, org, &receiver.url("/internal"), Utc::now(), 5, 1).await;
    let e = support::wait_final(&pool, id, Duration::from_secs(10)).await;
    assert_eq!((e.status.as_str(), e.attempt), ("failed", 1), "refusals are final, not retried");
    let error = e.error.unwrap_or_default();
    assert!(error.contains("refused") && error.contains("127.0.0.1"), "{error}");
    d.shutdown().await;
    assert!(receiver.received().is_empty(), "nothing reached the loopback receiver");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn overlap_skip_records_a_run_that_came_due_while_the_previous_ran(pool: PgPool) {
    let receiver = Receiver::start(|_, _| Reply { delay: Some(Duration::from_secs(3)), ..Reply::status(200) }).await;
    let org = support::org(&pool, Tier::Pro).await;
    let now = Utc::now();
    let job = support::job(
        &pool,
        org,
        json!({"name": "slow", "url": receiver.url("/slow"), "overlap": "skip",
               "schedule": {"kind": "cron", "expr": "0 0 1 1 *"}}),
        now + chrono::Duration::days(400), // its own next run stays out of the test, even on 31 December
    )
    .await;
    let mut tx = pool.begin().await.unwrap();
    let run = |at| store::dispatch::PlannedRun { job_id: job.id, scheduled_for: at, priority: 110, skipped: None };
    store::dispatch::insert_runs(&mut tx, &[run(now), run(now + chrono::Duration::seconds(1))], now).await.unwrap();
    tx.commit().await.unwrap();
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM executions WHERE job_id = $1 ORDER BY scheduled_for")
        .bind(job.id)
        .fetch_all(&pool)
        .await
        .unwrap();
    let second = support::wait_final(&pool, ids[1], Duration::from_secs(10)).await;
    assert_eq!(second.status, "skipped");
    assert!(second.status_reason.as_deref().unwrap_or_default().contains("overlap"), "{:?}", second.status_reason);
    assert_eq!(support::wait_final(&pool, ids[0], Duration::from_secs(10)).await.status, "success");
    assert_eq!(receiver.received().len(), 1);
    d.shutdown().await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn over_quota_runs_are_skipped_at_dispatch_not_dropped(pool: PgPool) {
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Free).await;
    // this month and the next: the quota still holds if the month turns while the test runs
    sqlx::query(
        "INSERT INTO usage_counters (org_id, month, executions)
         SELECT $1, (date_trunc('month', now() AT TIME ZONE 'UTC') + m * interval '1 month')::date, 5000 FROM generate_series(0, 1) m",
    )
    .bind(org)
    .execute(&pool)
    .await
    .unwrap();
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let id = support::queue(&pool, org, &receiver.url("/q"), Utc::now(), 5, 1).await;
    let e = support::wait_final(&pool, id, Duration::from_secs(10)).await;
    assert_eq!(e.status, "skipped");
    assert!(e.status_reason.as_deref().unwrap_or_default().contains("over quota"));
    d.shutdown().await;
    assert!(receiver.received().is_empty());
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn after_downtime_the_missed_run_policy_runs_once(pool: PgPool) {
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;
    // 15 s into a minute, so that minute's run cannot turn into a missed one while the dispatcher
    // starts (with the real clock at hh:mm:59.9 it did, and nothing before it ran)
    let (clock, _) = clock_at(chrono::Duration::seconds(15));
    let now = dispatcher::Clock::now(&clock);
    let job = support::job(
        &pool,
        org,
        json!({"name": "m", "url": receiver.url("/m"), "schedule": {"kind": "cron", "expr": "* * * * *"}}),
        now,
    )
    .await;
    // the dispatcher was "down" for ten minutes: the cursor is ten occurrences behind
    let behind = now.duration_trunc(chrono::Duration::minutes(1)).unwrap() - chrono::Duration::minutes(10);
    sqlx::query("UPDATE jobs SET next_run_at = $2 WHERE id = $1").bind(job.id).bind(behind).execute(&pool).await.unwrap();
    let d = support::start(&pool, shared(clock), |_| {}).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM executions WHERE job_id = $1 AND scheduled_for < $2 GROUP BY status ORDER BY status",
    )
    .bind(job.id)
    .bind(now - chrono::Duration::seconds(60))
    .fetch_all(&pool)
    .await
    .unwrap();
    let skipped = counts.iter().find(|c| c.0 == "skipped").map_or(0, |c| c.1);
    let ran = counts.iter().filter(|c| c.0 != "skipped").map(|c| c.1).sum::<i64>();
    assert_eq!(ran, 1, "run once: only the latest missed occurrence ran ({counts:?})");
    assert_eq!(skipped, 9, "the other nine missed minutes are recorded as skipped ({counts:?})");
    d.shutdown().await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn graceful_shutdown_finishes_in_flight_calls_and_hands_back_the_rest(pool: PgPool) {
    let receiver = Receiver::start(|_, _| Reply { delay: Some(Duration::from_millis(1500)), ..Reply::status(200) }).await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |c| c.prefetch = Duration::from_secs(5)).await;
    let now = Utc::now();
    let in_flight = support::queue(&pool, org, &receiver.url("/now"), now, 5, 1).await;
    let held = support::queue(&pool, org, &receiver.url("/later"), now + chrono::Duration::seconds(4), 5, 1).await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    // the held run gets claimed (prefetch) before it is due
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while support::status_of(&pool, held).await.0 != "running" {
        assert!(tokio::time::Instant::now() < deadline, "the held run was never pre-claimed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    d.shutdown().await;
    let e = store::executions::get(&pool, org, in_flight).await.unwrap().unwrap();
    assert_eq!(e.status, "success", "the in-flight call finished and was recorded");
    assert_eq!(support::status_of(&pool, held).await, ("pending".to_owned(), 0, None), "handed back, attempt not counted");
}

/// Rows written behind the API's back (a manual edit, a bug) that the domain refuses: each is
/// failed with a reason that says what could not be read, once, and every other run is
/// delivered as usual. Nothing runs with made-up settings.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn rows_that_do_not_decode_fail_with_a_reason_and_the_others_are_delivered(pool: PgPool) {
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;
    let now = Utc::now();
    let soon = now + chrono::Duration::seconds(1);
    let once = |name: &str, path: &str| json!({"name": name, "url": receiver.url(path), "schedule": {"kind": "once", "at": soon.to_rfc3339()}});
    let good_job = support::job(&pool, org, once("good", "/good-job"), now).await;
    let bad_schedule = support::job(
        &pool,
        org,
        json!({"name": "bad schedule", "url": receiver.url("/never-1"), "schedule": {"kind": "cron", "expr": "* * * * *"}}),
        now,
    )
    .await;
    sqlx::query("UPDATE jobs SET cron_expr = '61 * * * *', next_run_at = $2 WHERE id = $1")
        .bind(bad_schedule.id)
        .bind(soon)
        .execute(&pool)
        .await
        .unwrap();
    let bad_retry_job = support::job(&pool, org, once("bad retry", "/never-2"), now).await;
    sqlx::query("UPDATE jobs SET retry_max_delay_secs = 100000 WHERE id = $1").bind(bad_retry_job.id).execute(&pool).await.unwrap();
    let good_call = support::queue(&pool, org, &receiver.url("/good-call"), now, 3, 1).await;
    let bad_call = support::queue(&pool, org, &receiver.url("/never-3"), now, 3, 1).await;
    sqlx::query("UPDATE executions SET retry_base_delay_secs = 0 WHERE id = $1").bind(bad_call).execute(&pool).await.unwrap();

    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let run_of = |job: uuid::Uuid| {
        let pool = pool.clone();
        async move {
            support::eventually("the job's run is recorded", Duration::from_secs(15), || async {
                sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM executions WHERE job_id = $1").bind(job).fetch_optional(&pool).await.unwrap()
            })
            .await
        }
    };
    for (id, path) in [(run_of(good_job.id).await, "/good-job"), (good_call, "/good-call")] {
        let e = support::wait_final(&pool, id, Duration::from_secs(15)).await;
        assert_eq!((e.status.as_str(), e.response_status), ("success", Some(200)), "{path}");
    }
    let failed = [
        (run_of(bad_schedule.id).await, "the job's stored settings cannot be read (schedule \"61 * * * *\" in \"UTC\": "),
        (run_of(bad_retry_job.id).await, "not delivered: the run's stored settings cannot be read (retry policy of 5 attempts, 10 s base delay, 100000 s maximum delay)"),
        (bad_call, "not delivered: the run's stored settings cannot be read (retry policy of 3 attempts, 0 s base delay, 60 s maximum delay)"),
    ];
    for (id, reason) in failed {
        let e = support::wait_final(&pool, id, Duration::from_secs(15)).await;
        assert_eq!(e.status, "failed");
        let error = e.error.unwrap_or_default();
        assert!(error.starts_with(reason), "{error}");
    }
    let parked: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT next_run_at FROM jobs WHERE id = $1").bind(bad_schedule.id).fetch_one(&pool).await.unwrap();
    assert_eq!(parked, None, "a job whose schedule cannot be read is parked until it is edited");
    let alerts: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_events WHERE kind = 'job_failed' AND job_id = ANY($1)")
        .bind(vec![bad_schedule.id, bad_retry_job.id])
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(alerts, 2, "one failure alert per job");
    d.shutdown().await;
    let mut paths: Vec<String> = receiver.received().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(paths, vec!["/good-call".to_owned(), "/good-job".to_owned()], "only the runs that decode were sent");
}

/// Credentials are stored sealed with the organization's key and opened just before sending; a
/// value that does not open (sealed with another organization's key, say) fails its run with the
/// reason instead of going out without its credential; and the leader seals what an earlier
/// release left in plain text.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn sealed_credentials_are_opened_for_the_request_only(pool: PgPool) {
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;
    let other = support::org(&pool, Tier::Pro).await;
    let ring = store::keyring::Keyring::development();
    let own = ring.org_key(&pool, org).await.unwrap();
    let foreign = ring.org_key(&pool, other).await.unwrap();
    let now = Utc::now();
    let (good, bad) = (support::queue(&pool, org, &receiver.url("/good"), now, 1, 1).await, support::queue(&pool, org, &receiver.url("/bad"), now, 1, 1).await);
    for (id, key) in [(good, &own), (bad, &foreign)] {
        let headers = vec![("Authorization".to_owned(), key.seal("Bearer sk_live_0123456789abcdef", "cdef")), ("X-Team".to_owned(), "ops".to_owned())];
        sqlx::query("UPDATE executions SET headers = $2 WHERE id = $1").bind(id).bind(sqlx::types::Json(headers)).execute(&pool).await.unwrap();
    }
    // a job an earlier release wrote: its credential in plain text
    let legacy = support::job(&pool, org, json!({"name": "legacy", "url": receiver.url("/legacy"), "headers": {"X-Api-Key": "plain-0123456789abcdef"},
        "schedule": {"kind": "cron", "expr": "0 3 * * *"}}), now).await;
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;

    let sent = support::wait_final(&pool, good, Duration::from_secs(10)).await;
    assert_eq!(sent.status.to_string(), "success");
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!((got[0].path.as_str(), got[0].header("authorization"), got[0].header("x-team")), ("/good", "Bearer sk_live_0123456789abcdef", "ops"));
    let refused = support::wait_final(&pool, bad, Duration::from_secs(10)).await;
    assert_eq!(refused.status.to_string(), "failed");
    assert!(refused.status_reason.as_deref().unwrap_or_default().contains("could not be decrypted"), "{refused:?}");
    let sealed = support::eventually("the legacy job's credential sealed", Duration::from_secs(10), || async {
        let h: sqlx::types::Json<Vec<(String, String)>> = sqlx::query_scalar("SELECT headers FROM jobs WHERE id = $1").bind(legacy.id).fetch_one(&pool).await.unwrap();
        domain::sealed::is_sealed(&h.0[0].1).then_some(h.0)
    })
    .await;
    assert_eq!(own.open_headers(&sealed).unwrap()[0].1, "plain-0123456789abcdef");
    d.shutdown().await;
    assert_eq!(receiver.received().len(), 1, "the run whose credential did not open was never sent");
}

/// A worker holds runs up to its byte budget (`PRIKKE_PREFETCH_BYTES`): a burst of large bodies
/// is claimed a part at a time instead of all at once, and every run is still delivered once.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_burst_of_large_bodies_is_held_a_part_at_a_time(pool: PgPool) {
    let gate = support::Gate::new();
    let held = gate.clone();
    let receiver = Receiver::start(move |_, _| Reply::held(200, &held)).await;
    let org = support::org(&pool, Tier::Pro).await;
    let now = Utc::now();
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(support::queue_with_timeout(&pool, org, &receiver.url("/big"), now, 1, 1, 30).await);
    }
    sqlx::query("UPDATE executions SET body = repeat('x', 256 * 1024)").execute(&pool).await.unwrap();
    let d = support::start(&pool, shared(SystemClock), |c| c.prefetch_bytes = 1024 * 1024).await;
    // 257 KiB each (body and overhead): three fit in 1 MiB; they reach the receiver, which holds
    // them, and nothing more is claimed while they are held
    assert_eq!(receiver.wait_for(3, Duration::from_secs(10)).await.len(), 3);
    let running: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'running'").fetch_one(&pool).await.unwrap();
    assert_eq!(running, 3, "only what fits the budget is claimed");
    gate.open();
    for id in ids {
        assert_eq!(support::wait_final(&pool, id, Duration::from_secs(20)).await.status.to_string(), "success");
    }
    assert_eq!(receiver.received().len(), 12, "each delivered once");
    d.shutdown().await;
}
