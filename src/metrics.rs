//! `GET /metrics` in the Prometheus text format: requests by route and status, latency
//! histograms, the database pool, and the job queue. Counters are per instance, as
//! Prometheus expects (it scrapes each instance); the job queue figures come from the
//! database and are the same on every instance.

use crate::{error::ApiError, state::AppState};
use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    get,
    middleware::Next,
    web, HttpResponse,
};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use std::{collections::BTreeMap, fmt::Write, sync::Mutex, time::Instant};
use utoipa_actix_web::service_config::ServiceConfig;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(metrics);
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    /// (method, route pattern, status) -> requests
    requests: BTreeMap<(String, String, u16), u64>,
    /// route pattern -> latency
    latency: BTreeMap<String, Histogram>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    /// Units of database work waiting for a pooled connection right now.
    pub pool_waiting: std::sync::atomic::AtomicUsize,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let h = m.latency.entry(route.to_owned()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    fn render(&self, out: &mut String) {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str(
            "# HELP passerelle_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE passerelle_http_requests_total counter\n");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "passerelle_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP passerelle_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE passerelle_http_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            let route = escape(route);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "passerelle_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(out, "passerelle_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(
                out,
                "passerelle_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "passerelle_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Counts every request under its route pattern (`/api/v1/offers/{id_or_slug}`, never the
/// concrete path, which could hold an id or a slug).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        state.metrics.observe(
            &method,
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
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

/// Prometheus metrics of this instance.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format; without the job queue gauges while the database is unreachable", content_type = "text/plain", body = String),
    )
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut out = String::new();
    state.metrics.render(&mut out);
    let pool = state.pool.state();
    let _ = writeln!(
        out,
        "# HELP passerelle_db_pool_connections Database connections of this instance."
    );
    let _ = writeln!(out, "# TYPE passerelle_db_pool_connections gauge");
    let _ = writeln!(
        out,
        "passerelle_db_pool_connections{{state=\"idle\"}} {}",
        pool.idle_connections
    );
    let _ = writeln!(
        out,
        "passerelle_db_pool_connections{{state=\"in_use\"}} {}",
        pool.connections.saturating_sub(pool.idle_connections)
    );
    let _ = writeln!(
        out,
        "# HELP passerelle_db_pool_waiting Requests and jobs waiting for a database connection."
    );
    let _ = writeln!(out, "# TYPE passerelle_db_pool_waiting gauge");
    let _ = writeln!(
        out,
        "passerelle_db_pool_waiting {}",
        state
            .metrics
            .pool_waiting
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "passerelle_db_pool_max_connections {}",
        state.settings.pool_size
    );
    let _ = writeln!(
        out,
        "passerelle_upload_slots_free {}",
        state.uploads.available_permits()
    );
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
        let _ = writeln!(out, "# HELP passerelle_jobs Jobs in the queue: due now, failed and waiting to retry, out of attempts.");
        let _ = writeln!(out, "# TYPE passerelle_jobs gauge");
        let _ = writeln!(out, "passerelle_jobs{{state=\"due\"}} {}", depth.due);
        let _ = writeln!(
            out,
            "passerelle_jobs{{state=\"retrying\"}} {}",
            depth.retrying
        );
        let _ = writeln!(out, "passerelle_jobs{{state=\"dead\"}} {}", depth.dead);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(out))
}
