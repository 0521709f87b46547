//! Email: the SMTP relay (or the outbox when there is none), the sender and the staff's link.

use super::parse::{parse_or, SettingsError};
use secrecy::SecretString;
use std::time::Duration;

#[derive(Clone)]
pub struct MailSettings {
    /// `None` when `SMTP_HOST` is unset: emails are kept in the outbox table instead of sent
    /// (`passerelle outbox` reads them).
    pub smtp: Option<SmtpSettings>,
    /// `MAIL_FROM` (default `Passerelle <no-reply@localhost>`), checked to be a mailbox.
    pub from: String,
    /// `STAFF_APPLICATION_URL_TEMPLATE` (default unset): the page of an application in the
    /// staff's own front-end (`https://staff.example/applications/{id}`), which the offer
    /// contact's notification links to; unset, the notification has no link (the API route
    /// is no page a person can open).
    pub staff_application_url_template: Option<String>,
}

/// `Debug` is derived: the secrets are `secrecy` types, shown as `[REDACTED]`.
#[derive(Clone, Debug)]
pub struct SmtpSettings {
    /// `SMTP_HOST`.
    pub host: String,
    /// `SMTP_PORT` (default 25; 587 is typical for submission with STARTTLS, 465 for TLS).
    pub port: u16,
    /// `SMTP_USERNAME` and `SMTP_PASSWORD`: both or neither. The password is never logged.
    pub credentials: Option<(String, SecretString)>,
    /// `SMTP_TLS` (default `none` for localhost, else `starttls`).
    pub tls: SmtpTls,
    /// `SMTP_TIMEOUT_SECONDS` (default 10): for each network operation of a delivery.
    pub timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on the same host or a trusted network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (no silent fallback).
    StartTls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    Tls,
}

impl SmtpTls {
    fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_lowercase().as_str() {
            "none" => Some(SmtpTls::None),
            "starttls" => Some(SmtpTls::StartTls),
            "tls" => Some(SmtpTls::Tls),
            _ => None,
        }
    }
}

impl std::fmt::Debug for MailSettings {
    // Hand-written so that the SMTP password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let smtp = self.smtp.as_ref().map(|s| {
            format!(
                "{}:{} tls={:?} auth={}",
                s.host,
                s.port,
                s.tls,
                if s.credentials.is_some() {
                    "<set>"
                } else {
                    "none"
                }
            )
        });
        f.debug_struct("MailSettings")
            .field("smtp", &smtp)
            .field("from", &self.from)
            .finish()
    }
}

impl MailSettings {
    /// `MAIL_FROM`, `STAFF_APPLICATION_URL_TEMPLATE` and the `SMTP_*` variables.
    pub(super) fn from_env<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, SettingsError> {
        let from = get("MAIL_FROM").unwrap_or("Passerelle <no-reply@localhost>");
        // Checked here so that a typo stops the process at start, not every email later.
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(SettingsError(format!(
                "MAIL_FROM={from:?} is not a mailbox (`Name <address@domain>` or `address@domain`)"
            )));
        }
        let staff_application_url_template = match get("STAFF_APPLICATION_URL_TEMPLATE") {
            None | Some("") => None,
            Some(t)
                if (t.starts_with("https://") || t.starts_with("http://"))
                    && t.contains("{id}") =>
            {
                Some(t.to_owned())
            }
            Some(_) => {
                return Err(SettingsError(
                    "STAFF_APPLICATION_URL_TEMPLATE must be an http(s) URL containing {id}".into(),
                ))
            }
        };
        let Some(host) = get("SMTP_HOST") else {
            for name in ["SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_PORT", "SMTP_TLS"] {
                if get(name).is_some() {
                    return Err(SettingsError(format!("{name} is set but SMTP_HOST is not")));
                }
            }
            return Ok(MailSettings {
                smtp: None,
                from: from.to_owned(),
                staff_application_url_template,
            });
        };
        let local = matches!(host, "localhost" | "127.0.0.1" | "::1");
        let tls = match get("SMTP_TLS") {
            None if local => SmtpTls::None,
            None => SmtpTls::StartTls,
            Some(raw) => SmtpTls::parse(raw).ok_or_else(|| {
                SettingsError(format!(
                    "SMTP_TLS={raw:?} is not valid: use none, starttls or tls"
                ))
            })?,
        };
        let credentials = match (get("SMTP_USERNAME"), get("SMTP_PASSWORD")) {
            (Some(user), Some(password)) => Some((user.to_owned(), SecretString::from(password))),
            (None, None) => None,
            _ => {
                return Err(SettingsError(
                    "SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither".into(),
                ))
            }
        };
        let timeout = parse_or(&get, "SMTP_TIMEOUT_SECONDS", 10u64)?;
        if timeout == 0 {
            return Err(SettingsError(
                "SMTP_TIMEOUT_SECONDS must be at least 1".into(),
            ));
        }
        Ok(MailSettings {
            smtp: Some(SmtpSettings {
                host: host.to_owned(),
                port: parse_or(&get, "SMTP_PORT", 25u16)?,
                credentials,
                tls,
                timeout: Duration::from_secs(timeout),
            }),
            staff_application_url_template,
            from: from.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{env, Settings};

    #[test]
    fn mail_is_logged_only_until_smtp_is_configured() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert!(s.mail.smtp.is_none());
        assert_eq!(s.mail.from, "Passerelle <no-reply@localhost>");
        assert_eq!(s.jobs.workers, 2);
        assert_eq!(s.jobs.poll_interval, Duration::from_millis(1000));
        let err = Settings::from_map(&env(&[("SMTP_PASSWORD", "x")])).unwrap_err();
        assert!(err.to_string().contains("SMTP_HOST"));
    }

    #[test]
    fn the_staff_application_link_is_optional_and_checked() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert_eq!(s.mail.staff_application_url_template, None);
        let template = "https://staff.example/applications/{id}";
        let s = Settings::from_map(&env(&[("STAFF_APPLICATION_URL_TEMPLATE", template)])).unwrap();
        assert_eq!(
            s.mail.staff_application_url_template.as_deref(),
            Some(template)
        );
        for bad in ["https://staff.example/applications", "staff.example/{id}"] {
            let err =
                Settings::from_map(&env(&[("STAFF_APPLICATION_URL_TEMPLATE", bad)])).unwrap_err();
            assert!(err.to_string().contains("STAFF_APPLICATION_URL_TEMPLATE"));
        }
    }

    #[test]
    fn smtp_tls_defaults_to_starttls_except_on_localhost() {
        let smtp = |pairs: &[(&str, &str)]| Settings::from_map(&env(pairs)).unwrap().mail.smtp;
        let local = smtp(&[("SMTP_HOST", "localhost")]).unwrap();
        assert_eq!((local.tls, local.port), (SmtpTls::None, 25));
        let remote = smtp(&[("SMTP_HOST", "smtp.ville.example"), ("SMTP_PORT", "587")]).unwrap();
        assert_eq!((remote.tls, remote.port), (SmtpTls::StartTls, 587));
        let wrapped = smtp(&[("SMTP_HOST", "127.0.0.1"), ("SMTP_TLS", "TLS")]).unwrap();
        assert_eq!(wrapped.tls, SmtpTls::Tls);
        assert_eq!(wrapped.timeout, Duration::from_secs(10));
    }
}
