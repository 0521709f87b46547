//! Application rows, documents, history, idempotency records and their queries. List
//! queries never select document bytes.

use super::domain::{ActorKind, ApplicationStatus, CandidateLanguage};
use crate::db::{
    pagination::Position,
    schema::{
        application_documents, application_events, applications, email_changes, idempotency_keys,
        offers,
    },
    types::Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{prelude::*, PgConnection};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = applications)]
pub struct Application {
    pub id: Uuid,
    pub offer_id: Uuid,
    pub status: ApplicationStatus,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub school: Option<String>,
    pub field_of_study: Option<String>,
    pub languages: Option<Json<Vec<CandidateLanguage>>>,
    pub message: Option<String>,
    pub cover_letter_text: Option<String>,
    pub education_level: Option<String>,
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
    pub source: Option<String>,
    pub consent_privacy: bool,
    pub privacy_notice_version: String,
    pub consent_talent_pool: bool,
    pub rejection_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub last_contact_at: DateTime<Utc>,
    pub erased_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

crate::db::types::text_enum!(ApplicationStatus, ActorKind);

#[derive(Debug, Insertable)]
#[diesel(table_name = applications)]
pub struct NewApplication {
    pub id: Uuid,
    pub offer_id: Uuid,
    pub status: ApplicationStatus,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub school: Option<String>,
    pub field_of_study: Option<String>,
    pub languages: Option<Json<Vec<CandidateLanguage>>>,
    pub message: Option<String>,
    pub cover_letter_text: Option<String>,
    pub tracking_token_hash: Option<Vec<u8>>,
    pub education_level: Option<String>,
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
    pub source: Option<String>,
    pub consent_privacy: bool,
    pub privacy_notice_version: String,
    pub consent_talent_pool: bool,
    pub last_contact_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A document without its bytes.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = application_documents)]
pub struct DocumentMeta {
    pub id: Uuid,
    pub application_id: Uuid,
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size: i32,
    pub sha256: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = application_documents)]
pub struct NewDocument {
    pub id: Uuid,
    pub application_id: Uuid,
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size: i32,
    pub sha256: Vec<u8>,
    pub content: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = application_events)]
pub struct Event {
    pub id: i64,
    pub application_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    pub from_status: Option<ApplicationStatus>,
    pub to_status: ApplicationStatus,
    pub reason: Option<String>,
}

/// Whether an insert hit "one application per email per offer".
pub fn is_duplicate(e: &diesel::result::Error) -> bool {
    crate::db::violates_unique(e, "applications_offer_email_key")
}

pub fn insert(conn: &mut PgConnection, new: &NewApplication) -> QueryResult<Application> {
    diesel::insert_into(applications::table)
        .values(new)
        .returning(Application::as_returning())
        .get_result(conn)
}

pub fn insert_document(conn: &mut PgConnection, doc: &NewDocument) -> QueryResult<()> {
    diesel::insert_into(application_documents::table)
        .values(doc)
        .execute(conn)
        .map(drop)
}

/// Who moved an application.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    Candidate,
    Staff(Uuid),
    System,
}

pub fn record_event(
    conn: &mut PgConnection,
    application_id: Uuid,
    at: DateTime<Utc>,
    actor: Actor,
    from: Option<ApplicationStatus>,
    to: ApplicationStatus,
    reason: Option<&str>,
) -> QueryResult<()> {
    let (actor_kind, actor_id) = match actor {
        Actor::Candidate => (ActorKind::Candidate, None),
        Actor::Staff(id) => (ActorKind::Staff, Some(id)),
        Actor::System => (ActorKind::System, None),
    };
    diesel::insert_into(application_events::table)
        .values((
            application_events::application_id.eq(application_id),
            application_events::at.eq(at),
            application_events::actor_kind.eq(actor_kind),
            application_events::actor_id.eq(actor_id),
            application_events::from_status.eq(from),
            application_events::to_status.eq(to),
            application_events::reason.eq(reason),
        ))
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Application>> {
    applications::table
        .find(id)
        .filter(applications::erased_at.is_null())
        .select(Application::as_select())
        .first(conn)
        .optional()
}

pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Application>> {
    applications::table
        .find(id)
        .filter(applications::erased_at.is_null())
        .select(Application::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn find_by_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<Application>> {
    applications::table
        .filter(applications::tracking_token_hash.eq(token_hash))
        .filter(applications::erased_at.is_null())
        .select(Application::as_select())
        .first(conn)
        .optional()
}

pub fn documents(conn: &mut PgConnection, application_id: Uuid) -> QueryResult<Vec<DocumentMeta>> {
    application_documents::table
        .filter(application_documents::application_id.eq(application_id))
        .order(application_documents::kind.asc())
        .select(DocumentMeta::as_select())
        .load(conn)
}

/// One document with its bytes: only for a download or an export.
pub fn document_with_content(
    conn: &mut PgConnection,
    application_id: Uuid,
    document_id: Uuid,
) -> QueryResult<Option<(DocumentMeta, Vec<u8>)>> {
    application_documents::table
        .filter(application_documents::application_id.eq(application_id))
        .filter(application_documents::id.eq(document_id))
        .select((DocumentMeta::as_select(), application_documents::content))
        .first(conn)
        .optional()
}

pub fn documents_with_content(
    conn: &mut PgConnection,
    application_id: Uuid,
) -> QueryResult<Vec<(DocumentMeta, Vec<u8>)>> {
    application_documents::table
        .filter(application_documents::application_id.eq(application_id))
        .order(application_documents::kind.asc())
        .select((DocumentMeta::as_select(), application_documents::content))
        .load(conn)
}

pub fn history(conn: &mut PgConnection, application_id: Uuid) -> QueryResult<Vec<Event>> {
    application_events::table
        .filter(application_events::application_id.eq(application_id))
        .order(application_events::id.asc())
        .select(Event::as_select())
        .load(conn)
}

/// A page of [`history`] after event `after_id`, oldest first, with the count of all.
pub fn history_page(
    conn: &mut PgConnection,
    application_id: Uuid,
    after_id: Option<i64>,
    limit: i64,
) -> QueryResult<(Vec<Event>, i64)> {
    let rows = application_events::table
        .filter(application_events::application_id.eq(application_id))
        .filter(application_events::id.gt(after_id.unwrap_or(0)))
        .order(application_events::id.asc())
        .limit(limit + 1)
        .select(Event::as_select())
        .load(conn)?;
    let total = application_events::table
        .filter(application_events::application_id.eq(application_id))
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

/// The candidate's corrections of their own fields.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = applications, treat_none_as_null = true)]
pub struct Correction {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub school: Option<String>,
    pub field_of_study: Option<String>,
    pub education_level: Option<String>,
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
    pub languages: Option<Json<Vec<CandidateLanguage>>>,
    pub message: Option<String>,
    pub last_contact_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn correct(conn: &mut PgConnection, id: Uuid, c: &Correction) -> QueryResult<Application> {
    diesel::update(applications::table.find(id))
        .set((c, applications::version.eq(applications::version + 1)))
        .returning(Application::as_returning())
        .get_result(conn)
}

/// Moves an application; `decided_at` is set when the move is final.
pub fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    to: ApplicationStatus,
    rejection_reason: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<Application> {
    diesel::update(applications::table.find(id))
        .set((
            applications::status.eq(to),
            applications::rejection_reason.eq(rejection_reason),
            applications::decided_at.eq(to.is_final().then_some(now)),
            applications::updated_at.eq(now),
            applications::version.eq(applications::version + 1),
        ))
        .returning(Application::as_returning())
        .get_result(conn)
}

/// Filters of the staff list of an offer's applications.
#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    pub status: Option<ApplicationStatus>,
    pub source: Option<String>,
    /// Matches the start of first name, last name or email, case-insensitively.
    pub q: Option<String>,
    pub oldest_first: bool,
    /// Applications to leave out (a reviewer's declared conflicts).
    pub exclude: Vec<Uuid>,
}

/// Up to `limit + 1` applications of an offer and the total matching; no document bytes.
pub fn list_for_offer(
    conn: &mut PgConnection,
    offer_id: Uuid,
    f: &StaffFilter,
    after: Option<Position>,
    limit: i64,
) -> QueryResult<(Vec<Application>, i64)> {
    let filtered = || {
        let mut q = applications::table
            .filter(applications::offer_id.eq(offer_id))
            .filter(applications::erased_at.is_null())
            .into_boxed();
        if let Some(s) = &f.status {
            q = q.filter(applications::status.eq(*s));
        }
        if let Some(s) = &f.source {
            q = q.filter(applications::source.eq(s.clone()));
        }
        if !f.exclude.is_empty() {
            q = q.filter(applications::id.ne_all(f.exclude.clone()));
        }
        if let Some(term) = &f.q {
            let escaped = term
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let prefix = format!("{escaped}%");
            q = q.filter(
                applications::first_name
                    .ilike(prefix.clone())
                    .or(applications::last_name.ilike(prefix.clone()))
                    .or(applications::email.ilike(prefix)),
            );
        }
        q
    };
    let mut page = filtered();
    if let Some(p) = after {
        page = if f.oldest_first {
            page.filter(crate::db::pagination::after(
                applications::created_at,
                applications::id,
                p,
            ))
        } else {
            page.filter(crate::db::pagination::before(
                applications::created_at,
                applications::id,
                p,
            ))
        };
    }
    page = if f.oldest_first {
        page.order((applications::created_at.asc(), applications::id.asc()))
    } else {
        page.order((applications::created_at.desc(), applications::id.desc()))
    };
    let rows = page
        .limit(limit + 1)
        .select(Application::as_select())
        .load(conn)?;
    let total = filtered().count().get_result(conn)?;
    Ok((rows, total))
}

/// How many applications of an offer match `f` (status, source and exclusions).
pub fn count_for_offer(
    conn: &mut PgConnection,
    offer_id: Uuid,
    f: &StaffFilter,
) -> QueryResult<i64> {
    let mut q = applications::table
        .filter(applications::offer_id.eq(offer_id))
        .filter(applications::erased_at.is_null())
        .into_boxed();
    if let Some(s) = &f.status {
        q = q.filter(applications::status.eq(*s));
    }
    if let Some(s) = &f.source {
        q = q.filter(applications::source.eq(s.clone()));
    }
    if !f.exclude.is_empty() {
        q = q.filter(applications::id.ne_all(f.exclude.clone()));
    }
    q.count().get_result(conn)
}

/// The applications with these ids, in no particular order (no document bytes).
pub fn by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Application>> {
    applications::table
        .filter(applications::id.eq_any(ids))
        .filter(applications::erased_at.is_null())
        .select(Application::as_select())
        .load(conn)
}

/// Every application of an offer, oldest first, for the CSV export (no document bytes).
pub fn all_for_offer(conn: &mut PgConnection, offer_id: Uuid) -> QueryResult<Vec<Application>> {
    applications::table
        .filter(applications::offer_id.eq(offer_id))
        .filter(applications::erased_at.is_null())
        .order((applications::created_at.asc(), applications::id.asc()))
        .select(Application::as_select())
        .load(conn)
}

/// Erases an application now: documents deleted, personal fields emptied, the tracking token
/// forgotten, reviewers' comments blanked (their scores stay), its unsent mails, the emails
/// about it kept in the outbox and any pending change of address deleted. What stays (offer, status, dates, education level,
/// source slug, consents given, scores) is an anonymous statistical trace.
pub fn erase(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    // Mails not yet sent about this application carry an address and a name. Only this
    // application's: another application may use the same address (anyone may type one).
    crate::jobs::delete_application_emails(conn, id)?;
    // Those kept in the outbox (SMTP_HOST unset) hold the same.
    crate::jobs::outbox::delete_application_emails(conn, id)?;
    // The reply kept for Idempotency-Key points at the application.
    diesel::sql_query("DELETE FROM idempotency_keys WHERE response_body ->> 'application_id' = $1")
        .bind::<diesel::sql_types::Text, _>(id.to_string())
        .execute(conn)?;
    diesel::delete(email_changes::table.find(id)).execute(conn)?;
    // Free text written about the candidate: it may name them.
    crate::reviews::model::erase_comments(conn, id)?;
    diesel::delete(
        application_documents::table.filter(application_documents::application_id.eq(id)),
    )
    .execute(conn)?;
    diesel::update(application_events::table.filter(application_events::application_id.eq(id)))
        .set(application_events::reason.eq(None::<String>))
        .execute(conn)?;
    diesel::update(applications::table.find(id))
        .set((
            applications::first_name.eq(None::<String>),
            applications::last_name.eq(None::<String>),
            applications::email.eq(None::<String>),
            applications::phone.eq(None::<String>),
            applications::school.eq(None::<String>),
            applications::field_of_study.eq(None::<String>),
            applications::languages.eq(None::<Json<Vec<CandidateLanguage>>>),
            applications::message.eq(None::<String>),
            applications::cover_letter_text.eq(None::<String>),
            applications::tracking_token_hash.eq(None::<Vec<u8>>),
            applications::available_from.eq(None::<NaiveDate>),
            applications::available_until.eq(None::<NaiveDate>),
            applications::erased_at.eq(Some(now)),
            applications::updated_at.eq(now),
            applications::version.eq(applications::version + 1),
        ))
        .execute(conn)
        .map(drop)
}

/// What the retention rule looks at, for applications not yet erased whose decision (their
/// own, or their offer's closing) is older than `decided_before`.
#[derive(Debug, Queryable)]
pub struct RetentionCandidate {
    pub id: Uuid,
    pub offer_id: Uuid,
    pub status: ApplicationStatus,
    pub decided_at: Option<DateTime<Utc>>,
    pub offer_closed_at: Option<DateTime<Utc>>,
    pub consent_talent_pool: bool,
    pub last_contact_at: DateTime<Utc>,
}

pub fn retention_candidates(
    conn: &mut PgConnection,
    decided_before: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<RetentionCandidate>> {
    let finished = ["hired", "rejected", "withdrawn"];
    applications::table
        .inner_join(offers::table)
        .filter(applications::erased_at.is_null())
        .filter(
            applications::status
                .eq_any(finished)
                .and(applications::decided_at.lt(decided_before))
                .or(applications::status
                    .ne_all(finished)
                    .and(offers::closed_at.lt(decided_before))),
        )
        .order(applications::id.asc())
        .limit(limit)
        .select((
            applications::id,
            applications::offer_id,
            applications::status,
            applications::decided_at,
            offers::closed_at,
            applications::consent_talent_pool,
            applications::last_contact_at,
        ))
        .load(conn)
}

// --- Idempotency-Key ------------------------------------------------------------------------

pub enum Reservation {
    /// First time this key is seen: go ahead, then `complete` it in the same transaction.
    Fresh,
    /// Seen with the same request: replay this reply.
    Replay(u16, Value),
    /// Seen with a different request.
    Mismatch,
}

/// Claims `key` in `scope` for a request, inside the caller's transaction. A concurrent
/// request with the same key waits on the row lock until the first commits, then replays.
pub fn reserve_key(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    request_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Reservation> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::scope.eq(scope),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if inserted == 1 {
        return Ok(Reservation::Fresh);
    }
    let (hash, status, body): (Vec<u8>, Option<i32>, Option<Value>) = idempotency_keys::table
        .find((scope, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
        ))
        .first(conn)?;
    Ok(match (hash == request_hash, status, body) {
        (false, _, _) => Reservation::Mismatch,
        (true, Some(status), Some(body)) => {
            Reservation::Replay(u16::try_from(status).unwrap_or(201), body)
        }
        // Reserved but never completed: only possible if the first attempt rolled back, which
        // removes the row too; treat as a mismatch to be safe.
        (true, _, _) => Reservation::Mismatch,
    })
}

pub fn complete_key(
    conn: &mut PgConnection,
    scope: &str,
    key: &str,
    status: u16,
    body: &Value,
) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((scope, key)))
        .set((
            idempotency_keys::response_status.eq(i32::from(status)),
            idempotency_keys::response_body.eq(body),
        ))
        .execute(conn)
        .map(drop)
}

/// Forgets replies older than `before`: a retry after that applies again.
pub fn forget_keys(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
        .execute(conn)
}

// --- Changes of address ---------------------------------------------------------------------

/// A change of address waiting for the code mailed to the new address.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_changes)]
pub struct EmailChange {
    pub application_id: Uuid,
    pub new_email: String,
    pub code_hash: Vec<u8>,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Whether another application to the offer, not erased, uses `email`.
pub fn email_taken(
    conn: &mut PgConnection,
    offer_id: Uuid,
    email: &str,
    except: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        applications::table
            .filter(applications::offer_id.eq(offer_id))
            .filter(applications::email.eq(email))
            .filter(applications::id.ne(except)),
    ))
    .get_result(conn)
}

/// Records the change waiting for `code_hash`, replacing any earlier one of the application
/// (whose code then no longer works).
pub fn request_email_change(conn: &mut PgConnection, change: &EmailChange) -> QueryResult<()> {
    diesel::insert_into(email_changes::table)
        .values((
            email_changes::application_id.eq(change.application_id),
            email_changes::new_email.eq(&change.new_email),
            email_changes::code_hash.eq(&change.code_hash),
            email_changes::requested_at.eq(change.requested_at),
            email_changes::expires_at.eq(change.expires_at),
        ))
        .on_conflict(email_changes::application_id)
        .do_update()
        .set((
            email_changes::new_email.eq(&change.new_email),
            email_changes::code_hash.eq(&change.code_hash),
            email_changes::requested_at.eq(change.requested_at),
            email_changes::expires_at.eq(change.expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// The application's pending change, locked, if `code_hash` is its code.
pub fn lock_email_change(
    conn: &mut PgConnection,
    application_id: Uuid,
    code_hash: &[u8],
) -> QueryResult<Option<EmailChange>> {
    email_changes::table
        .find(application_id)
        .filter(email_changes::code_hash.eq(code_hash))
        .select(EmailChange::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn forget_email_change(conn: &mut PgConnection, application_id: Uuid) -> QueryResult<()> {
    diesel::delete(email_changes::table.find(application_id))
        .execute(conn)
        .map(drop)
}

/// Forgets the changes whose code expired before `now` (they hold an address).
pub fn forget_expired_email_changes(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(email_changes::table.filter(email_changes::expires_at.lt(now))).execute(conn)
}

/// Switches the application to its confirmed address. Fails with the unique violation of
/// [`is_duplicate`] when another application to the offer took the address meanwhile.
pub fn set_email(
    conn: &mut PgConnection,
    id: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> QueryResult<Application> {
    diesel::update(applications::table.find(id))
        .set((
            applications::email.eq(email),
            applications::last_contact_at.eq(now),
            applications::updated_at.eq(now),
            applications::version.eq(applications::version + 1),
        ))
        .returning(Application::as_returning())
        .get_result(conn)
}
