//! Outgoing email: the `Mailer` boundary and SMTP delivery with lettre. When SMTP is not
//! configured, emails go to the outbox instead (`super::outbox`, which also chooses between
//! the two: [`super::outbox::mailer_from_settings`]).
//!
//! Emails are never sent from a request: a handler enqueues an `"email"` job in its own
//! transaction, and a job worker calls the mailer on the blocking pool
//! ([`super::send_email::deliver`]).

use crate::settings::{SettingsError, SmtpSettings, SmtpTls};
use lettre::{
    message::{header::ContentType, Mailbox},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
    Message, SmtpTransport, Transport,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One plain-text email: the payload of an `"email"` job.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// What the email is, as a short snake_case label (`application_received`): the only part
    /// of an email that logs may show.
    #[serde(default = "default_email_kind")]
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub text: String,
}

fn default_email_kind() -> String {
    "message".to_owned()
}

impl std::fmt::Debug for Email {
    // Hand-written: the recipient, subject and body are personal data and stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Why an email was not delivered. The messages never contain an address or any text of the
/// email, nor the server's own words (which often quote the recipient): they end up in
/// `jobs.last_error` and in logs.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The email itself is wrong (an unparseable recipient): retrying cannot help.
    #[error("invalid email: {0}")]
    Invalid(&'static str),
    /// The server could not be reached or refused the email; worth retrying later.
    #[error("smtp: {0}")]
    Delivery(String),
}

impl MailError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Invalid(_))
    }
}

/// Sends email. Blocking: it is called on the blocking pool, never on an actix worker.
pub trait Mailer: Send + Sync {
    fn send(&self, email: &Email) -> Result<(), MailError>;

    /// Sends an email about an application (`None`: about none). Only a mailer that keeps
    /// emails needs the id: erasing the application must delete what it kept.
    fn send_about(&self, email: &Email, application_id: Option<Uuid>) -> Result<(), MailError> {
        let _ = application_id;
        self.send(email)
    }
}

/// Delivers through an SMTP server, one connection per email.
pub struct SmtpMailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(smtp: &SmtpSettings, from: &str) -> Result<Self, SettingsError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|_| SettingsError(format!("MAIL_FROM={from:?} is not a mailbox")))?;
        let tls_parameters = || {
            TlsParameters::new(smtp.host.clone())
                .map_err(|e| SettingsError(format!("SMTP_TLS for SMTP_HOST {}: {e}", smtp.host)))
        };
        let tls = match smtp.tls {
            SmtpTls::None => Tls::None,
            // Required, not Opportunistic: a server that does not offer STARTTLS is an error,
            // rather than the password and the emails silently crossing in clear.
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = SmtpTransport::builder_dangerous(smtp.host.clone())
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(smtp.timeout));
        if let Some((user, password)) = &smtp.credentials {
            let password = password.expose_secret().to_owned();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }

    fn message(&self, email: &Email) -> Result<Message, MailError> {
        let to = email
            .to
            .parse::<Mailbox>()
            .map_err(|_| MailError::Invalid("the recipient is not an email address"))?;
        Message::builder()
            // A message without a Message-ID looks like spam to many receivers.
            .message_id(None)
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone())
            .map_err(|_| MailError::Invalid("the email could not be built"))
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = self.message(email)?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| MailError::Delivery(describe_smtp_error(&e)))
    }
}

/// A summary of an SMTP failure from its category and reply code only: the server's text
/// and lettre's messages may quote the recipient's address.
fn describe_smtp_error(e: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = e.status() {
        let class = if e.is_permanent() {
            "refused"
        } else {
            "temporarily refused"
        };
        format!("the server {class} the email (reply {code})")
    } else if e.is_timeout() {
        "the server did not answer in time".to_owned()
    } else if e.is_tls() {
        "the TLS connection to the server failed".to_owned()
    } else if e.is_response() {
        "the server's answer could not be understood".to_owned()
    } else if e.is_client() {
        "the client refused to go on (authentication or protocol)".to_owned()
    } else {
        "the server could not be reached".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn email(to: &str) -> Email {
        Email {
            kind: "test".into(),
            to: to.into(),
            subject: "Candidature reçue".into(),
            text: "Bonjour,\nvotre candidature a bien été reçue.".into(),
        }
    }

    fn smtp(port: u16) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            credentials: None,
            tls: SmtpTls::None,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn debug_shows_only_the_kind() {
        let shown = format!("{:?}", email("jeanne@example.org"));
        assert!(shown.contains("test"));
        assert!(!shown.contains("jeanne") && !shown.contains("Bonjour"));
    }

    #[test]
    fn payload_without_kind_still_parses() {
        let e: Email = serde_json::from_value(
            serde_json::json!({"to": "a@b.fr", "subject": "s", "text": "t"}),
        )
        .unwrap();
        assert_eq!(e.kind, "message");
    }

    #[test]
    fn the_default_sender_is_a_valid_mailbox() {
        assert!(SmtpMailer::new(&smtp(25), "Passerelle <no-reply@localhost>").is_ok());
        assert!(SmtpMailer::new(&smtp(25), "not a mailbox").is_err());
    }

    #[test]
    fn an_invalid_recipient_is_permanent_and_not_quoted() {
        let mailer = SmtpMailer::new(&smtp(9), "no-reply@localhost").unwrap();
        let err = mailer.send(&email("jeanne at example")).unwrap_err();
        assert!(err.is_permanent());
        assert!(!err.to_string().contains("jeanne"));
    }

    #[test]
    fn tls_modes_build_with_rustls() {
        for tls in [SmtpTls::StartTls, SmtpTls::Tls] {
            let settings = SmtpSettings {
                host: "smtp.example.org".into(),
                tls,
                credentials: Some(("user".into(), "secret".into())),
                ..smtp(587)
            };
            assert!(SmtpMailer::new(&settings, "no-reply@example.org").is_ok());
        }
    }
}
