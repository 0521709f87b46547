//! Login throttling, shared by every instance through the `login_failures` table: after
//! `max_failures` failed attempts within the window, for one account or one client address,
//! further attempts get 429 with `Retry-After` until the oldest of them leaves the window.

use crate::{db::schema::login_failures, settings::LoginThrottle};
use chrono::{DateTime, Duration, Utc};
use diesel::{prelude::*, PgConnection};
use sha2::{Digest, Sha256};

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
    rule: LoginThrottle,
    now: DateTime<Utc>,
) -> Option<u64> {
    if (recent_newest_first.len() as i64) < rule.max_failures {
        return None;
    }
    let oldest_counted = *recent_newest_first.last()?;
    let window = Duration::from_std(rule.window).unwrap_or(Duration::zero());
    let free_at = oldest_counted + window;
    (free_at > now).then(|| (free_at - now).num_seconds().max(0) as u64 + 1)
}

/// The longest wait any of `subjects` imposes.
pub fn check(
    conn: &mut PgConnection,
    subjects: &[Vec<u8>],
    rule: LoginThrottle,
    now: DateTime<Utc>,
) -> QueryResult<Option<u64>> {
    let since = now - Duration::from_std(rule.window).unwrap_or(Duration::zero());
    let mut wait = None;
    for subject in subjects {
        let recent: Vec<DateTime<Utc>> = login_failures::table
            .filter(login_failures::subject.eq(subject))
            .filter(login_failures::failed_at.gt(since))
            .order(login_failures::failed_at.desc())
            .limit(rule.max_failures)
            .select(login_failures::failed_at)
            .load(conn)?;
        wait = wait.max(retry_after(&recent, rule, now));
    }
    Ok(wait)
}

/// Records a failure for each subject, and forgets failures that left the window.
pub fn record_failure(
    conn: &mut PgConnection,
    subjects: &[Vec<u8>],
    rule: LoginThrottle,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let rows: Vec<_> = subjects
        .iter()
        .map(|s| {
            (
                login_failures::subject.eq(s),
                login_failures::failed_at.eq(now),
            )
        })
        .collect();
    diesel::insert_into(login_failures::table)
        .values(rows)
        .execute(conn)?;
    let cutoff = now - Duration::from_std(rule.window).unwrap_or(Duration::zero());
    diesel::delete(login_failures::table.filter(login_failures::failed_at.lt(cutoff)))
        .execute(conn)
        .map(drop)
}

/// A successful login clears the account's failures (not the address's).
pub fn clear(conn: &mut PgConnection, subject: &[u8]) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::subject.eq(subject)))
        .execute(conn)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> LoginThrottle {
        LoginThrottle {
            max_failures: 3,
            window: std::time::Duration::from_secs(600),
        }
    }

    #[test]
    fn allows_until_the_limit_then_waits_for_the_oldest_to_expire() {
        let now = Utc::now();
        let ago = |s| now - Duration::seconds(s);
        assert_eq!(retry_after(&[ago(1), ago(2)], rule(), now), None);
        // The oldest counted failure was 100 s ago: free in 500 s (+1 rounding up).
        assert_eq!(
            retry_after(&[ago(1), ago(2), ago(100)], rule(), now),
            Some(501)
        );
        assert_eq!(retry_after(&[ago(1), ago(2), ago(600)], rule(), now), None);
    }

    #[test]
    fn subjects_are_hashed_and_normalised() {
        assert_eq!(subject("account", " A@B.fr "), subject("account", "a@b.fr"));
        assert_ne!(subject("account", "a@b.fr"), subject("ip", "a@b.fr"));
        assert_eq!(subject("ip", "127.0.0.1").len(), 32);
    }
}
