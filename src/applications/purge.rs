//! The retention purge (CNIL): applications of finished recruitments are erased a set time
//! after the decision, or after the last contact for candidates in the talent pool, counted
//! in whole days of the city's calendar (`CITY_TIME_ZONE`, see [`RetentionPolicy`]). Run by
//! `passerelle purge` and on a schedule in `serve`; one instance at a time (advisory lock).

use super::{
    domain::{erase_after, RetentionPolicy},
    model,
};
use crate::{audit, settings::Settings};
use chrono::{DateTime, Duration, Utc};
use diesel::{sql_query, Connection, PgConnection, QueryableByName, RunQueryDsl};
use uuid::Uuid;

const PURGE_LOCK_KEY: i64 = 0x7061_7373_7075_7267; // "passpurg"
const BATCH: i64 = 500;
/// Replies kept for Idempotency-Key (an application's id) are forgotten after a day.
const IDEMPOTENCY_WINDOW_HOURS: i64 = 24;

/// The retention periods of the settings, counted in days of `CITY_TIME_ZONE`.
pub fn policy(settings: &Settings) -> RetentionPolicy {
    RetentionPolicy {
        after_decision_days: settings.applications.retention_after_decision_days,
        talent_pool_days: settings.applications.talent_pool_retention_days,
        calendar: settings.calendar.zone.clone(),
    }
}

#[derive(Debug, Default)]
pub struct PurgeReport {
    /// Applications erased (or, in a dry run, that would be).
    pub applications: Vec<Uuid>,
    /// False when another instance held the purge lock.
    pub ran: bool,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Erases what the policy says is due at `now`; with `dry_run`, only lists it.
pub fn run(
    conn: &mut PgConnection,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<PurgeReport, diesel::result::Error> {
    let got: Locked = sql_query(format!(
        "SELECT pg_try_advisory_lock({PURGE_LOCK_KEY}) AS locked"
    ))
    .get_result(conn)?;
    if !got.locked {
        return Ok(PurgeReport::default());
    }
    let result = purge_locked(conn, policy, now, dry_run);
    sql_query(format!("SELECT pg_advisory_unlock({PURGE_LOCK_KEY})")).execute(conn)?;
    result
}

fn purge_locked(
    conn: &mut PgConnection,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<PurgeReport, diesel::result::Error> {
    let mut report = PurgeReport {
        ran: true,
        ..PurgeReport::default()
    };
    let mut skipped = std::collections::HashSet::new();
    loop {
        let batch = model::retention_candidates(
            conn,
            policy.decided_before(now),
            BATCH + skipped.len() as i64,
        )?;
        let due: Vec<_> = batch
            .iter()
            .filter(|c| !skipped.contains(&c.id) && !report.applications.contains(&c.id))
            .filter(|c| {
                erase_after(
                    c.status,
                    c.decided_at,
                    c.offer_closed_at,
                    c.consent_talent_pool,
                    c.last_contact_at,
                    policy,
                )
                .is_some_and(|at| at <= now)
            })
            .collect();
        for c in &batch {
            if !due.iter().any(|d| d.id == c.id) {
                // Kept longer (talent pool): do not look at it again in this run.
                skipped.insert(c.id);
            }
        }
        if due.is_empty() {
            break;
        }
        for c in due {
            if !dry_run {
                conn.transaction(|conn| {
                    model::erase(conn, c.id, now)?;
                    audit::Audit::system()
                        .did("application.purged")
                        .on("application", c.id)
                        .with(serde_json::json!({
                            "offer_id": c.offer_id,
                            "status": c.status,
                            "talent_pool": c.consent_talent_pool,
                        }))
                        .record(conn, now)
                })?;
            }
            report.applications.push(c.id);
        }
        if dry_run && batch.len() < BATCH as usize {
            break;
        }
    }
    if !dry_run {
        model::forget_keys(conn, now - Duration::hours(IDEMPOTENCY_WINDOW_HOURS))?;
        // An unconfirmed new address is personal data with no use once its code expired.
        model::forget_expired_email_changes(conn, now)?;
        // The outbox is pruned at each insert; this catches one no email was added to.
        crate::jobs::outbox::prune(conn, now)?;
    }
    if !report.applications.is_empty() {
        log::info!(
            "retention purge: {} application(s) {}",
            report.applications.len(),
            if dry_run { "due (dry run)" } else { "erased" }
        );
    }
    Ok(report)
}

/// Runs the purge every `PURGE_INTERVAL_SECONDS` in `serve` (0: never). Several instances
/// may run it: the advisory lock lets one purge at a time.
pub fn spawn_schedule(
    state: crate::state::AppState,
) -> Option<actix_web::rt::task::JoinHandle<()>> {
    let every = state.settings.applications.purge_interval_secs;
    if every == 0 {
        return None;
    }
    Some(actix_web::rt::spawn(async move {
        // Not before the schema is migrated (a server may start before its database).
        state.schema.wait_ready().await;
        let mut ticks = actix_web::rt::time::interval(std::time::Duration::from_secs(every));
        loop {
            ticks.tick().await;
            let policy = policy(&state.settings);
            let now = state.now();
            let result = state
                .db(move |conn| Ok(run(conn, &policy, now, false)?))
                .await;
            if let Err(e) = result {
                log::warn!("retention purge failed, will retry at the next interval: {e}");
            }
        }
    }))
}
