//! Partner API keys: how they are made and kept (`ppk_<8 characters>_<secret>`, only a
//! SHA-256 stored), and `PartnerAuth`, the extractor every partner route starts with. It also
//! counts the request against the partner's rate limit, in the database, so several
//! instances share one budget.

use super::model;
use crate::{
    error::{ApiError, Code},
    state::AppState,
};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::LocalBoxFuture;
use std::time::Duration;
use uuid::Uuid;

/// What every partner key starts with, so that it is recognisable in a config file or a leak
/// report, and never mistaken for a staff token (`eyJ...`) or a tracking token (`pct_...`).
pub const KEY_PREFIX: &str = "ppk_";

/// A new key, as shown once to the admin, and what is stored of it.
pub struct NewKey {
    /// The whole key: `ppk_<8 hex>_<43 base64url characters (256 random bits)>`.
    pub key: String,
    /// `ppk_<8 hex>`: not secret, shown in lists to tell keys apart.
    pub prefix: String,
    pub hash: Vec<u8>,
}

pub fn generate_key() -> NewKey {
    let mut id = [0u8; 4];
    let mut secret = [0u8; 32];
    rand::fill(&mut id);
    rand::fill(&mut secret);
    let prefix = format!("{KEY_PREFIX}{}", hex::encode(id));
    let key = format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = hash_key(&key);
    NewKey { key, prefix, hash }
}

/// Keys are high-entropy random values: a plain SHA-256 is enough to make a stolen table
/// useless, and a lookup by hash needs no comparison in constant time.
pub fn hash_key(key: &str) -> Vec<u8> {
    crate::http::token_hash(key)
}

/// The fixed window `now` falls in, and the seconds left until it ends.
pub fn rate_window(now: DateTime<Utc>, window: Duration) -> (DateTime<Utc>, u64) {
    let len = i64::try_from(window.as_micros()).unwrap_or(i64::MAX).max(1);
    let micros = now.timestamp_micros();
    let start = micros - micros.rem_euclid(len);
    let left_micros = start + len - micros;
    let start = DateTime::from_timestamp_micros(start).unwrap_or(now);
    let left_secs = u64::try_from(left_micros).unwrap_or(0).div_ceil(1_000_000);
    (start, left_secs.max(1))
}

/// The partner whose key the request carries, after its request was counted.
#[derive(Debug, Clone)]
pub struct PartnerAuth {
    pub partner_id: Uuid,
    pub key_id: Uuid,
    pub slug: String,
}

fn invalid_key() -> ApiError {
    ApiError::unauthorized(
        Code::InvalidPartnerKey,
        "This partner API key is unknown, expired or revoked, or its partner is deactivated.",
    )
}

impl FromRequest for PartnerAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = crate::auth::bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("AppState is not registered"))?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized(
                    Code::Unauthenticated,
                    "This route needs a partner API key (Authorization: Bearer ppk_...).",
                )
            })?;
            // Staff access tokens and tracking tokens are not partner keys.
            if !token.starts_with(KEY_PREFIX) {
                return Err(invalid_key());
            }
            let hash = hash_key(&token);
            let now = state.now();
            let (limit, window) = (
                state.settings.partners.rate_limit,
                state.settings.partners.rate_window,
            );
            let (window_start, retry_after) = rate_window(now, window);
            let (auth, count) = state
                .db(move |conn| {
                    let Some((key, partner)) = model::find_key(conn, &hash)? else {
                        return Err(invalid_key());
                    };
                    if !partner.active || !key.is_valid_at(now) {
                        return Err(invalid_key());
                    }
                    model::touch_key(conn, key.id, now)?;
                    let count = model::count_request(conn, partner.id, window_start)?;
                    let auth = PartnerAuth {
                        partner_id: partner.id,
                        key_id: key.id,
                        slug: partner.slug,
                    };
                    Ok((auth, count))
                })
                .await?;
            if count > limit {
                log::info!(
                    "partner {} throttled: {count} requests in the window",
                    auth.partner_id
                );
                return Err(ApiError::too_many_requests(retry_after));
            }
            Ok(auth)
        })
    }
}

/// `now` plus whole hours, saturating.
pub fn hours_after(now: DateTime<Utc>, hours: i64) -> DateTime<Utc> {
    TimeDelta::try_hours(hours)
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_a_visible_prefix_and_are_stored_as_hashes() {
        let k = generate_key();
        assert!(k.key.starts_with(&k.prefix));
        assert_eq!(k.prefix.len(), 12);
        assert!(k.prefix.starts_with("ppk_"));
        assert_eq!(k.key.len(), 12 + 1 + 43);
        assert_eq!(k.hash, hash_key(&k.key));
        assert_ne!(generate_key().key, k.key);
    }

    #[test]
    fn windows_are_aligned_and_say_how_long_is_left() {
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let minute = Duration::from_secs(60);
        assert_eq!(rate_window(at(120), minute), (at(120), 60));
        assert_eq!(rate_window(at(179), minute), (at(120), 1));
        let half = DateTime::from_timestamp_micros(150_500_000).unwrap();
        assert_eq!(rate_window(half, minute), (at(120), 30));
    }
}
