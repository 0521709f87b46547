//! Applications: upload limits and the retention of what candidates send.

use super::parse::{parse_or, SettingsError};
use std::time::Duration;

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

impl ApplicationSettings {
    pub(super) fn from_env<'a>(
        get: &impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, SettingsError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{env, Settings};

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
}
