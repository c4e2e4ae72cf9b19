//! Concurrency of deliveries: the per-host cap holds under load without starving other hosts,
//! other ports of a host share its cap, a wait for a slot counts against the timeout, and
//! sequential calls reuse one connection.

mod delivery_receivers;

use std::time::Duration;

use delivery_receivers::{Gate, LOOPBACK, Receiver, deliverer, deliverer_with, post, secret};
use domain::retry::AttemptOutcome;
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_n_requests_are_in_flight_per_host_and_other_hosts_are_not_starved() {
    const CAP: usize = 4;
    const TOTAL: usize = 12;
    let mut gate = Gate::start().await;
    // another address: another host (another port of the same address would share the cap)
    let other = Receiver::start_on("127.0.0.2:0", |_| delivery_receivers::reply(200, &[], "")).await;
    let deliverer = deliverer_with(LOOPBACK, |c| c.per_host_concurrency = CAP);
    let url = gate.receiver.url("/held");

    let mut calls = JoinSet::new();
    for _ in 0..TOTAL {
        let deliverer = deliverer.clone();
        let url = url.clone();
        calls.spawn(async move {
            let secrets = [secret()];
            deliverer.deliver(&post(&url, None, &secrets)).await
        });
    }
    gate.arrived_at_least(CAP).await;

    // The held host is saturated; another host is served at once.
    let other_url = other.url("/");
    let secrets = [secret()];
    let delivery = deliverer.deliver(&post(&other_url, None, &secrets)).await;
    assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 200 });

    let key = gate.receiver.addr.ip().to_string();
    assert_eq!(deliverer.host_limiter().in_flight(&key), CAP);
    assert_eq!(
        gate.arrived(),
        CAP,
        "no request beyond the cap reached the receiver"
    );

    gate.release(TOTAL);
    while let Some(done) = calls.join_next().await {
        assert_eq!(
            done.unwrap().outcome,
            AttemptOutcome::Success { status: 200 }
        );
    }
    assert_eq!(gate.arrived(), TOTAL);
    assert_eq!(gate.max_held(), CAP);
    assert_eq!(
        deliverer.host_limiter().tracked_hosts(),
        0,
        "idle hosts leave no entry"
    );
}

/// Names are limited by the address they lead to as well as by their registrable domain: many
/// names (or many domains) pointed at one server do not multiply its cap.
#[tokio::test]
async fn names_that_lead_to_one_address_share_its_cap() {
    let mut gate = Gate::start().await;
    let deliverer = deliverer_with(LOOPBACK, |c| c.per_host_concurrency = 1);
    let port = gate.receiver.addr.port();
    // `a.localhost` and `b.localhost` are two registrable domains (no public suffix covers
    // `localhost`), both standing for 127.0.0.1, where the gate listens
    let holder = {
        let deliverer = deliverer.clone();
        tokio::spawn(async move {
            let secrets = [secret()];
            deliverer.deliver(&post(&format!("http://a.localhost:{port}/"), None, &secrets)).await
        })
    };
    gate.arrived_at_least(1).await;
    for url in [format!("http://b.localhost:{port}/"), format!("http://127.0.0.1:{port}/")] {
        let secrets = [secret()];
        let mut request = post(&url, None, &secrets);
        request.timeout = Duration::from_millis(200);
        let delivery = deliverer.deliver(&request).await;
        assert_eq!(delivery.outcome, AttemptOutcome::Timeout, "{url}");
        let error = delivery.error.unwrap();
        assert!(error.contains("waiting for a free slot: 1 deliveries to 127.0.0.1 were already in flight"), "{url}: {error}");
    }
    assert_eq!(gate.arrived(), 1, "nothing else reached the server while its one slot was held");
    gate.release(1);
    assert_eq!(holder.await.unwrap().outcome, AttemptOutcome::Success { status: 200 });
    assert_eq!(deliverer.host_limiter().tracked_hosts(), 0, "both slots were given back");

    // with the slot free, another name for the address is served
    let done = tokio::spawn({
        let deliverer = deliverer.clone();
        async move {
            let secrets = [secret()];
            deliverer.deliver(&post(&format!("http://b.localhost:{port}/"), None, &secrets)).await
        }
    });
    gate.arrived_at_least(2).await;
    gate.release(1);
    assert_eq!(done.await.unwrap().outcome, AttemptOutcome::Success { status: 200 });
}

#[tokio::test]
async fn waiting_for_a_slot_counts_against_the_timeout() {
    let mut gate = Gate::start().await;
    let deliverer = deliverer_with(LOOPBACK, |c| c.per_host_concurrency = 1);
    let url = gate.receiver.url("/");
    let holder = {
        let deliverer = deliverer.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let secrets = [secret()];
            deliverer.deliver(&post(&url, None, &secrets)).await
        })
    };
    gate.arrived_at_least(1).await;

    let secrets = [secret()];
    let mut request = post(&url, None, &secrets);
    request.timeout = Duration::from_millis(200);
    let delivery = deliverer.deliver(&request).await;
    assert_eq!(delivery.outcome, AttemptOutcome::Timeout);
    let error = delivery.error.unwrap();
    assert!(
        error.contains(&format!(
            "waiting for a free slot: 1 deliveries to {}",
            gate.receiver.addr.ip()
        )),
        "{error}"
    );
    assert!(delivery.duration >= Duration::from_millis(200));
    assert_eq!(gate.arrived(), 1);

    // another port of the same address is the same host: it waits for the same slot
    let other_port = Receiver::status(200).await;
    let other_url = other_port.url("/");
    let mut request = post(&other_url, None, &secrets);
    request.timeout = Duration::from_millis(200);
    assert_eq!(deliverer.deliver(&request).await.outcome, AttemptOutcome::Timeout, "a port does not escape the per-host cap");
    assert_eq!(other_port.requests().len(), 0);

    gate.release(1);
    assert_eq!(
        holder.await.unwrap().outcome,
        AttemptOutcome::Success { status: 200 }
    );
}

#[tokio::test]
async fn sequential_deliveries_reuse_one_keep_alive_connection() {
    let receiver = Receiver::status(200).await;
    let url = receiver.url("/");
    let secrets = [secret()];
    let deliverer = deliverer(LOOPBACK);
    for _ in 0..10 {
        let delivery = deliverer.deliver(&post(&url, Some("{}"), &secrets)).await;
        assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 200 });
    }
    assert_eq!(receiver.requests().len(), 10);
    assert_eq!(receiver.accepts(), 1);
}
