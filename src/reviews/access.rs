//! Who may see an offer's applications and reviews. Admins and managers see everything; a
//! reviewer sees the offers assigned to them and their applications, except those on which
//! they declared a conflict of interest. Anything else is 404, as if it did not exist.

use super::model;
use crate::{
    applications::model::Application,
    auth::{AuthUser, Role},
    error::ApiError,
};
use diesel::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Admin or manager: everything, identities included.
    Manage,
    /// An assigned reviewer; with `blind`, no candidate identity.
    Review { blind: bool },
}

impl Access {
    pub fn is_manager(self) -> bool {
        self == Access::Manage
    }

    pub fn is_blind(self) -> bool {
        self == Access::Review { blind: true }
    }

    /// 403 for reviewers: they may know the object, not change it.
    pub fn require_manager(self) -> Result<(), ApiError> {
        if self.is_manager() {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

pub fn offer_access(
    conn: &mut PgConnection,
    user: &AuthUser,
    offer_id: Uuid,
) -> Result<Access, ApiError> {
    match user.role {
        Role::Admin | Role::Manager => Ok(Access::Manage),
        Role::Reviewer if model::is_assigned(conn, offer_id, user.id)? => Ok(Access::Review {
            blind: model::is_blind(conn, offer_id)?,
        }),
        Role::Reviewer => Err(ApiError::not_found()),
    }
}

pub fn application_access(
    conn: &mut PgConnection,
    user: &AuthUser,
    application: &Application,
) -> Result<Access, ApiError> {
    let access = offer_access(conn, user, application.offer_id)?;
    if !access.is_manager() && model::has_conflict(conn, application.id, user.id)? {
        return Err(ApiError::not_found());
    }
    Ok(access)
}
