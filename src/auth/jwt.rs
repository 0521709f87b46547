//! Staff access tokens: HS256 JWTs with every registered claim required and checked.

use super::Role;
use crate::settings::{JwtSettings, SettingsError};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
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
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(settings: &JwtSettings) -> Result<Self, SettingsError> {
        if settings.secret.len() < crate::settings::MIN_JWT_SECRET_BYTES {
            return Err(SettingsError("JWT secret too short".into()));
        }
        let mut validation = Validation::new(ALGORITHM);
        validation.algorithms = vec![ALGORITHM];
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = 0;
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(&settings.secret),
            decoding: DecodingKey::from_secret(&settings.secret),
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

    /// Checks signature, algorithm, `exp`, `nbf`, `iss`, `aud` and the presence of `iat`/`sub`.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(secret: &str) -> JwtSettings {
        JwtSettings {
            secret: secret.as_bytes().to_vec(),
            secret_generated: false,
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
        let claims = keys.verify(&token).unwrap();
        assert_eq!(
            (claims.sub, claims.sid, claims.role),
            (user, session, Role::Manager)
        );
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_future_and_foreign_tokens_fail() {
        let keys = JwtKeys::new(&settings(SECRET)).unwrap();
        let old = keys
            .issue(
                Uuid::new_v4(),
                Uuid::new_v4(),
                Role::Admin,
                Utc::now() - chrono::Duration::seconds(901),
            )
            .unwrap();
        assert!(keys.verify(&old).is_err(), "expired");
        let future = keys
            .issue(
                Uuid::new_v4(),
                Uuid::new_v4(),
                Role::Admin,
                Utc::now() + chrono::Duration::seconds(60),
            )
            .unwrap();
        assert!(keys.verify(&future).is_err(), "not yet valid");
        let other = JwtKeys::new(&settings("another-secret-of-at-least-32-bytes")).unwrap();
        let foreign = other
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Admin, Utc::now())
            .unwrap();
        assert!(keys.verify(&foreign).is_err(), "signed with another key");
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtKeys::new(&settings("short")).is_err());
    }
}
