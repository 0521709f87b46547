//! Queries for staff users, their sessions and refresh tokens.

use super::role::Role;
use crate::db::{
    pagination::Position,
    schema::{refresh_tokens, staff_sessions, staff_users},
};
use chrono::{DateTime, Utc};
use diesel::{prelude::*, PgConnection};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = staff_users)]
pub struct StaffUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub updated_by: Option<Uuid>,
    pub password_changed_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = staff_users)]
pub struct NewStaffUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub updated_by: Option<Uuid>,
    pub password_changed_at: DateTime<Utc>,
}

crate::db::types::text_enum!(Role);

/// Emails are compared and stored trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<StaffUser>> {
    staff_users::table
        .filter(staff_users::email.eq(normalize_email(email)))
        .select(StaffUser::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_id(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<StaffUser>> {
    staff_users::table
        .find(id)
        .select(StaffUser::as_select())
        .first(conn)
        .optional()
}

/// The active user of a live (unrevoked, unexpired) session, in one query.
pub fn live_session_user(
    conn: &mut PgConnection,
    user_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<StaffUser>> {
    staff_sessions::table
        .inner_join(staff_users::table)
        .filter(staff_sessions::id.eq(session_id))
        .filter(staff_sessions::user_id.eq(user_id))
        .filter(staff_sessions::revoked_at.is_null())
        .filter(staff_sessions::expires_at.gt(now))
        .filter(staff_users::active.eq(true))
        .select(StaffUser::as_select())
        .first(conn)
        .optional()
}

/// Whether inserting `email` hit the unique index.
pub fn is_email_taken(e: &diesel::result::Error) -> bool {
    crate::db::violates_unique(e, "staff_users_email_key")
}

pub fn insert_user(conn: &mut PgConnection, user: &NewStaffUser) -> QueryResult<StaffUser> {
    diesel::insert_into(staff_users::table)
        .values(user)
        .returning(StaffUser::as_returning())
        .get_result(conn)
}

/// Filters for the staff user list.
#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// Up to `limit + 1` users after `after`, oldest first, and the total matching.
pub fn list_users(
    conn: &mut PgConnection,
    filter: &UserFilter,
    after: Option<Position>,
    limit: i64,
) -> QueryResult<(Vec<StaffUser>, i64)> {
    let filtered = || {
        let mut q = staff_users::table.into_boxed();
        if let Some(role) = &filter.role {
            q = q.filter(staff_users::role.eq(*role));
        }
        if let Some(active) = filter.active {
            q = q.filter(staff_users::active.eq(active));
        }
        q
    };
    let mut page = filtered();
    if let Some(p) = after {
        page = page.filter(crate::db::pagination::after(
            staff_users::created_at,
            staff_users::id,
            p,
        ));
    }
    let rows = page
        .order((staff_users::created_at.asc(), staff_users::id.asc()))
        .limit(limit + 1)
        .select(StaffUser::as_select())
        .load(conn)?;
    let total = filtered().count().get_result(conn)?;
    Ok((rows, total))
}

/// Locks every active admin row and returns how many there are: two admins demoting each
/// other at once cannot both succeed.
pub fn lock_active_admins(conn: &mut PgConnection) -> QueryResult<Vec<Uuid>> {
    staff_users::table
        .filter(staff_users::role.eq(Role::Admin))
        .filter(staff_users::active.eq(true))
        .select(staff_users::id)
        .for_update()
        .load(conn)
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = staff_users)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<Uuid>,
}

pub fn update_user(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &UserChanges,
) -> QueryResult<StaffUser> {
    diesel::update(staff_users::table.find(id))
        .set(changes)
        .returning(StaffUser::as_returning())
        .get_result(conn)
}

pub fn set_password_hash(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(staff_users::table.find(id))
        .set((
            staff_users::password_hash.eq(hash),
            staff_users::password_changed_at.eq(now),
            staff_users::updated_at.eq(now),
            staff_users::updated_by.eq(Some(id)),
        ))
        .execute(conn)
        .map(drop)
}

// --- sessions and refresh tokens -----------------------------------------------------------

pub fn create_session(
    conn: &mut PgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<Uuid> {
    let id = Uuid::new_v4();
    diesel::insert_into(staff_sessions::table)
        .values((
            staff_sessions::id.eq(id),
            staff_sessions::user_id.eq(user_id),
            staff_sessions::created_at.eq(now),
            staff_sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn insert_refresh_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
    session_id: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// A refresh token with what decides whether it may be rotated.
#[derive(Debug, Queryable)]
pub struct RefreshTokenState {
    pub session_id: Uuid,
    pub token_expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub session_expires_at: DateTime<Utc>,
    pub session_revoked_at: Option<DateTime<Utc>>,
    pub user: StaffUser,
}

/// Reads a refresh token and locks it, so two concurrent rotations serialise.
pub fn lock_refresh_token(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<RefreshTokenState>> {
    refresh_tokens::table
        .inner_join(staff_sessions::table.inner_join(staff_users::table))
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            refresh_tokens::session_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            staff_sessions::expires_at,
            staff_sessions::revoked_at,
            StaffUser::as_select(),
        ))
        .for_update()
        .first(conn)
        .optional()
}

pub fn mark_refresh_token_used(
    conn: &mut PgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(refresh_tokens::table.find(token_hash))
        .set(refresh_tokens::used_at.eq(now))
        .execute(conn)
        .map(drop)
}

pub fn revoke_session(
    conn: &mut PgConnection,
    session_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        staff_sessions::table
            .find(session_id)
            .filter(staff_sessions::revoked_at.is_null()),
    )
    .set((
        staff_sessions::revoked_at.eq(now),
        staff_sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
    .map(drop)
}

/// Revokes every live session of a user, except `keep` (the caller's own, on password change).
pub fn revoke_user_sessions(
    conn: &mut PgConnection,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        staff_sessions::table
            .filter(staff_sessions::user_id.eq(user_id))
            .filter(staff_sessions::revoked_at.is_null())
            .filter(staff_sessions::id.ne(keep.unwrap_or_else(Uuid::nil))),
    )
    .set((
        staff_sessions::revoked_at.eq(now),
        staff_sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)
}
