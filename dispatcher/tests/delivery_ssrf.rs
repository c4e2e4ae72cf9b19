//! The SSRF guard end to end: private, loopback, link-local and metadata targets — as IP
//! literals, IPv6 forms, reserved names and names the system resolves — are refused before any
//! byte reaches them, and delivered to once the operator allow-lists them.

mod delivery_receivers;

use delivery_receivers::{LOOPBACK, Receiver, deliverer, post, reply, secret};
use domain::retry::AttemptOutcome;

/// The machine's own name, which the system resolver (not our reserved-name list) maps to a
/// loopback or private address.
fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

fn refusal(outcome: &AttemptOutcome) -> &str {
    match outcome {
        AttemptOutcome::Refused { message } => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn non_public_targets_are_refused_with_a_reason_and_never_contacted() {
    let receiver = Receiver::status(200).await;
    let v6_receiver = Receiver::start_on("[::1]:0", |_| reply(200, &[], "")).await;
    let port = receiver.addr.port();
    let v6_port = v6_receiver.addr.port();
    let host = machine_name();
    let cases = [
        (
            format!("http://127.0.0.1:{port}/"),
            "refused: 127.0.0.1 is a loopback address",
        ),
        (
            format!("http://127.1:{port}/"),
            "refused: 127.0.0.1 is a loopback address",
        ),
        (
            format!("http://0x7f.0.0.1:{port}/"),
            "refused: 127.0.0.1 is a loopback address",
        ),
        (
            format!("http://2130706433:{port}/"),
            "refused: 127.0.0.1 is a loopback address",
        ),
        (
            "http://10.0.0.1/".to_owned(),
            "refused: 10.0.0.1 is a private address",
        ),
        (
            "https://192.168.1.10/".to_owned(),
            "refused: 192.168.1.10 is a private address",
        ),
        ("http://100.64.1.1/".to_owned(), "carrier-grade NAT"),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "refused: 169.254.169.254 is a cloud metadata address",
        ),
        ("http://0.0.0.0/".to_owned(), "unspecified"),
        (
            format!("http://[::1]:{v6_port}/"),
            "refused: ::1 is a loopback address",
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            "refused: ::ffff:127.0.0.1 is an IPv4-mapped form of 127.0.0.1, a loopback address",
        ),
        (
            format!("http://[::127.0.0.1]:{port}/"),
            "IPv4-compatible form of 127.0.0.1",
        ),
        (
            "http://[64:ff9b::7f00:1]/".to_owned(),
            "NAT64 form of 127.0.0.1",
        ),
        (
            "http://[2002:c0a8:101::1]/".to_owned(),
            "6to4 form of 192.168.1.1",
        ),
        ("http://[fd00:ec2::254]/".to_owned(), "cloud metadata"),
        ("http://[fe80::1]/".to_owned(), "link-local"),
        ("http://[fc00::1]/".to_owned(), "unique-local"),
        (
            format!("http://localhost:{port}/"),
            "refused: localhost resolves only to addresses that are not public (a loopback address)",
        ),
        (format!("http://LocalHost.:{port}/"), "loopback"),
        (format!("http://api.localhost:{port}/"), "loopback"),
        (
            "http://metadata.google.internal/computeMetadata/v1/".to_owned(),
            "(a cloud metadata address)",
        ),
        (format!("http://{host}:{port}/"), "refused: "),
    ];
    let secrets = [secret()];
    let deliverer = deliverer("");
    for (url, says) in &cases {
        let delivery = deliverer.deliver(&post(url, Some("{}"), &secrets)).await;
        let message = refusal(&delivery.outcome);
        assert!(message.starts_with("refused: "), "{url}: {message}");
        assert!(message.contains(says), "{url}: {message}");
        assert!(
            message.ends_with("in PRIKKE_ALLOW_PRIVATE_TARGETS to allow)"),
            "{message}"
        );
        assert_eq!(delivery.error.as_deref(), Some(message), "{url}");
        assert_eq!(delivery.response_status, None);
    }
    // The machine name went through DNS and came back refused, naming itself.
    let url = format!("http://{host}:{port}/");
    let delivery = deliverer.deliver(&post(&url, None, &secrets)).await;
    let message = refusal(&delivery.outcome);
    assert!(message.starts_with(&format!("refused: {host} resolves only to addresses that are not public (")), "{message}");
    // the tenant learns the kind of address, never the internal address itself
    let own: Vec<std::net::IpAddr> = tokio::net::lookup_host((host.as_str(), 0)).await.unwrap().map(|a| a.ip()).collect();
    assert!(own.iter().all(|ip| !message.contains(&ip.to_string())), "{message} names one of {own:?}");

    assert_eq!(
        receiver.accepts(),
        0,
        "no connection reached the IPv4 receiver"
    );
    assert_eq!(
        v6_receiver.accepts(),
        0,
        "no connection reached the IPv6 receiver"
    );
}

#[tokio::test]
async fn allow_listed_targets_are_delivered_to() {
    let receiver = Receiver::status(200).await;
    let v6_receiver = Receiver::start_on("[::1]:0", |_| reply(200, &[], "")).await;
    let port = receiver.addr.port();
    let host = machine_name();
    let urls = [
        format!("http://127.0.0.1:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://{host}:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::1]:{}/", v6_receiver.addr.port()),
    ];
    let secrets = [secret()];
    let deliverer = deliverer(LOOPBACK);
    for url in &urls {
        let delivery = deliverer.deliver(&post(url, None, &secrets)).await;
        assert_eq!(
            delivery.outcome,
            AttemptOutcome::Success { status: 200 },
            "{url}: {:?}",
            delivery.error
        );
    }
    assert_eq!(receiver.requests().len(), 4);
    assert_eq!(v6_receiver.requests().len(), 1);
}

#[tokio::test]
async fn allowing_one_range_does_not_open_the_others() {
    let receiver = Receiver::status(200).await;
    let port = receiver.addr.port();
    let secrets = [secret()];
    // Only IPv6 loopback is allowed: IPv4 loopback stays refused, by literal and by name.
    let deliverer = deliverer("::1/128");
    for url in [
        format!("http://127.0.0.1:{port}/"),
        "http://10.0.0.1/".to_owned(),
    ] {
        let delivery = deliverer.deliver(&post(&url, None, &secrets)).await;
        refusal(&delivery.outcome);
    }
    // `localhost` stands for 127.0.0.1 and ::1: only ::1 is allowed, where nobody listens on
    // this port, so the attempt reaches the network layer instead of the IPv4 receiver.
    let url = format!("http://localhost:{port}/");
    let delivery = deliverer.deliver(&post(&url, None, &secrets)).await;
    assert!(
        matches!(delivery.outcome, AttemptOutcome::Network { .. }),
        "{:?}",
        delivery.outcome
    );
    assert_eq!(receiver.accepts(), 0);
}

/// A URL may not aim at a service that is not HTTP (mail relays, databases, caches), even on an
/// address the operator allows, unless the operator also allows that port.
#[tokio::test]
async fn blocked_ports_are_refused_even_on_allowed_addresses() {
    // a listener on one of the blocked ports above 1024 (whichever is free here)
    let mut listener = None;
    for port in dispatcher::delivery::BLOCKED_PORTS.iter().filter(|p| **p > 1024) {
        if let Ok(l) = tokio::net::TcpListener::bind(("127.0.0.1", *port)).await {
            listener = Some(l);
            break;
        }
    }
    let receiver = Receiver::start_listening(listener.expect("a free blocked port"), |_| reply(200, &[], ""));
    let port = receiver.addr.port();
    let url = format!("http://127.0.0.1:{port}/");
    let secrets = [secret()];
    let delivery = deliverer(LOOPBACK).deliver(&post(&url, None, &secrets)).await;
    let message = refusal(&delivery.outcome);
    assert!(message.starts_with(&format!("refused: port {port} belongs to a service that is not HTTP")), "{message}");
    assert!(message.ends_with("(list it in PRIKKE_ALLOW_TARGET_PORTS to allow)"), "{message}");
    assert_eq!(receiver.accepts(), 0, "nothing reached the port");

    let allowed = delivery_receivers::deliverer_with(LOOPBACK, |c| c.allow_ports = vec![port]);
    let delivery = allowed.deliver(&post(&url, None, &secrets)).await;
    assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 200 }, "{:?}", delivery.error);
}
