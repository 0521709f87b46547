//! `/api/v1/staff/offers`: admins and managers write, publish and close offers. Every write
//! to an existing offer needs `If-Match` with its ETag.

use super::{
    domain::{self, OfferInput, OfferStatus, Transition},
    lifecycle::{self, validate, MoveContext},
    model::{self, Offer, OfferContent},
    views::{offer_input, StaffOfferListItem, StaffOfferResponse},
    workflow::CloseReason,
};
use crate::http::{JsonBody, OptionalJsonBody};
use crate::{
    audit,
    auth::{AuthUser, Role},
    db::pagination::Position,
    error::{ApiError, Code, Problem},
    http::pages::{Page, PageParams},
    http::{check_if_match, if_match, respond_with_etag, version_etag},
    state::AppState,
};
use actix_web::{delete, get, http::header, patch, post, put, web, HttpRequest, HttpResponse};
use diesel::Connection;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(create_offer)
        .service(list_offers)
        .service(get_offer)
        .service(replace_offer)
        .service(patch_offer)
        .service(delete_offer)
        .service(publish_offer)
        .service(close_offer)
        .service(archive_offer)
        .service(reopen_offer);
}

/// Who may write offers.
pub(super) const WRITERS: &[Role] = &[Role::Admin, Role::Manager];

/// Reviewers see only the offers assigned to them: `Some(ids)` for them, `None` for others.
async fn assigned_only(state: &AppState, auth: &AuthUser) -> Result<Option<Vec<Uuid>>, ApiError> {
    if auth.role != Role::Reviewer {
        return Ok(None);
    }
    let user = auth.id;
    let ids = state
        .db(move |conn| Ok(crate::reviews::model::assigned_offer_ids(conn, user)?))
        .await?;
    Ok(Some(ids))
}

/// 404 for a reviewer not assigned to the offer.
pub(super) async fn require_reader(
    state: &AppState,
    auth: &AuthUser,
    id: Uuid,
) -> Result<(), ApiError> {
    if auth.role != Role::Reviewer {
        return Ok(());
    }
    let user = auth.clone();
    state
        .db(move |conn| crate::reviews::access::offer_access(conn, &user, id).map(drop))
        .await
}

/// Writers are admins and managers; a reviewer gets 403 on an offer assigned to them and
/// 404 on any other.
pub(super) async fn require_writer(
    state: &AppState,
    auth: &AuthUser,
    id: Uuid,
) -> Result<(), ApiError> {
    if WRITERS.contains(&auth.role) {
        return Ok(());
    }
    require_reader(state, auth, id).await?;
    Err(ApiError::forbidden())
}

pub(super) fn respond(
    status: actix_web::http::StatusCode,
    offer: &Offer,
    today: chrono::NaiveDate,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::ETAG, version_etag(offer.id, offer.version)))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(StaffOfferResponse::new(offer, today))
}

fn reference_taken(e: diesel::result::Error) -> ApiError {
    if model::is_reference_taken(&e) {
        ApiError::conflict(
            Code::ReferenceTaken,
            "Another offer already uses this reference.",
        )
    } else {
        e.into()
    }
}

/// Create an offer, as a draft.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    request_body = OfferInput,
    responses(
        (status = 201, description = "Created as a draft", body = StaffOfferResponse,
            headers(("ETag" = String, description = "Version, for If-Match"))),
        (status = 403, description = "Reviewers may not write offers", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Reference already used", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, French internship rules included", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/offers")]
pub async fn create_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    body: JsonBody<OfferInput>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(WRITERS)?;
    let input = body.take()?;
    let (actor, now) = (auth.id, state.now());
    let offer = state
        .db_offers_write(move |conn| {
            conn.transaction(|conn| {
                let valid = validate(conn, input)?;
                let slug = model::unique_slug(conn, &domain::slugify(&valid.input.title), None)?;
                let offer = model::insert_offer(
                    conn,
                    Uuid::new_v4(),
                    &slug,
                    &OfferContent::from(&valid),
                    actor,
                    now,
                )
                .map_err(reference_taken)?;
                audit::Audit::staff(actor)
                    .did("offer.created")
                    .on("offer", offer.id)
                    .record(conn, now)?;
                Ok(offer)
            })
        })
        .await?;
    log::info!("offer {} created by {}", offer.id, actor);
    let mut res = respond(
        actix_web::http::StatusCode::CREATED,
        &offer,
        state.calendar().today(now),
    );
    res.headers_mut().insert(
        header::LOCATION,
        header::HeaderValue::from_str(&format!("/api/v1/staff/offers/{}", offer.id))
            .map_err(ApiError::internal)?,
    );
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffOfferQuery {
    /// `draft`, `published`, `closed` or `archived`.
    #[param(value_type = Option<crate::offers::domain::OfferStatus>)]
    pub status: Option<String>,
    /// French full-text search.
    pub q: Option<String>,
}

/// List offers, drafts included, newest first; a reviewer sees those assigned to them.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(StaffOfferQuery, PageParams),
    responses(
        (status = 200, description = "A page of offers", body = Page<StaffOfferListItem>),
        (status = 422, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/offers")]
pub async fn list_offers(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    query: web::Query<StaffOfferQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let only = assigned_only(&state, &auth).await?;
    let (limit, after) = (page.limit()?, page.cursor::<Position>()?);
    let status = match query.status.as_deref() {
        None => None,
        Some(raw) => Some(OfferStatus::parse(raw).ok_or_else(|| {
            ApiError::invalid_field(
                "status",
                "invalid_choice",
                "must be one of draft, published, closed, archived",
            )
        })?),
    };
    let q = super::public::parse_q(query.q.as_deref())?;
    let (rows, total) = state
        .db(move |conn| {
            Ok(model::staff_list(
                conn,
                status,
                q.as_deref(),
                only.as_deref(),
                after,
                limit,
            )?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        limit,
        total,
        |o| Position {
            at: o.created_at,
            id: o.id,
        },
        StaffOfferListItem::from,
    );
    Ok(page.respond(&req, &state.settings.public_base_url, limit))
}

/// Read an offer, whatever its status.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id")),
    responses(
        (status = 200, description = "The offer", body = StaffOfferResponse,
            headers(("ETag" = String, description = "Version, for If-Match"))),
        (status = 304, description = "Unchanged since If-None-Match"),
        (status = 404, description = "No such offer, or not assigned to you (reviewers)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/offers/{id}")]
pub async fn get_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    require_reader(&state, &auth, id).await?;
    let offer = state
        .db(move |conn| model::find(conn, id)?.ok_or_else(ApiError::not_found))
        .await?;
    let body = StaffOfferResponse::new(&offer, state.today());
    Ok(respond_with_etag(
        &req,
        &version_etag(offer.id, offer.version),
        &body,
    ))
}

/// Replaces an offer's content after checking its version; shared by PUT and PATCH.
async fn write_content(
    state: &AppState,
    auth: &AuthUser,
    req: &HttpRequest,
    id: Uuid,
    new_content: impl FnOnce(&Offer) -> Result<OfferInput, ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    require_writer(state, auth, id).await?;
    let expected = if_match(req)?;
    let (actor, now) = (auth.id, state.now());
    let today = state.calendar().today(now);
    let offer = state
        .db_offers_write(move |conn| {
            conn.transaction(|conn| {
                let current = model::lock(conn, id)?.ok_or_else(ApiError::not_found)?;
                check_if_match(&expected, &version_etag(current.id, current.version))?;
                if current.status == OfferStatus::Archived {
                    return Err(ApiError::conflict(
                        Code::OfferArchived,
                        "An archived offer can no longer change.",
                    ));
                }
                let valid = validate(conn, new_content(&current)?)?;
                // The slug follows the title until the offer is first published; links stay valid after.
                let slug = if current.first_published_at.is_none()
                    && valid.input.title != current.content.title
                {
                    model::unique_slug(conn, &domain::slugify(&valid.input.title), Some(id))?
                } else {
                    current.slug.clone()
                };
                let changed = serde_json::to_value(&valid.input).ok()
                    != serde_json::to_value(offer_input(&current)).ok();
                let mut offer =
                    model::update_content(conn, id, &OfferContent::from(&valid), &slug, actor, now)
                        .map_err(reference_taken)?;
                // What was approved is no longer what would be published: ask again.
                let sent_back = changed
                    && offer.status == OfferStatus::Draft
                    && offer.workflow.approval.after_content_change() != offer.workflow.approval;
                if sent_back {
                    offer = model::clear_approval(conn, id)?;
                }
                audit::Audit::staff(actor)
                    .did("offer.updated")
                    .on("offer", offer.id)
                    .with(if sent_back {
                        json!({ "approval": { "from": current.workflow.approval, "to": offer.workflow.approval } })
                    } else {
                        json!({})
                    })
                    .record(conn, now)?;
                if offer.status == OfferStatus::Published {
                    crate::partners::webhooks::record_offer_event(
                        conn,
                        "offer.updated",
                        &offer,
                        now,
                        today,
                    )?;
                }
                Ok(offer)
            })
        })
        .await?;
    log::info!("offer {} updated by {}", offer.id, actor);
    Ok(respond(actix_web::http::StatusCode::OK, &offer, today))
}

/// Replace an offer's content (needs If-Match).
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"),
           ("If-Match" = String, Header, description = "The offer's current ETag")),
    request_body = OfferInput,
    responses(
        (status = 200, description = "Updated", body = StaffOfferResponse),
        (status = 403, description = "Reviewers may not write offers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or reference already used", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/staff/offers/{id}")]
pub async fn replace_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: JsonBody<OfferInput>,
) -> Result<HttpResponse, ApiError> {
    write_content(&state, &auth, &req, id.into_inner(), move |_| body.take()).await
}

/// Change some fields of an offer (JSON merge patch, RFC 7396; needs If-Match).
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"),
           ("If-Match" = String, Header, description = "The offer's current ETag")),
    request_body(content = Object, description = "Fields of OfferInput to change; null removes an optional field",
        content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = StaffOfferResponse),
        (status = 403, description = "Reviewers may not write offers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or reference already used", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/staff/offers/{id}")]
pub async fn patch_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    require_writer(&state, &auth, *id).await?;
    let patch = body.take()?;
    if !patch.is_object() {
        return Err(ApiError::new(
            crate::error::ErrorKind::Unprocessable,
            Code::InvalidBody,
            "A merge patch is a JSON object.",
        ));
    }
    write_content(&state, &auth, &req, id.into_inner(), move |current| {
        let mut doc = serde_json::to_value(offer_input(current)).map_err(ApiError::internal)?;
        domain::merge_patch(&mut doc, &patch);
        serde_json::from_value(doc).map_err(|e| {
            ApiError::new(
                crate::error::ErrorKind::Unprocessable,
                Code::InvalidBody,
                format!("The patched offer does not have the expected shape: {e}"),
            )
        })
    })
    .await
}

/// Delete a draft (needs If-Match). Published offers are closed and archived instead.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"),
           ("If-Match" = String, Header, description = "The offer's current ETag")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Reviewers may not write offers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/staff/offers/{id}")]
pub async fn delete_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    require_writer(&state, &auth, *id).await?;
    let expected = if_match(&req)?;
    let (id, actor, now) = (id.into_inner(), auth.id, state.now());
    state
        .db_offers_write(move |conn| {
            conn.transaction(|conn| {
                let current = model::lock(conn, id)?.ok_or_else(ApiError::not_found)?;
                check_if_match(&expected, &version_etag(current.id, current.version))?;
                if current.status != OfferStatus::Draft {
                    return Err(ApiError::conflict(
                        Code::NotADraft,
                        "Only drafts can be deleted; close or archive a published offer.",
                    ));
                }
                model::delete(conn, id)?;
                audit::Audit::staff(actor)
                    .did("offer.deleted")
                    .on("offer", current.id)
                    .with(json!({ "reference": current.content.reference }))
                    .record(conn, now)?;
                Ok(())
            })
        })
        .await?;
    log::info!("offer {id} deleted by {actor}");
    Ok(HttpResponse::NoContent().finish())
}

/// Applies a status transition: checks the version, then [`lifecycle::move_offer`] (the
/// machine, and for publishing the whole offer, its deadline and its approval). Reopening
/// may move the deadline first (`deadline`); after an automatic close it must.
async fn transition(
    state: &AppState,
    auth: &AuthUser,
    req: &HttpRequest,
    id: Uuid,
    t: Transition,
    new_deadline: Option<chrono::NaiveDate>,
) -> Result<HttpResponse, ApiError> {
    require_writer(state, auth, id).await?;
    let expected = if_match(req)?;
    let (actor, now) = (auth.id, state.now());
    let ctx = MoveContext {
        actor: Some(actor),
        now,
        today: state.calendar().today(now),
        approval: state.settings.calendar.approval,
    };
    let offer = state
        .db_offers_write(move |conn| {
            conn.transaction(|conn| {
                let mut current = model::lock(conn, id)?.ok_or_else(ApiError::not_found)?;
                check_if_match(&expected, &version_etag(current.id, current.version))?;
                let mut details = json!({});
                if t == Transition::Reopen && current.status == OfferStatus::Closed {
                    if let Some(deadline) = new_deadline {
                        lifecycle::check_deadline_open("deadline", deadline, ctx.today)?;
                        let mut input = offer_input(&current);
                        input.application.deadline = deadline.to_string();
                        let valid = validate(conn, input)?;
                        details = json!({ "deadline": {
                            "from": current.content.application_deadline, "to": deadline } });
                        current = model::update_content(
                            conn,
                            id,
                            &OfferContent::from(&valid),
                            &current.slug,
                            actor,
                            now,
                        )?;
                    } else if current.workflow.closed_reason == Some(CloseReason::DeadlinePassed) {
                        return Err(ApiError::invalid_field(
                            "deadline",
                            "required",
                            "this offer was closed because its deadline passed: give a new \
                             deadline (today or later) to reopen it",
                        ));
                    }
                }
                lifecycle::move_offer(conn, &current, t, None, details, ctx)
            })
        })
        .await?;
    log::info!(
        "offer {} moved to {} by {}",
        offer.id,
        offer.status.as_str(),
        auth.id
    );
    Ok(respond(actix_web::http::StatusCode::OK, &offer, ctx.today))
}

macro_rules! transition_route {
    ($name:ident, $path:literal, $t:expr, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            tag = "staff offers",
            security(("bearer" = [])),
            params(("id" = Uuid, Path, description = "Offer id"),
                   ("If-Match" = String, Header, description = "The offer's current ETag")),
            responses(
                (status = 200, description = "Moved", body = StaffOfferResponse),
                (status = 403, description = "Reviewers may not write offers", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Not allowed from the current status", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "The offer is not valid for publishing (deadline passed, rules)", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($path)]
        pub async fn $name(state: web::Data<AppState>, auth: AuthUser, req: HttpRequest, id: web::Path<Uuid>) -> Result<HttpResponse, ApiError> {
            transition(&state, &auth, &req, id.into_inner(), $t, None).await
        }
    };
}

transition_route!(
    publish_offer,
    "/staff/offers/{id}/publish",
    Transition::Publish,
    "Publish a draft: the whole offer is checked again and its deadline must not have passed."
);
transition_route!(
    close_offer,
    "/staff/offers/{id}/close",
    Transition::Close,
    "Close a published offer: it stays visible but takes no more applications."
);
transition_route!(
    archive_offer,
    "/staff/offers/{id}/archive",
    Transition::Archive,
    "Archive a closed offer: it leaves the public site."
);
/// The optional body of a reopen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenInput {
    /// A new application deadline (`YYYY-MM-DD`), today or later in the city's time zone.
    /// Required when the offer was closed because its deadline passed.
    #[schema(example = "2027-03-15")]
    pub deadline: Option<String>,
}

/// Reopen a closed offer: published again, if its deadline has not passed. An offer the
/// calendar closed at its deadline needs a new deadline in the body.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"),
           ("If-Match" = String, Header, description = "The offer's current ETag")),
    request_body(content = Option<ReopenInput>, description = "Optional; `deadline` is required after an automatic close"),
    responses(
        (status = 200, description = "Published again", body = StaffOfferResponse),
        (status = 403, description = "Reviewers may not write offers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Deadline missing (after an automatic close) or passed, or the offer is not valid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/offers/{id}/reopen")]
pub async fn reopen_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: OptionalJsonBody<ReopenInput>,
) -> Result<HttpResponse, ApiError> {
    require_writer(&state, &auth, *id).await?;
    let deadline = match body.take()?.and_then(|b| b.deadline) {
        None => None,
        Some(raw) => Some(raw.trim().parse::<chrono::NaiveDate>().map_err(|_| {
            ApiError::invalid_field("deadline", "invalid_date", "must be a date as YYYY-MM-DD")
        })?),
    };
    transition(
        &state,
        &auth,
        &req,
        id.into_inner(),
        Transition::Reopen,
        deadline,
    )
    .await
}
