//! The OpenAPI document: generated from the routes, committed, served, with Swagger UI.

use crate::support::TestApp;

#[test]
fn committed_openapi_json_is_current() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap_or_default();
    let generated = passerelle::openapi::document_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -q -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn every_operation_documents_its_responses() {
    let doc: serde_json::Value =
        serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/me",
        "/api/v1/staff/users",
        "/health/ready",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has no responses");
            for (status, r) in responses {
                assert!(
                    r["description"].is_string(),
                    "{method} {path} {status} has no description"
                );
            }
            let takes_query = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            assert!(
                !takes_query || responses.contains_key("422"),
                "{method} {path} reads a query but does not document 422 for a bad one"
            );
            if path.starts_with("/api/v1/staff") || path == "/api/v1/auth/me" {
                assert!(op["security"].is_array(), "{method} {path} lacks security");
            }
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[actix_web::test]
async fn the_document_and_swagger_ui_are_served() {
    let app = TestApp::new().await;
    let res = app.get("/api-docs/openapi.json", None).await;
    assert_eq!(res.status, 200);
    let served = res.json();
    let generated: serde_json::Value =
        serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    assert_eq!(served, generated);
    let ui = app.get("/docs/", None).await;
    assert_eq!(ui.status, 200);
    assert!(String::from_utf8_lossy(&ui.body).contains("swagger"));
}

#[test]
fn closed_values_are_enumerated_in_the_spec() {
    use passerelle::{applications::domain as applications, offers::domain as offers};
    let doc: serde_json::Value =
        serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("no enum in {v}"))
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    let levels: Vec<String> = offers::EDUCATION_LEVELS
        .iter()
        .map(|s| s.to_string())
        .collect();
    for field in [
        &schemas["ApplicationFormParts"]["properties"]["education_level"],
        &schemas["EducationRequirement"]["properties"]["level"],
    ] {
        assert_eq!(strings(field), levels);
    }
    let targets: Vec<String> = applications::STAFF_TARGETS
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    assert_eq!(
        strings(&schemas["TransitionRequest"]["properties"]["to"]),
        targets
    );
    assert_eq!(
        strings(&schemas["TransitionRequest"]["properties"]["reason"]),
        applications::REJECTION_REASONS
    );
    // Every field or parameter that holds a closed value says which (a `$ref` to an enum
    // component, or an `enum`).
    let closed = [
        "status",
        "role",
        "recommendation",
        "remote",
        "kind",
        "sort",
        "reason",
    ];
    let typed =
        |v: &serde_json::Value| v.get("enum").is_some() || v.to_string().contains("\"$ref\"");
    for (name, schema) in schemas.as_object().unwrap() {
        for (field, v) in schema["properties"].as_object().into_iter().flatten() {
            // A rejected offer's `reason` is the approver's own words, for the submitter.
            let free_text = name == "RejectInput" && field == "reason";
            if closed.contains(&field.as_str()) && name != "Problem" && !free_text {
                assert!(typed(v), "{name}.{field} is an open string: {v}");
            }
        }
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if closed.contains(&p["name"].as_str().unwrap_or("")) {
                    assert!(
                        typed(&p["schema"]),
                        "{method} {path} ?{} is open",
                        p["name"]
                    );
                }
            }
        }
    }
    let notice = &schemas["ApplicationFormParts"]["properties"]["privacy_notice_version"];
    assert_eq!(notice["maxLength"], 50);
    assert!(notice["description"]
        .as_str()
        .unwrap()
        .contains("privacy notice"));
}

/// Generated clients (openapi-python-client, openapi-typescript) and Swagger UI read bodies by
/// their schema: a document is bytes, a feed is text, a file part gets a file picker.
#[test]
fn documents_feeds_and_file_parts_are_typed_as_strings_of_their_media_type() {
    let doc: serde_json::Value =
        serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, r) in op["responses"].as_object().unwrap() {
                let Some(content) = r["content"].as_object() else {
                    continue;
                };
                for (ct, c) in content.iter().filter(|(ct, _)| !ct.contains("json")) {
                    let schema = &c["schema"];
                    assert_eq!(schema["type"], "string", "{method} {path} {status} {ct}");
                    assert_eq!(schema["contentMediaType"], ct.as_str());
                    if ct == "application/pdf" {
                        assert_eq!(schema["format"], "binary");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 5, "{checked}");
    let form = &doc["components"]["schemas"]["ApplicationFormParts"]["properties"];
    for part in ["cv", "cover_letter"] {
        assert_eq!(
            form[part]["type"], "string",
            "{part} must not be a type list"
        );
        assert_eq!(form[part]["format"], "binary");
    }
    let encoding = &doc["paths"]["/api/v1/offers/{id_or_slug}/applications"]["post"]["requestBody"]
        ["content"]["multipart/form-data"]["encoding"];
    assert_eq!(encoding["cv"]["contentType"], "application/pdf");
}

/// A merge patch may name any one field, nested or not: nothing in its schema is required,
/// so a generated client accepts `{"positions": 2}` or `{"contract": {"paid": false}}`.
#[test]
fn the_offer_merge_patch_is_the_offer_with_nothing_required() {
    let doc: serde_json::Value =
        serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    let patch = &doc["components"]["schemas"]["OfferPatch"];
    fn nothing_required(schema: &serde_json::Value, at: &str) {
        assert!(schema.get("required").is_none(), "{at} requires fields");
        if let Some(props) = schema["properties"].as_object() {
            for (name, p) in props {
                nothing_required(p, &format!("{at}.{name}"));
            }
        }
    }
    nothing_required(patch, "OfferPatch");
    assert!(patch["properties"]["contract"]["properties"]["paid"].is_object());
    assert_eq!(
        doc["paths"]["/api/v1/staff/offers/{id}"]["patch"]["requestBody"]["content"]
            ["application/merge-patch+json"]["schema"]["$ref"],
        "#/components/schemas/OfferPatch"
    );
}

/// Generated clients expose only declared headers: the version a write answers with, and the
/// If-None-Match of a conditional GET.
#[test]
fn validators_are_declared_where_they_are_sent_and_read() {
    let doc: serde_json::Value =
        serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    for (path, method, status) in [
        ("/api/v1/staff/offers", "post", "201"),
        ("/api/v1/staff/offers/{id}", "patch", "200"),
        ("/api/v1/staff/offers/{id}/publish", "post", "200"),
        ("/api/v1/staff/users", "post", "201"),
        ("/api/v1/staff/users/{id}", "patch", "200"),
        ("/api/v1/staff/applications/{id}/transition", "post", "200"),
    ] {
        assert!(
            op(path, method)["responses"][status]["headers"]["ETag"].is_object(),
            "{method} {path} {status} does not declare its ETag"
        );
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, o) in item.as_object().unwrap() {
            if o["responses"].get("304").is_some() {
                let declared = o["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["name"] == "If-None-Match" && p["in"] == "header")
                });
                assert!(
                    declared,
                    "{method} {path} answers 304 without If-None-Match"
                );
            }
        }
    }
}

#[test]
fn every_rate_limited_operation_documents_its_429_and_headers() {
    use passerelle::openapi::{Counted, RATE_LIMITED};
    let doc: serde_json::Value =
        serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    for (method, path, counted) in RATE_LIMITED {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(
            op.is_object(),
            "RATE_LIMITED names {method} {path}, not in the spec"
        );
        let too_many = &op["responses"]["429"];
        assert!(
            too_many["description"].is_string(),
            "{method} {path}: no 429"
        );
        assert!(
            too_many["headers"]["Retry-After"].is_object(),
            "{method} {path}: 429 without Retry-After"
        );
        if let Counted::PerAddress { successes, .. } = counted {
            for status in std::iter::once(&"429").chain(successes.iter()) {
                let headers = &op["responses"][status]["headers"];
                for name in ["RateLimit-Policy", "RateLimit"] {
                    assert!(
                        headers[name].is_object(),
                        "{method} {path} {status}: no {name} header"
                    );
                }
            }
        }
    }
}

#[test]
fn the_spec_lists_every_error_code() {
    let doc: serde_json::Value =
        serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    let listed: Vec<&str> = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .expect("Problem.code is an enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed, passerelle::error::Code::texts());
    assert!(listed.contains(&"validation_failed") && listed.contains(&"rate_limited"));
}
