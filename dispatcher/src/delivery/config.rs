//! The deliverer's settings, their defaults, and parsing of the operator's target allow-list.

use std::time::Duration;

use ipnet::IpNet;

use super::ssrf::ALLOW_LIST_VARIABLE;

/// How the deliverer behaves. `Default` gives production settings with an empty allow-list.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Sent as `User-Agent` unless the job sets its own.
    pub user_agent: String,
    /// Response bodies are kept up to this many bytes; reading stops there.
    pub response_body_cap: usize,
    /// At most this many deliveries in flight to one `host:port`.
    pub per_host_concurrency: usize,
    /// Networks the SSRF guard lets through although they are not public (tests, local dev).
    pub allow_targets: Vec<IpNet>,
    /// Blocked ports (see [`super::ssrf::BLOCKED_PORTS`]) the operator lets through.
    pub allow_ports: Vec<u16>,
    /// Idle keep-alive connections kept per host.
    pub pool_idle_per_host: usize,
    /// An idle pooled connection is closed after this long.
    pub pool_idle_timeout: Duration,
    /// Connecting (TCP, per address tried) gives up after this long, within the job's timeout.
    pub connect_timeout: Duration,
    /// PEM root certificates trusted in addition to the system's (tests, private CAs).
    pub extra_root_certificates_pem: Vec<Vec<u8>>,
    /// Host names resolved to fixed addresses, bypassing DNS and the SSRF guard's resolver
    /// (tests only: local receivers standing in for public hosts).
    pub resolve: Vec<(String, std::net::SocketAddr)>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            user_agent: default_user_agent(),
            response_body_cap: 64 * 1024,
            per_host_concurrency: 32,
            allow_targets: Vec::new(),
            allow_ports: Vec::new(),
            pool_idle_per_host: 32,
            pool_idle_timeout: Duration::from_secs(90),
            connect_timeout: Duration::from_secs(10),
            extra_root_certificates_pem: Vec::new(),
            resolve: Vec::new(),
        }
    }
}

/// `Prikke/<version> (+https://prikke.eu)`.
pub fn default_user_agent() -> String {
    format!("Prikke/{} (+https://prikke.eu)", env!("CARGO_PKG_VERSION"))
}

/// Why the allow-list setting was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{ALLOW_LIST_VARIABLE}: {entry:?} is neither an IP network in CIDR form (such as 127.0.0.0/8 or ::1/128) nor an IP address"
)]
pub struct AllowListError {
    pub entry: String,
}

/// Parses a comma- or whitespace-separated list of CIDRs (`127.0.0.0/8, ::1/128`); a bare
/// address means that address alone. An empty string is an empty list.
pub fn parse_allow_list(input: &str) -> Result<Vec<IpNet>, AllowListError> {
    input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| AllowListError {
                    entry: entry.to_owned(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cidrs_and_bare_addresses() {
        let list = parse_allow_list(" 127.0.0.0/8,::1/128  10.1.2.3 ,fd00::/8,").unwrap();
        let want: Vec<IpNet> = ["127.0.0.0/8", "::1/128", "10.1.2.3/32", "fd00::/8"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(list, want);
        assert_eq!(parse_allow_list("").unwrap(), vec![]);
    }

    #[test]
    fn host_bits_are_dropped() {
        assert_eq!(
            parse_allow_list("10.1.2.3/8").unwrap(),
            vec!["10.0.0.0/8".parse::<IpNet>().unwrap()]
        );
    }

    #[test]
    fn rejects_garbage_naming_the_entry_and_the_variable() {
        let err = parse_allow_list("127.0.0.0/8,localhost").unwrap_err();
        assert_eq!(err.entry, "localhost");
        let msg = err.to_string();
        assert!(
            msg.starts_with("PRIKKE_ALLOW_PRIVATE_TARGETS: \"localhost\""),
            "{msg}"
        );
        assert!(parse_allow_list("10.0.0.0/33").is_err());
    }

    #[test]
    fn the_default_user_agent_names_the_product() {
        let ua = DeliveryConfig::default().user_agent;
        assert!(ua.starts_with("Prikke/"));
        assert!(ua.ends_with(" (+https://prikke.eu)"));
    }
}
