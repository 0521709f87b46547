//! Typed settings, read once from the environment (and `.env`), validated before anything binds.
//!
//! Every variable the service reads is listed in [`Settings::from_env`] with its default; the
//! README and `.env.example` document the same list.

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
    pub jwt: JwtSettings,
    /// `DATABASE_POOL_SIZE` (default 10).
    pub pool_size: u32,
    /// `DATABASE_TIMEOUT_SECONDS` (default 5): waiting for a pooled connection.
    pub database_timeout: Duration,
    pub login_throttle: LoginThrottle,
    /// `PASSWORD_HASH_CONCURRENCY` (default: number of CPUs): argon2 runs at once.
    pub password_hash_concurrency: usize,
    /// `TRUST_FORWARDED_FOR` (default false): take the client address from
    /// `Forwarded`/`X-Forwarded-For`; only behind a proxy that sets them.
    pub trust_forwarded_for: bool,
    /// `JSON_BODY_LIMIT_BYTES` (default 65536).
    pub json_body_limit: usize,
    /// `WORKERS` (default: number of CPUs).
    pub workers: usize,
    pub applications: ApplicationSettings,
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
}

#[derive(Clone)]
pub struct JwtSettings {
    /// `JWT_SECRET`: HS256 key, at least 32 bytes. When unset a random key is made for this
    /// process only (tokens do not survive a restart); a warning says so.
    pub secret: Vec<u8>,
    pub secret_generated: bool,
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
    /// `LOGIN_MAX_FAILURES` (default 5) failures per account or per client address...
    pub max_failures: i64,
    /// ...within `LOGIN_FAILURE_WINDOW_SECONDS` (default 900).
    pub window: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct SettingsError(pub String);

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

        let pool_size = parse_or(get, "DATABASE_POOL_SIZE", 10u32)?;
        if pool_size == 0 {
            return Err(SettingsError(
                "DATABASE_POOL_SIZE must be at least 1".into(),
            ));
        }
        let max_failures = parse_or(get, "LOGIN_MAX_FAILURES", 5i64)?;
        if max_failures < 1 {
            return Err(SettingsError(
                "LOGIN_MAX_FAILURES must be at least 1".into(),
            ));
        }

        Ok(Settings {
            database_url: get("DATABASE_URL").map(str::to_owned),
            data_dir: PathBuf::from(get("DATA_DIR").unwrap_or("./data")),
            listen_addr: parse_or(get, "LISTEN_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
            jwt: JwtSettings {
                secret,
                secret_generated,
                issuer: get("JWT_ISSUER").unwrap_or(&public_base_url).to_owned(),
                audience: get("JWT_AUDIENCE").unwrap_or("passerelle-staff").to_owned(),
                access_ttl: Duration::from_secs(access_ttl),
                refresh_ttl: Duration::from_secs(refresh_ttl),
            },
            public_base_url,
            pool_size,
            database_timeout: Duration::from_secs(parse_or(get, "DATABASE_TIMEOUT_SECONDS", 5)?),
            login_throttle: LoginThrottle {
                max_failures,
                window: Duration::from_secs(parse_or(get, "LOGIN_FAILURE_WINDOW_SECONDS", 900)?),
            },
            password_hash_concurrency: parse_or(get, "PASSWORD_HASH_CONCURRENCY", cpus)?.max(1),
            trust_forwarded_for: parse_or(get, "TRUST_FORWARDED_FOR", false)?,
            json_body_limit: parse_or(get, "JSON_BODY_LIMIT_BYTES", 64 * 1024)?,
            workers: parse_or(get, "WORKERS", cpus)?.max(1),
            applications: ApplicationSettings::from_env(&get)?,
        })
    }

    /// Settings for tests: a fixed secret, fast throttling windows, no environment read.
    pub fn for_tests(database_url: &str) -> Self {
        let mut env = HashMap::new();
        env.insert("DATABASE_URL".into(), database_url.into());
        env.insert(
            "JWT_SECRET".into(),
            "test-secret-that-is-long-enough-for-hs256!".into(),
        );
        env.insert("DATABASE_POOL_SIZE".into(), "4".into());
        env.insert("DATABASE_TIMEOUT_SECONDS".into(), "2".into());
        Self::from_map(&env).expect("test settings are valid")
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
        };
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
    fn debug_output_hides_secrets() {
        let s = Settings::from_map(&env(&[
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("JWT_SECRET", "a-very-long-secret-value-for-testing-only"),
        ]))
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("a-very-long-secret"));
    }
}
