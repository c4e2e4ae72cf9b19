//! How a request is forwarded to api-fn: which client headers travel, which the edge adds, and
//! whether a request body is small enough to accept. Pure; the runtime side lives in `runtime::proxy`.

use thiserror::Error;

/// Largest request body the edge forwards when the configuration names no other limit (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;

/// Request headers that never travel to the origin: hop-by-hop headers (RFC 9110 §7.6.1), the
/// host (the origin's own is used), `expect` (the edge answers `100-continue` itself; passed on,
/// the runtime's fetch waits for a 100 that never comes), and forwarding headers a client could
/// forge (and the edge's proof, which only the edge writes); the edge writes its own instead.
const DROPPED_REQUEST_HEADERS: [&str; 19] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "expect",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "cf-connecting-ip",
    EDGE_PROOF_HEADER,
];

/// The header that proves to api-fn that a request came through the edge (its value is the
/// configured `ORIGIN_SECRET`; api-fn checks it against `PRIKKE_EDGE_SECRET`).
pub const EDGE_PROOF_HEADER: &str = "x-prikke-edge";

/// True when a client request header is passed on to the origin unchanged.
/// `content-length` is dropped because the runtime frames the forwarded body itself.
pub fn keeps_request_header(name: &str) -> bool {
    !DROPPED_REQUEST_HEADERS
        .iter()
        .any(|dropped| dropped.eq_ignore_ascii_case(name))
}

/// Forwarding headers the edge adds: who the client is and what it asked for, and the edge's
/// proof when it has a secret.
pub fn forwarding_headers(
    client_ip: Option<&str>,
    scheme: &str,
    host: &str,
    origin_secret: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("x-forwarded-proto", scheme.trim_end_matches(':').to_owned()),
        ("x-forwarded-host", host.to_owned()),
    ];
    if let Some(ip) = client_ip {
        headers.push(("x-forwarded-for", ip.to_owned()));
    }
    if let Some(secret) = origin_secret {
        headers.push((EDGE_PROOF_HEADER, secret.to_owned()));
    }
    headers
}

/// True when an origin's status can be passed on to the client. The runtime cannot build a
/// response with an informational (1xx) status, so such an answer is treated as a bad gateway.
pub fn relayable_status(status: u16) -> bool {
    (200..=599).contains(&status)
}

/// What the edge knows about a request body before reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyPlan {
    /// No body (or a declared length of zero): nothing to forward.
    Empty,
    /// A body of this declared length, within the limit: stream it through as it arrives.
    Stream(u64),
    /// A body without a declared length (chunked): read at most the limit, refuse if it goes over.
    ReadCapped(u64),
}

/// Why a request body is refused before anything is forwarded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BodyRefusal {
    #[error("The request body is larger than the {limit} bytes this endpoint accepts.")]
    TooLarge { limit: u64 },
    #[error("The Content-Length header is not a valid number of bytes.")]
    InvalidLength,
}

/// Decides how to handle a body from its `Content-Length` header and whether one is present.
pub fn plan_body(
    content_length: Option<&str>,
    has_body: bool,
    limit: u64,
) -> Result<BodyPlan, BodyRefusal> {
    match content_length {
        Some(raw) => {
            let raw = raw.trim();
            if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BodyRefusal::InvalidLength);
            }
            let declared: u64 = raw.parse().map_err(|_| BodyRefusal::TooLarge { limit })?;
            if declared > limit {
                Err(BodyRefusal::TooLarge { limit })
            } else if declared == 0 {
                Ok(BodyPlan::Empty)
            } else {
                Ok(BodyPlan::Stream(declared))
            }
        }
        None if has_body => Ok(BodyPlan::ReadCapped(limit)),
        None => Ok(BodyPlan::Empty),
    }
}

/// Appends `chunk` to `buffer` unless that would take it past `limit`.
pub fn append_capped(buffer: &mut Vec<u8>, chunk: &[u8], limit: u64) -> Result<(), BodyRefusal> {
    if (buffer.len() as u64).saturating_add(chunk.len() as u64) > limit {
        return Err(BodyRefusal::TooLarge { limit });
    }
    buffer.extend_from_slice(chunk);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_to_end_headers_travel() {
        for name in [
            "authorization",
            "Content-Type",
            "accept",
            "idempotency-key",
            "cookie",
            "user-agent",
            "x-custom",
            "cf-ipcountry",
        ] {
            assert!(keeps_request_header(name), "{name}");
        }
    }

    #[test]
    fn hop_by_hop_and_forgeable_headers_stay_behind() {
        for name in [
            "Connection",
            "Expect",
            "keep-alive",
            "Transfer-Encoding",
            "upgrade",
            "host",
            "Content-Length",
            "X-Forwarded-For",
            "forwarded",
            "x-real-ip",
            "CF-Connecting-IP",
            "proxy-authorization",
            "X-Prikke-Edge",
        ] {
            assert!(!keeps_request_header(name), "{name}");
        }
    }

    #[test]
    fn the_edge_names_the_client_and_the_public_host() {
        let headers = forwarding_headers(Some("203.0.113.7"), "https:", "prikke.eu", Some("s3cret"));
        assert!(headers.contains(&("x-prikke-edge", "s3cret".into())));
        assert!(headers.contains(&("x-forwarded-for", "203.0.113.7".into())));
        assert!(headers.contains(&("x-forwarded-proto", "https".into())));
        assert!(headers.contains(&("x-forwarded-host", "prikke.eu".into())));
        assert!(
            !forwarding_headers(None, "http", "localhost", None)
                .iter()
                .any(|(n, _)| *n == "x-forwarded-for" || *n == "x-prikke-edge")
        );
    }

    #[test]
    fn only_final_statuses_are_relayed() {
        assert!(
            relayable_status(200)
                && relayable_status(302)
                && relayable_status(404)
                && relayable_status(599)
        );
        assert!(
            !relayable_status(100)
                && !relayable_status(101)
                && !relayable_status(103)
                && !relayable_status(600)
        );
    }

    #[test]
    fn declared_bodies_within_the_limit_stream_through() {
        assert_eq!(
            plan_body(Some("1024"), true, 1024),
            Ok(BodyPlan::Stream(1024))
        );
        assert_eq!(
            plan_body(Some(" 12 "), true, 1024),
            Ok(BodyPlan::Stream(12))
        );
        assert_eq!(plan_body(Some("0"), false, 1024), Ok(BodyPlan::Empty));
        assert_eq!(plan_body(None, false, 1024), Ok(BodyPlan::Empty));
    }

    #[test]
    fn declared_bodies_over_the_limit_are_refused_before_reading() {
        assert_eq!(
            plan_body(Some("1025"), true, 1024),
            Err(BodyRefusal::TooLarge { limit: 1024 })
        );
        assert_eq!(
            plan_body(Some("99999999999999999999999"), true, 1024),
            Err(BodyRefusal::TooLarge { limit: 1024 })
        );
    }

    #[test]
    fn malformed_lengths_are_refused() {
        for raw in ["", "-1", "1e3", "12, 12", "0x10"] {
            assert_eq!(
                plan_body(Some(raw), true, 1024),
                Err(BodyRefusal::InvalidLength),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn undeclared_bodies_are_read_up_to_the_limit() {
        assert_eq!(plan_body(None, true, 1024), Ok(BodyPlan::ReadCapped(1024)));
        let mut buffer = Vec::new();
        assert_eq!(append_capped(&mut buffer, &[1; 600], 1024), Ok(()));
        assert_eq!(append_capped(&mut buffer, &[2; 424], 1024), Ok(()));
        assert_eq!(buffer.len(), 1024);
        assert_eq!(
            append_capped(&mut buffer, &[3], 1024),
            Err(BodyRefusal::TooLarge { limit: 1024 })
        );
        assert_eq!(buffer.len(), 1024, "a refused chunk is not kept");
    }

    #[test]
    fn refusals_explain_themselves() {
        assert_eq!(
            BodyRefusal::TooLarge { limit: 1048576 }.to_string(),
            "The request body is larger than the 1048576 bytes this endpoint accepts."
        );
    }
}
