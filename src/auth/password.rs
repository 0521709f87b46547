//! Passwords: argon2id hashing off the actix workers with bounded concurrency, and the policy
//! for new passwords.

use crate::error::{ApiError, FieldError};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, SaltString},
    Argon2, PasswordHasher as _, PasswordVerifier,
};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

pub const MIN_PASSWORD_CHARS: usize = 12;
/// argon2 hashes whatever it is given; a cap keeps one request from costing much more.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Hashes and verifies on the blocking pool, at most `concurrency` at a time, so a burst of
/// logins queues instead of starving the workers or the machine's memory (19 MiB each).
/// A request waits at most `max_wait` for a slot (the request deadline), then gets 503.
#[derive(Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    max_wait: std::time::Duration,
}

impl PasswordHasher {
    pub fn new(concurrency: usize, max_wait: std::time::Duration) -> Self {
        PasswordHasher {
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            max_wait,
        }
    }

    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        match tokio::time::timeout(self.max_wait, self.slots.acquire()).await {
            Ok(permit) => permit.map_err(ApiError::internal),
            Err(_) => Err(ApiError::service_unavailable(
                "busy",
                "Too many sign-ins at once; retry shortly.",
            )
            .with_retry_after(1)),
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let _slot = self.slot().await?;
        actix_web::web::block(move || hash_password(&password)).await?
    }

    /// Verifies `password` against `hash`; with no hash (unknown account) it does the same
    /// work against a dummy hash so that both cases take the same time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let _slot = self.slot().await?;
        let ok = actix_web::web::block(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                verify_password(&password, dummy_hash());
                false
            }
        })
        .await?;
        Ok(ok)
    }
}

/// argon2id with the crate's defaults (OWASP's recommendation: m=19 MiB, t=2, p=1).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("argon2: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            log::error!("stored password hash is unreadable: {e}");
            false
        }
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password, only for timing").unwrap_or_default())
}

/// Passwords seen most often in breaches (of at least 12 characters, as shorter ones are
/// refused anyway), compared case-insensitively.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Checks a new password: length, not a common one, not the account's email or name.
pub fn check_password_policy(
    field: &str,
    password: &str,
    email: &str,
    name: &str,
) -> Result<(), ApiError> {
    let chars = password.chars().count();
    let fail = |code: &str, message: String| {
        Err(ApiError::validation(vec![FieldError::new(
            field, code, message,
        )]))
    };
    if chars < MIN_PASSWORD_CHARS {
        return fail(
            "too_short",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        );
    }
    if chars > MAX_PASSWORD_CHARS {
        return fail(
            "too_long",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        );
    }
    let lowered = password.to_lowercase();
    let distinct: std::collections::HashSet<char> = lowered.chars().collect();
    let is_common = COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .any(|common| !common.is_empty() && common == lowered);
    if is_common || distinct.len() < 4 {
        return fail(
            "too_common",
            "is too common or too simple; choose a longer phrase of unrelated words".into(),
        );
    }
    let email_lower = email.to_lowercase();
    let local_part = email_lower.split('@').next().unwrap_or_default();
    if lowered == email_lower
        || (local_part.len() >= 4 && lowered.contains(local_part))
        || (!name.trim().is_empty() && lowered == name.trim().to_lowercase())
    {
        return fail(
            "contains_identity",
            "must not be your email address or your name".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_sign_in_waits_for_a_slot_no_longer_than_the_deadline() {
        let hasher = PasswordHasher::new(1, std::time::Duration::from_millis(50));
        let held = hasher.slots.clone().acquire_owned().await.unwrap();
        let err = hasher.verify("x".into(), None).await.unwrap_err();
        assert_eq!(err.problem().code, "busy");
        assert_eq!(err.problem().status, 503);
        drop(held);
        assert!(!hasher.verify("x".into(), None).await.unwrap());
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &hash));
        assert!(!verify_password("wrong horse battery staple", &hash));
        assert!(!verify_password("anything", "not-a-hash"));
    }

    #[test]
    fn policy_refuses_short_common_and_identity_passwords() {
        let check =
            |pw| check_password_policy("password", pw, "marie.curie@ville.fr", "Marie Curie");
        assert_eq!(check("short").unwrap_err().code(), "validation_failed");
        assert!(check("Password1234").is_err(), "common");
        assert!(
            check("aaaaaaaaaaaaaaaa").is_err(),
            "too few distinct characters"
        );
        assert!(check("marie.curie@ville.fr").is_err(), "email");
        assert!(check("xxmarie.curiexx").is_err(), "contains the local part");
        let long = "x".repeat(300);
        assert!(check(&long).is_err(), "too long");
        assert!(check("vélo orange sous la pluie").is_ok());
    }
}
