//! Response bodies for offers. Public bodies are an allow-list of fields: no staff ids, no
//! audit fields, whatever columns the table grows.

use super::{
    domain::{
        ApplicationSettingsInput, Contact, ContractInput, ContractType, Location, OfferInput,
        OfferStatus, RemotePolicy, Requirements,
    },
    model::{FacetRow, Offer, OfferCard, OfferContract},
    workflow::{Approval, CloseReason},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

fn eur(cents: Option<i32>) -> Option<f64> {
    cents.map(|c| f64::from(c) / 100.0)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContractView {
    #[serde(rename = "type")]
    #[schema(
        schema_with = crate::offers::domain::contract_type_schema,
        example = "internship_agreement"
    )]
    pub contract_type: ContractType,
    pub duration_months_min: i32,
    pub duration_months_max: i32,
    pub work_time_percent: i32,
    pub paid: bool,
    #[schema(example = 4.5)]
    pub hourly_gratification_eur: Option<f64>,
    pub starts_from: NaiveDate,
    pub ends_by: NaiveDate,
    /// `none`, `partial` or `full`.
    #[schema(schema_with = crate::offers::domain::remote_policy_schema)]
    pub remote: RemotePolicy,
}

impl From<&OfferContract> for ContractView {
    fn from(c: &OfferContract) -> Self {
        ContractView {
            contract_type: c.contract_type,
            duration_months_min: c.duration_months_min,
            duration_months_max: c.duration_months_max,
            work_time_percent: c.work_time_percent,
            paid: c.paid,
            hourly_gratification_eur: eur(c.hourly_gratification_cents),
            starts_from: c.starts_from,
            ends_by: c.ends_by,
            remote: c.remote,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationSettingsView {
    #[schema(example = json!(["cv", "cover_letter"]))]
    pub documents: Vec<String>,
    /// The last day applications are accepted: through the end of that day in
    /// `CITY_TIME_ZONE` (default `Europe/Paris`; 23:59:59.999 local time).
    pub deadline: NaiveDate,
}

/// A public offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferResponse {
    pub id: Uuid,
    #[schema(example = "stage-cooperation-decentralisee-zone-maghreb-proche-orient")]
    pub slug: String,
    pub reference: String,
    pub title: String,
    pub language: String,
    pub organization: String,
    pub department: String,
    pub summary: String,
    pub context: String,
    pub missions: Vec<String>,
    pub profile: String,
    pub requirements: Requirements,
    pub contract: ContractView,
    pub location: Location,
    pub contact: Contact,
    pub application: ApplicationSettingsView,
    pub positions: i32,
    pub tags: Vec<String>,
    pub status: OfferStatus,
    pub published_at: Option<DateTime<Utc>>,
    /// Published and its deadline not passed: true through the end of the deadline day in
    /// `CITY_TIME_ZONE` (default `Europe/Paris`), false from the city's next midnight.
    pub accepting_applications: bool,
}

/// Applications are taken while the offer is published, through its deadline day. `today`
/// is the city's date (`AppState::today`, `CityCalendar::today`), never the UTC date: the
/// deadline day ends at midnight in `CITY_TIME_ZONE`.
pub fn accepting_applications(status: OfferStatus, deadline: NaiveDate, today: NaiveDate) -> bool {
    status == OfferStatus::Published && deadline >= today
}

impl OfferResponse {
    pub fn new(o: &Offer, today: NaiveDate) -> Self {
        let c = &o.content;
        OfferResponse {
            id: o.id,
            slug: o.slug.clone(),
            reference: c.reference.clone(),
            title: c.title.clone(),
            language: c.language.clone(),
            organization: c.organization.clone(),
            department: c.department.clone(),
            summary: c.summary.clone(),
            context: c.context.clone(),
            missions: c.missions.0.clone(),
            profile: c.profile.clone(),
            requirements: c.requirements.0.clone(),
            contract: ContractView::from(&c.contract),
            location: c.location.0.clone(),
            contact: c.contact.0.clone(),
            application: ApplicationSettingsView {
                documents: c.application_documents.0.clone(),
                deadline: c.application_deadline,
            },
            positions: c.positions,
            tags: c.tags.0.clone(),
            status: o.status,
            published_at: o.published_at,
            accepting_applications: accepting_applications(o.status, c.application_deadline, today),
        }
    }
}

/// An offer as staff see it: the public fields plus its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffOfferResponse {
    #[serde(flatten)]
    pub offer: OfferResponse,
    pub first_published_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<Uuid>,
    /// Why a closed (or archived) offer was closed: `manual`, or `deadline_passed` when the
    /// calendar closed it after its deadline day ended in `CITY_TIME_ZONE`.
    pub closed_reason: Option<CloseReason>,
    /// When a draft is to be published by the calendar (`POST .../schedule`); `null` if not
    /// scheduled.
    pub publish_at: Option<DateTime<Utc>>,
    pub scheduled_by: Option<Uuid>,
    /// The four-eyes approval of the draft (`PUBLICATION_APPROVAL=required`).
    pub approval: ApprovalView,
}

/// Where an offer stands in the four-eyes approval.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalView {
    pub status: Approval,
    pub submitted_by: Option<Uuid>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// Who approved or rejected it, and when.
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The reason given with a rejection.
    pub rejection_reason: Option<String>,
}

impl StaffOfferResponse {
    pub fn new(o: &Offer, today: NaiveDate) -> Self {
        StaffOfferResponse {
            offer: OfferResponse::new(o, today),
            first_published_at: o.first_published_at,
            closed_at: o.closed_at,
            archived_at: o.archived_at,
            created_at: o.created_at,
            created_by: o.created_by,
            updated_at: o.updated_at,
            updated_by: o.updated_by,
            closed_reason: o.workflow.closed_reason,
            publish_at: o.workflow.publish_at,
            scheduled_by: o.workflow.scheduled_by,
            approval: ApprovalView {
                status: o.workflow.approval,
                submitted_by: o.workflow.submitted_by,
                submitted_at: o.workflow.submitted_at,
                decided_by: o.workflow.approval_decided_by,
                decided_at: o.workflow.approval_decided_at,
                rejection_reason: o.workflow.rejection_reason.clone(),
            },
        }
    }
}

/// The offer as staff wrote it, for merge patches and re-validation.
pub fn offer_input(o: &Offer) -> OfferInput {
    let c = &o.content;
    let k = &c.contract;
    OfferInput {
        reference: c.reference.clone(),
        title: c.title.clone(),
        language: c.language.clone(),
        organization: c.organization.clone(),
        department: c.department.clone(),
        summary: c.summary.clone(),
        context: c.context.clone(),
        missions: c.missions.0.clone(),
        profile: c.profile.clone(),
        requirements: c.requirements.0.clone(),
        contract: ContractInput {
            contract_type: k.contract_type.as_str().to_owned(),
            duration_months_min: k.duration_months_min.into(),
            duration_months_max: k.duration_months_max.into(),
            work_time_percent: k.work_time_percent.into(),
            paid: k.paid,
            hourly_gratification_eur: eur(k.hourly_gratification_cents),
            starts_from: k.starts_from.to_string(),
            ends_by: k.ends_by.to_string(),
            remote: k.remote.as_str().to_owned(),
        },
        location: c.location.0.clone(),
        contact: c.contact.0.clone(),
        application: ApplicationSettingsInput {
            documents: c.application_documents.0.clone(),
            deadline: c.application_deadline.to_string(),
        },
        positions: c.positions.into(),
        tags: c.tags.0.clone(),
    }
}

/// One offer in the public list.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferListItem {
    pub id: Uuid,
    pub slug: String,
    pub reference: String,
    pub title: String,
    pub organization: String,
    pub department: String,
    pub summary: String,
    pub contract: ContractView,
    pub location: Location,
    pub application: ApplicationSettingsView,
    pub tags: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub accepting_applications: bool,
}

impl OfferListItem {
    pub fn new(c: &OfferCard, today: NaiveDate) -> Self {
        OfferListItem {
            id: c.id,
            slug: c.slug.clone(),
            reference: c.reference.clone(),
            title: c.title.clone(),
            organization: c.organization.clone(),
            department: c.department.clone(),
            summary: c.summary.clone(),
            contract: ContractView::from(&c.contract),
            location: c.location.0.clone(),
            application: ApplicationSettingsView {
                documents: c.application_documents.0.clone(),
                deadline: c.application_deadline,
            },
            tags: c.tags.0.clone(),
            published_at: c.published_at,
            accepting_applications: accepting_applications(c.status, c.application_deadline, today),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: i64,
}

/// Counts of the offers matching the current filters, by dimension.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Facets {
    pub department: Vec<FacetCount>,
    pub field_of_study: Vec<FacetCount>,
    pub education_level: Vec<FacetCount>,
    /// Bands of `duration_months_max`: `up_to_2_months`, `3_to_4_months`, `5_to_6_months`.
    pub duration: Vec<FacetCount>,
    /// `true` / `false`.
    pub paid: Vec<FacetCount>,
}

impl From<&[FacetRow]> for Facets {
    fn from(rows: &[FacetRow]) -> Self {
        let mut f = Facets::default();
        for r in rows {
            let bucket = match r.facet.as_str() {
                "department" => &mut f.department,
                "field_of_study" => &mut f.field_of_study,
                "education_level" => &mut f.education_level,
                "duration" => &mut f.duration,
                "paid" => &mut f.paid,
                _ => continue,
            };
            bucket.push(FacetCount {
                value: r.value.clone(),
                count: r.count,
            });
        }
        f
    }
}

/// A page of the public catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferPage {
    pub items: Vec<OfferListItem>,
    pub next_cursor: Option<String>,
    pub total: i64,
    /// Present with `facets=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<Facets>,
}

/// One offer in the staff list.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffOfferListItem {
    pub id: Uuid,
    pub slug: String,
    pub reference: String,
    pub title: String,
    pub department: String,
    pub status: OfferStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub application_deadline: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Offer> for StaffOfferListItem {
    fn from(o: Offer) -> Self {
        StaffOfferListItem {
            status: o.status,
            id: o.id,
            slug: o.slug,
            reference: o.content.reference,
            title: o.content.title,
            department: o.content.department,
            published_at: o.published_at,
            application_deadline: o.content.application_deadline,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}
