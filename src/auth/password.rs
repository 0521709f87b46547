//! Passwords: argon2id hashing off the actix workers with bounded concurrency, and the policy
//! for new passwords.

use super::strength;
use crate::{
    error::{ApiError, Code},
    validation::FieldError,
};
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
                Code::Busy,
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

/// A new password must take at least this many guesses (log10), estimated by
/// [`strength`](super::strength): zxcvbn's "very unguessable" score, enough against an
/// offline attack on the argon2id hash.
pub const MIN_LOG10_GUESSES: f64 = 10.0;

/// What a new password must not be built on: the account's name and email, the
/// organisation's words (`ORGANIZATION_NAME`, the host of `PUBLIC_BASE_URL`) and this year.
pub struct PasswordContext<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub organization_words: &'a [String],
    pub year: i32,
}

/// Checks a new password: its length, and how many guesses it would take an attacker who
/// tries breached passwords, the account's name and email, the organisation's name, years,
/// sequences and repeats, with capitals and leetspeak. A password that is weak only
/// because of the account's or the organisation's words is `contains_identity`, any
/// other weak one `too_common`.
pub fn check_password_policy(
    field: &str,
    password: &str,
    context: &PasswordContext,
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
    let email = context.email.to_lowercase();
    let local_part = email.split('@').next().unwrap_or_default();
    let mut identity = crate::words::identity_words(local_part);
    identity.push(local_part.to_owned());
    identity.extend(crate::words::identity_words(context.name));
    identity.extend(context.organization_words.iter().cloned());
    let without = strength::log10_guesses(password, &[], context.year);
    if without < MIN_LOG10_GUESSES {
        return fail(
            "too_common",
            "is too easy to guess (a common password, a year, a sequence or a repeat); \
             choose a longer phrase of unrelated words"
                .into(),
        );
    }
    if password.to_lowercase() == email
        || strength::log10_guesses(password, &identity, context.year) < MIN_LOG10_GUESSES
    {
        return fail(
            "contains_identity",
            "is built on your name, your email address or the organisation's name; \
             choose a longer phrase of unrelated words"
                .into(),
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

    fn context(words: &[String]) -> PasswordContext<'_> {
        PasswordContext {
            email: "marie.curie@ville.fr",
            name: "Marie Curie",
            organization_words: words,
            year: 2026,
        }
    }

    #[test]
    fn policy_refuses_short_common_and_identity_passwords() {
        let words = crate::words::identity_words("Ville de Grenoble");
        let check = |pw: &str| check_password_policy("password", pw, &context(&words));
        let code = |pw: &str| match check(pw) {
            Err(e) => e.problem().errors[0].code.clone(),
            Ok(()) => panic!("{pw} was accepted"),
        };
        assert_eq!(code("short"), "too_short");
        assert_eq!(code("Password1234"), "too_common");
        assert_eq!(code("aaaaaaaaaaaaaaaa"), "too_common");
        assert_eq!(code("marie.curie@ville.fr"), "contains_identity");
        assert_eq!(code("xxmarie.curiexx"), "contains_identity");
        assert_eq!(code("MarieCurie1867!"), "contains_identity");
        assert_eq!(code("Azerty123456!"), "too_common");
        assert_eq!(code("Grenoble2026!"), "too_common");
        assert_eq!(code(&"x".repeat(300)), "too_long");
        assert!(check("vélo orange sous la pluie").is_ok());
    }
}
