//! Postgres restarted under load: the dispatcher reconnects and carries on without a restart of
//! its own. Runs on a throwaway cluster the test starts on its own port.

mod support;

use std::time::Duration;

use chrono::Utc;
use dispatcher::{Dispatcher, SystemClock};
use domain::tier::Tier;
use sqlx::PgPool;
use support::Receiver;
use support::throwaway_pg::ThrowawayPg;
use tokio::task::block_in_place;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_is_survived_without_restarting_the_dispatcher() {
    let pg = block_in_place(ThrowawayPg::start);
    let admin = PgPool::connect(&pg.url("postgres")).await.unwrap();
    sqlx::query("CREATE DATABASE prikke").execute(&admin).await.unwrap();
    admin.close().await;
    let url = pg.url("prikke");
    let pool = PgPool::connect(&url).await.unwrap();
    store::migrate(&pool).await.unwrap();

    // The first 50 calls are answered; the rest wait until the restart is over, so the burst is
    // still going when Postgres goes away, however fast or slow this machine is.
    let after_restart = support::Gate::new();
    let receiver = Receiver::start({
        let gate = after_restart.clone();
        move |_, n| if n < 50 { support::Reply::status(200) } else { support::Reply::held(200, &gate) }
    })
    .await;
    let org = support::org(&pool, Tier::Pro).await;
    let mut config = support::config(url.clone());
    config.db_max_connections = 8;
    config.per_host_concurrency = 16;
    // Queued before the dispatcher starts: how long 300 inserts take on a busy machine must not
    // decide whether the burst is still going at the restart (it once was all but over).
    let mut before = Vec::new();
    for _ in 0..300 {
        before.push(support::queue(&pool, org, &receiver.url("/before"), Utc::now(), 5, 1).await);
    }
    let d = Dispatcher::start(config, support::shared(SystemClock)).unwrap();
    // 51: at least one call is held in flight
    receiver.wait_for(51, Duration::from_secs(20)).await;
    // cut every connection mid-burst (fast shutdown aborts open transactions)
    block_in_place(|| pg.restart());
    after_restart.open();

    // new work after the restart
    let mut after = Vec::new();
    for _ in 0..50 {
        after.push(enqueue_retrying(&pool, org, &receiver.url("/after")).await);
    }
    for id in before.iter().chain(after.iter()) {
        let e = support::wait_final(&pool, *id, Duration::from_secs(60)).await;
        assert_eq!(e.status, "success", "{id}: {:?}", e.error);
    }
    assert!(receiver.received().iter().filter(|r| r.path == "/after").count() >= 50);
    d.shutdown().await;
    pool.close().await;
    drop(pg);
}

/// The test's own pool may hand out a connection that died in the restart; retry that insert.
async fn enqueue_retrying(pool: &PgPool, org: uuid::Uuid, url: &str) -> uuid::Uuid {
    for _ in 0..5 {
        let attempt = tokio::spawn({
            let (pool, url) = (pool.clone(), url.to_owned());
            async move { support::queue(&pool, org, &url, Utc::now(), 5, 1).await }
        })
        .await;
        if let Ok(id) = attempt {
            return id;
        }
    }
    panic!("could not enqueue after the restart");
}
