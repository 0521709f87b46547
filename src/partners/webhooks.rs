//! Signed webhooks: admins register a partner's endpoints
//! (`/api/v1/staff/partners/{id}/webhooks`), offer events are recorded in the transaction of
//! the change that causes them and delivered by the job queue, signed with HMAC-SHA256 over
//! `timestamp.body`, retried with backoff for more than 24 hours, after which the endpoint is
//! disabled with the reason shown to admins. Each delivery is logged per partner.

use super::{
    model::{self, DeliveryStatus, NewDelivery, WebhookDelivery, WebhookEndpoint},
    outbound::{self, OutboundError},
};
use crate::http::JsonBody;
use crate::{
    audit,
    auth::{AuthUser, Role},
    db::pagination::Position,
    error::{ApiError, Problem},
    http::pages::{Page, PageParams},
    jobs::{self, Job, JobError},
    offers::{model::Offer, views::OfferResponse},
    state::AppState,
};
use actix_web::{delete, get, http::header, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::{Connection, PgConnection};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;

/// The job kind that delivers one [`WebhookDelivery`].
pub const WEBHOOK: &str = "webhook";

/// Attempts of a delivery: with the queue's backoff (30 s × 2^n, at most an hour), the last
/// one comes a little over 24 hours after the first (see the test below).
pub const WEBHOOK_MAX_ATTEMPTS: i32 = 30;

pub const EVENT_TYPES: [&str; 4] = [
    "offer.published",
    "offer.updated",
    "offer.closed",
    "offer.archived",
];

pub const SIGNATURE_HEADER: &str = "X-Passerelle-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Passerelle-Timestamp";

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
#[allow(
    clippy::expect_used,
    reason = "HMAC takes keys of any length: this cannot fail"
)]
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any size");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn new_secret() -> String {
    crate::http::opaque_token("whsec_")
}

// --- events -----------------------------------------------------------------------------

/// The body partners receive.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEvent {
    /// The event: the same for every endpoint it goes to, and across retries.
    pub id: Uuid,
    /// `offer.published`, `offer.updated`, `offer.closed` or `offer.archived`.
    #[serde(rename = "type")]
    #[schema(example = "offer.published")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub data: WebhookEventData,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEventData {
    pub offer_id: Uuid,
    /// The public offer as it was at the event; absent for `offer.archived`, which left the
    /// public site.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<Box<OfferResponse>>,
}

/// Records `event_type` about `offer` for every live endpoint that subscribed to it, and
/// enqueues their deliveries. Call it in the transaction of the change. `today` is the
/// city's date at `now` (`AppState::today`, `CityCalendar::today`): the offer's
/// `accepting_applications` in the payload is counted in `CITY_TIME_ZONE`.
pub fn record_offer_event(
    conn: &mut PgConnection,
    event_type: &str,
    offer: &Offer,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
) -> Result<usize, ApiError> {
    let endpoints: Vec<WebhookEndpoint> = model::live_endpoints(conn)?
        .into_iter()
        .filter(|e| e.events().iter().any(|t| t == event_type))
        .collect();
    if endpoints.is_empty() {
        return Ok(0);
    }
    let event = WebhookEvent {
        id: Uuid::new_v4(),
        event_type: event_type.to_owned(),
        created_at: now,
        data: WebhookEventData {
            offer_id: offer.id,
            offer: (event_type != "offer.archived")
                .then(|| Box::new(OfferResponse::new(offer, today))),
        },
    };
    let body = serde_json::to_string(&event).map_err(ApiError::internal)?;
    for endpoint in &endpoints {
        let delivery_id = Uuid::new_v4();
        model::insert_delivery(
            conn,
            &NewDelivery {
                id: delivery_id,
                endpoint_id: endpoint.id,
                partner_id: endpoint.partner_id,
                event_id: event.id,
                event_type,
                offer_id: offer.id,
                body: &body,
                created_at: now,
            },
        )?;
        jobs::enqueue_with_max_attempts(
            conn,
            WEBHOOK,
            &serde_json::json!({ "delivery_id": delivery_id }),
            now,
            WEBHOOK_MAX_ATTEMPTS,
        )?;
    }
    Ok(endpoints.len())
}

// --- delivery (a job) ---------------------------------------------------------------------

#[derive(Deserialize)]
struct DeliveryJob {
    delivery_id: Uuid,
}

/// Runs one attempt of a delivery. Blocking: called by the job queue on the blocking pool.
pub fn deliver(state: &AppState, job: &Job) -> Result<(), JobError> {
    let payload: DeliveryJob = serde_json::from_value(job.payload.clone())
        .map_err(|_| JobError::Permanent("the payload is not a webhook delivery".to_owned()))?;
    let db = |e: diesel::result::Error| JobError::Retry(format!("database: {e}"));
    let mut conn = state
        .pool
        .get()
        .map_err(|e| JobError::Retry(format!("database pool: {e}")))?;
    let Some(delivery) = model::find_delivery(&mut conn, payload.delivery_id).map_err(db)? else {
        // Its endpoint was deleted, and the log with it.
        return Ok(());
    };
    if delivery.status != DeliveryStatus::Pending {
        return Ok(());
    }
    let endpoint = model::find_endpoint(&mut conn, delivery.endpoint_id).map_err(db)?;
    let partner = model::find_partner(&mut conn, delivery.partner_id).map_err(db)?;
    let (Some(endpoint), Some(partner)) = (endpoint, partner) else {
        return Ok(());
    };
    if !endpoint.active || !partner.active {
        model::abandon_delivery(
            &mut conn,
            delivery.id,
            "the endpoint or its partner was turned off",
        )
        .map_err(db)?;
        return Ok(());
    }
    // No connection is held while waiting on the partner's server.
    drop(conn);

    let now = state.now();
    let result = send(state, &endpoint, &delivery, now);
    let mut conn = state
        .pool
        .get()
        .map_err(|e| JobError::Retry(format!("database pool: {e}")))?;
    match result {
        Ok(status) => {
            model::record_attempt(
                &mut conn,
                delivery.id,
                DeliveryStatus::Delivered,
                Some(status.into()),
                None,
                now,
            )
            .map_err(db)?;
            Ok(())
        }
        Err((status, error)) => {
            let last = job.attempts >= job.max_attempts;
            model::record_attempt(
                &mut conn,
                delivery.id,
                if last {
                    DeliveryStatus::Failed
                } else {
                    DeliveryStatus::Pending
                },
                status.map(i32::from),
                Some(&error),
                now,
            )
            .map_err(db)?;
            if last {
                disable_endpoint(&mut conn, &endpoint, &delivery, job.attempts, &error, now)
                    .map_err(db)?;
            }
            Err(JobError::Retry(format!(
                "webhook delivery {} to endpoint {}: {error}",
                delivery.id, endpoint.id
            )))
        }
    }
}

/// One signed POST; `Ok(status)` for a 2xx, else the status (if any) and why.
fn send(
    state: &AppState,
    endpoint: &WebhookEndpoint,
    delivery: &WebhookDelivery,
    now: DateTime<Utc>,
) -> Result<u16, (Option<u16>, String)> {
    let policy = &state.settings.partners.webhooks;
    let target = outbound::check_url(&endpoint.url, policy).map_err(|e| (None, e.to_string()))?;
    let timestamp = now.timestamp();
    let body = delivery.body.as_bytes();
    let headers = [
        ("Content-Type", "application/json".to_owned()),
        ("User-Agent", "Passerelle-Webhooks/1".to_owned()),
        ("X-Passerelle-Event", delivery.event_type.clone()),
        ("X-Passerelle-Event-Id", delivery.event_id.to_string()),
        ("X-Passerelle-Delivery", delivery.id.to_string()),
        (TIMESTAMP_HEADER, timestamp.to_string()),
        (
            SIGNATURE_HEADER,
            signature(&endpoint.secret, timestamp, body),
        ),
    ];
    match outbound::post(&target, &headers, body, policy) {
        Ok(a) if (200..300).contains(&a.status) => Ok(a.status),
        Ok(a) if (300..400).contains(&a.status) => Err((
            Some(a.status),
            format!("answered {} (redirects are not followed)", a.status),
        )),
        Ok(a) => Err((Some(a.status), format!("answered {}", a.status))),
        Err(OutboundError::Refused(why)) => Err((None, format!("target refused: {why}"))),
        Err(OutboundError::Failed(why) | OutboundError::Invalid(why)) => Err((None, why)),
    }
}

fn disable_endpoint(
    conn: &mut PgConnection,
    endpoint: &WebhookEndpoint,
    delivery: &WebhookDelivery,
    attempts: i32,
    error: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let since = delivery
        .created_at
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let reason = format!(
        "disabled after {attempts} failed attempts to deliver event {} since {since}; last \
         error: {error}",
        delivery.event_id
    );
    conn.transaction(|conn| {
        model::set_endpoint_active(conn, endpoint.id, false, Some(&reason), now)?;
        audit::Audit::system()
            .did("webhook.disabled")
            .on("webhook_endpoint", endpoint.id)
            .with(serde_json::json!({ "partner_id": endpoint.partner_id, "reason": reason }))
            .record(conn, now)
    })?;
    log::warn!(
        "webhook endpoint {} of partner {} disabled: {reason}",
        endpoint.id,
        endpoint.partner_id
    );
    Ok(())
}

// --- admin routes -------------------------------------------------------------------------

/// A webhook endpoint as admins see it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointResponse {
    pub id: Uuid,
    pub partner_id: Uuid,
    #[schema(example = "https://jobs.example.org/hooks/passerelle")]
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why it was disabled: after a day of failed deliveries, the last error.
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookEndpoint> for WebhookEndpointResponse {
    fn from(e: WebhookEndpoint) -> Self {
        WebhookEndpointResponse {
            events: e.events(),
            id: e.id,
            partner_id: e.partner_id,
            url: e.url,
            active: e.active,
            disabled_at: e.disabled_at,
            disabled_reason: e.disabled_reason,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookResponse {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointResponse,
    /// The HMAC-SHA256 key of `X-Passerelle-Signature`: store it now, it is never shown again.
    #[schema(example = "whsec_3q2-7wEXAMPLEonly")]
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An https URL on a public address.
    #[schema(
        example = "https://jobs.example.org/hooks/passerelle",
        max_length = 2000
    )]
    pub url: String,
    /// Events to receive (default: all of `offer.published`, `offer.updated`,
    /// `offer.closed`, `offer.archived`).
    pub events: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// `true` turns a disabled endpoint back on (new events only); `false` turns it off.
    pub active: bool,
}

/// One delivery of the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub offer_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<WebhookDelivery> for DeliveryResponse {
    fn from(d: WebhookDelivery) -> Self {
        DeliveryResponse {
            id: d.id,
            endpoint_id: d.endpoint_id,
            event_id: d.event_id,
            event_type: d.event_type,
            offer_id: d.offer_id,
            status: d.status,
            attempts: d.attempts,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        }
    }
}

fn parse_events(events: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    let Some(events) = events else {
        return Ok(EVENT_TYPES.iter().map(|e| (*e).to_owned()).collect());
    };
    if events.is_empty() {
        return Err(ApiError::invalid_field(
            "events",
            "required",
            "must name at least one event",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        if !EVENT_TYPES.contains(&e.as_str()) {
            return Err(ApiError::invalid_field(
                &format!("events[{i}]"),
                "invalid_choice",
                "must be one of offer.published, offer.updated, offer.closed, offer.archived",
            ));
        }
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Checks a URL as a delivery would, DNS included, off the request workers.
async fn check_target(state: &AppState, url: String) -> Result<String, ApiError> {
    let policy = state.settings.partners.webhooks;
    let checked = web::block(move || {
        let target = outbound::check_url(&url, &policy)?;
        outbound::resolve(&target, &policy)?;
        Ok::<_, OutboundError>(target.url.to_string())
    })
    .await?;
    checked.map_err(|e| match e {
        OutboundError::Invalid(why) => ApiError::invalid_field("url", "invalid_url", why),
        OutboundError::Refused(why) => ApiError::invalid_field("url", "forbidden_target", why),
        OutboundError::Failed(why) => ApiError::invalid_field("url", "unresolvable_host", why),
    })
}

/// Register a webhook endpoint for a partner (admin); the signing secret is shown once.
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id")),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "Registered; `secret` is shown this once", body = CreatedWebhookResponse),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or forbidden URL, unknown event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/partners/{id}/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
    body: JsonBody<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let body = body.take()?;
    let events = parse_events(body.events)?;
    let url = check_target(&state, body.url).await?;
    let (partner_id, actor, now) = (id.into_inner(), auth.id, state.now());
    let secret = new_secret();
    let stored_secret = secret.clone();
    let endpoint = state
        .db(move |conn| {
            conn.transaction(|conn| {
                model::find_partner(conn, partner_id)?.ok_or_else(ApiError::not_found)?;
                let e =
                    model::insert_endpoint(conn, partner_id, &url, &stored_secret, &events, now)?;
                audit::Audit::staff(actor)
                    .did("webhook.created")
                    .on("webhook_endpoint", e.id)
                    .with(serde_json::json!({ "partner_id": partner_id, "url": e.url }))
                    .record(conn, now)?;
                Ok(e)
            })
        })
        .await?;
    log::info!(
        "webhook endpoint {} of partner {partner_id} registered by {actor}",
        endpoint.id
    );
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedWebhookResponse {
            endpoint: endpoint.into(),
            secret,
        }))
}

/// A partner's webhook endpoints (admin), with why any was disabled.
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id"), PageParams),
    responses(
        (status = 200, description = "A page of the endpoints, oldest first", body = Page<WebhookEndpointResponse>,
            headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/partners/{id}/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let id = id.into_inner();
    let (limit, after) = (page.limit()?, page.cursor::<Position>()?);
    let (rows, total) = state
        .db(move |conn| {
            model::find_partner(conn, id)?.ok_or_else(ApiError::not_found)?;
            Ok(model::endpoints_of(conn, id, after, limit)?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        limit,
        total,
        |e| Position {
            at: e.created_at,
            id: e.id,
        },
        WebhookEndpointResponse::from,
    );
    Ok(page.respond(&req, &state.settings.public_base_url, limit))
}

fn endpoint_of(
    conn: &mut PgConnection,
    partner_id: Uuid,
    webhook_id: Uuid,
) -> Result<WebhookEndpoint, ApiError> {
    model::find_endpoint(conn, webhook_id)?
        .filter(|e| e.partner_id == partner_id)
        .ok_or_else(ApiError::not_found)
}

/// Turn a webhook endpoint on again, or off (admin).
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id"),
           ("webhook_id" = Uuid, Path, description = "Endpoint id")),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "Updated", body = WebhookEndpointResponse),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/staff/partners/{id}/webhooks/{webhook_id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
    body: JsonBody<UpdateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let ((partner_id, webhook_id), active) = (path.into_inner(), body.take()?.active);
    let (actor, now) = (auth.id, state.now());
    let endpoint = state
        .db(move |conn| {
            conn.transaction(|conn| {
                endpoint_of(conn, partner_id, webhook_id)?;
                let reason = (!active).then_some("turned off by an admin");
                let e = model::set_endpoint_active(conn, webhook_id, active, reason, now)?;
                audit::Audit::staff(actor)
                    .did("webhook.updated")
                    .on("webhook_endpoint", webhook_id)
                    .with(serde_json::json!({ "active": active }))
                    .record(conn, now)?;
                Ok(e)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointResponse::from(endpoint)))
}

/// Delete a webhook endpoint and its delivery log (admin).
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id"),
           ("webhook_id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/staff/partners/{id}/webhooks/{webhook_id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let (partner_id, webhook_id) = path.into_inner();
    let (actor, now) = (auth.id, state.now());
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                endpoint_of(conn, partner_id, webhook_id)?;
                model::delete_endpoint(conn, webhook_id)?;
                audit::Audit::staff(actor)
                    .did("webhook.deleted")
                    .on("webhook_endpoint", webhook_id)
                    .with(serde_json::json!({ "partner_id": partner_id }))
                    .record(conn, now)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A partner's webhook deliveries (admin), newest first.
#[utoipa::path(
    tag = "staff partners",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Partner id"), PageParams),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<DeliveryResponse>,
            headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/partners/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    auth.require_role(&[Role::Admin])?;
    let (id, limit, after) = (id.into_inner(), page.limit()?, page.cursor::<Position>()?);
    let (rows, total) = state
        .db(move |conn| {
            model::find_partner(conn, id)?.ok_or_else(ApiError::not_found)?;
            Ok(model::deliveries_of(conn, id, after, limit)?)
        })
        .await?;
    let page = Page::from_rows(
        rows,
        limit,
        total,
        |d| Position {
            at: d.created_at,
            id: d.id,
        },
        DeliveryResponse::from,
    );
    Ok(page.respond(&req, &state.settings.public_base_url, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_last_more_than_a_day() {
        let waits: std::time::Duration = (1..WEBHOOK_MAX_ATTEMPTS).map(jobs::backoff).sum();
        assert!(
            waits >= std::time::Duration::from_secs(24 * 3600),
            "{waits:?}"
        );
        assert!(
            waits < std::time::Duration::from_secs(26 * 3600),
            "{waits:?}"
        );
    }

    #[test]
    fn signatures_cover_the_timestamp_and_the_body() {
        // RFC 4231 test case 2 gives HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let s = signature("Jefe", 0, b"");
        assert!(s.starts_with("v1=") && s.len() == 3 + 64);
        assert_ne!(signature("k", 1, b"{}"), signature("k", 2, b"{}"));
        assert_ne!(signature("k", 1, b"{}"), signature("k", 1, b"{ }"));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn events_default_to_all_and_are_checked() {
        assert_eq!(parse_events(None).unwrap().len(), 4);
        assert_eq!(
            parse_events(Some(vec!["offer.closed".into(), "offer.closed".into()])).unwrap(),
            vec!["offer.closed"]
        );
        assert!(parse_events(Some(vec![])).is_err());
        assert!(parse_events(Some(vec!["offer.deleted".into()])).is_err());
    }
}
