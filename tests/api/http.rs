//! HTTP details a client meets: the `/docs` redirect, 405 with `Allow`, `OPTIONS`, `HEAD`,
//! CORS preflights from other origins, every wrong field of a JSON body in one 422, applying
//! by slug, raw UTF-8 in a request target.

use crate::{
    applications::{candidate_fields, pdfs},
    process::{self, ServerProcess},
    support::{fixture_offer, open_offer, TestApp},
};
use actix_web::{http::Method, test::TestRequest};
use passerelle::{auth::Role, db::test_db::TestDb};
use serde_json::{json, Value};
use std::io::Write;

#[actix_web::test]
async fn docs_without_the_slash_redirects_permanently() {
    let app = TestApp::new().await;
    let res = app.get("/docs", None).await;
    assert_eq!(res.status, 308);
    assert_eq!(res.header("location"), Some("/docs/"));
    assert_eq!(app.get("/docs/", None).await.status, 200);
}

#[actix_web::test]
async fn a_wrong_method_on_a_route_is_405_with_allow() {
    let app = TestApp::new().await;
    let res = app
        .send(TestRequest::delete().uri("/api/v1/auth/login"))
        .await;
    let body = res.assert_problem(405, "method_not_allowed");
    assert_eq!(res.header("allow"), Some("POST, OPTIONS"));
    assert!(body["detail"].as_str().unwrap().contains("DELETE"));
    let res = app
        .send(TestRequest::put().uri("/api/v1/offers/some-slug"))
        .await;
    res.assert_problem(405, "method_not_allowed");
    assert_eq!(res.header("allow"), Some("GET, HEAD, OPTIONS"));
    let res = app
        .send(TestRequest::post().uri(
            "/api/v1/staff/offers/00000000-0000-0000-0000-000000000000/reviewers/00000000-0000-0000-0000-000000000000",
        ))
        .await;
    res.assert_problem(405, "method_not_allowed");
    assert_eq!(res.header("allow"), Some("DELETE, OPTIONS"));
    // A path no route has is still 404, whatever the method.
    app.send(TestRequest::delete().uri("/api/v1/nothing"))
        .await
        .assert_problem(404, "route_not_found");
}

#[actix_web::test]
async fn options_on_a_route_is_204_with_allow() {
    let app = TestApp::new().await;
    let res = app
        .send(
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/api/v1/staff/offers"),
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(res.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
    assert!(res.body.is_empty());
    let res = app
        .send(
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/api/v1/nowhere"),
        )
        .await;
    res.assert_problem(404, "route_not_found");
}

#[actix_web::test]
async fn a_preflight_from_an_unlisted_origin_is_a_clear_403() {
    let app = TestApp::with_settings(|s| {
        s.cors_allowed_origins = vec!["https://stages.ville.example".into()]
    })
    .await;
    let preflight = |origin: &'static str| {
        TestRequest::default()
            .method(Method::OPTIONS)
            .uri("/api/v1/offers")
            .insert_header(("Origin", origin))
            .insert_header(("Access-Control-Request-Method", "GET"))
    };
    let res = app.send(preflight("https://evil.example")).await;
    let body = res.assert_problem(403, "cors_origin_not_allowed");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("https://evil.example"));
    assert!(res
        .headers
        .keys()
        .all(|k| !k.as_str().starts_with("access-control-")));
    let res = app.send(preflight("https://stages.ville.example")).await;
    assert_eq!(res.status, 204);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://stages.ville.example")
    );
}

#[actix_web::test]
async fn a_body_missing_three_fields_lists_all_three() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    let mut offer = fixture_offer();
    for field in ["title", "summary", "contact"] {
        offer.as_object_mut().unwrap().remove(field);
    }
    let res = app
        .post_json("/api/v1/staff/offers", Some(&token), offer)
        .await;
    let body = res.assert_problem(422, "invalid_body");
    let errors: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            ("contact", "required"),
            ("summary", "required"),
            ("title", "required")
        ]
    );
    assert!(body["errors"][0]["message"].is_string());
}

#[actix_web::test]
async fn a_body_with_several_wrong_types_lists_each_with_its_path() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    let mut offer = fixture_offer();
    offer["positions"] = json!("two");
    offer["missions"] = json!(["ok", 3]);
    offer["contract"]["paid"] = json!("yes");
    let res = app
        .post_json("/api/v1/staff/offers", Some(&token), offer)
        .await;
    let body = res.assert_problem(422, "invalid_body");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "invalid_type")
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"positions"), "{body}");
    assert!(fields.contains(&"missions[1]"), "{body}");
    // Bad JSON syntax is still 400, a body of the right shape still reaches validation.
    app.send(
        TestRequest::post()
            .uri("/api/v1/staff/offers")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"title\":"),
    )
    .await
    .assert_problem(400, "malformed_json");
}

#[actix_web::test]
async fn a_login_body_of_the_wrong_shape_names_its_fields() {
    let app = TestApp::new().await;
    let res = app
        .post_json("/api/v1/auth/login", None, json!({"email": 42}))
        .await;
    let body = res.assert_problem(422, "invalid_body");
    let codes: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(codes, [("email", "invalid_type"), ("password", "required")]);
}

#[actix_web::test]
async fn candidates_apply_by_slug_as_well_as_by_id() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    let offer: Value = app
        .publish_new_offer(&token, open_offer("VDG-SLUG-1"))
        .await;
    let slug = offer["slug"].as_str().unwrap();
    let (id, _) = app.apply(slug, "ines.slug@example.org").await;
    let stored = app.count(&format!(
        "SELECT count(*) AS n FROM applications WHERE id = '{id}' AND offer_id = '{}'",
        offer["id"].as_str().unwrap()
    ));
    assert_eq!(stored, 1);
    let res = app
        .apply_with(
            "no-such-offer",
            &candidate_fields("x@example.org"),
            &pdfs(),
            None,
        )
        .await;
    res.assert_problem(404, "not_found");
}

/// Over a real socket, where actix-http drops a HEAD answer's body.
#[test]
fn head_answers_like_get_without_a_body() {
    let db = TestDb::new();
    let server = ServerProcess::start(db.url(), &[]);
    let get = process::request(server.port, "GET", "/api/v1/offers", &[], b"").unwrap();
    let head = process::request(server.port, "HEAD", "/api/v1/offers", &[], b"").unwrap();
    assert_eq!(get.status, 200);
    assert_eq!(head.status, get.status);
    for name in [
        "content-type",
        "content-length",
        "etag",
        "cache-control",
        "link",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert!(get.header("content-length").is_some_and(|l| l != "0"));
    assert!(head.body.is_empty(), "{}", head.text());
    let missing = process::request(server.port, "HEAD", "/api/v1/nothing", &[], b"").unwrap();
    assert_eq!(missing.status, 404);
    assert!(missing.body.is_empty());
}

/// Over a real socket: curl and scripts send `?q=coopération` unencoded, and actix-http alone
/// answered it with an empty 400 before the application saw it.
#[actix_web::test]
async fn raw_utf8_in_the_target_reads_as_percent_encoded() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    app.publish_new_offer(&token, open_offer("VDG-UTF8-1"))
        .await;
    let server = ServerProcess::start(app.db.url(), &[]);
    server.wait_ready();
    let search = |target: &str| process::request(server.port, "GET", target, &[], b"").unwrap();
    let raw = search("/api/v1/offers?q=coopération");
    assert_eq!(raw.status, 200, "{}", raw.text());
    let encoded = search("/api/v1/offers?q=coop%C3%A9ration");
    assert_eq!(raw.json(), encoded.json());
    assert_eq!(raw.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        search("/api/v1/offers?q=hôpital").json()["items"],
        json!([])
    );

    // A keep-alive connection: the second request, raw, is read like the first.
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    conn.write_all(b"GET /api/v1/offers HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let first = read_one_response(&mut conn);
    assert!(first.starts_with("HTTP/1.1 200 "), "{first}");
    conn.write_all(&process::head(
        "GET",
        "/api/v1/offers?q=coopération",
        &[],
        0,
    ))
    .unwrap();
    let second = process::finish(conn).unwrap();
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(second.json(), encoded.json());
}

/// One response with a `Content-Length` from a connection that stays open, as text.
fn read_one_response(conn: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        conn.read_exact(&mut byte).unwrap();
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("a Content-Length");
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

/// `passerelle openapi | head -1`: the reader closes the pipe long before the 300 KB
/// document is written, and that is a success.
#[test]
fn openapi_into_a_pipe_closed_early_exits_cleanly() {
    use std::{
        io::{BufRead, BufReader, Read},
        process::{Command, Stdio},
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("openapi")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "{\n");
    // The reader is dropped here: the pipe is closed with most of the document unwritten.
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}
