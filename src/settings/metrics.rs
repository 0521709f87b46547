//! Who may read `GET /metrics`.

use super::parse::{parse_cidrs, SettingsError};
use crate::proxies::Cidr;
use secrecy::SecretSlice;

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
    Token { sha256: SecretSlice<u8> },
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
                sha256: SecretSlice::from(Sha256::digest(token.as_bytes()).to_vec()),
            },
        }
    }

    pub(super) fn from_env<'a>(
        get: &impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, SettingsError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{env, Settings};

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
