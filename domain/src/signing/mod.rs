//! Standard Webhooks request signing (<https://www.standardwebhooks.com/>): the `whsec_` secret,
//! producing `webhook-signature` values, and verifying them.
//!
//! Every outgoing call carries three headers:
//!
//! ```text
//! webhook-id:        msg_…            stable across retries of one execution
//! webhook-timestamp: 1674087231       unix seconds of this attempt
//! webhook-signature: v1,<base64>      HMAC-SHA256(key, "{id}.{timestamp}.{body}"), one per secret
//! ```
//!
//! During a rotation the organization has two live secrets and the header carries one
//! space-separated `v1,` entry per secret, so a receiver holding either one verifies.
//!
//! Hot path: the keyed HMAC state is prepared once per [`SigningSecret`], and the signed content
//! is fed to the MAC in parts (id, `.`, timestamp digits from a stack buffer, `.`, body) instead of
//! being concatenated, so a signature costs one allocation: the returned string.

mod secret;
mod verify;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::Mac;

pub use secret::{SigningSecret, SigningSecretError};
pub use verify::{DEFAULT_TOLERANCE_SECS, VerifyError, verify};

/// Header names the dispatcher sets; user-supplied headers may not use them.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Length of one `v1,<base64 of 32 bytes>` entry.
const ENTRY_LEN: usize = 3 + 44;

/// The raw HMAC-SHA256 of `"{msg_id}.{timestamp}.{body}"` under `secret`.
fn mac(secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut digits = [0u8; 20];
    let mut mac = secret.keyed_hmac();
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(decimal(timestamp, &mut digits));
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// One signature entry, `v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`.
///
/// `msg_id` must be one we generated (`msg_…`, no `.`): the spec requires the id not to be
/// user-controlled, since a `.` in it would make the signed content ambiguous.
pub fn sign(secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut out = String::with_capacity(ENTRY_LEN);
    push_entry(&mut out, secret, msg_id, timestamp, body);
    out
}

/// The full `webhook-signature` value: one entry per secret, space-separated, in the order
/// given (newest first by convention). Empty when `secrets` is empty.
pub fn signature_header(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    let mut out = String::with_capacity(secrets.len() * (ENTRY_LEN + 1));
    for (i, secret) in secrets.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_entry(&mut out, secret, msg_id, timestamp, body);
    }
    out
}

fn push_entry(out: &mut String, secret: &SigningSecret, msg_id: &str, timestamp: i64, body: &[u8]) {
    out.push_str("v1,");
    STANDARD.encode_string(mac(secret, msg_id, timestamp, body), out);
}

/// Writes `n` in decimal into `buf` and returns the written digits (20 bytes fit any i64).
fn decimal(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut rest = n.unsigned_abs();
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        start -= 1;
        buf[start] = b'-';
    }
    &buf[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector published with the Standard Webhooks libraries (independently recomputed
    /// with Python's hmac module while writing this test).
    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let secret: SigningSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().unwrap();
        let sig = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    /// The vector from the reference Rust library's tests.
    #[test]
    fn matches_the_reference_rust_library_vector() {
        let secret: SigningSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".parse().unwrap();
        let sig = sign(
            &secret,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        );
        assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn header_has_one_entry_per_secret_in_order() {
        let old = SigningSecret::generate([1; 32]);
        let new = SigningSecret::generate([2; 32]);
        let header = signature_header(&[new.clone(), old.clone()], "msg_1", 1_700_000_000, b"{}");
        let entries: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            entries,
            [
                sign(&new, "msg_1", 1_700_000_000, b"{}"),
                sign(&old, "msg_1", 1_700_000_000, b"{}")
            ]
        );
        assert_eq!(signature_header(&[], "msg_1", 1, b""), "");
    }

    #[test]
    fn every_signed_part_changes_the_signature() {
        let s = SigningSecret::generate([9; 32]);
        let base = sign(&s, "msg_1", 100, b"body");
        assert_ne!(base, sign(&s, "msg_2", 100, b"body"));
        assert_ne!(base, sign(&s, "msg_1", 101, b"body"));
        assert_ne!(base, sign(&s, "msg_1", 100, b"bodY"));
        assert_ne!(
            base,
            sign(&SigningSecret::generate([8; 32]), "msg_1", 100, b"body")
        );
        assert_eq!(base.len(), ENTRY_LEN);
    }

    #[test]
    fn decimal_formats_every_i64() {
        for n in [0i64, 7, -7, 10, 1_614_265_330, i64::MAX, i64::MIN] {
            let mut buf = [0u8; 20];
            assert_eq!(decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }
}
