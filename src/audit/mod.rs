//! The audit log: who did and saw what. Features call [`record`] inside the transaction of
//! the change they make, so a change is never without its trace.

pub mod model;
pub mod routes;

use crate::db::schema::audit_log;
use chrono::{DateTime, Utc};
use diesel::{prelude::*, PgConnection};
use uuid::Uuid;

/// One audit entry. `details` must not hold passwords, tokens or document bytes.
pub struct Entry<'a> {
    pub actor_id: Option<Uuid>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: String,
    pub details: serde_json::Value,
}

pub fn record(conn: &mut PgConnection, at: DateTime<Utc>, entry: Entry) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(at),
            audit_log::actor_id.eq(entry.actor_id),
            audit_log::action.eq(entry.action),
            audit_log::object_type.eq(entry.object_type),
            audit_log::object_id.eq(entry.object_id),
            audit_log::details.eq(entry.details),
        ))
        .execute(conn)
        .map(drop)
}

/// Records what a staff member did or saw, for handlers.
pub fn by_staff(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    actor: Uuid,
    action: &str,
    object_type: &str,
    object_id: Uuid,
    details: serde_json::Value,
) -> Result<(), crate::error::ApiError> {
    record(
        conn,
        at,
        Entry {
            actor_id: Some(actor),
            action,
            object_type,
            object_id: object_id.to_string(),
            details,
        },
    )?;
    Ok(())
}
