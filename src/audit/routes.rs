//! `GET /api/v1/staff/audit` (admin): who did and saw what, filtered by actor, object,
//! action and time, newest first, a keyset page at a time.

use super::model::{self, AuditFilter, AuditRow};
use crate::{
    auth::{AuthUser, Role},
    db::pagination::{Cursor, Position},
    error::{ApiError, Problem},
    http::pages::{add_next_link, checked_limit, next_cursor},
    state::AppState,
};
use actix_web::{get, http::header, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_audit);
}

const DEFAULT_LIMIT: i64 = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only what this staff account did.
    pub actor: Option<Uuid>,
    /// Only entries about this kind of object (`application`, `offer`, `staff_user`,
    /// `partner`, ...).
    pub object_type: Option<String>,
    /// Only entries about this object (its id); usually with `object_type`.
    pub object_id: Option<String>,
    /// Only this action (`application.read`, `offer.publish`, ...).
    pub action: Option<String>,
    /// Only entries at or after this instant (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this instant (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The staff member behind an entry, as they are now.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActor {
    pub id: Uuid,
    #[schema(example = "camille.martin@ville.example")]
    pub email: String,
    #[schema(example = "Camille Martin")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `null` for the system (retention purge, a candidate acting with their token).
    pub actor: Option<AuditActor>,
    #[schema(example = "application.read")]
    pub action: String,
    #[schema(example = "application")]
    pub object_type: String,
    pub object_id: String,
    /// What the action changed or looked at; never passwords, tokens or documents.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// A page of the audit log. No total: the log only grows, and counting it is not free.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` to get the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            at: r.at,
            actor: match (r.actor_id, r.actor_email, r.actor_name) {
                (Some(id), Some(email), Some(name)) => Some(AuditActor { id, email, name }),
                _ => None,
            },
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            details: r.details,
        }
    }
}

fn text_filter(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.is_empty() || v.len() > 200 => Err(ApiError::invalid_field(
            field,
            "length",
            "must be 1 to 200 characters",
        )),
        other => Ok(other),
    }
}

/// The audit log (admin): every staff read of applicant data, every change, every
/// sign-in event, newest first.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries, newest first", body = AuditPage,
            headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/audit")]
pub async fn list_audit(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let q = query.into_inner();
    let limit = checked_limit(q.limit, DEFAULT_LIMIT)?;
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from >= to {
            return Err(ApiError::invalid_field(
                "to",
                "range",
                "must be after `from`",
            ));
        }
    }
    let filter = AuditFilter {
        actor: q.actor,
        object_type: text_filter("object_type", q.object_type)?,
        object_id: text_filter("object_id", q.object_id)?,
        action: text_filter("action", q.action)?,
        from: q.from,
        to: q.to,
        before: q.cursor.as_deref().map(Position::decode).transpose()?,
    };
    answer_page(&state, &req, filter, limit).await
}

/// One page of entries matching `filter`, newest first, with its `Link` to the next: the
/// audit log's answer, and an object's history.
pub async fn answer_page(
    state: &AppState,
    req: &HttpRequest,
    filter: AuditFilter,
    limit: i64,
) -> Result<HttpResponse, ApiError> {
    let mut rows = state
        .db(move |conn| Ok(model::list(conn, &filter, limit + 1)?))
        .await?;
    let next_cursor = next_cursor(&mut rows, limit, |r| Position { at: r.at, id: r.id });
    let body = AuditPage {
        items: rows.into_iter().map(AuditEntry::from).collect(),
        next_cursor,
    };
    let mut res = HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&body);
    let base = &state.settings.public_base_url;
    add_next_link(&mut res, req, base, limit, body.next_cursor.as_deref());
    Ok(res)
}
