//! Turning what went wrong during a delivery into an outcome and a clear sentence: which phase
//! failed, against which `host:port`, and the root cause — never the URL, headers or secrets.

use std::error::Error as StdError;
use std::time::Duration;

use domain::retry::AttemptOutcome;

use super::guarded_resolver::TargetRefused;

/// Where a delivery was when it failed or ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    WaitingForSlot,
    AwaitingResponse,
    ReadingBody,
}

/// The sentence for a delivery that hit its hard timeout in `phase`.
pub(super) fn timeout_message(
    phase: Phase,
    timeout: Duration,
    host_key: &str,
    per_host: usize,
) -> String {
    let after = human_duration(timeout);
    match phase {
        Phase::WaitingForSlot => format!(
            "timed out after {after} waiting for a free slot: {per_host} deliveries to {host_key} \
             were already in flight"
        ),
        Phase::AwaitingResponse => {
            format!("timed out after {after}: no response from {host_key}")
        }
        Phase::ReadingBody => {
            format!("timed out after {after} while reading the response body from {host_key}")
        }
    }
}

/// The outcome and sentence for a failed send or body read.
pub(super) fn failure_outcome(
    err: &reqwest::Error,
    phase: Phase,
    host_key: &str,
) -> AttemptOutcome {
    if let Some(refused) = find::<TargetRefused>(err) {
        return AttemptOutcome::Refused {
            message: refused.message.clone(),
        };
    }
    let cause = root_cause(err);
    let message = if find::<rustls::Error>(err).is_some() {
        format!("could not connect to {host_key}: TLS handshake failed: {cause}")
    } else if is_dns_failure(err) {
        format!("could not resolve {host_key}: {cause}")
    } else if err.is_connect() {
        format!("could not connect to {host_key}: {cause}")
    } else if phase == Phase::ReadingBody {
        format!("the response body from {host_key} broke off: {cause}")
    } else {
        format!("the request to {host_key} failed: {cause}")
    };
    AttemptOutcome::Network { message }
}

/// The outcome and sentence for a name that could not be resolved (or resolves only to refused
/// addresses) before sending: as when the connection's own lookup fails.
pub(super) fn resolve_failure_outcome(err: &(dyn StdError + 'static), host_key: &str) -> AttemptOutcome {
    if let Some(refused) = chain(err).find_map(|e| e.downcast_ref::<TargetRefused>()) {
        return AttemptOutcome::Refused { message: refused.message.clone() };
    }
    let cause = without_os_error(chain(err).last().map_or_else(|| "unknown error".to_owned(), ToString::to_string));
    AttemptOutcome::Network { message: format!("could not resolve {host_key}: {cause}") }
}

/// Every error under reqwest's own. An `io::Error` is followed into the error it wraps (its
/// own `source()` would skip that one).
fn sources(err: &reqwest::Error) -> impl Iterator<Item = &(dyn StdError + 'static)> {
    err.source().into_iter().flat_map(chain)
}

/// An error and every error under it, following an `io::Error` into the one it wraps.
fn chain<'a>(first: &'a (dyn StdError + 'static)) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(first), |&e| {
        match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        }
    })
}

fn find<E: StdError + 'static>(err: &reqwest::Error) -> Option<&E> {
    sources(err).find_map(|e| e.downcast_ref::<E>())
}

fn is_dns_failure(err: &reqwest::Error) -> bool {
    // hyper-util wraps resolver failures as a ConnectError whose message is "dns error".
    sources(err).any(|e| e.to_string() == "dns error")
}

/// The innermost error's message, without the `(os error N)` suffix; reqwest's own message
/// (which may carry the URL) is never used.
fn root_cause(err: &reqwest::Error) -> String {
    let message = match sources(err).last() {
        Some(root) => root.to_string(),
        None if err.is_timeout() => "timed out".to_owned(),
        None => "unknown error".to_owned(),
    };
    without_os_error(message)
}

fn without_os_error(message: String) -> String {
    match message.rfind(" (os error ") {
        Some(at) if message.ends_with(')') => message[..at].to_owned(),
        _ => message,
    }
}

/// `30 s`, `1.5 s` or `250 ms`.
pub(super) fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(30)), "30 s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250 ms");
    }

    #[test]
    fn timeout_messages_name_the_phase_and_host() {
        let t = Duration::from_secs(5);
        assert_eq!(
            timeout_message(Phase::AwaitingResponse, t, "example.com:443", 32),
            "timed out after 5 s: no response from example.com:443"
        );
        assert!(
            timeout_message(Phase::WaitingForSlot, t, "example.com:443", 32)
                .contains("32 deliveries to example.com:443 were already in flight")
        );
        assert!(
            timeout_message(Phase::ReadingBody, t, "example.com:443", 32)
                .contains("reading the response body")
        );
    }
}
