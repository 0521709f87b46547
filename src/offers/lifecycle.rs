//! The moves of an offer that staff routes and the calendar sweep share. Each works on a
//! row the caller locked, inside the caller's transaction: it checks, writes, audits and
//! tells partners together, so a move and its events exist exactly when it committed.

use super::{
    domain::{self, OfferInput, OfferStatus, Transition, ValidOffer},
    model::{self, Offer},
    views::offer_input,
    workflow::{Approval, CloseReason},
};
use crate::{
    audit,
    error::{ApiError, Code},
    settings::PublicationApproval,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::PgConnection;
use serde_json::json;
use uuid::Uuid;

/// The whole offer checked against the rules, with this year's legal minimums.
pub fn validate(conn: &mut PgConnection, input: OfferInput) -> Result<ValidOffer, ApiError> {
    let minimums = model::gratification_minimums(conn)?;
    domain::validate(input, &minimums).map_err(ApiError::validation)
}

/// What a move needs to know besides the offer: who makes it (`None`: the calendar), when,
/// the city's date then, and whether publishing needs an approval.
#[derive(Debug, Clone, Copy)]
pub struct MoveContext {
    pub actor: Option<Uuid>,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    pub approval: PublicationApproval,
}

/// 422 `deadline_passed` on `field` when `deadline`'s day has ended in the city.
pub fn check_deadline_open(
    field: &str,
    deadline: NaiveDate,
    today: NaiveDate,
) -> Result<(), ApiError> {
    if deadline < today {
        return Err(ApiError::invalid_field(
            field,
            "deadline_passed",
            format!(
                "{deadline} has ended in the city's time zone (today is {today}): \
                 move the deadline first"
            ),
        ));
    }
    Ok(())
}

/// 409 `approval_required` unless the draft is approved, when the city requires it.
pub fn check_approved(offer: &Offer, approval: PublicationApproval) -> Result<(), ApiError> {
    if approval == PublicationApproval::Required && offer.workflow.approval != Approval::Approved {
        return Err(ApiError::conflict(
            Code::ApprovalRequired,
            format!(
                "This offer must be approved by a second admin or manager before it is \
                 published or scheduled (its approval is {}).",
                offer.workflow.approval.as_str()
            ),
        ));
    }
    Ok(())
}

/// Everything publishing checks: the whole offer is valid, its deadline day has not ended
/// on `day`, and it is approved when approval is required.
pub fn check_publishable(
    conn: &mut PgConnection,
    offer: &Offer,
    day: NaiveDate,
    approval: PublicationApproval,
) -> Result<(), ApiError> {
    validate(conn, offer_input(offer))?;
    check_deadline_open(
        "application.deadline",
        offer.content.application_deadline,
        day,
    )?;
    check_approved(offer, approval)
}

/// The audit action of a move, which is also its name in the offer's history.
pub fn action(t: Transition) -> &'static str {
    match t {
        Transition::Publish => "offer.published",
        Transition::Close => "offer.closed",
        Transition::Archive => "offer.archived",
        Transition::Reopen => "offer.reopened",
    }
}

/// Applies a status move to `current` (locked by the caller): the status machine, the
/// publishing checks, the write, the audit entry (`details` joined to `from` and `to`) and
/// the partners' event. A closing records `reason` (`manual` when `None`).
pub fn move_offer(
    conn: &mut PgConnection,
    current: &Offer,
    t: Transition,
    reason: Option<CloseReason>,
    details: serde_json::Value,
    ctx: MoveContext,
) -> Result<Offer, ApiError> {
    let to = t
        .apply(current.status)
        .map_err(|why| ApiError::conflict(Code::IllegalTransition, why))?;
    if t.needs_open_deadline() {
        validate(conn, offer_input(current))?;
        check_deadline_open(
            "application.deadline",
            current.content.application_deadline,
            ctx.today,
        )?;
        if t == Transition::Publish {
            check_approved(current, ctx.approval)?;
        }
    }
    let offer = model::set_status(conn, current, to, reason, ctx.actor, ctx.now)?;
    let mut entry = json!({ "from": current.status, "to": offer.status });
    if let (Some(map), serde_json::Value::Object(more)) = (entry.as_object_mut(), details) {
        map.extend(more);
    }
    if to == OfferStatus::Closed {
        entry["reason"] = json!(offer.workflow.closed_reason);
    }
    audit::Audit::by(ctx.actor)
        .did(action(t))
        .on("offer", offer.id)
        .with(entry)
        .record(conn, ctx.now)?;
    // Partners hear of it in the same transaction: no event without the change.
    let event = match t {
        Transition::Publish | Transition::Reopen => "offer.published",
        Transition::Close => "offer.closed",
        Transition::Archive => "offer.archived",
    };
    crate::partners::webhooks::record_offer_event(conn, event, &offer, ctx.now, ctx.today)?;
    Ok(offer)
}
