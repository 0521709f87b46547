//! Every response leaves with a deliberate caching policy. Handlers that serve something a
//! cache may keep say so themselves (the public catalogue, the feeds, the partner sync);
//! whatever leaves without a `Cache-Control` gets the policy of its path here, and the
//! default is `no-store`: staff data, candidates' data, tokens and errors are never kept by
//! a browser or a shared cache. docs/OPERATIONS.md lists the policy of every route.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderValue, CACHE_CONTROL},
    middleware::Next,
};

/// Swagger UI's own files: they change only with an upgrade of the service.
pub const ASSETS: &str = "public, max-age=86400, stale-while-revalidate=604800";
/// Swagger UI's page and its initializer (which names the spec): revalidated every time.
pub const REVALIDATE: &str = "no-cache";
/// The OpenAPI document: anyone may keep it, revalidating with its ETag.
pub const SPEC: &str = "public, no-cache";
/// Everything else.
pub const NOTHING: &str = "no-store";

/// The policy of a path whose handler set none.
pub fn default_for(path: &str) -> &'static str {
    match path {
        "/docs/" | "/docs/index.html" | "/docs/swagger-initializer.js" => REVALIDATE,
        p if p.starts_with("/docs/") => ASSETS,
        "/api-docs/openapi.json" => SPEC,
        _ => NOTHING,
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let policy = default_for(req.path());
    let mut res = next.call(req).await?;
    // A cache may keep a path's answer, never its errors (a 404 under /docs/ for a day).
    let status = res.status();
    let policy = if status.is_success() || status.as_u16() == 304 {
        policy
    } else {
        NOTHING
    };
    if !res.headers().contains_key(CACHE_CONTROL) {
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_kept_pages_revalidated_and_the_rest_never_stored() {
        assert_eq!(default_for("/docs/swagger-ui-bundle.js"), ASSETS);
        assert_eq!(default_for("/docs/"), REVALIDATE);
        assert_eq!(default_for("/docs/swagger-initializer.js"), REVALIDATE);
        assert_eq!(default_for("/api-docs/openapi.json"), SPEC);
        for p in [
            "/api/v1/staff/users",
            "/api/v1/auth/login",
            "/nothing",
            "/metrics",
        ] {
            assert_eq!(default_for(p), NOTHING, "{p}");
        }
    }
}
