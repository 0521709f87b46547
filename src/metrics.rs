//! The Prometheus metrics (`GET /metrics`, served by `health::metrics`): requests by route and status, latency
//! histograms, the database pool, and the job queue. Counters are per instance, as
//! Prometheus expects (it scrapes each instance); the job queue figures come from the
//! database and are the same on every instance.
//!
//! Every label takes values from a fixed set, so clients cannot grow the series: the method
//! is one of [`METHODS`] or `other`, the route is a pattern of the application or
//! `unmatched`, the status is 100 to 599 or `other`. Who may read the metrics is
//! `METRICS_ACCESS` ([`crate::settings::MetricsAccess`]), decided on the socket peer.

use crate::{
    error::{ApiError, Code, ErrorKind},
    settings::MetricsAccess,
};
use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{header, Method},
    middleware::Next,
    HttpRequest,
};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
    time::Instant,
};

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

/// The methods counted under their own name; any other is `other`.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The `method` label: one of [`METHODS`], else `other` (clients may send any token).
pub fn method_label(method: &Method) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// The `status` label: a status code from 100 to 599, else `None` (`other`).
fn status_label(status: u16) -> Option<u16> {
    (100..=599).contains(&status).then_some(status)
}

#[derive(Default)]
struct Inner {
    /// (method label, route pattern, status label) -> requests
    requests: BTreeMap<(&'static str, String, Option<u16>), u64>,
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
    fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.requests
            .entry((method, route.to_owned(), status_label(status)))
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

    pub fn render(&self, out: &mut String) {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        out.push_str(
            "# HELP passerelle_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE passerelle_http_requests_total counter\n");
        for ((method, route, status), n) in &m.requests {
            let status = status.map_or_else(|| "other".to_owned(), |s| s.to_string());
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
/// concrete path, which could hold an id or a slug; `unmatched` for every path that is no
/// route) and its method label ([`method_label`]).
pub async fn middleware(
    metrics: Arc<Metrics>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    metrics.observe(
        method,
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    Ok(res)
}

/// Whether `req` may read the metrics, per `METRICS_ACCESS`. Decided on the socket peer,
/// never a forwarding header: behind a proxy every client would look like the proxy, and
/// the header is the client's to write. For the same reason a request that carries a
/// forwarding header (`Forwarded`, `X-Forwarded-For`, `X-Real-IP`) came through a proxy and
/// is refused in `networks` mode: a proxy on a listed network (or on the same host) would
/// otherwise make the metrics public. A scraper reads them directly.
pub fn check_access(access: &MetricsAccess, req: &HttpRequest) -> Result<(), ApiError> {
    match access {
        MetricsAccess::Public => Ok(()),
        MetricsAccess::Networks(networks) => {
            let proxied = ["forwarded", "x-forwarded-for", "x-real-ip"]
                .iter()
                .any(|h| req.headers().contains_key(*h));
            let admitted = !proxied
                && req
                    .peer_addr()
                    .is_some_and(|peer| networks.iter().any(|n| n.contains(peer.ip())));
            if admitted {
                Ok(())
            } else {
                Err(ApiError::new(
                    ErrorKind::Forbidden,
                    Code::MetricsForbidden,
                    "Metrics may be read only directly (not through a proxy) from the networks in METRICS_ALLOW_NETWORKS.",
                ))
            }
        }
        MetricsAccess::Token { sha256 } => {
            let presented = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim());
            match presented {
                Some(token)
                    if digests_equal(&Sha256::digest(token.as_bytes()), sha256.expose_secret()) =>
                {
                    Ok(())
                }
                _ => Err(ApiError::unauthorized(
                    Code::MetricsUnauthenticated,
                    "Metrics need Authorization: Bearer with the METRICS_TOKEN.",
                )),
            }
        }
    }
}

/// Compares two digests in constant time (no early exit on the first differing byte).
fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROPFIND").unwrap()),
            "other"
        );
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "other");
        assert_eq!(status_label(100), Some(100));
        assert_eq!(status_label(599), Some(599));
        assert_eq!(status_label(600), None);
        assert_eq!(status_label(99), None);
    }

    #[test]
    fn statuses_out_of_range_share_one_series() {
        let m = Metrics::default();
        for status in [600, 799, 999] {
            m.observe("GET", "unmatched", status, 0.001);
        }
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains(
                r#"passerelle_http_requests_total{method="GET",route="unmatched",status="other"} 3"#
            ),
            "{out}"
        );
    }

    #[test]
    fn digests_compare_whole() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(digests_equal(&a, &b));
        b[31] ^= 1;
        assert!(!digests_equal(&a, &b));
    }
}
