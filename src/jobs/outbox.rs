//! The outbox: where emails go while `SMTP_HOST` is unset, so that they stay readable
//! (`passerelle outbox`) instead of being dropped. Bounded: at most [`MAX_EMAILS`], none
//! older than [`MAX_AGE_DAYS`] (pruned at each insert and by the retention purge). Erasing an
//! application deletes the emails about it, as it deletes its unsent jobs.

use super::mail::{Email, MailError, Mailer, SmtpMailer};
use crate::{
    db::{schema::mail_outbox, DbPool},
    settings::{MailSettings, SettingsError},
};
use chrono::{DateTime, Duration, Utc};
use diesel::{prelude::*, PgConnection};
use std::sync::Arc;
use uuid::Uuid;

/// The mailer the settings ask for: SMTP when `SMTP_HOST` is set, else the outbox in the
/// database of `pool`.
pub fn mailer_from_settings(
    settings: &MailSettings,
    pool: &DbPool,
) -> Result<Arc<dyn Mailer>, SettingsError> {
    Ok(match &settings.smtp {
        Some(smtp) => Arc::new(SmtpMailer::new(smtp, &settings.from)?),
        None => Arc::new(OutboxMailer::new(pool.clone())),
    })
}

/// The most emails the outbox keeps; older ones are deleted first.
pub const MAX_EMAILS: i64 = 200;
/// No email stays longer than this.
pub const MAX_AGE_DAYS: i64 = 14;

/// One kept email, newest first in [`latest`].
#[derive(Queryable, Selectable)]
#[diesel(table_name = mail_outbox)]
pub struct KeptEmail {
    pub id: i64,
    pub application_id: Option<Uuid>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for KeptEmail {
    // Hand-written: the recipient, subject and text are personal data and stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptEmail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Keeps `email` (about `application_id`, if any) and prunes the outbox; the new row's id.
pub fn keep(
    conn: &mut PgConnection,
    email: &Email,
    application_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    conn.transaction(|conn| {
        let id = diesel::insert_into(mail_outbox::table)
            .values((
                mail_outbox::application_id.eq(application_id),
                mail_outbox::kind.eq(&email.kind),
                mail_outbox::recipient.eq(&email.to),
                mail_outbox::subject.eq(&email.subject),
                mail_outbox::text.eq(&email.text),
                mail_outbox::created_at.eq(now),
            ))
            .returning(mail_outbox::id)
            .get_result(conn)?;
        prune(conn, now)?;
        Ok(id)
    })
}

/// Deletes emails older than [`MAX_AGE_DAYS`] and all but the newest [`MAX_EMAILS`].
pub fn prune(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    let old = diesel::delete(
        mail_outbox::table.filter(mail_outbox::created_at.lt(now - Duration::days(MAX_AGE_DAYS))),
    )
    .execute(conn)?;
    let newest: Vec<i64> = mail_outbox::table
        .order(mail_outbox::id.desc())
        .limit(MAX_EMAILS)
        .select(mail_outbox::id)
        .load(conn)?;
    let excess = match newest.last() {
        Some(oldest_kept) if newest.len() as i64 == MAX_EMAILS => {
            diesel::delete(mail_outbox::table.filter(mail_outbox::id.lt(oldest_kept)))
                .execute(conn)?
        }
        _ => 0,
    };
    Ok(old + excess)
}

/// The newest `limit` emails, newest first.
pub fn latest(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<KeptEmail>> {
    mail_outbox::table
        .order(mail_outbox::id.desc())
        .limit(limit)
        .select(KeptEmail::as_select())
        .load(conn)
}

/// Deletes the emails about one application (its erasure).
pub fn delete_application_emails(
    conn: &mut PgConnection,
    application_id: Uuid,
) -> QueryResult<usize> {
    diesel::delete(mail_outbox::table.filter(mail_outbox::application_id.eq(application_id)))
        .execute(conn)
}

/// The mailer when `SMTP_HOST` is unset: keeps each email in the outbox. Its log line says
/// what happened and names only the email's kind and outbox id.
pub struct OutboxMailer {
    pool: DbPool,
}

impl OutboxMailer {
    pub fn new(pool: DbPool) -> Self {
        OutboxMailer { pool }
    }
}

impl Mailer for OutboxMailer {
    fn send(&self, email: &Email) -> Result<(), MailError> {
        self.send_about(email, None)
    }

    fn send_about(&self, email: &Email, application_id: Option<Uuid>) -> Result<(), MailError> {
        let unavailable = |_| MailError::Delivery("the outbox could not be written".to_owned());
        let mut conn = self
            .pool
            .get()
            .map_err(|_| MailError::Delivery("no database connection for the outbox".into()))?;
        let id = keep(&mut conn, email, application_id, Utc::now()).map_err(unavailable)?;
        log::info!(
            "email {} (outbox {id}): SMTP_HOST is unset: email kept in the outbox, read it with \
             `passerelle outbox`",
            email.kind
        );
        Ok(())
    }
}
