//! The steps of a draft before the calendar or a person publishes it, and the offer's
//! history:
//! - `POST /staff/offers/{id}/submit|approve|reject`: the four-eyes approval
//!   (`PUBLICATION_APPROVAL=required`); the submitter cannot decide on their own offer;
//! - `POST|DELETE /staff/offers/{id}/schedule`: publication at a set time by the calendar;
//! - `GET /staff/offers/{id}/history`: every step, move and change, newest first.
//!
//! Every write needs `If-Match`, is audited, and shows in the history.

use super::{
    domain::OfferStatus,
    lifecycle::check_publishable,
    mail,
    model::{self, Offer},
    staff::{require_reader, require_writer, respond},
    views::StaffOfferResponse,
    workflow::{ApprovalStep, StepRefused},
};
use crate::{
    audit::{self, model::AuditFilter, routes::AuditPage},
    auth::AuthUser,
    error::{ApiError, Code, ErrorKind, Problem},
    http::pages::checked_limit,
    http::{check_if_match, if_match, version_etag, JsonBody},
    settings::PublicationApproval,
    state::AppState,
};
use actix_web::{delete, get, http::StatusCode, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::{Connection, PgConnection};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(submit_offer)
        .service(approve_offer)
        .service(reject_offer)
        .service(schedule_offer)
        .service(unschedule_offer)
        .service(offer_history);
}

/// How far ahead a publication may be scheduled.
const MAX_SCHEDULE_DAYS: i64 = 366;
/// The longest rejection reason.
const MAX_REASON_CHARS: usize = 2000;

/// Locks the offer, checks `If-Match`, runs `step` and answers the offer as it is after it.
async fn write_step(
    state: &AppState,
    auth: &AuthUser,
    req: &HttpRequest,
    id: Uuid,
    step: impl FnOnce(&mut PgConnection, Offer, Uuid, DateTime<Utc>) -> Result<Offer, ApiError>
        + Send
        + 'static,
) -> Result<HttpResponse, ApiError> {
    require_writer(state, auth, id).await?;
    let expected = if_match(req)?;
    let (actor, now) = (auth.id, state.now());
    let offer = state
        .db_offers_write(move |conn| {
            conn.transaction(|conn| {
                let current = model::lock(conn, id)?.ok_or_else(ApiError::not_found)?;
                check_if_match(&expected, &version_etag(current.id, current.version))?;
                step(conn, current, actor, now)
            })
        })
        .await?;
    Ok(respond(StatusCode::OK, &offer, state.calendar().today(now)))
}

fn require_draft(offer: &Offer, what: &str) -> Result<(), ApiError> {
    if offer.status != OfferStatus::Draft {
        return Err(ApiError::conflict(
            Code::NotADraft,
            format!(
                "Only a draft can be {what}; this offer is {}.",
                offer.status.as_str()
            ),
        ));
    }
    Ok(())
}

fn require_approval_on(state: &AppState) -> Result<(), ApiError> {
    if state.settings.calendar.approval != PublicationApproval::Required {
        return Err(ApiError::conflict(
            Code::ApprovalNotRequired,
            "This city publishes without a second approval (PUBLICATION_APPROVAL=none): \
             publish or schedule the draft directly.",
        ));
    }
    Ok(())
}

/// Applies an approval step to a locked draft, audited as `offer.<step>ted`.
fn approval_step(
    conn: &mut PgConnection,
    current: &Offer,
    step: ApprovalStep,
    actor: Uuid,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Offer, ApiError> {
    require_draft(current, "submitted, approved or rejected")?;
    let to = step
        .apply(
            current.workflow.approval,
            actor,
            current.workflow.submitted_by,
        )
        .map_err(|refused| match refused {
            StepRefused::WrongState(why) => ApiError::conflict(Code::IllegalTransition, why),
            StepRefused::OwnSubmission => ApiError::new(
                ErrorKind::Forbidden,
                Code::OwnSubmission,
                "You submitted this offer: another admin or manager must approve or reject it.",
            ),
        })?;
    let offer = model::set_approval(conn, current, to, actor, reason, now)?;
    let action = match step {
        ApprovalStep::Submit => "offer.submitted",
        ApprovalStep::Approve => "offer.approved",
        ApprovalStep::Reject => "offer.rejected",
    };
    let mut details = json!({ "from": current.workflow.approval, "to": to });
    if let Some(reason) = reason {
        details["reason"] = json!(reason);
    }
    audit::Audit::staff(actor)
        .did(action)
        .on("offer", offer.id)
        .with(details)
        .record(conn, now)?;
    Ok(offer)
}

/// Submit a draft for approval (when `PUBLICATION_APPROVAL=required`): it must be ready to
/// publish, deadline included.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"),
           ("If-Match" = String, Header, description = "The offer's current ETag")),
    responses(
        (status = 200, description = "Submitted: `approval.status` is `submitted`", body = StaffOfferResponse),
        (status = 403, description = "Reviewers may not write offers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft, already submitted or approved, or approval is not required", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The offer is not valid for publishing (deadline passed, rules)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/offers/{id}/submit")]
pub async fn submit_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    require_writer(&state, &auth, *id).await?;
    require_approval_on(&state)?;
    let today = state.today();
    write_step(
        &state,
        &auth,
        &req,
        *id,
        move |conn, current, actor, now| {
            require_draft(&current, "submitted")?;
            // Approving something that could not be published would be wasted work.
            check_publishable(conn, &current, today, PublicationApproval::None)?;
            approval_step(conn, &current, ApprovalStep::Submit, actor, None, now)
        },
    )
    .await
}

/// Approve a submitted draft: by an admin or manager other than its submitter. It can then
/// be published or scheduled.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"),
           ("If-Match" = String, Header, description = "The offer's current ETag")),
    responses(
        (status = 200, description = "Approved", body = StaffOfferResponse),
        (status = 403, description = "Reviewers may not write offers; the submitter may not approve (`own_submission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a submitted draft, or approval is not required", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/offers/{id}/approve")]
pub async fn approve_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    require_writer(&state, &auth, *id).await?;
    require_approval_on(&state)?;
    write_step(
        &state,
        &auth,
        &req,
        *id,
        move |conn, current, actor, now| {
            approval_step(conn, &current, ApprovalStep::Approve, actor, None, now)
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectInput {
    /// Why, for the submitter (1 to 2000 characters).
    #[schema(example = "La gratification indiquée ne correspond pas au barème 2027.")]
    pub reason: String,
}

/// Reject a submitted draft with a reason (told to the submitter by email): by an admin or
/// manager other than its submitter.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"),
           ("If-Match" = String, Header, description = "The offer's current ETag")),
    request_body = RejectInput,
    responses(
        (status = 200, description = "Rejected", body = StaffOfferResponse),
        (status = 403, description = "Reviewers may not write offers; the submitter may not reject (`own_submission`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a submitted draft, or approval is not required", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason, or too long", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/offers/{id}/reject")]
pub async fn reject_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: JsonBody<RejectInput>,
) -> Result<HttpResponse, ApiError> {
    require_writer(&state, &auth, *id).await?;
    require_approval_on(&state)?;
    let reason = body.take()?.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid_field(
            "reason",
            "length",
            "must be 1 to 2000 characters",
        ));
    }
    write_step(
        &state,
        &auth,
        &req,
        *id,
        move |conn, current, actor, now| {
            let offer = approval_step(
                conn,
                &current,
                ApprovalStep::Reject,
                actor,
                Some(&reason),
                now,
            )?;
            if let Some(submitter) = current.workflow.submitted_by {
                if let Some(user) = crate::auth::model::find_by_id(conn, submitter)? {
                    let email = mail::approval_rejected(&offer, &user.email, &reason);
                    crate::jobs::enqueue_email(conn, &email, now)?;
                }
            }
            Ok(offer)
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// When the calendar publishes the draft (RFC 3339, with its offset): in the future and
    /// within a year. The sweep runs each `CALENDAR_INTERVAL_SECONDS` (on the minute by
    /// default), so the offer appears at the first sweep at or after this time.
    #[schema(example = "2027-01-04T09:00:00+01:00")]
    pub publish_at: DateTime<Utc>,
}

/// Schedule a draft's publication: the calendar publishes it at `publish_at` with the same
/// checks and events as a manual publish. It must be publishable then (its deadline day not
/// over on the publication day; approved when required); if it is not by then, it stays a
/// draft and whoever scheduled it is told why. Replaces an earlier schedule.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"),
           ("If-Match" = String, Header, description = "The offer's current ETag")),
    request_body = ScheduleInput,
    responses(
        (status = 200, description = "Scheduled: `publish_at` is set", body = StaffOfferResponse),
        (status = 403, description = "Reviewers may not write offers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft, or not approved when approval is required", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`publish_at` in the past or more than a year ahead; the offer is not valid or its deadline ends before the publication", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/offers/{id}/schedule")]
pub async fn schedule_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: JsonBody<ScheduleInput>,
) -> Result<HttpResponse, ApiError> {
    require_writer(&state, &auth, *id).await?;
    let publish_at = body.take()?.publish_at;
    let now = state.now();
    if publish_at <= now {
        return Err(ApiError::invalid_field(
            "publish_at",
            "in_the_past",
            "must be in the future; publish the draft now instead",
        ));
    }
    if publish_at > now + TimeDelta::days(MAX_SCHEDULE_DAYS) {
        return Err(ApiError::invalid_field(
            "publish_at",
            "too_far",
            "must be within a year",
        ));
    }
    let (publication_day, approval) = (
        state.calendar().today(publish_at),
        state.settings.calendar.approval,
    );
    write_step(
        &state,
        &auth,
        &req,
        *id,
        move |conn, current, actor, now| {
            require_draft(&current, "scheduled")?;
            check_publishable(conn, &current, publication_day, approval)?;
            let offer = model::set_schedule(conn, current.id, Some(publish_at), Some(actor), now)?;
            audit::Audit::staff(actor)
                .did("offer.scheduled")
                .on("offer", offer.id)
                .with(json!({ "publish_at": publish_at, "replaces": current.workflow.publish_at }))
                .record(conn, now)?;
            Ok(offer)
        },
    )
    .await
}

/// Cancel a draft's scheduled publication.
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"),
           ("If-Match" = String, Header, description = "The offer's current ETag")),
    responses(
        (status = 200, description = "No longer scheduled", body = StaffOfferResponse),
        (status = 403, description = "Reviewers may not write offers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not scheduled (`not_scheduled`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/staff/offers/{id}/schedule")]
pub async fn unschedule_offer(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    write_step(
        &state,
        &auth,
        &req,
        *id,
        move |conn, current, actor, now| {
            let Some(was) = current.workflow.publish_at else {
                return Err(ApiError::conflict(
                    Code::NotScheduled,
                    "This offer has no scheduled publication.",
                ));
            };
            let offer = model::set_schedule(conn, current.id, None, Some(actor), now)?;
            audit::Audit::staff(actor)
                .did("offer.schedule_cancelled")
                .on("offer", offer.id)
                .with(json!({ "publish_at": was }))
                .record(conn, now)?;
            Ok(offer)
        },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100, default = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An offer's history, newest first: its creation, changes, approval steps, schedule and
/// moves, by staff or by the calendar (`actor: null`, e.g. `offer.closed` with reason
/// `deadline_passed`).
#[utoipa::path(
    tag = "staff offers",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"), HistoryQuery),
    responses(
        (status = 200, description = "A page of the history, newest first", body = AuditPage,
            headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 404, description = "No such offer, or not assigned to you (reviewers)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/offers/{id}/history")]
pub async fn offer_history(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    require_reader(&state, &auth, id).await?;
    let limit = checked_limit(query.limit, 50)?;
    let before = query
        .cursor
        .as_deref()
        .map(<crate::db::pagination::Position<i64> as crate::db::pagination::Cursor>::decode)
        .transpose()?;
    let exists = state
        .db(move |conn| Ok(model::find(conn, id)?.is_some()))
        .await?;
    if !exists {
        return Err(ApiError::not_found());
    }
    let filter = AuditFilter {
        object_type: Some("offer".into()),
        object_id: Some(id.to_string()),
        before,
        ..AuditFilter::default()
    };
    crate::audit::routes::answer_page(&state, &req, filter, limit).await
}
