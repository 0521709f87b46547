//! `GET /api/v1/staff/attribution`: applications and hires per source, with the partner
//! whose slug the source is (admin, manager).

use super::model;
use crate::{
    auth::{AuthUser, Role},
    error::{ApiError, Problem},
    state::AppState,
};
use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttributionQuery {
    /// Only the applications to this offer.
    pub offer_id: Option<Uuid>,
    /// Applications submitted on or after this day (`YYYY-MM-DD`, a day in `CITY_TIME_ZONE`).
    pub from: Option<String>,
    /// Applications submitted on or before this day (`YYYY-MM-DD`, a day in `CITY_TIME_ZONE`).
    pub until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerRef {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

/// One source of applications.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceStats {
    /// The `source` applications carried, lower-cased; null for none (direct).
    #[schema(example = "uga-career-center")]
    pub source: Option<String>,
    /// The partner whose slug the source is, if any.
    pub partner: Option<PartnerRef>,
    pub applications: i64,
    pub hires: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttributionResponse {
    /// Most applications first.
    pub items: Vec<SourceStats>,
    pub total_applications: i64,
    pub total_hires: i64,
}

fn day(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(|d| {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            ApiError::invalid_field(field, "invalid_date", "must be a date as YYYY-MM-DD")
        })
    })
    .transpose()
}

/// Applications and hires per source and partner (admin, manager).
///
/// Partners send their candidates with `source` set to their slug; erased applications
/// still count (their source and outcome are kept, without personal data).
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(AttributionQuery),
    responses(
        (status = 200, description = "Counts per source", body = AttributionResponse),
        (status = 403, description = "Reviewers may not see this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/attribution")]
pub async fn attribution(
    state: web::Data<AppState>,
    auth: AuthUser,
    query: web::Query<AttributionQuery>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin, Role::Manager])?;
    let from = day("from", query.from.as_deref())?;
    let until = day("until", query.until.as_deref())?;
    let offer_id = query.offer_id;
    // The city's days: from its midnight on `from` to its midnight after `until`.
    let calendar = state.calendar();
    let start = from.map(|d| calendar.day_start(d));
    let end = until.map(|d| calendar.day_end(d));
    let rows = state
        .db(move |conn| Ok(model::applications_per_source(conn, offer_id, start, end)?))
        .await?;
    let body = AttributionResponse {
        total_applications: rows.iter().map(|r| r.applications).sum(),
        total_hires: rows.iter().map(|r| r.hires).sum(),
        items: rows
            .into_iter()
            .map(|r| SourceStats {
                partner: match (r.partner_id, r.partner_name, r.partner_slug) {
                    (Some(id), Some(name), Some(slug)) => Some(PartnerRef { id, name, slug }),
                    _ => None,
                },
                source: r.source,
                applications: r.applications,
                hires: r.hires,
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().json(body))
}
