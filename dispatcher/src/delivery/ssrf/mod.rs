//! The SSRF guard's rules: which IP addresses and host names a delivery may never reach unless
//! the operator allow-lists them, and the sentence that says why.
//!
//! Refused: everything in the IANA special-purpose registries that is not globally routable —
//! loopback, RFC 1918 private, CGNAT (100.64/10), link-local, "this network", broadcast and the
//! reserved 240/4, multicast, documentation and benchmarking ranges, IPv6 unique-local
//! (fc00::/7), site-local, discard-only, Teredo — plus the cloud metadata addresses (some of
//! which are public, e.g. Azure's 168.63.129.16). IPv6 forms that carry an IPv4 address
//! (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
//! `2002::/16`) are judged by the IPv4 address inside, so `::ffff:127.0.0.1` is loopback.
//!
//! Names that stand for such addresses whatever DNS says (`localhost`, `*.localhost`,
//! `metadata.google.internal`) are never looked up: they are judged as the addresses they stand
//! for, so an allow-list that admits loopback admits `localhost` too.
//!
//! The allow-list (`PRIKKE_ALLOW_PRIVATE_TARGETS`, CIDRs) wins over every rule: an address it
//! contains is allowed. For an IPv4-mapped address the IPv4 address inside is matched too, since
//! the kernel connects to exactly that address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The environment variable that holds the operator's allow-list; named in refusal messages.
pub const ALLOW_LIST_VARIABLE: &str = "PRIKKE_ALLOW_PRIVATE_TARGETS";

/// Why an address is not a public destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Unspecified,
    ThisNetwork,
    Loopback,
    Private,
    SharedCgnat,
    LinkLocal,
    CloudMetadata,
    ProtocolAssignment,
    Documentation,
    Benchmarking,
    Multicast,
    Broadcast,
    Reserved,
    UniqueLocal,
    SiteLocal,
    DiscardOnly,
    Teredo,
    LocalNat64,
    DeprecatedRelay,
}

impl AddressKind {
    fn describe(self) -> &'static str {
        match self {
            AddressKind::Unspecified => "an unspecified address",
            AddressKind::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            AddressKind::Loopback => "a loopback address",
            AddressKind::Private => "a private address",
            AddressKind::SharedCgnat => "a carrier-grade NAT address (100.64.0.0/10)",
            AddressKind::LinkLocal => "a link-local address",
            AddressKind::CloudMetadata => "a cloud metadata address",
            AddressKind::ProtocolAssignment => "an IETF protocol address (192.0.0.0/24)",
            AddressKind::Documentation => "a documentation address",
            AddressKind::Benchmarking => "a benchmarking address",
            AddressKind::Multicast => "a multicast address",
            AddressKind::Broadcast => "the broadcast address",
            AddressKind::Reserved => "a reserved address",
            AddressKind::UniqueLocal => "a unique-local IPv6 address (fc00::/7)",
            AddressKind::SiteLocal => "a site-local IPv6 address (fec0::/10)",
            AddressKind::DiscardOnly => "a discard-only IPv6 address (100::/64)",
            AddressKind::Teredo => "a Teredo tunnelling address (2001::/32)",
            AddressKind::LocalNat64 => "a local-use NAT64 address (64:ff9b:1::/48)",
            AddressKind::DeprecatedRelay => "a deprecated 6to4 relay address (192.88.99.0/24)",
        }
    }
}

/// How an IPv6 address carries the IPv4 address it was judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    Mapped,
    Compatible,
    Nat64,
    SixToFour,
}

impl Embedding {
    fn describe(self) -> &'static str {
        match self {
            Embedding::Mapped => "an IPv4-mapped form",
            Embedding::Compatible => "an IPv4-compatible form",
            Embedding::Nat64 => "a NAT64 form",
            Embedding::SixToFour => "a 6to4 form",
        }
    }
}

/// An address the guard refuses, with the reason; `Display` is the user-facing sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedAddress {
    pub address: IpAddr,
    pub kind: AddressKind,
    /// Set when `address` is IPv6 and was judged by the IPv4 address inside it.
    pub embedded: Option<(Embedding, Ipv4Addr)>,
}

impl fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embedded {
            Some((embedding, v4)) => write!(
                f,
                "refused: {} is {} of {v4}, {} (list it in {ALLOW_LIST_VARIABLE} to allow)",
                self.address,
                embedding.describe(),
                self.kind.describe()
            ),
            None => write!(
                f,
                "refused: {} is {} (list it in {ALLOW_LIST_VARIABLE} to allow)",
                self.address,
                self.kind.describe()
            ),
        }
    }
}

/// The sentence for a host name none of whose addresses may be reached. It names what kind of
/// addresses the name has, never the addresses themselves: the sentence goes into the tenant's
/// history, and an internal name's internal address is not the tenant's to learn. The addresses
/// go to the operator's log instead.
pub fn refused_name_message(host: &str, refused: &[RefusedAddress]) -> String {
    tracing::warn!(host, addresses = ?refused.iter().map(|r| r.address).collect::<Vec<IpAddr>>(), "a target host resolves only to refused addresses");
    let mut kinds: Vec<&str> = Vec::new();
    for r in refused {
        let kind = r.kind.describe();
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    let kinds = match kinds.as_slice() {
        [] => "no public address".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    format!("refused: {host} resolves only to addresses that are not public ({kinds}) (list them in {ALLOW_LIST_VARIABLE} to allow)")
}

/// The environment variable that lists the ports outside [`BLOCKED_PORTS`]'s rule.
pub const ALLOW_PORTS_VARIABLE: &str = "PRIKKE_ALLOW_TARGET_PORTS";

/// Ports of services that are not HTTP and that a request can abuse (mail relays, databases,
/// caches, brokers, remote shells): the Fetch standard's "bad ports", which browsers refuse too,
/// plus the database, cache and broker ports it leaves out. A URL with one of these ports
/// explicitly is refused unless the operator allow-lists the port.
pub const BLOCKED_PORTS: &[u16] = &[
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
    103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
    512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
    995, 1433, 1521, 1719, 1720, 1723, 1883, 2049, 2375, 2376, 3306, 3659, 4045, 4190, 4222, 5060,
    5061, 5432, 5672, 6000, 6379, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 8883, 9042,
    10080, 11211, 27017,
];

/// The refusal of a URL's explicit port, when it is a blocked one the operator did not allow.
pub fn refused_port(port: Option<u16>, allowed: &[u16]) -> Option<String> {
    let port = port?;
    (BLOCKED_PORTS.binary_search(&port).is_ok() && !allowed.contains(&port)).then(|| {
        format!("refused: port {port} belongs to a service that is not HTTP; Prikke does not call it (list it in {ALLOW_PORTS_VARIABLE} to allow)")
    })
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

#[allow(clippy::too_many_arguments)]
const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// IPv4 ranges, most specific first (the first match names the reason).
const V4_RANGES: &[(Ipv4Net, AddressKind)] = &[
    (v4(169, 254, 169, 254, 32), AddressKind::CloudMetadata), // AWS, GCP, Azure, OpenStack
    (v4(169, 254, 170, 2, 32), AddressKind::CloudMetadata),   // AWS ECS task metadata
    (v4(100, 100, 100, 200, 32), AddressKind::CloudMetadata), // Alibaba Cloud
    (v4(168, 63, 129, 16, 32), AddressKind::CloudMetadata),   // Azure WireServer (public range)
    (v4(255, 255, 255, 255, 32), AddressKind::Broadcast),
    (v4(0, 0, 0, 0, 32), AddressKind::Unspecified),
    (v4(0, 0, 0, 0, 8), AddressKind::ThisNetwork),
    (v4(10, 0, 0, 0, 8), AddressKind::Private),
    (v4(100, 64, 0, 0, 10), AddressKind::SharedCgnat),
    (v4(127, 0, 0, 0, 8), AddressKind::Loopback),
    (v4(169, 254, 0, 0, 16), AddressKind::LinkLocal),
    (v4(172, 16, 0, 0, 12), AddressKind::Private),
    (v4(192, 0, 0, 0, 24), AddressKind::ProtocolAssignment),
    (v4(192, 0, 2, 0, 24), AddressKind::Documentation),
    (v4(192, 88, 99, 0, 24), AddressKind::DeprecatedRelay),
    (v4(192, 168, 0, 0, 16), AddressKind::Private),
    (v4(198, 18, 0, 0, 15), AddressKind::Benchmarking),
    (v4(198, 51, 100, 0, 24), AddressKind::Documentation),
    (v4(203, 0, 113, 0, 24), AddressKind::Documentation),
    (v4(224, 0, 0, 0, 4), AddressKind::Multicast),
    (v4(240, 0, 0, 0, 4), AddressKind::Reserved),
];

/// IPv6 ranges that are refused outright (embedded-IPv4 forms are handled before these).
const V6_RANGES: &[(Ipv6Net, AddressKind)] = &[
    (
        v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128),
        AddressKind::CloudMetadata,
    ), // AWS IMDS
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), AddressKind::Unspecified),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), AddressKind::Loopback),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        AddressKind::LocalNat64,
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
        AddressKind::DiscardOnly,
    ),
    (
        v6([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48),
        AddressKind::Benchmarking,
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        AddressKind::Documentation,
    ),
    (
        v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28),
        AddressKind::Reserved,
    ), // ORCHID
    (
        v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28),
        AddressKind::Reserved,
    ), // ORCHIDv2
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), AddressKind::Teredo),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        AddressKind::Documentation,
    ),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        AddressKind::UniqueLocal,
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        AddressKind::LinkLocal,
    ),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        AddressKind::SiteLocal,
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), AddressKind::Multicast),
    // Anything else below 2000::/3 other than the embedded forms is unassigned or reserved.
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 8), AddressKind::Reserved),
];

fn classify_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    V4_RANGES
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, kind)| *kind)
}

/// The IPv4 address an IPv6 address carries, for the forms that reach an IPv4 host.
fn embedded_v4(ip: Ipv6Addr) -> Option<(Embedding, Ipv4Addr)> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some((Embedding::Mapped, low)),
        // `::` and `::1` are IPv6's own unspecified and loopback addresses, not embeddings.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some((Embedding::Compatible, low)),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some((Embedding::Nat64, low)),
        [0x2002, hi, lo, ..] => Some((
            Embedding::SixToFour,
            Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8),
        )),
        _ => None,
    }
}

/// Why `ip` is not a public destination, or `None` when it is one. Ignores the allow-list.
pub fn classify(ip: IpAddr) -> Option<RefusedAddress> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4).map(|kind| RefusedAddress {
            address: ip,
            kind,
            embedded: None,
        }),
        IpAddr::V6(v6) => {
            if let Some((embedding, inner)) = embedded_v4(v6) {
                let kind = match (classify_v4(inner), embedding) {
                    (Some(kind), _) => kind,
                    // `::8.8.8.8` is deprecated (RFC 4291) and routes nowhere useful.
                    (None, Embedding::Compatible) => AddressKind::Reserved,
                    (None, _) => return None,
                };
                return Some(RefusedAddress {
                    address: ip,
                    kind,
                    embedded: Some((embedding, inner)),
                });
            }
            V6_RANGES
                .iter()
                .find(|(net, _)| net.contains(&v6))
                .map(|(_, kind)| RefusedAddress {
                    address: ip,
                    kind: *kind,
                    embedded: None,
                })
        }
    }
}

/// The addresses a reserved name stands for, judged instead of asking DNS. `None` for names
/// that are looked up normally. `host` may carry a trailing dot and any case.
pub fn reserved_name_addresses(host: &str) -> Option<&'static [IpAddr]> {
    const LOOPBACK: &[IpAddr] = &[
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    const METADATA: &[IpAddr] = &[IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254))];
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        Some(LOOPBACK)
    } else if matches!(name.as_str(), "metadata.google.internal" | "metadata.goog") {
        Some(METADATA)
    } else {
        None
    }
}

/// The guard with the operator's allow-list applied.
#[derive(Debug, Clone, Default)]
pub struct TargetGuard {
    allow: Vec<IpNet>,
    allow_ports: Vec<u16>,
}

impl TargetGuard {
    pub fn new(allow: Vec<IpNet>) -> Self {
        TargetGuard { allow, allow_ports: Vec::new() }
    }

    /// Also lets these blocked ports through.
    pub fn with_ports(mut self, allow_ports: Vec<u16>) -> Self {
        self.allow_ports = allow_ports;
        self
    }

    /// The refusal of an explicit port (see [`BLOCKED_PORTS`]).
    pub fn check_port(&self, port: Option<u16>) -> Result<(), String> {
        refused_port(port, &self.allow_ports).map_or(Ok(()), Err)
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.allow
            .iter()
            .any(|net| net.contains(&ip) || mapped.is_some_and(|m| net.contains(&m)))
    }

    /// `Ok` when a delivery may connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), RefusedAddress> {
        if self.allowed(ip) {
            return Ok(());
        }
        match classify(ip) {
            Some(refused) => Err(refused),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
