//! The background job queue: workers, polling and leases.

use super::parse::{parse_or, SettingsError};
use std::time::Duration;

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

impl JobSettings {
    /// `JOB_WORKERS`, `JOB_POLL_INTERVAL_MS` and `JOB_LEASE_SECONDS` (checked against
    /// `SMTP_TIMEOUT_SECONDS`).
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, SettingsError> {
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
}
