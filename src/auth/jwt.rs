//! Staff access tokens: HS256 JWTs with every registered claim required and checked.

use super::role::Role;
use crate::settings::{JwtSettings, SettingsError};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The one algorithm tokens are signed and accepted with; `alg` in a token is not trusted.
const ALGORITHM: Algorithm = Algorithm::HS256;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The staff user's id.
    pub sub: Uuid,
    /// The session the token belongs to; revoking it ends the token early.
    pub sid: Uuid,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The key before the last rotation (`JWT_PREVIOUS_SECRET`): verifies, never signs.
    previous: Option<DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(settings: &JwtSettings) -> Result<Self, SettingsError> {
        if settings.secret.expose_secret().len() < crate::settings::MIN_JWT_SECRET_BYTES {
            return Err(SettingsError("JWT secret too short".into()));
        }
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        // The times are checked in `verify` against the application's clock, the only clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = true;
        validation.leeway = 0;
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(settings.secret.expose_secret()),
            decoding: DecodingKey::from_secret(settings.secret.expose_secret()),
            previous: settings
                .previous_secret
                .as_ref()
                .map(|key| DecodingKey::from_secret(key.expose_secret())),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl_secs: settings.access_ttl.as_secs() as i64,
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Signs an access token valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat,
            nbf: iat,
            exp: iat + self.ttl_secs,
            jti: Uuid::new_v4(),
        };
        jsonwebtoken::encode(&Header::new(ALGORITHM), &claims, &self.encoding)
    }

    /// Checks signature, algorithm, `iss`, `aud` and every claim's presence; refuses a `crit`
    /// header (RFC 7515 4.1.11: we understand no extension); then the times against `now`,
    /// the application's clock, with no leeway: `nbf` and `iat` not after it, `exp` after it.
    pub fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Claims, jsonwebtoken::errors::Error> {
        use jsonwebtoken::errors::ErrorKind;
        let data = match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            // Signed before the last rotation: the previous key may still vouch for it; every
            // other check is the same.
            Err(e)
                if matches!(e.kind(), ErrorKind::InvalidSignature) && self.previous.is_some() =>
            {
                let previous = self.previous.as_ref().unwrap_or(&self.decoding);
                jsonwebtoken::decode::<Claims>(token, previous, &self.validation)?
            }
            other => other?,
        };
        if data.header.crit.is_some() {
            return Err(ErrorKind::InvalidToken.into());
        }
        let (claims, now) = (data.claims, now.timestamp());
        if claims.exp <= now {
            return Err(ErrorKind::ExpiredSignature.into());
        }
        if claims.nbf > now || claims.iat > now {
            return Err(ErrorKind::ImmatureSignature.into());
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(secret: &str) -> JwtSettings {
        JwtSettings {
            secret: secret.as_bytes().to_vec().into(),
            secret_generated: false,
            previous_secret: None,
            issuer: "https://city.example".into(),
            audience: "passerelle-staff".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(86400),
        }
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn issued_tokens_verify() {
        let keys = JwtKeys::new(&settings(SECRET)).unwrap();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = keys
            .issue(user, session, Role::Manager, Utc::now())
            .unwrap();
        let claims = keys.verify(&token, Utc::now()).unwrap();
        assert_eq!(
            (claims.sub, claims.sid, claims.role),
            (user, session, Role::Manager)
        );
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_future_and_foreign_tokens_fail() {
        let keys = JwtKeys::new(&settings(SECRET)).unwrap();
        let now = Utc::now();
        let issued_at = |t| {
            keys.issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, t)
                .unwrap()
        };
        let old = issued_at(now - chrono::Duration::seconds(901));
        assert!(keys.verify(&old, now).is_err(), "expired");
        let future = issued_at(now + chrono::Duration::seconds(60));
        assert!(keys.verify(&future, now).is_err(), "not yet valid");
        let other = JwtKeys::new(&settings("another-secret-of-at-least-32-bytes")).unwrap();
        let foreign = other
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, now)
            .unwrap();
        assert!(
            keys.verify(&foreign, now).is_err(),
            "signed with another key"
        );
    }

    #[test]
    fn the_times_are_read_on_the_given_clock_not_the_system_one() {
        let keys = JwtKeys::new(&settings(SECRET)).unwrap();
        // Two years ahead of the system clock, as a moved test clock or a faked date.
        let later = Utc::now() + chrono::Duration::days(730);
        let token = keys
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, later)
            .unwrap();
        assert!(keys.verify(&token, later).is_ok());
        assert!(keys.verify(&token, Utc::now()).is_err());
        assert!(keys
            .verify(&token, later + chrono::Duration::seconds(900))
            .is_err());
    }

    fn sign(header: &Header, claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
    }

    fn claims_at(iat: i64, nbf: i64, exp: i64) -> serde_json::Value {
        serde_json::json!({
            "sub": Uuid::new_v4(), "sid": Uuid::new_v4(), "role": "admin",
            "iss": "https://city.example", "aud": "passerelle-staff",
            "iat": iat, "nbf": nbf, "exp": exp, "jti": Uuid::new_v4(),
        })
    }

    #[test]
    fn a_future_iat_is_refused() {
        let keys = JwtKeys::new(&settings(SECRET)).unwrap();
        let now = Utc::now().timestamp();
        let good = sign(&Header::new(ALGORITHM), &claims_at(now, now, now + 600));
        assert!(keys.verify(&good, Utc::now()).is_ok());
        let future_iat = sign(
            &Header::new(ALGORITHM),
            &claims_at(now + 60, now, now + 600),
        );
        assert!(keys.verify(&future_iat, Utc::now()).is_err());
    }

    #[test]
    fn a_crit_header_is_refused() {
        let keys = JwtKeys::new(&settings(SECRET)).unwrap();
        let now = Utc::now().timestamp();
        let mut header = Header::new(ALGORITHM);
        header.crit = Some(vec!["exp".into()]);
        let token = sign(&header, &claims_at(now, now, now + 600));
        assert!(keys.verify(&token, Utc::now()).is_err());
    }

    #[test]
    fn after_a_rotation_the_previous_key_verifies_but_never_signs() {
        const NEW: &str = "fedcba9876543210fedcba9876543210";
        let before = JwtKeys::new(&settings(SECRET)).unwrap();
        let mut rotated = settings(NEW);
        rotated.previous_secret = Some(SECRET.as_bytes().to_vec().into());
        let after = JwtKeys::new(&rotated).unwrap();
        let now = Utc::now();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());

        let old_token = before.issue(user, session, Role::Admin, now).unwrap();
        assert_eq!(after.verify(&old_token, now).unwrap().sub, user);
        // The old key still gets every other check: an expired old token stays expired.
        let late = now + chrono::Duration::seconds(901);
        assert!(matches!(
            after.verify(&old_token, late).unwrap_err().kind(),
            jsonwebtoken::errors::ErrorKind::ExpiredSignature
        ));
        // New tokens are signed with the new key only.
        let new_token = after.issue(user, session, Role::Admin, now).unwrap();
        assert!(before.verify(&new_token, now).is_err());
        assert!(JwtKeys::new(&settings(NEW))
            .unwrap()
            .verify(&new_token, now)
            .is_ok());
        // Once the previous key is removed, the old tokens stop working.
        assert!(matches!(
            JwtKeys::new(&settings(NEW))
                .unwrap()
                .verify(&old_token, now)
                .unwrap_err()
                .kind(),
            jsonwebtoken::errors::ErrorKind::InvalidSignature
        ));
        // A key nobody configured is refused whatever the previous key is.
        let stranger = JwtKeys::new(&settings("0000000000000000ffffffffffffffff")).unwrap();
        let forged = stranger.issue(user, session, Role::Admin, now).unwrap();
        assert!(after.verify(&forged, now).is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtKeys::new(&settings("short")).is_err());
    }
}
