//! The emails an application causes, in French: a confirmation to the candidate, a
//! notification to the offer's contact, when staff ask for it the rejection message, and the
//! confirmation code of a change of address. They go through the job queue in the
//! transaction of the change, so a committed application always has its mails, and an SMTP
//! outage only delays them. Each job carries the application's id: erasing the application
//! deletes its unsent mails, and only those.

use super::model::Application;
use crate::{jobs::mail::Email, offers::model::Offer, settings::Settings};
use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};
use uuid::Uuid;

/// What the emails take from the settings: where their links go and how long data is kept.
#[derive(Clone, Debug)]
pub struct MailContext {
    /// `OFFER_URL_TEMPLATE`: the offer's page, as feeds and JSON-LD link to it.
    pub offer_url_template: String,
    /// `STAFF_APPLICATION_URL_TEMPLATE`: the application's page for staff; no link when unset.
    pub staff_application_url_template: Option<String>,
    /// `RETENTION_AFTER_DECISION_DAYS`.
    pub retention_after_decision_days: i64,
    /// `TALENT_POOL_RETENTION_DAYS`.
    pub talent_pool_retention_days: i64,
}

impl MailContext {
    pub fn from_settings(settings: &Settings) -> Self {
        MailContext {
            offer_url_template: settings.partners.offer_url_template.clone(),
            staff_application_url_template: settings.mail.staff_application_url_template.clone(),
            retention_after_decision_days: settings.applications.retention_after_decision_days,
            talent_pool_retention_days: settings.applications.talent_pool_retention_days,
        }
    }
}

/// A retention period in French words: whole years (`deux ans`), else whole months when the
/// days are within two of a number of months (92 days: `trois mois`), else days (`45 jours`).
pub fn duration_in_words(days: i64) -> String {
    const WORDS: [&str; 13] = [
        "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
        "onze", "douze",
    ];
    let number = |n: i64| {
        usize::try_from(n)
            .ok()
            .and_then(|i| WORDS.get(i))
            .map_or_else(|| n.to_string(), |w| (*w).to_owned())
    };
    if days >= 365 && days % 365 == 0 {
        let years = days / 365;
        return format!("{} an{}", number(years), if years > 1 { "s" } else { "" });
    }
    // An average month is 30.44 days.
    let months = ((days as f64) / 30.44).round() as i64;
    if months >= 1 && (days as f64 - months as f64 * 30.44).abs() <= 2.0 {
        return format!("{} mois", number(months));
    }
    format!("{days} jour{}", if days > 1 { "s" } else { "" })
}

/// A mail about one application.
#[derive(Debug)]
pub struct ApplicationMail {
    pub application_id: Uuid,
    pub email: Email,
}

impl ApplicationMail {
    fn about(a: &Application, email: Email) -> Self {
        ApplicationMail {
            application_id: a.id,
            email,
        }
    }
}

fn candidate_name(a: &Application) -> String {
    format!(
        "{} {}",
        a.first_name.as_deref().unwrap_or_default(),
        a.last_name.as_deref().unwrap_or_default()
    )
    .trim()
    .to_owned()
}

pub fn confirmation(a: &Application, offer: &Offer, ctx: &MailContext) -> Option<ApplicationMail> {
    let to = a.email.clone()?;
    Some(ApplicationMail::about(a, Email {
        kind: "application_received".into(),
        to,
        subject: format!("Votre candidature : {}", offer.content.title),
        text: format!(
            "Bonjour {name},\n\n\
             Nous avons bien reçu votre candidature à l’offre « {title} » ({organization}, {department}).\n\
             Elle sera étudiée avec attention ; vous serez informé(e) de la suite qui lui sera donnée.\n\n\
             Vous pouvez suivre, télécharger ou supprimer votre candidature à tout moment avec le \
             code de suivi qui vous a été remis lors de l’envoi (il ne vous sera pas renvoyé).\n\
             Offre : {url}\n\n\
             Vos données sont traitées uniquement pour ce recrutement et conservées au plus \
             {retention} après la fin de celui-ci{pool}.\n\n\
             Cordialement,\n{organization}",
            name = candidate_name(a),
            title = offer.content.title,
            organization = offer.content.organization,
            department = offer.content.department,
            url = crate::partners::text::offer_url(&ctx.offer_url_template, offer),
            retention = duration_in_words(ctx.retention_after_decision_days),
            pool = if a.consent_talent_pool {
                format!(
                    ", ou {} après votre dernier contact puisque vous avez accepté de rejoindre \
                     notre vivier de candidats",
                    duration_in_words(ctx.talent_pool_retention_days)
                )
            } else {
                String::new()
            },
        ),
    }))
}

pub fn contact_notification(
    a: &Application,
    offer: &Offer,
    ctx: &MailContext,
) -> Option<ApplicationMail> {
    let to = offer.content.contact.email.clone();
    Some(ApplicationMail::about(
        a,
        Email {
            kind: "application_notification".into(),
            to,
            subject: format!(
                "Nouvelle candidature : {} ({})",
                offer.content.title, offer.content.reference
            ),
            text: format!(
                "Bonjour,\n\n\
             Une nouvelle candidature a été déposée pour l’offre « {title} » ({reference}).\n\
             Numéro de la candidature : {id}\n\
             {link}\n\
             Ce message ne contient volontairement aucune donnée personnelle du candidat.",
                title = offer.content.title,
                reference = offer.content.reference,
                id = a.id,
                link = match &ctx.staff_application_url_template {
                    Some(template) => format!(
                        "Consultez-la dans l’espace agents : {}\n",
                        template.replace("{id}", &a.id.to_string())
                    ),
                    None => "Consultez-la dans l’espace agents.\n".to_owned(),
                },
            ),
        },
    ))
}

pub fn rejection(a: &Application, offer: &Offer) -> Option<ApplicationMail> {
    let to = a.email.clone()?;
    Some(ApplicationMail::about(
        a,
        Email {
            kind: "application_rejected".into(),
            to,
            subject: format!("Votre candidature : {}", offer.content.title),
            text: format!(
                "Bonjour {name},\n\n\
             Nous vous remercions de l’intérêt que vous portez à « {title} ». Après examen, nous \
             ne pouvons malheureusement pas donner une suite favorable à votre candidature.\n\n\
             Nous vous souhaitons pleine réussite dans vos recherches.\n\n\
             Cordialement,\n{organization}",
                name = candidate_name(a),
                title = offer.content.title,
                organization = offer.content.organization,
            ),
        },
    ))
}

/// The code that confirms a new address, sent to that address. The address is not yet known
/// to be the candidate's: the mail names no one and holds nothing of the application but the
/// offer's title.
pub fn email_change_code(
    a: &Application,
    offer: &Offer,
    to: &str,
    code: &str,
    expires_at: DateTime<Utc>,
) -> ApplicationMail {
    ApplicationMail::about(
        a,
        Email {
            kind: "email_change_code".into(),
            to: to.to_owned(),
            subject: format!("Confirmez votre adresse : {}", offer.content.title),
            text: format!(
                "Bonjour,\n\n\
                 Une demande a été faite pour que les messages concernant une candidature à \
                 l’offre « {title} » ({organization}) soient désormais envoyés à cette adresse.\n\n\
                 Pour confirmer, saisissez ce code dans votre espace de suivi de candidature \
                 avant le {expires} (UTC) :\n\n{code}\n\n\
                 Le code ne sert qu’une fois. Si vous n’êtes pas à l’origine de cette demande, \
                 ignorez ce message : rien ne changera.\n\n\
                 Cordialement,\n{organization}",
                title = offer.content.title,
                organization = offer.content.organization,
                expires = expires_at.format("%d/%m/%Y %H:%M"),
            ),
        },
    )
}

/// Sent instead of a code when another application to the same offer already uses the new
/// address: its owner learns that nothing changed; the requester learns nothing.
pub fn email_change_refused(a: &Application, offer: &Offer, to: &str) -> ApplicationMail {
    ApplicationMail::about(
        a,
        Email {
            kind: "email_change_refused".into(),
            to: to.to_owned(),
            subject: format!("Votre adresse : {}", offer.content.title),
            text: format!(
                "Bonjour,\n\n\
                 Une demande a été faite pour que les messages concernant une candidature à \
                 l’offre « {title} » ({organization}) soient envoyés à cette adresse. Une \
                 candidature à cette offre utilise déjà cette adresse : rien n’a été modifié.\n\n\
                 Si vous n’êtes pas à l’origine de cette demande, ignorez ce message.\n\n\
                 Cordialement,\n{organization}",
                title = offer.content.title,
                organization = offer.content.organization,
            ),
        },
    )
}

/// Queues the confirmation and the contact's notification.
pub fn enqueue_submission_mails(
    conn: &mut PgConnection,
    a: &Application,
    offer: &Offer,
    ctx: &MailContext,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    for mail in [
        confirmation(a, offer, ctx),
        contact_notification(a, offer, ctx),
    ]
    .into_iter()
    .flatten()
    {
        queue(conn, mail, now)?;
    }
    Ok(())
}

pub fn queue(
    conn: &mut PgConnection,
    mail: ApplicationMail,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    crate::jobs::enqueue_application_email(conn, &mail.email, mail.application_id, now).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        db::types::Json,
        offers::{
            domain::{Contact, Location},
            model::{OfferContent, OfferContract},
        },
    };

    fn offer() -> Offer {
        let now = Utc::now();
        let day = now.date_naive();
        Offer {
            id: Uuid::new_v4(),
            slug: "stage-jardins".into(),
            content: OfferContent {
                reference: "VDG-TEST-001".into(),
                title: "Stage jardins".into(),
                language: "fr".into(),
                organization: "Ville de Grenoble".into(),
                department: "Espaces verts".into(),
                summary: String::new(),
                context: String::new(),
                missions: Json::default(),
                profile: String::new(),
                requirements: Json::default(),
                education_levels: Json::default(),
                fields_of_study: Json::default(),
                language_codes: Json::default(),
                contract: OfferContract {
                    contract_type: crate::offers::domain::ContractType::InternshipAgreement,
                    duration_months_min: 2,
                    duration_months_max: 6,
                    work_time_percent: 100,
                    paid: true,
                    hourly_gratification_cents: Some(437),
                    starts_from: day,
                    ends_by: day,
                    remote: crate::offers::domain::RemotePolicy::None,
                },
                location: Json(Location {
                    street_address: None,
                    postal_code: "38000".into(),
                    city: "Grenoble".into(),
                    country: "FR".into(),
                }),
                contact: Json(Contact {
                    name: "Mathilde Lestra".into(),
                    title: None,
                    email: "contact@ville.example".into(),
                }),
                application_documents: Json::default(),
                application_deadline: day,
                positions: 1,
                tags: Json::default(),
            },
            status: crate::offers::domain::OfferStatus::Published,
            published_at: Some(now),
            first_published_at: Some(now),
            closed_at: None,
            archived_at: None,
            created_at: now,
            created_by: None,
            updated_at: now,
            updated_by: None,
            version: 1,
            workflow: Default::default(),
        }
    }

    fn application(offer: &Offer, talent_pool: bool) -> Application {
        let now = Utc::now();
        Application {
            id: Uuid::new_v4(),
            offer_id: offer.id,
            status: crate::applications::domain::ApplicationStatus::Submitted,
            first_name: Some("Jeanne".into()),
            last_name: Some("Martin".into()),
            email: Some("jeanne@candidate.example".into()),
            phone: None,
            school: None,
            field_of_study: None,
            languages: None,
            message: None,
            cover_letter_text: None,
            education_level: None,
            available_from: None,
            available_until: None,
            source: None,
            consent_privacy: true,
            privacy_notice_version: "1".into(),
            consent_talent_pool: talent_pool,
            rejection_reason: None,
            decided_at: None,
            last_contact_at: now,
            erased_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn context() -> MailContext {
        MailContext {
            offer_url_template: "https://stages.ville.example/offres/{slug}?ref={id}".into(),
            staff_application_url_template: Some("https://staff.example/applications/{id}".into()),
            retention_after_decision_days: 92,
            talent_pool_retention_days: 730,
        }
    }

    /// Every `http(s)://…` in a text.
    fn links(text: &str) -> Vec<&str> {
        text.split_whitespace()
            .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
            .collect()
    }

    #[test]
    fn the_confirmation_links_to_the_offer_page_of_the_template() {
        let o = offer();
        let mail = confirmation(&application(&o, false), &o, &context()).unwrap();
        let expected = format!(
            "https://stages.ville.example/offres/stage-jardins?ref={}",
            o.id
        );
        assert_eq!(links(&mail.email.text), [expected.as_str()]);
        assert!(!mail.email.text.contains("/api/"));
    }

    #[test]
    fn the_confirmation_states_the_retention_of_the_settings() {
        let o = offer();
        let text = |ctx: &MailContext, pool| {
            confirmation(&application(&o, pool), &o, ctx)
                .unwrap()
                .email
                .text
        };
        let default = text(&context(), false);
        assert!(default.contains("au plus trois mois après"), "{default}");
        assert!(!default.contains("vivier"));
        let pooled = text(&context(), true);
        assert!(
            pooled.contains("ou deux ans après votre dernier contact"),
            "{pooled}"
        );
        let custom = MailContext {
            retention_after_decision_days: 45,
            talent_pool_retention_days: 365,
            ..context()
        };
        let custom = text(&custom, true);
        assert!(custom.contains("au plus 45 jours après"), "{custom}");
        assert!(custom.contains("ou un an après"), "{custom}");
    }

    #[test]
    fn the_contact_notification_links_to_the_staff_page_only_when_one_is_set() {
        let o = offer();
        let a = application(&o, false);
        let mail = contact_notification(&a, &o, &context()).unwrap();
        let expected = format!("https://staff.example/applications/{}", a.id);
        assert_eq!(links(&mail.email.text), [expected.as_str()]);
        let without = MailContext {
            staff_application_url_template: None,
            ..context()
        };
        let mail = contact_notification(&a, &o, &without).unwrap();
        assert!(links(&mail.email.text).is_empty(), "{}", mail.email.text);
        assert!(!mail.email.text.contains("/api/"));
        // The application's number still tells staff which one it is.
        assert!(mail.email.text.contains(&a.id.to_string()));
    }

    #[test]
    fn the_other_emails_carry_no_link() {
        let o = offer();
        let a = application(&o, false);
        let texts = [
            rejection(&a, &o).unwrap().email.text,
            email_change_code(&a, &o, "new@candidate.example", "pce_x", Utc::now())
                .email
                .text,
            email_change_refused(&a, &o, "new@candidate.example")
                .email
                .text,
        ];
        for text in texts {
            assert!(links(&text).is_empty(), "{text}");
        }
    }

    #[test]
    fn durations_read_as_years_months_or_days() {
        assert_eq!(duration_in_words(92), "trois mois");
        assert_eq!(duration_in_words(90), "trois mois");
        assert_eq!(duration_in_words(30), "un mois");
        assert_eq!(duration_in_words(183), "six mois");
        assert_eq!(duration_in_words(730), "deux ans");
        assert_eq!(duration_in_words(365), "un an");
        assert_eq!(duration_in_words(45), "45 jours");
        assert_eq!(duration_in_words(1), "1 jour");
        assert_eq!(duration_in_words(396), "13 mois");
        assert_eq!(duration_in_words(400), "400 jours");
    }
}
