//! Offer rows and their queries: staff writes, the staff list, and the public catalogue
//! (filters, French full-text search, keyset pages, counts and facets).

use super::domain::{
    Contact, ContractType, GratificationMinimums, Location, OfferStatus, RemotePolicy,
    Requirements, ValidOffer,
};
use super::workflow::{Approval, CloseReason};
use crate::db::{
    pagination::Position,
    schema::{catalog_version, gratification_minimums, offers},
    types::Json,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    pg::Pg,
    prelude::*,
    query_builder::{BoxedSqlQuery, SqlQuery},
    sql_types, PgConnection,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// An offer's row: its content as staff wrote it, and what the server keeps about it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = offers, check_for_backend(Pg))]
pub struct Offer {
    pub id: Uuid,
    pub slug: String,
    #[diesel(embed)]
    pub content: OfferContent,
    pub status: OfferStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub first_published_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<Uuid>,
    pub version: i32,
    #[diesel(embed)]
    pub workflow: OfferWorkflow,
}

crate::db::types::text_enum!(
    OfferStatus,
    CloseReason,
    Approval,
    ContractType,
    RemotePolicy
);

/// Why it was closed, when it is to be published, and its approval.
#[derive(Debug, Clone, Default, Queryable, Selectable)]
#[diesel(table_name = offers, check_for_backend(Pg))]
pub struct OfferWorkflow {
    pub closed_reason: Option<CloseReason>,
    pub publish_at: Option<DateTime<Utc>>,
    pub scheduled_by: Option<Uuid>,
    pub approval: Approval,
    pub submitted_by: Option<Uuid>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub approval_decided_by: Option<Uuid>,
    pub approval_decided_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
}

/// Every column that comes from the offer's content: read in [`Offer`], written as is by
/// staff (insert and update).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = offers, check_for_backend(Pg), treat_none_as_null = true)]
pub struct OfferContent {
    pub reference: String,
    pub title: String,
    pub language: String,
    pub organization: String,
    pub department: String,
    pub summary: String,
    pub context: String,
    pub missions: Json<Vec<String>>,
    pub profile: String,
    pub requirements: Json<Requirements>,
    /// `requirements`' levels, fields and language codes, as the catalogue filters them.
    pub education_levels: Json<Vec<String>>,
    pub fields_of_study: Json<Vec<String>>,
    pub language_codes: Json<Vec<String>>,
    #[diesel(embed)]
    pub contract: OfferContract,
    pub location: Json<Location>,
    pub contact: Json<Contact>,
    pub application_documents: Json<Vec<String>>,
    pub application_deadline: NaiveDate,
    pub positions: i32,
    pub tags: Json<Vec<String>>,
}

/// The contract's columns, shared by the offer and the catalogue's card.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Insertable, AsChangeset)]
#[diesel(table_name = offers, check_for_backend(Pg), treat_none_as_null = true)]
pub struct OfferContract {
    pub contract_type: ContractType,
    pub duration_months_min: i32,
    pub duration_months_max: i32,
    pub work_time_percent: i32,
    pub paid: bool,
    pub hourly_gratification_cents: Option<i32>,
    pub starts_from: NaiveDate,
    pub ends_by: NaiveDate,
    pub remote: RemotePolicy,
}

impl From<&ValidOffer> for OfferContent {
    fn from(v: &ValidOffer) -> Self {
        let o = &v.input;
        let r = &o.requirements;
        // Validation bounded every number below, so the conversions cannot fail.
        let small = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        OfferContent {
            reference: o.reference.clone(),
            title: o.title.clone(),
            language: o.language.clone(),
            organization: o.organization.clone(),
            department: o.department.clone(),
            summary: o.summary.clone(),
            context: o.context.clone(),
            missions: Json(o.missions.clone()),
            profile: o.profile.clone(),
            requirements: Json(r.clone()),
            education_levels: Json(r.education_levels.iter().map(|l| l.level.clone()).collect()),
            fields_of_study: Json(r.fields_of_study.iter().map(|f| f.name.clone()).collect()),
            language_codes: Json(r.languages.iter().map(|l| l.code.clone()).collect()),
            contract: OfferContract {
                contract_type: v.contract_type,
                duration_months_min: small(o.contract.duration_months_min),
                duration_months_max: small(o.contract.duration_months_max),
                work_time_percent: small(o.contract.work_time_percent),
                paid: o.contract.paid,
                hourly_gratification_cents: v.gratification_cents,
                starts_from: v.starts_from,
                ends_by: v.ends_by,
                remote: v.remote,
            },
            location: Json(o.location.clone()),
            contact: Json(o.contact.clone()),
            application_documents: Json(o.application.documents.clone()),
            application_deadline: v.deadline,
            positions: small(o.positions),
            tags: Json(o.tags.clone()),
        }
    }
}

pub fn gratification_minimums(conn: &mut PgConnection) -> QueryResult<GratificationMinimums> {
    gratification_minimums::table
        .select((
            gratification_minimums::year,
            gratification_minimums::hourly_cents,
        ))
        .load(conn)
        .map(GratificationMinimums)
}

/// Whether an insert or update hit the unique reference.
pub fn is_reference_taken(e: &diesel::result::Error) -> bool {
    crate::db::violates_unique(e, "offers_reference_key")
}

/// Namespace of the transaction-level advisory locks that serialise slug choices.
const SLUG_LOCK_CLASS: i32 = 0x736c_7567; // "slug"

/// `base`, or `base-2`, `base-3`… whichever no other offer uses. Call it inside the
/// transaction that writes the slug: it holds a lock on `base` until that transaction ends,
/// so two offers with the same title created at once get different slugs, not a unique
/// violation.
pub fn unique_slug(
    conn: &mut PgConnection,
    base: &str,
    except: Option<Uuid>,
) -> QueryResult<String> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind::<diesel::sql_types::Integer, _>(SLUG_LOCK_CLASS)
        .bind::<diesel::sql_types::Text, _>(base)
        .execute(conn)?;
    let pattern = format!(
        "{}-%",
        base.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let taken: Vec<String> = offers::table
        .filter(offers::slug.eq(base).or(offers::slug.like(pattern)))
        .filter(offers::id.ne(except.unwrap_or_else(Uuid::nil)))
        .select(offers::slug)
        .load(conn)?;
    if !taken.iter().any(|s| s == base) {
        return Ok(base.to_owned());
    }
    Ok((2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| format!("{base}-{}", Uuid::new_v4().simple())))
}

pub fn insert_offer(
    conn: &mut PgConnection,
    id: Uuid,
    slug: &str,
    content: &OfferContent,
    actor: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Offer> {
    diesel::insert_into(offers::table)
        .values((
            content,
            offers::id.eq(id),
            offers::slug.eq(slug),
            offers::status.eq(OfferStatus::Draft),
            offers::created_at.eq(now),
            offers::created_by.eq(Some(actor)),
            offers::updated_at.eq(now),
            offers::updated_by.eq(Some(actor)),
        ))
        .returning(Offer::as_returning())
        .get_result(conn)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Offer>> {
    offers::table
        .find(id)
        .select(Offer::as_select())
        .first(conn)
        .optional()
}

/// Reads an offer and locks it until the end of the transaction.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Offer>> {
    offers::table
        .find(id)
        .select(Offer::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// A published or closed offer, by id or slug.
pub fn find_public(conn: &mut PgConnection, id_or_slug: &str) -> QueryResult<Option<Offer>> {
    let public = offers::status.eq_any([OfferStatus::Published, OfferStatus::Closed]);
    let query = offers::table.filter(public).select(Offer::as_select());
    match Uuid::parse_str(id_or_slug) {
        Ok(id) => query.filter(offers::id.eq(id)).first(conn).optional(),
        Err(_) => query
            .filter(offers::slug.eq(id_or_slug))
            .first(conn)
            .optional(),
    }
}

/// Offers by id, whatever their status (the change feed maps each to its current state).
pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Offer>> {
    offers::table
        .filter(offers::id.eq_any(ids))
        .select(Offer::as_select())
        .load(conn)
}

/// Published offers in id order, after `after`: an order that moves with no write, for
/// partners copying the whole set page by page. Returns up to `limit + 1` rows and the total.
pub fn published_by_id(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<(Vec<Offer>, i64)> {
    let published = offers::status.eq(OfferStatus::Published);
    let rows = offers::table
        .filter(published)
        .filter(offers::id.gt(after.unwrap_or_else(Uuid::nil)))
        .order(offers::id.asc())
        .limit(limit + 1)
        .select(Offer::as_select())
        .load(conn)?;
    let total = offers::table.filter(published).count().get_result(conn)?;
    Ok((rows, total))
}

/// Every published offer, newest first (the feeds).
pub fn all_published(conn: &mut PgConnection) -> QueryResult<Vec<Offer>> {
    offers::table
        .filter(offers::status.eq(OfferStatus::Published))
        .order((offers::published_at.desc(), offers::id.desc()))
        .select(Offer::as_select())
        .load(conn)
}

pub fn update_content(
    conn: &mut PgConnection,
    id: Uuid,
    content: &OfferContent,
    slug: &str,
    actor: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Offer> {
    diesel::update(offers::table.find(id))
        .set((
            content,
            offers::slug.eq(slug),
            offers::updated_at.eq(now),
            offers::updated_by.eq(Some(actor)),
            offers::version.eq(offers::version + 1),
        ))
        .returning(Offer::as_returning())
        .get_result(conn)
}

/// Moves an offer to `to`, stamping the time of the move; `actor` is `None` for the
/// calendar. Closing records `reason`; publishing clears a scheduled time.
pub fn set_status(
    conn: &mut PgConnection,
    offer: &Offer,
    to: OfferStatus,
    reason: Option<CloseReason>,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<Offer> {
    let (published_at, first_published_at, closed_at, archived_at) = match to {
        OfferStatus::Published => (
            Some(now),
            offer.first_published_at.or(Some(now)),
            None,
            None,
        ),
        OfferStatus::Closed => (
            offer.published_at,
            offer.first_published_at,
            Some(now),
            None,
        ),
        OfferStatus::Archived => (
            offer.published_at,
            offer.first_published_at,
            offer.closed_at,
            Some(now),
        ),
        OfferStatus::Draft => (None, offer.first_published_at, None, None),
    };
    let closed_reason = match to {
        OfferStatus::Closed => Some(reason.unwrap_or(CloseReason::Manual)),
        OfferStatus::Archived => offer.workflow.closed_reason,
        OfferStatus::Draft | OfferStatus::Published => None,
    };
    diesel::update(offers::table.find(offer.id))
        .set((
            offers::status.eq(to),
            offers::published_at.eq(published_at),
            offers::first_published_at.eq(first_published_at),
            offers::closed_at.eq(closed_at),
            offers::archived_at.eq(archived_at),
            offers::closed_reason.eq(closed_reason),
            offers::publish_at.eq(None::<DateTime<Utc>>),
            offers::scheduled_by.eq(None::<Uuid>),
            offers::updated_at.eq(now),
            offers::updated_by.eq(actor),
            offers::version.eq(offers::version + 1),
        ))
        .returning(Offer::as_returning())
        .get_result(conn)
}

/// Sets (or with `None`, cancels) a draft's publication time.
pub fn set_schedule(
    conn: &mut PgConnection,
    id: Uuid,
    publish_at: Option<DateTime<Utc>>,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<Offer> {
    diesel::update(offers::table.find(id))
        .set((
            offers::publish_at.eq(publish_at),
            offers::scheduled_by.eq(publish_at.and(actor)),
            offers::updated_at.eq(now),
            offers::version.eq(offers::version + 1),
        ))
        .returning(Offer::as_returning())
        .get_result(conn)
}

/// Records an approval step: `submitted` stamps the submitter, `approved` and `rejected`
/// the decider (and the reason of a rejection), `none` clears them all.
pub fn set_approval(
    conn: &mut PgConnection,
    offer: &Offer,
    to: Approval,
    actor: Uuid,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<Offer> {
    let w = &offer.workflow;
    let (submitted_by, submitted_at, decided_by, decided_at) = match to {
        Approval::None => (None, None, None, None),
        Approval::Submitted => (Some(actor), Some(now), None, None),
        Approval::Approved | Approval::Rejected => {
            (w.submitted_by, w.submitted_at, Some(actor), Some(now))
        }
    };
    diesel::update(offers::table.find(offer.id))
        .set((
            offers::approval.eq(to),
            offers::submitted_by.eq(submitted_by),
            offers::submitted_at.eq(submitted_at),
            offers::approval_decided_by.eq(decided_by),
            offers::approval_decided_at.eq(decided_at),
            offers::rejection_reason.eq(reason.filter(|_| to == Approval::Rejected)),
            offers::updated_at.eq(now),
            offers::version.eq(offers::version + 1),
        ))
        .returning(Offer::as_returning())
        .get_result(conn)
}

/// Sends a draft back to `none` after a change to its content, keeping its version (the
/// change that caused it already moved it).
pub fn clear_approval(conn: &mut PgConnection, id: Uuid) -> QueryResult<Offer> {
    diesel::update(offers::table.find(id))
        .set((
            offers::approval.eq(Approval::None),
            offers::submitted_by.eq(None::<Uuid>),
            offers::submitted_at.eq(None::<DateTime<Utc>>),
            offers::approval_decided_by.eq(None::<Uuid>),
            offers::approval_decided_at.eq(None::<DateTime<Utc>>),
            offers::rejection_reason.eq(None::<String>),
        ))
        .returning(Offer::as_returning())
        .get_result(conn)
}

/// Published offers whose deadline is before `today` (the city's date): due to close.
pub fn deadline_passed(
    conn: &mut PgConnection,
    today: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    offers::table
        .filter(offers::status.eq(OfferStatus::Published))
        .filter(offers::application_deadline.lt(today))
        .order((offers::application_deadline.asc(), offers::id.asc()))
        .limit(limit)
        .select(offers::id)
        .load(conn)
}

/// Drafts whose publication time has come.
pub fn publication_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    offers::table
        .filter(offers::status.eq(OfferStatus::Draft))
        .filter(offers::publish_at.le(now))
        .order((offers::publish_at.asc(), offers::id.asc()))
        .limit(limit)
        .select(offers::id)
        .load(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(offers::table.find(id)).execute(conn)
}

/// The staff list: newest first, optionally one status and a search.
pub fn staff_list(
    conn: &mut PgConnection,
    status: Option<OfferStatus>,
    q: Option<&str>,
    only: Option<&[Uuid]>,
    after: Option<Position>,
    limit: i64,
) -> QueryResult<(Vec<Offer>, i64)> {
    let filtered = || {
        let mut query = offers::table.into_boxed();
        if let Some(ids) = only {
            query = query.filter(offers::id.eq_any(ids.to_vec()));
        }
        if let Some(s) = status {
            query = query.filter(offers::status.eq(s));
        }
        if let Some(q) = q {
            query = query.filter(
                diesel::dsl::sql::<sql_types::Bool>(
                    "search @@ websearch_to_tsquery('passerelle_fr', ",
                )
                .bind::<sql_types::Text, _>(q.to_owned())
                .sql(")"),
            );
        }
        query
    };
    let mut page = filtered();
    if let Some(p) = after {
        page = page.filter(crate::db::pagination::before(
            offers::created_at,
            offers::id,
            p,
        ));
    }
    let rows = page
        .order((offers::created_at.desc(), offers::id.desc()))
        .limit(limit + 1)
        .select(Offer::as_select())
        .load(conn)?;
    let total = filtered().count().get_result(conn)?;
    Ok((rows, total))
}

// --- the public catalogue ------------------------------------------------------------------

/// Filters of `GET /api/v1/offers`, already checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PublicFilter {
    pub q: Option<String>,
    pub department: Option<String>,
    pub field: Option<String>,
    pub education_level: Option<String>,
    pub language: Option<String>,
    pub paid: Option<bool>,
    pub remote: Option<String>,
    pub starts_from: Option<NaiveDate>,
    pub starts_until: Option<NaiveDate>,
    pub duration_max_months: Option<i32>,
    pub tag: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicSort {
    /// `-published_at`: newest first.
    Newest,
    /// `application_deadline`: soonest deadline first.
    Deadline,
    /// `relevance`: best match of `q` first (ranked on the title, tags, department and
    /// fields of study: `search_head`), then newest first as the default sort.
    Relevance,
}

/// Where a page starts, in the list's own order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PublicCursor {
    Newest(DateTime<Utc>, Uuid),
    Deadline(NaiveDate, Uuid),
    Relevance(f32, DateTime<Utc>, Uuid),
}

/// A card of the public list: what a results page shows, not the whole text.
#[derive(Debug, Clone, QueryableByName)]
#[diesel(table_name = offers, check_for_backend(Pg))]
pub struct OfferCard {
    pub id: Uuid,
    pub slug: String,
    pub reference: String,
    pub title: String,
    pub organization: String,
    pub department: String,
    pub summary: String,
    #[diesel(embed)]
    pub contract: OfferContract,
    pub location: Json<Location>,
    pub application_documents: Json<Vec<String>>,
    pub application_deadline: NaiveDate,
    pub tags: Json<Vec<String>>,
    pub status: OfferStatus,
    pub published_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = sql_types::Float4)]
    pub rank: f32,
}

const CARD_COLUMNS: &str = "offers.id, slug, reference, title, organization, department, summary, \
    contract_type, duration_months_min, duration_months_max, work_time_percent, paid, \
    hourly_gratification_cents, starts_from, ends_by, remote, location, application_documents, \
    application_deadline, tags, status, published_at";

/// A value bound to a `$n` placeholder.
enum Bind {
    Text(String),
    Jsonb(Value),
    Bool(bool),
    Int(i32),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    Uuid(Uuid),
    Float(f32),
}

/// SQL text with numbered placeholders and the values that fill them, in order.
#[derive(Default)]
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends `$n` for `value`.
    fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        let n = self.binds.len();
        self.text.push_str(&format!("${n}"));
        self
    }

    fn into_query(self) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut query = diesel::sql_query(self.text).into_boxed::<Pg>();
        for b in self.binds {
            query = match b {
                Bind::Text(v) => query.bind::<sql_types::Text, _>(v),
                Bind::Jsonb(v) => query.bind::<sql_types::Jsonb, _>(v),
                Bind::Bool(v) => query.bind::<sql_types::Bool, _>(v),
                Bind::Int(v) => query.bind::<sql_types::Integer, _>(v),
                Bind::Date(v) => query.bind::<sql_types::Date, _>(v),
                Bind::Timestamp(v) => query.bind::<sql_types::Timestamptz, _>(v),
                Bind::Uuid(v) => query.bind::<sql_types::Uuid, _>(v),
                Bind::Float(v) => query.bind::<sql_types::Float4, _>(v),
            };
        }
        query
    }
}

/// `FROM offers [, query] WHERE <published and the filters>`.
fn from_where(sql: &mut Sql, f: &PublicFilter) {
    sql.push(" FROM offers");
    if let Some(q) = &f.q {
        sql.push(" CROSS JOIN websearch_to_tsquery('passerelle_fr', ")
            .bind(Bind::Text(q.clone()))
            .push(") AS query");
    }
    sql.push(" WHERE status = 'published'");
    if f.q.is_some() {
        sql.push(" AND search @@ query");
    }
    if let Some(v) = &f.department {
        sql.push(" AND department = ").bind(Bind::Text(v.clone()));
    }
    for (column, value) in [
        ("fields_of_study", &f.field),
        ("education_levels", &f.education_level),
        ("language_codes", &f.language),
        ("tags", &f.tag),
    ] {
        if let Some(v) = value {
            sql.push(&format!(" AND {column} @> "))
                .bind(Bind::Jsonb(json!([v])));
        }
    }
    if let Some(v) = f.paid {
        sql.push(" AND paid = ").bind(Bind::Bool(v));
    }
    if let Some(v) = &f.remote {
        sql.push(" AND remote = ").bind(Bind::Text(v.clone()));
    }
    if let Some(v) = f.starts_from {
        sql.push(" AND starts_from >= ").bind(Bind::Date(v));
    }
    if let Some(v) = f.starts_until {
        sql.push(" AND starts_from <= ").bind(Bind::Date(v));
    }
    if let Some(v) = f.duration_max_months {
        sql.push(" AND duration_months_min <= ").bind(Bind::Int(v));
    }
}

/// Up to `limit` cards of the public list after `cursor`.
pub fn public_page(
    conn: &mut PgConnection,
    filter: &PublicFilter,
    sort: PublicSort,
    cursor: Option<PublicCursor>,
    limit: i64,
) -> QueryResult<Vec<OfferCard>> {
    let mut sql = Sql::default();
    // Matches are found with `search` (the whole document, GIN) and ranked on `search_head`
    // (its A and B parts, small and inline; see the migration offers_search_head): an offer
    // that matches only in its text ranks 0, below every match in a title or tag, and
    // those come newest first.
    let rank = if filter.q.is_some() {
        "ts_rank(search_head, query)"
    } else {
        "0::real"
    };
    sql.push(&format!("SELECT {CARD_COLUMNS}, {rank} AS rank"));
    from_where(&mut sql, filter);
    match cursor {
        Some(PublicCursor::Newest(at, id)) => {
            sql.push(" AND (published_at, offers.id) < (")
                .bind(Bind::Timestamp(at))
                .push(", ")
                .bind(Bind::Uuid(id))
                .push(")");
        }
        Some(PublicCursor::Deadline(date, id)) => {
            sql.push(" AND (application_deadline, offers.id) > (")
                .bind(Bind::Date(date))
                .push(", ")
                .bind(Bind::Uuid(id))
                .push(")");
        }
        Some(PublicCursor::Relevance(r, at, id)) => {
            sql.push(&format!(" AND ({rank}, published_at, offers.id) < ("))
                .bind(Bind::Float(r))
                .push(", ")
                .bind(Bind::Timestamp(at))
                .push(", ")
                .bind(Bind::Uuid(id))
                .push(")");
        }
        None => {}
    }
    sql.push(match sort {
        PublicSort::Newest => " ORDER BY published_at DESC, offers.id DESC",
        PublicSort::Deadline => " ORDER BY application_deadline ASC, offers.id ASC",
        PublicSort::Relevance => " ORDER BY rank DESC, published_at DESC, offers.id DESC",
    });
    sql.push(" LIMIT ")
        .bind(Bind::Int(i32::try_from(limit).unwrap_or(i32::MAX)));
    sql.into_query().load(conn)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = sql_types::BigInt)]
    count: i64,
}

/// How many published offers match `filter`.
pub fn public_count(conn: &mut PgConnection, filter: &PublicFilter) -> QueryResult<i64> {
    let mut sql = Sql::default();
    sql.push("SELECT count(*) AS count");
    from_where(&mut sql, filter);
    sql.into_query().get_result::<Count>(conn).map(|c| c.count)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct FacetRow {
    #[diesel(sql_type = sql_types::Text)]
    pub facet: String,
    #[diesel(sql_type = sql_types::Text)]
    pub value: String,
    #[diesel(sql_type = sql_types::BigInt)]
    pub count: i64,
}

/// Counts per department, field of study, education level, duration band and paid, over
/// the offers matching `filter`, in one query.
pub fn public_facets(conn: &mut PgConnection, filter: &PublicFilter) -> QueryResult<Vec<FacetRow>> {
    let mut sql = Sql::default();
    sql.push(
        "WITH matching AS (SELECT department, fields_of_study, education_levels, \
         duration_months_max, paid",
    );
    from_where(&mut sql, filter);
    sql.push(
        ") SELECT 'department' AS facet, department AS value, count(*) AS count FROM matching GROUP BY 2 \
         UNION ALL SELECT 'field_of_study', v, count(*) FROM matching, jsonb_array_elements_text(fields_of_study) v GROUP BY 2 \
         UNION ALL SELECT 'education_level', v, count(*) FROM matching, jsonb_array_elements_text(education_levels) v GROUP BY 2 \
         UNION ALL SELECT 'duration', CASE WHEN duration_months_max <= 2 THEN 'up_to_2_months' \
             WHEN duration_months_max <= 4 THEN '3_to_4_months' ELSE '5_to_6_months' END, count(*) FROM matching GROUP BY 2 \
         UNION ALL SELECT 'paid', paid::text, count(*) FROM matching GROUP BY 2 \
         ORDER BY 1, 3 DESC, 2",
    );
    sql.into_query().load(conn)
}

/// The version of the catalogue: it moves in the same transaction as any change to offers.
pub fn catalog_version(conn: &mut PgConnection) -> QueryResult<i64> {
    catalog_version::table
        .select(catalog_version::version)
        .first(conn)
}
