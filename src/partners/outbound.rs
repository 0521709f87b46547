//! Outbound HTTP for webhooks, made safe for a server inside a city's network: HTTPS only
//! (unless a test setting allows http), no loopback, private, link-local, metadata or other
//! special addresses (checked on every address the name resolves to, and the connection goes
//! to a checked address, so DNS cannot swap it afterwards), no redirects followed, one
//! deadline for the whole exchange and a cap on what is read back.
//!
//! The HTTP exchange is ureq's (rustls with ring, the webpki roots); the policy is ours:
//! `check_url` (what can be checked without DNS), `resolve` (DNS, then every address), and
//! a ureq `Resolver` (`Pinned`) that gives ureq only those addresses, so it never looks the
//! name up itself. No proxy is taken from the environment (a proxy would do its own DNS),
//! ureq's `max_redirects` is 0 (a 3xx comes back as an answer, a failure for the caller),
//! `timeout_global` is what is left of the deadline after DNS, and the cap is ureq's
//! `max_response_header_size`: only the status and headers are read, never the body.

use crate::settings::WebhookSettings;
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs},
    sync::Arc,
    time::{Duration, Instant},
};
use ureq::{
    tls::{RootCerts, TlsConfig, TlsProvider},
    unversioned::{
        resolver::{ResolvedSocketAddrs, Resolver},
        transport::{DefaultConnector, NextTimeout},
    },
    Agent,
};
use url::{Host, Url};

/// Why a target or a call was refused or failed. Messages name no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// Not a URL at all.
    #[error("{0}")]
    Invalid(String),
    /// The URL itself is not acceptable (scheme, credentials, address).
    #[error("{0}")]
    Refused(String),
    /// The call was made and failed.
    #[error("{0}")]
    Failed(String),
}

/// A URL that passed the static checks.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    host: Host<String>,
    port: u16,
}

/// Checks what can be checked without DNS: scheme, no credentials, a host, and when the host
/// is an address, that address.
pub fn check_url(raw: &str, policy: &WebhookSettings) -> Result<Target, OutboundError> {
    let refuse = |why: &str| Err(OutboundError::Refused(why.to_owned()));
    if raw.len() > 2000 {
        return refuse("the URL is longer than 2000 characters");
    }
    let Ok(url) = Url::parse(raw) else {
        return Err(OutboundError::Invalid("not an absolute URL".to_owned()));
    };
    let https = match url.scheme() {
        "https" => true,
        "http" if policy.allow_http => false,
        "http" => return refuse("the URL must use https"),
        _ => return refuse("the URL must use https"),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("the URL must not contain credentials");
    }
    if url.fragment().is_some() {
        return refuse("the URL must not contain a fragment");
    }
    let Some(host) = url.host().map(|h| h.to_owned()) else {
        return refuse("the URL has no host");
    };
    let port = url
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    match &host {
        Host::Ipv4(ip) => check_ip(IpAddr::V4(*ip), policy)?,
        Host::Ipv6(ip) => check_ip(IpAddr::V6(*ip), policy)?,
        // Names are checked by what they resolve to, each time (see `resolve`).
        Host::Domain(_) => {}
    }
    Ok(Target { url, host, port })
}

/// Why an address may not be called, if it may not.
pub fn forbidden_reason(ip: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4, allow_loopback),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4, allow_loopback);
            }
            forbidden_v6(v6, allow_loopback)
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr, allow_loopback: bool) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        return (!allow_loopback).then_some("loopback addresses are not allowed");
    }
    if ip.is_unspecified() || a == 0 {
        return Some("the unspecified network is not allowed");
    }
    if ip.is_private() {
        return Some("private addresses are not allowed");
    }
    if ip.is_link_local() {
        // 169.254.169.254 is the metadata service of most clouds.
        return Some("link-local and metadata addresses are not allowed");
    }
    if a == 100 && (64..128).contains(&b) {
        // Shared address space (RFC 6598), where 100.100.100.200 is a cloud metadata service.
        return Some("shared (carrier-grade NAT) addresses are not allowed");
    }
    if a == 192 && b == 0 && c == 0 {
        return Some("IETF protocol assignments are not allowed");
    }
    if a == 198 && (b == 18 || b == 19) {
        return Some("benchmarking addresses are not allowed");
    }
    if ip.is_documentation() || ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        return Some("reserved, multicast and documentation addresses are not allowed");
    }
    None
}

fn forbidden_v6(ip: Ipv6Addr, allow_loopback: bool) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        return (!allow_loopback).then_some("loopback addresses are not allowed");
    }
    if ip.is_unspecified() {
        return Some("the unspecified address is not allowed");
    }
    if first & 0xfe00 == 0xfc00 {
        // Unique local addresses, fd00:ec2::254 (a metadata service) among them.
        return Some("private addresses are not allowed");
    }
    if first & 0xffc0 == 0xfe80 || first & 0xffc0 == 0xfec0 {
        return Some("link-local addresses are not allowed");
    }
    if ip.is_multicast() {
        return Some("multicast addresses are not allowed");
    }
    if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        return Some("documentation addresses are not allowed");
    }
    if first == 0x0064 && ip.segments()[1] == 0xff9b {
        // NAT64 could reach any IPv4 address, private ones included.
        return Some("NAT64 addresses are not allowed");
    }
    if first == 0x2002 || (first == 0x2001 && ip.segments()[1] == 0) {
        // 6to4 and Teredo embed IPv4 addresses.
        return Some("IPv4 tunnelling addresses are not allowed");
    }
    if ip.segments()[..6] == [0; 6] {
        // IPv4-compatible (deprecated) addresses.
        return Some("IPv4-compatible addresses are not allowed");
    }
    None
}

fn check_ip(ip: IpAddr, policy: &WebhookSettings) -> Result<(), OutboundError> {
    match forbidden_reason(ip, policy.allow_loopback) {
        Some(why) => Err(OutboundError::Refused(why.to_owned())),
        None => Ok(()),
    }
}

/// The addresses to connect to: all of them must be allowed, or none is used (a name that
/// resolves to one public and one private address is refused).
pub fn resolve(
    target: &Target,
    policy: &WebhookSettings,
) -> Result<Vec<SocketAddr>, OutboundError> {
    let addrs: Vec<SocketAddr> = match &target.host {
        Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(*ip), target.port)],
        Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(*ip), target.port)],
        Host::Domain(name) => (name.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|_| OutboundError::Failed(format!("the name {name} does not resolve")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(OutboundError::Failed("the name has no address".to_owned()));
    }
    for a in &addrs {
        check_ip(a.ip(), policy)?;
    }
    Ok(addrs)
}

/// The answer to a call: its status only. Nothing is read beyond the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
}

/// Hands ureq the addresses `resolve` accepted for the target and nothing else: ureq does no
/// DNS of its own, so a name cannot resolve to an allowed address for the check and to
/// another one for the connection.
#[derive(Debug)]
struct Pinned {
    /// The host as it is in the URL given to ureq (IPv6 in brackets, as `http::Uri` has it).
    host: String,
    addrs: Vec<SocketAddr>,
}

impl Resolver for Pinned {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // Only the target is ever looked up (no redirect is followed, no proxy is used): any
        // other name is an error, never a lookup.
        if uri.host() != Some(self.host.as_str()) {
            return Err(ureq::Error::HostNotFound);
        }
        let mut out = self.empty();
        for addr in &self.addrs {
            // ureq keeps 16 addresses at most; the rest are not tried (never others instead).
            if out.try_push(*addr).is_err() {
                break;
            }
        }
        if out.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(out)
    }
}

/// One agent per call, so nothing (connections, TLS sessions) outlives it; no proxy from the
/// environment (it would do its own DNS), no redirect, any status an answer, and the ring
/// provider with the webpki roots.
fn agent(
    target: &Target,
    addrs: Vec<SocketAddr>,
    policy: &WebhookSettings,
    left: Duration,
) -> Agent {
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::WebPki)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build();
    let config = Agent::config_builder()
        .proxy(None)
        .https_only(!policy.allow_http)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(left))
        .max_response_header_size(policy.max_response_bytes)
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .user_agent("")
        .accept("")
        .tls_config(tls)
        .build();
    let host = target.url.host_str().unwrap_or_default().to_owned();
    Agent::with_parts(config, DefaultConnector::default(), Pinned { host, addrs })
}

fn failed(what: &str, e: impl std::fmt::Display) -> OutboundError {
    OutboundError::Failed(format!("{what}: {e}"))
}

/// What a failed exchange says, with no secret in it (ureq's errors name no header value).
fn exchange_failed(e: ureq::Error, policy: &WebhookSettings) -> OutboundError {
    match e {
        ureq::Error::Timeout(_) => OutboundError::Failed("timed out".to_owned()),
        ureq::Error::ConnectionFailed => OutboundError::Failed("could not connect".to_owned()),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            failed("could not connect", e)
        }
        ureq::Error::LargeResponseHeader(..) => OutboundError::Failed(format!(
            "the response headers are larger than the cap ({} bytes)",
            policy.max_response_bytes
        )),
        ureq::Error::Protocol(e) => failed("the response is not HTTP/1.x", e),
        ureq::Error::Rustls(e) => failed("TLS", e),
        e => failed("the exchange failed", e),
    }
}

/// POSTs `body` to the target with `headers`, following no redirect, within the timeout (DNS
/// included), connecting only to the addresses `resolve` accepted, and reading the status
/// and headers within the response cap, never the body. Any status is an `Answer`; the
/// caller decides.
pub fn post(
    target: &Target,
    headers: &[(&str, String)],
    body: &[u8],
    policy: &WebhookSettings,
) -> Result<Answer, OutboundError> {
    let started = Instant::now();
    let addrs = resolve(target, policy)?;
    post_to(target, addrs, headers, body, policy, started)
}

/// `post` once the addresses are known and checked.
fn post_to(
    target: &Target,
    addrs: Vec<SocketAddr>,
    headers: &[(&str, String)],
    body: &[u8],
    policy: &WebhookSettings,
    started: Instant,
) -> Result<Answer, OutboundError> {
    let left = policy
        .timeout
        .checked_sub(started.elapsed())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| OutboundError::Failed("timed out".to_owned()))?;
    let mut request = agent(target, addrs, policy, left).post(target.url.as_str());
    for (name, value) in headers {
        // Values are ours (hex, numbers, ids, event names): no CR/LF can reach them, but a
        // header must never be split whatever happens upstream.
        if value.contains(['\r', '\n']) {
            return Err(OutboundError::Failed(format!("invalid header {name}")));
        }
        request = request.header(*name, value.as_str());
    }
    let response = request.send(body).map_err(|e| exchange_failed(e, policy))?;
    // The body is dropped unread with the agent and its connection.
    Ok(Answer {
        status: response.status().as_u16(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        io::{Read, Write},
        net::TcpListener,
        sync::Mutex,
    };

    fn policy(allow_http: bool, allow_loopback: bool) -> WebhookSettings {
        WebhookSettings {
            allow_http,
            allow_loopback,
            timeout: Duration::from_secs(2),
            max_response_bytes: 4096,
        }
    }

    #[test]
    fn special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(forbidden_reason(ip, false).is_some(), "{ip} allowed");
        }
        for ip in ["93.184.215.14", "2a00:1450:4007:80c::200e", "8.8.8.8"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(forbidden_reason(ip, false), None, "{ip} refused");
        }
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(forbidden_reason(loopback, true), None);
        let private: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(forbidden_reason(private, true).is_some());
    }

    #[test]
    fn urls_need_https_no_credentials_and_an_allowed_host() {
        let strict = policy(false, false);
        assert!(check_url("https://hooks.example.org/passerelle?x=1", &strict).is_ok());
        for bad in [
            "http://hooks.example.org/",
            "ftp://hooks.example.org/",
            "https://user:pw@hooks.example.org/",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://0x7f000001/",
        ] {
            assert!(
                matches!(check_url(bad, &strict), Err(OutboundError::Refused(_))),
                "{bad} accepted"
            );
        }
        assert!(matches!(
            check_url("not a url", &strict),
            Err(OutboundError::Invalid(_))
        ));
        let localhost = check_url("https://localhost/", &strict).unwrap();
        assert!(matches!(
            resolve(&localhost, &strict),
            Err(OutboundError::Refused(_))
        ));
        let tests = policy(true, true);
        assert!(check_url("http://127.0.0.1:8080/hook", &tests).is_ok());
    }

    /// A real local peer: answers every connection with `answer(n)` (n counts the requests),
    /// after reading the request head and body.
    fn peer(answer: fn(usize) -> Vec<u8>) -> (u16, Arc<Mutex<Vec<String>>>) {
        peer_at(answer, None)
    }

    /// `peer` that writes its answer a byte at a time, `drip` apart.
    fn peer_at(
        answer: fn(usize) -> Vec<u8>,
        drip: Option<Duration>,
    ) -> (u16, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !String::from_utf8_lossy(&got).contains("\r\n\r\nbody") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push(String::from_utf8_lossy(&got).into_owned());
                    log.len()
                };
                let reply = answer(n);
                // An empty answer is a peer that holds the connection and says nothing.
                if reply.is_empty() {
                    std::thread::sleep(Duration::from_secs(5));
                }
                for chunk in reply.chunks(if drip.is_some() { 1 } else { 64 }) {
                    if let Some(pause) = drip {
                        std::thread::sleep(pause);
                    }
                    if stream.write_all(chunk).is_err() {
                        break;
                    }
                }
            }
        });
        (port, seen)
    }

    fn call(port: u16, policy: &WebhookSettings) -> Result<Answer, OutboundError> {
        let target = check_url(&format!("http://127.0.0.1:{port}/hook?x=1"), policy).unwrap();
        post(&target, &[("X-Test", "1".to_owned())], b"body", policy)
    }

    #[test]
    fn a_redirect_is_an_answer_and_is_not_followed() {
        for status in [302u16, 307] {
            let (port, seen) = peer(if status == 302 {
                |_| {
                    b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
                        .to_vec()
                }
            } else {
                |_| {
                    b"HTTP/1.1 307 Temporary\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
                        .to_vec()
                }
            });
            let answer = call(port, &policy(true, true)).unwrap();
            assert_eq!(answer.status, status);
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 1, "{status} was followed: {seen:?}");
            assert!(
                seen[0].starts_with("POST /hook?x=1 HTTP/1.1\r\n"),
                "{}",
                seen[0]
            );
            assert!(seen[0].contains("x-test: 1\r\n") || seen[0].contains("X-Test: 1\r\n"));
        }
    }

    #[test]
    fn any_status_is_an_answer() {
        let (port, _) = peer(|_| b"HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno".to_vec());
        assert_eq!(call(port, &policy(true, true)).unwrap().status, 500);
    }

    #[test]
    fn one_deadline_covers_the_whole_exchange() {
        let mut quick = policy(true, true);
        quick.timeout = Duration::from_millis(400);
        // Silent after the request...
        let (port, _) = peer(|_| Vec::new());
        let started = Instant::now();
        assert_eq!(
            call(port, &quick),
            Err(OutboundError::Failed("timed out".to_owned()))
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        // ...or dripping headers, each byte well within any per-read timeout.
        let (port, _) = peer_at(
            |_| b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
            Some(Duration::from_millis(50)),
        );
        let started = Instant::now();
        assert_eq!(
            call(port, &quick),
            Err(OutboundError::Failed("timed out".to_owned()))
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn headers_over_the_cap_are_a_failure() {
        let (port, _) = peer(|_| {
            let mut r = b"HTTP/1.1 204 No Content\r\n".to_vec();
            for i in 0..20 {
                r.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "a".repeat(400)).as_bytes());
            }
            r.extend_from_slice(b"\r\n");
            r
        });
        let Err(OutboundError::Failed(why)) = call(port, &policy(true, true)) else {
            panic!("an 8 KB head was read whole");
        };
        assert!(why.contains("larger than the cap"), "{why}");
    }

    #[test]
    fn what_is_not_http_is_a_failure() {
        let (port, _) = peer(|_| b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec());
        assert!(matches!(
            call(port, &policy(true, true)),
            Err(OutboundError::Failed(_))
        ));
    }

    #[test]
    fn the_connection_goes_to_the_checked_addresses_only() {
        // A name that DNS cannot resolve: the call reaches the peer through the pinned
        // address, so ureq did no lookup of its own; the Host header still names the URL's host.
        let (port, seen) = peer(|_| b"HTTP/1.1 204 No Content\r\n\r\n".to_vec());
        let tests = policy(true, true);
        let target =
            check_url(&format!("http://hooks.passerelle.invalid:{port}/h"), &tests).unwrap();
        assert!(resolve(&target, &tests).is_err());
        let pinned = vec![SocketAddr::from(([127, 0, 0, 1], port))];
        let answer = post_to(&target, pinned, &[], b"body", &tests, Instant::now()).unwrap();
        assert_eq!(answer.status, 204);
        let seen = seen.lock().unwrap();
        let host = format!("host: hooks.passerelle.invalid:{port}\r\n");
        assert!(seen[0].to_ascii_lowercase().contains(&host), "{}", seen[0]);
        // A refused address never gets a connection: resolve refuses before any.
        let strict = policy(true, false);
        let (port, seen) = peer(|_| b"HTTP/1.1 204 No Content\r\n\r\n".to_vec());
        let target = check_url(&format!("http://localhost:{port}/h"), &strict).unwrap();
        let Err(OutboundError::Refused(why)) = post(&target, &[], b"body", &strict) else {
            panic!("localhost was called");
        };
        assert!(why.contains("loopback"), "{why}");
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn plain_http_needs_the_test_setting() {
        let strict = policy(false, true);
        assert!(matches!(
            check_url("http://127.0.0.1:9/hook", &strict),
            Err(OutboundError::Refused(_))
        ));
        // Even a target built under a laxer policy is not sent over http by a strict one.
        let (port, seen) = peer(|_| b"HTTP/1.1 204 No Content\r\n\r\n".to_vec());
        let target = check_url(&format!("http://127.0.0.1:{port}/h"), &policy(true, true)).unwrap();
        assert!(post(&target, &[], b"body", &strict).is_err());
        assert!(seen.lock().unwrap().is_empty());
    }

    #[test]
    fn header_values_cannot_split_a_request() {
        let (port, seen) = peer(|_| b"HTTP/1.1 204 No Content\r\n\r\n".to_vec());
        let tests = policy(true, true);
        let target = check_url(&format!("http://127.0.0.1:{port}/h"), &tests).unwrap();
        let headers = [("X-Passerelle-Event", "a\r\nX-Evil: 1".to_owned())];
        assert_eq!(
            post(&target, &headers, b"body", &tests),
            Err(OutboundError::Failed(
                "invalid header X-Passerelle-Event".to_owned()
            ))
        );
        assert!(seen.lock().unwrap().is_empty());
    }
}
