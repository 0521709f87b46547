//! The response cache of the public reads (`src/public_cache.rs`).

use super::parse::{parse_or, SettingsError};
use std::time::Duration;

/// `PUBLIC_CACHE_BYTES` and `CACHE_MAX_STALENESS_MS`.
#[derive(Clone, Copy, Debug)]
pub struct CacheSettings {
    /// `PUBLIC_CACHE_BYTES` (default 33554432, 32 MiB; 0 turns the cache off): what the
    /// finished public responses kept by one instance may weigh, bodies and keys counted.
    pub bytes: u64,
    /// `CACHE_MAX_STALENESS_MS` (default 1000, from 100 to 60000): the longest this
    /// instance serves a public response after the catalogue changed on another instance
    /// when the change's notification is lost. Notifications normally arrive within
    /// 50 ms; the version is re-read at half this interval.
    pub max_staleness: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            bytes: 32 * 1024 * 1024,
            max_staleness: Duration::from_millis(1000),
        }
    }
}

impl CacheSettings {
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, SettingsError> {
        let defaults = CacheSettings::default();
        let bytes = parse_or(&get, "PUBLIC_CACHE_BYTES", defaults.bytes)?;
        let millis: u64 = parse_or(&get, "CACHE_MAX_STALENESS_MS", 1000)?;
        if !(100..=60_000).contains(&millis) {
            return Err(SettingsError(
                "CACHE_MAX_STALENESS_MS must be from 100 to 60000".into(),
            ));
        }
        Ok(CacheSettings {
            bytes,
            max_staleness: Duration::from_millis(millis),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<CacheSettings, SettingsError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CacheSettings::from_env(|name| env.get(name).map(String::as_str))
    }

    #[test]
    fn defaults_bounds_and_off() {
        let d = parse(&[]).unwrap();
        assert_eq!(d.bytes, 32 * 1024 * 1024);
        assert_eq!(d.max_staleness, Duration::from_secs(1));
        assert_eq!(parse(&[("PUBLIC_CACHE_BYTES", "0")]).unwrap().bytes, 0);
        assert_eq!(
            parse(&[("CACHE_MAX_STALENESS_MS", "250")])
                .unwrap()
                .max_staleness,
            Duration::from_millis(250)
        );
        for bad in ["0", "99", "60001", "soon"] {
            assert!(parse(&[("CACHE_MAX_STALENESS_MS", bad)]).is_err(), "{bad}");
        }
        assert!(parse(&[("PUBLIC_CACHE_BYTES", "-1")]).is_err());
    }
}
