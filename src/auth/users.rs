//! `/api/v1/staff/users`: admins create, list, read and change staff accounts. An admin can
//! never remove the last active admin.

use super::{
    model::{self, NewStaffUser, StaffUser, UserChanges, UserFilter},
    password::{check_password_policy, PasswordContext},
    AuthUser, Role,
};
use crate::{
    audit,
    db::pagination::Position,
    error::{ApiError, Code, Problem},
    http::pages::{Page, PageParams},
    http::{etag, respond_with_etag, JsonBody},
    state::AppState,
    validation::FieldError,
};
use actix_web::{get, http::header, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Datelike, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(create_user)
        .service(list_users)
        .service(get_user)
        .service(update_user);
}

/// A staff account as admins see it. Never includes the password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffUserResponse {
    pub id: Uuid,
    #[schema(example = "camille.martin@ville.example")]
    pub email: String,
    #[schema(example = "Camille Martin")]
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<StaffUser> for StaffUserResponse {
    fn from(u: StaffUser) -> Self {
        StaffUserResponse {
            role: u.role,
            id: u.id,
            email: u.email,
            name: u.name,
            active: u.active,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[validate(email, length(max = 254))]
    #[schema(
        example = "camille.martin@ville.example",
        max_length = 254,
        format = "email"
    )]
    pub email: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Camille Martin", min_length = 1, max_length = 200)]
    pub name: String,
    /// `admin`, `manager` or `reviewer`.
    #[schema(value_type = Role, example = "manager")]
    pub role: String,
    /// At least 12 characters, not a common password, not the email or name.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// `admin`, `manager` or `reviewer`.
    #[schema(value_type = Option<Role>)]
    pub role: Option<String>,
    /// `false` deactivates the account and ends its sessions; `true` reactivates it.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Only this role.
    #[param(value_type = Option<Role>)]
    pub role: Option<String>,
    /// Only active (`true`) or deactivated (`false`) accounts.
    pub active: Option<bool>,
}

fn parse_role(field: &str, raw: &str) -> Result<Role, FieldError> {
    Role::parse(raw).ok_or_else(|| {
        FieldError::new(
            field,
            "invalid_choice",
            "must be one of admin, manager, reviewer",
        )
    })
}

/// Everything needed to create an account, checked.
pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// Inserts an account with its audit entry; 409 when the email is taken.
pub fn insert_account(
    conn: &mut PgConnection,
    account: &NewAccount,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<StaffUser, ApiError> {
    conn.transaction(|conn| {
        let user = model::insert_user(
            conn,
            &NewStaffUser {
                id: Uuid::new_v4(),
                email: &account.email,
                name: &account.name,
                role: account.role,
                password_hash: &account.password_hash,
                active: true,
                created_at: now,
                updated_at: now,
                created_by: actor,
                updated_by: actor,
                password_changed_at: now,
            },
        )
        .map_err(|e| {
            if model::is_email_taken(&e) {
                ApiError::conflict(
                    Code::EmailTaken,
                    "A staff account with this email already exists.",
                )
            } else {
                e.into()
            }
        })?;
        audit::Audit::by(actor)
            .did("staff_user.created")
            .on("staff_user", user.id)
            .with(serde_json::json!({ "role": account.role.as_str() }))
            .record(conn, now)?;
        Ok(user)
    })
}

/// Create a staff account (admin).
#[utoipa::path(
    tag = "staff users",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = StaffUserResponse),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Email already used", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: JsonBody<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let mut body = body.take()?;
    body.email = model::normalize_email(&body.email);
    let mut errors = body
        .validate()
        .err()
        .map(|e| crate::error::field_errors(&e, ""))
        .unwrap_or_default();
    let role = parse_role("role", &body.role)
        .map_err(|e| errors.push(e))
        .ok();
    let context = PasswordContext {
        email: &body.email,
        name: &body.name,
        organization_words: &state.settings.organization_words,
        year: state.now().year(),
    };
    if let Err(e) = check_password_policy("password", &body.password, &context) {
        errors.extend(e.problem().errors);
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let account = NewAccount {
        email: body.email,
        name: body.name.trim().to_owned(),
        role,
        password_hash: state.passwords.hash(body.password).await?,
    };
    let (actor, now) = (auth.id, state.now());
    let user = state
        .db(move |conn| insert_account(conn, &account, Some(actor), now))
        .await?;
    log::info!("staff user {} created by {}", user.id, actor);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/staff/users/{}", user.id)))
        .insert_header((header::ETAG, etag(user.id, user.updated_at)))
        .json(StaffUserResponse::from(user)))
}

/// List staff accounts (admin), oldest first.
#[utoipa::path(
    tag = "staff users",
    security(("bearer" = [])),
    params(UserListQuery, PageParams),
    responses(
        (status = 200, description = "A page of accounts", body = Page<StaffUserResponse>,
            headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    query: web::Query<UserListQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let limit = page.limit()?;
    let after = page.cursor::<Position>()?;
    let role = query
        .role
        .as_deref()
        .map(|r| parse_role("role", r).map_err(|e| ApiError::validation(vec![e])))
        .transpose()?;
    let filter = UserFilter {
        role,
        active: query.active,
    };
    let (rows, total) = state
        .db(move |conn| Ok(model::list_users(conn, &filter, after, limit)?))
        .await?;
    let page = Page::from_rows(
        rows,
        limit,
        total,
        |u| Position {
            at: u.created_at,
            id: u.id,
        },
        StaffUserResponse::from,
    );
    Ok(page.respond(&req, &state.settings.public_base_url, limit))
}

/// Read one staff account (admin).
#[utoipa::path(
    tag = "staff users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Staff user id")),
    responses(
        (status = 200, description = "The account", body = StaffUserResponse,
            headers(("ETag" = String, description = "Version of the account"))),
        (status = 304, description = "Unchanged since If-None-Match"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let id = id.into_inner();
    let user = state
        .db(move |conn| model::find_by_id(conn, id)?.ok_or_else(ApiError::not_found))
        .await?;
    let tag = etag(user.id, user.updated_at);
    Ok(respond_with_etag(
        &req,
        &tag,
        &StaffUserResponse::from(user),
    ))
}

/// Change a staff account's name, role or active flag (admin).
///
/// Deactivating an account ends its sessions at once. Demoting or deactivating the last
/// active admin is refused with 409.
#[utoipa::path(
    tag = "staff users",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Staff user id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "Updated", body = StaffUserResponse),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Would leave no active admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/staff/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let body = body.take()?;
    body.validate()?;
    let role = body
        .role
        .as_deref()
        .map(|r| parse_role("role", r).map_err(|e| ApiError::validation(vec![e])))
        .transpose()?;
    let (id, actor, now) = (id.into_inner(), auth.id, state.now());
    let changes = UserChanges {
        name: body.name.map(|n| n.trim().to_owned()),
        role,
        active: body.active,
        updated_at: Some(now),
        updated_by: Some(actor),
    };
    let user = state
        .db(move |conn| apply_user_changes(conn, id, changes, actor, now))
        .await?;
    log::info!("staff user {} updated by {}", user.id, actor);
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(user.id, user.updated_at)))
        .json(StaffUserResponse::from(user)))
}

/// One transaction: lock the admins, refuse to remove the last one, apply, end sessions of a
/// deactivated account, audit.
fn apply_user_changes(
    conn: &mut PgConnection,
    id: Uuid,
    changes: UserChanges,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<StaffUser, ApiError> {
    conn.transaction(|conn| {
        let admins = model::lock_active_admins(conn)?;
        let before = model::find_by_id(conn, id)?.ok_or_else(ApiError::not_found)?;
        let stays_admin = changes.role.unwrap_or(before.role) == Role::Admin
            && changes.active.unwrap_or(before.active);
        if admins == [id] && !stays_admin {
            return Err(ApiError::conflict(
                Code::LastAdmin,
                "This is the last active admin: make another admin first.",
            ));
        }
        let after = model::update_user(conn, id, &changes)?;
        if before.active && !after.active {
            model::revoke_user_sessions(conn, id, None, "deactivated", now)?;
        }
        audit::Audit::staff(actor)
            .did("staff_user.updated")
            .on("staff_user", id)
            .with(serde_json::json!({
                "role": { "from": before.role, "to": after.role },
                "active": { "from": before.active, "to": after.active },
                "name_changed": before.name != after.name,
            }))
            .record(conn, now)?;
        Ok(after)
    })
}
