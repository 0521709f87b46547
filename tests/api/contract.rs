//! The contract test: every response any API test receives is checked against the committed
//! `openapi/openapi.json` as it arrives — its status is documented for the operation, its
//! media type is one the spec lists, a JSON body validates against the documented schema
//! (JSON Schema 2020-12, `jsonschema` crate), and an `ETag` it carries is declared. A drift
//! between the code and the spec fails the test that met it, naming the operation.
//!
//! Requests to paths the spec does not describe (Swagger UI's files, unknown routes, wrong
//! methods) are not operations and are left to their own tests.

use actix_web::http::{header::HeaderMap, Method, StatusCode};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
                .expect("openapi/openapi.json");
        serde_json::from_str(&text).expect("the committed spec is JSON")
    })
}

/// The spec's path template for a concrete path (`/api/v1/offers/abc` →
/// `/api/v1/offers/{id_or_slug}`), literal segments preferred over templated ones.
fn template_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(&str, usize)> = None;
    for template in spec()["paths"].as_object()?.keys() {
        let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let fits = parts.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') && t.ends_with('}') {
                !s.is_empty()
            } else if t == s {
                literal += 1;
                true
            } else {
                false
            }
        });
        if fits && best.is_none_or(|(_, l)| literal > l) {
            best = Some((template.as_str(), literal));
        }
    }
    best.map(|(t, _)| t)
}

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;

fn validator(pointer: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(pointer) {
        return v.clone();
    }
    // The schema with the spec's components beside it, so `#/components/schemas/…` resolves.
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": spec()["components"],
    });
    let v = Arc::new(
        jsonschema::validator_for(&root)
            .unwrap_or_else(|e| panic!("the spec's schema at {pointer} is not valid: {e}")),
    );
    cache.lock().unwrap().insert(pointer.to_owned(), v.clone());
    v
}

/// Checks one exchange; panics with what differs.
pub fn check(method: &Method, path: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) {
    let Some(template) = template_of(path) else {
        return;
    };
    let method_name = method.as_str().to_ascii_lowercase();
    let Some(op) = spec()["paths"][template].get(&method_name) else {
        return;
    };
    let code = status.as_u16().to_string();
    let where_ = format!("{} {template} → {code}", method.as_str());
    let Some(documented) = op["responses"]
        .get(&code)
        .or(op["responses"].get("default"))
    else {
        panic!(
            "contract: {where_} is not documented (documented: {:?}); body: {}",
            op["responses"]
                .as_object()
                .map(|r| r.keys().collect::<Vec<_>>()),
            String::from_utf8_lossy(body)
        );
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.split(';').next().unwrap_or("").trim().to_owned());
    if let Some(tag) = headers.get("etag") {
        if status.is_success() {
            assert!(
                documented["headers"].get("ETag").is_some(),
                "contract: {where_} sends ETag {tag:?} but does not declare it"
            );
        }
    }
    if body.is_empty() || method == Method::HEAD {
        return;
    }
    let Some(content_type) = content_type else {
        panic!("contract: {where_} has a body and no Content-Type");
    };
    let Some(media) = documented["content"].get(&content_type) else {
        panic!(
            "contract: {where_} answers {content_type}, the spec lists {:?}",
            documented["content"]
                .as_object()
                .map(|c| c.keys().collect::<Vec<_>>())
        );
    };
    if !(content_type == "application/json" || content_type.ends_with("+json")) {
        return;
    }
    let decoded;
    let body = match headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
    {
        Some("gzip") => {
            decoded = crate::support::gunzip(body);
            &decoded[..]
        }
        _ => body,
    };
    let Ok(instance) = serde_json::from_slice::<Value>(body) else {
        panic!("contract: {where_} says {content_type} and is not JSON");
    };
    let schema = &media["schema"];
    let pointer = format!("{template} {method_name} {code} {content_type}");
    let v = validator(&pointer, schema);
    let errors: Vec<String> = v
        .iter_errors(&instance)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "contract: {where_} body does not match the spec:\n  {}\nbody: {}",
        errors.join("\n  "),
        String::from_utf8_lossy(body)
    );
}

#[test]
fn paths_are_matched_to_their_templates_literals_first() {
    assert_eq!(template_of("/api/v1/offers"), Some("/api/v1/offers"));
    assert_eq!(
        template_of("/api/v1/offers/some-slug"),
        Some("/api/v1/offers/{id_or_slug}")
    );
    assert_eq!(
        template_of("/api/v1/staff/offers/0b9d6c1e-0000-0000-0000-000000000000/publish"),
        Some("/api/v1/staff/offers/{id}/publish")
    );
    assert_eq!(template_of("/docs/index.html"), None);
}

#[test]
fn a_body_off_the_spec_is_caught() {
    let mut headers = HeaderMap::new();
    headers.insert(
        actix_web::http::header::CONTENT_TYPE,
        "application/json".parse().unwrap(),
    );
    let bad = std::panic::catch_unwind(|| {
        check(
            &Method::GET,
            "/health/live",
            StatusCode::OK,
            &headers,
            br#"{"status": 7}"#,
        )
    });
    assert!(bad.is_err());
    check(
        &Method::GET,
        "/health/live",
        StatusCode::OK,
        &headers,
        br#"{"status": "ok"}"#,
    );
    let undocumented = std::panic::catch_unwind(|| {
        check(
            &Method::GET,
            "/health/live",
            StatusCode::IM_A_TEAPOT,
            &headers,
            b"{}",
        )
    });
    assert!(undocumented.is_err());
}
