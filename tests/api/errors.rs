//! actix's own rejections come back as problem+json with the statuses DESIGN.md names.

use crate::support::TestApp;
use actix_web::test::TestRequest;

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = TestApp::new().await;
    let res = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"email\": "),
        )
        .await;
    let body = res.assert_problem(400, "malformed_json");
    assert!(!body["detail"].as_str().unwrap().contains("serde"));
}

#[actix_web::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::new().await;
    let res = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .insert_header(("content-type", "text/plain"))
                .set_payload("email=a"),
        )
        .await;
    res.assert_problem(415, "unsupported_media_type");
}

#[actix_web::test]
async fn unknown_routes_are_404() {
    let app = TestApp::new().await;
    app.get("/api/v1/nothing-here", None)
        .await
        .assert_problem(404, "route_not_found");
    app.get("/", None)
        .await
        .assert_problem(404, "route_not_found");
}

#[actix_web::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::new().await;
    let big = format!(
        "{{\"email\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(70 * 1024)
    );
    let res = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .insert_header(("content-type", "application/json"))
                .set_payload(big),
        )
        .await;
    res.assert_problem(413, "payload_too_large");
}

#[actix_web::test]
async fn a_wrong_method_still_gets_a_problem_body() {
    let app = TestApp::new().await;
    let res = app
        .send(TestRequest::delete().uri("/api/v1/auth/login"))
        .await;
    assert!(res.status.is_client_error());
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
}

#[actix_web::test]
async fn every_response_carries_security_headers() {
    let app = TestApp::new().await;
    for path in ["/api/v1/offers", "/api/v1/nothing", "/health/live"] {
        let res = app.get(path, None).await;
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(res.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "{path}");
    }
    let api = app.get("/api/v1/offers", None).await;
    assert!(api
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
}

#[actix_web::test]
async fn every_response_has_a_request_id_that_problems_quote() {
    let app = TestApp::new().await;
    let res = app.get("/api/v1/nowhere", None).await;
    let id = res.header("x-request-id").unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(res.json()["request_id"], id);
    let res = app
        .send(
            TestRequest::get()
                .uri("/api/v1/offers?limit=0")
                .insert_header(("X-Request-Id", "front-42")),
        )
        .await;
    assert_eq!(res.header("x-request-id"), Some("front-42"));
    assert_eq!(res.json()["request_id"], "front-42");
    let res = app
        .send(
            TestRequest::get()
                .uri("/health/live")
                .insert_header(("X-Request-Id", "bad id with spaces")),
        )
        .await;
    assert_eq!(
        res.header("x-request-id").unwrap().len(),
        32,
        "replaced by a fresh id"
    );
}

#[actix_web::test]
async fn only_listed_origins_get_cors_headers() {
    let app = TestApp::with_settings(|s| {
        s.cors_allowed_origins = vec!["https://stages.ville.example".into()]
    })
    .await;
    let preflight = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/api/v1/offers/00000000-0000-0000-0000-000000000000/applications")
                .insert_header(("Origin", "https://stages.ville.example"))
                .insert_header(("Access-Control-Request-Method", "POST")),
        )
        .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://stages.ville.example")
    );
    assert!(preflight
        .header("access-control-allow-headers")
        .unwrap()
        .contains("Idempotency-Key"));
    let res = app
        .send(
            TestRequest::get()
                .uri("/api/v1/offers")
                .insert_header(("Origin", "https://stages.ville.example")),
        )
        .await;
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://stages.ville.example")
    );
    assert!(res
        .header("access-control-expose-headers")
        .unwrap()
        .contains("ETag"));
    let other = app
        .send(
            TestRequest::get()
                .uri("/api/v1/offers")
                .insert_header(("Origin", "https://evil.example")),
        )
        .await;
    assert_eq!(other.status, 200);
    assert!(other.header("access-control-allow-origin").is_none());
    // Whatever the Origin, or none: the answer depends on it, so a shared cache is told.
    let anonymous = app.get("/api/v1/offers", None).await;
    for r in [&res, &other, &anonymous, &preflight] {
        let vary: Vec<&str> = r
            .headers
            .get_all("vary")
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(vary.iter().any(|v| v.contains("Origin")), "{vary:?}");
    }
    // Without listed origins nothing depends on Origin.
    let plain = TestApp::new().await;
    let res = plain.get("/api/v1/offers", None).await;
    assert!(!res
        .headers
        .get_all("vary")
        .any(|v| v.to_str().unwrap_or("").contains("Origin")));
}

/// PostgreSQL text cannot hold U+0000 (nor jsonb `\u0000`): such input is a 422, never a 500,
/// wherever it comes in (found by Schemathesis on POST /api/v1/staff/partners).
#[actix_web::test]
async fn nul_characters_in_input_are_422() {
    let app = TestApp::new().await;
    let (_, admin) = app.token_for(passerelle::auth::Role::Admin).await;
    let partner = serde_json::json!({
        "name": "Career\u{0}Center", "slug": "career-center", "contact_email": "c@uga.example"
    });
    app.post_json("/api/v1/staff/partners", Some(&admin), partner)
        .await
        .assert_problem(422, "nul_character");
    let mut offer = crate::support::fixture_offer();
    offer["title"] = "Stage\u{0}".into();
    app.post_json("/api/v1/staff/offers", Some(&admin), offer)
        .await
        .assert_problem(422, "nul_character");
    let mut offer = crate::support::fixture_offer();
    offer["tags"] = serde_json::json!(["coop\u{0}"]);
    app.post_json("/api/v1/staff/offers", Some(&admin), offer)
        .await
        .assert_problem(422, "nul_character");
    app.post_json(
        "/api/v1/auth/login",
        None,
        serde_json::json!({"email": "a\u{0}@b.example", "password": "x"}),
    )
    .await
    .assert_problem(422, "nul_character");
    let res = app.get("/api/v1/offers?q=stage%00", None).await;
    assert!(res.status.as_u16() < 500, "search: {}", res.status);
    let res = app.get("/api/v1/offers?tag=a%00", None).await;
    assert!(res.status.as_u16() < 500, "tag: {}", res.status);
}

#[actix_web::test]
async fn bodies_are_limited_per_route() {
    let app = TestApp::new().await;
    // A sign-in body has no business being 10 KB...
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"email": "a@b.example", "password": "x".repeat(10_000)}),
        )
        .await;
    res.assert_problem(413, "payload_too_large");
    // ... while an offer of that size is fine.
    let (_, token) = app.token_for(passerelle::auth::Role::Manager).await;
    let mut offer = crate::support::open_offer("VDG-BIG-1");
    offer["context"] = serde_json::Value::from("Une mission riche. ".repeat(250));
    app.create_offer(&token, offer).await;
    // Above the general JSON limit, every route says 413 before reading the body.
    let res = app
        .post_json(
            "/api/v1/staff/offers",
            Some(&token),
            serde_json::json!({"description": "x".repeat(70_000)}),
        )
        .await;
    res.assert_problem(413, "payload_too_large");
}
