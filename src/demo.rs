//! Demo data for `passerelle seed-demo` and `docker compose up`: staff accounts of each role
//! with published passwords. Idempotent: what exists is left as it is.

use crate::{
    auth::{
        model,
        password::hash_password,
        users::{insert_account, NewAccount},
        Role,
    },
    db::BoxError,
};
use diesel::PgConnection;

/// Demo accounts: (email, name, role, password). Documented in the README.
pub const DEMO_STAFF: [(&str, &str, Role, &str); 3] = [
    (
        "admin@demo.passerelle.example",
        "Alice Admin",
        Role::Admin,
        "demo-admin-passphrase",
    ),
    (
        "manager@demo.passerelle.example",
        "Mathilde Lestra",
        Role::Manager,
        "demo-manager-passphrase",
    ),
    (
        "reviewer@demo.passerelle.example",
        "Rémi Relecteur",
        Role::Reviewer,
        "demo-reviewer-passphrase",
    ),
];

pub fn seed(conn: &mut PgConnection) -> Result<(), BoxError> {
    let now = chrono::Utc::now();
    for (email, name, role, password) in DEMO_STAFF {
        if model::find_by_email(conn, email)?.is_some() {
            continue;
        }
        let account = NewAccount {
            email: email.to_owned(),
            name: name.to_owned(),
            role,
            password_hash: hash_password(password)?,
        };
        insert_account(conn, &account, None, now)?;
        log::info!("demo staff account {email} created");
    }
    Ok(())
}
