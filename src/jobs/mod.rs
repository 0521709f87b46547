//! Background work on a durable queue in PostgreSQL: enqueue inside the caller's transaction,
//! claim with a lease (`FOR UPDATE SKIP LOCKED`, so instances never share a job), retry with
//! exponential backoff, keep dead jobs for an admin; and the workers that run it.
//!
//! Delivery is at least once: a worker that dies after sending an email but before recording
//! it loses its lease, and the email goes out again. Handlers are written for that.

pub mod mail;
pub mod outbox;
pub mod send_email;

use crate::{db::schema::jobs, state::AppState};
use actix_web::{rt::task::JoinHandle, web};
use chrono::{DateTime, TimeDelta, Utc};
use diesel::{pg::Pg, prelude::*, sql_types::Timestamptz, PgConnection};
use mail::Email;
use serde::Serialize;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// The kind of the jobs that send one [`Email`].
pub const EMAIL: &str = "email";

/// Attempts a job gets unless its enqueuer says otherwise: with [`backoff`], about four
/// hours of retries, enough to ride out an SMTP outage.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 10;

const BACKOFF_BASE: Duration = Duration::from_secs(30);
const BACKOFF_CAP: Duration = Duration::from_secs(3600);

/// `last_error` is a summary for an admin, not a log: long messages are cut.
const MAX_ERROR_CHARS: usize = 500;

#[derive(Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = jobs, check_for_backend(Pg))]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: DateTime<Utc>,
    /// Claims so far, this one included: also the fencing token of the current claim.
    pub attempts: i32,
    pub max_attempts: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The application the job is about (its mails), so that erasing it deletes them.
    pub application_id: Option<Uuid>,
}

impl Job {
    /// A dead job used all its attempts and is never claimed again.
    pub fn is_dead(&self) -> bool {
        self.attempts >= self.max_attempts
    }
}

impl std::fmt::Debug for Job {
    // Hand-written: the payload may hold personal data (an email's recipient and text).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("run_at", &self.run_at)
            .field("attempts", &self.attempts)
            .field("max_attempts", &self.max_attempts)
            .field("locked_until", &self.locked_until)
            .field("last_error", &self.last_error)
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = jobs)]
struct NewJob<'a> {
    kind: &'a str,
    payload: serde_json::Value,
    run_at: DateTime<Utc>,
    max_attempts: i32,
    application_id: Option<Uuid>,
}

/// Adds a job to run at `run_at` or later. Call it inside the transaction of the change that
/// causes it: the job then exists exactly when that change committed.
pub fn enqueue<P: Serialize + ?Sized>(
    conn: &mut PgConnection,
    kind: &str,
    payload: &P,
    run_at: DateTime<Utc>,
) -> QueryResult<i64> {
    enqueue_with_max_attempts(conn, kind, payload, run_at, DEFAULT_MAX_ATTEMPTS)
}

/// [`enqueue`] with its own number of attempts (at least 1).
pub fn enqueue_with_max_attempts<P: Serialize + ?Sized>(
    conn: &mut PgConnection,
    kind: &str,
    payload: &P,
    run_at: DateTime<Utc>,
    max_attempts: i32,
) -> QueryResult<i64> {
    insert(conn, kind, payload, run_at, max_attempts, None)
}

fn insert<P: Serialize + ?Sized>(
    conn: &mut PgConnection,
    kind: &str,
    payload: &P,
    run_at: DateTime<Utc>,
    max_attempts: i32,
    application_id: Option<Uuid>,
) -> QueryResult<i64> {
    let payload = serde_json::to_value(payload)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::insert_into(jobs::table)
        .values(NewJob {
            kind,
            payload,
            run_at,
            max_attempts: max_attempts.max(1),
            application_id,
        })
        .returning(jobs::id)
        .get_result(conn)
}

/// Enqueues an [`EMAIL`] job, to be sent as soon as a worker is free.
pub fn enqueue_email(
    conn: &mut PgConnection,
    email: &Email,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    enqueue(conn, EMAIL, email, now)
}

/// [`enqueue_email`] for a mail about an application: erasing the application deletes it
/// ([`delete_application_emails`]).
pub fn enqueue_application_email(
    conn: &mut PgConnection,
    email: &Email,
    application_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    insert(
        conn,
        EMAIL,
        email,
        now,
        DEFAULT_MAX_ATTEMPTS,
        Some(application_id),
    )
}

/// Deletes every mail job of an application, pending, retrying or dead, whatever its
/// recipient; mails about other applications stay, even to the same address.
pub fn delete_application_emails(
    conn: &mut PgConnection,
    application_id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(
        jobs::table
            .filter(jobs::kind.eq(EMAIL))
            .filter(jobs::application_id.eq(application_id)),
    )
    .execute(conn)
}

/// Takes the next due job for `lease`, counting the attempt. `SKIP LOCKED` makes concurrent
/// claimers (other workers, other instances) pass over a row being claimed instead of
/// waiting for it; the lease then keeps it from them until it expires, which is how the job
/// of a crashed worker comes back.
pub fn claim_next(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease: Duration,
) -> QueryResult<Option<Job>> {
    diesel::sql_query(
        "UPDATE jobs SET locked_until = $2, attempts = attempts + 1 \
         WHERE id = ( \
             SELECT id FROM jobs \
             WHERE run_at <= $1 AND (locked_until IS NULL OR locked_until < $1) \
               AND attempts < max_attempts \
             ORDER BY run_at, id \
             LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING *",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(after(now, lease))
    .get_result::<Job>(conn)
    .optional()
}

/// Deletes a job that succeeded: no payload lingers once its work is done. False when the
/// claim was lost (the lease expired and another worker took the job).
pub fn complete(conn: &mut PgConnection, job: &Job) -> QueryResult<bool> {
    let deleted = diesel::delete(claimed(job)).execute(conn)?;
    Ok(deleted == 1)
}

/// What became of a job after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done and deleted.
    Done,
    /// Failed; claimable again from `at`.
    Retry { at: DateTime<Utc> },
    /// Failed for good (out of attempts, or an error that retrying cannot fix); kept.
    Dead,
    /// The lease expired before the job finished and another claim owns it now; nothing was
    /// recorded.
    LeaseLost,
}

/// Records a failed attempt: the job is rescheduled after [`backoff`], or stays dead when it
/// has no attempts left. `error` must not contain personal data.
pub fn fail(
    conn: &mut PgConnection,
    job: &Job,
    now: DateTime<Utc>,
    error: &str,
) -> QueryResult<Outcome> {
    if job.is_dead() {
        return fail_permanently(conn, job, error);
    }
    let at = after(now, backoff(job.attempts));
    let updated = diesel::update(claimed(job))
        .set((
            jobs::run_at.eq(at),
            jobs::locked_until.eq(None::<DateTime<Utc>>),
            jobs::last_error.eq(truncate(error)),
        ))
        .execute(conn)?;
    Ok(if updated == 1 {
        Outcome::Retry { at }
    } else {
        Outcome::LeaseLost
    })
}

/// Marks a job dead at once (unknown kind, unreadable payload): it stays for an admin to see.
pub fn fail_permanently(conn: &mut PgConnection, job: &Job, error: &str) -> QueryResult<Outcome> {
    let updated = diesel::update(claimed(job))
        .set((
            jobs::attempts.eq(jobs::max_attempts),
            jobs::locked_until.eq(None::<DateTime<Utc>>),
            jobs::last_error.eq(truncate(error)),
        ))
        .execute(conn)?;
    Ok(if updated == 1 {
        Outcome::Dead
    } else {
        Outcome::LeaseLost
    })
}

/// The dead jobs, oldest first.
pub fn dead_jobs(conn: &mut PgConnection) -> QueryResult<Vec<Job>> {
    jobs::table
        .filter(jobs::attempts.ge(jobs::max_attempts))
        .order(jobs::id.asc())
        .select(Job::as_select())
        .load(conn)
}

/// The wait before the next attempt after `attempts` failed ones: 30 s × 2^attempts, at most
/// an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(0, 16) as u32;
    BACKOFF_BASE
        .saturating_mul(1u32 << exponent)
        .min(BACKOFF_CAP)
}

/// The row of `job` as long as it is still this claim's: every claim moves `attempts`.
fn claimed(
    job: &Job,
) -> diesel::dsl::Filter<diesel::dsl::Find<jobs::table, i64>, diesel::dsl::Eq<jobs::attempts, i32>>
{
    jobs::table
        .find(job.id)
        .filter(jobs::attempts.eq(job.attempts))
}

fn after(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(wait)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn truncate(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

// --- handlers --------------------------------------------------------------------------

/// Why a handler failed. Messages go to `last_error` and the log: no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// Might work later (a server down, a timeout).
    Retry(String),
    /// Will never work (unknown kind, a payload that does not parse).
    Permanent(String),
}

/// Runs one job of its kind. Blocking: it is called on the blocking pool.
pub type Handler = fn(&AppState, &Job) -> Result<(), JobError>;

/// The job kinds the workers run, each with its handler. The application gives the table
/// (`crate::JOB_KINDS`), so the queue itself knows no kind and imports no feature.
pub type Kinds = &'static [(&'static str, Handler)];

/// Runs one job's work with the handler of its kind. Blocking: it is called on the blocking
/// pool.
fn handle(kinds: Kinds, state: &AppState, job: &Job) -> Result<(), JobError> {
    match kinds.iter().find(|(kind, _)| *kind == job.kind) {
        Some((_, handler)) => handler(state, job),
        None => Err(JobError::Permanent(format!(
            "unknown job kind {:?}",
            job.kind
        ))),
    }
}

// --- workers ---------------------------------------------------------------------------

/// A failure of the queue itself (not of a job), for the worker's log.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("blocking pool: {0}")]
    Blocking(#[from] actix_web::error::BlockingError),
}

/// The job a step ran and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub job_id: i64,
    pub kind: String,
    pub outcome: Outcome,
}

/// One step of a worker: claims the next due job, runs it, records the outcome. `None` when
/// no job is due. The connection is held only to claim and to record, not while the handler
/// waits on a mail server.
pub async fn run_next(state: &AppState, kinds: Kinds) -> Result<Option<Ran>, WorkerError> {
    let (now, lease) = (state.now(), state.settings.jobs.lease);
    let Some(job) = with_conn(state, move |conn| claim_next(conn, now, lease)).await? else {
        return Ok(None);
    };
    let result = {
        let (state, job) = (state.clone(), job.clone());
        web::block(move || handle(kinds, &state, &job))
            .await
            .unwrap_or_else(|_| Err(JobError::Retry("the handler panicked".to_owned())))
    };
    let finished_at = state.now();
    let (job_id, kind) = (job.id, job.kind.clone());
    let outcome = with_conn(state, move |conn| match result {
        Ok(()) => complete(conn, &job).map(|done| {
            if done {
                Outcome::Done
            } else {
                Outcome::LeaseLost
            }
        }),
        Err(JobError::Retry(error)) => fail(conn, &job, finished_at, &error).inspect(|o| {
            log_failure(&job, *o, &error);
        }),
        Err(JobError::Permanent(error)) => {
            fail_permanently(conn, &job, &error).inspect(|o| log_failure(&job, *o, &error))
        }
    })
    .await?;
    if outcome == Outcome::LeaseLost {
        log::warn!(
            "job {job_id} ({kind}) outlived its lease: another worker owns it now; raise \
             JOB_LEASE_SECONDS if this repeats"
        );
    }
    Ok(Some(Ran {
        job_id,
        kind,
        outcome,
    }))
}

fn log_failure(job: &Job, outcome: Outcome, error: &str) {
    let (id, kind, attempt, max) = (job.id, &job.kind, job.attempts, job.max_attempts);
    match outcome {
        Outcome::Retry { at } => {
            log::warn!("job {id} ({kind}) failed, attempt {attempt}/{max}, retry at {at}: {error}")
        }
        Outcome::Dead => {
            log::error!("job {id} ({kind}) is dead after attempt {attempt}/{max}: {error}")
        }
        Outcome::Done | Outcome::LeaseLost => {}
    }
}

async fn with_conn<T, F>(state: &AppState, work: F) -> Result<T, WorkerError>
where
    F: FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    T: Send + 'static,
{
    let pool = state.pool.clone();
    web::block(move || -> Result<T, WorkerError> {
        let mut conn = pool.get()?;
        Ok(work(&mut conn)?)
    })
    .await?
}

/// Running job workers. [`Workers::stop`] lets each finish its current job and waits for
/// them; dropping the value stops them too, without waiting.
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

/// Starts `n` workers on the current actix runtime (none when `n` is 0). Each loops: run a
/// step, and when the queue is empty wait `JOB_POLL_INTERVAL_MS`, or less if told to stop.
pub fn spawn_workers(state: AppState, kinds: Kinds, n: usize) -> Workers {
    let (stop, stopped) = watch::channel(false);
    let handles = (0..n)
        .map(|worker| {
            actix_web::rt::spawn(work_loop(state.clone(), kinds, worker, stopped.clone()))
        })
        .collect();
    if n > 0 {
        log::info!("{n} job worker(s) started");
    }
    Workers { stop, handles }
}

impl Workers {
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Tells every worker to stop after its current job and waits until they have.
    pub async fn stop(self) {
        // No receiver left means every worker already ended: nothing to tell.
        let _ = self.stop.send(true);
        let n = self.handles.len();
        for handle in self.handles {
            if let Err(e) = handle.await {
                log::error!("a job worker ended abnormally: {e}");
            }
        }
        if n > 0 {
            log::info!("{n} job worker(s) stopped");
        }
    }
}

async fn work_loop(state: AppState, kinds: Kinds, worker: usize, mut stop: watch::Receiver<bool>) {
    let poll = state.settings.jobs.poll_interval;
    let mut failing = false;
    // A server started before its database: no job runs on a schema not yet migrated.
    tokio::select! {
        _ = state.schema.wait_ready() => {}
        _ = stop.changed() => return,
    }
    // The sender gone counts as a stop: nobody could ever tell this loop to end otherwise.
    while !(*stop.borrow() || stop.has_changed().is_err()) {
        let idle = match run_next(&state, kinds).await {
            Ok(ran) => {
                if failing {
                    log::info!("job worker {worker}: the queue is reachable again");
                    failing = false;
                }
                ran.is_none()
            }
            Err(e) => {
                // Once per outage, not once per poll.
                if !failing {
                    log::warn!("job worker {worker}: {e}; retrying every {poll:?}");
                    failing = true;
                }
                true
            }
        };
        if idle {
            tokio::select! {
                _ = actix_web::rt::time::sleep(poll) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds() {
        assert_eq!(backoff(0), Duration::from_secs(30));
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(2), Duration::from_secs(120));
        assert_eq!(backoff(6), Duration::from_secs(1920));
    }

    #[test]
    fn backoff_is_capped_at_an_hour() {
        assert_eq!(backoff(7), Duration::from_secs(3600));
        assert_eq!(backoff(50), Duration::from_secs(3600));
        assert_eq!(backoff(i32::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn backoff_never_goes_below_the_base() {
        assert_eq!(backoff(-3), Duration::from_secs(30));
    }

    #[test]
    fn default_attempts_span_a_few_hours() {
        let total: Duration = (1..DEFAULT_MAX_ATTEMPTS).map(backoff).sum();
        assert!(total > Duration::from_secs(3 * 3600) && total < Duration::from_secs(6 * 3600));
    }

    #[test]
    fn far_deadlines_do_not_overflow() {
        let now = Utc::now();
        assert_eq!(after(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            after(now, Duration::from_secs(60)),
            now + TimeDelta::seconds(60)
        );
    }

    #[test]
    fn long_errors_are_cut() {
        assert_eq!(truncate(&"é".repeat(2000)).chars().count(), MAX_ERROR_CHARS);
    }
}
