//! Application rules in plain Rust: the candidate's form, the pipeline, and retention.

use crate::{
    calendar::CityCalendar,
    validation::{FieldError, Form},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Submitted,
    Screening,
    Shortlisted,
    Interview,
    OfferMade,
    Hired,
    Rejected,
    Withdrawn,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 8] = [
        Self::Submitted,
        Self::Screening,
        Self::Shortlisted,
        Self::Interview,
        Self::OfferMade,
        Self::Hired,
        Self::Rejected,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Screening => "screening",
            Self::Shortlisted => "shortlisted",
            Self::Interview => "interview",
            Self::OfferMade => "offer_made",
            Self::Hired => "hired",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// No move leaves these.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Hired | Self::Rejected | Self::Withdrawn)
    }

    /// The next step of the pipeline, if any.
    fn next(self) -> Option<Self> {
        match self {
            Self::Submitted => Some(Self::Screening),
            Self::Screening => Some(Self::Shortlisted),
            Self::Shortlisted => Some(Self::Interview),
            Self::Interview => Some(Self::OfferMade),
            Self::OfferMade => Some(Self::Hired),
            _ => None,
        }
    }
}

/// Who moved an application, as its history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Candidate,
    Staff,
    System,
}

impl ActorKind {
    pub const ALL: [ActorKind; 3] = [Self::Candidate, Self::Staff, Self::System];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Candidate => "candidate",
            Self::Staff => "staff",
            Self::System => "system",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// Why an application was turned down; one is required to reject.
pub const REJECTION_REASONS: [&str; 6] = [
    "profile_mismatch",
    "insufficient_level",
    "position_filled",
    "incomplete_application",
    "candidate_unavailable",
    "other",
];

/// Where staff may move an application (`POST …/transition`'s `to`): a later pipeline stage
/// or `rejected`; never back to `submitted`, and only the candidate withdraws.
pub const STAFF_TARGETS: [ApplicationStatus; 6] = [
    ApplicationStatus::Screening,
    ApplicationStatus::Shortlisted,
    ApplicationStatus::Interview,
    ApplicationStatus::OfferMade,
    ApplicationStatus::Hired,
    ApplicationStatus::Rejected,
];

/// `STAFF_TARGETS` as a schema.
pub fn staff_target_schema() -> utoipa::openapi::Object {
    let targets: Vec<&str> = STAFF_TARGETS.iter().map(|s| s.as_str()).collect();
    crate::validation::string_enum_schema(
        &targets,
        false,
        "The next pipeline stage (one step at a time), or `rejected` from any stage that is \
         not final.",
    )
}

/// `REJECTION_REASONS` as a schema; `null` unless rejecting.
pub fn rejection_reason_schema() -> utoipa::openapi::Object {
    crate::validation::string_enum_schema(
        &REJECTION_REASONS,
        true,
        "Required to reject, ignored otherwise.",
    )
}

/// A rejection's reason as the history records it (`null` for other moves).
pub fn recorded_reason_schema() -> utoipa::openapi::Object {
    crate::validation::string_enum_schema(
        &REJECTION_REASONS,
        true,
        "Why the application was rejected; `null` for other moves.",
    )
}

/// A staff move: submitted -> screening -> shortlisted -> interview -> offer_made -> hired,
/// one step at a time, or rejected (with a reason) from any stage that is not final.
pub fn staff_move(
    from: ApplicationStatus,
    to: ApplicationStatus,
    reason: Option<&str>,
) -> Result<(), MoveError> {
    if from.is_final() {
        return Err(MoveError::Illegal(format!(
            "the application is {}: it can no longer move",
            from.as_str()
        )));
    }
    match to {
        ApplicationStatus::Rejected => match reason {
            Some(r) if REJECTION_REASONS.contains(&r) => Ok(()),
            Some(_) => Err(MoveError::Invalid(FieldError::new(
                "reason",
                "invalid_choice",
                format!("must be one of {}", REJECTION_REASONS.join(", ")),
            ))),
            None => Err(MoveError::Invalid(FieldError::new(
                "reason",
                "required",
                "a rejection needs a reason code",
            ))),
        },
        ApplicationStatus::Withdrawn => Err(MoveError::Illegal(
            "only the candidate can withdraw an application".into(),
        )),
        to if from.next() == Some(to) => Ok(()),
        to => Err(MoveError::Illegal(format!(
            "cannot move from {} to {}: the next step is {}",
            from.as_str(),
            to.as_str(),
            from.next().map_or("none", |n| n.as_str())
        ))),
    }
}

#[derive(Debug, PartialEq)]
pub enum MoveError {
    /// 409: not a move the pipeline allows from here.
    Illegal(String),
    /// 422: a field of the request is wrong.
    Invalid(FieldError),
}

/// A language the candidate speaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateLanguage {
    #[schema(example = "en")]
    pub code: String,
    /// CEFR level (`A1` … `C2`), or null.
    #[schema(example = "B2")]
    pub level: Option<String>,
}

/// The text fields of the application form, checked.
#[derive(Debug, Clone)]
pub struct ApplicationForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub education_level: String,
    pub school: String,
    pub field_of_study: String,
    pub available_from: NaiveDate,
    pub available_until: NaiveDate,
    pub languages: Vec<CandidateLanguage>,
    pub message: Option<String>,
    pub cover_letter_text: Option<String>,
    pub privacy_notice_version: String,
    pub consent_talent_pool: bool,
    pub source: Option<String>,
}

/// The text fields a candidate may send; anything else is refused.
pub const FORM_FIELDS: [&str; 16] = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "education_level",
    "school",
    "field_of_study",
    "available_from",
    "available_until",
    "languages",
    "message",
    "cover_letter_text",
    "consent_privacy",
    "privacy_notice_version",
    "consent_talent_pool",
    "source",
];

/// Whether `source` (already lower-cased) is a slug: 1 to 64 of `a-z`, `0-9`, `-` and `_`,
/// starting with a letter or a digit. The source stays in the anonymous trace of an erased
/// application, so it may not carry free text (a name, an address).
pub fn is_source_slug(source: &str) -> bool {
    source.len() <= 64
        && source
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && source
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Checks the text fields of an application, reporting every problem at once.
pub fn parse_form(fields: &HashMap<String, String>) -> Result<ApplicationForm, Vec<FieldError>> {
    use crate::offers::domain::EDUCATION_LEVELS;
    let mut f = Form::new(fields);
    let first_name = f.required("first_name", 100);
    let last_name = f.required("last_name", 100);
    let email = f.required("email", 254).map(|e| e.to_lowercase());
    f.check(
        "email",
        email.as_deref(),
        |e| validator::ValidateEmail::validate_email(&e),
        "invalid_email",
        "must be a valid email address",
    );
    let phone = f.text("phone", 30);
    f.check(
        "phone",
        phone.as_deref(),
        |p| {
            p.chars()
                .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
        },
        "invalid_phone",
        "may only contain digits, spaces and + - . ( )",
    );
    let education_level = f.required("education_level", 20);
    f.check(
        "education_level",
        education_level.as_deref(),
        |l| EDUCATION_LEVELS.contains(&l),
        "invalid_choice",
        "must be one of bac, bac_1, bac_2, bac_3, licence_3, master_1, master_2, doctorate",
    );
    let school = f.required("school", 200);
    let field_of_study = f.required("field_of_study", 200);
    let available_from = f.date("available_from");
    let available_until = f.date("available_until");
    if let (Some(from), Some(until)) = (available_from, available_until) {
        f.check(
            "available_until",
            Some(&until),
            |until| *until >= from,
            "before_start",
            "must not be before available_from",
        );
    }
    let languages = languages(&mut f);
    let message = f.text("message", 2000);
    let cover_letter_text = f.text("cover_letter_text", 10_000);
    if f.get("consent_privacy") != Some("true") {
        f.fail(
            "consent_privacy",
            "consent_required",
            "must be true: we cannot process an application without your consent to the privacy notice",
        );
    }
    let privacy_notice_version = f.required("privacy_notice_version", 50);
    let consent_talent_pool = f.boolean("consent_talent_pool", false);
    let source = f.get("source").map(str::to_lowercase);
    f.check(
        "source",
        source.as_deref(),
        is_source_slug,
        "invalid_source",
        "must be a slug: 1 to 64 of a-z, 0-9, - and _, starting with a letter or digit",
    );
    let form = (|| {
        Some(ApplicationForm {
            first_name: first_name?,
            last_name: last_name?,
            email: email?,
            phone,
            education_level: education_level?,
            school: school?,
            field_of_study: field_of_study?,
            available_from: available_from?,
            available_until: available_until?,
            languages,
            message,
            cover_letter_text,
            privacy_notice_version: privacy_notice_version?,
            consent_talent_pool,
            source,
        })
    })();
    f.finish(form)
}

/// `languages`: a JSON array of at most 10 `{"code", "level"}`, ISO 639-1 codes and CEFR
/// levels.
fn languages(f: &mut Form) -> Vec<CandidateLanguage> {
    use crate::offers::domain::CEFR_LEVELS;
    let list = match f
        .get("languages")
        .map(serde_json::from_str::<Vec<CandidateLanguage>>)
    {
        None => return Vec::new(),
        Some(Ok(list)) if list.len() <= 10 => list,
        Some(Ok(_)) => {
            f.fail("languages", "too_many", "must have at most 10 languages");
            return Vec::new();
        }
        Some(Err(_)) => {
            f.fail(
                "languages",
                "invalid_format",
                "must be a JSON array of {\"code\", \"level\"}",
            );
            return Vec::new();
        }
    };
    for (i, l) in list.iter().enumerate() {
        f.check(
            &format!("languages[{i}].code"),
            Some(l.code.as_str()),
            |c| c.len() == 2 && c.chars().all(|c| c.is_ascii_lowercase()),
            "invalid_language",
            "must be an ISO 639-1 code such as en",
        );
        f.check(
            &format!("languages[{i}].level"),
            l.level.as_deref(),
            |lv| CEFR_LEVELS.contains(&lv),
            "invalid_choice",
            "must be a CEFR level, A1 to C2",
        );
    }
    list
}

/// How long data of finished recruitments is kept (CNIL), in whole days of the city's
/// calendar.
///
/// A period of N days counts from the city's date of the event (the decision, or the last
/// contact): the data is kept through the end of the Nth day after it and erased from the
/// city's next midnight. Decided on 15 January (any time that day, Paris time) with 92 days,
/// it is kept through 17 April and erased from 18 April 00:00 Paris. So the period is never
/// shorter than N calendar days, is the same for every decision of one day whatever its hour
/// or the clock changes in between, and ends at the same midnight the city's deadlines do.
#[derive(Debug, Clone)]
pub struct RetentionPolicy {
    /// After the decision, for everyone (default 92 days, about 3 months).
    pub after_decision_days: i64,
    /// After the last contact, for candidates who joined the talent pool (default 730 days).
    pub talent_pool_days: i64,
    /// The city's calendar (`CITY_TIME_ZONE`) the days are counted in.
    pub calendar: CityCalendar,
}

impl RetentionPolicy {
    /// When a period of `days` that started at `event` is over: the city's midnight after
    /// the `days`th day following the event's day.
    pub fn period_end(&self, event: DateTime<Utc>, days: i64) -> DateTime<Utc> {
        let day = self.calendar.today(event);
        match u64::try_from(days)
            .ok()
            .and_then(|d| day.checked_add_days(chrono::Days::new(d)))
        {
            Some(last) => self.calendar.day_end(last),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// An instant before which every application due at `now` was decided: what the purge
    /// reads from the database before applying [`erase_after`] to each one. Two days of
    /// margin cover the day's own length and any change of the zone's offset.
    pub fn decided_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(self.after_decision_days) + Duration::days(2)
    }
}

/// When an application is due for erasure, or `None` while its recruitment is under way.
///
/// The decision is the application's own final move, or the offer's closing for applications
/// left open when the recruitment ended. Periods are counted in the city's days (see
/// [`RetentionPolicy`]).
pub fn erase_after(
    status: ApplicationStatus,
    decided_at: Option<DateTime<Utc>>,
    offer_closed_at: Option<DateTime<Utc>>,
    consent_talent_pool: bool,
    last_contact_at: DateTime<Utc>,
    policy: &RetentionPolicy,
) -> Option<DateTime<Utc>> {
    let decision = if status.is_final() {
        decided_at
    } else {
        offer_closed_at
    }?;
    let due = policy.period_end(decision, policy.after_decision_days);
    if consent_talent_pool {
        Some(due.max(policy.period_end(last_contact_at, policy.talent_pool_days)))
    } else {
        Some(due)
    }
}

/// Format characters (Unicode general category Cf, as of Unicode 16): bidi embeddings,
/// overrides and isolates, zero-width spaces and joiners, the BOM, tags. They change how a
/// name is displayed without being seen (`cv\u{202E}fdp.exe` shows as `cvexe.pdf`).
const FORMAT_CHARS: [(char, char); 21] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

fn is_invisible(c: char) -> bool {
    // Cc (controls), Cf (format) and the line and paragraph separators (Zl, Zp).
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}')
        || FORMAT_CHARS.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// A file name safe to show and to put in a header: no path, no control or format
/// characters (Cc, Cf, Zl, Zp), at most 150 characters before the extension, and always
/// the extension `.pdf`: a last extension (a final `.` followed by characters without a
/// space) is replaced, so `cv\u{202E}fdp.exe` becomes `cvfdp.pdf` and `CV.PDF` `CV.pdf`.
/// The file was checked as a PDF by content; its name may not say otherwise.
pub fn clean_filename(raw: Option<&str>, fallback: &str) -> String {
    let base = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let visible: String = base
        .chars()
        .filter(|&c| !is_invisible(c) && !matches!(c, '"' | ';'))
        .collect();
    // Trailing dots and spaces are dropped first, as Windows does: `cv.exe.` is an `.exe`.
    let visible = visible
        .trim()
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let stem = match visible.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains(char::is_whitespace) => stem,
        _ => visible,
    };
    let stem: String = stem
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
        .chars()
        .take(150)
        .collect();
    if stem.is_empty() {
        fallback.to_owned()
    } else {
        format!("{}.pdf", stem.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_staff_targets_are_exactly_where_staff_can_move_an_application() {
        for to in ApplicationStatus::ALL {
            let reachable = ApplicationStatus::ALL
                .into_iter()
                .any(|from| staff_move(from, to, Some("other")).is_ok());
            assert_eq!(reachable, STAFF_TARGETS.contains(&to), "{to:?}");
        }
        let schema = serde_json::to_value(staff_target_schema()).unwrap();
        assert_eq!(
            schema["enum"].as_array().unwrap().len(),
            STAFF_TARGETS.len()
        );
        let reasons = serde_json::to_value(rejection_reason_schema()).unwrap();
        assert_eq!(reasons["type"], serde_json::json!(["string", "null"]));
        assert!(reasons["enum"]
            .as_array()
            .unwrap()
            .contains(&serde_json::Value::Null));
    }
    use ApplicationStatus::*;

    fn form() -> HashMap<String, String> {
        [
            ("first_name", "Inès"),
            ("last_name", "Benali"),
            ("email", "Ines.Benali@example.org"),
            ("education_level", "master_1"),
            ("school", "Sciences Po Grenoble"),
            ("field_of_study", "sciences politiques"),
            ("available_from", "2027-02-01"),
            ("available_until", "2027-07-31"),
            ("consent_privacy", "true"),
            ("privacy_notice_version", "2026-11"),
            (
                "languages",
                r#"[{"code": "ar", "level": "C1"}, {"code": "en", "level": null}]"#,
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn a_complete_form_parses() {
        let f = parse_form(&form()).unwrap();
        assert_eq!(f.email, "ines.benali@example.org");
        assert_eq!(f.languages.len(), 2);
        assert!(!f.consent_talent_pool);
    }

    #[test]
    fn consent_is_required_and_every_error_is_reported() {
        let mut f = form();
        f.remove("consent_privacy");
        f.insert("email".into(), "nope".into());
        f.insert("available_until".into(), "2027-01-01".into());
        f.insert("languages".into(), "english".into());
        let fields: Vec<String> = parse_form(&f)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        for expected in ["consent_privacy", "email", "available_until", "languages"] {
            assert!(
                fields.contains(&expected.to_owned()),
                "{expected} in {fields:?}"
            );
        }
        f.insert("consent_privacy".into(), "false".into());
        assert!(parse_form(&f).is_err());
    }

    #[test]
    fn sources_are_slugs_lower_cased_and_free_text_is_refused() {
        for ok in [
            "uga",
            "jobboard-etudiant",
            "salon_2026",
            "9a",
            &"a".repeat(64),
        ] {
            assert!(is_source_slug(ok), "{ok}");
        }
        for bad in [
            "",
            "-uga",
            "_a",
            "Uga",
            "ami de Camille Martin",
            "camille.martin@example.org",
            "été",
            "a/b",
            &"a".repeat(65),
        ] {
            assert!(!is_source_slug(bad), "{bad}");
        }
        let mut f = form();
        f.insert("source".into(), "  UGA ".into());
        assert_eq!(parse_form(&f).unwrap().source.as_deref(), Some("uga"));
        f.insert("source".into(), "recommandé par Camille Martin".into());
        let errors = parse_form(&f).unwrap_err();
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code.as_str()),
            ("source", "invalid_source")
        );
    }

    #[test]
    fn the_pipeline_moves_one_step_at_a_time() {
        assert!(staff_move(Submitted, Screening, None).is_ok());
        assert!(staff_move(OfferMade, Hired, None).is_ok());
        assert!(matches!(
            staff_move(Submitted, Interview, None),
            Err(MoveError::Illegal(_))
        ));
        assert!(matches!(
            staff_move(Screening, Submitted, None),
            Err(MoveError::Illegal(_))
        ));
        assert!(matches!(
            staff_move(Hired, Rejected, Some("other")),
            Err(MoveError::Illegal(_))
        ));
        assert!(matches!(
            staff_move(Interview, Withdrawn, None),
            Err(MoveError::Illegal(_))
        ));
    }

    #[test]
    fn rejection_needs_a_known_reason_from_any_open_stage() {
        for from in [Submitted, Screening, Shortlisted, Interview, OfferMade] {
            assert!(staff_move(from, Rejected, Some("position_filled")).is_ok());
        }
        assert_eq!(
            staff_move(Screening, Rejected, None),
            Err(MoveError::Invalid(FieldError::new(
                "reason",
                "required",
                "a rejection needs a reason code"
            )))
        );
        assert!(matches!(
            staff_move(Screening, Rejected, Some("meh")),
            Err(MoveError::Invalid(_))
        ));
    }

    #[test]
    fn retention_counts_from_the_decision_or_the_talent_pool_contact() {
        let policy = RetentionPolicy {
            after_decision_days: 92,
            talent_pool_days: 730,
            calendar: CityCalendar::default(),
        };
        let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // 15 January 2027, 10:00 in Paris.
        let t = utc("2027-01-15T09:00:00Z");
        assert_eq!(
            erase_after(Screening, None, None, false, t, &policy),
            None,
            "still under way"
        );
        // Kept through 17 April (92 days after 15 January), erased from 18 April 00:00 in
        // Paris, summer time by then.
        let april = utc("2027-04-17T22:00:00Z");
        assert_eq!(
            erase_after(Rejected, Some(t), None, false, t, &policy),
            Some(april)
        );
        assert_eq!(
            erase_after(Screening, None, Some(t), false, t, &policy),
            Some(april),
            "offer closed"
        );
        // 2029-01-14 (730 days after 2027-01-15) ends at 23:00 UTC, winter time.
        assert_eq!(
            erase_after(Rejected, Some(t), None, true, t, &policy),
            Some(utc("2029-01-14T23:00:00Z"))
        );
        // A decision late on 15 January in Paris, already 16 January in UTC, is still a
        // decision of 15 January; one a second after Paris midnight is of 16 January.
        assert_eq!(
            policy.period_end(utc("2027-01-15T23:59:59Z") - Duration::hours(1), 92),
            april
        );
        assert_eq!(
            policy.period_end(utc("2027-01-15T23:00:01Z"), 92),
            utc("2027-04-18T22:00:00Z")
        );
        // The database is asked for every application that could be due.
        let now = april;
        assert!(policy.decided_before(now) > utc("2027-01-15T23:00:00Z"));
    }

    #[test]
    fn filenames_lose_paths_and_controls() {
        assert_eq!(
            clean_filename(Some("../../etc/passwd"), "cv.pdf"),
            "passwd.pdf"
        );
        assert_eq!(
            clean_filename(Some("C:\\Users\\x\\CV Inès.pdf"), "cv.pdf"),
            "CV Inès.pdf"
        );
        assert_eq!(clean_filename(Some("a\"b;\r\n.pdf"), "cv.pdf"), "ab.pdf");
        assert_eq!(clean_filename(None, "cv.pdf"), "cv.pdf");
        assert_eq!(clean_filename(Some(".hidden"), "cv.pdf"), "cv.pdf");
        assert_eq!(clean_filename(Some("..hidden.pdf"), "cv.pdf"), "hidden.pdf");
    }

    #[test]
    fn filenames_lose_format_characters_and_end_in_pdf() {
        // Right-to-left override: displayed as `cvexe.pdf`, really an `.exe`.
        assert_eq!(
            clean_filename(Some("cv\u{202E}fdp.exe"), "cv.pdf"),
            "cvfdp.pdf"
        );
        assert_eq!(
            clean_filename(
                Some("C\u{200B}V\u{200D} \u{2066}Inès\u{2069}\u{FEFF}.pdf"),
                "cv.pdf"
            ),
            "CV Inès.pdf"
        );
        assert_eq!(
            clean_filename(Some("tag\u{E0041}\u{E007F}s\u{00AD}.pdf\u{2028}"), "cv.pdf"),
            "tags.pdf"
        );
        assert_eq!(clean_filename(Some("CV.PDF"), "cv.pdf"), "CV.pdf");
        assert_eq!(clean_filename(Some("cv.pdf.exe"), "cv.pdf"), "cv.pdf.pdf");
        assert_eq!(clean_filename(Some("lettre"), "cv.pdf"), "lettre.pdf");
        assert_eq!(
            clean_filename(Some("CV Dr. Martin"), "cv.pdf"),
            "CV Dr. Martin.pdf"
        );
        assert_eq!(clean_filename(Some("cv. .exe."), "cv.pdf"), "cv.pdf");
        assert_eq!(
            clean_filename(Some("\u{202E}.exe"), "lettre.pdf"),
            "lettre.pdf"
        );
        let long = clean_filename(Some(&format!("{}.docx", "é".repeat(300))), "cv.pdf");
        assert_eq!(long, format!("{}.pdf", "é".repeat(150)));
    }
}
