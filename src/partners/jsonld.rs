//! An offer as a schema.org `JobPosting`, in the shape Google for Jobs reads. Plain Rust: the
//! offer row in, JSON out.

use super::text::description_html;
use crate::{
    calendar::CityCalendar,
    offers::{france::region, model::Offer, views::accepting_applications},
};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

/// JSON that may be pasted into an HTML page as it is, inside
/// `<script type="application/ld+json">`: `<`, `>`, `&`, U+2028 and U+2029 are written as
/// `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`, so no value (a title, a contact name)
/// can close the element or start a comment, and the text parses back to the same JSON.
/// Every JSON-LD body the service produces goes through it.
pub fn to_embeddable_json(value: &Value) -> String {
    let plain = value.to_string();
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// schema.org's credential categories for French education levels.
fn credential_category(level: &str) -> &'static str {
    match level {
        "bac" => "high school",
        "bac_1" | "bac_2" => "associate degree",
        "bac_3" | "licence_3" => "bachelor degree",
        _ => "postgraduate degree",
    }
}

/// The last second of the deadline day in the city, with the zone's offset that day
/// (`2027-01-15T23:59:59+01:00` in Paris): applications are taken through it.
fn end_of_day(calendar: &CityCalendar, date: NaiveDate) -> String {
    calendar
        .last_second(date)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// An instant on the city's clock, with its offset then.
fn timestamp(calendar: &CityCalendar, t: DateTime<Utc>) -> String {
    calendar
        .local(t)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// What the JSON-LD says of the employer beyond the offer's own fields (from the settings).
#[derive(Debug, Default, Clone, Copy)]
pub struct Employer<'a> {
    /// The organisation's own site (`ORGANIZATION_URL`).
    pub same_as: Option<&'a str>,
    /// Its logo (`ORGANIZATION_LOGO_URL`).
    pub logo: Option<&'a str>,
}

/// The `JobPosting` of a published or closed offer. A closed offer (or one whose deadline
/// passed) says so: `validThrough` in the past and no `directApply`. Days are the city's
/// (`calendar`, from `CITY_TIME_ZONE`), and instants carry its offset.
pub fn job_posting(
    offer: &Offer,
    url: &str,
    employer: &Employer,
    calendar: &CityCalendar,
    now: DateTime<Utc>,
) -> Value {
    let (c, k) = (&offer.content, &offer.content.contract);
    let open = accepting_applications(offer.status, c.application_deadline, calendar.today(now));
    let (location, contact, levels) = (&c.location, &c.contact, &c.education_levels);

    let mut employment = vec!["INTERN"];
    employment.push(if k.work_time_percent >= 100 {
        "FULL_TIME"
    } else {
        "PART_TIME"
    });
    let valid_through = match offer.closed_at {
        Some(closed) if !open => timestamp(calendar, closed.min(now)),
        _ => end_of_day(calendar, c.application_deadline),
    };
    let mut categories: Vec<&str> = Vec::new();
    for category in levels.iter().map(|l| credential_category(l)) {
        if !categories.contains(&category) {
            categories.push(category);
        }
    }

    let mut posting = Map::new();
    let mut put = |k: &str, v: Value| {
        posting.insert(k.to_owned(), v);
    };
    put("@context", json!("https://schema.org/"));
    put("@type", json!("JobPosting"));
    put("title", json!(c.title));
    put("description", json!(description_html(offer)));
    put(
        "datePosted",
        json!(offer
            .first_published_at
            .or(offer.published_at)
            .map(|t| calendar.today(t).to_string())),
    );
    put("validThrough", json!(valid_through));
    put("employmentType", json!(employment));
    let mut organization = json!({
        "@type": "Organization",
        "name": c.organization,
        "department": {"@type": "Organization", "name": c.department},
    });
    if let Some(site) = employer.same_as {
        organization["sameAs"] = json!(site);
    }
    if let Some(logo) = employer.logo {
        organization["logo"] = json!(logo);
    }
    put("hiringOrganization", organization);
    let mut address = json!({
        "@type": "PostalAddress",
        "addressLocality": location.city,
        "postalCode": location.postal_code,
        "addressCountry": location.country,
    });
    if let Some(street) = &location.street_address {
        address["streetAddress"] = json!(street);
    }
    if let Some(region) = region(&location.country, &location.postal_code) {
        address["addressRegion"] = json!(region);
    }
    put("jobLocation", json!({"@type": "Place", "address": address}));
    if k.remote == crate::offers::domain::RemotePolicy::Full {
        put("jobLocationType", json!("TELECOMMUTE"));
        put(
            "applicantLocationRequirements",
            json!({"@type": "Country", "name": location.country}),
        );
    }
    if let Some(cents) = offer
        .content
        .contract
        .hourly_gratification_cents
        .filter(|_| k.paid)
    {
        put(
            "baseSalary",
            json!({
                "@type": "MonetaryAmount",
                "currency": "EUR",
                "value": {"@type": "QuantitativeValue", "value": f64::from(cents) / 100.0, "unitText": "HOUR"},
            }),
        );
    }
    put(
        "identifier",
        json!({"@type": "PropertyValue", "name": c.organization, "value": c.reference}),
    );
    put("directApply", json!(open));
    put("jobStartDate", json!(k.starts_from.to_string()));
    if !categories.is_empty() {
        put(
            "educationRequirements",
            Value::Array(
                categories
                    .into_iter()
                    .map(|category| json!({"@type": "EducationalOccupationalCredential", "credentialCategory": category}))
                    .collect(),
            ),
        );
    }
    let mut point = json!({"@type": "ContactPoint", "name": contact.name, "email": contact.email});
    if let Some(title) = &contact.title {
        point["contactType"] = json!(title);
    }
    put("applicationContact", point);
    put("totalJobOpenings", json!(c.positions));
    put("inLanguage", json!(c.language));
    put("url", json!(url));
    Value::Object(posting)
}

/// The `JobPosting` as the spec documents it: the keys `job_posting` writes, typed. For the
/// spec only (the document is built as JSON above); a test checks the two agree.
#[derive(utoipa::ToSchema)]
#[schema(as = JobPosting)]
#[allow(dead_code)]
pub struct JobPostingDoc {
    /// `https://schema.org/`.
    #[schema(rename = "@context", example = "https://schema.org/")]
    context: String,
    /// `JobPosting`.
    #[schema(rename = "@type", example = "JobPosting")]
    kind: String,
    title: String,
    /// HTML: the summary, context, missions and profile, their text escaped.
    description: String,
    /// The day the offer was first published, in `CITY_TIME_ZONE`.
    #[schema(rename = "datePosted", format = Date)]
    date_posted: Option<String>,
    /// The last second of the deadline day in `CITY_TIME_ZONE`, with that zone's offset on
    /// that day (`2027-01-15T23:59:59+01:00` in Paris), or when the offer closed (also with
    /// the zone's offset).
    #[schema(rename = "validThrough", format = DateTime)]
    valid_through: String,
    /// `INTERN` and `FULL_TIME` or `PART_TIME`.
    #[schema(rename = "employmentType")]
    employment_type: Vec<String>,
    /// The organisation, its department, and from the settings its `sameAs` and `logo`.
    #[schema(rename = "hiringOrganization", value_type = Object)]
    hiring_organization: serde_json::Value,
    /// A `Place` with its `PostalAddress` (`addressRegion` for France).
    #[schema(rename = "jobLocation", value_type = Object, required = false)]
    job_location: Option<serde_json::Value>,
    /// `TELECOMMUTE` for a fully remote offer.
    #[schema(rename = "jobLocationType")]
    job_location_type: Option<String>,
    #[schema(rename = "applicantLocationRequirements", value_type = Object, required = false)]
    applicant_location_requirements: Option<serde_json::Value>,
    /// The hourly gratification, in EUR.
    #[schema(rename = "baseSalary", value_type = Object, required = false)]
    base_salary: Option<serde_json::Value>,
    /// The city's reference.
    #[schema(value_type = Object)]
    identifier: serde_json::Value,
    /// Whether applications are taken now (published, and the deadline day not over in
    /// `CITY_TIME_ZONE`).
    #[schema(rename = "directApply")]
    direct_apply: bool,
    #[schema(rename = "jobStartDate", format = Date)]
    job_start_date: String,
    #[schema(rename = "educationRequirements", value_type = Vec<Object>, required = false)]
    education_requirements: Option<Vec<serde_json::Value>>,
    #[schema(rename = "applicationContact", value_type = Object, required = false)]
    application_contact: Option<serde_json::Value>,
    #[schema(rename = "totalJobOpenings")]
    total_job_openings: i32,
    /// ISO 639-1.
    #[schema(rename = "inLanguage")]
    in_language: String,
    /// The offer's page (`OFFER_URL_TEMPLATE`).
    url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddable_json_escapes_what_html_reads_and_parses_back_the_same() {
        let value = json!({
            "title": "</script><script>alert(1)</script> <!-- & \u{2028}\u{2029}",
            "nested": ["a<b", {"k>": "R&D"}],
        });
        let text = to_embeddable_json(&value);
        for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!text.contains(bad), "{bad:?} left in {text}");
        }
        assert!(text.contains("\\u003c/script\\u003e"), "{text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
