//! Partner rows and their queries: accounts, API keys, the request counter of the rate limit,
//! the change feed, webhook endpoints and their deliveries, and attribution counts.

use crate::db::{
    pagination::Position,
    schema::{
        offer_changes, partner_keys, partner_rate_windows, partners, webhook_deliveries,
        webhook_endpoints,
    },
    types::Json,
};
use chrono::{DateTime, Utc};
use diesel::{pg::Pg, prelude::*, sql_types, PgConnection};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partners, check_for_backend(Pg))]
pub struct Partner {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub contact_email: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<Uuid>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = partners)]
pub struct NewPartner<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub slug: &'a str,
    pub contact_email: &'a str,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<Uuid>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = partners)]
pub struct PartnerChanges {
    pub name: Option<String>,
    pub contact_email: Option<String>,
    pub active: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<Uuid>,
}

/// A key without its hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partner_keys, check_for_backend(Pg))]
pub struct PartnerKey {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl PartnerKey {
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

pub fn insert_partner(conn: &mut PgConnection, p: &NewPartner) -> QueryResult<Partner> {
    diesel::insert_into(partners::table)
        .values(p)
        .returning(Partner::as_returning())
        .get_result(conn)
}

/// Whether an insert hit the unique slug.
pub fn is_slug_taken(e: &diesel::result::Error) -> bool {
    crate::db::violates_unique(e, "partners_slug_key")
}

pub fn find_partner(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Partner>> {
    partners::table
        .find(id)
        .select(Partner::as_select())
        .first(conn)
        .optional()
}

/// Oldest first.
pub fn list_partners(
    conn: &mut PgConnection,
    after: Option<Position>,
    limit: i64,
) -> QueryResult<(Vec<Partner>, i64)> {
    let mut query = partners::table.into_boxed();
    if let Some(p) = after {
        query = query.filter(crate::db::pagination::after(
            partners::created_at,
            partners::id,
            p,
        ));
    }
    let rows = query
        .order((partners::created_at.asc(), partners::id.asc()))
        .limit(limit + 1)
        .select(Partner::as_select())
        .load(conn)?;
    let total = partners::table.count().get_result(conn)?;
    Ok((rows, total))
}

pub fn update_partner(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &PartnerChanges,
) -> QueryResult<Partner> {
    diesel::update(partners::table.find(id))
        .set(changes)
        .returning(Partner::as_returning())
        .get_result(conn)
}

/// Locks a partner row until the end of the transaction (rotations of one partner queue up).
pub fn lock_partner(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Partner>> {
    partners::table
        .find(id)
        .select(Partner::as_select())
        .for_update()
        .first(conn)
        .optional()
}

pub fn insert_key(
    conn: &mut PgConnection,
    partner_id: Uuid,
    prefix: &str,
    key_hash: &[u8],
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<PartnerKey> {
    diesel::insert_into(partner_keys::table)
        .values((
            partner_keys::id.eq(Uuid::new_v4()),
            partner_keys::partner_id.eq(partner_id),
            partner_keys::prefix.eq(prefix),
            partner_keys::key_hash.eq(key_hash),
            partner_keys::created_at.eq(now),
            partner_keys::created_by.eq(actor),
        ))
        .returning(PartnerKey::as_returning())
        .get_result(conn)
}

/// Makes every other key of the partner stop working at `at` at the latest.
pub fn expire_other_keys(
    conn: &mut PgConnection,
    partner_id: Uuid,
    except: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        partner_keys::table
            .filter(partner_keys::partner_id.eq(partner_id))
            .filter(partner_keys::id.ne(except))
            .filter(
                partner_keys::expires_at
                    .is_null()
                    .or(partner_keys::expires_at.gt(at)),
            ),
    )
    .set(partner_keys::expires_at.eq(Some(at)))
    .execute(conn)
}

/// Newest first.
pub fn keys_of(conn: &mut PgConnection, partner_id: Uuid) -> QueryResult<Vec<PartnerKey>> {
    partner_keys::table
        .filter(partner_keys::partner_id.eq(partner_id))
        // The current key first, also when two were made in the same microsecond.
        .order((
            partner_keys::created_at.desc(),
            partner_keys::expires_at.desc().nulls_first(),
            partner_keys::id.desc(),
        ))
        .select(PartnerKey::as_select())
        .load(conn)
}

/// The key with this hash and its partner.
pub fn find_key(
    conn: &mut PgConnection,
    key_hash: &[u8],
) -> QueryResult<Option<(PartnerKey, Partner)>> {
    partner_keys::table
        .inner_join(partners::table)
        .filter(partner_keys::key_hash.eq(key_hash))
        .select((PartnerKey::as_select(), Partner::as_select()))
        .first(conn)
        .optional()
}

/// Notes that a key was used, at most once a minute (a write per request would be waste).
pub fn touch_key(conn: &mut PgConnection, key_id: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    let stale = now - chrono::Duration::minutes(1);
    diesel::update(
        partner_keys::table.find(key_id).filter(
            partner_keys::last_used_at
                .is_null()
                .or(partner_keys::last_used_at.lt(stale)),
        ),
    )
    .set(partner_keys::last_used_at.eq(Some(now)))
    .execute(conn)
    .map(drop)
}

/// Counts one request of the partner in the window starting at `window_start` and returns
/// the count so far. One atomic upsert: concurrent requests on any instance all count.
pub fn count_request(
    conn: &mut PgConnection,
    partner_id: Uuid,
    window_start: DateTime<Utc>,
) -> QueryResult<i32> {
    use partner_rate_windows::dsl as w;
    let count: i32 = diesel::insert_into(w::partner_rate_windows)
        .values((
            w::partner_id.eq(partner_id),
            w::window_start.eq(window_start),
            w::requests.eq(1),
        ))
        .on_conflict((w::partner_id, w::window_start))
        .do_update()
        .set(w::requests.eq(w::requests + 1))
        .returning(w::requests)
        .get_result(conn)?;
    if count == 1 {
        // The first request of a window: the partner's older windows are of no more use.
        diesel::delete(
            w::partner_rate_windows
                .filter(w::partner_id.eq(partner_id))
                .filter(w::window_start.lt(window_start)),
        )
        .execute(conn)?;
    }
    Ok(count)
}

// --- the change feed ---------------------------------------------------------------------

/// What a row of the change feed says about its offer (the trigger on `offers` writes them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The offer is (or was, then) published: its current state is to be copied.
    Upsert,
    /// The offer left the public set; `reason` says how.
    Tombstone,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upsert => "upsert",
            Self::Tombstone => "tombstone",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Upsert, Self::Tombstone]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

/// Where a webhook delivery stands: `pending` (being tried), `delivered`, or `failed` (out of
/// attempts, or its endpoint or partner was turned off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

crate::db::types::text_enum!(ChangeKind, DeliveryStatus);

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = offer_changes, check_for_backend(Pg))]
pub struct ChangeRow {
    pub seq: i64,
    pub xact_id: i64,
    pub offer_id: Uuid,
    pub kind: ChangeKind,
    pub reason: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// Up to `limit` changes after `(xact_id, seq)`, in feed order, of transactions older than
/// every transaction still running: those can no longer be joined by a change that sorts
/// before them. One statement, so the bound and the rows come from the same snapshot.
pub fn changes_after(
    conn: &mut PgConnection,
    after: (i64, i64),
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    diesel::sql_query(
        "SELECT seq, xact_id, offer_id, kind, reason, changed_at FROM offer_changes \
         WHERE (xact_id, seq) > ($1, $2) \
           AND xact_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
         ORDER BY xact_id, seq LIMIT $3",
    )
    .bind::<sql_types::BigInt, _>(after.0)
    .bind::<sql_types::BigInt, _>(after.1)
    .bind::<sql_types::BigInt, _>(limit)
    .load(conn)
}

/// The first transaction id not yet given out (`pg_snapshot_xmax`): every change of the
/// feed, and every cursor this server issued, is below it. A cursor at or above it was
/// issued before the database was restored from a backup (or into another cluster).
pub fn feed_horizon(conn: &mut PgConnection) -> QueryResult<i64> {
    diesel::sql_query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmin")
        .get_result::<Xmin>(conn)
        .map(|x| x.xmin)
}

/// After a dump was restored into another PostgreSQL cluster, the feed's rows carry the old
/// cluster's transaction ids, which may be ahead of this one's (at or above `feed_horizon`,
/// which no row written here can be): they would stay hidden until
/// this cluster caught up, and new changes would sort before them. Moves such rows to the
/// start of the feed (transaction 0, in their old order), before every change made here.
/// Returns how many moved; 0 on a database that was not restored.
pub fn rebase_restored_changes(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE offer_changes SET xact_id = 0 \
         WHERE xact_id >= pg_snapshot_xmax(pg_current_snapshot())::text::bigint",
    )
    .execute(conn)
}

/// [`rebase_restored_changes`], logged: run after the migrations at every start.
pub fn repair_feed_after_restore(conn: &mut PgConnection) -> QueryResult<()> {
    let moved = rebase_restored_changes(conn)?;
    if moved > 0 {
        log::warn!(
            "change feed: {moved} change(s) carry transaction ids ahead of this database \
             (a dump restored into another cluster); moved to the start of the feed. Partners \
             holding cursors from before the restore get 410 cursor_expired and copy the \
             offers again"
        );
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Xmin {
    #[diesel(sql_type = sql_types::BigInt)]
    xmin: i64,
}

/// The oldest transaction still running as the current snapshot sees it: every change of an
/// older transaction is visible to this snapshot.
pub fn snapshot_xmin(conn: &mut PgConnection) -> QueryResult<i64> {
    diesel::sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin")
        .get_result::<Xmin>(conn)
        .map(|x| x.xmin)
}

/// When the public set last changed.
pub fn last_change_at(conn: &mut PgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    offer_changes::table
        .select(diesel::dsl::max(offer_changes::changed_at))
        .first(conn)
}

// --- webhooks ----------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(Pg))]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub url: String,
    pub secret: String,
    pub events: Json<Vec<String>>,
    pub active: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    pub fn events(&self) -> Vec<String> {
        self.events.0.clone()
    }
}

pub fn insert_endpoint(
    conn: &mut PgConnection,
    partner_id: Uuid,
    url: &str,
    secret: &str,
    events: &[String],
    now: DateTime<Utc>,
) -> QueryResult<WebhookEndpoint> {
    diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(Uuid::new_v4()),
            webhook_endpoints::partner_id.eq(partner_id),
            webhook_endpoints::url.eq(url),
            webhook_endpoints::secret.eq(secret),
            webhook_endpoints::events.eq(Json(events)),
            webhook_endpoints::created_at.eq(now),
            webhook_endpoints::updated_at.eq(now),
        ))
        .returning(WebhookEndpoint::as_returning())
        .get_result(conn)
}

/// A page of a partner's endpoints, oldest first, after `after` (creation, id); with the
/// count of all.
pub fn endpoints_of(
    conn: &mut PgConnection,
    partner_id: Uuid,
    after: Option<crate::db::pagination::Position>,
    limit: i64,
) -> QueryResult<(Vec<WebhookEndpoint>, i64)> {
    let mut q = webhook_endpoints::table
        .filter(webhook_endpoints::partner_id.eq(partner_id))
        .into_boxed();
    if let Some(p) = after {
        q = q.filter(crate::db::pagination::after(
            webhook_endpoints::created_at,
            webhook_endpoints::id,
            p,
        ));
    }
    let rows = q
        .order((
            webhook_endpoints::created_at.asc(),
            webhook_endpoints::id.asc(),
        ))
        .limit(limit + 1)
        .select(WebhookEndpoint::as_select())
        .load(conn)?;
    let total = webhook_endpoints::table
        .filter(webhook_endpoints::partner_id.eq(partner_id))
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

pub fn find_endpoint(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<WebhookEndpoint>> {
    webhook_endpoints::table
        .find(id)
        .select(WebhookEndpoint::as_select())
        .first(conn)
        .optional()
}

/// Turns an endpoint on (clearing why it was disabled) or off with a reason.
pub fn set_endpoint_active(
    conn: &mut PgConnection,
    id: Uuid,
    active: bool,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<WebhookEndpoint> {
    diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::active.eq(active),
            webhook_endpoints::disabled_at.eq((!active).then_some(now)),
            webhook_endpoints::disabled_reason.eq(reason),
            webhook_endpoints::updated_at.eq(now),
        ))
        .returning(WebhookEndpoint::as_returning())
        .get_result(conn)
}

pub fn delete_endpoint(conn: &mut PgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhook_endpoints::table.find(id)).execute(conn)
}

/// The active endpoints of active partners.
pub fn live_endpoints(conn: &mut PgConnection) -> QueryResult<Vec<WebhookEndpoint>> {
    webhook_endpoints::table
        .inner_join(partners::table)
        .filter(webhook_endpoints::active.eq(true))
        .filter(partners::active.eq(true))
        .order((
            webhook_endpoints::created_at.asc(),
            webhook_endpoints::id.asc(),
        ))
        .select(WebhookEndpoint::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(Pg))]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub partner_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub offer_id: Uuid,
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery<'a> {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub partner_id: Uuid,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub offer_id: Uuid,
    pub body: &'a str,
    pub created_at: DateTime<Utc>,
}

pub fn insert_delivery(conn: &mut PgConnection, d: &NewDelivery) -> QueryResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values(d)
        .execute(conn)
        .map(drop)
}

pub fn find_delivery(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<WebhookDelivery>> {
    webhook_deliveries::table
        .find(id)
        .select(WebhookDelivery::as_select())
        .first(conn)
        .optional()
}

/// Records one attempt: its answer or error, and the delivery's new status.
pub fn record_attempt(
    conn: &mut PgConnection,
    id: Uuid,
    status: DeliveryStatus,
    status_code: Option<i32>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(status),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::last_attempt_at.eq(Some(now)),
            webhook_deliveries::last_status_code.eq(status_code),
            webhook_deliveries::last_error.eq(error),
            webhook_deliveries::delivered_at
                .eq((status == DeliveryStatus::Delivered).then_some(now)),
        ))
        .execute(conn)
        .map(drop)
}

/// Marks a delivery failed without an attempt (its endpoint or partner was turned off).
pub fn abandon_delivery(conn: &mut PgConnection, id: Uuid, why: &str) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(DeliveryStatus::Failed),
            webhook_deliveries::last_error.eq(Some(why)),
        ))
        .execute(conn)
        .map(drop)
}

/// A partner's deliveries, newest first.
pub fn deliveries_of(
    conn: &mut PgConnection,
    partner_id: Uuid,
    after: Option<Position>,
    limit: i64,
) -> QueryResult<(Vec<WebhookDelivery>, i64)> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::partner_id.eq(partner_id))
        .into_boxed();
    if let Some(p) = after {
        query = query.filter(crate::db::pagination::before(
            webhook_deliveries::created_at,
            webhook_deliveries::id,
            p,
        ));
    }
    let rows = query
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit + 1)
        .select(WebhookDelivery::as_select())
        .load(conn)?;
    let total = webhook_deliveries::table
        .filter(webhook_deliveries::partner_id.eq(partner_id))
        .count()
        .get_result(conn)?;
    Ok((rows, total))
}

// --- attribution ---------------------------------------------------------------------------

#[derive(Debug, Clone, QueryableByName)]
pub struct SourceCount {
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub source: Option<String>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Uuid>)]
    pub partner_id: Option<Uuid>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub partner_name: Option<String>,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    pub partner_slug: Option<String>,
    #[diesel(sql_type = sql_types::BigInt)]
    pub applications: i64,
    #[diesel(sql_type = sql_types::BigInt)]
    pub hires: i64,
}

/// Applications and hires per source (lower-cased), with the partner whose slug it is.
/// Erased applications still count: their source and status are kept for statistics.
pub fn applications_per_source(
    conn: &mut PgConnection,
    offer_id: Option<Uuid>,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> QueryResult<Vec<SourceCount>> {
    diesel::sql_query(
        "SELECT s.source, p.id AS partner_id, p.name AS partner_name, p.slug AS partner_slug, \
                s.applications, s.hires \
         FROM (SELECT nullif(lower(trim(source)), '') AS source, count(*) AS applications, \
                      count(*) FILTER (WHERE status = 'hired') AS hires \
               FROM applications \
               WHERE ($1::uuid IS NULL OR offer_id = $1) \
                 AND ($2::timestamptz IS NULL OR created_at >= $2) \
                 AND ($3::timestamptz IS NULL OR created_at < $3) \
               GROUP BY 1) s \
         LEFT JOIN partners p ON p.slug = s.source \
         ORDER BY s.applications DESC, s.source NULLS LAST",
    )
    .bind::<sql_types::Nullable<sql_types::Uuid>, _>(offer_id)
    .bind::<sql_types::Nullable<sql_types::Timestamptz>, _>(from)
    .bind::<sql_types::Nullable<sql_types::Timestamptz>, _>(until)
    .load(conn)
}
