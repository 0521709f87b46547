//! Offer rules in plain Rust: the shape staff send, its validation (including the French
//! internship rules), the status machine, slugs and JSON merge patches. No actix, no diesel.

use crate::validation::{string_enum_schema, FieldError};
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Longest internship per intern, host and academic year (Code de l'éducation, L124-5).
pub const MAX_DURATION_MONTHS: i64 = 6;
/// Above this many months, an internship must be paid (gratification, L124-6).
pub const UNPAID_MAX_MONTHS: i64 = 2;

pub const EDUCATION_LEVELS: [&str; 8] = [
    "bac",
    "bac_1",
    "bac_2",
    "bac_3",
    "licence_3",
    "master_1",
    "master_2",
    "doctorate",
];
/// `EDUCATION_LEVELS` as a schema.
pub fn education_level_schema() -> utoipa::openapi::Object {
    string_enum_schema(
        &EDUCATION_LEVELS,
        false,
        "An education level: `bac` (baccalauréat) to `bac_3`, `licence_3`, `master_1`, \
         `master_2`, `doctorate`.",
    )
}

pub const CEFR_LEVELS: [&str; 6] = ["A1", "A2", "B1", "B2", "C1", "C2"];
pub const REMOTE_POLICIES: [&str; 3] = [
    RemotePolicy::None.as_str(),
    RemotePolicy::Partial.as_str(),
    RemotePolicy::Full.as_str(),
];
pub const DOCUMENT_KINDS: [&str; 2] = ["cv", "cover_letter"];

/// `REMOTE_POLICIES` as a schema.
pub fn remote_policy_schema() -> utoipa::openapi::Object {
    string_enum_schema(
        &REMOTE_POLICIES,
        false,
        "Remote work: `none`, `partial` (some days) or `full`.",
    )
}

/// `DOCUMENT_KINDS` as a schema.
pub fn document_kind_schema() -> utoipa::openapi::Object {
    string_enum_schema(&DOCUMENT_KINDS, false, "`cv` or `cover_letter`.")
}
pub const CONTRACT_TYPES: [&str; 1] = [ContractType::InternshipAgreement.as_str()];

/// `CONTRACT_TYPES` as a schema.
pub fn contract_type_schema() -> utoipa::openapi::Object {
    string_enum_schema(
        &CONTRACT_TYPES,
        false,
        "`internship_agreement` (convention de stage, tripartite).",
    )
}

/// An offer's remote work: `none`, `partial` (some days) or `full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemotePolicy {
    None,
    Partial,
    Full,
}

impl RemotePolicy {
    pub const ALL: [RemotePolicy; 3] = [Self::None, Self::Partial, Self::Full];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Partial => "partial",
            Self::Full => "full",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }
}

/// The legal frame of an internship; only the tripartite agreement for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractType {
    InternshipAgreement,
}

impl ContractType {
    pub const ALL: [ContractType; 1] = [Self::InternshipAgreement];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InternshipAgreement => "internship_agreement",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}
pub const LICENCE_CATEGORIES: [&str; 15] = [
    "AM", "A1", "A2", "A", "B1", "B", "BE", "C1", "C1E", "C", "CE", "D1", "D1E", "D", "DE",
];

/// An offer as staff write it (`POST`/`PUT /api/v1/staff/offers`), the shape of
/// `fixtures/grenoble-offer.json`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    /// The city's own reference, unique.
    #[schema(example = "VDG-VO-2026-007", max_length = 50)]
    pub reference: String,
    #[schema(
        example = "Stage – Coopération décentralisée zone Maghreb/Proche-Orient",
        max_length = 200
    )]
    pub title: String,
    /// ISO 639-1 language of the text.
    #[schema(example = "fr")]
    pub language: String,
    #[schema(example = "Ville de Grenoble", max_length = 200)]
    pub organization: String,
    #[schema(example = "Direction Ville Ouverte", max_length = 200)]
    pub department: String,
    #[schema(max_length = 1000)]
    pub summary: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub context: String,
    /// 1 to 20 missions.
    pub missions: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub profile: String,
    #[serde(default)]
    pub requirements: Requirements,
    pub contract: ContractInput,
    pub location: Location,
    pub contact: Contact,
    pub application: ApplicationSettingsInput,
    #[serde(default = "one_position")]
    #[schema(minimum = 1, maximum = 100, example = 1)]
    pub positions: i64,
    #[serde(default)]
    pub tags: Vec<String>,
}

fn one_position() -> i64 {
    1
}

/// What a candidate needs; each item is `required` or preferred.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    #[serde(default)]
    pub education_levels: Vec<EducationRequirement>,
    #[serde(default)]
    pub fields_of_study: Vec<NamedRequirement>,
    #[serde(default)]
    pub languages: Vec<LanguageRequirement>,
    #[serde(default)]
    pub driving_licence: Option<DrivingLicenceRequirement>,
    #[serde(default)]
    pub skills: Vec<NamedRequirement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EducationRequirement {
    /// One of `bac`, `bac_1`, `bac_2`, `bac_3`, `licence_3`, `master_1`, `master_2`, `doctorate`.
    #[schema(schema_with = education_level_schema, example = "master_1")]
    pub level: String,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedRequirement {
    #[schema(example = "sciences politiques", max_length = 100)]
    pub name: String,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageRequirement {
    /// ISO 639-1 code.
    #[schema(example = "en")]
    pub code: String,
    /// CEFR level (`A1` … `C2`), or null for "some knowledge".
    #[schema(example = "B2")]
    pub level: Option<String>,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrivingLicenceRequirement {
    /// French licence category (`B`, `A`, `C`, …).
    #[schema(example = "B")]
    pub category: String,
    pub required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractInput {
    /// `internship_agreement` (convention de stage, tripartite).
    #[serde(rename = "type")]
    #[schema(schema_with = contract_type_schema, example = "internship_agreement")]
    pub contract_type: String,
    #[schema(minimum = 1, maximum = 6, example = 4)]
    pub duration_months_min: i64,
    #[schema(minimum = 1, maximum = 6, example = 6)]
    pub duration_months_max: i64,
    #[schema(minimum = 10, maximum = 100, example = 100)]
    pub work_time_percent: i64,
    /// Must be true above 2 months.
    pub paid: bool,
    /// EUR per hour; at least the legal minimum of the start year when paid, null when unpaid.
    #[schema(example = 4.5)]
    pub hourly_gratification_eur: Option<f64>,
    #[schema(example = "2026-02-01", format = "date")]
    pub starts_from: String,
    #[schema(example = "2026-07-31", format = "date")]
    pub ends_by: String,
    /// `none`, `partial` or `full`.
    #[schema(schema_with = remote_policy_schema, example = "none")]
    pub remote: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[schema(example = "2 Passage du Palais de justice")]
    pub street_address: Option<String>,
    #[schema(example = "38000")]
    pub postal_code: String,
    #[schema(example = "Grenoble")]
    pub city: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "FR")]
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[schema(example = "Mathilde Lestra")]
    pub name: String,
    #[schema(example = "Cheffe de projets Maghreb/Proche-Orient")]
    pub title: Option<String>,
    #[schema(example = "mathilde.lestra@ville.example", format = "email")]
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationSettingsInput {
    /// Documents a candidate sends: `cv` (always) and optionally `cover_letter`.
    #[schema(example = json!(["cv", "cover_letter"]))]
    pub documents: Vec<String>,
    /// Last day applications are accepted: through the end of that day in `CITY_TIME_ZONE`
    /// (default `Europe/Paris`; 23:59:59.999 local time).
    #[schema(example = "2026-01-15", format = "date")]
    pub deadline: String,
}

/// An offer that passed every rule, with its dates, amounts and closed values parsed.
#[derive(Debug, Clone)]
pub struct ValidOffer {
    pub input: OfferInput,
    pub contract_type: ContractType,
    pub remote: RemotePolicy,
    pub starts_from: NaiveDate,
    pub ends_by: NaiveDate,
    pub deadline: NaiveDate,
    pub gratification_cents: Option<i32>,
}

/// The legal minimum hourly gratification, in cents, by year.
#[derive(Debug, Clone)]
pub struct GratificationMinimums(pub Vec<(i32, i32)>);

impl GratificationMinimums {
    /// The minimum in force for an internship starting in `year`: the latest known year not
    /// after it (or the earliest known, for older dates).
    pub fn for_year(&self, year: i32) -> Option<i32> {
        let mut rows = self.0.clone();
        rows.sort();
        rows.iter()
            .rev()
            .find(|(y, _)| *y <= year)
            .or_else(|| rows.first())
            .map(|(_, cents)| *cents)
    }
}

/// Collects field errors; each check adds to it instead of stopping at the first.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    fn text(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let chars = value.trim().chars().count();
        if chars < min {
            if min == 1 {
                self.add(field, "required", "must not be empty");
            } else {
                self.add(
                    field,
                    "too_short",
                    format!("must have at least {min} characters"),
                );
            }
        } else if chars > max {
            self.add(
                field,
                "too_long",
                format!("must have at most {max} characters"),
            );
        }
    }

    fn choice(&mut self, field: &str, value: &str, allowed: &[&str]) {
        self.pick(field, value, allowed, |v| {
            allowed.contains(&v).then_some(())
        });
    }

    /// `value` read by `parse`, or `invalid_choice` listing `allowed`.
    fn pick<T>(
        &mut self,
        field: &str,
        value: &str,
        allowed: &[&str],
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let picked = parse(value);
        if picked.is_none() {
            self.add(
                field,
                "invalid_choice",
                format!("must be one of {}", allowed.join(", ")),
            );
        }
        picked
    }

    fn count<T>(&mut self, field: &str, items: &[T], min: usize, max: usize) {
        if items.len() < min {
            self.add(
                field,
                "too_few",
                format!("must have at least {min} item(s)"),
            );
        } else if items.len() > max {
            self.add(field, "too_many", format!("must have at most {max} items"));
        }
    }

    fn date(&mut self, field: &str, value: &str) -> Option<NaiveDate> {
        let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
        if parsed.is_none() {
            self.add(field, "invalid_date", "must be a date as YYYY-MM-DD");
        }
        parsed
    }
}

fn is_iso_code(value: &str, len: usize, upper: bool) -> bool {
    value.len() == len
        && value.chars().all(|c| {
            if upper {
                c.is_ascii_uppercase()
            } else {
                c.is_ascii_lowercase()
            }
        })
}

fn trim_all(mut input: OfferInput) -> OfferInput {
    let t = |s: &mut String| *s = s.trim().to_owned();
    t(&mut input.reference);
    t(&mut input.title);
    t(&mut input.organization);
    t(&mut input.department);
    t(&mut input.summary);
    t(&mut input.context);
    t(&mut input.profile);
    input.missions.iter_mut().for_each(t);
    input.tags.iter_mut().for_each(t);
    input
        .requirements
        .fields_of_study
        .iter_mut()
        .for_each(|r| t(&mut r.name));
    input
        .requirements
        .skills
        .iter_mut()
        .for_each(|r| t(&mut r.name));
    t(&mut input.location.postal_code);
    t(&mut input.location.city);
    t(&mut input.contact.name);
    input.contact.email = input.contact.email.trim().to_lowercase();
    input
}

/// Checks every rule of an offer, reporting all the errors at once.
pub fn validate(
    input: OfferInput,
    minimums: &GratificationMinimums,
) -> Result<ValidOffer, Vec<FieldError>> {
    let input = trim_all(input);
    let mut e = Errors::default();

    e.text("reference", &input.reference, 1, 50);
    if !input
        .reference
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        e.add(
            "reference",
            "invalid_format",
            "may only use letters, digits and - _ . /",
        );
    }
    e.text("title", &input.title, 3, 200);
    if !is_iso_code(&input.language, 2, false) {
        e.add(
            "language",
            "invalid_language",
            "must be an ISO 639-1 code such as fr",
        );
    }
    e.text("organization", &input.organization, 1, 200);
    e.text("department", &input.department, 1, 200);
    e.text("summary", &input.summary, 1, 1000);
    e.text("context", &input.context, 0, 5000);
    e.text("profile", &input.profile, 0, 5000);
    e.count("missions", &input.missions, 1, 20);
    for (i, m) in input.missions.iter().enumerate() {
        e.text(&format!("missions[{i}]"), m, 1, 1000);
    }
    e.count("tags", &input.tags, 0, 20);
    let mut seen_tags = std::collections::HashSet::new();
    for (i, tag) in input.tags.iter().enumerate() {
        e.text(&format!("tags[{i}]"), tag, 1, 60);
        if !seen_tags.insert(tag.to_lowercase()) {
            e.add(format!("tags[{i}]"), "duplicate", "appears twice");
        }
    }
    if !(1..=100).contains(&input.positions) {
        e.add("positions", "range", "must be between 1 and 100");
    }

    validate_requirements(&input.requirements, &mut e);
    let c = &input.contract;
    let contract_type = e.pick(
        "contract.type",
        &c.contract_type,
        &CONTRACT_TYPES,
        ContractType::parse,
    );
    let remote = e.pick(
        "contract.remote",
        &c.remote,
        &REMOTE_POLICIES,
        RemotePolicy::parse,
    );
    let (starts_from, ends_by, gratification_cents) =
        validate_contract(&input.contract, minimums, &mut e);

    let loc = &input.location;
    if let Some(street) = &loc.street_address {
        e.text("location.street_address", street, 0, 200);
    }
    e.text("location.postal_code", &loc.postal_code, 1, 20);
    e.text("location.city", &loc.city, 1, 100);
    if !is_iso_code(&loc.country, 2, true) {
        e.add(
            "location.country",
            "invalid_country",
            "must be an ISO 3166-1 alpha-2 code such as FR",
        );
    }

    e.text("contact.name", &input.contact.name, 1, 200);
    if let Some(title) = &input.contact.title {
        e.text("contact.title", title, 0, 200);
    }
    if !validator::ValidateEmail::validate_email(&input.contact.email) {
        e.add(
            "contact.email",
            "invalid_email",
            "must be a valid email address",
        );
    }

    let docs = &input.application.documents;
    for (i, d) in docs.iter().enumerate() {
        e.choice(&format!("application.documents[{i}]"), d, &DOCUMENT_KINDS);
    }
    if !docs.iter().any(|d| d == "cv") {
        e.add("application.documents", "cv_required", "must include cv");
    }
    if docs.iter().collect::<std::collections::HashSet<_>>().len() != docs.len() {
        e.add(
            "application.documents",
            "duplicate",
            "lists a document twice",
        );
    }
    let deadline = e.date("application.deadline", &input.application.deadline);

    match (
        e.0.is_empty(),
        contract_type,
        remote,
        starts_from,
        ends_by,
        deadline,
    ) {
        (
            true,
            Some(contract_type),
            Some(remote),
            Some(starts_from),
            Some(ends_by),
            Some(deadline),
        ) => Ok(ValidOffer {
            input,
            contract_type,
            remote,
            starts_from,
            ends_by,
            deadline,
            gratification_cents,
        }),
        _ => Err(e.0),
    }
}

fn validate_requirements(r: &Requirements, e: &mut Errors) {
    e.count(
        "requirements.education_levels",
        &r.education_levels,
        0,
        EDUCATION_LEVELS.len(),
    );
    for (i, l) in r.education_levels.iter().enumerate() {
        e.choice(
            &format!("requirements.education_levels[{i}].level"),
            &l.level,
            &EDUCATION_LEVELS,
        );
    }
    e.count("requirements.fields_of_study", &r.fields_of_study, 0, 20);
    for (i, f) in r.fields_of_study.iter().enumerate() {
        e.text(
            &format!("requirements.fields_of_study[{i}].name"),
            &f.name,
            1,
            100,
        );
    }
    e.count("requirements.languages", &r.languages, 0, 10);
    for (i, l) in r.languages.iter().enumerate() {
        if !is_iso_code(&l.code, 2, false) {
            e.add(
                format!("requirements.languages[{i}].code"),
                "invalid_language",
                "must be an ISO 639-1 code such as en",
            );
        }
        if let Some(level) = &l.level {
            e.choice(
                &format!("requirements.languages[{i}].level"),
                level,
                &CEFR_LEVELS,
            );
        }
    }
    if let Some(d) = &r.driving_licence {
        e.choice(
            "requirements.driving_licence.category",
            &d.category,
            &LICENCE_CATEGORIES,
        );
    }
    e.count("requirements.skills", &r.skills, 0, 30);
    for (i, s) in r.skills.iter().enumerate() {
        e.text(&format!("requirements.skills[{i}].name"), &s.name, 1, 100);
    }
}

fn validate_contract(
    c: &ContractInput,
    minimums: &GratificationMinimums,
    e: &mut Errors,
) -> (Option<NaiveDate>, Option<NaiveDate>, Option<i32>) {
    if c.duration_months_min < 1 {
        e.add(
            "contract.duration_months_min",
            "range",
            "must be at least 1 month",
        );
    }
    if c.duration_months_max > MAX_DURATION_MONTHS {
        e.add(
            "contract.duration_months_max",
            "internship_too_long",
            "an internship lasts at most 6 months per intern and host in an academic year",
        );
    }
    if c.duration_months_min > c.duration_months_max {
        e.add(
            "contract.duration_months_min",
            "greater_than_max",
            "must not exceed duration_months_max",
        );
    }
    if !(10..=100).contains(&c.work_time_percent) {
        e.add(
            "contract.work_time_percent",
            "range",
            "must be between 10 and 100",
        );
    }
    if c.duration_months_max > UNPAID_MAX_MONTHS && !c.paid {
        e.add(
            "contract.paid",
            "gratification_required",
            "an internship of more than 2 months must be paid (gratification)",
        );
    }
    let starts_from = e.date("contract.starts_from", &c.starts_from);
    let ends_by = e.date("contract.ends_by", &c.ends_by);
    if let (Some(start), Some(end)) = (starts_from, ends_by) {
        if end < start {
            e.add(
                "contract.ends_by",
                "before_start",
                "must not be before starts_from",
            );
        } else if let Some(earliest_end) = u32::try_from(c.duration_months_min.clamp(1, 12))
            .ok()
            .and_then(|m| start.checked_add_months(Months::new(m)))
        {
            // The window must hold the shortest internship the offer allows.
            if earliest_end
                .pred_opt()
                .is_some_and(|last_day| last_day > end)
            {
                e.add(
                    "contract.ends_by",
                    "window_too_short",
                    "the window is shorter than duration_months_min",
                );
            }
        }
    }
    let cents = match (c.paid, c.hourly_gratification_eur) {
        (true, None) => {
            e.add(
                "contract.hourly_gratification_eur",
                "required",
                "is required when the internship is paid",
            );
            None
        }
        (false, Some(_)) => {
            e.add(
                "contract.hourly_gratification_eur",
                "must_be_null",
                "must be null when the internship is unpaid",
            );
            None
        }
        (false, None) => None,
        (true, Some(eur)) => {
            let cents = (eur * 100.0).round();
            if !eur.is_finite()
                || (eur * 100.0 - cents).abs() > 1e-6
                || !(0.0..=100_000.0).contains(&cents)
            {
                e.add(
                    "contract.hourly_gratification_eur",
                    "invalid_amount",
                    "must be an amount in euros with at most 2 decimals",
                );
                None
            } else {
                let cents = cents as i32;
                // The minimum is the start year's; without a valid start date (already an
                // error) there is no year to check against, and no clock is read here.
                let year = starts_from.map(|d| d.year());
                if let Some((year, min)) =
                    year.and_then(|y| minimums.for_year(y).map(|min| (y, min)))
                {
                    if cents < min {
                        e.add(
                            "contract.hourly_gratification_eur",
                            "below_legal_minimum",
                            format!("must be at least the legal minimum of {:.2} EUR per hour in {year}", f64::from(min) / 100.0),
                        );
                    }
                }
                Some(cents)
            }
        }
    };
    (starts_from, ends_by, cents)
}

/// Offer statuses and what moves between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Draft,
    Published,
    Closed,
    Archived,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Draft => "draft",
            OfferStatus::Published => "published",
            OfferStatus::Closed => "closed",
            OfferStatus::Archived => "archived",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Closed, Self::Archived]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }

    /// Seen by the public (published, or closed and no longer taking applications).
    pub fn is_public(self) -> bool {
        matches!(self, OfferStatus::Published | OfferStatus::Closed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Publish,
    Close,
    Archive,
    Reopen,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Publish => "publish",
            Transition::Close => "close",
            Transition::Archive => "archive",
            Transition::Reopen => "reopen",
        }
    }

    /// draft -> published -> closed -> archived, and closed -> published (reopen).
    pub fn apply(self, from: OfferStatus) -> Result<OfferStatus, String> {
        use OfferStatus::*;
        match (self, from) {
            (Transition::Publish, Draft) => Ok(Published),
            (Transition::Close, Published) => Ok(Closed),
            (Transition::Archive, Closed) => Ok(Archived),
            (Transition::Reopen, Closed) => Ok(Published),
            (t, s) => Err(format!(
                "cannot {} an offer that is {}: {}",
                t.as_str(),
                s.as_str(),
                match s {
                    Draft => "a draft can only be published (or deleted)",
                    Published => "a published offer can only be closed",
                    Closed => "a closed offer can be reopened or archived",
                    Archived => "an archived offer can no longer change",
                }
            )),
        }
    }

    /// Publishing and reopening put the offer in front of candidates: its deadline must not
    /// have passed.
    pub fn needs_open_deadline(self) -> bool {
        matches!(self, Transition::Publish | Transition::Reopen)
    }
}

/// A URL slug: lower case ASCII, accents removed, words joined by `-`, at most 80 bytes.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in text.chars().flat_map(fold_accent) {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
            dash = false;
        } else {
            dash = true;
        }
        if out.len() >= 80 {
            break;
        }
    }
    out.truncate(80);
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "offre".to_owned()
    } else {
        out
    }
}

fn fold_accent(c: char) -> Vec<char> {
    let folded: &str = match c {
        'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' | 'À' | 'Â' | 'Ä' | 'Á' => "a",
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => "e",
        'î' | 'ï' | 'í' | 'ì' | 'Î' | 'Ï' => "i",
        'ô' | 'ö' | 'ó' | 'ò' | 'õ' | 'Ô' | 'Ö' => "o",
        'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' => "u",
        'ç' | 'Ç' => "c",
        'ñ' | 'Ñ' => "n",
        'ÿ' | 'Ÿ' => "y",
        'œ' | 'Œ' => "oe",
        'æ' | 'Æ' => "ae",
        _ => return vec![c],
    };
    folded.chars().collect()
}

/// RFC 7396 JSON merge patch: objects merge, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (key, value) in p {
                if value.is_null() {
                    t.remove(key);
                } else {
                    merge_patch(t.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> OfferInput {
        serde_json::from_str(include_str!("../../demo/grenoble-offer.json")).unwrap()
    }

    fn minimums() -> GratificationMinimums {
        GratificationMinimums(vec![(2025, 450), (2026, 450), (2024, 435)])
    }

    fn errors_of(input: OfferInput) -> Vec<(String, String)> {
        validate(input, &minimums())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    fn has(errors: &[(String, String)], field: &str, code: &str) -> bool {
        errors.iter().any(|(f, c)| f == field && c == code)
    }

    #[test]
    fn the_fixture_is_valid() {
        let valid = validate(fixture(), &minimums()).unwrap();
        assert_eq!(valid.gratification_cents, Some(450));
        assert_eq!(
            valid.starts_from,
            NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()
        );
    }

    #[test]
    fn more_than_six_months_is_refused() {
        let mut o = fixture();
        o.contract.duration_months_max = 7;
        assert!(has(
            &errors_of(o),
            "contract.duration_months_max",
            "internship_too_long"
        ));
    }

    #[test]
    fn more_than_two_months_must_be_paid() {
        let mut o = fixture();
        o.contract.paid = false;
        o.contract.hourly_gratification_eur = None;
        assert!(has(
            &errors_of(o.clone()),
            "contract.paid",
            "gratification_required"
        ));
        o.contract.duration_months_min = 1;
        o.contract.duration_months_max = 2;
        assert!(errors_of(o).is_empty(), "two unpaid months are allowed");
    }

    #[test]
    fn gratification_follows_the_legal_minimum_of_the_start_year() {
        let mut o = fixture();
        o.contract.hourly_gratification_eur = Some(4.49);
        assert!(has(
            &errors_of(o.clone()),
            "contract.hourly_gratification_eur",
            "below_legal_minimum"
        ));
        o.contract.hourly_gratification_eur = Some(4.40);
        o.contract.starts_from = "2024-03-01".into();
        assert!(
            errors_of(o.clone()).is_empty(),
            "4.35 was the minimum in 2024"
        );
        o.contract.hourly_gratification_eur = None;
        assert!(has(
            &errors_of(o.clone()),
            "contract.hourly_gratification_eur",
            "required"
        ));
        o.contract.hourly_gratification_eur = Some(4.555);
        assert!(has(
            &errors_of(o),
            "contract.hourly_gratification_eur",
            "invalid_amount"
        ));
        assert_eq!(minimums().for_year(2030), Some(450));
        assert_eq!(minimums().for_year(2000), Some(435));
    }

    #[test]
    fn unpaid_offers_have_no_amount() {
        let mut o = fixture();
        o.contract.duration_months_min = 1;
        o.contract.duration_months_max = 2;
        o.contract.paid = false;
        assert!(has(
            &errors_of(o),
            "contract.hourly_gratification_eur",
            "must_be_null"
        ));
    }

    #[test]
    fn date_windows_must_be_coherent() {
        let mut o = fixture();
        o.contract.ends_by = "2026-01-01".into();
        assert!(has(
            &errors_of(o.clone()),
            "contract.ends_by",
            "before_start"
        ));
        o.contract.ends_by = "2026-04-30".into();
        assert!(has(
            &errors_of(o.clone()),
            "contract.ends_by",
            "window_too_short"
        ));
        o.contract.ends_by = "2026-05-31".into();
        assert!(
            errors_of(o.clone()).is_empty(),
            "Feb 1 + 4 months ends May 31"
        );
        o.contract.starts_from = "2026-02-30".into();
        assert!(has(&errors_of(o), "contract.starts_from", "invalid_date"));
    }

    #[test]
    fn enums_and_codes_are_checked() {
        let mut o = fixture();
        o.requirements.education_levels[0].level = "master_3".into();
        o.requirements.languages[0].level = Some("C3".into());
        o.requirements.languages[1].code = "english".into();
        o.contract.remote = "sometimes".into();
        o.contract.contract_type = "cdd".into();
        o.location.country = "France".into();
        o.language = "FR".into();
        o.application.documents = vec!["cover_letter".into(), "photo".into()];
        let errors = errors_of(o);
        for (field, code) in [
            ("requirements.education_levels[0].level", "invalid_choice"),
            ("requirements.languages[0].level", "invalid_choice"),
            ("requirements.languages[1].code", "invalid_language"),
            ("contract.remote", "invalid_choice"),
            ("contract.type", "invalid_choice"),
            ("location.country", "invalid_country"),
            ("language", "invalid_language"),
            ("application.documents[1]", "invalid_choice"),
            ("application.documents", "cv_required"),
        ] {
            assert!(
                has(&errors, field, code),
                "{field} {code} missing from {errors:?}"
            );
        }
    }

    #[test]
    fn lengths_and_list_sizes_are_capped() {
        let mut o = fixture();
        o.title = "x".repeat(201);
        o.missions = vec![];
        o.tags = (0..21).map(|i| format!("tag {i}")).collect();
        o.summary = "   ".into();
        o.contact.email = "nope".into();
        let errors = errors_of(o);
        assert!(has(&errors, "title", "too_long"));
        assert!(has(&errors, "missions", "too_few"));
        assert!(has(&errors, "tags", "too_many"));
        assert!(has(&errors, "summary", "required"));
        assert!(has(&errors, "contact.email", "invalid_email"));
    }

    #[test]
    fn the_status_machine_allows_only_its_moves() {
        use OfferStatus::*;
        use Transition::*;
        let all = [Draft, Published, Closed, Archived];
        let legal = [
            (Publish, Draft, Published),
            (Close, Published, Closed),
            (Archive, Closed, Archived),
            (Reopen, Closed, Published),
        ];
        for t in [Publish, Close, Archive, Reopen] {
            for s in all {
                let expected = legal
                    .iter()
                    .find(|(lt, ls, _)| *lt == t && *ls == s)
                    .map(|l| l.2);
                assert_eq!(t.apply(s).ok(), expected, "{t:?} from {s:?}");
            }
        }
        assert!(Close
            .apply(Draft)
            .unwrap_err()
            .contains("cannot close an offer that is draft"));
    }

    #[test]
    fn slugs_are_ascii_and_readable() {
        assert_eq!(
            slugify("Stage – Coopération décentralisée zone Maghreb/Proche-Orient"),
            "stage-cooperation-decentralisee-zone-maghreb-proche-orient"
        );
        assert_eq!(slugify("Œuvres & Cœur"), "oeuvres-coeur");
        assert_eq!(slugify("!!!"), "offre");
        assert!(slugify(&"mot ".repeat(50)).len() <= 80);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(
            &mut doc,
            &serde_json::json!({"a": null, "b": {"c": 5}, "e": [2, 3]}),
        );
        assert_eq!(doc, serde_json::json!({"b": {"c": 5, "d": 3}, "e": [2, 3]}));
    }
}
