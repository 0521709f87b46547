//! Typed settings, read once from the environment (and `.env`), validated before anything binds.
//!
//! Every variable the service reads is listed in [`Settings::from_map`] or the parser of its
//! section (one module each, with its tests) with its default; the README and `.env.example`
//! document the same list. Secrets are `secrecy` types: no `Debug` shows them.

mod applications;
mod cache;
mod calendar;
mod cors;
mod jobs;
mod jwt;
mod limits;
mod mail;
mod metrics;
mod organization;
mod parse;
mod partners;
mod proxies;
mod server;

use parse::parse_or;
pub use parse::SettingsError;

pub use applications::{ApplicationSettings, MinimumRate};
pub use cache::CacheSettings;
pub use calendar::{CalendarSettings, PublicationApproval};
pub use jobs::JobSettings;
pub use jwt::{JwtSettings, MIN_JWT_SECRET_BYTES};
pub use limits::{LoginThrottle, RateLimit, RateLimits, MAX_RATE_LIMIT, MAX_RATE_WINDOW_SECS};
pub use mail::{MailSettings, SmtpSettings, SmtpTls};
pub use metrics::{
    MetricsAccess, MetricsSettings, DEFAULT_METRICS_NETWORKS, MIN_METRICS_TOKEN_CHARS,
};
pub use partners::{default_offer_url_template, PartnerSettings, WebhookSettings};
pub use server::Timeouts;

use crate::proxies::{Cidr, ForwardedHeader};
use secrecy::SecretString;
use std::{collections::HashMap, net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Clone)]
pub struct Settings {
    /// `DATABASE_URL`; `None` means "start a private cluster under `data_dir`". It may hold
    /// the database password.
    pub database_url: Option<SecretString>,
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
    pub cache: CacheSettings,
    pub calendar: CalendarSettings,
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
            .field("calendar", &self.calendar)
            .finish_non_exhaustive()
    }
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

        let organization_words = organization::organization_words(
            get("ORGANIZATION_NAME").unwrap_or_default(),
            &public_base_url,
        );

        // JWT_SECRET is taken as written, untrimmed: spaces are key bytes.
        let jwt = JwtSettings::from_env(
            get,
            env.get("JWT_SECRET").map(String::as_str),
            &public_base_url,
        )?;

        let pool_size = parse_or(get, "DATABASE_POOL_SIZE", 16u32)?;
        if pool_size == 0 {
            return Err(SettingsError(
                "DATABASE_POOL_SIZE must be at least 1".into(),
            ));
        }
        let login_throttle = LoginThrottle::from_env(get)?;
        let partners = PartnerSettings::from_env(get, &public_base_url)?;
        let cors_allowed_origins = cors::allowed_origins(get)?;
        Ok(Settings {
            database_url: get("DATABASE_URL").map(SecretString::from),
            data_dir: PathBuf::from(get("DATA_DIR").unwrap_or("./data")),
            listen_addr: parse_or(get, "LISTEN_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            jwt,
            public_base_url,
            organization_words,
            pool_size,
            database_timeout: Duration::from_secs(parse_or(get, "DATABASE_TIMEOUT_SECONDS", 5)?),
            login_throttle,
            rate_limits: RateLimits::from_env(&get)?,
            password_hash_concurrency: parse_or(get, "PASSWORD_HASH_CONCURRENCY", cpus)?.max(1),
            trusted_proxies: proxies::trusted_proxies(get)?,
            forwarded_header: parse_or(get, "FORWARDED_HEADER", ForwardedHeader::default())?,
            json_body_limit: parse_or(get, "JSON_BODY_LIMIT_BYTES", 64 * 1024)?,
            timeouts: Timeouts::from_env(get)?,
            workers: parse_or(get, "WORKERS", cpus)?.max(1),
            cors_allowed_origins,
            applications: ApplicationSettings::from_env(&get)?,
            mail: MailSettings::from_env(get)?,
            jobs: JobSettings::from_env(get)?,
            partners,
            metrics: MetricsSettings::from_env(&get)?,
            cache: CacheSettings::from_env(get)?,
            calendar: CalendarSettings::from_env(get)?,
        })
    }

    /// Settings for tests: a fixed secret, fast throttling windows, no environment read.
    #[allow(clippy::expect_used, reason = "test support: constant settings")]
    #[cfg(any(test, feature = "test-support"))]
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

/// A map of variables for the tests of each section.
#[cfg(test)]
fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_need_no_configuration() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert!(s.database_url.is_none());
        assert!(s.jwt.secret_generated);
        assert_eq!(s.jwt.secret.expose_secret().len(), 64);
        assert_eq!(s.listen_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(s.jwt.issuer, "http://localhost:8080");
        assert_eq!(s.jwt.access_ttl, Duration::from_secs(900));
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
    fn no_debug_output_shows_a_secret_setting() {
        let secrets = [
            ("DATABASE_URL", "postgres://u:db-password-7@db/x"),
            ("JWT_SECRET", "jwt-current-key-of-at-least-thirty-two-bytes"),
            (
                "JWT_PREVIOUS_SECRET",
                "jwt-previous-key-of-at-least-thirty-two-bytes",
            ),
            ("SMTP_PASSWORD", "smtp-password-of-the-relay"),
            ("METRICS_TOKEN", "metrics-token-0123456789abcdef0123"),
        ];
        let mut pairs = vec![
            ("SMTP_HOST", "smtp.ville.example"),
            ("SMTP_USERNAME", "passerelle"),
            ("METRICS_ACCESS", "token"),
        ];
        pairs.extend(secrets);
        let s = Settings::from_map(&env(&pairs)).unwrap();
        let shown = [
            format!("{s:?}"),
            format!("{:?}", s.jwt),
            format!("{:?}", s.mail),
            format!("{:?}", s.mail.smtp),
            format!("{:?}", s.metrics),
            format!("{:?}", s.database_url),
        ]
        .join("\n");
        assert!(shown.contains("smtp.ville.example"), "{shown}");
        for (name, value) in secrets {
            assert!(!shown.contains(value), "{name} shown: {shown}");
        }
        assert!(!shown.contains("db-password-7"), "{shown}");
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
}
