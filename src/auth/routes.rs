//! `/api/v1/auth/*`: login, refresh-token rotation, logout, who am I, password change.

use super::{
    model::{self, StaffUser},
    password::{check_password_policy, PasswordContext},
    throttle, AuthUser, Role,
};
use crate::http::JsonBody;
use crate::{
    audit,
    error::{ApiError, Code, Problem},
    http::{client_address, opaque_token, token_hash},
    ratelimit::Policy,
    state::AppState,
};
use actix_web::{get, http::header, post, web, HttpRequest, HttpResponse};
use chrono::{Datelike, Duration};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(me)
        .service(change_password);
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 254))]
    #[schema(example = "admin@ville.example", max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 256))]
    #[schema(example = "a long passphrase", max_length = 256)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 256))]
    #[schema(max_length = 256)]
    pub refresh_token: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Opaque, single-use: exchange it at `/api/v1/auth/refresh` for a new pair.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Lifetime of the access token, in seconds.
    #[schema(example = 900)]
    pub expires_in: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: Uuid,
    #[schema(example = "admin@ville.example")]
    pub email: String,
    #[schema(example = "Camille Martin")]
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ChangePasswordRequest {
    #[validate(length(min = 1, max = 256))]
    #[schema(max_length = 256)]
    pub current_password: String,
    /// At least 12 characters, not a common password, not your email or name.
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized(
        Code::InvalidCredentials,
        "The email or the password is incorrect.",
    )
}

/// A new opaque refresh token and the hash stored for it.
fn new_refresh_token() -> (String, Vec<u8>) {
    let token = opaque_token("prt_");
    let hash = token_hash(&token);
    (token, hash)
}

fn token_response(body: TokenResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// What a successful login settles with the throttle: the failures it reserved are taken
/// back, its (account, address) pair starts afresh and the address becomes known.
struct LoginSuccess {
    reserved: Vec<i64>,
    email: String,
    /// The throttle's key for the account ([`throttle::account_key`]).
    account_key: String,
    address_key: String,
}

/// Takes back the failures reserved for an attempt that got no verdict, and answers `error`.
async fn release_after(state: &AppState, reserved: Vec<i64>, error: ApiError) -> ApiError {
    match state
        .db(move |conn| Ok(throttle::release(conn, &reserved)?))
        .await
    {
        Ok(()) => error,
        Err(release_error) => release_error,
    }
}

/// Opens a session for `user` and returns its first token pair.
async fn start_session(
    state: &AppState,
    user: &StaffUser,
    role: Role,
    success: LoginSuccess,
) -> Result<TokenResponse, ApiError> {
    let now = state.now();
    let expires_at =
        now + Duration::from_std(state.settings.jwt.refresh_ttl).map_err(ApiError::internal)?;
    let (refresh_token, refresh_hash) = new_refresh_token();
    let user_id = user.id;
    let session_id = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let session_id = model::create_session(conn, user_id, now, expires_at)?;
                model::insert_refresh_token(conn, &refresh_hash, session_id, now, expires_at)?;
                throttle::release(conn, &success.reserved)?;
                throttle::clear(
                    conn,
                    &throttle::pair_subject(&success.account_key, &success.address_key),
                )?;
                throttle::remember_address(conn, &success.email, &success.address_key, now)?;
                audit::Audit::staff(user_id)
                    .did("auth.login")
                    .on("staff_session", session_id)
                    .record(conn, now)?;
                Ok(session_id)
            })
        })
        .await?;
    let access_token = state
        .jwt
        .issue(user_id, session_id, role, now)
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_secs(),
    })
}

/// Log in with email and password.
///
/// Unknown accounts and wrong passwords get the same answer. After repeated failures for one
/// account from one address, from one address, or for one account (except from an address it
/// logged in from recently), attempts are refused with 429 and `Retry-After` before the
/// password is checked; so are all attempts from an address beyond the `login` rate limit.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts (`too_many_requests`), or too many attempts from this address (`rate_limited`, policy `login`); see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.take()?;
    // Every attempt counts, on top of the failure throttling below.
    state.rate_limit(&req, Policy::Login).await?;
    body.validate()?;
    let LoginRequest { email, password } = body;
    let address_key = crate::http::client_key(&client_address(&req, &state.settings));
    let (rule, now) = (state.settings.login_throttle, state.now());

    // The attempt is counted before the password is verified, so parallel attempts verify no
    // more passwords than the budgets allow.
    let (lookup_email, lookup_key) = (email.clone(), address_key.clone());
    let (user, reserved) = state
        .db(move |conn| {
            let user = model::find_by_email(conn, &lookup_email)?;
            let account = throttle::account_key(&lookup_email, user.as_ref().map(|u| u.id));
            let known = throttle::is_known_address(conn, &lookup_email, &lookup_key, now)?;
            let budgets = throttle::login_budgets(&account, &lookup_key, rule, known);
            let reserved = throttle::reserve(conn, &budgets, rule.window, now)?
                .map_err(ApiError::too_many_requests)?;
            Ok((user, reserved))
        })
        .await?;

    // The hash is checked even for a deactivated account, so timing tells nothing.
    let password_ok = match state
        .passwords
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await
    {
        Ok(ok) => ok,
        // No verdict (503 busy: no argon2 slot in time): the attempt is not a failure.
        Err(e) => return Err(release_after(&state, reserved, e).await),
    };
    match user {
        Some(user) if password_ok && user.active => {
            let success = LoginSuccess {
                reserved,
                account_key: throttle::account_key(&email, Some(user.id)),
                email,
                address_key,
            };
            let tokens = start_session(&state, &user, user.role, success).await?;
            log::info!("staff user {} logged in", user.id);
            Ok(token_response(tokens))
        }
        // The reserved failures stay recorded.
        _ => Err(invalid_credentials()),
    }
}

enum Rotation {
    Rotated {
        user_id: Uuid,
        role: Role,
        session_id: Uuid,
    },
    Reused,
    Invalid,
}

/// Exchange a refresh token for a new token pair.
///
/// Each refresh token works once. Presenting one that was already used revokes the whole
/// session: someone else may hold a copy.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.take()?;
    body.validate()?;
    let presented = token_hash(&body.refresh_token);
    let now = state.now();
    let (next_token, next_hash) = new_refresh_token();
    let outcome = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let Some(token) = model::lock_refresh_token(conn, &presented)? else {
                    return Ok(Rotation::Invalid);
                };
                if token.used_at.is_some() {
                    model::revoke_session(conn, token.session_id, "refresh_token_reused", now)?;
                    audit::Audit::staff(token.user.id)
                        .did("auth.refresh_token_reused")
                        .on("staff_session", token.session_id)
                        .record(conn, now)?;
                    return Ok(Rotation::Reused);
                }
                let live = token.session_revoked_at.is_none()
                    && token.token_expires_at > now
                    && token.session_expires_at > now
                    && token.user.active;
                let Some(role) = live.then_some(token.user.role) else {
                    return Ok(Rotation::Invalid);
                };
                model::mark_refresh_token_used(conn, &presented, now)?;
                model::insert_refresh_token(
                    conn,
                    &next_hash,
                    token.session_id,
                    now,
                    token.session_expires_at,
                )?;
                Ok::<_, ApiError>(Rotation::Rotated {
                    user_id: token.user.id,
                    role,
                    session_id: token.session_id,
                })
            })
        })
        .await?;
    match outcome {
        Rotation::Rotated {
            user_id,
            role,
            session_id,
        } => {
            let access_token = state
                .jwt
                .issue(user_id, session_id, role, now)
                .map_err(ApiError::internal)?;
            Ok(token_response(TokenResponse {
                access_token,
                refresh_token: next_token,
                token_type: "Bearer".into(),
                expires_in: state.jwt.ttl_secs(),
            }))
        }
        Rotation::Reused => {
            log::warn!("a used refresh token was presented again; its session is revoked");
            Err(ApiError::unauthorized(
                Code::RefreshTokenReused,
                "This refresh token was already used; the session is closed: log in again.",
            ))
        }
        Rotation::Invalid => Err(ApiError::unauthorized(
            Code::InvalidRefreshToken,
            "The refresh token is unknown, expired or revoked: log in again.",
        )),
    }
}

/// End the current session: its access and refresh tokens stop working at once.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let now = state.now();
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                model::revoke_session(conn, user.session_id, "logout", now)?;
                audit::Audit::staff(user.id)
                    .did("auth.logout")
                    .on("staff_session", user.session_id)
                    .record(conn, now)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The logged-in staff member.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The current user", body = MeResponse),
    )
)]
#[get("/auth/me")]
pub async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(MeResponse {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role,
        })
}

/// Change my password.
///
/// Needs the current password. The new one must have at least 12 characters and not be a
/// common password, the email or the name. Every other session of the account is closed.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 403, description = "The current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new password is refused by the policy", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong current passwords", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.take()?;
    body.validate()?;
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body;
    let context = PasswordContext {
        email: &user.email,
        name: &user.name,
        organization_words: &state.settings.organization_words,
        year: state.now().year(),
    };
    check_password_policy("new_password", &new_password, &context)?;
    if new_password == current_password {
        return Err(ApiError::invalid_field(
            "new_password",
            "unchanged",
            "must differ from the current password",
        ));
    }
    let (rule, now) = (state.settings.login_throttle, state.now());
    // Reserved before verifying, like a login: parallel wrong guesses verify no more than
    // LOGIN_MAX_FAILURES current passwords per window.
    let budget = throttle::Budget {
        subject: throttle::subject("password_change", &user.email),
        max_failures: rule.max_failures,
        waived: false,
    };
    let user_id = user.id;
    let (stored, reserved) = state
        .db(move |conn| {
            let reserved = throttle::reserve(conn, &[budget], rule.window, now)?
                .map_err(ApiError::too_many_requests)?;
            let stored = model::find_by_id(conn, user_id)?.ok_or_else(ApiError::not_found)?;
            Ok((stored, reserved))
        })
        .await?;
    let verified = match state
        .passwords
        .verify(current_password, Some(stored.password_hash))
        .await
    {
        Ok(ok) => ok,
        Err(e) => return Err(release_after(&state, reserved, e).await),
    };
    if !verified {
        return Err(ApiError::new(
            crate::error::ErrorKind::Forbidden,
            Code::InvalidCurrentPassword,
            "The current password is incorrect.",
        ));
    }
    let hash = state.passwords.hash(new_password).await?;
    let session_id = user.session_id;
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                throttle::release(conn, &reserved)?;
                model::set_password_hash(conn, user_id, &hash, now)?;
                model::revoke_user_sessions(
                    conn,
                    user_id,
                    Some(session_id),
                    "password_changed",
                    now,
                )?;
                audit::Audit::staff(user_id)
                    .did("staff_user.password_changed")
                    .on("staff_user", user_id)
                    .record(conn, now)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
