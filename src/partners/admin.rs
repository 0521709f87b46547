//! `/api/v1/staff/partners`: admins create partner accounts, list them, deactivate them and
//! rotate their API keys. A key is shown once, when it is made.

use super::{
    keys::{generate_key, hours_after},
    model::{self, NewPartner, Partner, PartnerChanges, PartnerKey},
};
use crate::http::JsonBody;
use crate::{
    audit,
    auth::{model::normalize_email, AuthUser, Role},
    db::pagination::Position,
    error::{ApiError, Code, Problem},
    http::pages::{Page, PageParams},
    http::respond_with_etag,
    state::AppState,
};
use actix_web::{get, http::header, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

/// A partner key as admins see it: never the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerKeyResponse {
    pub id: Uuid,
    /// Not secret: the start of the key, to tell keys apart.
    #[schema(example = "ppk_1f2e3d4c")]
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// Set once a newer key replaced this one: it works until then.
    pub expires_at: Option<DateTime<Utc>>,
    /// To the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Whether it is accepted now.
    pub valid: bool,
}

impl PartnerKeyResponse {
    fn new(k: PartnerKey, now: DateTime<Utc>) -> Self {
        PartnerKeyResponse {
            valid: k.is_valid_at(now),
            id: k.id,
            prefix: k.prefix,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A partner account.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerResponse {
    pub id: Uuid,
    #[schema(example = "Career Center de l'Université Grenoble Alpes")]
    pub name: String,
    /// Also the `source` its candidates' applications carry.
    #[schema(example = "uga-career-center")]
    pub slug: String,
    #[schema(example = "stages@univ.example")]
    pub contact_email: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Newest first (only in single-partner answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<PartnerKeyResponse>>,
}

impl PartnerResponse {
    fn new(p: Partner, keys: Option<Vec<PartnerKey>>, now: DateTime<Utc>) -> Self {
        PartnerResponse {
            id: p.id,
            name: p.name,
            slug: p.slug,
            contact_email: p.contact_email,
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
            keys: keys.map(|ks| {
                ks.into_iter()
                    .map(|k| PartnerKeyResponse::new(k, now))
                    .collect()
            }),
        }
    }
}

/// A new key, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedKeyResponse {
    /// The whole key: store it now, it is never shown again.
    #[schema(example = "ppk_1f2e3d4c_3q2-7wEXAMPLEonlyEXAMPLEonlyEXAMPLEonlyEXAMPLE")]
    pub api_key: String,
    pub key: PartnerKeyResponse,
    /// When the partner's previous keys stop working (rotation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_keys_expire_at: Option<DateTime<Utc>>,
}

/// A new partner with its first key.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPartnerResponse {
    #[serde(flatten)]
    pub partner: PartnerResponse,
    /// The partner's API key: store it now, it is never shown again.
    pub api_key: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePartnerRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(example = "Career Center UGA", min_length = 1, max_length = 200)]
    pub name: String,
    /// Lower-case letters, digits and single hyphens; unique.
    #[validate(length(min = 2, max = 60))]
    #[schema(
        example = "uga-career-center",
        min_length = 2,
        max_length = 60,
        pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"
    )]
    pub slug: String,
    #[validate(email, length(max = 254))]
    #[schema(example = "stages@univ.example", format = "email", max_length = 254)]
    pub contact_email: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePartnerRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(format = "email", max_length = 254)]
    pub contact_email: Option<String>,
    /// `false` deactivates the partner: its keys and webhooks stop at once.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RotateQuery {
    /// Hours the previous keys keep working (0 to `PARTNER_KEY_OVERLAP_HOURS`, which is the
    /// default).
    #[param(minimum = 0)]
    pub overlap_hours: Option<i64>,
}

pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.split('-').all(|part| {
            !part.is_empty() && part.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9'))
        })
}

/// Create a partner account and its first API key (admin).
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    request_body = CreatePartnerRequest,
    responses(
        (status = 201, description = "Created; `api_key` is shown this once", body = CreatedPartnerResponse),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Slug already used", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/partners")]
pub async fn create_partner(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: JsonBody<CreatePartnerRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let mut body = body.take()?;
    body.contact_email = normalize_email(&body.contact_email);
    body.name = body.name.trim().to_owned();
    let mut errors = body
        .validate()
        .err()
        .map(|e| crate::error::field_errors(&e, ""))
        .unwrap_or_default();
    if !is_valid_slug(&body.slug) {
        errors.push(crate::validation::FieldError::new(
            "slug",
            "invalid_slug",
            "must be lower-case letters and digits, in words joined by single hyphens",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (actor, now) = (auth.id, state.now());
    let key = generate_key();
    let (partner, stored) = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let partner = model::insert_partner(
                    conn,
                    &NewPartner {
                        id: Uuid::new_v4(),
                        name: &body.name,
                        slug: &body.slug,
                        contact_email: &body.contact_email,
                        active: true,
                        created_at: now,
                        created_by: Some(actor),
                        updated_at: now,
                        updated_by: Some(actor),
                    },
                )
                .map_err(|e| {
                    if model::is_slug_taken(&e) {
                        ApiError::conflict(
                            Code::SlugTaken,
                            "Another partner already uses this slug.",
                        )
                    } else {
                        e.into()
                    }
                })?;
                let stored =
                    model::insert_key(conn, partner.id, &key.prefix, &key.hash, Some(actor), now)?;
                audit::Audit::staff(actor)
                    .did("partner.created")
                    .on("partner", partner.id)
                    .with(serde_json::json!({ "slug": partner.slug, "key_prefix": stored.prefix }))
                    .record(conn, now)?;
                Ok((partner, stored))
            })
        })
        .await?;
    log::info!("partner {} created by {actor}", partner.id);
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/staff/partners/{}", partner.id),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedPartnerResponse {
            partner: PartnerResponse::new(partner, Some(vec![stored]), now),
            api_key: key.key,
        }))
}

/// List partner accounts (admin), oldest first.
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of partners", body = Page<PartnerResponse>,
            headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/partners")]
pub async fn list_partners(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let limit = page.limit()?;
    let after = page.cursor::<Position>()?;
    let (rows, total) = state
        .db(move |conn| Ok(model::list_partners(conn, after, limit)?))
        .await?;
    let now = state.now();
    let page = Page::from_rows(
        rows,
        limit,
        total,
        |p| Position {
            at: p.created_at,
            id: p.id,
        },
        |p| PartnerResponse::new(p, None, now),
    );
    Ok(page.respond(&req, &state.settings.public_base_url, limit))
}

/// Read a partner account and its keys (admin).
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    responses(
        (status = 200, description = "The partner", body = PartnerResponse,
            headers(("ETag" = String, description = "Version of the answer"))),
        (status = 304, description = "Unchanged since If-None-Match"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/partners/{id}")]
pub async fn get_partner(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let id = id.into_inner();
    let (partner, keys) = state
        .db(move |conn| {
            let partner = model::find_partner(conn, id)?.ok_or_else(ApiError::not_found)?;
            Ok((partner, model::keys_of(conn, id)?))
        })
        .await?;
    let body = PartnerResponse::new(partner, Some(keys), state.now());
    Ok(respond_with_etag(
        &req,
        &crate::http::body_etag(&body)?,
        &body,
    ))
}

/// Change a partner's name or contact, or deactivate it (admin).
///
/// A deactivated partner's keys are refused at once and its webhooks stop.
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = UpdatePartnerRequest,
    responses(
        (status = 200, description = "Updated", body = PartnerResponse),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/staff/partners/{id}")]
pub async fn update_partner(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
    body: JsonBody<UpdatePartnerRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let mut body = body.take()?;
    body.contact_email = body.contact_email.map(|e| normalize_email(&e));
    body.name = body.name.map(|n| n.trim().to_owned());
    body.validate()?;
    let (id, actor, now) = (id.into_inner(), auth.id, state.now());
    let changes = PartnerChanges {
        name: body.name,
        contact_email: body.contact_email,
        active: body.active,
        updated_at: Some(now),
        updated_by: Some(actor),
    };
    let (partner, keys) = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let before = model::lock_partner(conn, id)?.ok_or_else(ApiError::not_found)?;
                let after = model::update_partner(conn, id, &changes)?;
                audit::Audit::staff(actor)
                    .did("partner.updated")
                    .on("partner", id)
                    .with(serde_json::json!({
                        "active": { "from": before.active, "to": after.active },
                        "name_changed": before.name != after.name,
                        "contact_changed": before.contact_email != after.contact_email,
                    }))
                    .record(conn, now)?;
                Ok((after, model::keys_of(conn, id)?))
            })
        })
        .await?;
    log::info!(
        "partner {} updated by {actor} (active: {})",
        partner.id,
        partner.active
    );
    Ok(HttpResponse::Ok().json(PartnerResponse::new(partner, Some(keys), now)))
}

/// Issue a new API key for a partner (admin): a rotation.
///
/// The new key is shown this once. The partner's previous keys keep working for
/// `overlap_hours` (default `PARTNER_KEY_OVERLAP_HOURS`), time for the partner to deploy
/// the new one; `overlap_hours=0` revokes them at once (a leaked key).
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id"), RotateQuery),
    responses(
        (status = 201, description = "The new key, shown this once", body = IssuedKeyResponse),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid overlap", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/partners/{id}/keys")]
pub async fn rotate_key(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
    query: web::Query<RotateQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let max = state.settings.partners.key_overlap_hours;
    let overlap = query.overlap_hours.unwrap_or(max);
    if !(0..=max).contains(&overlap) {
        return Err(ApiError::invalid_field(
            "overlap_hours",
            "range",
            format!("must be between 0 and {max}"),
        ));
    }
    let (id, actor, now) = (id.into_inner(), auth.id, state.now());
    let expire_at = hours_after(now, overlap);
    let key = generate_key();
    let stored = state
        .db(move |conn| {
            conn.transaction(|conn| {
                model::lock_partner(conn, id)?.ok_or_else(ApiError::not_found)?;
                let stored = model::insert_key(conn, id, &key.prefix, &key.hash, Some(actor), now)?;
                let replaced = model::expire_other_keys(conn, id, stored.id, expire_at)?;
                audit::Audit::staff(actor)
                    .did("partner.key_rotated")
                    .on("partner", id)
                    .with(serde_json::json!({
                        "key_prefix": stored.prefix,
                        "previous_keys": replaced,
                        "overlap_hours": overlap,
                    }))
                    .record(conn, now)?;
                Ok(stored)
            })
        })
        .await?;
    log::info!("partner {id}: key {} issued by {actor}", stored.prefix);
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(IssuedKeyResponse {
            api_key: key.key,
            key: PartnerKeyResponse::new(stored, now),
            previous_keys_expire_at: Some(expire_at),
        }))
}

#[cfg(test)]
mod tests {
    use super::is_valid_slug;

    #[test]
    fn slugs_are_lower_case_words_joined_by_hyphens() {
        for ok in ["uga", "career-center-2", "a1"] {
            assert!(is_valid_slug(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "Uga", "été", "a_b", "a b"] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }
}
