//! Routes of the review side: assignments, criteria, review settings, reviews, conflicts,
//! reviewers' workloads. Every review read and write is audited.

use super::{
    access::{application_access, offer_access},
    domain::{
        check_criteria, check_review, is_reviewable, sees_other_reviews, weighted_mean, Criterion,
        ReviewInput,
    },
    model::{self, Review},
};
use crate::db::pagination::Position;
use crate::db::types::Json;
use crate::http::pages::{Page, PageParams};
use crate::http::JsonBody;
use crate::{
    applications::model as applications,
    audit,
    auth::{model as users, AuthUser, Role},
    error::{ApiError, Code, Problem},
    offers::model as offers,
    state::AppState,
};
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_reviewers)
        .service(assign_reviewer)
        .service(unassign_reviewer)
        .service(get_criteria)
        .service(put_criteria)
        .service(get_review_settings)
        .service(put_review_settings)
        .service(list_reviews)
        .service(put_my_review)
        .service(declare_conflict)
        .service(reviewer_workloads);
}

fn offer_or_404(conn: &mut PgConnection, id: Uuid) -> Result<offers::Offer, ApiError> {
    offers::find(conn, id)?.ok_or_else(ApiError::not_found)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignedReviewerView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub assigned_at: DateTime<Utc>,
}

impl From<model::AssignedReviewer> for AssignedReviewerView {
    fn from(r: model::AssignedReviewer) -> Self {
        AssignedReviewerView {
            role: r.role,
            id: r.id,
            name: r.name,
            email: r.email,
            assigned_at: r.assigned_at,
        }
    }
}

/// Reviewers assigned to an offer (admin, manager).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"), PageParams),
    responses(
        (status = 200, description = "A page of the assigned reviewers, first assigned first", body = Page<AssignedReviewerView>,
            headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 403, description = "Reviewers may not manage assignments", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/offers/{id}/reviewers")]
pub async fn list_reviewers(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let offer_id = id.into_inner();
    let (limit, after) = (page.limit()?, page.cursor::<Position>()?);
    let (rows, total) = state
        .db(move |conn| {
            offer_access(conn, &auth, offer_id)?.require_manager()?;
            offer_or_404(conn, offer_id)?;
            Ok(model::assigned_reviewers_page(
                conn, offer_id, after, limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        limit,
        total,
        |r| Position {
            at: r.assigned_at,
            id: r.id,
        },
        AssignedReviewerView::from,
    );
    Ok(page.respond(&req, &state.settings.public_base_url, limit))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// An active staff user with role `reviewer` or `manager`.
    pub reviewer_id: Uuid,
}

/// Assign a reviewer to an offer (admin, manager).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    request_body = AssignRequest,
    responses(
        (status = 201, description = "Assigned: the new assignment", body = AssignedReviewerView),
        (status = 403, description = "Reviewers may not manage assignments", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already assigned", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an active reviewer or manager", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/offers/{id}/reviewers")]
pub async fn assign_reviewer(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
    body: JsonBody<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin, Role::Manager])?;
    let (offer_id, reviewer_id, actor, now) = (
        id.into_inner(),
        body.take()?.reviewer_id,
        auth.id,
        state.now(),
    );
    let assigned = state
        .db(move |conn| {
            conn.transaction(|conn| {
                offer_or_404(conn, offer_id)?;
                let eligible = users::find_by_id(conn, reviewer_id)?
                    .is_some_and(|u| u.active && matches!(u.role, Role::Reviewer | Role::Manager));
                if !eligible {
                    return Err(ApiError::invalid_field(
                        "reviewer_id",
                        "not_a_reviewer",
                        "must be an active staff user with role reviewer or manager",
                    ));
                }
                if !model::assign(conn, offer_id, reviewer_id, actor, now)? {
                    return Err(ApiError::conflict(
                        Code::AlreadyAssigned,
                        "This reviewer is already assigned to the offer.",
                    ));
                }
                audit::Audit::staff(actor)
                    .did("offer.reviewer_assigned")
                    .on("offer", offer_id)
                    .with(json!({ "reviewer_id": reviewer_id }))
                    .record(conn, now)?;
                model::assignment(conn, offer_id, reviewer_id)?.ok_or_else(ApiError::not_found)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(AssignedReviewerView::from(assigned)))
}

/// Unassign a reviewer (admin, manager). Their reviews stay.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"), ("reviewer_id" = Uuid, Path, description = "Staff user id")),
    responses(
        (status = 204, description = "Unassigned"),
        (status = 403, description = "Reviewers may not manage assignments", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not assigned", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/staff/offers/{id}/reviewers/{reviewer_id}")]
pub async fn unassign_reviewer(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let ((offer_id, reviewer_id), now) = (path.into_inner(), state.now());
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                offer_access(conn, &auth, offer_id)?.require_manager()?;
                if !model::unassign(conn, offer_id, reviewer_id)? {
                    return Err(ApiError::not_found());
                }
                audit::Audit::staff(auth.id)
                    .did("offer.reviewer_unassigned")
                    .on("offer", offer_id)
                    .with(json!({ "reviewer_id": reviewer_id }))
                    .record(conn, now)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CriteriaView {
    pub criteria: Vec<Criterion>,
    /// True once a review exists: the scorecard can no longer change.
    pub locked: bool,
}

/// An offer's scorecard, made from its requirements the first time (admin, manager, its reviewers).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    responses(
        (status = 200, description = "The criteria", body = CriteriaView),
        (status = 404, description = "No such offer, or not yours to see", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/offers/{id}/criteria")]
pub async fn get_criteria(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let offer_id = id.into_inner();
    let view = state
        .db(move |conn| {
            offer_access(conn, &auth, offer_id)?;
            let offer = offer_or_404(conn, offer_id)?;
            Ok(CriteriaView {
                criteria: model::ensure_criteria(conn, &offer)?,
                locked: model::offer_has_reviews(conn, offer_id)?,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Replace an offer's scorecard (admin, manager), until the first review exists.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    request_body = Vec<Criterion>,
    responses(
        (status = 200, description = "The new criteria", body = CriteriaView),
        (status = 403, description = "Reviewers may not change criteria", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Locked: a review exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid criteria", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/staff/offers/{id}/criteria")]
pub async fn put_criteria(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
    body: JsonBody<Vec<Criterion>>,
) -> Result<HttpResponse, ApiError> {
    let (offer_id, body, now) = (id.into_inner(), body, state.now());
    let view = state
        .db(move |conn| {
            conn.transaction(|conn| {
                offer_access(conn, &auth, offer_id)?.require_manager()?;
                offer_or_404(conn, offer_id)?;
                let list = body.take()?;
                check_criteria(&list).map_err(ApiError::validation)?;
                if model::offer_has_reviews(conn, offer_id)? {
                    return Err(ApiError::conflict(
                        Code::CriteriaLocked,
                        "Reviews exist for this offer: its criteria can no longer change.",
                    ));
                }
                model::replace_criteria(conn, offer_id, &list)?;
                audit::Audit::staff(auth.id)
                    .did("offer.criteria_changed")
                    .on("offer", offer_id)
                    .with(json!({ "keys": list.iter().map(|c| &c.key).collect::<Vec<_>>() }))
                    .record(conn, now)?;
                Ok(CriteriaView {
                    criteria: model::criteria(conn, offer_id)?,
                    locked: false,
                })
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSettings {
    /// Blind review: reviewers do not see the candidates' identity (names, email, phone,
    /// file names) and cannot download their documents.
    pub blind: bool,
}

/// An offer's review settings (admin, manager, its reviewers).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    responses(
        (status = 200, description = "The settings", body = ReviewSettings),
        (status = 404, description = "No such offer, or not yours to see", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/offers/{id}/review-settings")]
pub async fn get_review_settings(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let offer_id = id.into_inner();
    let blind = state
        .db(move |conn| {
            offer_access(conn, &auth, offer_id)?;
            offer_or_404(conn, offer_id)?;
            Ok(model::is_blind(conn, offer_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ReviewSettings { blind }))
}

/// Turn blind review on or off for an offer (admin, manager).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    request_body = ReviewSettings,
    responses(
        (status = 200, description = "Saved", body = ReviewSettings),
        (status = 403, description = "Reviewers may not change settings", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a settings object", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/staff/offers/{id}/review-settings")]
pub async fn put_review_settings(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
    body: JsonBody<ReviewSettings>,
) -> Result<HttpResponse, ApiError> {
    let (offer_id, now) = (id.into_inner(), state.now());
    let blind = state
        .db(move |conn| {
            conn.transaction(|conn| {
                offer_access(conn, &auth, offer_id)?.require_manager()?;
                offer_or_404(conn, offer_id)?;
                let blind = body.take()?.blind;
                model::set_blind(conn, offer_id, blind, auth.id, now)?;
                audit::Audit::staff(auth.id)
                    .did("offer.review_settings_changed")
                    .on("offer", offer_id)
                    .with(json!({ "blind": blind }))
                    .record(conn, now)?;
                Ok(blind)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(ReviewSettings { blind }))
}

/// A review as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub id: Uuid,
    pub reviewer_id: Uuid,
    pub scores: BTreeMap<String, i64>,
    #[schema(schema_with = crate::reviews::domain::recommendation_schema)]
    pub recommendation: String,
    pub comment: String,
    /// Weighted by the offer's criteria.
    pub weighted_mean: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ReviewView {
    pub fn new(r: &Review, criteria: &[Criterion]) -> Self {
        let scores = r.scores.0.clone();
        ReviewView {
            id: r.id,
            reviewer_id: r.reviewer_id,
            weighted_mean: weighted_mean(&scores, criteria),
            scores,
            recommendation: r.recommendation.clone(),
            comment: r.comment.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewList {
    pub items: Vec<ReviewView>,
    /// True when other reviewers' reviews are withheld until you submit yours.
    pub others_hidden: bool,
}

/// The reviews of an application that I may see: all for managers; for a reviewer, their
/// own, and the others' once theirs is submitted.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 200, description = "Reviews", body = ReviewList),
        (status = 404, description = "No such application, or not yours to see", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/applications/{id}/reviews")]
pub async fn list_reviews(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (application_id, now) = (id.into_inner(), state.now());
    let list = state
        .db(move |conn| {
            let application =
                applications::find(conn, application_id)?.ok_or_else(ApiError::not_found)?;
            let access = application_access(conn, &auth, &application)?;
            let offer = offer_or_404(conn, application.offer_id)?;
            let criteria = model::ensure_criteria(conn, &offer)?;
            let all = model::reviews_of(conn, application_id)?;
            let has_own = all.iter().any(|r| r.reviewer_id == auth.id);
            let sees_all = sees_other_reviews(access.is_manager(), has_own);
            let items: Vec<ReviewView> = all
                .iter()
                .filter(|r| sees_all || r.reviewer_id == auth.id)
                .map(|r| ReviewView::new(r, &criteria))
                .collect();
            audit::Audit::staff(auth.id)
                .did("review.read")
                .on("application", application_id)
                .with(json!({ "count": items.len() }))
                .record(conn, now)?;
            Ok(ReviewList {
                others_hidden: !sees_all && all.len() > items.len(),
                items,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Create or replace my review of an application (an assigned reviewer or manager), while it
/// is in a reviewable stage.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Application id")),
    request_body = ReviewInput,
    responses(
        (status = 200, description = "Saved", body = ReviewView),
        (status = 403, description = "Not assigned to this offer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not in a reviewable stage", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Scores do not match the criteria", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/staff/applications/{id}/reviews/me")]
pub async fn put_my_review(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
    body: JsonBody<ReviewInput>,
) -> Result<HttpResponse, ApiError> {
    let (application_id, now) = (id.into_inner(), state.now());
    let view = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let application =
                    applications::lock(conn, application_id)?.ok_or_else(ApiError::not_found)?;
                application_access(conn, &auth, &application)?;
                if !model::is_assigned(conn, application.offer_id, auth.id)? {
                    return Err(ApiError::new(
                        crate::error::ErrorKind::Forbidden,
                        Code::NotAssigned,
                        "Only reviewers assigned to the offer write reviews.",
                    ));
                }
                if model::has_conflict(conn, application_id, auth.id)? {
                    return Err(ApiError::not_found());
                }
                let input = body.take()?;
                if !is_reviewable(application.status) {
                    return Err(ApiError::conflict(
                        Code::NotReviewable,
                        format!(
                            "The application is {}: reviews are closed.",
                            application.status.as_str()
                        ),
                    ));
                }
                let offer = offer_or_404(conn, application.offer_id)?;
                let criteria = model::ensure_criteria(conn, &offer)?;
                check_review(&input, &criteria).map_err(ApiError::validation)?;
                let review = model::upsert_review(
                    conn,
                    application_id,
                    auth.id,
                    &Json(input.scores.clone()),
                    &input.recommendation,
                    &input.comment,
                    now,
                )?;
                audit::Audit::staff(auth.id)
                    .did("review.written")
                    .on("application", application_id)
                    .with(json!({ "review_id": review.id }))
                    .record(conn, now)?;
                Ok(ReviewView::new(&review, &criteria))
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Declare a conflict of interest on an application: I am excluded from it, my review of it
/// (if any) is withdrawn, and it leaves my workload.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 204, description = "Declared"),
        (status = 403, description = "Not assigned to this offer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/applications/{id}/conflict")]
pub async fn declare_conflict(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (application_id, now) = (id.into_inner(), state.now());
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                let application =
                    applications::find(conn, application_id)?.ok_or_else(ApiError::not_found)?;
                application_access(conn, &auth, &application)?;
                if !model::is_assigned(conn, application.offer_id, auth.id)? {
                    return Err(ApiError::new(
                        crate::error::ErrorKind::Forbidden,
                        Code::NotAssigned,
                        "Only reviewers assigned to the offer declare conflicts.",
                    ));
                }
                model::declare_conflict(conn, application_id, auth.id, now)?;
                audit::Audit::staff(auth.id)
                    .did("review.conflict_declared")
                    .on("application", application_id)
                    .record(conn, now)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkloadView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub offers_assigned: i64,
    /// Applications in a reviewable stage of their offers with no review of theirs and no
    /// declared conflict.
    pub awaiting_review: i64,
}

/// Reviewers (and managers who review) with their workload (admin, manager).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of the active reviewers and managers with their workload, oldest account first", body = Page<WorkloadView>,
            headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 403, description = "Reviewers may not see workloads", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/reviewers")]
pub async fn reviewer_workloads(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin, Role::Manager])?;
    let (limit, after) = (page.limit()?, page.cursor::<Position>()?);
    let (rows, total) = state
        .db(move |conn| Ok(model::workloads(conn, after, limit)?))
        .await?;
    let page = Page::from_rows(
        rows,
        limit,
        total,
        |w| Position {
            at: w.created_at,
            id: w.id,
        },
        |w| WorkloadView {
            role: w.role,
            id: w.id,
            name: w.name,
            email: w.email,
            offers_assigned: w.offers_assigned,
            awaiting_review: w.awaiting_review,
        },
    );
    Ok(page.respond(&req, &state.settings.public_base_url, limit))
}
