//! Which address a request comes from, when proxies stand in front of the service.
//!
//! `TRUSTED_PROXIES` lists the proxies (CIDRs). The forwarding header (`X-Forwarded-For` or
//! RFC 7239 `Forwarded`, per `FORWARDED_HEADER`) is read only when the socket peer is one of
//! them; the client is then the right-most entry that is not a trusted proxy. Proxies such as
//! nginx, Traefik or an ALB *append* the address they saw, so everything left of it was
//! written by the client and is never believed.

use std::{fmt, net::IpAddr, str::FromStr};

/// An IPv4 or IPv6 network, `192.0.2.0/24` or `2001:db8::/32` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u32::from(n) as u128, 32, self.prefix)
                    == masked(u32::from(a) as u128, 32, self.prefix)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(n), 128, self.prefix) == masked(u128::from(a), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(bits: u128, width: u8, prefix: u8) -> u128 {
    if prefix == 0 {
        return 0;
    }
    bits >> (width - prefix)
}

/// `::ffff:192.0.2.1` is the IPv4 client it maps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let network = canonical(addr.parse::<IpAddr>().map_err(|_| {
            format!("{s:?} is not an address or CIDR (192.0.2.0/24, 2001:db8::/32)")
        })?);
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("{s:?}: the prefix must be 0 to {width}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The header the trusted proxies write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            other => Err(format!("{other:?} is not x-forwarded-for or forwarded")),
        }
    }
}

impl ForwardedHeader {
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }
}

/// An address as written in a forwarding header: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1`, `[2001:db8::1]:4711`, optionally quoted. `unknown` and obfuscated
/// identifiers are not addresses.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim().trim_matches('"');
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = raw.strip_prefix('[') {
        let (inside, _) = rest.split_once(']')?;
        return inside.parse::<IpAddr>().ok().map(canonical);
    }
    let (host, port) = raw.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The entries of the header's values, left to right (several header lines are one list).
fn entries<'a>(
    header: ForwardedHeader,
    values: impl Iterator<Item = &'a str>,
) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    for value in values {
        for element in value.split(',') {
            let node = match header {
                ForwardedHeader::XForwardedFor => Some(element),
                ForwardedHeader::Forwarded => element.split(';').find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then_some(v)
                }),
            };
            out.push(node.and_then(parse_node));
        }
    }
    out
}

/// The client's address: `peer` itself unless it is a trusted proxy, else the right-most
/// forwarded entry that is not one. An entry that is not an address (a client's invention,
/// `unknown`) ends the walk: the last trusted hop is then the client as far as we know.
pub fn client_ip<'a>(
    peer: IpAddr,
    trusted: &[Cidr],
    header: ForwardedHeader,
    values: impl Iterator<Item = &'a str>,
) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for entry in entries(header, values).into_iter().rev() {
        match entry {
            Some(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.1.2.3")));
        assert!(c.contains(ip("::ffff:10.1.2.3")));
        assert!(!c.contains(ip("11.0.0.1")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!("192.0.2.7"
            .parse::<Cidr>()
            .unwrap()
            .contains(ip("192.0.2.7")));
        assert!("0.0.0.0/0"
            .parse::<Cidr>()
            .unwrap()
            .contains(ip("203.0.113.1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy.local".parse::<Cidr>().is_err());
    }

    #[test]
    fn the_client_is_the_right_most_entry_that_is_not_a_trusted_proxy() {
        let trusted = cidrs(&["10.0.0.0/8", "2001:db8:ffff::/48"]);
        let xff = ForwardedHeader::XForwardedFor;
        // Not from a proxy: the header is the client's invention.
        assert_eq!(
            client_ip(
                ip("203.0.113.9"),
                &trusted,
                xff,
                ["198.51.100.1"].into_iter()
            ),
            ip("203.0.113.9")
        );
        // nginx appended the real client after what the client wrote.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &trusted,
                xff,
                ["1.2.3.4, 198.51.100.7"].into_iter()
            ),
            ip("198.51.100.7")
        );
        // Two proxies, two header lines, ports and IPv6.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &trusted,
                xff,
                ["6.6.6.6", "[2001:db8:1::7]:4711, 10.0.0.3:80"].into_iter()
            ),
            ip("2001:db8:1::7")
        );
        // Garbage written by the client, to the right of nothing trusted: the proxy is all we know.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &trusted, xff, ["not-an-ip"].into_iter()),
            ip("10.0.0.2")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &trusted, xff, std::iter::empty()),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn rfc_7239_forwarded_elements_are_read() {
        let trusted = cidrs(&["10.0.0.0/8"]);
        let fwd = ForwardedHeader::Forwarded;
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &trusted,
                fwd,
                ["for=1.2.3.4, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.2"]
                    .into_iter()
            ),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &trusted,
                fwd,
                ["For=192.0.2.60;proto=http"].into_iter()
            ),
            ip("192.0.2.60")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &trusted, fwd, ["for=unknown"].into_iter()),
            ip("10.0.0.2")
        );
    }
}
