//! What the service does when it cannot answer normally: it starts before its database is
//! reachable (API requests get a fast 503 until the schema is migrated), and every request
//! has deadlines: for its body (408), for its database statements (503), for a pooled
//! connection (503, `DATABASE_TIMEOUT_SECONDS`); bodies are bounded per route (413).

use crate::{db, error::ApiError};
use actix_web::error::PayloadError;
use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web, HttpMessage, ResponseError,
};
use diesel::PgConnection;
use futures_util::{Future, Stream};
use std::{
    io,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

/// Whether the database schema is known to be current. The server opens before it is (the
/// migrator thread keeps trying), so that a database outage at start does not crash-loop it.
#[derive(Debug)]
pub struct SchemaGate {
    ready: AtomicBool,
    changed: tokio::sync::Notify,
}

impl SchemaGate {
    pub fn new(ready: bool) -> Self {
        SchemaGate {
            ready: AtomicBool::new(ready),
            changed: tokio::sync::Notify::new(),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
        self.changed.notify_waiters();
    }

    /// Returns once the schema is current.
    pub async fn wait_ready(&self) {
        loop {
            let notified = self.changed.notified();
            if self.is_ready() {
                return;
            }
            notified.await;
        }
    }
}

/// Connects (creating the database when missing) and migrates, retrying with a capped
/// backoff until it succeeds, on a thread of its own; runs `after_migrations` (the
/// features' own repairs, given by the caller) in the same attempt; then opens the gate.
pub fn spawn_migrator(
    url: String,
    gate: Arc<SchemaGate>,
    after_migrations: fn(&mut PgConnection) -> diesel::QueryResult<()>,
) {
    std::thread::spawn(move || {
        let mut wait = Duration::from_millis(500);
        let mut attempts = 0u32;
        loop {
            let result = db::connect_creating_database(&url).and_then(|mut conn| {
                // The advisory lock makes another instance migrating at the same time wait.
                let applied = db::run_migrations(&mut conn)?;
                after_migrations(&mut conn)?;
                Ok(applied)
            });
            match result {
                Ok(applied) => {
                    log::info!("{} migration(s) applied; serving", applied.len());
                    gate.set_ready();
                    return;
                }
                Err(e) => {
                    attempts += 1;
                    // The first failure, then every tenth: an outage is not a log flood.
                    if attempts == 1 || attempts.is_multiple_of(10) {
                        log::warn!(
                            "database not ready ({e}); API requests get 503 until it is; \
                             retrying (attempt {attempts})"
                        );
                    }
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
}

/// The answer while this instance waits for its database (API requests and readiness).
pub fn waiting_for_database() -> ApiError {
    ApiError::database_unavailable("The service is waiting for its database; retry shortly.")
        .with_retry_after(5)
}

/// API requests get 503 while the schema is not known to be current.
pub async fn schema_gate(
    gate: Arc<SchemaGate>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let waiting = req.path().starts_with("/api/") && !gate.is_ready();
    if waiting {
        return Ok(req
            .into_response(waiting_for_database().error_response())
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// A request body that must arrive before a deadline: past it, reading fails with
/// `TimedOut` (`error::is_body_timeout`), which the body extractors answer with 408
/// (`error::json_error`).
struct DeadlineBody {
    inner: Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// The route's body limit, and what has arrived so far (bodies without a length).
    limit: usize,
    received: usize,
}

impl Stream for DeadlineBody {
    type Item = Result<web::Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            if let Some(Ok(chunk)) = &item {
                self.received = self.received.saturating_add(chunk.len());
                if self.received > self.limit {
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
            }
            return Poll::Ready(item);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "request body deadline",
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Whether the request says a body follows (a length above 0, or chunked).
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

fn is_upload(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
}

/// Bodies of sign-in and token routes are a few hundred bytes: anything near the general
/// JSON limit there is not a client of ours.
pub const AUTH_BODY_LIMIT: usize = 8 * 1024;

/// The most a route's (non-upload) body may hold.
fn body_limit(path: &str, json_limit: usize) -> usize {
    if path.starts_with("/api/v1/auth/") {
        AUTH_BODY_LIMIT.min(json_limit)
    } else {
        json_limit
    }
}

/// What [`deadline`] enforces: `REQUEST_TIMEOUT_SECONDS` and `JSON_BODY_LIMIT`.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    pub deadline: Duration,
    pub json: usize,
}

/// A request body must arrive within `REQUEST_TIMEOUT_SECONDS` of its headers and stay
/// within its route's limit (413 from the declared length, before reading; uploads of
/// applications have their own deadline and caps). The handler's database work is bounded
/// by the same figure as `statement_timeout` (see `db::pool_for`), and waiting for a
/// connection by `DATABASE_TIMEOUT_SECONDS`.
pub async fn deadline(
    limits: BodyLimits,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // Most requests (every GET) carry no body: nothing to guard, no timer to arm.
    if !has_body(&req) || is_upload(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let limit = body_limit(req.path(), limits.json);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        let mut res =
            ApiError::payload_too_large("The request body is larger than this endpoint accepts.")
                .error_response();
        // The unread body stays on the connection: close it.
        res.head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
        return Ok(req.into_response(res).map_into_right_body());
    }
    let inner = req.take_payload();
    req.set_payload(Payload::Stream {
        payload: Box::pin(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(limits.deadline)),
            limit,
            received: 0,
        }),
    });
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    #[test]
    fn auth_routes_take_small_bodies_only() {
        assert_eq!(super::body_limit("/api/v1/auth/login", 65536), 8192);
        assert_eq!(super::body_limit("/api/v1/staff/offers", 65536), 65536);
        assert_eq!(super::body_limit("/api/v1/auth/login", 4096), 4096);
    }
}
