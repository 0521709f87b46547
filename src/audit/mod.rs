//! The audit log: who did and saw what. Features build an [`Audit`] entry and record it
//! inside the transaction of the change they make, so a change is never without its trace.

pub mod model;
pub mod routes;

use crate::db::schema::audit_log;
use chrono::{DateTime, Utc};
use diesel::{prelude::*, PgConnection};
use std::fmt::Display;
use uuid::Uuid;

/// One audit entry, built where the change happens:
/// `Audit::staff(actor).did("offer.updated").on("offer", offer.id).record(conn, now)?`.
/// `details` must not hold passwords, tokens or document bytes.
#[must_use = "an audit entry is written only by `record`"]
#[derive(Debug)]
pub struct Audit<'a> {
    actor_id: Option<Uuid>,
    action: &'a str,
    object_type: &'a str,
    object_id: String,
    details: serde_json::Value,
}

impl<'a> Audit<'a> {
    /// What a staff member did or saw.
    pub fn staff(actor: Uuid) -> Self {
        Self::by(Some(actor))
    }

    /// What a candidate did; candidates have no account, the object says whose it is.
    pub fn candidate() -> Self {
        Self::by(None)
    }

    /// What the system did on its own (purges, webhook health).
    pub fn system() -> Self {
        Self::by(None)
    }

    /// A staff member when there is one, the system otherwise (the CLI has no actor).
    pub fn by(actor_id: Option<Uuid>) -> Self {
        Audit {
            actor_id,
            action: "",
            object_type: "",
            object_id: String::new(),
            details: serde_json::json!({}),
        }
    }

    pub fn did(mut self, action: &'a str) -> Self {
        self.action = action;
        self
    }

    pub fn on(mut self, object_type: &'a str, object_id: impl Display) -> Self {
        self.object_type = object_type;
        self.object_id = object_id.to_string();
        self
    }

    /// Details of the entry; `{}` when not given.
    pub fn with(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// Writes the entry on `conn`, which should hold the transaction of the change.
    pub fn record(self, conn: &mut PgConnection, at: DateTime<Utc>) -> QueryResult<()> {
        debug_assert!(
            !self.action.is_empty() && !self.object_type.is_empty(),
            "an audit entry needs `did` and `on`"
        );
        diesel::insert_into(audit_log::table)
            .values((
                audit_log::at.eq(at),
                audit_log::actor_id.eq(self.actor_id),
                audit_log::action.eq(self.action),
                audit_log::object_type.eq(self.object_type),
                audit_log::object_id.eq(self.object_id),
                audit_log::details.eq(self.details),
            ))
            .execute(conn)
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_without_details_records_an_empty_object() {
        let id = Uuid::new_v4();
        let entry = Audit::system()
            .did("application.purged")
            .on("application", id);
        assert_eq!(entry.actor_id, None);
        assert_eq!(entry.action, "application.purged");
        assert_eq!(entry.object_type, "application");
        assert_eq!(entry.object_id, id.to_string());
        assert_eq!(entry.details, serde_json::json!({}));
    }

    #[test]
    fn a_staff_entry_names_its_actor_and_details() {
        let actor = Uuid::new_v4();
        let entry = Audit::staff(actor)
            .did("offer.deleted")
            .on("offer", "ref-1")
            .with(serde_json::json!({ "reference": "ref-1" }));
        assert_eq!(entry.actor_id, Some(actor));
        assert_eq!(entry.object_id, "ref-1");
        assert_eq!(entry.details, serde_json::json!({ "reference": "ref-1" }));
    }
}
