//! Operations endpoints: liveness and readiness for load balancers and orchestrators, and
//! the Prometheus metrics (what they count lives in `metrics`).

use crate::metrics::check_access;
use crate::{
    db,
    error::{ApiError, Code, Problem},
    state::AppState,
};
use actix_web::{get, http::header, web, HttpRequest, HttpResponse};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde::Serialize;
use std::fmt::Write;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready).service(metrics);
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
            Code::MigrationsPending,
            "The database schema is older than this server: run `passerelle migrate`.",
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(HealthResponse { status: "ok" }))
}

#[derive(QueryableByName)]
struct QueueDepth {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    due: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    retrying: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    dead: i64,
}

/// A metric family: name, kind, help, and its samples by label set.
type Family<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, u64)]);

/// One metric family in the Prometheus text format: its HELP and TYPE lines, then a sample
/// per label set (`""` for none, else `{state="idle"}`).
fn write_family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// Prometheus metrics of this instance.
///
/// Who may read them is `METRICS_ACCESS`: by default (`networks`) socket peers in
/// `METRICS_ALLOW_NETWORKS` (loopback and the private ranges), else a bearer of
/// `METRICS_TOKEN` (`token`) or anyone (`public`).
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format; without the job queue gauges while the database is unreachable", content_type = "text/plain", body = String),
        (status = 401, description = "METRICS_ACCESS=token and no `Authorization: Bearer` with the METRICS_TOKEN (`metrics_unauthenticated`), with `WWW-Authenticate: Bearer`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "METRICS_ACCESS=networks (the default) and the socket peer is outside METRICS_ALLOW_NETWORKS, or the request came through a proxy (it carries Forwarded, X-Forwarded-For or X-Real-IP) (`metrics_forbidden`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_access(&state.settings.metrics.access, &req)?;
    let mut out = String::new();
    state.metrics.render(&mut out);
    state.public.render_metrics(&mut out);
    let pool = state.pool.state();
    let limiter = &state.limiter;
    let relaxed = std::sync::atomic::Ordering::Relaxed;
    let families: [Family; 7] = [
        (
            "passerelle_db_pool_connections",
            "gauge",
            "Database connections of this instance.",
            &[
                ("{state=\"idle\"}", pool.idle_connections.into()),
                (
                    "{state=\"in_use\"}",
                    pool.connections
                        .saturating_sub(pool.idle_connections)
                        .into(),
                ),
            ],
        ),
        (
            "passerelle_db_pool_waiting",
            "gauge",
            "Units of request work queued (first come, first served) for a database connection.",
            &[("", state.metrics.pool_waiting.load(relaxed) as u64)],
        ),
        (
            "passerelle_db_pool_max_connections",
            "gauge",
            "DATABASE_POOL_SIZE: the most connections this instance opens.",
            &[("", state.settings.pool_size.into())],
        ),
        (
            "passerelle_upload_slots_free",
            "gauge",
            "Applications that could start being received now (UPLOAD_CONCURRENCY).",
            &[("", state.uploads.available_permits() as u64)],
        ),
        (
            "passerelle_ratelimit_tracked_clients",
            "gauge",
            "Clients of the reads and search rate limits counted in this instance's memory.",
            &[("", u64::try_from(limiter.tracked()).unwrap_or(u64::MAX))],
        ),
        (
            "passerelle_ratelimit_unsent_hits",
            "gauge",
            "Hits of the reads and search rate limits not sent to the database yet.",
            &[("", limiter.unsent())],
        ),
        (
            "passerelle_ratelimit_flush_failures_total",
            "counter",
            "Batches of rate-limit hits the database refused (kept and sent later).",
            &[("", limiter.failures())],
        ),
    ];
    for (name, kind, help, samples) in families {
        write_family(&mut out, name, kind, help, samples);
    }
    // The queue lives in the database: while it is unreachable (or not migrated yet) the
    // queue gauges are left out, and the instance's own figures are still served — an
    // outage is when they matter most.
    let depth = if state.schema.is_ready() {
        state
            .db(|conn| {
                Ok(sql_query(
                    "SELECT count(*) FILTER (WHERE attempts < max_attempts AND run_at <= now()) AS due, \
                            count(*) FILTER (WHERE attempts > 0 AND attempts < max_attempts) AS retrying, \
                            count(*) FILTER (WHERE attempts >= max_attempts) AS dead FROM jobs",
                )
                .get_result::<QueueDepth>(conn)?)
            })
            .await
            .ok()
    } else {
        None
    };
    if let Some(depth) = depth {
        write_family(
            &mut out,
            "passerelle_jobs",
            "gauge",
            "Jobs in the queue: due now, failed and waiting to retry, out of attempts.",
            &[
                ("{state=\"due\"}", depth.due.try_into().unwrap_or(0)),
                (
                    "{state=\"retrying\"}",
                    depth.retrying.try_into().unwrap_or(0),
                ),
                ("{state=\"dead\"}", depth.dead.try_into().unwrap_or(0)),
            ],
        );
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(out))
}
