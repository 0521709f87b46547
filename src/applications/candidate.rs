//! `/api/v1/candidate/application`: the candidate, authenticated by the tracking token they
//! got when applying, sees their application, withdraws it, exports or erases everything.

use super::{
    domain::ApplicationStatus,
    model::{self, Actor, Application},
    views::{ApplicationExport, CandidateApplicationView, OfferRef},
};
use crate::db::types::Json;
use crate::{
    audit,
    auth::bearer_token,
    error::{ApiError, Code, Problem},
    offers::model as offers,
    ratelimit::Policy,
    state::AppState,
};
use actix_web::{
    delete, dev::Payload, get, http::header, patch, post, web, FromRequest, HttpRequest,
    HttpResponse,
};
use diesel::{Connection, PgConnection};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

/// The application whose tracking token the request carries.
pub struct CandidateAuth {
    pub application_id: Uuid,
}

impl FromRequest for CandidateAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("AppState is not registered"))?;
            let token = token.filter(|t| t.starts_with("pct_")).ok_or_else(|| {
                ApiError::unauthorized(
                    Code::Unauthenticated,
                    "Send the tracking token you received when applying (Authorization: Bearer).",
                )
            })?;
            let hash = crate::http::token_hash(&token);
            let application = state
                .db(move |conn| Ok(model::find_by_token(conn, &hash)?))
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        Code::InvalidToken,
                        "This tracking token is unknown or its application was erased.",
                    )
                })?;
            Ok(CandidateAuth {
                application_id: application.id,
            })
        })
    }
}

fn offer_ref(conn: &mut PgConnection, offer_id: Uuid) -> Result<OfferRef, ApiError> {
    let offer = offers::find(conn, offer_id)?
        .ok_or_else(|| ApiError::internal(format!("offer {offer_id} missing")))?;
    Ok(OfferRef {
        id: offer.id,
        slug: offer.slug,
        title: offer.content.title,
    })
}

fn view(conn: &mut PgConnection, a: &Application) -> Result<CandidateApplicationView, ApiError> {
    let offer = offer_ref(conn, a.offer_id)?;
    let docs = model::documents(conn, a.id)?;
    let events = model::history(conn, a.id)?;
    Ok(CandidateApplicationView::new(a, offer, &docs, &events))
}

fn private(res: &mut actix_web::HttpResponseBuilder) -> &mut actix_web::HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
}

/// My application: its status, its public history, what I sent.
#[utoipa::path(
    tag = "candidate",
    security(("tracking_token" = [])),
    responses(
        (status = 200, description = "The application", body = CandidateApplicationView),
        (status = 401, description = "No or unknown tracking token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/candidate/application")]
pub async fn get_my_application(
    state: web::Data<AppState>,
    me: CandidateAuth,
) -> Result<HttpResponse, ApiError> {
    let id = me.application_id;
    let body = state
        .db(move |conn| {
            let a = model::find(conn, id)?.ok_or_else(ApiError::not_found)?;
            view(conn, &a)
        })
        .await?;
    Ok(private(&mut HttpResponse::Ok()).json(body))
}

/// Fields a candidate may correct (GDPR right to rectification); omitted ones stay.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[schema(format = "email")]
    pub email: Option<String>,
    pub phone: Option<String>,
    pub education_level: Option<String>,
    pub school: Option<String>,
    pub field_of_study: Option<String>,
    #[schema(format = "date")]
    pub available_from: Option<String>,
    #[schema(format = "date")]
    pub available_until: Option<String>,
    pub languages: Option<Vec<super::domain::CandidateLanguage>>,
    pub message: Option<String>,
}

/// The form as it stands, with the corrections over it, checked by the same rules as applying.
fn corrected_form(
    a: &Application,
    c: CorrectionRequest,
) -> Result<super::domain::ApplicationForm, ApiError> {
    let mut fields = std::collections::HashMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            fields.insert(k.to_owned(), v);
        }
    };
    put("first_name", c.first_name.or(a.first_name.clone()));
    put("last_name", c.last_name.or(a.last_name.clone()));
    put("email", c.email.or(a.email.clone()));
    put("phone", c.phone.or(a.phone.clone()));
    put(
        "education_level",
        c.education_level.or(a.education_level.clone()),
    );
    put("school", c.school.or(a.school.clone()));
    put(
        "field_of_study",
        c.field_of_study.or(a.field_of_study.clone()),
    );
    put(
        "available_from",
        c.available_from.or(a.available_from.map(|d| d.to_string())),
    );
    put(
        "available_until",
        c.available_until
            .or(a.available_until.map(|d| d.to_string())),
    );
    put(
        "languages",
        c.languages
            .or(a.languages.clone().map(|l| l.0))
            .map(|l| serde_json::json!(l).to_string()),
    );
    put("message", c.message.or(a.message.clone()));
    put("consent_privacy", Some("true".into()));
    put(
        "privacy_notice_version",
        Some(a.privacy_notice_version.clone()),
    );
    super::domain::parse_form(&fields).map_err(ApiError::validation)
}

/// How long the code mailed to a new address confirms it.
pub const EMAIL_CHANGE_CODE_TTL_HOURS: i64 = 24;

/// Starts a change of address, inside the correction's transaction: the new address gets a
/// code to confirm it, or, when another application to the offer already uses it, a notice
/// that nothing changed. Either way the requester is told the same thing.
fn request_email_change(
    conn: &mut PgConnection,
    a: &Application,
    new_email: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let offer = offers::find(conn, a.offer_id)?
        .ok_or_else(|| ApiError::internal(format!("offer {} missing", a.offer_id)))?;
    let mail = if model::email_taken(conn, a.offer_id, new_email, a.id)? {
        model::forget_email_change(conn, a.id)?;
        super::mail::email_change_refused(a, &offer, new_email)
    } else {
        let code = crate::http::opaque_token("pce_");
        let expires_at = now + chrono::Duration::hours(EMAIL_CHANGE_CODE_TTL_HOURS);
        model::request_email_change(
            conn,
            &model::EmailChange {
                application_id: a.id,
                new_email: new_email.to_owned(),
                code_hash: crate::http::token_hash(&code),
                requested_at: now,
                expires_at,
            },
        )?;
        super::mail::email_change_code(a, &offer, new_email, &code, expires_at)
    };
    super::mail::queue(conn, mail, now)?;
    audit::Audit::candidate()
        .did("application.email_change_requested")
        .on("application", a.id)
        .record(conn, now)?;
    Ok(())
}

/// Correct my application's fields. Files cannot be replaced: withdraw and apply again.
///
/// A new `email` is not used until it is confirmed: the answer is then 202 (the other
/// corrections are made, the address is still the old one), a code valid 24 hours is mailed
/// to the new address, and `POST /api/v1/candidate/application/email/confirm` with that code
/// switches to it. The answer is the same whatever the address, even one another application
/// to the offer uses (its owner is told by mail that nothing changed). Changes of address
/// are rate-limited per client address (the `email_change` policy).
#[utoipa::path(
    tag = "candidate",
    security(("tracking_token" = [])),
    request_body = CorrectionRequest,
    responses(
        (status = 200, description = "Corrected", body = CandidateApplicationView),
        (status = 202, description = "Corrected; a new email waits for the code mailed to it (the application still shows the old one)", body = CandidateApplicationView),
        (status = 401, description = "No or unknown tracking token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/candidate/application")]
pub async fn correct_my_application(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: CandidateAuth,
    body: crate::http::JsonBody<CorrectionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, now, body) = (me.application_id, state.now(), body.take()?);
    if body.email.is_some() {
        state.rate_limit(&req, Policy::EmailChange).await?;
    }
    let (view_body, pending) = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let a = model::lock(conn, id)?.ok_or_else(ApiError::not_found)?;
                let f = corrected_form(&a, body)?;
                let pending = a.email.as_deref() != Some(f.email.as_str());
                if pending {
                    request_email_change(conn, &a, &f.email, now)?;
                }
                let corrected = model::correct(
                    conn,
                    id,
                    &model::Correction {
                        first_name: Some(f.first_name),
                        last_name: Some(f.last_name),
                        // Only once confirmed (`confirm_my_email`).
                        email: a.email.clone(),
                        phone: f.phone,
                        school: Some(f.school),
                        field_of_study: Some(f.field_of_study),
                        education_level: Some(f.education_level),
                        available_from: Some(f.available_from),
                        available_until: Some(f.available_until),
                        languages: Some(Json(f.languages)),
                        message: f.message,
                        last_contact_at: now,
                        updated_at: now,
                    },
                )?;
                audit::Audit::candidate()
                    .did("application.corrected_by_candidate")
                    .on("application", id)
                    .record(conn, now)?;
                Ok((view(conn, &corrected)?, pending))
            })
        })
        .await?;
    let mut res = if pending {
        HttpResponse::Accepted()
    } else {
        HttpResponse::Ok()
    };
    Ok(private(&mut res).json(view_body))
}

/// The code mailed to the new address.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailConfirmation {
    #[schema(example = "pce_Zk3...")]
    pub code: String,
}

/// Why a confirmation changed nothing, told to the requester as one answer.
fn email_not_changed() -> ApiError {
    ApiError::new(
        crate::error::ErrorKind::Unprocessable,
        Code::EmailNotChanged,
        "The email was not changed: the code is wrong, expired or already used, or the address \
         can no longer be used for this application. Ask for a new code by correcting the \
         email again.",
    )
}

enum Confirmed {
    Switched(Box<CandidateApplicationView>),
    NotChanged,
}

/// Switch my application to the address I asked for, with the code mailed to it.
///
/// The code works once, for 24 hours, and only for the application that asked for it (the
/// tracking token). A wrong, expired or used code, or an address that another application to
/// the offer took meanwhile, all get the same 422 `email_not_changed`; an expired code or a
/// taken address also ends the pending change. Rate-limited with the changes of address
/// (policy `email_change`).
#[utoipa::path(
    tag = "candidate",
    security(("tracking_token" = [])),
    request_body = EmailConfirmation,
    responses(
        (status = 200, description = "The application now uses the new email", body = CandidateApplicationView),
        (status = 400, description = "Unreadable JSON body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown tracking token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nothing changed (`email_not_changed`), or a body that is not `{\"code\"}`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/candidate/application/email/confirm")]
pub async fn confirm_my_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    me: CandidateAuth,
    body: crate::http::JsonBody<EmailConfirmation>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limit(&req, Policy::EmailChange).await?;
    let (id, now) = (me.application_id, state.now());
    let code_hash = crate::http::token_hash(body.take()?.code.trim());
    let confirmed = state
        .db(move |conn| {
            conn.transaction(|conn| {
                model::lock(conn, id)?.ok_or_else(ApiError::not_found)?;
                let Some(change) = model::lock_email_change(conn, id, &code_hash)? else {
                    return Ok(Confirmed::NotChanged);
                };
                // Used, expired or refused: the code never works again.
                model::forget_email_change(conn, id)?;
                if change.expires_at <= now {
                    return Ok(Confirmed::NotChanged);
                }
                // A savepoint: a unique violation must not abort the forgetting above.
                let switched =
                    conn.transaction(|conn| model::set_email(conn, id, &change.new_email, now));
                let switched = match switched {
                    Ok(switched) => switched,
                    Err(e) if model::is_duplicate(&e) => return Ok(Confirmed::NotChanged),
                    Err(e) => return Err(e.into()),
                };
                audit::Audit::candidate()
                    .did("application.email_changed_by_candidate")
                    .on("application", id)
                    .record(conn, now)?;
                Ok(Confirmed::Switched(Box::new(view(conn, &switched)?)))
            })
        })
        .await?;
    match confirmed {
        Confirmed::Switched(body) => {
            log::info!("application {id}: the candidate confirmed a new email");
            Ok(private(&mut HttpResponse::Ok()).json(body))
        }
        Confirmed::NotChanged => Err(email_not_changed()),
    }
}

/// Withdraw my application. Final: it can no longer move.
#[utoipa::path(
    tag = "candidate",
    security(("tracking_token" = [])),
    responses(
        (status = 200, description = "Withdrawn", body = CandidateApplicationView),
        (status = 401, description = "No or unknown tracking token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided or withdrawn", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/candidate/application/withdraw")]
pub async fn withdraw_my_application(
    state: web::Data<AppState>,
    me: CandidateAuth,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (me.application_id, state.now());
    let body = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let a = model::lock(conn, id)?.ok_or_else(ApiError::not_found)?;
                if a.status.is_final() {
                    return Err(ApiError::conflict(
                        Code::ApplicationFinal,
                        format!("The application is already {}.", a.status.as_str()),
                    ));
                }
                let moved = model::set_status(conn, id, ApplicationStatus::Withdrawn, None, now)?;
                model::record_event(
                    conn,
                    id,
                    now,
                    Actor::Candidate,
                    Some(a.status),
                    ApplicationStatus::Withdrawn,
                    None,
                )?;
                view(conn, &moved)
            })
        })
        .await?;
    log::info!("application {id} withdrawn by its candidate");
    Ok(private(&mut HttpResponse::Ok()).json(body))
}

/// Download everything held about my application: my fields, my documents, the history.
#[utoipa::path(
    tag = "candidate",
    security(("tracking_token" = [])),
    responses(
        (status = 200, description = "Everything held, as one JSON document", body = ApplicationExport),
        (status = 401, description = "No or unknown tracking token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/candidate/application/export")]
pub async fn export_my_application(
    state: web::Data<AppState>,
    me: CandidateAuth,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (me.application_id, state.now());
    let export = state
        .db(move |conn| {
            let a = model::find(conn, id)?.ok_or_else(ApiError::not_found)?;
            let offer = offer_ref(conn, a.offer_id)?;
            let docs = model::documents_with_content(conn, id)?;
            let events = model::history(conn, id)?;
            let reviews = crate::reviews::model::reviews_of(conn, id)?;
            Ok(ApplicationExport::new(
                now, &a, offer, &docs, &events, &reviews,
            ))
        })
        .await?;
    Ok(private(&mut HttpResponse::Ok())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"candidature-{id}.json\""),
        ))
        .json(export))
}

/// Erase my application now: documents and personal data are deleted at once; only an
/// anonymous statistical trace remains. The tracking token stops working.
#[utoipa::path(
    tag = "candidate",
    security(("tracking_token" = [])),
    responses(
        (status = 204, description = "Erased"),
        (status = 401, description = "No or unknown tracking token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/candidate/application")]
pub async fn erase_my_application(
    state: web::Data<AppState>,
    me: CandidateAuth,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (me.application_id, state.now());
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                model::erase(conn, id, now)?;
                audit::Audit::candidate()
                    .did("application.erased_by_candidate")
                    .on("application", id)
                    .record(conn, now)?;
                Ok(())
            })
        })
        .await?;
    log::info!("application {id} erased at its candidate's request");
    Ok(HttpResponse::NoContent().finish())
}
