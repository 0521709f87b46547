//! The routes as the generated OpenAPI document lists them, read once when the app is built:
//! which methods a path allows (405 with `Allow`, `OPTIONS`) and the schema of each
//! operation's JSON body (for [`crate::json_check`]). The document comes from the route
//! registration itself, so this table cannot drift from the router.

use crate::error::Code;
use crate::error::{ApiError, ErrorKind};
use actix_web::{
    dev::{ResourceDef, ServiceRequest},
    http::{header, Method},
    middleware::Next,
    web, HttpRequest, HttpResponse, ResponseError,
};
use serde_json::{Map, Value};
use std::collections::HashMap;

const METHODS: [(&str, Method); 5] = [
    ("get", Method::GET),
    ("post", Method::POST),
    ("put", Method::PUT),
    ("patch", Method::PATCH),
    ("delete", Method::DELETE),
];

pub struct RouteTable {
    /// Path template (`/api/v1/offers/{id_or_slug}`) and the methods it serves.
    paths: Vec<(ResourceDef, Vec<Method>)>,
    /// (path template, method) -> the JSON schema of the request body.
    bodies: HashMap<(String, Method), Value>,
    /// `components.schemas`, for `$ref`s in the body schemas.
    components: Map<String, Value>,
}

impl RouteTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let doc = serde_json::to_value(api).unwrap_or_default();
        let mut paths = Vec::new();
        let mut bodies = HashMap::new();
        for (template, item) in doc["paths"].as_object().into_iter().flatten() {
            let mut methods = Vec::new();
            for (key, method) in METHODS {
                let Some(op) = item.get(key) else { continue };
                methods.push(method.clone());
                let content = op["requestBody"]["content"].as_object();
                let json = content
                    .into_iter()
                    .flatten()
                    .find(|(ct, _)| *ct == "application/json" || ct.ends_with("+json"));
                if let Some((_, media)) = json {
                    bodies.insert((template.clone(), method), media["schema"].clone());
                }
            }
            paths.push((ResourceDef::new(template.as_str()), methods));
        }
        let components = doc["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        RouteTable {
            paths,
            bodies,
            components,
        }
    }

    /// The methods some route serves at `path` (HEAD with GET, and OPTIONS, always), or
    /// `None` when no route has this path.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let mut found = false;
        let mut allowed = Vec::new();
        for (def, methods) in &self.paths {
            if def.is_match(path) {
                found = true;
                allowed.extend(methods.iter().cloned());
            }
        }
        if !found {
            return None;
        }
        if allowed.contains(&Method::GET) {
            allowed.push(Method::HEAD);
        }
        allowed.push(Method::OPTIONS);
        let order = |m: &Method| {
            ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
                .iter()
                .position(|o| *o == m.as_str())
        };
        allowed.sort_by_key(order);
        allowed.dedup();
        Some(allowed)
    }

    /// The schema of the JSON body of the operation at `template` with `method`.
    pub fn body_schema(&self, template: &str, method: &Method) -> Option<&Value> {
        self.bodies.get(&(template.to_owned(), method.clone()))
    }

    pub fn components(&self) -> &Map<String, Value> {
        &self.components
    }
}

fn allow_header(methods: &[Method]) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Default service: `OPTIONS` on a path some route serves is 204 with `Allow`; another
/// method there is 405 with `Allow`; any other path is 404 `route_not_found`.
pub async fn unmatched(
    req: HttpRequest,
    table: Option<web::Data<RouteTable>>,
) -> Result<HttpResponse, ApiError> {
    let Some(allowed) = table.and_then(|t| t.allowed(req.path())) else {
        return crate::error::route_not_found().await;
    };
    let allow = allow_header(&allowed);
    if req.method() == Method::OPTIONS {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::ALLOW, allow))
            .finish());
    }
    let mut res = ApiError::new(
        ErrorKind::MethodNotAllowed,
        Code::MethodNotAllowed,
        format!(
            "{} is not a method of this route; it allows {allow}.",
            req.method()
        ),
    )
    .error_response();
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        res.headers_mut().insert(header::ALLOW, value);
    }
    Ok(res)
}

/// `HEAD` is routed as `GET`: the handler runs and sets every header, and actix-http sends
/// the headers (`Content-Length` included) without the body, because the connection saw a
/// HEAD request.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_methods_come_from_the_document() {
        let table = RouteTable::from_openapi(&crate::openapi::document());
        let names = |p: &str| table.allowed(p).map(|m| allow_header(&m));
        assert_eq!(
            names("/api/v1/staff/offers").as_deref(),
            Some("GET, HEAD, POST, OPTIONS")
        );
        assert_eq!(
            names("/api/v1/auth/login").as_deref(),
            Some("POST, OPTIONS")
        );
        assert_eq!(names("/api/v1/nothing"), None);
        assert!(table
            .body_schema("/api/v1/staff/offers", &Method::POST)
            .is_some());
    }
}
