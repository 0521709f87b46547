//! Outbound HTTP for webhooks, made safe for a server inside a city's network: HTTPS only
//! (unless a test setting allows http), no loopback, private, link-local, metadata or other
//! special addresses (checked on every address the name resolves to, and the connection goes
//! to a checked address, so DNS cannot swap it afterwards), no redirects followed, one
//! deadline for the whole exchange and a cap on what is read back.
//!
//! The client is a minimal HTTP/1.1 `POST` over a `TcpStream`, with rustls for TLS: webhooks
//! need nothing more, and the dependency tree stays as it was.

use crate::settings::WebhookSettings;
use std::{
    io::{Read, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs},
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
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
    https: bool,
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
    Ok(Target {
        url,
        host,
        port,
        https,
    })
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

/// The answer to a call: its status only. The body is not read beyond the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth())
                .unwrap_or_else(|_| {
                    // The ring provider supports the default versions; this cannot happen.
                    #[allow(clippy::expect_used, reason = "ring supports TLS 1.3")]
                    rustls::ClientConfig::builder_with_provider(Arc::new(
                        rustls::crypto::ring::default_provider(),
                    ))
                    .with_protocol_versions(&[&rustls::version::TLS13])
                    .expect("TLS 1.3 with ring")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
                });
            Arc::new(config)
        })
        .clone()
}

/// Bytes both ways under one deadline.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn failed(what: &str, e: impl std::fmt::Display) -> OutboundError {
    OutboundError::Failed(format!("{what}: {e}"))
}

/// POSTs `body` to the target with `headers`, following no redirect, within the timeout, and
/// reads at most the response cap. Any status is an `Answer`; the caller decides.
pub fn post(
    target: &Target,
    headers: &[(&str, String)],
    body: &[u8],
    policy: &WebhookSettings,
) -> Result<Answer, OutboundError> {
    let deadline = Instant::now() + policy.timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| OutboundError::Failed("timed out".to_owned()))
    };
    let addrs = resolve(target, policy)?;
    let mut tcp = None;
    let mut last_error = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, left()?) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    let tcp = tcp.ok_or_else(|| failed("could not connect", last_error))?;
    tcp.set_nodelay(true).ok();
    let mut stream: Box<dyn Stream> = if target.https {
        let name = match &target.host {
            Host::Domain(d) => rustls::pki_types::ServerName::try_from(d.clone())
                .map_err(|e| failed("invalid server name", e))?,
            Host::Ipv4(ip) => rustls::pki_types::ServerName::from(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => rustls::pki_types::ServerName::from(IpAddr::V6(*ip)),
        };
        let conn =
            rustls::ClientConnection::new(tls_config(), name).map_err(|e| failed("TLS", e))?;
        Box::new(rustls::StreamOwned::new(conn, TimedTcp { tcp, deadline }))
    } else {
        Box::new(TimedTcp { tcp, deadline })
    };

    let host_header = match (target.url.host_str(), target.url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    };
    let mut path = target.url.path().to_owned();
    if let Some(q) = target.url.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host_header}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        // Values are ours (hex, numbers, ids, event names): no CR/LF can reach them, but a
        // header must never be split whatever happens upstream.
        if value.contains(['\r', '\n']) {
            return Err(OutboundError::Failed(format!("invalid header {name}")));
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .and_then(|_| stream.write_all(body))
        .and_then(|_| stream.flush())
        .map_err(|e| failed("sending", e))?;

    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        if let Some(end) = find(&head, b"\r\n\r\n") {
            head.truncate(end);
            break;
        }
        if head.len() >= policy.max_response_bytes {
            return Err(OutboundError::Failed(
                "the response headers are larger than the cap".to_owned(),
            ));
        }
        let want = buf.len().min(policy.max_response_bytes - head.len());
        match stream.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(failed("reading the response", e)),
        }
    }
    let status = parse_status(&head)
        .ok_or_else(|| OutboundError::Failed("the response is not HTTP/1.x".to_owned()))?;
    Ok(Answer { status })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `HTTP/1.1 204 No Content` -> 204.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok().filter(|c| (100..600).contains(c))
}

/// A TCP stream whose every read and write is bounded by what is left of the deadline.
struct TimedTcp {
    tcp: TcpStream,
    deadline: Instant,
}

impl TimedTcp {
    fn arm(
        &self,
        set: impl Fn(&TcpStream, Option<Duration>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let left = self
            .deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"))?;
        set(&self.tcp, Some(left))
    }
}

impl Read for TimedTcp {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm(TcpStream::set_read_timeout)?;
        self.tcp.read(buf)
    }
}

impl Write for TimedTcp {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm(TcpStream::set_write_timeout)?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn status_lines_are_parsed_strictly() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\nA: b"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.0 302\r\n"), Some(302));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status(b"HTTP/1.1 2000 OK"), None);
    }
}
