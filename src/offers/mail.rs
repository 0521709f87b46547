//! The emails the calendar and the approval send to staff: the offer's contact when its
//! deadline closed it, the author of a scheduled publication that could not happen, the
//! submitter of a rejected draft. French, like the city's other mails; no applicant data.

use super::model::Offer;
use crate::jobs::mail::Email;
use chrono::NaiveDate;

/// To the offer's contact: the calendar closed the offer at the end of its deadline day.
pub fn closed_at_deadline(offer: &Offer) -> Email {
    let c = &offer.content;
    Email {
        kind: "offer_closed_at_deadline".into(),
        to: c.contact.email.clone(),
        subject: format!("Offre clôturée : {} ({})", c.title, c.reference),
        text: format!(
            "Bonjour,\n\n\
             La date limite de candidature de l’offre « {title} » ({reference}) était le \
             {deadline}. L’offre a été clôturée automatiquement : elle reste visible mais ne \
             reçoit plus de candidatures, et les sites partenaires en ont été informés.\n\n\
             Pour la rouvrir, choisissez une nouvelle date limite dans l’espace agents.",
            title = c.title,
            reference = c.reference,
            deadline = french_date(c.application_deadline),
        ),
    }
}

/// To whoever scheduled it: the publication time came but the offer could not be published.
pub fn schedule_failed(offer: &Offer, to: &str, why: &str) -> Email {
    let c = &offer.content;
    Email {
        kind: "offer_schedule_failed".into(),
        to: to.to_owned(),
        subject: format!(
            "Publication programmée impossible : {} ({})",
            c.title, c.reference
        ),
        text: format!(
            "Bonjour,\n\n\
             L’offre « {title} » ({reference}) devait être publiée automatiquement, mais elle \
             n’a pas pu l’être :\n\n{why}\n\n\
             Elle reste en brouillon et sa programmation est annulée. Corrigez-la puis \
             publiez-la ou programmez-la de nouveau.",
            title = c.title,
            reference = c.reference,
        ),
    }
}

/// To the submitter: a second person rejected the draft.
pub fn approval_rejected(offer: &Offer, to: &str, reason: &str) -> Email {
    let c = &offer.content;
    Email {
        kind: "offer_approval_rejected".into(),
        to: to.to_owned(),
        subject: format!("Offre à revoir : {} ({})", c.title, c.reference),
        text: format!(
            "Bonjour,\n\n\
             L’offre « {title} » ({reference}) que vous avez soumise n’a pas été approuvée. \
             Motif :\n\n{reason}\n\n\
             Modifiez-la si besoin et soumettez-la de nouveau.",
            title = c.title,
            reference = c.reference,
        ),
    }
}

/// `15 janvier 2027`.
pub fn french_date(day: NaiveDate) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    format!(
        "{} {} {}",
        day.day(),
        MONTHS[day.month0() as usize],
        day.year()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_written_the_french_way() {
        let day = chrono::NaiveDate::from_ymd_opt(2027, 8, 1).unwrap();
        assert_eq!(super::french_date(day), "1 août 2027");
    }
}
