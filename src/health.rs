//! Operations endpoints: liveness and readiness for load balancers and orchestrators.

use crate::{
    db,
    error::{ApiError, Problem},
    state::AppState,
};
use actix_web::{get, http::header, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready);
}

fn ok_schema() -> utoipa::openapi::Object {
    crate::validation::string_enum_schema(&["ok"], false, "Always `ok`.")
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    #[schema(schema_with = ok_schema)]
    pub status: &'static str,
}

/// The process is up (it does not look at the database).
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Alive", body = HealthResponse))
)]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(HealthResponse { status: "ok" })
}

/// The service can answer requests: the database is reachable and fully migrated.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = HealthResponse),
        (status = 503, description = "Database unreachable or migrations pending", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // Started before its database: not ready until this instance's migrator is done, even
    // when another instance has already migrated (API requests are refused until then).
    if !state.schema.is_ready() {
        return Err(crate::availability::waiting_for_database());
    }
    let current = state
        .db(|conn| {
            db::migrations_current(conn).map_err(|e| {
                log::warn!("readiness: cannot read migrations: {e}");
                ApiError::database_unavailable("The database is unreachable.")
            })
        })
        .await?;
    if !current {
        return Err(ApiError::service_unavailable(
            "migrations_pending",
            "The database schema is older than this server: run `passerelle migrate`.",
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(HealthResponse { status: "ok" }))
}
