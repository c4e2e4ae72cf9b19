//! Tests of the SSRF rules: every refused range, its neighbours, embedded forms, messages.

use super::*;

fn kind(ip: &str) -> Option<AddressKind> {
    classify(ip.parse().unwrap()).map(|r| r.kind)
}

#[test]
fn refuses_the_special_ipv4_ranges() {
    use AddressKind::*;
    for (ip, want) in [
        ("127.0.0.1", Loopback),
        ("127.255.255.254", Loopback),
        ("10.0.0.5", Private),
        ("172.16.0.1", Private),
        ("172.31.255.255", Private),
        ("192.168.1.1", Private),
        ("100.64.0.1", SharedCgnat),
        ("100.127.255.255", SharedCgnat),
        ("169.254.1.1", LinkLocal),
        ("169.254.169.254", CloudMetadata),
        ("169.254.170.2", CloudMetadata),
        ("100.100.100.200", CloudMetadata),
        ("168.63.129.16", CloudMetadata),
        ("0.0.0.0", Unspecified),
        ("0.1.2.3", ThisNetwork),
        ("255.255.255.255", Broadcast),
        ("240.0.0.1", Reserved),
        ("224.0.0.1", Multicast),
        ("239.255.255.250", Multicast),
        ("192.0.2.1", Documentation),
        ("198.51.100.7", Documentation),
        ("203.0.113.9", Documentation),
        ("198.18.0.1", Benchmarking),
        ("198.19.255.255", Benchmarking),
        ("192.0.0.8", ProtocolAssignment),
        ("192.88.99.1", DeprecatedRelay),
    ] {
        assert_eq!(kind(ip), Some(want), "{ip}");
    }
}

#[test]
fn allows_public_ipv4_including_range_neighbours() {
    for ip in [
        "8.8.8.8",
        "1.1.1.1",
        "172.15.255.255",
        "172.32.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "169.253.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "223.255.255.255",
        "11.0.0.0",
        "126.255.255.255",
        "128.0.0.0",
    ] {
        assert_eq!(kind(ip), None, "{ip}");
    }
}

#[test]
fn refuses_the_special_ipv6_ranges() {
    use AddressKind::*;
    for (ip, want) in [
        ("::1", Loopback),
        ("::", Unspecified),
        ("fe80::1", LinkLocal),
        ("febf::1", LinkLocal),
        ("fc00::1", UniqueLocal),
        ("fd12:3456::1", UniqueLocal),
        ("fd00:ec2::254", CloudMetadata),
        ("fec0::1", SiteLocal),
        ("ff02::1", Multicast),
        ("2001:db8::1", Documentation),
        ("3fff::1", Documentation),
        ("2001:2::1", Benchmarking),
        ("2001::1", Teredo),
        ("100::1", DiscardOnly),
        ("64:ff9b:1::a00:1", LocalNat64),
        ("2001:10::1", Reserved),
        ("1::1", Reserved),
    ] {
        assert_eq!(kind(ip), Some(want), "{ip}");
    }
}

#[test]
fn judges_ipv6_forms_by_the_ipv4_inside() {
    let cases = [
        (
            "::ffff:127.0.0.1",
            Embedding::Mapped,
            "127.0.0.1",
            AddressKind::Loopback,
        ),
        (
            "::ffff:10.0.0.1",
            Embedding::Mapped,
            "10.0.0.1",
            AddressKind::Private,
        ),
        (
            "::127.0.0.1",
            Embedding::Compatible,
            "127.0.0.1",
            AddressKind::Loopback,
        ),
        (
            "::8.8.8.8",
            Embedding::Compatible,
            "8.8.8.8",
            AddressKind::Reserved,
        ),
        (
            "64:ff9b::7f00:1",
            Embedding::Nat64,
            "127.0.0.1",
            AddressKind::Loopback,
        ),
        (
            "64:ff9b::a9fe:a9fe",
            Embedding::Nat64,
            "169.254.169.254",
            AddressKind::CloudMetadata,
        ),
        (
            "2002:c0a8:101::1",
            Embedding::SixToFour,
            "192.168.1.1",
            AddressKind::Private,
        ),
        (
            "2002:7f00:1::",
            Embedding::SixToFour,
            "127.0.0.1",
            AddressKind::Loopback,
        ),
    ];
    for (ip, embedding, inner, want) in cases {
        let refused = classify(ip.parse().unwrap()).expect(ip);
        assert_eq!(refused.kind, want, "{ip}");
        assert_eq!(
            refused.embedded,
            Some((embedding, inner.parse().unwrap())),
            "{ip}"
        );
    }
}

#[test]
fn allows_public_ipv6_and_public_embedded_forms() {
    for ip in [
        "2a00:1450:4001:80b::200e",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "2000::1",
        "fbff:ffff::1",
    ] {
        assert_eq!(kind(ip), None, "{ip}");
    }
}

#[test]
fn messages_name_the_address_the_reason_and_the_setting() {
    let r = classify("10.0.0.5".parse().unwrap()).unwrap();
    assert_eq!(
        r.to_string(),
        "refused: 10.0.0.5 is a private address (list it in PRIKKE_ALLOW_PRIVATE_TARGETS to allow)"
    );
    let r = classify("::ffff:127.0.0.1".parse().unwrap()).unwrap();
    assert_eq!(
        r.to_string(),
        "refused: ::ffff:127.0.0.1 is an IPv4-mapped form of 127.0.0.1, a loopback address \
         (list it in PRIKKE_ALLOW_PRIVATE_TARGETS to allow)"
    );
    let msg = refused_name_message(
        "internal.example",
        &[
            classify("10.1.1.1".parse().unwrap()).unwrap(),
            classify("::1".parse().unwrap()).unwrap(),
        ],
    );
    assert_eq!(
        msg,
        "refused: internal.example resolves only to addresses that are not public (a private address \
         and a loopback address) (list them in PRIKKE_ALLOW_PRIVATE_TARGETS to allow)"
    );
    assert!(!msg.contains("10.1.1.1") && !msg.contains("::1"), "no internal address in a tenant's history: {msg}");
}

#[test]
fn blocked_ports_are_sorted_and_refused_unless_allowed() {
    assert!(BLOCKED_PORTS.windows(2).all(|w| w[0] < w[1]), "binary_search needs a sorted list");
    for port in [25, 465, 587, 6379, 5432, 11211, 22, 3306] {
        let msg = refused_port(Some(port), &[]).expect("refused");
        assert!(msg.starts_with(&format!("refused: port {port} ")), "{msg}");
        assert!(msg.ends_with("(list it in PRIKKE_ALLOW_TARGET_PORTS to allow)"), "{msg}");
    }
    assert_eq!(refused_port(Some(25), &[25]), None, "allow-listed");
    for port in [None, Some(80), Some(443), Some(8080), Some(8443), Some(3000), Some(45123)] {
        assert_eq!(refused_port(port, &[]), None, "{port:?}");
    }
}

#[test]
fn the_allow_list_wins_and_covers_mapped_forms() {
    let guard = TargetGuard::new(vec![
        "127.0.0.0/8".parse().unwrap(),
        "::1/128".parse().unwrap(),
    ]);
    for ip in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
        assert_eq!(guard.check(ip.parse().unwrap()), Ok(()), "{ip}");
    }
    for ip in ["10.0.0.1", "169.254.169.254", "fe80::1", "::127.0.0.1"] {
        assert!(guard.check(ip.parse().unwrap()).is_err(), "{ip}");
    }
    assert_eq!(guard.check("93.184.215.14".parse().unwrap()), Ok(()));
    assert!(
        TargetGuard::default()
            .check("127.0.0.1".parse().unwrap())
            .is_err()
    );
}

#[test]
fn reserved_names_stand_for_their_addresses() {
    for name in [
        "localhost",
        "LOCALHOST",
        "localhost.",
        "api.localhost",
        "a.b.localhost.",
    ] {
        let addrs = reserved_name_addresses(name).expect(name);
        assert!(addrs.iter().all(|ip| ip.is_loopback()), "{name}");
    }
    let meta = reserved_name_addresses("Metadata.Google.Internal.").unwrap();
    assert_eq!(meta, &[IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254))]);
    for name in [
        "example.com",
        "notlocalhost",
        "localhost.example.com",
        "metadata",
    ] {
        assert_eq!(reserved_name_addresses(name), None, "{name}");
    }
}
