//! Fair delivery: one organization's burst aimed at a host that holds every request until its
//! timeout (a tarpit) does not delay another organization's runs to a fast host. Runs on its own
//! (see .config/nextest.toml): it compares fire lags, so it must not share the CPU with other tests.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use dispatcher::SystemClock;
use domain::tier::Tier;
use sqlx::PgPool;
use support::{Gate, Receiver, Reply, shared};
use uuid::Uuid;

/// Enqueues `n` calls to `url` due at `at`, sixteen writers at a time.
async fn burst(pool: &PgPool, org: Uuid, url: &str, at: DateTime<Utc>, n: usize, timeout_secs: u32) {
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..16 {
        let (pool, url) = (pool.clone(), url.to_owned());
        writers.spawn(async move {
            for _ in (w..n).step_by(16) {
                support::queue_with_timeout(&pool, org, &url, at, 1, 1, timeout_secs).await;
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
}

/// The 99th percentile of how late each call arrived after `at`, in milliseconds.
fn p99_lag_ms(receiver: &Receiver, at: DateTime<Utc>) -> i64 {
    let mut lags: Vec<i64> = receiver.received().iter().map(|r| (r.at - at).num_milliseconds().max(0)).collect();
    lags.sort_unstable();
    lags[(lags.len() * 99).div_ceil(100) - 1]
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn fairness_a_tarpit_burst_of_one_organization_does_not_delay_another(pool: PgPool) {
    let tarpit_gate = Gate::new(); // never opened: every call is held until the dispatcher gives up
    // another address than the fast receivers': another host to the per-host limit
    let tarpit = Receiver::start_at("127.0.0.2:0", move |_, _| Reply::held(200, &tarpit_gate)).await;
    let alone = Receiver::ok().await;
    let beside = Receiver::ok().await;
    let (a, b) = (support::org(&pool, Tier::Pro).await, support::org(&pool, Tier::Pro).await);
    let d = support::start(&pool, shared(SystemClock), |c| c.shutdown_grace = Duration::from_secs(1)).await;

    // B alone: 1,000 calls due at one second
    let t1 = Utc::now() + chrono::Duration::seconds(4);
    burst(&pool, b, &alone.url("/b"), t1, 1000, 5).await;
    alone.wait_for(1000, Duration::from_secs(60)).await;
    let baseline = p99_lag_ms(&alone, t1);

    // the same, while A has 2,000 calls due at the same second aimed at the tarpit
    let t2 = Utc::now() + chrono::Duration::seconds(6);
    burst(&pool, a, &tarpit.url("/a"), t2, 2000, 10).await;
    burst(&pool, b, &beside.url("/b"), t2, 1000, 5).await;
    beside.wait_for(1000, Duration::from_secs(60)).await;
    let with_tarpit = p99_lag_ms(&beside, t2);
    eprintln!("B's fire lag p99: {baseline} ms alone, {with_tarpit} ms beside A's tarpit burst");
    assert!(tarpit.received().len() <= 64, "the tarpit host never has more than its per-host share in flight");
    assert!(with_tarpit <= 1000, "B's p99 lag beside the tarpit burst is {with_tarpit} ms (alone: {baseline} ms)");
    // within 2× of B alone; 100 ms of slack absorbs the scheduler noise of a small shared machine
    assert!(with_tarpit <= 2 * baseline + 100, "B's p99 lag beside the tarpit burst is {with_tarpit} ms, alone {baseline} ms");
    d.shutdown().await;
}

/// An organization holds at most its plan's share of the delivery permits, whatever hosts it
/// calls: a Free organization's calls to a host that holds them leave the rest of the permits to
/// the others (with 8 permits: 2 for it, however many it has due).
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn fairness_an_organization_holds_at_most_its_share_of_the_permits(pool: PgPool) {
    assert_eq!(dispatcher::pump::org_share(Tier::Free, 8), 2);
    assert_eq!(dispatcher::pump::org_share(Tier::Pro, 8), 6);
    let gate = Gate::new();
    let held = Receiver::holding("127.0.0.2:0", &gate).await;
    let fast = Receiver::ok().await;
    let (a, b) = (support::org(&pool, Tier::Free).await, support::org(&pool, Tier::Free).await);
    let d = support::start(&pool, shared(SystemClock), |c| {
        c.concurrency_min = 8;
        c.concurrency_max = 8;
        c.shutdown_grace = Duration::from_secs(1);
    })
    .await;
    let now = Utc::now();
    burst(&pool, a, &held.url("/a"), now, 20, 30).await;
    held.wait_for(2, Duration::from_secs(10)).await;
    // B's calls go out while A's hang, and A never has more than its two in flight
    burst(&pool, b, &fast.url("/b"), Utc::now(), 10, 5).await;
    fast.wait_for(10, Duration::from_secs(10)).await;
    assert_eq!(held.received().len(), 2, "A's share of 8 permits on Free is 2");
    gate.open();
    held.wait_for(20, Duration::from_secs(30)).await;
    d.shutdown().await;
}
