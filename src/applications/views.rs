//! Response bodies for applications: what the candidate sees of their own, what staff see,
//! and the export of everything held.

use super::{
    domain::{ActorKind, ApplicationStatus, CandidateLanguage},
    model::{Application, DocumentMeta, Event},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: Uuid,
    /// `cv` or `cover_letter`.
    #[schema(schema_with = crate::offers::domain::document_kind_schema)]
    pub kind: String,
    pub filename: String,
    #[schema(example = "application/pdf")]
    pub content_type: String,
    /// Bytes.
    pub size: i32,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

impl From<&DocumentMeta> for DocumentView {
    fn from(d: &DocumentMeta) -> Self {
        DocumentView {
            id: d.id,
            kind: d.kind.clone(),
            filename: d.filename.clone(),
            content_type: d.content_type.clone(),
            size: d.size,
            sha256: hex::encode(&d.sha256),
        }
    }
}

/// The offer an application is for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferRef {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
}

/// A step of the history as the candidate sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicHistoryEntry {
    pub at: DateTime<Utc>,
    pub status: ApplicationStatus,
}

/// A step of the history as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    pub from_status: Option<ApplicationStatus>,
    pub to_status: ApplicationStatus,
    #[schema(schema_with = crate::applications::domain::recorded_reason_schema)]
    pub reason: Option<String>,
}

impl From<&Event> for HistoryEntry {
    fn from(e: &Event) -> Self {
        HistoryEntry {
            at: e.at,
            actor_kind: e.actor_kind,
            actor_id: e.actor_id,
            from_status: e.from_status,
            to_status: e.to_status,
            reason: e.reason.clone(),
        }
    }
}

/// The candidate's personal fields, as they sent them.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub education_level: Option<String>,
    pub school: Option<String>,
    pub field_of_study: Option<String>,
    pub available_from: Option<NaiveDate>,
    pub available_until: Option<NaiveDate>,
    pub languages: Vec<CandidateLanguage>,
    pub message: Option<String>,
    pub cover_letter_text: Option<String>,
    pub consent_talent_pool: bool,
    pub privacy_notice_version: String,
    pub source: Option<String>,
}

impl From<&Application> for CandidateFields {
    fn from(a: &Application) -> Self {
        CandidateFields {
            first_name: a.first_name.clone(),
            last_name: a.last_name.clone(),
            email: a.email.clone(),
            phone: a.phone.clone(),
            education_level: a.education_level.clone(),
            school: a.school.clone(),
            field_of_study: a.field_of_study.clone(),
            available_from: a.available_from,
            available_until: a.available_until,
            languages: a.languages.clone().map(|l| l.0).unwrap_or_default(),
            message: a.message.clone(),
            cover_letter_text: a.cover_letter_text.clone(),
            consent_talent_pool: a.consent_talent_pool,
            privacy_notice_version: a.privacy_notice_version.clone(),
            source: a.source.clone(),
        }
    }
}

/// An application as its candidate sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateApplicationView {
    pub id: Uuid,
    pub offer: OfferRef,
    pub status: ApplicationStatus,
    pub submitted_at: DateTime<Utc>,
    #[serde(flatten)]
    pub candidate: CandidateFields,
    pub documents: Vec<DocumentView>,
    pub history: Vec<PublicHistoryEntry>,
}

impl CandidateApplicationView {
    pub fn new(a: &Application, offer: OfferRef, docs: &[DocumentMeta], events: &[Event]) -> Self {
        CandidateApplicationView {
            id: a.id,
            offer,
            status: a.status,
            submitted_at: a.created_at,
            candidate: CandidateFields::from(a),
            documents: docs.iter().map(DocumentView::from).collect(),
            history: events
                .iter()
                .map(|e| PublicHistoryEntry {
                    at: e.at,
                    status: e.to_status,
                })
                .collect(),
        }
    }
}

/// The answer to a submission. The tracking token is shown once: keep it to follow, export
/// or erase the application (`Authorization: Bearer <tracking_token>`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationCreated {
    pub application: CandidateApplicationView,
    /// Shown once, in the first answer. `null` in a replay to a retry with the same
    /// `Idempotency-Key` (marked `Idempotent-Replayed: true`): only a hash of the token is
    /// kept, so it cannot be shown again.
    #[schema(example = "pct_3q2-...")]
    pub tracking_token: Option<String>,
}

/// An application as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffApplicationView {
    pub id: Uuid,
    pub offer_id: Uuid,
    pub status: ApplicationStatus,
    pub rejection_reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub candidate: CandidateFields,
    pub documents: Vec<DocumentView>,
}

impl StaffApplicationView {
    /// Blind review: no name, email, phone, nor file names (which often carry the name).
    pub fn hide_identity(&mut self) {
        self.candidate.first_name = None;
        self.candidate.last_name = None;
        self.candidate.email = None;
        self.candidate.phone = None;
        for d in &mut self.documents {
            d.filename = format!("{}.pdf", d.kind);
        }
    }

    pub fn new(a: &Application, docs: &[DocumentMeta]) -> Self {
        StaffApplicationView {
            id: a.id,
            offer_id: a.offer_id,
            status: a.status,
            rejection_reason: a.rejection_reason.clone(),
            submitted_at: a.created_at,
            decided_at: a.decided_at,
            updated_at: a.updated_at,
            candidate: CandidateFields::from(a),
            documents: docs.iter().map(DocumentView::from).collect(),
        }
    }
}

/// Review statistics of an application, from the weighted mean of each review.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ReviewStats {
    pub reviews: i64,
    pub weighted_mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// max - min: how much reviewers disagree.
    pub spread: Option<f64>,
}

impl From<crate::reviews::model::Stats> for ReviewStats {
    fn from(s: crate::reviews::model::Stats) -> Self {
        ReviewStats {
            reviews: s.reviews,
            weighted_mean: s.mean,
            min: s.min,
            max: s.max,
            spread: s.max.zip(s.min).map(|(max, min)| max - min),
        }
    }
}

/// One application in the staff list of an offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffApplicationListItem {
    pub id: Uuid,
    pub status: ApplicationStatus,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub education_level: Option<String>,
    pub school: Option<String>,
    pub source: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For admins and managers; absent for reviewers (independent scoring).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_stats: Option<ReviewStats>,
}

impl StaffApplicationListItem {
    /// Blind review: nothing that says who the candidate is.
    pub fn hide_identity(&mut self) {
        self.first_name = None;
        self.last_name = None;
        self.email = None;
    }
}

impl From<Application> for StaffApplicationListItem {
    fn from(a: Application) -> Self {
        StaffApplicationListItem {
            status: a.status,
            id: a.id,
            first_name: a.first_name,
            last_name: a.last_name,
            email: a.email,
            education_level: a.education_level,
            school: a.school,
            source: a.source,
            submitted_at: a.created_at,
            updated_at: a.updated_at,
            review_stats: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedDocument {
    #[serde(flatten)]
    pub meta: DocumentView,
    /// The file itself, base64.
    pub content_base64: String,
}

/// Everything held about a candidate's application (GDPR right of access and portability).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationExport {
    pub exported_at: DateTime<Utc>,
    pub application: StaffApplicationView,
    pub offer: OfferRef,
    pub documents: Vec<ExportedDocument>,
    pub history: Vec<HistoryEntry>,
    /// The evaluations of the application by the city's reviewers.
    pub reviews: Vec<ExportedReview>,
}

/// A review, as the candidate's right of access shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedReview {
    pub scores: std::collections::BTreeMap<String, i64>,
    #[schema(schema_with = crate::reviews::domain::recommendation_schema)]
    pub recommendation: String,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ApplicationExport {
    pub fn new(
        now: DateTime<Utc>,
        a: &Application,
        offer: OfferRef,
        docs: &[(DocumentMeta, Vec<u8>)],
        events: &[Event],
        reviews: &[crate::reviews::model::Review],
    ) -> Self {
        let metas: Vec<DocumentMeta> = docs.iter().map(|(m, _)| m.clone()).collect();
        ApplicationExport {
            exported_at: now,
            application: StaffApplicationView::new(a, &metas),
            offer,
            documents: docs
                .iter()
                .map(|(m, bytes)| ExportedDocument {
                    meta: DocumentView::from(m),
                    content_base64: STANDARD.encode(bytes),
                })
                .collect(),
            history: events.iter().map(HistoryEntry::from).collect(),
            reviews: reviews
                .iter()
                .map(|r| ExportedReview {
                    scores: r.scores.0.clone(),
                    recommendation: r.recommendation.clone(),
                    comment: r.comment.clone(),
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                })
                .collect(),
        }
    }
}
