//! The calendar sweep, run by the job system: closes the published offers whose deadline
//! day has ended in the city's time zone (reason `deadline_passed`) and publishes the drafts
//! whose `publish_at` has come, each with the events of the same move made by hand.
//!
//! One sweep job exists at a time (a unique index on its kind): `serve` queues one when it
//! starts, which catches up after any downtime, and then at the start of every
//! `CALENDAR_INTERVAL_SECONDS` period; a worker of any instance claims it with the queue's
//! lease. Each offer is moved in its own transaction on its locked row, re-checked after
//! the lock, so two sweeps (a lease that ran out, a second instance) never close or publish
//! an offer twice, and a failure leaves the others done.

use super::{
    domain::{OfferStatus, Transition},
    lifecycle::{self, MoveContext},
    mail,
    model::{self, Offer},
    workflow::CloseReason,
};
use crate::{
    audit,
    calendar::CityCalendar,
    db::schema::jobs,
    error::{ApiError, ErrorKind},
    jobs::{Job, JobError},
    settings::PublicationApproval,
    state::AppState,
};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::{prelude::*, sql_types::Timestamptz, Connection, PgConnection};
use serde_json::json;
use uuid::Uuid;

/// The kind of the sweep job.
pub const CALENDAR: &str = "offer.calendar";

/// Offers looked at per query; the sweep loops until none is due.
const BATCH: i64 = 100;

/// What a sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Closed because their deadline day ended.
    pub closed: Vec<Uuid>,
    /// Published at their scheduled time.
    pub published: Vec<Uuid>,
    /// Due for publication but refused (not valid, deadline passed, not approved); their
    /// schedule is cancelled and their author told.
    pub refused: Vec<Uuid>,
}

/// Queues a sweep to run at `at`, unless one is queued already (or running). A sweep that
/// used all its attempts is brought back. True when this call queued it.
pub fn queue(conn: &mut PgConnection, at: DateTime<Utc>) -> QueryResult<bool> {
    let queued = diesel::sql_query(
        "INSERT INTO jobs (kind, payload, run_at, max_attempts) \
         VALUES ($1, '{}'::jsonb, $2, $3) \
         ON CONFLICT (kind) WHERE kind = 'offer.calendar' DO UPDATE \
             SET attempts = 0, locked_until = NULL, run_at = EXCLUDED.run_at \
             WHERE jobs.attempts >= jobs.max_attempts",
    )
    .bind::<diesel::sql_types::Text, _>(CALENDAR)
    .bind::<Timestamptz, _>(at)
    .bind::<diesel::sql_types::Integer, _>(crate::jobs::DEFAULT_MAX_ATTEMPTS)
    .execute(conn)?;
    Ok(queued == 1)
}

/// Whether a sweep is queued or running.
pub fn is_queued(conn: &mut PgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        jobs::table.filter(jobs::kind.eq(CALENDAR)),
    ))
    .get_result(conn)
}

/// The job handler (blocking, on the blocking pool).
pub fn deliver(state: &AppState, _job: &Job) -> Result<(), JobError> {
    let mut conn = state
        .pool
        .get()
        .map_err(|e| JobError::Retry(format!("database pool: {e}")))?;
    let report = sweep(
        &mut conn,
        state.calendar(),
        state.settings.calendar.approval,
        state.now(),
    )
    .map_err(|e| JobError::Retry(format!("calendar sweep: {e}")))?;
    if report != SweepReport::default() {
        log::info!(
            "calendar: {} offer(s) closed at their deadline, {} published as scheduled, {} \
             scheduled publication(s) refused",
            report.closed.len(),
            report.published.len(),
            report.refused.len()
        );
    }
    Ok(())
}

/// Closes and publishes what is due at `now`.
pub fn sweep(
    conn: &mut PgConnection,
    calendar: &CityCalendar,
    approval: PublicationApproval,
    now: DateTime<Utc>,
) -> Result<SweepReport, diesel::result::Error> {
    let ctx = MoveContext {
        actor: None,
        now,
        today: calendar.today(now),
        approval,
    };
    let mut report = SweepReport::default();
    loop {
        let due = model::deadline_passed(conn, ctx.today, BATCH)?;
        let mut moved = 0;
        for id in &due {
            if conn.transaction(|conn| close_one(conn, *id, ctx))? {
                report.closed.push(*id);
                moved += 1;
            }
        }
        // Rows another sweep moved meanwhile are not due any more; stop when nothing moved.
        if (due.len() as i64) < BATCH || moved == 0 {
            break;
        }
    }
    loop {
        let due = model::publication_due(conn, now, BATCH)?;
        let mut moved = 0;
        for id in &due {
            match conn.transaction(|conn| publish_one(conn, *id, ctx, calendar))? {
                Some(true) => report.published.push(*id),
                Some(false) => report.refused.push(*id),
                None => continue,
            }
            moved += 1;
        }
        if (due.len() as i64) < BATCH || moved == 0 {
            break;
        }
    }
    Ok(report)
}

/// Closes one offer if it is still published with its deadline day over. False when
/// another sweep or a staff member got there first.
fn close_one(
    conn: &mut PgConnection,
    id: Uuid,
    ctx: MoveContext,
) -> Result<bool, diesel::result::Error> {
    let Some(current) = model::lock(conn, id)? else {
        return Ok(false);
    };
    if current.status != OfferStatus::Published || current.content.application_deadline >= ctx.today
    {
        return Ok(false);
    }
    let details = json!({ "deadline": current.content.application_deadline });
    let offer = lifecycle::move_offer(
        conn,
        &current,
        Transition::Close,
        Some(CloseReason::DeadlinePassed),
        details,
        ctx,
    )
    .map_err(database_or_bug)?;
    crate::jobs::enqueue_email(conn, &mail::closed_at_deadline(&offer), ctx.now)?;
    Ok(true)
}

/// Publishes one scheduled draft if its time has come: `Some(true)` when published,
/// `Some(false)` when refused (schedule cancelled, author told), `None` when it was no
/// longer due.
fn publish_one(
    conn: &mut PgConnection,
    id: Uuid,
    ctx: MoveContext,
    calendar: &CityCalendar,
) -> Result<Option<bool>, diesel::result::Error> {
    let Some(current) = model::lock(conn, id)? else {
        return Ok(None);
    };
    let Some(publish_at) = current.workflow.publish_at else {
        return Ok(None);
    };
    if current.status != OfferStatus::Draft || publish_at > ctx.now {
        return Ok(None);
    }
    let details = json!({ "scheduled": true, "publish_at": publish_at,
                          "scheduled_by": current.workflow.scheduled_by });
    // A refusal is found before anything is written, so the transaction can go on to
    // record it.
    match lifecycle::move_offer(conn, &current, Transition::Publish, None, details, ctx) {
        Ok(_) => Ok(Some(true)),
        Err(e) if is_refusal(&e) => {
            refuse(conn, &current, &e, ctx, calendar)?;
            Ok(Some(false))
        }
        Err(e) => Err(database_or_bug(e)),
    }
}

/// Cancels the schedule, records why in the offer's history and tells its author.
fn refuse(
    conn: &mut PgConnection,
    offer: &Offer,
    why: &ApiError,
    ctx: MoveContext,
    calendar: &CityCalendar,
) -> Result<(), diesel::result::Error> {
    let problem = why.problem();
    let updated = model::set_schedule(conn, offer.id, None, None, ctx.now)?;
    audit::Audit::system()
        .did("offer.schedule_failed")
        .on("offer", updated.id)
        .with(json!({
            "publish_at": offer.workflow.publish_at,
            "code": why.code().as_str(),
            "detail": problem.detail,
            "errors": problem.errors,
        }))
        .record(conn, ctx.now)?;
    let author = offer.workflow.scheduled_by.or(offer.created_by);
    let to = match author {
        Some(id) => crate::auth::model::find_by_id(conn, id)?.map(|u| u.email),
        None => None,
    };
    let Some(to) = to else {
        log::warn!(
            "calendar: the scheduled publication of offer {} was refused ({}) and its author \
             is gone; see its history",
            offer.id,
            why.code().as_str()
        );
        return Ok(());
    };
    let mut text = problem.detail.clone();
    for e in &problem.errors {
        text.push_str(&format!("\n- {} : {}", e.field, e.message));
    }
    let when = offer
        .workflow
        .publish_at
        .map(|t| calendar.local(t).format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_default();
    let text = format!("Publication prévue le {when} : {text}");
    crate::jobs::enqueue_email(conn, &mail::schedule_failed(offer, &to, &text), ctx.now)?;
    Ok(())
}

/// A refusal of the move itself (the offer is not publishable), as opposed to a failure of
/// the database.
fn is_refusal(e: &ApiError) -> bool {
    matches!(e.kind(), ErrorKind::Conflict | ErrorKind::Unprocessable)
}

fn database_or_bug(e: ApiError) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(
        format!(
            "calendar: {}",
            e.internal_cause().unwrap_or(e.code().as_str())
        )
        .into(),
    )
}

/// Queues a sweep at start (catching up after downtime), then at the start of every
/// `CALENDAR_INTERVAL_SECONDS` period: on the minute with the default.
pub fn spawn_schedule(state: AppState) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        // Not before the schema is migrated (a server may start before its database).
        state.schema.wait_ready().await;
        let every = state.settings.calendar.interval;
        let mut at = state.now();
        loop {
            let pool = state.pool.clone();
            let queued = actix_web::web::block(move || -> Result<bool, String> {
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                queue(&mut conn, at).map_err(|e| e.to_string())
            })
            .await;
            if let Ok(Err(e)) | Err(e) = queued.map_err(|e| e.to_string()) {
                log::warn!("calendar: could not queue the sweep: {e}");
            }
            let now = state.now();
            at = next_period(now, every);
            let wait = (at - now).to_std().unwrap_or_default();
            actix_web::rt::time::sleep(wait).await;
        }
    })
}

/// The start of the next period of `every` after `now`, periods counted from the epoch.
pub fn next_period(now: DateTime<Utc>, every: std::time::Duration) -> DateTime<Utc> {
    let every = i64::try_from(every.as_secs()).unwrap_or(60).max(1);
    let next = (now.timestamp().div_euclid(every) + 1) * every;
    DateTime::from_timestamp(next, 0).unwrap_or(now + TimeDelta::seconds(every))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_on_the_minute() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let minute = std::time::Duration::from_secs(60);
        assert_eq!(
            next_period(at("2027-01-15T22:59:59.999Z"), minute),
            at("2027-01-15T23:00:00Z")
        );
        assert_eq!(
            next_period(at("2027-01-15T23:00:00Z"), minute),
            at("2027-01-15T23:01:00Z")
        );
        assert_eq!(
            next_period(
                at("2027-01-15T23:00:07Z"),
                std::time::Duration::from_secs(3600)
            ),
            at("2027-01-16T00:00:00Z")
        );
    }
}
