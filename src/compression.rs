//! gzip for what is public and worth it: the catalogue's JSON, the feeds, the partner sync
//! and Swagger UI, when the client accepts it (`Accept-Encoding`, with its q-values).
//! Nothing personal or secret is compressed: a compressed response that mixes a secret with
//! text an attacker chooses leaks the secret through its length (BREACH), so the staff,
//! auth and candidate routes are left as they are.
//!
//! Brotli is not built in (it would double the build of this layer for a few percent on
//! JSON); a CDN or nginx in front may add it. A compressed response's `ETag` becomes weak,
//! as nginx does: the bytes differ, the content does not, and `If-None-Match` compares
//! weakly. Swagger UI's files are compressed once and kept, and so is each body of the
//! public response cache (`public_cache`): its handler attaches a [`Precompressed`] to the
//! response, and this layer sends that variant as it is instead of compressing again.

use actix_web::{
    body::{self, BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        header::{self, HeaderMap, HeaderValue},
        Method, StatusCode,
    },
    middleware::Next,
    web::Bytes,
    HttpResponse,
};
use flate2::{write::GzEncoder, Compression};
use std::{
    collections::HashMap,
    io::Write,
    sync::{Mutex, OnceLock},
};

/// Below this, gzip's header and the CPU are not worth it.
pub const MIN_BYTES: usize = 1024;
/// Bodies are collected to be compressed; none of the compressed routes comes near this.
const MAX_BYTES: usize = 8 * 1024 * 1024;
/// Above this, compression moves off the async worker.
const BLOCKING_FROM: usize = 64 * 1024;

/// The paths whose responses are public and may be compressed.
pub fn is_public(path: &str) -> bool {
    path.starts_with("/api/v1/offers")
        || path.starts_with("/api/v1/feeds/")
        || path.starts_with("/api/v1/partner/")
        || path.starts_with("/docs/")
        || path == "/api-docs/openapi.json"
}

pub fn is_text(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence == "application/json"
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || essence == "application/xml"
        || essence == "text/javascript"
        || essence == "application/javascript"
        || essence == "text/css"
        || essence == "text/html"
}

/// Whether `Accept-Encoding` takes gzip (`gzip` or `*` with a q-value above 0, RFC 9110
/// section 12.5.3).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match coding.as_str() {
                "gzip" | "x-gzip" => gzip = Some(q > 0.0),
                "*" => any = Some(q > 0.0),
                _ => {}
            }
        }
    }
    gzip.or(any).unwrap_or(false)
}

fn gzip(bytes: &[u8], level: Compression) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), level);
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// The gzip variant of a body that is compressed once and kept (a cached public response,
/// [`precompress`]), attached to a response's extensions by its handler: this layer sends it
/// when the client takes gzip, the body as it is otherwise. `None`: not worth compressing,
/// the body goes as it is to every client.
#[derive(Clone, Debug)]
pub struct Precompressed(pub Option<Bytes>);

/// The gzip variant of `body` to keep beside it, or `None` when this layer would not send
/// one (not a text type, too small, or no smaller). The level is gzip's default, not the
/// fast one of per-request compression: it is paid once per cached body, and every hit
/// sends fewer bytes.
pub fn precompress(content_type: &str, body: &[u8]) -> Option<Bytes> {
    if !is_text(content_type) || body.len() < MIN_BYTES || body.len() > MAX_BYTES {
        return None;
    }
    gzip(body, Compression::default())
        .filter(|c| c.len() < body.len())
        .map(Bytes::from)
}

/// Swagger UI's compressed files, by path (a fixed set, compressed once at best ratio).
fn assets() -> &'static Mutex<HashMap<String, Bytes>> {
    static ASSETS: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    ASSETS.get_or_init(Default::default)
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path().to_owned();
    // HEAD gets the headers GET would (actix drops the body itself).
    let candidate = is_public(&path) && matches!(*req.method(), Method::GET | Method::HEAD);
    let wanted = candidate && accepts_gzip(req.headers());
    let res = next.call(req).await?;
    if !candidate {
        return Ok(res.map_into_boxed_body());
    }
    let compressible = res.status() == StatusCode::OK
        && !res.headers().contains_key(header::CONTENT_ENCODING)
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_text);
    if !compressible {
        return Ok(res.map_into_boxed_body());
    }
    let (req, mut res) = res.into_parts();
    // Caches keep one copy per encoding, whatever this client asked for.
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let kept = res.extensions().get::<Precompressed>().cloned();
    if let Some(Precompressed(variant)) = kept {
        return Ok(ServiceResponse::new(
            req,
            match variant.filter(|_| wanted) {
                Some(compressed) => gzipped(res.set_body(BoxBody::new(compressed))),
                None => res.map_into_boxed_body(),
            },
        ));
    }
    let small = matches!(res.body().size(), body::BodySize::Sized(n) if (n as usize) < MIN_BYTES);
    if !wanted || small {
        return Ok(ServiceResponse::new(req, res.map_into_boxed_body()));
    }
    let (head, body) = res.into_parts();
    let bytes = match body::to_bytes_limited(body, MAX_BYTES).await {
        Ok(Ok(bytes)) => bytes,
        // Bodies here are built in memory, under the cap; one that is not cannot be sent
        // whole any more: a clear 500 rather than a 200 with part of it.
        _ => {
            use actix_web::ResponseError;
            let error = crate::error::ApiError::internal(format!(
                "a public response body could not be collected for gzip: {path}"
            ));
            return Ok(ServiceResponse::new(
                req,
                error.error_response().map_into_boxed_body(),
            ));
        }
    };
    if bytes.len() < MIN_BYTES {
        return Ok(ServiceResponse::new(
            req,
            head.set_body(BoxBody::new(bytes)),
        ));
    }
    let compressed = if path.starts_with("/docs/") {
        let cached = assets().lock().ok().and_then(|m| m.get(&path).cloned());
        match cached {
            Some(c) => Some(c),
            None => {
                let c = actix_web::web::block({
                    let bytes = bytes.clone();
                    move || gzip(&bytes, Compression::best())
                })
                .await
                .ok()
                .flatten()
                .map(Bytes::from);
                if let (Some(c), Ok(mut m)) = (&c, assets().lock()) {
                    m.insert(path.clone(), c.clone());
                }
                c
            }
        }
    } else if bytes.len() >= BLOCKING_FROM {
        let bytes = bytes.clone();
        actix_web::web::block(move || gzip(&bytes, Compression::fast()))
            .await
            .ok()
            .flatten()
            .map(Bytes::from)
    } else {
        gzip(&bytes, Compression::fast()).map(Bytes::from)
    };
    let Some(compressed) = compressed.filter(|c| c.len() < bytes.len()) else {
        return Ok(ServiceResponse::new(
            req,
            head.set_body(BoxBody::new(bytes)),
        ));
    };
    Ok(ServiceResponse::new(
        req,
        gzipped(head.set_body(BoxBody::new(compressed))),
    ))
}

/// A response whose body is now gzip: its headers say so, and its ETag becomes weak.
fn gzipped(mut res: HttpResponse<BoxBody>) -> HttpResponse<BoxBody> {
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    headers.remove(header::CONTENT_LENGTH);
    if let Some(weak) = headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.starts_with("W/"))
        .and_then(|t| HeaderValue::from_str(&format!("W/{t}")).ok())
    {
        headers.insert(header::ETAG, weak);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        h
    }

    #[test]
    fn accept_encoding_is_read_with_its_q_values() {
        for yes in [
            "gzip",
            "br, gzip",
            "gzip;q=0.5",
            "*",
            "deflate, *;q=0.1",
            "GZIP",
        ] {
            assert!(accepts_gzip(&headers(yes)), "{yes}");
        }
        for no in ["br", "gzip;q=0", "identity", "*;q=0", "*, gzip;q=0", ""] {
            assert!(!accepts_gzip(&headers(no)), "{no}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    /// A public body that cannot be collected is a 500 problem, never a 200 with part of it.
    #[actix_web::test]
    async fn a_body_that_fails_midway_is_a_500_not_a_partial_200() {
        use actix_web::{test, web, App, HttpResponse};
        let app = test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(middleware))
                .route(
                    "/api/v1/offers",
                    web::get().to(|| async {
                        let chunks: Vec<Result<Bytes, actix_web::Error>> = vec![
                            Ok(Bytes::from(vec![b' '; 4096])),
                            Err(actix_web::error::ErrorInternalServerError("gone")),
                        ];
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .streaming(futures_util::stream::iter(chunks))
                    }),
                ),
        )
        .await;
        let req = test::TestRequest::get()
            .uri("/api/v1/offers")
            .insert_header((header::ACCEPT_ENCODING, "gzip"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
    }

    #[test]
    fn only_public_paths_and_text_types_are_compressed() {
        assert!(is_public("/api/v1/offers"));
        assert!(is_public("/docs/swagger-ui-bundle.js"));
        for private in [
            "/api/v1/staff/offers",
            "/api/v1/auth/login",
            "/api/v1/candidate/application",
            "/metrics",
        ] {
            assert!(!is_public(private), "{private}");
        }
        assert!(is_text("application/json"));
        assert!(is_text("application/atom+xml; charset=utf-8"));
        assert!(!is_text("application/pdf"));
    }
}
