//! The dispatcher's life around its deliveries, in process against real Postgres and a real
//! receiver: the shutdown grace limit, waking on `NOTIFY` instead of polling, and the bound on
//! claimed runs one worker holds (`PRIKKE_PREFETCH_MAX`).

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use dispatcher::SystemClock;
use domain::tier::Tier;
use sqlx::PgPool;
use support::{Gate, Receiver, Reply, shared};

/// A call still in flight when the grace period ends was on the wire: it is recorded as an
/// attempt (the receiver may have it), and the run is pending again and delivered later as the
/// same message.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn at_the_end_of_the_grace_an_in_flight_call_is_recorded_as_an_attempt_and_delivered_later(pool: PgPool) {
    let first_call = Gate::new();
    let receiver = Receiver::start({
        let first_call = first_call.clone();
        move |_, n| if n == 0 { Reply::held(200, &first_call) } else { Reply::status(200) }
    })
    .await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |c| c.shutdown_grace = Duration::from_secs(1)).await;
    // its own timeout (30 s) is far beyond the grace: only the grace limit can end this call
    let id = support::queue_with_timeout(&pool, org, &receiver.url("/slow"), Utc::now(), 3, 1, 30).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;

    let asked = Instant::now();
    d.shutdown().await;
    assert!(asked.elapsed() >= Duration::from_secs(1), "stopped after {:?}, without giving the call its grace", asked.elapsed());
    assert_eq!(support::status_of(&pool, id).await, ("pending".to_owned(), 1, None), "put back, its attempt counted");
    let kept: Vec<(i16, String)> = sqlx::query_as("SELECT attempt, error FROM execution_attempts WHERE execution_id = $1").bind(id).fetch_all(&pool).await.unwrap();
    assert_eq!(kept.len(), 1, "the cut-off call is an attempt in the history");
    assert_eq!(kept[0].0, 1);
    assert!(kept[0].1.contains("stopped while this request was in flight"), "{}", kept[0].1);

    first_call.open();
    let d = support::start(&pool, shared(SystemClock), |_| {}).await;
    let e = support::wait_final(&pool, id, Duration::from_secs(10)).await;
    assert_eq!((e.status.as_str(), e.attempt, e.response_status), ("success", 2, Some(200)));
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"), "delivered again as the same message");
    d.shutdown().await;
}

/// Waits until one of this database's sessions has run `LISTEN "prikke_due"` to the end (a
/// LISTEN still executing is not registered yet: a notification sent then would be lost).
async fn listening(pool: &PgPool) {
    // (one statement LISTENs on prikke_due and prikke_mail)
    support::eventually("the dispatcher listens on prikke_due", Duration::from_secs(10), || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND query LIKE '%LISTEN \"prikke_mail\"%' AND state = 'idle'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        (n > 0).then_some(())
    })
    .await;
}

/// With a 60 s poll, only a notification can wake the claim loop in time: a run announced with
/// its instant (as the scheduler does) and a call announced as due now (as the API does) are each
/// delivered within seconds.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn notifications_wake_the_claim_loop_long_before_the_poll(pool: PgPool) {
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |c| c.poll = Duration::from_secs(60)).await;
    listening(&pool).await;

    // Due in 3 s: beyond the 1 s prefetch of every claim the loop makes now, so only the hint
    // carried by the notification (announced as the scheduler announces its runs) brings it
    // back in time.
    let at = Utc::now() + chrono::Duration::seconds(3);
    let hinted = support::queue(&pool, org, &receiver.url("/hinted"), at, 1, 1).await;
    store::notify::notify_due(&pool, at).await.unwrap();
    let got = receiver.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(got[0].path, "/hinted");
    assert!(got[0].at >= at, "sent at {}, before its instant {at}", got[0].at);
    assert_eq!(support::wait_final(&pool, hinted, Duration::from_secs(10)).await.status, "success");

    // Due now, announced without an instant (what `store::executions::enqueue` sends).
    let now = support::queue(&pool, org, &receiver.url("/now"), Utc::now(), 1, 1).await;
    let got = receiver.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(got[1].path, "/now");
    assert_eq!(support::wait_final(&pool, now, Duration::from_secs(10)).await.status, "success");
    d.shutdown().await;
}

/// `PRIKKE_PREFETCH_MAX`: a worker holds at most that many claimed runs. One delivery permit
/// and a receiver that holds the first call keep the worker full, so the claim it made is
/// visible in the database as it is.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_worker_holds_at_most_prefetch_max_claimed_runs(pool: PgPool) {
    let gate = Gate::new();
    let receiver = Receiver::holding("127.0.0.1:0", &gate).await;
    let org = support::org(&pool, Tier::Pro).await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(support::queue_with_timeout(&pool, org, &receiver.url("/q"), Utc::now(), 1, 1, 30).await);
    }
    let d = support::start(&pool, shared(SystemClock), |c| {
        c.prefetch_max = 5;
        (c.concurrency_min, c.concurrency_max) = (1, 1);
    })
    .await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let by_status: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM executions GROUP BY status ORDER BY status").fetch_all(&pool).await.unwrap();
    assert_eq!(by_status, vec![("pending".to_owned(), 15), ("running".to_owned(), 5)], "one call in flight, four waiting for the permit");

    gate.open();
    for id in ids {
        assert_eq!(support::wait_final(&pool, id, Duration::from_secs(20)).await.status, "success");
    }
    assert_eq!(receiver.received().len(), 20);
    d.shutdown().await;
}

/// Runs beyond what their host may take at once wait as rows, not as tasks (see
/// `dispatcher::lanes`): 300 calls due now to one host that holds every request, with 4 requests
/// to a host at a time, make 4 tasks, not 300. On SIGTERM the waiting ones are handed back unsent.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn runs_beyond_what_their_host_takes_at_once_wait_as_rows_and_are_handed_back_on_shutdown(pool: PgPool) {
    let gate = Gate::new();
    let receiver = Receiver::holding("127.0.0.1:0", &gate).await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |c| {
        c.per_host_concurrency = 4;
        c.shutdown_grace = Duration::from_millis(200);
    })
    .await;
    let tasks = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
    let idle = tasks();
    for _ in 0..300 {
        support::queue_with_timeout(&pool, org, &receiver.url("/q"), Utc::now(), 3, 1, 30).await;
    }
    receiver.wait_for(4, Duration::from_secs(10)).await;
    support::eventually("every run claimed", Duration::from_secs(10), || async {
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'pending'").fetch_one(&pool).await.unwrap();
        (pending == 0).then_some(())
    })
    .await;
    // 4 firing tasks, and the receiver's 4 connections; before lanes, one task per claimed run
    let busy = tasks();
    assert!(busy < idle + 40, "{busy} tasks alive holding 300 runs (idle: {idle})");
    assert_eq!(receiver.received().len(), 4, "never more than the host's 4 at once");

    d.shutdown().await;
    let by_state: Vec<(String, i16, i64)> = sqlx::query_as("SELECT status, attempt, count(*) FROM executions GROUP BY 1, 2 ORDER BY 1, 2").fetch_all(&pool).await.unwrap();
    assert_eq!(
        by_state,
        vec![("pending".to_owned(), 0, 296), ("pending".to_owned(), 1, 4)],
        "the 296 that waited handed back with no attempt counted, the 4 cut off recorded as attempts"
    );
    gate.open();
}

/// A run that waits for a delivery permit longer than its lease allowed (a backlog) gets its
/// lease extended when the permit comes, so the rescuer does not hand it to a worker that sends
/// it a second time while the first call is still in flight.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_run_that_waited_for_its_permit_past_its_lease_is_sent_once(pool: PgPool) {
    let receiver = Receiver::start(|_, _| Reply { delay: Some(Duration::from_millis(2500)), ..Reply::status(200) }).await;
    let org = support::org(&pool, Tier::Pro).await;
    let d = support::start(&pool, shared(SystemClock), |c| {
        c.concurrency_min = 1;
        c.concurrency_max = 1;
        c.lease_margin = Duration::from_secs(1);
        c.record_defer = Duration::ZERO;
        c.rescue_every = Duration::from_millis(200);
    })
    .await;
    let now = Utc::now();
    // one permit: one call takes 2.5 s while the other waits; each lease is now + 3 s + 1 s
    let a = support::queue_with_timeout(&pool, org, &receiver.url("/a"), now, 1, 1, 3).await;
    let b = support::queue_with_timeout(&pool, org, &receiver.url("/b"), now, 1, 1, 3).await;
    for id in [a, b] {
        assert_eq!(support::wait_final(&pool, id, Duration::from_secs(20)).await.status, "success");
    }
    let mut paths: Vec<String> = receiver.received().iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/a", "/b"], "each run sent once");
    d.shutdown().await;
}
