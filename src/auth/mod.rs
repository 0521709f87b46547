//! Staff authentication: users and roles, passwords, JWT access tokens with rotating refresh
//! tokens, login throttling, and the `AuthUser` extractor every staff route starts with.

pub mod jwt;
pub mod model;
pub mod password;
pub mod role;
pub mod routes;
pub mod strength;
pub mod throttle;
pub mod users;

pub use role::Role;

use crate::{
    error::{ApiError, Code},
    state::AppState,
};
use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

/// The authenticated staff member of a request: a valid access token whose session is live
/// and whose account is active. Role and name come from the database, not the token, so a
/// role change or a deactivation takes effect on the next request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub session_id: Uuid,
}

impl AuthUser {
    /// 403 unless the user has one of `allowed`.
    pub fn require_role(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized(
        Code::InvalidToken,
        "The access token is invalid, expired or revoked: log in again.",
    )
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("AppState is not registered"))?;
            let token = token.ok_or_else(|| {
                ApiError::unauthorized(
                    Code::Unauthenticated,
                    "This route needs a staff access token (Authorization: Bearer).",
                )
            })?;
            let now = state.now();
            let claims = state.jwt.verify(&token, now).map_err(|_| invalid_token())?;
            let (user, session) = (claims.sub, claims.sid);
            let row = state
                .db(move |conn| Ok(model::live_session_user(conn, user, session, now)?))
                .await?
                .ok_or_else(invalid_token)?;
            Ok(AuthUser {
                id: row.id,
                email: row.email,
                name: row.name,
                role: row.role,
                session_id: session,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_as_text() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::AUTHORIZATION, "bearer abc.def"))
            .to_http_request();
        assert_eq!(bearer_token(&req).as_deref(), Some("abc.def"));
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Basic abc"))
            .to_http_request();
        assert_eq!(bearer_token(&req), None);
    }
}
