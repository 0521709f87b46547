//! `/api/v1/candidate/application`: the candidate, authenticated by the tracking token they
//! got when applying, sees their application, withdraws it, exports or erases everything.

use super::{
    domain::ApplicationStatus,
    model::{self, Actor, Application},
    views::{ApplicationExport, CandidateApplicationView, OfferRef},
};
use crate::{
    audit,
    auth::bearer_token,
    error::{ApiError, Problem},
    offers::model as offers,
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
                    "unauthenticated",
                    "Send the tracking token you received when applying (Authorization: Bearer).",
                )
            })?;
            let hash = crate::http::token_hash(&token);
            let application = state
                .db(move |conn| Ok(model::find_by_token(conn, &hash)?))
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized(
                        "invalid_token",
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
        title: offer.title,
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
            .map(|l| serde_json::json!(l))
            .or(a.languages.clone())
            .map(|l| l.to_string()),
    );
    put("message", c.message.or(a.message.clone()));
    put("consent_privacy", Some("true".into()));
    put(
        "privacy_notice_version",
        Some(a.privacy_notice_version.clone()),
    );
    super::domain::parse_form(&fields).map_err(ApiError::validation)
}

/// Correct my application's fields. Files cannot be replaced: withdraw and apply again.
#[utoipa::path(
    tag = "candidate",
    security(("tracking_token" = [])),
    request_body = CorrectionRequest,
    responses(
        (status = 200, description = "Corrected", body = CandidateApplicationView),
        (status = 401, description = "No or unknown tracking token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another application to this offer uses that email", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/candidate/application")]
pub async fn correct_my_application(
    state: web::Data<AppState>,
    me: CandidateAuth,
    body: web::Json<CorrectionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, now, body) = (me.application_id, state.now(), body.into_inner());
    let view_body = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let a = model::lock(conn, id)?.ok_or_else(ApiError::not_found)?;
                let f = corrected_form(&a, body)?;
                let corrected = model::correct(
                    conn,
                    id,
                    &model::Correction {
                        first_name: Some(f.first_name),
                        last_name: Some(f.last_name),
                        email: Some(f.email),
                        phone: f.phone,
                        school: Some(f.school),
                        field_of_study: Some(f.field_of_study),
                        education_level: Some(f.education_level),
                        available_from: Some(f.available_from),
                        available_until: Some(f.available_until),
                        languages: Some(serde_json::json!(f.languages)),
                        message: f.message,
                        last_contact_at: now,
                        updated_at: now,
                    },
                )
                .map_err(|e| {
                    if model::is_duplicate(&e) {
                        ApiError::conflict(
                            "already_applied",
                            "Another application to this offer uses this email.",
                        )
                    } else {
                        e.into()
                    }
                })?;
                audit::record(
                    conn,
                    now,
                    audit::Entry {
                        actor_id: None,
                        action: "application.corrected_by_candidate",
                        object_type: "application",
                        object_id: id.to_string(),
                        details: serde_json::json!({}),
                    },
                )?;
                view(conn, &corrected)
            })
        })
        .await?;
    Ok(private(&mut HttpResponse::Ok()).json(view_body))
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
                if a.status().is_final() {
                    return Err(ApiError::conflict(
                        "application_final",
                        format!("The application is already {}.", a.status().as_str()),
                    ));
                }
                let moved = model::set_status(conn, id, ApplicationStatus::Withdrawn, None, now)?;
                model::record_event(
                    conn,
                    id,
                    now,
                    Actor::Candidate,
                    Some(&a.status),
                    "withdrawn",
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
                audit::record(
                    conn,
                    now,
                    audit::Entry {
                        actor_id: None,
                        action: "application.erased_by_candidate",
                        object_type: "application",
                        object_id: id.to_string(),
                        details: serde_json::json!({}),
                    },
                )?;
                Ok(())
            })
        })
        .await?;
    log::info!("application {id} erased at its candidate's request");
    Ok(HttpResponse::NoContent().finish())
}
