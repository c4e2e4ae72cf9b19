//! The recorder against real Postgres: outcomes wait in memory while due runs wait for a delivery
//! permit (the firing backlog), and are written once it drains or they are `max_defer` old;
//! hand-backs, outcomes another run waits on and a closed channel never wait.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dispatcher::limit::AdaptiveLimit;
use dispatcher::recorder::{self, DeferPolicy, Recorder, Report};
use dispatcher::wake::Wake;
use dispatcher::{SharedClock, SystemClock};
use domain::execution::ExecutionStatus;
use domain::tier::Tier;
use sqlx::PgPool;
use store::dispatch::{AttemptRecord, Finished, Outcome};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ME: &str = "recorder-test";

/// `n` queued calls, claimed by `ME`.
async fn claimed(pool: &PgPool, n: usize) -> Vec<Uuid> {
    let org = support::org(pool, Tier::Pro).await;
    let now = Utc::now();
    for _ in 0..n {
        support::queue(pool, org, "http://127.0.0.1:9/", now, 1, 10).await;
    }
    let mut tx = pool.begin().await.unwrap();
    let rows = store::dispatch::claim(&mut tx, ME, now, now, n as i64, chrono::Duration::seconds(600)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(rows.len(), n);
    rows.into_iter().map(|r| r.id).collect()
}

fn success(id: Uuid) -> Report {
    Report::Outcome(succeeded(id))
}

fn succeeded(id: Uuid) -> Outcome {
    let now = Utc::now();
    Outcome::Finished(Finished {
        record: AttemptRecord {
            id,
            attempt: 1,
            started_at: Some(now),
            finished_at: now,
            duration_ms: Some(1),
            response_status: Some(204),
            response_headers: None,
            response_body: None,
            error: None,
        },
        status: ExecutionStatus::Success,
        reason: None,
    })
}

async fn status(pool: &PgPool, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM executions WHERE id = $1").bind(id).fetch_one(pool).await.unwrap()
}

/// A recorder whose writes wait on `firing`; the channel holds one report, so once a second
/// send has gone through, the recorder has taken the first. The watch says how many reports it
/// holds back each time it decides to wait.
fn start(
    pool: &PgPool,
    firing: Arc<AdaptiveLimit>,
    max_defer: Duration,
) -> (mpsc::Sender<Report>, watch::Receiver<usize>, tokio::task::JoinHandle<()>) {
    let clock: SharedClock = Arc::new(SystemClock);
    start_waking(pool, firing, max_defer, Arc::new(Wake::new(clock, Duration::ZERO)))
}

/// [`start`], waking `wake` (the claim loop's).
fn start_waking(
    pool: &PgPool,
    firing: Arc<AdaptiveLimit>,
    max_defer: Duration,
    wake: Arc<Wake>,
) -> (mpsc::Sender<Report>, watch::Receiver<usize>, tokio::task::JoinHandle<()>) {
    let clock: SharedClock = Arc::new(SystemClock);
    let (tx, rx) = mpsc::channel(1);
    let (deferring, deferred) = watch::channel(0);
    let r = Recorder {
        pool: pool.clone(),
        me: ME.to_owned(),
        clock: clock.clone(),
        wake,
        firing,
        defer: DeferPolicy { max_defer, ..DeferPolicy::default() },
        deferring,
        alerts_raised: Arc::new(tokio::sync::Notify::new()),
    };
    (tx, deferred, tokio::spawn(recorder::run(r, rx, CancellationToken::new())))
}

/// A limit of one permit, held, with one due run waiting for it: a backlog of one.
async fn busy_limit() -> (Arc<AdaptiveLimit>, tokio::sync::OwnedSemaphorePermit, tokio::task::JoinHandle<()>) {
    let limit = Arc::new(AdaptiveLimit::new(1, 1));
    let held = limit.acquire().await;
    let waiter = tokio::spawn({
        let limit = limit.clone();
        async move { drop(limit.acquire().await) }
    });
    while limit.backlog() == 0 {
        tokio::task::yield_now().await;
    }
    (limit, held, waiter)
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn outcomes_wait_for_the_firing_backlog_then_are_written(pool: PgPool) {
    let ids = claimed(&pool, 2).await;
    let (limit, held, waiter) = busy_limit().await;
    let (tx, mut deferred, recorder) = start(&pool, limit.clone(), Duration::from_secs(600));
    tx.send(success(ids[0])).await.unwrap();
    tx.send(success(ids[1])).await.unwrap();
    // the recorder decided to hold both back rather than write them
    let holding = tokio::time::timeout(Duration::from_secs(10), deferred.wait_for(|n| *n == 2)).await.is_ok();
    assert!(holding, "the recorder never held both outcomes back (holds {})", *deferred.borrow());
    for id in &ids {
        assert_eq!(status(&pool, *id).await, "running", "deferred while a due run waits to fire");
    }

    drop(held); // the waiting run gets its permit: the backlog is gone
    waiter.await.unwrap();
    for id in &ids {
        assert_eq!(support::wait_final(&pool, *id, Duration::from_secs(10)).await.status, "success");
    }
    drop(tx);
    recorder.await.unwrap();
    assert_eq!(*deferred.borrow(), 0, "nothing held back once written");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_deferred_outcome_is_written_when_it_is_max_defer_old(pool: PgPool) {
    let ids = claimed(&pool, 1).await;
    let (limit, _held, _waiter) = busy_limit().await;
    let max_defer = Duration::from_millis(500);
    let (tx, _deferred, recorder) = start(&pool, limit.clone(), max_defer);
    let sent = std::time::Instant::now();
    tx.send(success(ids[0])).await.unwrap();
    assert_eq!(support::wait_final(&pool, ids[0], Duration::from_secs(10)).await.status, "success");
    assert!(sent.elapsed() >= max_defer, "written after {:?}, before it was max_defer old", sent.elapsed());
    assert_eq!(limit.backlog(), 1, "written while the backlog was still there");
    drop(tx);
    recorder.await.unwrap();
}

/// A run of an `overlap: skip` job stays `running` until its outcome is written, and the job's
/// next run reads that: its outcome must not wait behind a burst.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_outcome_another_run_waits_on_is_not_deferred(pool: PgPool) {
    let ids = claimed(&pool, 2).await;
    let (limit, _held, _waiter) = busy_limit().await;
    let (tx, _deferred, recorder) = start(&pool, limit.clone(), Duration::from_secs(600));
    tx.send(success(ids[0])).await.unwrap();
    tx.send(Report::Prompt(succeeded(ids[1]))).await.unwrap();
    assert_eq!(support::wait_final(&pool, ids[1], Duration::from_secs(10)).await.status, "success");
    assert_eq!(limit.backlog(), 1, "written while the backlog was still there");
    drop(tx);
    recorder.await.unwrap();
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn hand_backs_and_a_closed_channel_do_not_wait(pool: PgPool) {
    let ids = claimed(&pool, 2).await;
    let (limit, _held, _waiter) = busy_limit().await;
    let (tx, _deferred, recorder) = start(&pool, limit.clone(), Duration::from_secs(600));
    tx.send(Report::Release(ids[0], 1)).await.unwrap();
    let pending = async {
        while status(&pool, ids[0]).await != "pending" {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), pending).await.expect("handed back at once");

    tx.send(success(ids[1])).await.unwrap();
    drop(tx); // shutdown: every sender gone
    tokio::time::timeout(Duration::from_secs(10), recorder).await.expect("the recorder stops").unwrap();
    assert_eq!(status(&pool, ids[1]).await, "success", "flushed before stopping, backlog or not");
    assert_eq!(limit.backlog(), 1);
}

/// A run handed back is pending again and the claim loop is woken for it at once: before, it
/// waited for the loop's next poll (a claim that failed after its rows were leased, say, handed
/// them back while the loop went to sleep; with a long poll they sat there).
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_hand_back_wakes_the_claim_loop(pool: PgPool) {
    let ids = claimed(&pool, 1).await;
    let wake = Arc::new(Wake::new(Arc::new(SystemClock), Duration::ZERO));
    let (tx, _deferred, recorder) = start_waking(&pool, Arc::new(AdaptiveLimit::new(1, 4)), Duration::from_secs(600), wake.clone());
    tx.send(Report::Release(ids[0], 1)).await.unwrap();
    let woken = tokio::time::timeout(Duration::from_secs(10), wake.wait(Duration::from_secs(600))).await;
    assert!(woken.is_ok(), "the claim loop was not woken for the run handed back");
    assert_eq!(status(&pool, ids[0]).await, "pending", "written before the wake-up");
    drop(tx);
    recorder.await.unwrap();
}
