//! Verifying a Standard Webhooks signature, as a receiver (and our own tests) would.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use subtle::{Choice, ConstantTimeEq};

use super::{SigningSecret, mac};

/// The replay window the official libraries use: five minutes either side of now.
pub const DEFAULT_TOLERANCE_SECS: i64 = 5 * 60;

/// Why a delivery did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the webhook-id header is empty")]
    MissingId,
    #[error("the webhook-timestamp header is not a unix timestamp in seconds")]
    MalformedTimestamp,
    #[error("the webhook-signature header contains no \"<version>,<signature>\" entries")]
    MalformedSignatureHeader,
    #[error(
        "the webhook-timestamp is {age_secs} seconds old, beyond the {tolerance_secs} second tolerance"
    )]
    TimestampTooOld { age_secs: i64, tolerance_secs: i64 },
    #[error(
        "the webhook-timestamp is {ahead_secs} seconds in the future, beyond the {tolerance_secs} second tolerance"
    )]
    TimestampTooNew {
        ahead_secs: i64,
        tolerance_secs: i64,
    },
    #[error("no signature in the webhook-signature header matches any of the secrets")]
    NoMatchingSignature,
}

/// Checks that `signature_header` holds a `v1` signature of `{msg_id}.{timestamp}.{body}` made
/// with one of `secrets`, and that the timestamp lies within `tolerance_secs` of `now_unix`.
///
/// Entries with other versions (e.g. asymmetric `v1a`) and undecodable entries are skipped, not
/// errors: a header is only malformed when no entry has the `version,signature` shape at all.
/// Comparisons are constant-time and every (secret, entry) pair is compared, so timing reveals
/// neither which secret nor which entry matched.
pub fn verify(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    if msg_id.is_empty() {
        return Err(VerifyError::MissingId);
    }
    let timestamp = parse_timestamp(timestamp_header)?;
    if !signature_header.split(' ').any(|entry| {
        entry
            .split_once(',')
            .is_some_and(|(v, s)| !v.is_empty() && !s.is_empty())
    }) {
        return Err(VerifyError::MalformedSignatureHeader);
    }
    check_window(timestamp, now_unix, tolerance_secs.max(0))?;

    let mut matched = Choice::from(0);
    for secret in secrets {
        let expected = mac(secret, msg_id, timestamp, body);
        for candidate in v1_signatures(signature_header) {
            matched |= candidate.ct_eq(&expected);
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

fn parse_timestamp(header: &str) -> Result<i64, VerifyError> {
    let header = header.trim();
    if header.is_empty() || header.len() > 18 || !header.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::MalformedTimestamp);
    }
    header.parse().map_err(|_| VerifyError::MalformedTimestamp)
}

fn check_window(timestamp: i64, now: i64, tolerance: i64) -> Result<(), VerifyError> {
    let age = i128::from(now) - i128::from(timestamp);
    let clamp = |v: i128| i64::try_from(v).unwrap_or(i64::MAX);
    if age > i128::from(tolerance) {
        Err(VerifyError::TimestampTooOld {
            age_secs: clamp(age),
            tolerance_secs: tolerance,
        })
    } else if -age > i128::from(tolerance) {
        Err(VerifyError::TimestampTooNew {
            ahead_secs: clamp(-age),
            tolerance_secs: tolerance,
        })
    } else {
        Ok(())
    }
}

/// The decoded 32-byte `v1` signatures in a header, skipping everything else.
fn v1_signatures(header: &str) -> impl Iterator<Item = [u8; 32]> + '_ {
    header.split(' ').filter_map(|entry| {
        let encoded = entry.strip_prefix("v1,")?;
        if encoded.len() != 44 {
            return None;
        }
        let mut buf = [0u8; 48];
        let n = STANDARD.decode_slice(encoded, &mut buf).ok()?;
        (n == 32).then(|| {
            let mut sig = [0u8; 32];
            sig.copy_from_slice(&buf[..32]);
            sig
        })
    })
}

#[cfg(test)]
mod tests {
    use super::super::{sign, signature_header};
    use super::*;

    const NOW: i64 = 1_700_000_000;
    const ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    const BODY: &[u8] = br#"{"type":"contact.created"}"#;

    fn secret(n: u8) -> SigningSecret {
        SigningSecret::generate([n; 32])
    }

    fn check(
        secrets: &[SigningSecret],
        ts: &str,
        header: &str,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        verify(secrets, ID, ts, header, body, NOW, DEFAULT_TOLERANCE_SECS)
    }

    #[test]
    fn accepts_a_fresh_valid_signature() {
        let s = secret(1);
        let header = sign(&s, ID, NOW, BODY);
        assert_eq!(check(&[s], &NOW.to_string(), &header, BODY), Ok(()));
    }

    #[test]
    fn accepts_the_published_vector() {
        let s: SigningSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().unwrap();
        let result = verify(
            &[s],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            br#"{"test": 2432232314}"#,
            1_614_265_330 + 10,
            DEFAULT_TOLERANCE_SECS,
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn rejects_a_tampered_body() {
        let s = secret(1);
        let header = sign(&s, ID, NOW, BODY);
        let tampered = br#"{"type":"contact.deleted"}"#;
        assert_eq!(
            check(&[s], &NOW.to_string(), &header, tampered),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn rejects_a_wrong_secret() {
        let header = sign(&secret(1), ID, NOW, BODY);
        assert_eq!(
            check(&[secret(2)], &NOW.to_string(), &header, BODY),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            check(&[], &NOW.to_string(), &header, BODY),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn rejects_a_signature_for_another_timestamp_or_id() {
        let s = secret(1);
        let header = sign(&s, ID, NOW - 1, BODY);
        assert!(check(std::slice::from_ref(&s), &NOW.to_string(), &header, BODY).is_err());
        let other_id = sign(&s, "msg_other", NOW, BODY);
        assert!(check(&[s], &NOW.to_string(), &other_id, BODY).is_err());
    }

    #[test]
    fn rejects_stale_timestamps_at_the_boundary() {
        let s = secret(1);
        let ts = NOW - DEFAULT_TOLERANCE_SECS;
        let ok = sign(&s, ID, ts, BODY);
        assert_eq!(
            check(std::slice::from_ref(&s), &ts.to_string(), &ok, BODY),
            Ok(())
        );
        let ts = ts - 1;
        let stale = sign(&s, ID, ts, BODY);
        assert_eq!(
            check(&[s], &ts.to_string(), &stale, BODY),
            Err(VerifyError::TimestampTooOld {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
    }

    #[test]
    fn rejects_future_timestamps_at_the_boundary() {
        let s = secret(1);
        let ts = NOW + DEFAULT_TOLERANCE_SECS;
        let ok = sign(&s, ID, ts, BODY);
        assert_eq!(
            check(std::slice::from_ref(&s), &ts.to_string(), &ok, BODY),
            Ok(())
        );
        let ts = ts + 1;
        let future = sign(&s, ID, ts, BODY);
        let err = check(&[s], &ts.to_string(), &future, BODY).unwrap_err();
        assert_eq!(
            err,
            VerifyError::TimestampTooNew {
                ahead_secs: 301,
                tolerance_secs: 300
            }
        );
        assert!(err.to_string().contains("301 seconds in the future"));
    }

    #[test]
    fn either_secret_verifies_during_rotation() {
        let (old, new) = (secret(1), secret(2));
        let header = signature_header(&[new.clone(), old.clone()], ID, NOW, BODY);
        let ts = NOW.to_string();
        // A receiver that still holds only the old secret, or already only the new one.
        assert_eq!(
            check(std::slice::from_ref(&old), &ts, &header, BODY),
            Ok(())
        );
        assert_eq!(
            check(std::slice::from_ref(&new), &ts, &header, BODY),
            Ok(())
        );
        // A receiver configured with several secrets accepts a signature by any of them.
        let by_old = sign(&old, ID, NOW, BODY);
        assert_eq!(check(&[secret(3), old], &ts, &by_old, BODY), Ok(()));
        assert_eq!(
            check(&[secret(3), new], &ts, &by_old, BODY),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn finds_the_valid_entry_among_others() {
        let s = secret(1);
        let header = format!(
            "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1a,aGVsbG8= {}  v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= v2,xyz",
            sign(&s, ID, NOW, BODY)
        );
        assert_eq!(check(&[s], &NOW.to_string(), &header, BODY), Ok(()));
    }

    #[test]
    fn rejects_when_no_entry_matches() {
        let header = "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=";
        assert_eq!(
            check(&[secret(1)], &NOW.to_string(), header, BODY),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn undecodable_or_truncated_entries_never_match() {
        let s = secret(1);
        let good = sign(&s, ID, NOW, BODY);
        let truncated = &good[..good.len() - 2];
        for header in [
            truncated,
            "v1,!!!!",
            "v1,AAAA",
            "v1,====================================AAAAAAAA",
        ] {
            assert_eq!(
                check(std::slice::from_ref(&s), &NOW.to_string(), header, BODY),
                Err(VerifyError::NoMatchingSignature),
                "{header}"
            );
        }
    }

    #[test]
    fn rejects_malformed_headers() {
        let s = secret(1);
        let good = sign(&s, ID, NOW, BODY);
        let ts = NOW.to_string();
        let one = std::slice::from_ref(&s);
        assert_eq!(
            verify(one, "", &ts, &good, BODY, NOW, 300),
            Err(VerifyError::MissingId)
        );
        for bad_ts in [
            "",
            "abc",
            "-5",
            "+5",
            "1.5",
            "1700000000000000000000",
            "17e8",
        ] {
            assert_eq!(
                check(one, bad_ts, &good, BODY),
                Err(VerifyError::MalformedTimestamp),
                "{bad_ts:?}"
            );
        }
        for bad_sig in ["", " ", "v1", "v1,", ",abc", "garbage"] {
            assert_eq!(
                check(one, &ts, bad_sig, BODY),
                Err(VerifyError::MalformedSignatureHeader),
                "{bad_sig:?}"
            );
        }
    }

    #[test]
    fn negative_tolerance_means_exact_time_only() {
        let s = secret(1);
        let header = sign(&s, ID, NOW, BODY);
        let one = std::slice::from_ref(&s);
        assert_eq!(
            verify(one, ID, &NOW.to_string(), &header, BODY, NOW, -10),
            Ok(())
        );
        assert!(verify(one, ID, &NOW.to_string(), &header, BODY, NOW + 1, -10).is_err());
    }
}
