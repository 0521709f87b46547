//! Request budgets: per-address rate limits of the public routes and the login failure
//! throttle.

use super::parse::{parse_or, SettingsError};
use std::time::Duration;

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

impl LoginThrottle {
    /// `LOGIN_MAX_FAILURES`, `LOGIN_ADDRESS_MAX_FAILURES`, `LOGIN_ACCOUNT_MAX_FAILURES` and
    /// `LOGIN_FAILURE_WINDOW_SECONDS`.
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, SettingsError> {
        let max_failures = parse_or(&get, "LOGIN_MAX_FAILURES", 5i64)?;
        // Unset, the larger budgets are never below the pair's.
        let address_max_failures =
            parse_or(&get, "LOGIN_ADDRESS_MAX_FAILURES", 20i64.max(max_failures))?;
        let account_max_failures =
            parse_or(&get, "LOGIN_ACCOUNT_MAX_FAILURES", 50i64.max(max_failures))?;
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
        Ok(LoginThrottle {
            max_failures,
            address_max_failures,
            account_max_failures,
            window: Duration::from_secs(parse_or(&get, "LOGIN_FAILURE_WINDOW_SECONDS", 900)?),
        })
    }
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

    pub(super) fn from_env<'a>(
        get: &impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, SettingsError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{env, Settings};

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
}
