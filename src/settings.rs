//! Typed settings, read once from the environment (and `.env`), validated before anything binds.
//!
//! Every variable the service reads is listed in [`Settings::from_env`] with its default; the
//! README and `.env.example` document the same list.

use crate::proxies::{Cidr, ForwardedHeader};
use std::{collections::HashMap, net::SocketAddr, path::PathBuf, time::Duration};

/// Minimum length of `JWT_SECRET`, in bytes: HS256 keys shorter than the hash are weak.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Clone)]
pub struct Settings {
    /// `DATABASE_URL`; `None` means "start a private cluster under `data_dir`".
    pub database_url: Option<String>,
    /// `DATA_DIR` (default `./data`): where the private PostgreSQL cluster lives.
    pub data_dir: PathBuf,
    /// `LISTEN_ADDR` (default `0.0.0.0:8080`).
    pub listen_addr: SocketAddr,
    /// `PUBLIC_BASE_URL` (default `http://localhost:8080`): links and the JWT issuer.
    pub public_base_url: String,
    /// `ORGANIZATION_NAME` (default empty), e.g. `Ville de Grenoble`: with the host of
    /// `PUBLIC_BASE_URL` and the product's name, the words a new staff password must not be
    /// built on (lowercased, without accents).
    pub organization_words: Vec<String>,
    pub jwt: JwtSettings,
    /// `DATABASE_POOL_SIZE` (default 16).
    pub pool_size: u32,
    /// `DATABASE_TIMEOUT_SECONDS` (default 5): waiting for a pooled connection.
    pub database_timeout: Duration,
    pub login_throttle: LoginThrottle,
    pub rate_limits: RateLimits,
    /// `PASSWORD_HASH_CONCURRENCY` (default: number of CPUs): argon2 runs at once.
    pub password_hash_concurrency: usize,
    /// `TRUSTED_PROXIES` (default none): comma-separated CIDRs of the proxies in front of the
    /// service. Only when the socket peer is one of them is the forwarding header read; the
    /// client is its right-most entry that is not a trusted proxy. (`TRUST_FORWARDED_FOR`,
    /// which believed the client-written left-most entry, is refused at start-up.)
    pub trusted_proxies: Vec<Cidr>,
    /// `FORWARDED_HEADER` (default `x-forwarded-for`): the header the trusted proxies write,
    /// `x-forwarded-for` or `forwarded` (RFC 7239).
    pub forwarded_header: ForwardedHeader,
    /// `JSON_BODY_LIMIT_BYTES` (default 65536).
    pub json_body_limit: usize,
    pub timeouts: Timeouts,
    /// `WORKERS` (default: number of CPUs).
    pub workers: usize,
    /// `CORS_ALLOWED_ORIGINS` (default none): comma-separated origins of the city's
    /// front-ends (`https://stages.ville.example`) that browsers may call the API from.
    pub cors_allowed_origins: Vec<String>,
    pub applications: ApplicationSettings,
    pub mail: MailSettings,
    pub jobs: JobSettings,
    pub partners: PartnerSettings,
    pub metrics: MetricsSettings,
}

/// Who may read `GET /metrics`.
#[derive(Clone, Debug)]
pub struct MetricsSettings {
    /// `METRICS_ACCESS` (default `networks`): `networks` (socket peers in
    /// `METRICS_ALLOW_NETWORKS`), `token` (`Authorization: Bearer` with `METRICS_TOKEN`) or
    /// `public` (anyone). The socket peer is used, never a forwarding header: behind a
    /// proxy every client would otherwise look like the proxy.
    pub access: MetricsAccess,
}

/// The access rule of `/metrics`, with what it needs.
#[derive(Clone)]
pub enum MetricsAccess {
    /// Anyone may read it.
    Public,
    /// `METRICS_ALLOW_NETWORKS` (default loopback and the private ranges,
    /// [`DEFAULT_METRICS_NETWORKS`]): the socket peers that may read it.
    Networks(Vec<Cidr>),
    /// `METRICS_TOKEN` (at least [`MIN_METRICS_TOKEN_CHARS`] characters): only its SHA-256
    /// is kept, and the presented token's digest is compared in constant time.
    Token { sha256: [u8; 32] },
}

impl std::fmt::Debug for MetricsAccess {
    // Hand-written so that not even the token's digest reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricsAccess::Public => f.write_str("Public"),
            MetricsAccess::Networks(n) => f.debug_tuple("Networks").field(n).finish(),
            MetricsAccess::Token { .. } => f.write_str("Token(<set>)"),
        }
    }
}

/// Default of `METRICS_ALLOW_NETWORKS`: loopback, and the private ranges where a Prometheus
/// inside the same cluster or network scrapes from.
pub const DEFAULT_METRICS_NETWORKS: &str =
    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

/// Minimum length of `METRICS_TOKEN`, in characters.
pub const MIN_METRICS_TOKEN_CHARS: usize = 32;

impl Default for MetricsSettings {
    /// The documented default: `networks` over [`DEFAULT_METRICS_NETWORKS`].
    #[allow(clippy::expect_used, reason = "a constant list, parsed by a unit test")]
    fn default() -> Self {
        MetricsSettings {
            access: MetricsAccess::Networks(
                parse_cidrs("METRICS_ALLOW_NETWORKS", DEFAULT_METRICS_NETWORKS)
                    .expect("the default networks parse"),
            ),
        }
    }
}

impl MetricsSettings {
    /// Anyone may read `/metrics`.
    pub fn public() -> Self {
        MetricsSettings {
            access: MetricsAccess::Public,
        }
    }

    /// Only bearers of `token` may read `/metrics` (unchecked length: tests).
    pub fn token(token: &str) -> Self {
        use sha2::{Digest, Sha256};
        MetricsSettings {
            access: MetricsAccess::Token {
                sha256: Sha256::digest(token.as_bytes()).into(),
            },
        }
    }

    fn from_env<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Self, SettingsError> {
        let mode = get("METRICS_ACCESS")
            .unwrap_or("networks")
            .to_ascii_lowercase();
        let networks = get("METRICS_ALLOW_NETWORKS");
        let token = get("METRICS_TOKEN");
        let unused = |name: &str| {
            SettingsError(format!(
                "{name} is set but METRICS_ACCESS is {mode:?}: it would have no effect"
            ))
        };
        if !matches!(mode.as_str(), "public" | "networks" | "token") {
            return Err(SettingsError(format!(
                "METRICS_ACCESS: {mode:?} is not networks, token or public"
            )));
        }
        if mode != "networks" && networks.is_some() {
            return Err(unused("METRICS_ALLOW_NETWORKS"));
        }
        if mode != "token" && token.is_some() {
            return Err(unused("METRICS_TOKEN"));
        }
        let access = match mode.as_str() {
            "networks" => {
                let list = networks.unwrap_or(DEFAULT_METRICS_NETWORKS);
                let cidrs = parse_cidrs("METRICS_ALLOW_NETWORKS", list)?;
                if cidrs.is_empty() {
                    return Err(SettingsError(
                        "METRICS_ALLOW_NETWORKS lists no network (use METRICS_ACCESS=token to \
                         close /metrics to every address)"
                            .into(),
                    ));
                }
                MetricsAccess::Networks(cidrs)
            }
            "token" => {
                let token = token.ok_or_else(|| {
                    SettingsError(format!(
                        "METRICS_ACCESS=token needs METRICS_TOKEN (at least \
                         {MIN_METRICS_TOKEN_CHARS} characters, e.g. `openssl rand -hex 32`)"
                    ))
                })?;
                if token.chars().count() < MIN_METRICS_TOKEN_CHARS {
                    return Err(SettingsError(format!(
                        "METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_CHARS} characters \
                         (it has {})",
                        token.chars().count()
                    )));
                }
                if !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(SettingsError(
                        "METRICS_TOKEN must be printable ASCII without spaces (it is sent in an \
                         Authorization header)"
                            .into(),
                    ));
                }
                return Ok(Self::token(token));
            }
            _public => MetricsAccess::Public,
        };
        Ok(MetricsSettings { access })
    }
}

/// How long the server waits for slow clients, slow handlers and a stop.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// `REQUEST_TIMEOUT_SECONDS` (default 30): deadline of a request once its headers are
    /// in, body included; past it the client gets 408 (body still arriving) or 503. Uploads
    /// of applications have their own, `UPLOAD_TIMEOUT_SECONDS`.
    pub request: Duration,
    /// `CLIENT_HEADER_TIMEOUT_SECONDS` (default 5): time a new connection has to send its
    /// request headers.
    pub client_headers: Duration,
    /// `KEEP_ALIVE_SECONDS` (default 5): an idle keep-alive connection is closed after it.
    pub keep_alive: Duration,
    /// `SHUTDOWN_TIMEOUT_SECONDS` (default 30): on SIGTERM, how long in-flight requests
    /// may take to finish before the server closes their connections.
    pub shutdown: Duration,
}

/// Partner job boards: rate limit, key rotation, publication formats and webhooks.
#[derive(Clone, Debug)]
pub struct PartnerSettings {
    /// `PARTNER_RATE_LIMIT` (default 600): requests a partner may make per window, counted
    /// in the database so that every instance shares the budget.
    pub rate_limit: i32,
    /// `PARTNER_RATE_WINDOW_SECONDS` (default 60).
    pub rate_window: Duration,
    /// `PARTNER_KEY_OVERLAP_HOURS` (default 24): how long the previous keys keep working
    /// after a rotation (a rotation may ask for less, down to 0).
    pub key_overlap_hours: i64,
    /// `OFFER_URL_TEMPLATE` (default `{PUBLIC_BASE_URL}/api/v1/offers/{slug}`): the page of
    /// an offer that feeds and JSON-LD link to; `{slug}` and `{id}` are replaced.
    pub offer_url_template: String,
    /// `FEED_PUBLISHER` (default `Passerelle`): the publisher named by the feeds.
    pub feed_publisher: String,
    /// `ORGANIZATION_URL` (default unset): the city's own site, the employer's `sameAs` in
    /// JSON-LD and the publisher's URL in the XML feed (else `PUBLIC_BASE_URL`).
    pub organization_url: Option<String>,
    /// `ORGANIZATION_LOGO_URL` (default unset): the employer's logo in JSON-LD.
    pub organization_logo_url: Option<String>,
    pub webhooks: WebhookSettings,
}

/// Outbound webhook calls.
#[derive(Clone, Copy, Debug)]
pub struct WebhookSettings {
    /// `WEBHOOK_ALLOW_HTTP` (default false): accept `http://` endpoints (tests only).
    pub allow_http: bool,
    /// `WEBHOOK_ALLOW_LOOPBACK` (default false): accept endpoints on 127.0.0.0/8 and ::1
    /// (tests only). Private, link-local and metadata addresses are always refused.
    pub allow_loopback: bool,
    /// `WEBHOOK_TIMEOUT_SECONDS` (default 10): the whole of one delivery attempt.
    pub timeout: Duration,
    /// `WEBHOOK_MAX_RESPONSE_BYTES` (default 16384): the most of an answer that is read.
    pub max_response_bytes: usize,
}

/// Uploads and retention of applications.
#[derive(Clone, Copy, Debug)]
pub struct ApplicationSettings {
    /// `MAX_DOCUMENT_BYTES` (default 5 MiB): each uploaded PDF.
    pub max_document_bytes: usize,
    /// `MAX_APPLICATION_BYTES` (default 12 MiB): the whole multipart request.
    pub max_request_bytes: usize,
    /// `RETENTION_AFTER_DECISION_DAYS` (default 92): erase finished applications this long
    /// after the decision.
    pub retention_after_decision_days: i64,
    /// `TALENT_POOL_RETENTION_DAYS` (default 730): for candidates who joined the talent pool,
    /// this long after their last contact.
    pub talent_pool_retention_days: i64,
    /// `PURGE_INTERVAL_SECONDS` (default 3600; 0 disables): how often `serve` runs the purge.
    pub purge_interval_secs: u64,
    /// `UPLOAD_CONCURRENCY` (default 16): applications read at once by this instance, which
    /// bounds their memory to this many times `MAX_APPLICATION_BYTES`.
    pub upload_concurrency: usize,
    /// `UPLOAD_TIMEOUT_SECONDS` (default 60): longest time to receive a whole application.
    pub upload_timeout_secs: u64,
    /// `UPLOAD_CONCURRENCY_PER_ADDRESS` (default 2; 0 turns the cap off): applications one
    /// client address (IPv6 per /64) may send to this instance at once; one more gets 429
    /// `too_many_uploads` before its body is read, so one client cannot hold every slot.
    pub upload_concurrency_per_address: usize,
    /// `UPLOAD_MIN_BYTES_PER_SECOND` (default 2048; 0 turns the rule off) and
    /// `UPLOAD_RATE_GRACE_SECONDS` (default 10): past the grace period, an application whose
    /// average rate since it started falls below the minimum is cut (408 `upload_too_slow`).
    pub upload_min_rate: MinimumRate,
}

#[derive(Clone)]
pub struct MailSettings {
    /// `None` when `SMTP_HOST` is unset: emails are kept in the outbox table instead of sent
    /// (`passerelle outbox` reads them).
    pub smtp: Option<SmtpSettings>,
    /// `MAIL_FROM` (default `Passerelle <no-reply@localhost>`), checked to be a mailbox.
    pub from: String,
    /// `STAFF_APPLICATION_URL_TEMPLATE` (default unset): the page of an application in the
    /// staff's own front-end (`https://staff.example/applications/{id}`), which the offer
    /// contact's notification links to; unset, the notification has no link (the API route
    /// is no page a person can open).
    pub staff_application_url_template: Option<String>,
}

#[derive(Clone)]
pub struct SmtpSettings {
    /// `SMTP_HOST`.
    pub host: String,
    /// `SMTP_PORT` (default 25; 587 is typical for submission with STARTTLS, 465 for TLS).
    pub port: u16,
    /// `SMTP_USERNAME` and `SMTP_PASSWORD`: both or neither. The password is never logged.
    pub credentials: Option<(String, String)>,
    /// `SMTP_TLS` (default `none` for localhost, else `starttls`).
    pub tls: SmtpTls,
    /// `SMTP_TIMEOUT_SECONDS` (default 10): for each network operation of a delivery.
    pub timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on the same host or a trusted network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (no silent fallback).
    StartTls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
}

impl SmtpTls {
    fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "none" => Some(SmtpTls::None),
            "starttls" => Some(SmtpTls::StartTls),
            "tls" => Some(SmtpTls::Tls),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct JobSettings {
    /// `JOB_WORKERS` (default 2): job workers in this instance; 0 runs none (another
    /// instance on the same database must then run them).
    pub workers: usize,
    /// `JOB_POLL_INTERVAL_MS` (default 1000): how long an idle worker waits before looking
    /// at the queue again.
    pub poll_interval: Duration,
    /// `JOB_LEASE_SECONDS` (default 300): how long a claimed job is reserved for its worker;
    /// after that another worker may take it (the first one is presumed dead).
    pub lease: Duration,
}

#[derive(Clone)]
pub struct JwtSettings {
    /// `JWT_SECRET`: HS256 key, at least 32 bytes. When unset a random key is made for this
    /// process only (tokens do not survive a restart); a warning says so.
    pub secret: Vec<u8>,
    pub secret_generated: bool,
    /// `JWT_PREVIOUS_SECRET`: the key before the last rotation, still accepted for verifying
    /// (never for signing), so a rotation logs nobody out. Remove it once the longest access
    /// token lifetime has passed since the rotation.
    pub previous_secret: Option<Vec<u8>>,
    /// `JWT_ISSUER` (default: `PUBLIC_BASE_URL`).
    pub issuer: String,
    /// `JWT_AUDIENCE` (default `passerelle-staff`).
    pub audience: String,
    /// `ACCESS_TOKEN_TTL_SECONDS` (default 900, at most 3600).
    pub access_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECONDS` (default 1209600, 14 days).
    pub refresh_ttl: Duration,
}

#[derive(Clone, Copy)]
pub struct LoginThrottle {
    /// `LOGIN_MAX_FAILURES` (default 5) failures per (account, client address)...
    pub max_failures: i64,
    /// ...`LOGIN_ADDRESS_MAX_FAILURES` (default 20) per client address across accounts...
    pub address_max_failures: i64,
    /// ...`LOGIN_ACCOUNT_MAX_FAILURES` (default 50) per account across addresses, except
    /// from an address the account has logged in from in the last 180 days...
    pub account_max_failures: i64,
    /// ...within `LOGIN_FAILURE_WINDOW_SECONDS` (default 900).
    pub window: Duration,
}

/// Requests per client address on the public routes, counted in the database so that every
/// instance shares the budget (see `crate::ratelimit`). A limit of 0 turns a policy off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// `READS_RATE_LIMIT` (default 600) per `READS_RATE_WINDOW_SECONDS` (60): the offer list
    /// without `q`, and single offers.
    pub reads: RateLimit,
    /// `SEARCH_RATE_LIMIT` (default 120) per `SEARCH_RATE_WINDOW_SECONDS` (60): the offer list
    /// with `q` (full-text search costs more than a page).
    pub search: RateLimit,
    /// `APPLY_RATE_LIMIT` (default 10) per `APPLY_RATE_WINDOW_SECONDS` (3600): applications
    /// sent, accepted or not.
    pub apply: RateLimit,
    /// `LOGIN_RATE_LIMIT` (default 30) per `LOGIN_RATE_WINDOW_SECONDS` (300): login attempts,
    /// successful or not, on top of the failure throttling of `LOGIN_MAX_FAILURES`.
    pub login: RateLimit,
    /// `EMAIL_CHANGE_RATE_LIMIT` (default 10) per `EMAIL_CHANGE_RATE_WINDOW_SECONDS` (3600): a
    /// candidate's changes of address, asked for (each mails a code) or confirmed.
    pub email_change: RateLimit,
}

/// At most `limit` requests per fixed window of `window`; `limit == 0` means no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u32,
    pub window: Duration,
}

/// The largest limit accepted: the counter is a PostgreSQL `integer`.
pub const MAX_RATE_LIMIT: u32 = 1_000_000_000;
/// The longest window accepted, one day: longer ones would keep rows (and say "come back
/// tomorrow") for no benefit.
pub const MAX_RATE_WINDOW_SECS: u64 = 86_400;

impl RateLimits {
    /// Every policy off (tests that do not test the limits, benchmarks).
    pub const OFF: RateLimits = RateLimits {
        reads: RateLimit::OFF,
        search: RateLimit::OFF,
        apply: RateLimit::OFF,
        login: RateLimit::OFF,
        email_change: RateLimit::OFF,
    };

    fn from_env<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Self, SettingsError> {
        Ok(RateLimits {
            reads: RateLimit::from_env(get, "READS", 600, 60)?,
            search: RateLimit::from_env(get, "SEARCH", 120, 60)?,
            apply: RateLimit::from_env(get, "APPLY", 10, 3600)?,
            login: RateLimit::from_env(get, "LOGIN", 30, 300)?,
            email_change: RateLimit::from_env(get, "EMAIL_CHANGE", 10, 3600)?,
        })
    }
}

impl RateLimit {
    pub const OFF: RateLimit = RateLimit {
        limit: 0,
        window: Duration::from_secs(60),
    };

    pub fn is_enabled(self) -> bool {
        self.limit > 0
    }

    /// `{prefix}_RATE_LIMIT` and `{prefix}_RATE_WINDOW_SECONDS`.
    fn from_env<'a>(
        get: &impl Fn(&str) -> Option<&'a str>,
        prefix: &str,
        limit: u32,
        window_secs: u64,
    ) -> Result<Self, SettingsError> {
        let (limit_name, window_name) = (
            format!("{prefix}_RATE_LIMIT"),
            format!("{prefix}_RATE_WINDOW_SECONDS"),
        );
        let limit = parse_or(get, &limit_name, limit)?;
        let window_secs = parse_or(get, &window_name, window_secs)?;
        if limit > MAX_RATE_LIMIT {
            return Err(SettingsError(format!(
                "{limit_name} must be at most {MAX_RATE_LIMIT} (0 turns the limit off)"
            )));
        }
        if !(1..=MAX_RATE_WINDOW_SECS).contains(&window_secs) {
            return Err(SettingsError(format!(
                "{window_name} must be from 1 to {MAX_RATE_WINDOW_SECS} seconds"
            )));
        }
        Ok(RateLimit {
            limit,
            window: Duration::from_secs(window_secs),
        })
    }
}

/// The slowest an upload may arrive (`applications::upload` enforces it): past `grace`, its average rate since the start must
/// stay at or above `bytes_per_second`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinimumRate {
    /// 0: no minimum.
    pub bytes_per_second: u64,
    pub grace: Duration,
}

impl MinimumRate {
    pub const OFF: MinimumRate = MinimumRate {
        bytes_per_second: 0,
        grace: Duration::ZERO,
    };

    /// How long after its start an upload that has received `received` bytes may go on
    /// without more: the later of the grace period and the moment its average rate falls
    /// below the minimum. `None` when there is no minimum.
    pub fn cut_off(&self, received: u64) -> Option<Duration> {
        if self.bytes_per_second == 0 {
            return None;
        }
        // The first millisecond at which `received` is strictly less than the minimum times
        // the time elapsed.
        let at = received.saturating_mul(1000) / self.bytes_per_second;
        Some(Duration::from_millis(at.saturating_add(1)).max(self.grace))
    }

    /// Whether an upload that has received `received` bytes `elapsed` after its start is
    /// too slow to go on.
    pub fn is_too_slow(&self, received: u64, elapsed: Duration) -> bool {
        self.cut_off(received).is_some_and(|at| elapsed >= at)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct SettingsError(pub String);

/// The organisation's words: those of its name, the labels of the public host other than
/// `www`, `localhost` and the top-level domain (`stages.grenoble.fr` gives `stages` and
/// `grenoble`), and `passerelle`.
fn organization_words(name: &str, public_base_url: &str) -> Vec<String> {
    use crate::words::identity_words;
    let host = public_base_url
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    let mut labels: Vec<&str> = host.split('.').collect();
    if labels.len() > 1 {
        labels.pop();
    }
    let mut words = identity_words(name);
    words.extend(
        labels
            .into_iter()
            .filter(|l| !matches!(*l, "www" | "localhost"))
            .filter(|l| !l.chars().all(|c| c.is_ascii_digit()))
            .flat_map(identity_words),
    );
    words.push("passerelle".into());
    words.sort();
    words.dedup();
    words
}

impl std::fmt::Debug for Settings {
    // Hand-written so that the secret and the database password never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("data_dir", &self.data_dir)
            .field("listen_addr", &self.listen_addr)
            .field("public_base_url", &self.public_base_url)
            .field("jwt_issuer", &self.jwt.issuer)
            .field("jwt_audience", &self.jwt.audience)
            .field("pool_size", &self.pool_size)
            .field("mail", &self.mail)
            .field("jobs", &self.jobs)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for MailSettings {
    // Hand-written so that the SMTP password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let smtp = self.smtp.as_ref().map(|s| {
            format!(
                "{}:{} tls={:?} auth={}",
                s.host,
                s.port,
                s.tls,
                if s.credentials.is_some() {
                    "<set>"
                } else {
                    "none"
                }
            )
        });
        f.debug_struct("MailSettings")
            .field("smtp", &smtp)
            .field("from", &self.from)
            .finish()
    }
}

fn timeouts<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Timeouts, SettingsError> {
    let secs = |name: &str, default: u64| -> Result<Duration, SettingsError> {
        let value = parse_or(&get, name, default)?;
        if value == 0 {
            return Err(SettingsError(format!("{name} must be at least 1")));
        }
        Ok(Duration::from_secs(value))
    };
    Ok(Timeouts {
        request: secs("REQUEST_TIMEOUT_SECONDS", 30)?,
        client_headers: secs("CLIENT_HEADER_TIMEOUT_SECONDS", 5)?,
        keep_alive: secs("KEEP_ALIVE_SECONDS", 5)?,
        shutdown: secs("SHUTDOWN_TIMEOUT_SECONDS", 30)?,
    })
}

impl Settings {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Self, SettingsError> {
        // A missing .env is normal; a malformed one is not silently ignored.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(SettingsError(format!(".env: {e}"))),
        }
        Self::from_map(&std::env::vars().collect())
    }

    /// Builds settings from a map of variables; the environment is only read in `from_env`.
    pub fn from_map(env: &HashMap<String, String>) -> Result<Self, SettingsError> {
        let get = |name: &str| env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());

        let public_base_url = get("PUBLIC_BASE_URL")
            .unwrap_or("http://localhost:8080")
            .trim_end_matches('/')
            .to_owned();
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            return Err(SettingsError(
                "PUBLIC_BASE_URL must start with http:// or https://".into(),
            ));
        }

        let organization_words = organization_words(
            get("ORGANIZATION_NAME").unwrap_or_default(),
            &public_base_url,
        );

        let (secret, secret_generated) = match env.get("JWT_SECRET") {
            Some(s) if s.len() < MIN_JWT_SECRET_BYTES => {
                return Err(SettingsError(format!(
                    "JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes (it has {})",
                    s.len()
                )))
            }
            Some(s) => (s.as_bytes().to_vec(), false),
            None => {
                let mut key = vec![0u8; 64];
                rand::fill(&mut key[..]);
                (key, true)
            }
        };

        let previous_secret = match get("JWT_PREVIOUS_SECRET") {
            None => None,
            Some(_) if secret_generated => {
                return Err(SettingsError(
                    "JWT_PREVIOUS_SECRET is set without JWT_SECRET: set the new key in \
                     JWT_SECRET and the old one in JWT_PREVIOUS_SECRET"
                        .into(),
                ))
            }
            Some(s) if s.len() < MIN_JWT_SECRET_BYTES => {
                return Err(SettingsError(format!(
                    "JWT_PREVIOUS_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes (it has {})",
                    s.len()
                )))
            }
            Some(s) if s.as_bytes() == secret.as_slice() => {
                return Err(SettingsError(
                    "JWT_PREVIOUS_SECRET is the same as JWT_SECRET: after a rotation it holds \
                     the old key"
                        .into(),
                ))
            }
            Some(s) => Some(s.as_bytes().to_vec()),
        };

        let access_ttl = parse_or(get, "ACCESS_TOKEN_TTL_SECONDS", 900u64)?;
        if !(30..=3600).contains(&access_ttl) {
            return Err(SettingsError(
                "ACCESS_TOKEN_TTL_SECONDS must be between 30 and 3600".into(),
            ));
        }
        let refresh_ttl = parse_or(get, "REFRESH_TOKEN_TTL_SECONDS", 14 * 24 * 3600u64)?;
        if refresh_ttl <= access_ttl {
            return Err(SettingsError(
                "REFRESH_TOKEN_TTL_SECONDS must be longer than ACCESS_TOKEN_TTL_SECONDS".into(),
            ));
        }

        let pool_size = parse_or(get, "DATABASE_POOL_SIZE", 16u32)?;
        if pool_size == 0 {
            return Err(SettingsError(
                "DATABASE_POOL_SIZE must be at least 1".into(),
            ));
        }
        let max_failures = parse_or(get, "LOGIN_MAX_FAILURES", 5i64)?;
        // Unset, the larger budgets are never below the pair's.
        let address_max_failures =
            parse_or(get, "LOGIN_ADDRESS_MAX_FAILURES", 20i64.max(max_failures))?;
        let account_max_failures =
            parse_or(get, "LOGIN_ACCOUNT_MAX_FAILURES", 50i64.max(max_failures))?;
        if max_failures < 1 {
            return Err(SettingsError(
                "LOGIN_MAX_FAILURES must be at least 1".into(),
            ));
        }
        if address_max_failures < max_failures || account_max_failures < max_failures {
            return Err(SettingsError(format!(
                "LOGIN_ADDRESS_MAX_FAILURES ({address_max_failures}) and \
                 LOGIN_ACCOUNT_MAX_FAILURES ({account_max_failures}) must be at least \
                 LOGIN_MAX_FAILURES ({max_failures})"
            )));
        }

        let partners = partner_settings(get, &public_base_url)?;
        let cors_invalid = get("CORS_ALLOWED_ORIGINS")
            .into_iter()
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .find(|o| !(o.is_empty() || o.starts_with("https://") || o.starts_with("http://")));
        if let Some(o) = cors_invalid {
            return Err(SettingsError(format!(
                "CORS_ALLOWED_ORIGINS: {o:?} is not an origin like https://stages.ville.example"
            )));
        }
        Ok(Settings {
            database_url: get("DATABASE_URL").map(str::to_owned),
            data_dir: PathBuf::from(get("DATA_DIR").unwrap_or("./data")),
            listen_addr: parse_or(get, "LISTEN_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            jwt: JwtSettings {
                secret,
                secret_generated,
                previous_secret,
                issuer: get("JWT_ISSUER").unwrap_or(&public_base_url).to_owned(),
                audience: get("JWT_AUDIENCE").unwrap_or("passerelle-staff").to_owned(),
                access_ttl: Duration::from_secs(access_ttl),
                refresh_ttl: Duration::from_secs(refresh_ttl),
            },
            public_base_url,
            organization_words,
            pool_size,
            database_timeout: Duration::from_secs(parse_or(get, "DATABASE_TIMEOUT_SECONDS", 5)?),
            login_throttle: LoginThrottle {
                max_failures,
                address_max_failures,
                account_max_failures,
                window: Duration::from_secs(parse_or(get, "LOGIN_FAILURE_WINDOW_SECONDS", 900)?),
            },
            rate_limits: RateLimits::from_env(&get)?,
            password_hash_concurrency: parse_or(get, "PASSWORD_HASH_CONCURRENCY", cpus)?.max(1),
            trusted_proxies: trusted_proxies(get)?,
            forwarded_header: parse_or(get, "FORWARDED_HEADER", ForwardedHeader::default())?,
            json_body_limit: parse_or(get, "JSON_BODY_LIMIT_BYTES", 64 * 1024)?,
            timeouts: timeouts(get)?,
            workers: parse_or(get, "WORKERS", cpus)?.max(1),
            cors_allowed_origins: get("CORS_ALLOWED_ORIGINS")
                .map(|list| {
                    list.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            applications: ApplicationSettings::from_env(&get)?,
            mail: mail_settings(get)?,
            jobs: job_settings(get)?,
            partners,
            metrics: MetricsSettings::from_env(&get)?,
        })
    }

    /// Settings for tests: a fixed secret, fast throttling windows, no environment read.
    #[allow(clippy::expect_used, reason = "test support: constant settings")]
    pub fn for_tests(database_url: &str) -> Self {
        let mut env = HashMap::new();
        env.insert("DATABASE_URL".into(), database_url.into());
        env.insert(
            "JWT_SECRET".into(),
            "test-secret-that-is-long-enough-for-hs256!".into(),
        );
        env.insert("DATABASE_POOL_SIZE".into(), "4".into());
        env.insert("DATABASE_TIMEOUT_SECONDS".into(), "2".into());
        let mut settings = Self::from_map(&env).expect("test settings are valid");
        // Every test client has the same address: the limits are tested on their own.
        settings.rate_limits = RateLimits::OFF;
        // Likewise, tests read /metrics from any address; its access rules are tested on their own.
        settings.metrics = MetricsSettings::public();
        settings
    }
}

impl ApplicationSettings {
    fn from_env<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Self, SettingsError> {
        let s = ApplicationSettings {
            max_document_bytes: parse_or(get, "MAX_DOCUMENT_BYTES", 5 * 1024 * 1024)?,
            max_request_bytes: parse_or(get, "MAX_APPLICATION_BYTES", 12 * 1024 * 1024)?,
            retention_after_decision_days: parse_or(get, "RETENTION_AFTER_DECISION_DAYS", 92)?,
            talent_pool_retention_days: parse_or(get, "TALENT_POOL_RETENTION_DAYS", 730)?,
            purge_interval_secs: parse_or(get, "PURGE_INTERVAL_SECONDS", 3600)?,
            upload_concurrency: parse_or(get, "UPLOAD_CONCURRENCY", 16usize)?.max(1),
            upload_timeout_secs: parse_or(get, "UPLOAD_TIMEOUT_SECONDS", 60u64)?.max(1),
            upload_concurrency_per_address: parse_or(get, "UPLOAD_CONCURRENCY_PER_ADDRESS", 2)?,
            upload_min_rate: MinimumRate {
                bytes_per_second: parse_or(get, "UPLOAD_MIN_BYTES_PER_SECOND", 2048)?,
                grace: Duration::from_secs(parse_or(get, "UPLOAD_RATE_GRACE_SECONDS", 10)?),
            },
        };
        let rate = s.upload_min_rate;
        // A grace period as long as the whole deadline would make the minimum rate dead
        // letter, and one of 0 would judge an upload by its very first bytes.
        if rate.bytes_per_second > 0
            && (rate.grace.is_zero() || rate.grace.as_secs() >= s.upload_timeout_secs)
        {
            return Err(SettingsError(format!(
                "UPLOAD_RATE_GRACE_SECONDS must be at least 1 and shorter than \
                 UPLOAD_TIMEOUT_SECONDS ({}) while UPLOAD_MIN_BYTES_PER_SECOND is set",
                s.upload_timeout_secs
            )));
        }
        if s.max_document_bytes == 0 || s.max_request_bytes < s.max_document_bytes {
            return Err(SettingsError(
                "MAX_APPLICATION_BYTES must be at least MAX_DOCUMENT_BYTES, which must be positive"
                    .into(),
            ));
        }
        if s.retention_after_decision_days < 1 || s.talent_pool_retention_days < 1 {
            return Err(SettingsError(
                "retention periods must be at least one day".into(),
            ));
        }
        Ok(s)
    }
}

fn mail_settings<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<MailSettings, SettingsError> {
    let from = get("MAIL_FROM").unwrap_or("Passerelle <no-reply@localhost>");
    // Checked here so that a typo stops the process at start, not every email later.
    if from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(SettingsError(format!(
            "MAIL_FROM={from:?} is not a mailbox (`Name <address@domain>` or `address@domain`)"
        )));
    }
    let staff_application_url_template = match get("STAFF_APPLICATION_URL_TEMPLATE") {
        None | Some("") => None,
        Some(t)
            if (t.starts_with("https://") || t.starts_with("http://")) && t.contains("{id}") =>
        {
            Some(t.to_owned())
        }
        Some(_) => {
            return Err(SettingsError(
                "STAFF_APPLICATION_URL_TEMPLATE must be an http(s) URL containing {id}".into(),
            ))
        }
    };
    let Some(host) = get("SMTP_HOST") else {
        for name in ["SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_PORT", "SMTP_TLS"] {
            if get(name).is_some() {
                return Err(SettingsError(format!("{name} is set but SMTP_HOST is not")));
            }
        }
        return Ok(MailSettings {
            smtp: None,
            from: from.to_owned(),
            staff_application_url_template,
        });
    };
    let local = matches!(host, "localhost" | "127.0.0.1" | "::1");
    let tls = match get("SMTP_TLS") {
        None if local => SmtpTls::None,
        None => SmtpTls::StartTls,
        Some(raw) => SmtpTls::parse(raw).ok_or_else(|| {
            SettingsError(format!(
                "SMTP_TLS={raw:?} is not valid: use none, starttls or tls"
            ))
        })?,
    };
    let credentials = match (get("SMTP_USERNAME"), get("SMTP_PASSWORD")) {
        (Some(user), Some(password)) => Some((user.to_owned(), password.to_owned())),
        (None, None) => None,
        _ => {
            return Err(SettingsError(
                "SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither".into(),
            ))
        }
    };
    let timeout = parse_or(&get, "SMTP_TIMEOUT_SECONDS", 10u64)?;
    if timeout == 0 {
        return Err(SettingsError(
            "SMTP_TIMEOUT_SECONDS must be at least 1".into(),
        ));
    }
    Ok(MailSettings {
        smtp: Some(SmtpSettings {
            host: host.to_owned(),
            port: parse_or(&get, "SMTP_PORT", 25u16)?,
            credentials,
            tls,
            timeout: Duration::from_secs(timeout),
        }),
        staff_application_url_template,
        from: from.to_owned(),
    })
}

fn job_settings<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<JobSettings, SettingsError> {
    let poll_ms = parse_or(&get, "JOB_POLL_INTERVAL_MS", 1000u64)?;
    if poll_ms == 0 {
        return Err(SettingsError(
            "JOB_POLL_INTERVAL_MS must be at least 1".into(),
        ));
    }
    let lease = parse_or(&get, "JOB_LEASE_SECONDS", 300u64)?;
    // A lease shorter than one SMTP delivery can take would let a second worker send the
    // same email while the first is still waiting for the server. A delivery is about ten
    // network operations (connect, TLS, EHLO, MAIL, RCPT, DATA, ...), each bounded by the
    // timeout.
    let smtp_timeout = parse_or(&get, "SMTP_TIMEOUT_SECONDS", 10u64)?;
    if lease < 10 || lease <= smtp_timeout.saturating_mul(10) {
        return Err(SettingsError(format!(
            "JOB_LEASE_SECONDS must be at least 10 and more than 10 × SMTP_TIMEOUT_SECONDS \
             ({smtp_timeout})"
        )));
    }
    Ok(JobSettings {
        workers: parse_or(&get, "JOB_WORKERS", 2usize)?,
        poll_interval: Duration::from_millis(poll_ms),
        lease: Duration::from_secs(lease),
    })
}

fn partner_settings<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    public_base_url: &str,
) -> Result<PartnerSettings, SettingsError> {
    let rate_limit = parse_or(&get, "PARTNER_RATE_LIMIT", 600i32)?;
    let rate_window = parse_or(&get, "PARTNER_RATE_WINDOW_SECONDS", 60u64)?;
    if rate_limit < 1 || rate_window < 1 {
        return Err(SettingsError(
            "PARTNER_RATE_LIMIT and PARTNER_RATE_WINDOW_SECONDS must be at least 1".into(),
        ));
    }
    let key_overlap_hours = parse_or(&get, "PARTNER_KEY_OVERLAP_HOURS", 24i64)?;
    if !(0..=24 * 90).contains(&key_overlap_hours) {
        return Err(SettingsError(
            "PARTNER_KEY_OVERLAP_HOURS must be between 0 and 2160 (90 days)".into(),
        ));
    }
    let offer_url_template = get("OFFER_URL_TEMPLATE")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{public_base_url}/api/v1/offers/{{slug}}"));
    if !(offer_url_template.starts_with("https://") || offer_url_template.starts_with("http://"))
        || !(offer_url_template.contains("{slug}") || offer_url_template.contains("{id}"))
    {
        return Err(SettingsError(
            "OFFER_URL_TEMPLATE must be an http(s) URL containing {slug} or {id}".into(),
        ));
    }
    let absolute_url = |name: &str| match get(name).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.starts_with("https://") || v.starts_with("http://") => Ok(Some(v.to_owned())),
        Some(_) => Err(SettingsError(format!("{name} must be an http(s) URL"))),
    };
    let organization_url = absolute_url("ORGANIZATION_URL")?;
    let organization_logo_url = absolute_url("ORGANIZATION_LOGO_URL")?;
    let timeout = parse_or(&get, "WEBHOOK_TIMEOUT_SECONDS", 10u64)?;
    let lease = parse_or(&get, "JOB_LEASE_SECONDS", 300u64)?;
    if timeout == 0 || lease <= timeout.saturating_mul(2) {
        return Err(SettingsError(format!(
            "WEBHOOK_TIMEOUT_SECONDS must be at least 1 and less than half of \
             JOB_LEASE_SECONDS ({lease})"
        )));
    }
    let max_response_bytes = parse_or(&get, "WEBHOOK_MAX_RESPONSE_BYTES", 16 * 1024usize)?;
    if max_response_bytes < 256 {
        return Err(SettingsError(
            "WEBHOOK_MAX_RESPONSE_BYTES must be at least 256".into(),
        ));
    }
    Ok(PartnerSettings {
        rate_limit,
        rate_window: Duration::from_secs(rate_window),
        key_overlap_hours,
        offer_url_template,
        feed_publisher: get("FEED_PUBLISHER").unwrap_or("Passerelle").to_owned(),
        organization_url,
        organization_logo_url,
        webhooks: WebhookSettings {
            allow_http: parse_or(&get, "WEBHOOK_ALLOW_HTTP", false)?,
            allow_loopback: parse_or(&get, "WEBHOOK_ALLOW_LOOPBACK", false)?,
            timeout: Duration::from_secs(timeout),
            max_response_bytes,
        },
    })
}

/// `TRUSTED_PROXIES`, and the retired `TRUST_FORWARDED_FOR` refused with what replaces it.
fn trusted_proxies<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Vec<Cidr>, SettingsError> {
    if let Some(old) = get("TRUST_FORWARDED_FOR").map(str::trim) {
        if !(old.is_empty() || old.eq_ignore_ascii_case("false")) {
            return Err(SettingsError(
                "TRUST_FORWARDED_FOR was removed: it believed the left-most X-Forwarded-For entry, \
                 which clients write themselves. Set TRUSTED_PROXIES to your proxies' addresses \
                 (CIDRs, e.g. TRUSTED_PROXIES=10.0.0.0/8) and unset TRUST_FORWARDED_FOR"
                    .to_owned(),
            ));
        }
    }
    get("TRUSTED_PROXIES").map_or(Ok(Vec::new()), |list| parse_cidrs("TRUSTED_PROXIES", list))
}

/// A comma-separated list of CIDRs (or bare addresses), errors naming the variable.
fn parse_cidrs(name: &str, list: &str) -> Result<Vec<Cidr>, SettingsError> {
    list.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<Cidr>()
                .map_err(|e| SettingsError(format!("{name}: {e}")))
        })
        .collect()
}

fn parse_or<'a, T: std::str::FromStr>(
    get: impl Fn(&str) -> Option<&'a str>,
    name: &str,
    default: T,
) -> Result<T, SettingsError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|e| SettingsError(format!("{name}={raw:?} is not valid: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_words_come_from_the_name_the_public_host_and_the_product() {
        assert_eq!(
            organization_words("Ville de Saint-Étienne", "https://stages.saint-etienne.fr"),
            vec![
                "etienne",
                "passerelle",
                "saint",
                "saintetienne",
                "stages",
                "ville",
                "villedesaintetienne"
            ]
        );
        assert_eq!(
            organization_words("", "http://127.0.0.1:8080"),
            vec!["passerelle"]
        );
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert!(s.database_url.is_none());
        assert!(s.jwt.secret_generated);
        assert_eq!(s.jwt.secret.len(), 64);
        assert_eq!(s.listen_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(s.jwt.issuer, "http://localhost:8080");
        assert_eq!(s.jwt.access_ttl, Duration::from_secs(900));
    }

    #[test]
    fn a_previous_jwt_secret_is_long_different_and_needs_a_current_one() {
        let current = ("JWT_SECRET", "the-new-key-of-at-least-thirty-two-bytes");
        let s = Settings::from_map(&env(&[
            current,
            (
                "JWT_PREVIOUS_SECRET",
                "the-old-key-of-at-least-thirty-two-bytes",
            ),
        ]))
        .unwrap();
        assert_eq!(
            s.jwt.previous_secret.as_deref(),
            Some(&b"the-old-key-of-at-least-thirty-two-bytes"[..])
        );
        for (vars, says) in [
            (
                vec![current, ("JWT_PREVIOUS_SECRET", "short")],
                "at least 32 bytes",
            ),
            (
                vec![current, ("JWT_PREVIOUS_SECRET", current.1)],
                "the same as JWT_SECRET",
            ),
            (
                vec![(
                    "JWT_PREVIOUS_SECRET",
                    "the-old-key-of-at-least-thirty-two-bytes",
                )],
                "without JWT_SECRET",
            ),
        ] {
            let err = Settings::from_map(&env(&vars)).unwrap_err().to_string();
            assert!(
                err.contains("JWT_PREVIOUS_SECRET") && err.contains(says),
                "{err}"
            );
        }
    }

    #[test]
    fn short_secret_is_refused() {
        let err = Settings::from_map(&env(&[("JWT_SECRET", "short")])).unwrap_err();
        assert!(err.to_string().contains("at least 32 bytes"));
    }

    #[test]
    fn malformed_values_are_refused_with_their_name() {
        let err = Settings::from_map(&env(&[("LISTEN_ADDR", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("LISTEN_ADDR"));
        let err = Settings::from_map(&env(&[("ACCESS_TOKEN_TTL_SECONDS", "86400")])).unwrap_err();
        assert!(err.to_string().contains("ACCESS_TOKEN_TTL_SECONDS"));
        let err = Settings::from_map(&env(&[("PUBLIC_BASE_URL", "example.org")])).unwrap_err();
        assert!(err.to_string().contains("PUBLIC_BASE_URL"));
    }

    #[test]
    fn mail_is_logged_only_until_smtp_is_configured() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert!(s.mail.smtp.is_none());
        assert_eq!(s.mail.from, "Passerelle <no-reply@localhost>");
        assert_eq!(s.jobs.workers, 2);
        assert_eq!(s.jobs.poll_interval, Duration::from_millis(1000));
        let err = Settings::from_map(&env(&[("SMTP_PASSWORD", "x")])).unwrap_err();
        assert!(err.to_string().contains("SMTP_HOST"));
    }

    #[test]
    fn the_staff_application_link_is_optional_and_checked() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert_eq!(s.mail.staff_application_url_template, None);
        let template = "https://staff.example/applications/{id}";
        let s = Settings::from_map(&env(&[("STAFF_APPLICATION_URL_TEMPLATE", template)])).unwrap();
        assert_eq!(
            s.mail.staff_application_url_template.as_deref(),
            Some(template)
        );
        for bad in ["https://staff.example/applications", "staff.example/{id}"] {
            let err =
                Settings::from_map(&env(&[("STAFF_APPLICATION_URL_TEMPLATE", bad)])).unwrap_err();
            assert!(err.to_string().contains("STAFF_APPLICATION_URL_TEMPLATE"));
        }
    }

    #[test]
    fn smtp_tls_defaults_to_starttls_except_on_localhost() {
        let smtp = |pairs: &[(&str, &str)]| Settings::from_map(&env(pairs)).unwrap().mail.smtp;
        let local = smtp(&[("SMTP_HOST", "localhost")]).unwrap();
        assert_eq!((local.tls, local.port), (SmtpTls::None, 25));
        let remote = smtp(&[("SMTP_HOST", "smtp.ville.example"), ("SMTP_PORT", "587")]).unwrap();
        assert_eq!((remote.tls, remote.port), (SmtpTls::StartTls, 587));
        let wrapped = smtp(&[("SMTP_HOST", "127.0.0.1"), ("SMTP_TLS", "TLS")]).unwrap();
        assert_eq!(wrapped.tls, SmtpTls::Tls);
        assert_eq!(wrapped.timeout, Duration::from_secs(10));
    }

    #[test]
    fn invalid_mail_and_job_settings_are_refused_with_their_name() {
        for (pairs, name) in [
            (vec![("SMTP_HOST", "mx"), ("SMTP_TLS", "ssl")], "SMTP_TLS"),
            (
                vec![("SMTP_HOST", "mx"), ("SMTP_USERNAME", "u")],
                "SMTP_PASSWORD",
            ),
            (
                vec![("SMTP_HOST", "mx"), ("SMTP_PORT", "70000")],
                "SMTP_PORT",
            ),
            (vec![("MAIL_FROM", "no address")], "MAIL_FROM"),
            (vec![("JOB_WORKERS", "-1")], "JOB_WORKERS"),
            (vec![("JOB_POLL_INTERVAL_MS", "0")], "JOB_POLL_INTERVAL_MS"),
            (vec![("JOB_LEASE_SECONDS", "60")], "JOB_LEASE_SECONDS"),
        ] {
            let err = Settings::from_map(&env(&pairs)).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
        let s = Settings::from_map(&env(&[("JOB_WORKERS", "0")])).unwrap();
        assert_eq!(s.jobs.workers, 0);
    }

    #[test]
    fn partner_settings_have_safe_defaults_and_are_checked() {
        let s = Settings::from_map(&env(&[])).unwrap().partners;
        assert_eq!((s.rate_limit, s.rate_window.as_secs()), (600, 60));
        assert_eq!(s.key_overlap_hours, 24);
        assert!(!s.webhooks.allow_http && !s.webhooks.allow_loopback);
        assert_eq!((s.organization_url, s.organization_logo_url), (None, None));
        assert_eq!(
            s.offer_url_template,
            "http://localhost:8080/api/v1/offers/{slug}"
        );
        for (pairs, name) in [
            (vec![("PARTNER_RATE_LIMIT", "0")], "PARTNER_RATE_LIMIT"),
            (
                vec![("PARTNER_KEY_OVERLAP_HOURS", "-1")],
                "PARTNER_KEY_OVERLAP_HOURS",
            ),
            (
                vec![("OFFER_URL_TEMPLATE", "/offres")],
                "OFFER_URL_TEMPLATE",
            ),
            (
                vec![("WEBHOOK_TIMEOUT_SECONDS", "200")],
                "WEBHOOK_TIMEOUT_SECONDS",
            ),
            (vec![("WEBHOOK_ALLOW_HTTP", "yes")], "WEBHOOK_ALLOW_HTTP"),
            (
                vec![("ORGANIZATION_URL", "www.grenoble.fr")],
                "ORGANIZATION_URL",
            ),
            (
                vec![("ORGANIZATION_LOGO_URL", "logo.png")],
                "ORGANIZATION_LOGO_URL",
            ),
        ] {
            let err = Settings::from_map(&env(&pairs)).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn rate_limits_have_defaults_can_be_turned_off_and_are_checked() {
        let s = Settings::from_map(&env(&[])).unwrap().rate_limits;
        let rule = |limit, secs| RateLimit {
            limit,
            window: Duration::from_secs(secs),
        };
        assert_eq!(s.reads, rule(600, 60));
        assert_eq!(s.search, rule(120, 60));
        assert_eq!(s.apply, rule(10, 3600));
        assert_eq!(s.login, rule(30, 300));
        let s = Settings::from_map(&env(&[
            ("SEARCH_RATE_LIMIT", "0"),
            ("APPLY_RATE_LIMIT", "3"),
            ("APPLY_RATE_WINDOW_SECONDS", "86400"),
        ]))
        .unwrap()
        .rate_limits;
        assert!(!s.search.is_enabled() && s.reads.is_enabled());
        assert_eq!(s.apply, rule(3, 86_400));
        for (pairs, name) in [
            (vec![("READS_RATE_LIMIT", "-1")], "READS_RATE_LIMIT"),
            (vec![("SEARCH_RATE_LIMIT", "lots")], "SEARCH_RATE_LIMIT"),
            (vec![("LOGIN_RATE_LIMIT", "2000000000")], "LOGIN_RATE_LIMIT"),
            (
                vec![("READS_RATE_WINDOW_SECONDS", "0")],
                "READS_RATE_WINDOW_SECONDS",
            ),
            (
                vec![("APPLY_RATE_WINDOW_SECONDS", "86401")],
                "APPLY_RATE_WINDOW_SECONDS",
            ),
        ] {
            let err = Settings::from_map(&env(&pairs)).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
        assert_eq!(
            Settings::for_tests("postgres://x/y").rate_limits,
            RateLimits::OFF
        );
    }

    #[test]
    fn the_email_change_rate_limit_has_a_default_and_is_checked() {
        let s = Settings::from_map(&env(&[])).unwrap().rate_limits;
        assert_eq!(
            s.email_change,
            RateLimit {
                limit: 10,
                window: Duration::from_secs(3600),
            }
        );
        let s = Settings::from_map(&env(&[
            ("EMAIL_CHANGE_RATE_LIMIT", "3"),
            ("EMAIL_CHANGE_RATE_WINDOW_SECONDS", "600"),
        ]))
        .unwrap()
        .rate_limits;
        assert_eq!(
            (s.email_change.limit, s.email_change.window.as_secs()),
            (3, 600)
        );
        let err = Settings::from_map(&env(&[("EMAIL_CHANGE_RATE_LIMIT", "many")])).unwrap_err();
        assert!(err.to_string().contains("EMAIL_CHANGE_RATE_LIMIT"), "{err}");
    }

    #[test]
    fn upload_limits_have_defaults_can_be_turned_off_and_are_checked() {
        let s = Settings::from_map(&env(&[])).unwrap().applications;
        assert_eq!(s.upload_timeout_secs, 60);
        assert_eq!(s.upload_concurrency_per_address, 2);
        assert_eq!(
            s.upload_min_rate,
            MinimumRate {
                bytes_per_second: 2048,
                grace: Duration::from_secs(10),
            }
        );
        let s = Settings::from_map(&env(&[
            ("UPLOAD_CONCURRENCY_PER_ADDRESS", "0"),
            ("UPLOAD_MIN_BYTES_PER_SECOND", "0"),
            // With no minimum rate, the grace period does not matter.
            ("UPLOAD_RATE_GRACE_SECONDS", "0"),
            ("UPLOAD_TIMEOUT_SECONDS", "5"),
        ]))
        .unwrap()
        .applications;
        assert_eq!(s.upload_concurrency_per_address, 0);
        assert_eq!(s.upload_min_rate.cut_off(0), None);
        let s = Settings::from_map(&env(&[
            ("UPLOAD_MIN_BYTES_PER_SECOND", "1000"),
            ("UPLOAD_RATE_GRACE_SECONDS", "1"),
            ("UPLOAD_TIMEOUT_SECONDS", "5"),
        ]))
        .unwrap()
        .applications;
        assert_eq!(s.upload_min_rate.cut_off(0), Some(Duration::from_secs(1)));
        for (pairs, name) in [
            (
                vec![("UPLOAD_CONCURRENCY_PER_ADDRESS", "-1")],
                "UPLOAD_CONCURRENCY_PER_ADDRESS",
            ),
            (
                vec![("UPLOAD_MIN_BYTES_PER_SECOND", "2 KiB")],
                "UPLOAD_MIN_BYTES_PER_SECOND",
            ),
            (
                vec![("UPLOAD_RATE_GRACE_SECONDS", "0")],
                "UPLOAD_RATE_GRACE_SECONDS",
            ),
            // A grace period as long as the deadline would never let the minimum apply.
            (
                vec![("UPLOAD_TIMEOUT_SECONDS", "10")],
                "UPLOAD_RATE_GRACE_SECONDS",
            ),
            (
                vec![("UPLOAD_RATE_GRACE_SECONDS", "soon")],
                "UPLOAD_RATE_GRACE_SECONDS",
            ),
        ] {
            let err = Settings::from_map(&env(&pairs)).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn cors_origins_are_parsed_and_checked() {
        let s = Settings::from_map(&env(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://a.example/, http://localhost:3000",
        )]))
        .unwrap();
        assert_eq!(
            s.cors_allowed_origins,
            ["https://a.example", "http://localhost:3000"]
        );
        assert!(Settings::from_map(&env(&[("CORS_ALLOWED_ORIGINS", "a.example")])).is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s = Settings::from_map(&env(&[
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("JWT_SECRET", "a-very-long-secret-value-for-testing-only"),
            ("SMTP_HOST", "smtp.ville.example"),
            ("SMTP_USERNAME", "passerelle"),
            ("SMTP_PASSWORD", "smtp-password-42"),
        ]))
        .unwrap();
        let shown = format!("{s:?}");
        assert!(shown.contains("smtp.ville.example"));
        assert!(!shown.contains("smtp-password-42"));
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("a-very-long-secret"));
    }

    #[test]
    fn login_budgets_default_per_pair_address_and_account_and_are_checked() {
        let s = Settings::from_map(&env(&[])).unwrap().login_throttle;
        assert_eq!(
            (
                s.max_failures,
                s.address_max_failures,
                s.account_max_failures
            ),
            (5, 20, 50)
        );
        // Raising the pair's budget alone raises the others with it (as CI's Schemathesis does).
        let s = Settings::from_map(&env(&[("LOGIN_MAX_FAILURES", "1000000")]))
            .unwrap()
            .login_throttle;
        assert_eq!(s.address_max_failures, 1_000_000);
        assert_eq!(s.account_max_failures, 1_000_000);
        let err = Settings::from_map(&env(&[("LOGIN_ACCOUNT_MAX_FAILURES", "3")])).unwrap_err();
        assert!(err.0.contains("LOGIN_ACCOUNT_MAX_FAILURES"), "{}", err.0);
        assert!(Settings::from_map(&env(&[("LOGIN_MAX_FAILURES", "0")])).is_err());
    }

    #[test]
    fn trusted_proxies_are_cidrs_and_the_retired_setting_is_refused() {
        let s = Settings::from_map(&env(&[
            ("TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32,192.0.2.1"),
            ("FORWARDED_HEADER", "Forwarded"),
        ]))
        .unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
        assert_eq!(s.forwarded_header, ForwardedHeader::Forwarded);
        let s = Settings::from_map(&env(&[("TRUST_FORWARDED_FOR", "false")])).unwrap();
        assert!(s.trusted_proxies.is_empty());
        assert_eq!(s.forwarded_header, ForwardedHeader::XForwardedFor);
        let err = Settings::from_map(&env(&[("TRUST_FORWARDED_FOR", "true")])).unwrap_err();
        assert!(err.0.contains("TRUSTED_PROXIES"), "{}", err.0);
        let err = Settings::from_map(&env(&[("TRUSTED_PROXIES", "proxy.lan")])).unwrap_err();
        assert!(err.0.starts_with("TRUSTED_PROXIES"), "{}", err.0);
        assert!(Settings::from_map(&env(&[("FORWARDED_HEADER", "x-real-ip")])).is_err());
    }

    #[test]
    fn metrics_are_for_local_and_private_networks_by_default() {
        let s = Settings::from_map(&env(&[])).unwrap();
        let MetricsAccess::Networks(nets) = &s.metrics.access else {
            panic!("default is networks: {:?}", s.metrics.access)
        };
        let admitted = |ip: &str| nets.iter().any(|n| n.contains(ip.parse().unwrap()));
        for ip in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "172.31.0.1",
            "192.168.1.1",
            "fd00::1",
        ] {
            assert!(admitted(ip), "{ip}");
        }
        for ip in ["203.0.113.5", "172.32.0.1", "2001:db8::1", "192.0.2.10"] {
            assert!(!admitted(ip), "{ip}");
        }
        let s = Settings::from_map(&env(&[
            ("METRICS_ACCESS", "networks"),
            ("METRICS_ALLOW_NETWORKS", "198.51.100.0/24, 2001:db8::/32"),
        ]))
        .unwrap();
        assert!(matches!(&s.metrics.access, MetricsAccess::Networks(n) if n.len() == 2));
        let s = Settings::from_map(&env(&[("METRICS_ACCESS", "Public")])).unwrap();
        assert!(matches!(s.metrics.access, MetricsAccess::Public));
    }

    #[test]
    fn metrics_token_mode_needs_a_long_token_and_keeps_only_its_digest() {
        let token = "0123456789abcdef0123456789abcdef";
        let s = Settings::from_map(&env(&[
            ("METRICS_ACCESS", "token"),
            ("METRICS_TOKEN", token),
        ]))
        .unwrap();
        assert!(matches!(s.metrics.access, MetricsAccess::Token { .. }));
        assert!(!format!("{:?}", s.metrics).contains(token));
        let err = Settings::from_map(&env(&[("METRICS_ACCESS", "token")])).unwrap_err();
        assert!(err.0.contains("METRICS_TOKEN"), "{}", err.0);
        let err = Settings::from_map(&env(&[
            ("METRICS_ACCESS", "token"),
            ("METRICS_TOKEN", "too-short"),
        ]))
        .unwrap_err();
        assert!(err.0.contains("at least 32 characters"), "{}", err.0);
        let err = Settings::from_map(&env(&[
            ("METRICS_ACCESS", "token"),
            ("METRICS_TOKEN", "0123456789abcdef 0123456789abcdef"),
        ]))
        .unwrap_err();
        assert!(err.0.contains("METRICS_TOKEN"), "{}", err.0);
    }

    #[test]
    fn bad_metrics_settings_are_refused_with_their_name() {
        let err = Settings::from_map(&env(&[("METRICS_ACCESS", "everyone")])).unwrap_err();
        assert!(err.0.starts_with("METRICS_ACCESS"), "{}", err.0);
        let err =
            Settings::from_map(&env(&[("METRICS_ALLOW_NETWORKS", "10.0.0.0/33")])).unwrap_err();
        assert!(err.0.starts_with("METRICS_ALLOW_NETWORKS"), "{}", err.0);
        let err =
            Settings::from_map(&env(&[("METRICS_ALLOW_NETWORKS", "prometheus.lan")])).unwrap_err();
        assert!(err.0.starts_with("METRICS_ALLOW_NETWORKS"), "{}", err.0);
        let err = Settings::from_map(&env(&[("METRICS_ALLOW_NETWORKS", " , ")])).unwrap_err();
        assert!(err.0.contains("no network"), "{}", err.0);
        // A setting the chosen mode ignores is a mistake, not silently dropped.
        let err = Settings::from_map(&env(&[
            ("METRICS_ACCESS", "public"),
            ("METRICS_TOKEN", "0123456789abcdef0123456789abcdef"),
        ]))
        .unwrap_err();
        assert!(err.0.contains("METRICS_TOKEN"), "{}", err.0);
        let err = Settings::from_map(&env(&[
            ("METRICS_ACCESS", "token"),
            ("METRICS_TOKEN", "0123456789abcdef0123456789abcdef"),
            ("METRICS_ALLOW_NETWORKS", "10.0.0.0/8"),
        ]))
        .unwrap_err();
        assert!(err.0.contains("METRICS_ALLOW_NETWORKS"), "{}", err.0);
    }
}
