//! `/api/v1/candidate/application`: the candidate, authenticated by the tracking token they
//! got when applying, sees their application, withdraws it, exports or erases everything.

use super::{
    apply::hash_tracking_token,
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
    delete, dev::Payload, get, http::header, post, web, FromRequest, HttpRequest, HttpResponse,
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
            let hash = hash_tracking_token(&token);
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
