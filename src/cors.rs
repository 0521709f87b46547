//! CORS for the city's front-end: only the origins listed in `CORS_ALLOWED_ORIGINS` get
//! `Access-Control-Allow-Origin`; preflight requests from them are answered here, and a
//! preflight from any other origin is a 403 `cors_origin_not_allowed`.

use crate::{
    error::{ApiError, Code, ErrorKind},
    state::AppState,
};
use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{header, Method},
    middleware::Next,
    web, HttpResponse, ResponseError,
};

const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const ALLOWED_HEADERS: &str =
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id";
const EXPOSED_HEADERS: &str =
    "ETag, Link, Location, RateLimit, RateLimit-Policy, Retry-After, X-Request-Id";

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let listed = |o: &String| {
        req.app_data::<web::Data<AppState>>()
            .is_some_and(|s| s.settings.cors_allowed_origins.iter().any(|a| a == o))
    };
    // With origins listed, every response's headers depend on `Origin`, whether this request
    // sent one or not: a shared cache must keep one copy per origin, or it would serve a copy
    // without CORS headers to the front-end.
    let cors_on = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| !s.settings.cors_allowed_origins.is_empty());
    let vary = |mut res: ServiceResponse<_>| {
        if cors_on {
            res.headers_mut()
                .append(header::VARY, header::HeaderValue::from_static("Origin"));
        }
        res
    };
    let Some(origin) = origin else {
        return Ok(vary(next.call(req).await?).map_into_left_body());
    };
    if !listed(&origin) {
        if preflight {
            // Said plainly, rather than the 404 of a route that has no OPTIONS handler.
            let refusal = ApiError::new(
                ErrorKind::Forbidden,
                Code::CorsOriginNotAllowed,
                format!("The origin {origin} is not in CORS_ALLOWED_ORIGINS."),
            );
            let mut res = refusal.error_response();
            res.headers_mut()
                .append(header::VARY, header::HeaderValue::from_static("Origin"));
            return Ok(req.into_response(res).map_into_right_body());
        }
        return Ok(vary(next.call(req).await?).map_into_left_body());
    }
    if preflight {
        let res = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
            .insert_header((header::VARY, "Origin"))
            .finish();
        return Ok(req.into_response(res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if let Ok(v) = header::HeaderValue::from_str(&origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::HeaderValue::from_static(EXPOSED_HEADERS),
    );
    headers.append(header::VARY, header::HeaderValue::from_static("Origin"));
    Ok(res.map_into_left_body())
}
