//! Reading the audit log.

use crate::db::schema::{audit_log, staff_users};
use chrono::{DateTime, Utc};
use diesel::{prelude::*, PgConnection};
use uuid::Uuid;

#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<Uuid>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Keyset position: entries strictly older than this `(at, id)`.
    pub before: Option<crate::db::pagination::Position<i64>>,
}

#[derive(Debug, Queryable)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub details: serde_json::Value,
    pub actor_email: Option<String>,
    pub actor_name: Option<String>,
}

/// Up to `limit` entries matching `filter`, newest first, with their actor: one query.
pub fn list(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut q = audit_log::table.left_join(staff_users::table).into_boxed();
    if let Some(actor) = filter.actor {
        q = q.filter(audit_log::actor_id.eq(actor));
    }
    if let Some(t) = &filter.object_type {
        q = q.filter(audit_log::object_type.eq(t.clone()));
    }
    if let Some(id) = &filter.object_id {
        q = q.filter(audit_log::object_id.eq(id.clone()));
    }
    if let Some(a) = &filter.action {
        q = q.filter(audit_log::action.eq(a.clone()));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_log::at.ge(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(audit_log::at.lt(to));
    }
    if let Some(crate::db::pagination::Position { at, id }) = filter.before {
        q = q.filter(
            audit_log::at
                .lt(at)
                .or(audit_log::at.eq(at).and(audit_log::id.lt(id))),
        );
    }
    q.order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(limit)
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::actor_id,
            audit_log::action,
            audit_log::object_type,
            audit_log::object_id,
            audit_log::details,
            staff_users::email.nullable(),
            staff_users::name.nullable(),
        ))
        .load(conn)
}
