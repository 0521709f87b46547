//! Staff roles: a leaf the token code and the rest of `auth` share.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a staff member may do (DESIGN.md, "Roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including staff users, partners and the audit log.
    Admin,
    /// Offers, all applications, reviewer assignments.
    Manager,
    /// Offers assigned to them and their applications; their own reviews.
    Reviewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Manager, Role::Reviewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Reviewer => "reviewer",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}
