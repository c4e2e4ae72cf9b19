//! How responses and failures become outcomes: status classes, Retry-After, redirects, the hard
//! timeout (hanging receivers, stalled bodies), body caps, and error sentences without secrets.

mod delivery_receivers;

use std::time::Duration;

use delivery_receivers::{
    LOOPBACK, Receiver, Scripted, deliverer, deliverer_with, post, reply, secret,
};
use domain::retry::AttemptOutcome;

#[tokio::test]
async fn statuses_map_to_outcomes_and_responses_are_captured() {
    let receiver = Receiver::start(|got| {
        let status: u16 = got.path_and_query.trim_start_matches('/').parse().unwrap();
        reply(status, &[("x-answer", "yes")], &format!("status {status}"))
    })
    .await;
    let secrets = [secret()];
    let deliverer = deliverer(LOOPBACK);
    let failed = |status| AttemptOutcome::HttpStatus { status, retry_after: None };
    let expected = [
        (200u16, AttemptOutcome::Success { status: 200 }),
        (201, AttemptOutcome::Success { status: 201 }),
        (204, AttemptOutcome::Success { status: 204 }),
        (299, AttemptOutcome::Success { status: 299 }),
        (400, failed(400)),
        (404, failed(404)),
        (408, failed(408)),
        (500, failed(500)),
        (503, failed(503)),
    ];
    for (status, want) in expected {
        let url = receiver.url(&format!("/{status}"));
        let delivery = deliverer.deliver(&post(&url, Some("{}"), &secrets)).await;
        assert_eq!(delivery.outcome, want, "{status}");
        assert_eq!(delivery.response_status, Some(status));
        assert_eq!(delivery.error, None);
        assert!(
            delivery
                .response_headers
                .contains(&("x-answer".into(), "yes".into()))
        );
        let body = if status == 204 {
            String::new()
        } else {
            format!("status {status}")
        };
        assert_eq!(
            delivery.response_body.as_deref(),
            Some(body.as_str()),
            "{status}"
        );
        assert!(!delivery.body_truncated);
        assert!(delivery.duration < Duration::from_secs(5));
    }
}

#[tokio::test]
async fn retry_after_is_parsed_in_seconds_and_as_an_http_date() {
    let in_two_minutes = (chrono::Utc::now() + chrono::Duration::seconds(120))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let receiver = Receiver::start(move |got| match got.path_and_query.as_str() {
        "/seconds" => reply(429, &[("retry-after", "7")], "slow down"),
        "/date" => reply(503, &[("retry-after", &in_two_minutes)], ""),
        _ => reply(429, &[("retry-after", "soon-ish")], ""),
    })
    .await;
    let secrets = [secret()];
    let deliverer = deliverer(LOOPBACK);

    let url = receiver.url("/seconds");
    let delivery = deliverer.deliver(&post(&url, None, &secrets)).await;
    assert_eq!(
        delivery.outcome,
        AttemptOutcome::HttpStatus {
            status: 429,
            retry_after: Some(Duration::from_secs(7))
        }
    );

    let url = receiver.url("/date");
    let delivery = deliverer.deliver(&post(&url, None, &secrets)).await;
    let AttemptOutcome::HttpStatus {
        status: 503,
        retry_after: Some(after),
    } = delivery.outcome
    else {
        panic!("{:?}", delivery.outcome)
    };
    assert!(
        (Duration::from_secs(115)..=Duration::from_secs(120)).contains(&after),
        "{after:?}"
    );

    let url = receiver.url("/garbage");
    let delivery = deliverer.deliver(&post(&url, None, &secrets)).await;
    assert_eq!(
        delivery.outcome,
        AttemptOutcome::HttpStatus {
            status: 429,
            retry_after: None
        }
    );
}

#[tokio::test]
async fn redirects_are_outcomes_and_are_not_followed() {
    let receiver = Receiver::start(|got| match got.path_and_query.as_str() {
        "/moved" => reply(302, &[("location", "/elsewhere")], ""),
        _ => reply(200, &[], "followed"),
    })
    .await;
    let url = receiver.url("/moved");
    let secrets = [secret()];
    let delivery = deliverer(LOOPBACK)
        .deliver(&post(&url, None, &secrets))
        .await;
    assert_eq!(
        delivery.outcome,
        AttemptOutcome::HttpStatus {
            status: 302,
            retry_after: None
        }
    );
    assert!(
        delivery
            .response_headers
            .contains(&("location".into(), "/elsewhere".into()))
    );
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_at_the_deadline() {
    let mut hanging = Scripted::start(b"").await;
    let url = hanging.url("/");
    let secrets = [secret()];
    let mut request = post(&url, Some("{}"), &secrets);
    request.timeout = Duration::from_millis(400);

    let delivery = deliverer(LOOPBACK).deliver(&request).await;

    assert_eq!(delivery.outcome, AttemptOutcome::Timeout);
    hanging
        .accepted
        .try_recv()
        .expect("the receiver accepted the connection");
    assert!(
        delivery.duration >= Duration::from_millis(400),
        "{:?}",
        delivery.duration
    );
    assert!(
        delivery.duration < Duration::from_millis(1400),
        "{:?}",
        delivery.duration
    );
    assert_eq!(delivery.response_status, None);
    assert_eq!(
        delivery.error.as_deref(),
        Some(format!("timed out after 400 ms: no response from {}", hanging.addr).as_str())
    );
}

#[tokio::test]
async fn a_body_that_stalls_times_out_but_keeps_the_status() {
    let stalled =
        Scripted::start(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nx-kept: 1\r\n\r\npartial")
            .await;
    let url = stalled.url("/");
    let secrets = [secret()];
    let mut request = post(&url, None, &secrets);
    request.timeout = Duration::from_millis(300);

    let delivery = deliverer(LOOPBACK).deliver(&request).await;

    assert_eq!(delivery.outcome, AttemptOutcome::Timeout);
    assert_eq!(delivery.response_status, Some(200));
    assert!(
        delivery
            .response_headers
            .contains(&("x-kept".into(), "1".into()))
    );
    assert_eq!(delivery.response_body.as_deref(), Some("partial"));
    let error = delivery.error.unwrap();
    assert!(error.contains("while reading the response body"), "{error}");
}

#[tokio::test]
async fn bodies_are_read_up_to_the_cap_and_marked_truncated() {
    let big = "x".repeat(200_000);
    let exact = "y".repeat(1024);
    let receiver = Receiver::start(move |got| match got.path_and_query.as_str() {
        "/big" => reply(200, &[], &big),
        _ => reply(500, &[], &exact),
    })
    .await;
    let secrets = [secret()];
    let deliverer = deliverer_with(LOOPBACK, |c| c.response_body_cap = 1024);

    let url = receiver.url("/big");
    let delivery = deliverer.deliver(&post(&url, None, &secrets)).await;
    assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 200 });
    assert_eq!(delivery.response_body.as_deref().map(str::len), Some(1024));
    assert!(delivery.body_truncated);

    let url = receiver.url("/exact");
    let delivery = deliverer.deliver(&post(&url, None, &secrets)).await;
    assert_eq!(delivery.response_body.as_deref().map(str::len), Some(1024));
    assert!(!delivery.body_truncated);
}

#[tokio::test]
async fn binary_bodies_are_stored_as_lossy_text_without_nul() {
    let raw: &'static [u8] =
        b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\ncontent-type: application/octet-stream\r\n\r\nok\0\xff\xfeok";
    let receiver = Scripted::start(raw).await;
    let url = receiver.url("/");
    let secrets = [secret()];
    let delivery = deliverer(LOOPBACK)
        .deliver(&post(&url, None, &secrets))
        .await;
    assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 200 });
    assert_eq!(
        delivery.response_body.as_deref(),
        Some("ok\u{FFFD}\u{FFFD}\u{FFFD}ok")
    );
}

#[tokio::test]
async fn a_closed_port_is_a_network_error_that_names_host_and_cause_but_no_secret() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook?token=url-secret");
    let secrets = [secret()];
    let headers = vec![(
        "Authorization".to_owned(),
        "Bearer header-secret".to_owned(),
    )];
    let mut request = post(&url, Some("{}"), &secrets);
    request.headers = &headers;

    let delivery = deliverer(LOOPBACK).deliver(&request).await;

    let AttemptOutcome::Network { message } = &delivery.outcome else {
        panic!("{:?}", delivery.outcome)
    };
    assert_eq!(delivery.error.as_deref(), Some(message.as_str()));
    assert!(
        message.starts_with(&format!("could not connect to 127.0.0.1:{port}: ")),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    for secret in ["url-secret", "header-secret", "MfKQ9r8", "/hook"] {
        assert!(!message.contains(secret), "{message} leaks {secret}");
    }
    assert_eq!(delivery.response_status, None);
    assert_eq!(delivery.response_body, None);
}

#[tokio::test]
async fn half_answers_time_out_and_garbage_is_a_network_error() {
    let receiver = Scripted::start(b"HTTP/1.1 20").await;
    let url = receiver.url("/");
    let secrets = [secret()];
    let mut request = post(&url, None, &secrets);
    request.timeout = Duration::from_millis(300);
    let delivery = deliverer(LOOPBACK).deliver(&request).await;
    // A half status line followed by silence is still "no complete response": a timeout.
    assert_eq!(delivery.outcome, AttemptOutcome::Timeout);

    let garbled = Scripted::start(b"NOT HTTP AT ALL\r\n\r\n").await;
    let url = garbled.url("/");
    let delivery = deliverer(LOOPBACK)
        .deliver(&post(&url, None, &secrets))
        .await;
    let AttemptOutcome::Network { message } = &delivery.outcome else {
        panic!("{:?}", delivery.outcome)
    };
    assert!(
        message.starts_with(&format!("the request to {} failed: ", garbled.addr)),
        "{message}"
    );
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_a_tls_failure() {
    let receiver = Receiver::status(200).await;
    let url = format!("https://127.0.0.1:{}/", receiver.addr.port());
    let secrets = [secret()];
    let delivery = deliverer(LOOPBACK)
        .deliver(&post(&url, None, &secrets))
        .await;
    let AttemptOutcome::Network { message } = &delivery.outcome else {
        panic!("{:?}", delivery.outcome)
    };
    let want = format!(
        "could not connect to {}: TLS handshake failed: ",
        receiver.addr
    );
    assert!(message.starts_with(&want), "{message}");
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn an_unknown_host_is_a_resolution_failure() {
    let url = "http://no-such-host.invalid/hook";
    let secrets = [secret()];
    let delivery = deliverer(LOOPBACK)
        .deliver(&post(url, None, &secrets))
        .await;
    let AttemptOutcome::Network { message } = &delivery.outcome else {
        panic!("{:?}", delivery.outcome)
    };
    assert!(
        message.starts_with("could not resolve no-such-host.invalid:80: "),
        "{message}"
    );
}
