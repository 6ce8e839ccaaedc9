//! Where deliveries may go: the addresses a webhook URL may not reach, so
//! that nobody can make the server call into its own network (request
//! forgery). Checked on each address a name resolves to, at delivery time,
//! and the connection is made to the address checked (so a name that
//! resolves elsewhere a moment later changes nothing).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why `ip` may not be delivered to, or `None` when it may.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => refusal_v6(v6),
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Some("a cloud metadata address");
    }
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if a == 0 || ip.is_broadcast() {
        Some("not an address of a host")
    } else if ip.is_multicast() || a >= 240 {
        Some("a multicast or reserved address")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("an IETF protocol address")
    } else if a == 198 && (18..20).contains(&b) {
        Some("a benchmarking address")
    } else {
        None
    }
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // An IPv4 address written as IPv6 is judged as itself.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refusal_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return refusal_v4(Ipv4Addr::new(a, b, c, d));
    }
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("not an address of a host")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("a private address")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast or reserved address")
    } else if segments[..2] == [0x2001, 0xdb8] {
        Some("a documentation address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(ip: &str) -> Option<&'static str> {
        refusal(ip.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_are_not() {
        for (ip, why) in [
            ("127.0.0.1", "a loopback address"),
            ("127.8.9.10", "a loopback address"),
            ("10.1.2.3", "a private address"),
            ("172.16.0.1", "a private address"),
            ("192.168.1.1", "a private address"),
            ("169.254.169.254", "a cloud metadata address"),
            ("169.254.1.1", "a link-local address"),
            ("100.64.0.1", "a shared (carrier-grade NAT) address"),
            ("0.0.0.0", "not an address of a host"),
            ("255.255.255.255", "not an address of a host"),
            ("224.0.0.1", "a multicast or reserved address"),
            ("::1", "a loopback address"),
            ("::", "not an address of a host"),
            ("fd00:ec2::254", "a private address"),
            ("fe80::1", "a link-local address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:169.254.169.254", "a cloud metadata address"),
            ("64:ff9b::a00:1", "a private address"),
            ("ff02::1", "a multicast or reserved address"),
        ] {
            assert_eq!(judged(ip), Some(why), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(judged(ip), None, "{ip}");
        }
    }
}
