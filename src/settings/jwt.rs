//! `JWT_*` and the token lifetimes: the HS256 keys staff tokens are signed and verified with.

use super::parse::{parse_or, SettingsError};
use secrecy::{ExposeSecret, SecretSlice};
use std::time::Duration;

/// Minimum length of `JWT_SECRET`, in bytes: HS256 keys shorter than the hash are weak.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// `Debug` is derived: the secrets are `secrecy` types, shown as `[REDACTED]`.
#[derive(Clone, Debug)]
pub struct JwtSettings {
    /// `JWT_SECRET`: HS256 key, at least 32 bytes. When unset a random key is made for this
    /// process only (tokens do not survive a restart); a warning says so.
    pub secret: SecretSlice<u8>,
    pub secret_generated: bool,
    /// `JWT_PREVIOUS_SECRET`: the key before the last rotation, still accepted for verifying
    /// (never for signing), so a rotation logs nobody out. Remove it once the longest access
    /// token lifetime has passed since the rotation.
    pub previous_secret: Option<SecretSlice<u8>>,
    /// `JWT_ISSUER` (default: `PUBLIC_BASE_URL`).
    pub issuer: String,
    /// `JWT_AUDIENCE` (default `passerelle-staff`).
    pub audience: String,
    /// `ACCESS_TOKEN_TTL_SECONDS` (default 900, at most 3600).
    pub access_ttl: Duration,
    /// `REFRESH_TOKEN_TTL_SECONDS` (default 1209600, 14 days).
    pub refresh_ttl: Duration,
}

impl JwtSettings {
    /// `JWT_SECRET` (`raw_secret`, as written), `JWT_PREVIOUS_SECRET`, `JWT_ISSUER`,
    /// `JWT_AUDIENCE` and the token lifetimes.
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
        raw_secret: Option<&str>,
        public_base_url: &str,
    ) -> Result<Self, SettingsError> {
        let (secret, secret_generated) = match raw_secret {
            Some(s) if s.len() < MIN_JWT_SECRET_BYTES => {
                return Err(SettingsError(format!(
                    "JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes (it has {})",
                    s.len()
                )))
            }
            Some(s) => (SecretSlice::from(s.as_bytes().to_vec()), false),
            None => {
                let mut key = vec![0u8; 64];
                rand::fill(&mut key[..]);
                (SecretSlice::from(key), true)
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
            Some(s) if s.as_bytes() == secret.expose_secret() => {
                return Err(SettingsError(
                    "JWT_PREVIOUS_SECRET is the same as JWT_SECRET: after a rotation it holds \
                     the old key"
                        .into(),
                ))
            }
            Some(s) => Some(SecretSlice::from(s.as_bytes().to_vec())),
        };

        let access_ttl = parse_or(&get, "ACCESS_TOKEN_TTL_SECONDS", 900u64)?;
        if !(30..=3600).contains(&access_ttl) {
            return Err(SettingsError(
                "ACCESS_TOKEN_TTL_SECONDS must be between 30 and 3600".into(),
            ));
        }
        let refresh_ttl = parse_or(&get, "REFRESH_TOKEN_TTL_SECONDS", 14 * 24 * 3600u64)?;
        if refresh_ttl <= access_ttl {
            return Err(SettingsError(
                "REFRESH_TOKEN_TTL_SECONDS must be longer than ACCESS_TOKEN_TTL_SECONDS".into(),
            ));
        }
        Ok(JwtSettings {
            secret,
            secret_generated,
            previous_secret,
            issuer: get("JWT_ISSUER").unwrap_or(public_base_url).to_owned(),
            audience: get("JWT_AUDIENCE").unwrap_or("passerelle-staff").to_owned(),
            access_ttl: Duration::from_secs(access_ttl),
            refresh_ttl: Duration::from_secs(refresh_ttl),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{env, Settings};

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
            s.jwt.previous_secret.as_ref().map(|k| k.expose_secret()),
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
}
