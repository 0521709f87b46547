//! `POST /api/v1/offers/{id_or_slug}/applications`: a candidate applies with a CV and a cover letter.

use super::{
    domain::{clean_filename, parse_form, ApplicationForm, ApplicationStatus},
    model::{self, Actor, NewApplication, NewDocument, Reservation},
    pdf::check_pdf,
    upload::{read_submission, Submission, UploadedFile},
    views::{ApplicationCreated, CandidateApplicationView, OfferRef},
};
use crate::db::types::Json;
use crate::{
    error::{ApiError, Code, Problem},
    offers::{domain::OfferStatus, model as offers, model::Offer},
    ratelimit::Policy,
    state::AppState,
    validation::FieldError,
};
use actix_web::{http::header, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

/// The form, as documentation: the fields are sent as `multipart/form-data` parts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationFormParts {
    pub first_name: String,
    pub last_name: String,
    #[schema(format = "email")]
    pub email: String,
    pub phone: Option<String>,
    #[schema(schema_with = crate::offers::domain::education_level_schema, example = "master_1")]
    pub education_level: String,
    pub school: String,
    pub field_of_study: String,
    #[schema(format = "date")]
    pub available_from: String,
    #[schema(format = "date")]
    pub available_until: String,
    /// JSON array of `{"code": "en", "level": "B2"}`.
    pub languages: Option<String>,
    #[schema(max_length = 2000)]
    pub message: Option<String>,
    /// Instead of a `cover_letter` file.
    #[schema(max_length = 10000)]
    pub cover_letter_text: Option<String>,
    /// Must be `true`.
    pub consent_privacy: String,
    /// The version of the privacy notice the candidate was shown and accepted, as the city's
    /// front-end names it (its date or number; the API does not interpret it). Kept with the
    /// application as proof of consent (RGPD art. 7) and shown in the candidate's export.
    #[schema(example = "2026-11", min_length = 1, max_length = 50)]
    pub privacy_notice_version: String,
    /// `true`: keep my data up to 2 years for other offers.
    pub consent_talent_pool: Option<String>,
    /// Which partner or channel sent the candidate.
    pub source: Option<String>,
    /// PDF, at most 5 MiB.
    #[schema(value_type = String, format = Binary)]
    pub cv: Vec<u8>,
    /// PDF, at most 5 MiB.
    #[schema(value_type = String, format = Binary, required = false)]
    pub cover_letter: Option<Vec<u8>>,
}

/// A checked PDF ready to store.
struct Document {
    kind: &'static str,
    filename: String,
    sha256: Vec<u8>,
    bytes: Vec<u8>,
}

fn check_document(kind: &'static str, file: UploadedFile) -> Result<Document, FieldError> {
    check_pdf(&file.bytes).map_err(|p| FieldError::new(kind, p.code(), p.to_string()))?;
    Ok(Document {
        kind,
        filename: clean_filename(file.filename.as_deref(), &format!("{kind}.pdf")),
        sha256: Sha256::digest(&file.bytes).to_vec(),
        bytes: file.bytes,
    })
}

/// The documents the offer asks for: a CV always; a cover letter, as a PDF or as text, when
/// the offer wants one.
fn check_documents(
    mut files: std::collections::HashMap<String, UploadedFile>,
    has_cover_letter_text: bool,
    wants_cover_letter: bool,
) -> Result<Vec<Document>, ApiError> {
    let mut errors = Vec::new();
    let mut docs = Vec::new();
    match files.remove("cv") {
        None => errors.push(FieldError::new("cv", "required", "a CV (PDF) is required")),
        Some(f) => match check_document("cv", f) {
            Ok(d) => docs.push(d),
            Err(e) => errors.push(e),
        },
    }
    match (files.remove("cover_letter"), has_cover_letter_text) {
        (Some(_), true) => errors.push(FieldError::new(
            "cover_letter",
            "choose_one",
            "send the cover letter as a PDF or as text, not both",
        )),
        (Some(f), false) => match check_document("cover_letter", f) {
            Ok(d) => docs.push(d),
            Err(e) => errors.push(e),
        },
        (None, false) if wants_cover_letter => errors.push(FieldError::new(
            "cover_letter",
            "required",
            "this offer asks for a cover letter (PDF, or cover_letter_text)",
        )),
        (None, _) => {}
    }
    if errors.is_empty() {
        Ok(docs)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// What identifies a submission for `Idempotency-Key`: every field and every file's hash.
fn request_hash(fields: &std::collections::HashMap<String, String>, docs: &[Document]) -> Vec<u8> {
    let mut keys: Vec<_> = fields.keys().collect();
    keys.sort();
    let mut h = Sha256::new();
    for k in keys {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(fields[k].as_bytes());
        h.update([0]);
    }
    for d in docs {
        h.update(d.kind.as_bytes());
        h.update(&d.sha256);
    }
    h.finalize().to_vec()
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = raw.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > 200 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            Code::InvalidIdempotencyKey,
            "Idempotency-Key must be 1 to 200 printable ASCII characters.",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// A new tracking token (shown once to the candidate) and the hash stored for it.
pub fn new_tracking_token() -> (String, Vec<u8>) {
    let token = crate::http::opaque_token("pct_");
    let hash = crate::http::token_hash(&token);
    (token, hash)
}

/// [`open_offer`] by id or slug, as `GET /api/v1/offers/{id_or_slug}` finds it.
fn open_offer_by_key(
    conn: &mut PgConnection,
    id_or_slug: &str,
    today: chrono::NaiveDate,
) -> Result<Offer, ApiError> {
    if id_or_slug.len() > 200 {
        return Err(ApiError::not_found());
    }
    let offer = offers::find_public(conn, id_or_slug)?.ok_or_else(ApiError::not_found)?;
    open_offer(conn, offer.id, today)
}

/// 404 unless the public can see the offer; 409 unless it takes applications on `today`,
/// the city's date (`CITY_TIME_ZONE`): through the end of the deadline day there.
fn open_offer(
    conn: &mut PgConnection,
    id: Uuid,
    today: chrono::NaiveDate,
) -> Result<Offer, ApiError> {
    let offer = offers::find(conn, id)?
        .filter(|o| o.status.is_public())
        .ok_or_else(ApiError::not_found)?;
    if offer.status != OfferStatus::Published {
        return Err(ApiError::conflict(
            Code::OfferClosed,
            "This offer no longer takes applications.",
        ));
    }
    if offer.content.application_deadline < today {
        return Err(ApiError::conflict(
            Code::DeadlinePassed,
            "The deadline for applying to this offer has passed.",
        ));
    }
    Ok(offer)
}

struct Stored {
    status: u16,
    body: serde_json::Value,
    /// The answer to a retry with the same `Idempotency-Key`.
    replayed: bool,
}

/// `Idempotent-Replayed: true` marks the answer to a retry with the same `Idempotency-Key`.
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";

/// What a reply kept for `Idempotency-Key` holds: the application's id, never the tracking
/// token (the application is read again for a replay).
fn kept_reply(application_id: Uuid) -> serde_json::Value {
    serde_json::json!({ "application_id": application_id })
}

/// The answer to a retry: the application as it is now, without the tracking token, which is
/// shown once and kept only hashed.
fn replay(
    conn: &mut PgConnection,
    status: u16,
    kept: &serde_json::Value,
) -> Result<Stored, ApiError> {
    let application = kept
        .get("application_id")
        .and_then(|v| v.as_str())
        .and_then(|id| Uuid::parse_str(id).ok())
        .map(|id| model::find(conn, id))
        .transpose()?
        .flatten()
        // Erasing an application deletes its kept reply: this is a reply from elsewhere.
        .ok_or_else(|| {
            ApiError::new(
                crate::error::ErrorKind::Unprocessable,
                Code::IdempotencyKeyReused,
                "This Idempotency-Key was used for a submission that no longer exists.",
            )
        })?;
    let body = created_body(conn, &application, None)?;
    Ok(Stored {
        status,
        body,
        replayed: true,
    })
}

fn created_body(
    conn: &mut PgConnection,
    application: &model::Application,
    tracking_token: Option<String>,
) -> Result<serde_json::Value, ApiError> {
    let offer = offers::find(conn, application.offer_id)?
        .ok_or_else(|| ApiError::internal(format!("offer {} missing", application.offer_id)))?;
    let documents = model::documents(conn, application.id)?;
    let history = model::history(conn, application.id)?;
    let offer_ref = OfferRef {
        id: offer.id,
        slug: offer.slug,
        title: offer.content.title,
    };
    serde_json::to_value(ApplicationCreated {
        application: CandidateApplicationView::new(application, offer_ref, &documents, &history),
        tracking_token,
    })
    .map_err(ApiError::internal)
}

/// One transaction: the idempotency key, the open offer, the application, its documents,
/// its first history entry and the mails to send.
/// A checked submission, ready to store.
struct Checked {
    offer_id: Uuid,
    key: Option<String>,
    request_hash: Vec<u8>,
    form: ApplicationForm,
    docs: Vec<Document>,
    /// The city's date when the submission arrived (`CITY_TIME_ZONE`): the deadline check.
    today: chrono::NaiveDate,
}

fn store(
    conn: &mut PgConnection,
    submission: Checked,
    mail: &super::mail::MailContext,
    now: DateTime<Utc>,
) -> Result<Stored, ApiError> {
    let Checked {
        offer_id,
        key,
        request_hash,
        form,
        docs,
        today,
    } = submission;
    let key = key.as_deref();
    conn.transaction(|conn| {
        let scope = format!("apply:{offer_id}");
        if let Some(key) = key {
            match model::reserve_key(conn, &scope, key, &request_hash, now)? {
                Reservation::Fresh => {}
                Reservation::Replay(status, kept) => return replay(conn, status, &kept),
                Reservation::Mismatch => {
                    return Err(ApiError::new(
                        crate::error::ErrorKind::Unprocessable,
                        Code::IdempotencyKeyReused,
                        "This Idempotency-Key was used for a different submission.",
                    ))
                }
            }
        }
        let offer = open_offer(conn, offer_id, today)?;
        let (token, token_hash) = new_tracking_token();
        let application = model::insert(
            conn,
            &NewApplication {
                id: Uuid::new_v4(),
                offer_id,
                status: ApplicationStatus::Submitted,
                first_name: Some(form.first_name),
                last_name: Some(form.last_name),
                email: Some(form.email),
                phone: form.phone,
                school: Some(form.school),
                field_of_study: Some(form.field_of_study),
                languages: Some(Json(form.languages.clone())),
                message: form.message,
                cover_letter_text: form.cover_letter_text,
                tracking_token_hash: Some(token_hash),
                education_level: Some(form.education_level),
                available_from: Some(form.available_from),
                available_until: Some(form.available_until),
                source: form.source,
                consent_privacy: true,
                privacy_notice_version: form.privacy_notice_version,
                consent_talent_pool: form.consent_talent_pool,
                last_contact_at: now,
                created_at: now,
                updated_at: now,
            },
        )
        .map_err(|e| {
            if model::is_duplicate(&e) {
                ApiError::conflict(
                    Code::AlreadyApplied,
                    "An application with this email already exists for this offer.",
                )
            } else {
                e.into()
            }
        })?;
        for d in docs {
            model::insert_document(
                conn,
                &NewDocument {
                    id: Uuid::new_v4(),
                    application_id: application.id,
                    kind: d.kind.to_owned(),
                    filename: d.filename,
                    content_type: "application/pdf".into(),
                    size: i32::try_from(d.bytes.len()).unwrap_or(i32::MAX),
                    sha256: d.sha256,
                    content: d.bytes,
                    created_at: now,
                },
            )?;
        }
        model::record_event(
            conn,
            application.id,
            now,
            Actor::Candidate,
            None,
            ApplicationStatus::Submitted,
            None,
        )?;
        super::mail::enqueue_submission_mails(conn, &application, &offer, mail, now)?;
        let body = created_body(conn, &application, Some(token))?;
        if let Some(key) = key {
            model::complete_key(conn, &scope, key, 201, &kept_reply(application.id))?;
        }
        log::info!(
            "application {} received for offer {}",
            application.id,
            offer_id
        );
        Ok(Stored {
            status: 201,
            body,
            replayed: false,
        })
    })
}

/// Apply to an offer.
///
/// `multipart/form-data` with the candidate's fields, `cv` (PDF) and `cover_letter` (PDF) or
/// `cover_letter_text`. Files are checked by content. Send `Idempotency-Key` to make retries
/// safe: a retry with the same key and the same form gets the first answer again for 24
/// hours, with the application as it is now, `Idempotent-Replayed: true`, and
/// `tracking_token: null` (the token is shown once: only its hash is kept).
///
/// Rate-limited per client address (the `apply` policy): every submission counts, accepted
/// or not, and is counted before its body is read.
#[utoipa::path(
    tag = "applications",
    params(
        ("id_or_slug" = String, Path, description = "Offer id or slug, as in GET /api/v1/offers/{id_or_slug}"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried submission return the first result"),
    ),
    request_body(content = ApplicationFormParts, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Received; the tracking token is shown once (`null` in a replay to a retry with the same Idempotency-Key)", body = ApplicationCreated,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the replay of an earlier submission with the same Idempotency-Key (then `tracking_token` is null); absent otherwise"))),
        (status = 429, description = "Too many applications sent from this address (`rate_limited`, policy `apply`), or already UPLOAD_CONCURRENCY_PER_ADDRESS of them arriving from it at once (`too_many_uploads`, before the body is read); see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "Unreadable multipart body or Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such public offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Offer closed, deadline passed, or already applied with this email", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "A file or the whole request is too large", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The application took longer than UPLOAD_TIMEOUT_SECONDS to arrive (`upload_timeout`), or arrived slower than UPLOAD_MIN_BYTES_PER_SECOND on average once UPLOAD_RATE_GRACE_SECONDS had passed (`upload_too_slow`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart/form-data", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many applications arriving at once: every UPLOAD_CONCURRENCY slot stayed taken while this one waited, up to 10 s (`busy`); see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, missing consent, or Idempotency-Key reused with another form (`validation_failed`, `idempotency_key_reused`; a `source` that is not a slug is the field code `invalid_source`). A refused file is a field error on `cv` or `cover_letter` with the code `not_a_pdf`, `unreadable_pdf` (also a stream that does not decode), `encrypted_pdf`, `active_pdf_content`, `unsupported_pdf_filter` (an unknown filter, or a predictor on a stream of objects) or `pdf_too_complex` (its streams decode to more than 64 MiB in all, or it has more than 500 streams)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/offers/{id_or_slug}/applications")]
pub async fn apply(
    state: web::Data<AppState>,
    req: HttpRequest,
    id_or_slug: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Before anything is read: a refused client does not get to send megabytes first.
    state.rate_limit(&req, Policy::Apply).await?;
    let id_or_slug = id_or_slug.into_inner();
    let key = idempotency_key(&req)?;
    let limits = state.settings.applications;
    // One address may hold only a few of the slots below, so slow senders from one place
    // cannot take them all; refused at once, before waiting or reading.
    let client = crate::http::client_key(&crate::http::client_address(&req, &state.settings));
    let _address_slot = state
        .uploads_per_address
        .claim(client, limits.upload_concurrency_per_address)?;
    // A bounded number of applications are received at once; the others wait a little, then
    // are told to come back, so memory stays bounded whatever the load.
    let _slot = actix_web::rt::time::timeout(
        Duration::from_secs(limits.upload_timeout_secs.min(10)),
        state.uploads.clone().acquire_owned(),
    )
    .await
    .map_err(|_| {
        ApiError::service_unavailable(
            Code::Busy,
            "Many applications are arriving right now: retry in a moment.",
        )
        .with_retry_after(5)
    })?
    .map_err(ApiError::internal)?;
    let reading = read_submission(
        &req,
        payload,
        limits.max_document_bytes,
        limits.max_request_bytes,
        limits.upload_min_rate,
    );
    let Submission { fields, files } =
        actix_web::rt::time::timeout(Duration::from_secs(limits.upload_timeout_secs), reading)
            .await
            .map_err(|_| {
                ApiError::new(
                    crate::error::ErrorKind::RequestTimeout,
                    Code::UploadTimeout,
                    "The application took too long to arrive; send it again.",
                )
            })??;
    let form = parse_form(&fields).map_err(ApiError::validation)?;
    let now = state.now();
    // Applications are taken through the end of the deadline day in the city's zone.
    let today = state.calendar().today(now);
    let (offer_id, documents) = state
        .db(move |conn| {
            let offer = open_offer_by_key(conn, &id_or_slug, today)?;
            Ok((offer.id, offer.content.application_documents))
        })
        .await?;
    let wants_cover_letter = documents.iter().any(|d| d == "cover_letter");
    // Checking a PDF decodes up to 64 MiB per file: off the workers, on the blocking pool,
    // still under the upload slot held above (which bounds how many checks run at once).
    let has_text = form.cover_letter_text.is_some();
    let docs = web::block(move || check_documents(files, has_text, wants_cover_letter))
        .await
        .map_err(ApiError::internal)??;
    let checked = Checked {
        offer_id,
        key,
        request_hash: request_hash(&fields, &docs),
        form,
        docs,
        today,
    };
    let mail = super::mail::MailContext::from_settings(&state.settings);
    let stored = state
        .db(move |conn| store(conn, checked, &mail, now))
        .await?;
    let status =
        actix_web::http::StatusCode::from_u16(stored.status).map_err(ApiError::internal)?;
    let mut res = HttpResponse::build(status);
    res.insert_header((header::LOCATION, "/api/v1/candidate/application"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if stored.replayed {
        res.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    Ok(res.json(stored.body))
}
