//! The emails an application causes, in French: a confirmation to the candidate, a
//! notification to the offer's contact, and, when staff ask for it, the rejection message.
//! They go through the job queue in the transaction of the change, so a committed
//! application always has its mails, and an SMTP outage only delays them.

use super::model::Application;
use crate::{jobs::mail::Email, offers::model::Offer};
use chrono::{DateTime, Utc};
use diesel::{PgConnection, QueryResult};

fn candidate_name(a: &Application) -> String {
    format!(
        "{} {}",
        a.first_name.as_deref().unwrap_or_default(),
        a.last_name.as_deref().unwrap_or_default()
    )
    .trim()
    .to_owned()
}

pub fn confirmation(a: &Application, offer: &Offer, public_base_url: &str) -> Option<Email> {
    let to = a.email.clone()?;
    Some(Email {
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
    })
}

pub fn contact_notification(
    a: &Application,
    offer: &Offer,
    public_base_url: &str,
) -> Option<Email> {
    let to = offer.contact.get("email")?.as_str()?.to_owned();
    Some(Email {
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
    })
}

pub fn rejection(a: &Application, offer: &Offer) -> Option<Email> {
    let to = a.email.clone()?;
    Some(Email {
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
    })
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

pub fn queue(conn: &mut PgConnection, mail: Email, now: DateTime<Utc>) -> QueryResult<()> {
    crate::jobs::enqueue_email(conn, &mail, now).map(drop)
}
