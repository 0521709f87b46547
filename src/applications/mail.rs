//! The emails an application causes, in French: a confirmation to the candidate, a
//! notification to the offer's contact, when staff ask for it the rejection message, and the
//! confirmation code of a change of address. They go through the job queue in the
//! transaction of the change, so a committed application always has its mails, and an SMTP
//! outage only delays them. Each job carries the application's id: erasing the application
//! deletes its unsent mails, and only those.

use super::model::Application;
use crate::{jobs::mail::Email, offers::model::Offer};
use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};
use uuid::Uuid;

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

pub fn confirmation(
    a: &Application,
    offer: &Offer,
    public_base_url: &str,
) -> Option<ApplicationMail> {
    let to = a.email.clone()?;
    Some(ApplicationMail::about(a, Email {
        kind: "application_received".into(),
        to,
        subject: format!("Votre candidature : {}", offer.title),
        text: format!(
            "Bonjour {name},\n\n\
             Nous avons bien reçu votre candidature à l’offre « {title} » ({organization}, {department}).\n\
             Elle sera étudiée avec attention ; vous serez informé(e) de la suite qui lui sera donnée.\n\n\
             Vous pouvez suivre, télécharger ou supprimer votre candidature à tout moment avec le \
             code de suivi qui vous a été remis lors de l’envoi (il ne vous sera pas renvoyé).\n\
             Offre : {base}/offres/{slug}\n\n\
             Vos données sont traitées uniquement pour ce recrutement et conservées au plus trois \
             mois après la fin de celui-ci{pool}.\n\n\
             Cordialement,\n{organization}",
            name = candidate_name(a),
            title = offer.title,
            organization = offer.organization,
            department = offer.department,
            base = public_base_url,
            slug = offer.slug,
            pool = if a.consent_talent_pool {
                ", ou deux ans après votre dernier contact puisque vous avez accepté de rejoindre notre vivier de candidats"
            } else {
                ""
            },
        ),
    }))
}

pub fn contact_notification(
    a: &Application,
    offer: &Offer,
    public_base_url: &str,
) -> Option<ApplicationMail> {
    let to = offer.contact.get("email")?.as_str()?.to_owned();
    Some(ApplicationMail::about(
        a,
        Email {
            kind: "application_notification".into(),
            to,
            subject: format!(
                "Nouvelle candidature : {} ({})",
                offer.title, offer.reference
            ),
            text: format!(
                "Bonjour,\n\n\
             Une nouvelle candidature a été déposée pour l’offre « {title} » ({reference}).\n\
             Consultez-la dans l’espace agents : {base}/api/v1/staff/applications/{id}\n\n\
             Ce message ne contient volontairement aucune donnée personnelle du candidat.",
                title = offer.title,
                reference = offer.reference,
                base = public_base_url,
                id = a.id,
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
            subject: format!("Votre candidature : {}", offer.title),
            text: format!(
                "Bonjour {name},\n\n\
             Nous vous remercions de l’intérêt que vous portez à « {title} ». Après examen, nous \
             ne pouvons malheureusement pas donner une suite favorable à votre candidature.\n\n\
             Nous vous souhaitons pleine réussite dans vos recherches.\n\n\
             Cordialement,\n{organization}",
                name = candidate_name(a),
                title = offer.title,
                organization = offer.organization,
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
            subject: format!("Confirmez votre adresse : {}", offer.title),
            text: format!(
                "Bonjour,\n\n\
                 Une demande a été faite pour que les messages concernant une candidature à \
                 l’offre « {title} » ({organization}) soient désormais envoyés à cette adresse.\n\n\
                 Pour confirmer, saisissez ce code dans votre espace de suivi de candidature \
                 avant le {expires} (UTC) :\n\n{code}\n\n\
                 Le code ne sert qu’une fois. Si vous n’êtes pas à l’origine de cette demande, \
                 ignorez ce message : rien ne changera.\n\n\
                 Cordialement,\n{organization}",
                title = offer.title,
                organization = offer.organization,
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
            subject: format!("Votre adresse : {}", offer.title),
            text: format!(
                "Bonjour,\n\n\
                 Une demande a été faite pour que les messages concernant une candidature à \
                 l’offre « {title} » ({organization}) soient envoyés à cette adresse. Une \
                 candidature à cette offre utilise déjà cette adresse : rien n’a été modifié.\n\n\
                 Si vous n’êtes pas à l’origine de cette demande, ignorez ce message.\n\n\
                 Cordialement,\n{organization}",
                title = offer.title,
                organization = offer.organization,
            ),
        },
    )
}

/// Queues the confirmation and the contact's notification.
pub fn enqueue_submission_mails(
    conn: &mut PgConnection,
    a: &Application,
    offer: &Offer,
    public_base_url: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    for mail in [
        confirmation(a, offer, public_base_url),
        contact_notification(a, offer, public_base_url),
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
