//! Delivery against a real receiver: what arrives (method, path, headers, body, Standard Webhooks
//! headers) and that the signature verifies with our verifier and an independent HMAC.

mod delivery_receivers;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use delivery_receivers::{LOOPBACK, MESSAGE_ID, Receiver, deliverer, post, secret};
use domain::retry::AttemptOutcome;
use domain::signing::{DEFAULT_TOLERANCE_SECS, SigningSecret, verify};
use hmac::{KeyInit, Mac};

/// HMAC-SHA256 over `id.ts.body`, computed here from the secret's bytes, independently of
/// `domain::signing`.
fn independent_signature(secret_whsec: &str, id: &str, ts: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret_whsec.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_post_arrives_signed_with_its_headers_and_body() {
    let receiver = Receiver::status(200).await;
    let url = receiver.url("/hooks/nightly?run=1&token=t0p");
    let secrets = [secret()];
    let headers = vec![
        ("Authorization".to_owned(), "Bearer s3cr3t-token".to_owned()),
        ("X-Custom".to_owned(), "ünïcode-free? no: plain".to_owned()),
    ];
    let body = r#"{"hello":"world","n":1}"#;
    let mut request = post(&url, Some(body), &secrets);
    request.headers = &headers;

    let delivery = deliverer(LOOPBACK).deliver(&request).await;

    assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 200 });
    assert_eq!(delivery.response_status, Some(200));
    assert_eq!(delivery.error, None);
    let got = receiver.only_request();
    assert_eq!(got.method, "POST");
    assert_eq!(got.path_and_query, "/hooks/nightly?run=1&token=t0p");
    assert_eq!(got.body, body.as_bytes());
    assert_eq!(got.header("authorization"), "Bearer s3cr3t-token");
    assert_eq!(
        got.headers.get("x-custom").unwrap().as_bytes(),
        "ünïcode-free? no: plain".as_bytes()
    );
    assert_eq!(got.header("content-type"), "application/json");
    assert!(got.header("user-agent").starts_with("Prikke/"));
    assert!(got.header("user-agent").ends_with("(+https://prikke.eu)"));
    assert_eq!(got.header("webhook-id"), MESSAGE_ID);
    assert_eq!(
        got.header("webhook-timestamp"),
        request.timestamp.to_string()
    );

    let now = chrono::Utc::now().timestamp();
    let sig = got.header("webhook-signature");
    verify(
        &secrets,
        got.header("webhook-id"),
        got.header("webhook-timestamp"),
        sig,
        &got.body,
        now,
        DEFAULT_TOLERANCE_SECS,
    )
    .expect("verifies with domain::signing::verify");
    let expected = independent_signature(
        delivery_receivers::SECRET,
        MESSAGE_ID,
        got.header("webhook-timestamp"),
        &got.body,
    );
    assert_eq!(sig, expected);
}

/// A delivery prepared for one second and signed again for a later one carries only the later
/// timestamp, and every secret's signature over it verifies.
#[tokio::test]
async fn a_prepared_delivery_signed_again_carries_the_new_timestamp() {
    let receiver = Receiver::status(200).await;
    let url = receiver.url("/later");
    let secrets = [SigningSecret::generate([9; 32]), secret()];
    let body = r#"{"late":true}"#;
    let mut request = post(&url, Some(body), &secrets);
    let sent_at = request.timestamp;
    request.timestamp = sent_at - 1;
    let deliverer = deliverer(LOOPBACK);
    let mut prepared = deliverer.prepare(&request);
    assert_eq!(prepared.timestamp(), sent_at - 1);
    prepared.resign(&secrets, sent_at);
    assert_eq!(prepared.timestamp(), sent_at);

    let delivery = deliverer.send(prepared).await;
    assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 200 });
    let got = receiver.only_request();
    assert_eq!(got.body, body.as_bytes(), "the body is sent as prepared");
    assert_eq!(got.header("webhook-id"), MESSAGE_ID);
    assert_eq!(got.header("webhook-timestamp"), sent_at.to_string());
    let sig = got.header("webhook-signature");
    let expected: Vec<String> = [secrets[0].to_string(), delivery_receivers::SECRET.to_owned()]
        .iter()
        .map(|s| independent_signature(s, MESSAGE_ID, &sent_at.to_string(), body.as_bytes()))
        .collect();
    assert_eq!(sig, expected.join(" "), "one entry per secret, over the new timestamp only");
    verify(&secrets, MESSAGE_ID, &sent_at.to_string(), sig, &got.body, sent_at, DEFAULT_TOLERANCE_SECS)
        .expect("verifies with domain::signing::verify");
}

#[tokio::test]
async fn during_rotation_every_secret_signs_and_either_verifies() {
    let receiver = Receiver::status(204).await;
    let url = receiver.url("/");
    let new = SigningSecret::generate([7; 32]);
    let old = secret();
    let secrets = [new.clone(), old.clone()];
    let delivery = deliverer(LOOPBACK)
        .deliver(&post(&url, Some("{}"), &secrets))
        .await;
    assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 204 });

    let got = receiver.only_request();
    let sig = got.header("webhook-signature");
    let entries: Vec<&str> = sig.split(' ').collect();
    assert_eq!(entries.len(), 2);
    let ts = got.header("webhook-timestamp");
    assert_eq!(
        entries[0],
        independent_signature(&new.to_string(), MESSAGE_ID, ts, b"{}")
    );
    assert_eq!(
        entries[1],
        independent_signature(delivery_receivers::SECRET, MESSAGE_ID, ts, b"{}")
    );
    let now = chrono::Utc::now().timestamp();
    for only in [new, old] {
        verify(&[only], MESSAGE_ID, ts, sig, b"{}", now, 300).unwrap();
    }
}

#[tokio::test]
async fn every_method_is_sent_as_asked_and_bodiless_calls_sign_the_empty_body() {
    let receiver = Receiver::status(200).await;
    let url = receiver.url("/m");
    let secrets = [secret()];
    let deliverer = deliverer(LOOPBACK);
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] {
        let mut request = post(&url, None, &secrets);
        request.method = method;
        let delivery = deliverer.deliver(&request).await;
        assert_eq!(
            delivery.outcome,
            AttemptOutcome::Success { status: 200 },
            "{method}"
        );
    }
    let requests = receiver.requests();
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]);
    for got in &requests {
        assert!(got.body.is_empty());
        assert!(got.headers.get("content-type").is_none(), "{}", got.method);
        let sig = got.header("webhook-signature");
        let ts = got.header("webhook-timestamp");
        assert_eq!(
            sig,
            independent_signature(delivery_receivers::SECRET, MESSAGE_ID, ts, b"")
        );
    }
}

#[tokio::test]
async fn the_jobs_content_type_and_user_agent_win_but_webhook_headers_are_ours() {
    let receiver = Receiver::status(200).await;
    let url = receiver.url("/");
    let secrets = [secret()];
    let headers = vec![
        (
            "Content-Type".to_owned(),
            "text/plain; charset=utf-8".to_owned(),
        ),
        ("User-Agent".to_owned(), "my-cron/2".to_owned()),
        ("webhook-id".to_owned(), "msg_forged".to_owned()),
        ("Webhook-Signature".to_owned(), "v1,forged".to_owned()),
        ("Host".to_owned(), "evil.example".to_owned()),
    ];
    let mut request = post(&url, Some("plain text"), &secrets);
    request.headers = &headers;
    request.method = "put";
    let delivery = deliverer(LOOPBACK).deliver(&request).await;
    assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 200 });

    let got = receiver.only_request();
    assert_eq!(got.method, "PUT");
    assert_eq!(got.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(got.header("user-agent"), "my-cron/2");
    assert_eq!(got.header("webhook-id"), MESSAGE_ID);
    assert_eq!(got.headers.get_all("webhook-signature").iter().count(), 1);
    assert_ne!(got.header("webhook-signature"), "v1,forged");
    assert_eq!(got.header("host"), receiver.addr.to_string());
}

#[tokio::test]
async fn without_secrets_no_signature_header_is_sent() {
    let receiver = Receiver::status(200).await;
    let url = receiver.url("/");
    let delivery = deliverer(LOOPBACK)
        .deliver(&post(&url, Some("{}"), &[]))
        .await;
    assert_eq!(delivery.outcome, AttemptOutcome::Success { status: 200 });
    let got = receiver.only_request();
    assert!(got.headers.get("webhook-signature").is_none());
    assert_eq!(got.header("webhook-id"), MESSAGE_ID);
}

#[tokio::test]
async fn unsupported_methods_and_bad_urls_are_refused_without_a_request() {
    let receiver = Receiver::status(200).await;
    let url = receiver.url("/");
    let secrets = [secret()];
    let deliverer = deliverer(LOOPBACK);
    let mut request = post(&url, None, &secrets);
    request.method = "TRACE";
    let delivery = deliverer.deliver(&request).await;
    let AttemptOutcome::Refused { message } = &delivery.outcome else {
        panic!("{:?}", delivery.outcome)
    };
    assert!(
        message.contains("\"TRACE\" is not a supported method"),
        "{message}"
    );
    assert_eq!(delivery.error.as_deref(), Some(message.as_str()));

    for (bad, says) in [
        ("ftp://127.0.0.1/x", "only http and https"),
        ("not a url", "URL is not valid"),
    ] {
        let delivery = deliverer.deliver(&post(bad, None, &secrets)).await;
        let AttemptOutcome::Refused { message } = &delivery.outcome else {
            panic!("{bad}: {:?}", delivery.outcome)
        };
        assert!(message.contains(says), "{message}");
    }
    assert_eq!(receiver.accepts(), 0);
}
