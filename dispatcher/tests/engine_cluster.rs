//! Three dispatcher processes on one database: each run is delivered exactly once, a killed
//! leader is replaced within seconds, and a worker killed mid-burst loses nothing (its runs are
//! rescued and re-delivered with the same webhook-id).

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::process::Node;
use support::{Receiver, Reply};

async fn cluster(url: &str, extra: &[(&str, &str)]) -> Vec<Node> {
    let mut nodes = Vec::new();
    for i in 0..3 {
        nodes.push(Node::start(&format!("node-{i}"), url, extra).await);
    }
    nodes
}

async fn leaders(nodes: &[Node]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.is_leader().await {
            out.push(i);
        }
    }
    out
}

/// Waits (bounded) until exactly one of `nodes` (skipping `dead`) reports leadership.
async fn one_leader(nodes: &[Node], dead: Option<usize>, within: Duration) -> (usize, Duration) {
    let t = Instant::now();
    loop {
        let l: Vec<usize> = leaders(nodes).await.into_iter().filter(|i| Some(*i) != dead).collect();
        if l.len() == 1 {
            return (l[0], t.elapsed());
        }
        assert!(l.len() <= 1, "two leaders at once: {l:?}");
        assert!(t.elapsed() < within, "no leader within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn counts(received: &[support::receiver::Received]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for r in received {
        *m.entry(r.header("webhook-id").to_owned()).or_insert(0) += 1;
    }
    m
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn three_dispatchers_deliver_every_run_exactly_once(pool: PgPool) {
    let url = support::database_url(&pool).await;
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;
    let nodes = cluster(&url, &[]).await;
    one_leader(&nodes, None, Duration::from_secs(10)).await;

    let now = Utc::now();
    // scheduled through the leader's scheduler: one-time jobs two seconds out…
    for i in 0..150 {
        support::job(
            &pool,
            org,
            json!({"name": format!("once {i}"), "url": receiver.url("/once"),
                   "schedule": {"kind": "once", "at": (now + chrono::Duration::seconds(2)).to_rfc3339()}}),
            now,
        )
        .await;
    }
    // …and on-demand calls straight into the queue
    for _ in 0..150 {
        support::queue(&pool, org, &receiver.url("/queue"), now, 3, 1).await;
    }
    let got = receiver.wait_for(300, Duration::from_secs(30)).await;
    let per_id = counts(&got);
    assert_eq!(per_id.len(), 300, "every run arrived");
    let dupes: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dupes.is_empty(), "delivered more than once: {dupes:?}");
    // the calls arrived; their outcomes are recorded moments later
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let finished: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE status = 'success'").fetch_one(&pool).await.unwrap();
        if finished == 300 {
            break;
        }
        assert!(Instant::now() < deadline, "only {finished} of 300 recorded as success");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE leased_by IS NOT NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(held, 0, "every lease is released once the outcome is recorded");

}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn killing_the_leader_makes_another_leader_within_five_seconds(pool: PgPool) {
    let url = support::database_url(&pool).await;
    let mut nodes = cluster(&url, &[]).await;
    let (leader, _) = one_leader(&nodes, None, Duration::from_secs(10)).await;
    nodes[leader].kill9().await;
    let (next, took) = one_leader(&nodes, Some(leader), Duration::from_secs(5)).await;
    assert_ne!(next, leader);
    eprintln!("new leader {} after {took:?}", nodes[next].name);

    // and the new leader schedules: a one-time job fires
    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;
    let now = Utc::now();
    support::job(
        &pool,
        org,
        json!({"name": "after failover", "url": receiver.url("/x"),
               "schedule": {"kind": "once", "at": (now + chrono::Duration::seconds(1)).to_rfc3339()}}),
        now,
    )
    .await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_worker_killed_mid_burst_loses_nothing(pool: PgPool) {
    let url = support::database_url(&pool).await;
    // each call takes 300 ms, so a burst keeps many calls in flight on every node
    let receiver = Receiver::start(|_, _| Reply { delay: Some(Duration::from_millis(300)), ..Reply::status(200) }).await;
    let org = support::org(&pool, Tier::Pro).await;
    let mut nodes = cluster(&url, &[("PRIKKE_LEASE_MARGIN_SECS", "5"), ("PRIKKE_PER_HOST_CONCURRENCY", "32")]).await;
    one_leader(&nodes, None, Duration::from_secs(10)).await;
    let mut ids = Vec::new();
    for _ in 0..600 {
        ids.push(support::queue(&pool, org, &receiver.url("/burst"), Utc::now(), 3, 1).await);
    }
    receiver.wait_for(100, Duration::from_secs(30)).await;
    // kill -9 the node holding the most runs right now
    let busiest: (String, i64) = sqlx::query_as(
        "SELECT leased_by, count(*) FROM executions WHERE status = 'running' GROUP BY leased_by ORDER BY 2 DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let victim = nodes.iter().position(|n| n.name == busiest.0).expect("a node holds runs");
    let in_flight: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM executions WHERE status = 'running' AND leased_by = $1").bind(&busiest.0).fetch_all(&pool).await.unwrap();
    nodes[victim].kill9().await;
    assert!(!in_flight.is_empty());

    for id in &ids {
        let e = support::wait_final(&pool, *id, Duration::from_secs(60)).await;
        assert_eq!(e.status, "success", "execution {id} ended {}", e.status);
    }
    let per_id = counts(&receiver.received());
    for id in &ids {
        let message = format!("msg_{}", id.simple());
        assert!(per_id.get(&message).copied().unwrap_or(0) >= 1, "{message} never arrived");
    }
    // runs the dead node held were rescued: they ran again, as a new attempt of the same message
    let rescued: i64 = sqlx::query_scalar("SELECT count(*) FROM executions WHERE id = ANY($1) AND attempt >= 2")
        .bind(&in_flight)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(rescued > 0, "none of the {} runs held by the killed node was rescued", in_flight.len());
    let duplicated = per_id.values().filter(|n| **n > 1).count();
    assert!(duplicated <= in_flight.len(), "only runs in flight at the kill may arrive twice ({duplicated} did)");
    for n in nodes.iter_mut() {
        n.terminate().await;
    }
}
