//! HTTPS delivery: certificates are verified, ALPN picks h2 when the receiver offers it (else
//! HTTP/1.1), and sequential calls reuse one TLS connection either way.

mod delivery_receivers;

use axum::http::Version;
use delivery_receivers::{LOOPBACK, deliverer, deliverer_with, post, reply, secret, tls};
use domain::retry::AttemptOutcome;

async fn deliver_five_times(alpn: &[&[u8]], want: Version) {
    let (receiver, ca_pem) = tls::start(alpn, |_| reply(200, &[], "secure")).await;
    let deliverer = deliverer_with(LOOPBACK, |c| {
        c.extra_root_certificates_pem = vec![ca_pem.into_bytes()];
    });
    let url = format!("https://localhost:{}/hook", receiver.addr.port());
    let secrets = [secret()];
    for _ in 0..5 {
        let delivery = deliverer.deliver(&post(&url, Some("{}"), &secrets)).await;
        assert_eq!(
            delivery.outcome,
            AttemptOutcome::Success { status: 200 },
            "{:?}",
            delivery.error
        );
        assert_eq!(delivery.response_body.as_deref(), Some("secure"));
    }
    let requests = receiver.requests();
    assert_eq!(requests.len(), 5);
    assert!(
        requests.iter().all(|r| r.version == want),
        "{:?}",
        requests[0].version
    );
    assert_eq!(requests[0].body, "{}");
    assert_eq!(
        receiver.accepts(),
        1,
        "one TLS connection for all five deliveries"
    );
}

#[tokio::test]
async fn https_negotiates_h2_by_alpn_and_reuses_the_connection() {
    deliver_five_times(&[b"h2", b"http/1.1"], Version::HTTP_2).await;
}

#[tokio::test]
async fn https_falls_back_to_http1_when_the_receiver_offers_only_that() {
    deliver_five_times(&[b"http/1.1"], Version::HTTP_11).await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_failure() {
    let (receiver, _ca_pem) = tls::start(&[b"h2"], |_| reply(200, &[], "")).await;
    let url = format!("https://localhost:{}/", receiver.addr.port());
    let secrets = [secret()];
    let delivery = deliverer(LOOPBACK)
        .deliver(&post(&url, None, &secrets))
        .await;
    let AttemptOutcome::Network { message } = &delivery.outcome else {
        panic!("{:?}", delivery.outcome)
    };
    let want = format!(
        "could not connect to localhost:{}: TLS handshake failed: ",
        receiver.addr.port()
    );
    assert!(message.starts_with(&want), "{message}");
    assert!(message.contains("certificate"), "{message}");
    assert!(receiver.requests().is_empty());
}
