//! Dispatcher processes on one database: each run is delivered exactly once, a killed leader is
//! replaced within seconds (at the default leader poll), a worker killed mid-burst loses nothing
//! (its runs are rescued and re-delivered with the same webhook-id), SIGTERM ends a process
//! cleanly within its grace, and /metrics counts what happened.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::tier::Tier;
use serde_json::json;
use sqlx::PgPool;
use support::process::Node;
use support::{Gate, Receiver, Reply};

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
    let mut nodes = cluster(&url, &[]).await;
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
    for n in nodes.iter_mut() {
        let status = n.terminate().await;
        assert_eq!(status.code(), Some(0), "{} stopped with {status}", n.name);
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn killing_the_leader_makes_another_leader_within_five_seconds(pool: PgPool) {
    let url = support::database_url(&pool).await;
    // the production default, not the quick poll of the other tests
    let mut nodes = cluster(&url, &[("PRIKKE_LEADER_POLL_MS", "1000")]).await;
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
    for n in nodes.iter_mut().filter(|n| n.name != busiest.0) {
        let status = n.terminate().await;
        assert_eq!(status.code(), Some(0), "{} stopped with {status}", n.name);
    }
}

/// SIGTERM while a call is in flight: the process waits out its grace (2 s here, far shorter
/// than the call's own 30 s timeout), records the call as an attempt and puts the run back, and
/// exits with status 0.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn sigterm_hands_back_the_call_in_flight_and_exits_cleanly_within_the_grace(pool: PgPool) {
    let url = support::database_url(&pool).await;
    let never = Gate::new();
    let receiver = Receiver::start(move |_, _| Reply::held(200, &never)).await;
    let org = support::org(&pool, Tier::Pro).await;
    let mut node = Node::start("solo", &url, &[("PRIKKE_SHUTDOWN_GRACE_SECS", "2")]).await;
    let id = support::queue_with_timeout(&pool, org, &receiver.url("/hang"), Utc::now(), 3, 1, 30).await;
    receiver.wait_for(1, Duration::from_secs(15)).await;

    let asked = Instant::now();
    let status = node.terminate().await;
    let took = asked.elapsed();
    assert_eq!(status.code(), Some(0), "stopped with {status}");
    assert!(took >= Duration::from_secs(2), "exited after {took:?}, before the call's grace ended");
    assert!(took < Duration::from_secs(12), "exited after {took:?}: the grace is 2 s and the call's own timeout 30 s");
    assert_eq!(support::status_of(&pool, id).await, ("pending".to_owned(), 1, None), "put back, the cut-off attempt counted");
}

/// The value of one sample (`name` with its labels, as the Prometheus text writes it).
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn metrics_name_what_happened_and_move_with_it(pool: PgPool) {
    let url = support::database_url(&pool).await;
    let receiver = Receiver::start(|r, _| Reply::status(if r.path == "/gone" { 404 } else { 200 })).await;
    let org = support::org(&pool, Tier::Pro).await;
    let node = Node::start("metrics", &url, &[]).await;
    one_leader(std::slice::from_ref(&node), None, Duration::from_secs(10)).await;
    let before = node.metrics().await;
    assert_eq!(sample(&before, "prikke_deliveries_total{outcome=\"success\"}"), None, "nothing delivered yet:\n{before}");

    let now = Utc::now();
    let job = support::job(
        &pool,
        org,
        json!({"name": "once", "url": receiver.url("/ok"), "schedule": {"kind": "once", "at": (now + chrono::Duration::seconds(1)).to_rfc3339()}}),
        now,
    )
    .await;
    let gone = support::queue(&pool, org, &receiver.url("/gone"), now, 3, 1).await;
    assert_eq!(support::wait_final(&pool, gone, Duration::from_secs(15)).await.status, "failed");
    let run: uuid::Uuid = support::eventually("the one-time job's run exists", Duration::from_secs(15), || async {
        sqlx::query_scalar("SELECT id FROM executions WHERE job_id = $1").bind(job.id).fetch_optional(&pool).await.unwrap()
    })
    .await;
    assert_eq!(support::wait_final(&pool, run, Duration::from_secs(15)).await.status, "success");

    // queue depth is published by the leader's chores, every 5 s
    let after = support::eventually("prikke_queue_depth says the queue is empty", Duration::from_secs(20), || async {
        let text = node.metrics().await;
        (sample(&text, "prikke_queue_depth") == Some(0.0)).then_some(text)
    })
    .await;
    assert_eq!(sample(&after, "prikke_deliveries_total{outcome=\"success\"}"), Some(1.0), "{after}");
    assert_eq!(sample(&after, "prikke_deliveries_total{outcome=\"http_error\"}"), Some(1.0), "{after}");
    assert_eq!(sample(&after, "prikke_fire_lag_seconds_count"), Some(2.0), "{after}");
    assert_eq!(sample(&after, "prikke_runs_materialised_total"), Some(1.0), "{after}");
    assert_eq!(sample(&after, "prikke_record_batch_size_sum"), Some(2.0), "two outcomes written: {after}");
    for moved in ["prikke_claim_batch_size_count", "prikke_scheduler_tick_seconds_count"] {
        assert!(sample(&after, moved).is_some_and(|v| v > sample(&before, moved).unwrap_or(0.0)), "{moved} did not move:\n{before}\n---\n{after}");
    }
    for present in ["prikke_concurrency_limit", "prikke_runs_held"] {
        assert!(sample(&after, present).is_some(), "{present} missing:\n{after}");
    }
}

/// `kill -9` while an alert is being sent: the send stays leased in the outbox, and once the
/// lease expires the next instance sends it again under the same id. Nothing is lost; the
/// duplicate is recognisable.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn an_alert_in_flight_at_kill_9_is_sent_again_after_restart_under_the_same_id(pool: PgPool) {
    let url = support::database_url(&pool).await;
    let first = Gate::new();
    let alerts = Receiver::start({
        let first = first.clone();
        move |_, n| if n == 0 { Reply::held(200, &first) } else { Reply::status(200) }
    })
    .await;
    let endpoint = Receiver::start(|_, _| Reply::status(404)).await;
    let org = support::org(&pool, Tier::Pro).await;
    support::channel(&pool, org, &alerts.url("/alerts")).await;
    let fast = [("PRIKKE_ALERT_LEASE_SECS", "2"), ("PRIKKE_ALERT_POLL_MS", "100")];
    let mut node = Node::start("alerts-a", &url, &fast).await;
    let call = support::queue(&pool, org, &endpoint.url("/gone"), Utc::now(), 1, 1).await;
    alerts.wait_for(1, Duration::from_secs(20)).await;
    node.kill9().await;
    assert_eq!(support::wait_final(&pool, call, Duration::from_secs(5)).await.status, "failed", "the failure was recorded before the kill");

    let mut next = Node::start("alerts-b", &url, &fast).await;
    let got = alerts.wait_for(2, Duration::from_secs(20)).await;
    first.open();
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"), "the same message, so a receiver can drop the duplicate");
    let sent: (String, i16) = support::eventually("the send is recorded", Duration::from_secs(10), || async {
        sqlx::query_as("SELECT status, attempts FROM notification_deliveries WHERE status = 'sent'").fetch_optional(&pool).await.unwrap()
    })
    .await;
    assert_eq!(sent, ("sent".to_owned(), 2));
    assert_eq!(next.terminate().await.code(), Some(0));
    assert_eq!(alerts.received().len(), 2, "sent once more after the crash, not again");
}

/// A TCP proxy to Postgres that the test can make go silent: it stops forwarding in both
/// directions but keeps every connection open, as a host that vanished or a network that drops
/// packets would (nothing is closed, so nobody is told).
struct SilentProxy {
    port: u16,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SilentProxy {
    async fn start(upstream: std::net::SocketAddr) -> SilentProxy {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = silent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else { continue };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let (f1, f2) = (flag.clone(), flag.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match cr.read(&mut buf).await { Ok(0) | Err(_) => break, Ok(n) => n };
                        if f1.load(Ordering::SeqCst) {
                            std::future::pending::<()>().await; // hold both ends, forward nothing
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match sr.read(&mut buf).await { Ok(0) | Err(_) => break, Ok(n) => n };
                        if f2.load(Ordering::SeqCst) {
                            std::future::pending::<()>().await;
                        }
                        if cw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SilentProxy { port, silent }
    }

    fn go_silent(&self) {
        self.silent.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The leader's traffic is silently dropped (nothing closed): another instance takes over within
/// 30 s and every occurrence due meanwhile is delivered, once.
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_leader_whose_traffic_is_silently_dropped_is_replaced_within_thirty_seconds(pool: PgPool) {
    let url = support::database_url(&pool).await;
    let server: std::net::SocketAddr = {
        let rest = url.split_once('@').map(|(_, r)| r).unwrap_or(&url);
        let hostport = rest.split('/').next().unwrap();
        tokio::net::lookup_host(hostport).await.unwrap().next().unwrap()
    };
    let proxy = SilentProxy::start(server).await;
    let proxied = url.replacen(&format!("{}:{}", server.ip(), server.port()), &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(proxied, url, "the leader connects through the proxy");
    let production_poll = [("PRIKKE_LEADER_POLL_MS", "1000")];
    let doomed = Node::start("doomed", &proxied, &production_poll).await;
    one_leader(std::slice::from_ref(&doomed), None, Duration::from_secs(10)).await;
    let survivor = Node::start("survivor", &url, &production_poll).await;
    assert!(!survivor.is_leader().await, "the first node still leads");

    let receiver = Receiver::ok().await;
    let org = support::org(&pool, Tier::Pro).await;
    let now = Utc::now();
    for s in [5, 12, 20] {
        support::job(
            &pool,
            org,
            json!({"name": format!("at +{s}s"), "url": receiver.url(&format!("/at/{s}")),
                   "schedule": {"kind": "once", "at": (now + chrono::Duration::seconds(s)).to_rfc3339()}}),
            now,
        )
        .await;
    }
    let silenced = Instant::now();
    proxy.go_silent();
    loop {
        if survivor.is_leader().await {
            break;
        }
        assert!(silenced.elapsed() < Duration::from_secs(30), "no new leader 30 s after the leader went silent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("the survivor leads {:?} after the leader went silent", silenced.elapsed());
    let got = receiver.wait_for(3, Duration::from_secs(60)).await;
    let mut paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["/at/12", "/at/20", "/at/5"], "every occurrence delivered, once");
    let per_id = counts(&got);
    assert!(per_id.values().all(|n| *n == 1), "{per_id:?}");
    drop(doomed);
}
