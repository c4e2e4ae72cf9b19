//! Standard Webhooks signing and verification.
//!
//! Properties: a signature verifies with the secret that made it, alone or among others, for any
//! id, timestamp and body; changing one byte of the body or the id, or the timestamp's value,
//! makes it fail; arbitrary signature headers never panic the verifier, and one verifies exactly
//! when one of its space-separated entries is the right `v1,` signature; the official
//! `standardwebhooks` library signs the same and agrees with our verifier on every header.

use domain::signing::{DEFAULT_TOLERANCE_SECS, SigningSecret, VerifyError, sign, signature_header, verify};
use proptest::prelude::*;

use super::common::{config, corpus, nasty_string};

fn secret() -> impl Strategy<Value = SigningSecret> {
    prop::collection::vec(any::<u8>(), SigningSecret::MIN_BYTES..=SigningSecret::MAX_BYTES).prop_map(|b| SigningSecret::from_bytes(&b).unwrap())
}

fn msg_id() -> impl Strategy<Value = String> {
    prop_oneof![3 => "msg_[A-Za-z0-9]{1,27}", 1 => nasty_string(20).prop_filter("non-empty", |s| !s.is_empty())]
}

/// Timestamps the header form can carry: up to 18 digits, clustered near today.
fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![3 => 1_600_000_000i64..1_900_000_000, 1 => 0i64..=999_999_999_999_999_999, 1 => Just(0i64)]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![3 => prop::collection::vec(any::<u8>(), 0..300), 1 => Just(Vec::new()), 1 => "[ -~]{0,100}".prop_map(String::into_bytes)]
}

/// Signature header text: right entries, near misses, other versions, bad base64, odd spacing.
fn signature_text(right: String) -> impl Strategy<Value = String> {
    let entry = prop_oneof![
        2 => Just(right.clone()),
        1 => (Just(right.clone()), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(r, i, b)| {
            let mut bytes = r.into_bytes();
            let at = i.index(bytes.len());
            bytes[at] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=,v1 "[usize::from(b) % 68];
            String::from_utf8(bytes).unwrap()
        }),
        1 => Just(right.replacen("v1,", "v1a,", 1)),
        1 => Just(right.replacen("v1,", "V1,", 1)),
        1 => Just(right.trim_end_matches('=').to_owned()),
        1 => "v[0-9a-z]{0,3},[A-Za-z0-9+/=]{0,50}",
        1 => "v1,[A-Za-z0-9+/]{43}=",
        1 => "v1,[A-Za-z0-9_-]{43}=",
        1 => nasty_string(20),
    ];
    let sep = prop_oneof![4 => Just(" "), 1 => Just("  "), 1 => Just("\t"), 1 => Just(","), 1 => Just("\n")];
    let edge = prop::sample::select(vec!["", "", "", " ", "\t", "\n", "\r\n", "\u{a0}"]);
    (prop::collection::vec((entry, sep), 0..5), edge.clone(), edge).prop_map(|(parts, lead, trail)| {
        let mut out = lead.to_owned();
        for (i, (e, s)) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(s);
            }
            out.push_str(e);
        }
        out.push_str(trail);
        out
    })
}

proptest! {
    #![proptest_config(config("signing", 1.0))]

    #[test]
    fn sign_then_verify_round_trips(secrets in prop::collection::vec(secret(), 1..4), signer in any::<prop::sample::Index>(), id in msg_id(), ts in timestamp(), skew in -DEFAULT_TOLERANCE_SECS..=DEFAULT_TOLERANCE_SECS, body in body()) {
        let by = &secrets[signer.index(secrets.len())];
        let header = sign(by, &id, ts, &body);
        let now = ts + skew;
        prop_assert_eq!(verify(std::slice::from_ref(by), &id, &ts.to_string(), &header, &body, now, DEFAULT_TOLERANCE_SECS), Ok(()));
        prop_assert_eq!(verify(&secrets, &id, &ts.to_string(), &header, &body, now, DEFAULT_TOLERANCE_SECS), Ok(()));
        let all = signature_header(&secrets, &id, ts, &body);
        prop_assert_eq!(verify(std::slice::from_ref(by), &id, &ts.to_string(), &all, &body, now, DEFAULT_TOLERANCE_SECS), Ok(()));
        prop_assert!(all.split(' ').any(|e| e == header));
    }

    #[test]
    fn any_changed_byte_fails(secret in secret(), id in msg_id(), ts in timestamp(), body in body(), at in any::<prop::sample::Index>(), flip in 1u8..=255, dt in prop_oneof![-DEFAULT_TOLERANCE_SECS..0, 1..=DEFAULT_TOLERANCE_SECS], what in 0..4u8) {
        let header = sign(&secret, &id, ts, &body);
        let one = std::slice::from_ref(&secret);
        let (mut id2, mut ts2, mut body2) = (id.clone(), ts, body.clone());
        match what {
            0 if !body.is_empty() => { let i = at.index(body.len()); body2[i] ^= flip; }
            0 | 1 => { body2.insert(at.index(body.len() + 1), flip); }
            2 => {
                // one byte of the id, kept valid UTF-8 by changing an ASCII byte or appending one
                let bytes = id.as_bytes();
                let i = at.index(bytes.len());
                if bytes[i].is_ascii() && (bytes[i] ^ (flip & 0x7f)).is_ascii() && flip & 0x7f != 0 {
                    let mut b = bytes.to_vec();
                    b[i] ^= flip & 0x7f;
                    id2 = String::from_utf8(b).unwrap();
                } else {
                    id2.push(char::from(b'a' + flip % 26));
                }
            }
            _ => {
                ts2 = ts.checked_add(dt).filter(|t| (0..=999_999_999_999_999_999).contains(t)).unwrap_or(ts - dt.signum());
            }
        }
        prop_assume!(id2 != id || ts2 != ts || body2 != body);
        let result = verify(one, &id2, &ts2.to_string(), &header, &body2, ts2, DEFAULT_TOLERANCE_SECS);
        prop_assert_eq!(result, Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn arbitrary_signature_headers_verify_exactly_when_an_entry_is_right((secrets, id, ts, body, header) in (prop::collection::vec(secret(), 0..3), msg_id(), timestamp(), body())
        .prop_flat_map(|(secrets, id, ts, body)| {
            let right = secrets.first().map_or_else(|| "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(), |s| sign(s, &id, ts, &body));
            (Just(secrets), Just(id), Just(ts), Just(body), signature_text(right))
        }), ts_text in prop_oneof![4 => Just(None), 1 => nasty_string(20).prop_map(Some)], now_skew in -400i64..400) {
        let ts_header = ts_text.clone().unwrap_or_else(|| ts.to_string());
        let now = ts + now_skew;
        let result = verify(&secrets, &id, &ts_header, &header, &body, now, DEFAULT_TOLERANCE_SECS);
        if ts_text.is_none() && now_skew.abs() <= DEFAULT_TOLERANCE_SECS && header.split(' ').any(|e| e.split_once(',').is_some_and(|(v, s)| !v.is_empty() && !s.is_empty())) {
            let expected = secrets.iter().any(|s| header.split(' ').any(|e| e == sign(s, &id, ts, &body)));
            prop_assert_eq!(result.is_ok(), expected, "header {:?}: {:?}", header, result);
        }
        if result.is_ok() {
            prop_assert!(secrets.iter().any(|s| header.split(' ').any(|e| e == sign(s, &id, ts_header.trim().parse().unwrap_or(-1), &body))));
        }
    }
}

/// The seed corpus: signature header lines checked against a fixed delivery, never panicking,
/// verifying only when the right entry is present.
#[test]
fn signature_corpus() {
    let secret: SigningSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().unwrap();
    let (id, ts, body) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330i64, br#"{"test": 2432232314}"#);
    let right = sign(&secret, id, ts, body);
    for line in corpus("signatures.txt") {
        let result = verify(std::slice::from_ref(&secret), id, &ts.to_string(), &line, body, ts, DEFAULT_TOLERANCE_SECS);
        assert_eq!(result.is_ok(), line.split(' ').any(|e| e == right), "{line:?}: {result:?}");
    }
}

/// Header-safe text for a `webhook-signature` value (`HeaderValue` refuses control characters).
fn header_safe(s: &str) -> Option<http::HeaderValue> {
    http::HeaderValue::from_str(s).ok()
}

fn official_headers(id: &str, ts: i64, signature: http::HeaderValue) -> Option<http::HeaderMap> {
    let mut headers = http::HeaderMap::new();
    headers.insert("webhook-id", header_safe(id)?);
    headers.insert("webhook-timestamp", http::HeaderValue::from(ts));
    headers.insert("webhook-signature", signature);
    Some(headers)
}

proptest! {
    #![proptest_config(config("signing_official", 0.5))]

    /// Our signatures verify with the official `standardwebhooks` library, which signs the same,
    /// and for any signature header both verifiers agree (the official one reads the clock, so the
    /// timestamp is now).
    #[test]
    fn the_official_verifier_agrees((secrets, id, body, header) in (prop::collection::vec(secret(), 1..3), "msg_[A-Za-z0-9]{1,27}", any::<String>())
        .prop_flat_map(|(secrets, id, body)| {
            let ts = unix_now();
            let right = sign(&secrets[0], &id, ts, body.as_bytes());
            (Just(secrets), Just(id), Just(body), prop_oneof![1 => Just(None), 3 => signature_text(right).prop_map(Some)])
        })) {
        let ts = unix_now();
        let official = standardwebhooks::Webhook::from_bytes(secrets[0].expose_bytes().to_vec()).unwrap();
        let ours = sign(&secrets[0], &id, ts, body.as_bytes());
        prop_assert_eq!(official.sign(&id, ts, body.as_bytes()).ok(), Some(ours.clone()));
        let all = signature_header(&secrets, &id, ts, body.as_bytes());
        let value = header.as_deref().map_or_else(|| header_safe(&all), header_safe);
        let Some(value) = value else { return Ok(()) };
        let Ok(text) = value.to_str().map(str::to_owned) else { return Ok(()) };
        let headers = official_headers(&id, ts, value).unwrap();
        let theirs = official.verify(body.as_bytes(), &headers);
        let mine = verify(std::slice::from_ref(&secrets[0]), &id, &ts.to_string(), &text, body.as_bytes(), ts, DEFAULT_TOLERANCE_SECS);
        prop_assert_eq!(mine.is_ok(), theirs.is_ok(), "header {:?}: ours {:?}, official {:?}", text, mine, theirs);
        if header.is_none() {
            prop_assert!(mine.is_ok());
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
