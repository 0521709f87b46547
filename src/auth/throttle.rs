//! Login throttling, shared by every instance through the `login_failures` table. Each
//! attempt is counted against budgets of failures within the window: per (account, client
//! address), per client address across accounts, and per account across addresses (higher,
//! against a distributed guesser). An address the account has logged in from before is not
//! held to the account's budget, so failures from elsewhere cannot lock its owner out.
//!
//! The attempt is reserved before the password is verified ([`reserve`]): in one
//! transaction, under advisory locks on the subjects, the budgets are checked and a failure
//! row is written for each subject; a correct password then takes its rows back
//! ([`release`]). Parallel attempts therefore verify no more passwords than the budgets.

use crate::{
    db::schema::{login_failures, login_known_addresses},
    settings::LoginThrottle,
};
use chrono::{DateTime, Duration, Utc};
use diesel::{prelude::*, sql_types::BigInt, PgConnection};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long an address stays known to an account after a login from it.
pub const KNOWN_ADDRESS_DAYS: i64 = 180;

/// A throttled subject, hashed: the table never holds an email or an address.
pub fn subject(kind: &str, value: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update(b":");
    h.update(value.trim().to_lowercase().as_bytes());
    h.finalize().to_vec()
}

/// Seconds until an attempt is allowed again, given the subject's recent failures (newest
/// first, at most `max_failures` of them); `None` when allowed now.
pub fn retry_after(
    recent_newest_first: &[DateTime<Utc>],
    max_failures: i64,
    window: Duration,
    now: DateTime<Utc>,
) -> Option<u64> {
    if (recent_newest_first.len() as i64) < max_failures {
        return None;
    }
    let oldest_counted = *recent_newest_first.last()?;
    let free_at = oldest_counted + window;
    (free_at > now).then(|| (free_at - now).num_seconds().max(0) as u64 + 1)
}

/// One budget an attempt is counted against.
pub struct Budget {
    pub subject: Vec<u8>,
    pub max_failures: i64,
    /// Counted (a failure is recorded) but not enforced: the account's budget for an
    /// address it is known from.
    pub waived: bool,
}

/// Who a login attempt is counted against: the account's id when the email names an
/// account, else the email itself (prefixed, so that it never equals an id). Failures for an
/// address no account has yet therefore never apply to an account created for it later
/// (trying the README's login before `seed-demo` must not lock the demo admin out).
pub fn account_key(email: &str, account_id: Option<Uuid>) -> String {
    match account_id {
        Some(id) => format!("id:{id}"),
        None => format!("email:{}", email.trim().to_lowercase()),
    }
}

/// The budgets of a login attempt for the account `account` (an [`account_key`]) from the
/// normalised address `address_key`.
pub fn login_budgets(
    account: &str,
    address_key: &str,
    rule: LoginThrottle,
    known_address: bool,
) -> Vec<Budget> {
    vec![
        Budget {
            subject: pair_subject(account, address_key),
            max_failures: rule.max_failures,
            waived: false,
        },
        Budget {
            subject: subject("ip", address_key),
            max_failures: rule.address_max_failures,
            waived: false,
        },
        Budget {
            subject: subject("account", account),
            max_failures: rule.account_max_failures,
            waived: known_address,
        },
    ]
}

/// The subject of one account (an [`account_key`]) from one address.
pub fn pair_subject(account: &str, address_key: &str) -> Vec<u8> {
    subject(
        "pair",
        &format!("{}|{address_key}", account.trim().to_lowercase()),
    )
}

fn known_subject(email: &str, address_key: &str) -> Vec<u8> {
    subject(
        "known",
        &format!("{}|{address_key}", email.trim().to_lowercase()),
    )
}

/// Has the account logged in from this address within [`KNOWN_ADDRESS_DAYS`]?
pub fn is_known_address(
    conn: &mut PgConnection,
    email: &str,
    address_key: &str,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    let since = now - Duration::days(KNOWN_ADDRESS_DAYS);
    diesel::select(diesel::dsl::exists(
        login_known_addresses::table
            .filter(login_known_addresses::subject.eq(known_subject(email, address_key)))
            .filter(login_known_addresses::last_login_at.gt(since)),
    ))
    .get_result(conn)
}

/// Remembers that the account logged in from this address, and forgets addresses not used
/// for [`KNOWN_ADDRESS_DAYS`].
pub fn remember_address(
    conn: &mut PgConnection,
    email: &str,
    address_key: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(login_known_addresses::table)
        .values((
            login_known_addresses::subject.eq(known_subject(email, address_key)),
            login_known_addresses::last_login_at.eq(now),
        ))
        .on_conflict(login_known_addresses::subject)
        .do_update()
        .set(login_known_addresses::last_login_at.eq(now))
        .execute(conn)?;
    let cutoff = now - Duration::days(KNOWN_ADDRESS_DAYS);
    diesel::delete(
        login_known_addresses::table.filter(login_known_addresses::last_login_at.lt(cutoff)),
    )
    .execute(conn)
    .map(drop)
}

/// The advisory lock key of a subject: its first eight bytes.
fn lock_key(subject: &[u8]) -> i64 {
    let mut bytes = [0u8; 8];
    for (b, s) in bytes.iter_mut().zip(subject) {
        *b = *s;
    }
    i64::from_be_bytes(bytes)
}

/// Reserves an attempt: `Ok(Err(wait))` when a budget is spent (nothing is recorded), else
/// a failure is recorded for every budget's subject and their row ids returned, for
/// [`release`] when the attempt succeeds. Atomic across instances: the subjects are locked
/// (in a fixed order, so two attempts never wait on each other) for the transaction.
pub fn reserve(
    conn: &mut PgConnection,
    budgets: &[Budget],
    window: std::time::Duration,
    now: DateTime<Utc>,
) -> QueryResult<Result<Vec<i64>, u64>> {
    let window = Duration::from_std(window).unwrap_or(Duration::zero());
    conn.transaction(|conn| {
        let mut keys: Vec<i64> = budgets.iter().map(|b| lock_key(&b.subject)).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(key)
                .execute(conn)?;
        }
        let mut wait = None;
        for budget in budgets.iter().filter(|b| !b.waived) {
            let recent: Vec<DateTime<Utc>> = login_failures::table
                .filter(login_failures::subject.eq(&budget.subject))
                .filter(login_failures::failed_at.gt(now - window))
                .order(login_failures::failed_at.desc())
                .limit(budget.max_failures)
                .select(login_failures::failed_at)
                .load(conn)?;
            wait = wait.max(retry_after(&recent, budget.max_failures, window, now));
        }
        if let Some(wait) = wait {
            return Ok(Err(wait));
        }
        let rows: Vec<_> = budgets
            .iter()
            .map(|b| {
                (
                    login_failures::subject.eq(&b.subject),
                    login_failures::failed_at.eq(now),
                )
            })
            .collect();
        let ids = diesel::insert_into(login_failures::table)
            .values(rows)
            .returning(login_failures::id)
            .get_results(conn)?;
        diesel::delete(login_failures::table.filter(login_failures::failed_at.lt(now - window)))
            .execute(conn)?;
        Ok(Ok(ids))
    })
}

/// A successful attempt takes back what [`reserve`] recorded.
pub fn release(conn: &mut PgConnection, reserved: &[i64]) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::id.eq_any(reserved)))
        .execute(conn)
        .map(drop)
}

/// A successful login clears the failures of its (account, address) pair, not those of the
/// account or the address.
pub fn clear(conn: &mut PgConnection, subject: &[u8]) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::subject.eq(subject)))
        .execute(conn)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> Duration {
        Duration::seconds(600)
    }

    #[test]
    fn allows_until_the_limit_then_waits_for_the_oldest_to_expire() {
        let now = Utc::now();
        let ago = |s| now - Duration::seconds(s);
        assert_eq!(retry_after(&[ago(1), ago(2)], 3, window(), now), None);
        // The oldest counted failure was 100 s ago: free in 500 s (+1 rounding up).
        assert_eq!(
            retry_after(&[ago(1), ago(2), ago(100)], 3, window(), now),
            Some(501)
        );
        assert_eq!(
            retry_after(&[ago(1), ago(2), ago(600)], 3, window(), now),
            None
        );
    }

    #[test]
    fn subjects_are_hashed_and_normalised() {
        assert_eq!(subject("account", " A@B.fr "), subject("account", "a@b.fr"));
        assert_ne!(subject("account", "a@b.fr"), subject("ip", "a@b.fr"));
        assert_eq!(
            pair_subject(" A@B.fr", "::1"),
            pair_subject("a@b.fr", "::1")
        );
        assert_ne!(pair_subject("a@b.fr", "::1"), pair_subject("a@b.fr", "::2"));
        assert_eq!(subject("ip", "127.0.0.1").len(), 32);
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn a_login_counts_per_pair_address_and_account_and_a_known_address_waives_the_account() {
        let rule = LoginThrottle {
            max_failures: 5,
            address_max_failures: 20,
            account_max_failures: 50,
            window: std::time::Duration::from_secs(900),
        };
        let budgets = login_budgets("email:a@b.fr", "192.0.2.1", rule, false);
        let limits: Vec<(i64, bool)> = budgets.iter().map(|b| (b.max_failures, b.waived)).collect();
        assert_eq!(limits, [(5, false), (20, false), (50, false)]);
        let known = login_budgets("email:a@b.fr", "192.0.2.1", rule, true);
        assert!(known[2].waived && !known[0].waived && !known[1].waived);
        assert_ne!(lock_key(&budgets[0].subject), lock_key(&budgets[2].subject));
    }

    #[test]
    fn an_account_is_keyed_by_its_id_and_an_unknown_address_by_itself() {
        let id = Uuid::new_v4();
        assert_eq!(account_key(" A@B.fr", None), "email:a@b.fr");
        assert_eq!(account_key("a@b.fr", Some(id)), format!("id:{id}"));
        let before = login_budgets(&account_key("a@b.fr", None), "::1", rule(), false);
        let after = login_budgets(&account_key("a@b.fr", Some(id)), "::1", rule(), false);
        // Only the address's own budget is shared by the two.
        assert_ne!(before[0].subject, after[0].subject);
        assert_eq!(before[1].subject, after[1].subject);
        assert_ne!(before[2].subject, after[2].subject);
    }

    fn rule() -> LoginThrottle {
        LoginThrottle {
            max_failures: 5,
            address_max_failures: 20,
            account_max_failures: 50,
            window: std::time::Duration::from_secs(900),
        }
    }
}
