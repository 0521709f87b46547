//! The HTTP server's timeouts.

use super::parse::{parse_or, SettingsError};
use std::time::Duration;

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

impl Timeouts {
    /// `REQUEST_TIMEOUT_SECONDS`, `CLIENT_HEADER_TIMEOUT_SECONDS`, `KEEP_ALIVE_SECONDS` and
    /// `SHUTDOWN_TIMEOUT_SECONDS`, each at least 1.
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, SettingsError> {
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
}
