//! Every response has a deliberate caching policy (docs/OPERATIONS.md lists them): public
//! reads are cacheable and revalidate with their ETag, Swagger UI's files are kept, and
//! everything personal, secret or an error is `no-store`.

use crate::support::{gunzip, open_offer, TestApp};
use actix_web::test::TestRequest;
use passerelle::auth::Role;

async fn revalidates(app: &TestApp, path: &str, etag: &str) {
    for sent in [etag.to_owned(), format!("W/{etag}")] {
        let again = app
            .send(
                TestRequest::get()
                    .uri(path)
                    .insert_header(("If-None-Match", sent.clone())),
            )
            .await;
        assert_eq!(again.status, 304, "{path} with {sent}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(etag));
    }
}

#[actix_web::test]
async fn public_reads_are_cacheable_and_revalidate_with_their_etag() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    app.publish_new_offer(&manager, open_offer("CACHE-1")).await;
    let list = app.get("/api/v1/offers?limit=5", None).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.header("cache-control"), Some("public, max-age=30"));
    let etag = list.header("etag").unwrap().to_owned();
    revalidates(&app, "/api/v1/offers?limit=5", &etag).await;
    // Another offer changes the page, so its tag.
    app.publish_new_offer(&manager, open_offer("CACHE-2")).await;
    let changed = app.get("/api/v1/offers?limit=5", None).await;
    assert_ne!(changed.header("etag"), Some(etag.as_str()));

    let spec = app.get("/api-docs/openapi.json", None).await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.header("cache-control"), Some("public, no-cache"));
    let tag = spec.header("etag").unwrap().to_owned();
    revalidates(&app, "/api-docs/openapi.json", &tag).await;
}

#[actix_web::test]
async fn swagger_files_are_kept_and_its_page_revalidated() {
    let app = TestApp::new().await;
    let bundle = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status, 200);
    assert_eq!(
        bundle.header("cache-control"),
        Some(passerelle::cache_policy::ASSETS)
    );
    // Its errors are not kept.
    let missing = app.get("/docs/no-such-file.js", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("cache-control"), Some("no-store"));
    let page = app.get("/docs/", None).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("cache-control"), Some("no-cache"));
}

#[actix_web::test]
async fn staff_data_tokens_and_errors_are_never_stored() {
    let app = TestApp::new().await;
    let (_, admin) = app.token_for(Role::Admin).await;
    let (staff, _) = app.token_for(Role::Manager).await;
    for res in [
        app.get("/api/v1/staff/users", Some(&admin)).await,
        app.get("/api/v1/staff/offers", Some(&admin)).await,
        app.get("/api/v1/auth/me", Some(&admin)).await,
        app.get("/api/v1/staff/users", None).await,
        app.get("/api/v1/no-such-route", None).await,
        app.get("/api/v1/offers?limit=0", None).await,
        app.post_json(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"email": staff.email, "password": "wrong password here"}),
        )
        .await,
    ] {
        assert!(
            res.header("cache-control")
                .is_some_and(|c| c.contains("no-store")),
            "status {}: {}",
            res.status,
            String::from_utf8_lossy(&res.body)
        );
    }
}

#[actix_web::test]
async fn public_responses_are_gzipped_when_asked_and_private_ones_never() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    for r in ["GZ-1", "GZ-2", "GZ-3"] {
        app.publish_new_offer(&manager, open_offer(r)).await;
    }
    let plain = app.get("/api/v1/offers", None).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.header("vary").unwrap().contains("Accept-Encoding"));
    let gzipped = app
        .send(
            TestRequest::get()
                .uri("/api/v1/offers")
                .insert_header(("Accept-Encoding", "br;q=1, gzip;q=0.8")),
        )
        .await;
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert!(gzipped.header("vary").unwrap().contains("Accept-Encoding"));
    assert!(
        gzipped.body.len() * 2 < plain.body.len(),
        "{} vs {}",
        gzipped.body.len(),
        plain.body.len()
    );
    assert_eq!(gunzip(&gzipped.body), plain.body);
    // The compressed copy's tag is the weak form of the page's; it revalidates.
    let strong = plain.header("etag").unwrap();
    assert_eq!(gzipped.header("etag"), Some(format!("W/{strong}").as_str()));
    let again = app
        .send(
            TestRequest::get()
                .uri("/api/v1/offers")
                .insert_header(("Accept-Encoding", "gzip"))
                .insert_header(("If-None-Match", gzipped.header("etag").unwrap())),
        )
        .await;
    assert_eq!(again.status, 304);
    // HEAD answers the headers GET would.
    let head = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri("/api/v1/offers")
                .insert_header(("Accept-Encoding", "gzip")),
        )
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert_eq!(head.header("etag"), gzipped.header("etag"));
    // Refused with q=0.
    let refused = app
        .send(
            TestRequest::get()
                .uri("/api/v1/offers")
                .insert_header(("Accept-Encoding", "gzip;q=0, *;q=0")),
        )
        .await;
    assert_eq!(refused.header("content-encoding"), None);

    // Swagger UI's bundle, compressed once and kept.
    for _ in 0..2 {
        let bundle = app
            .send(
                TestRequest::get()
                    .uri("/docs/swagger-ui-bundle.js")
                    .insert_header(("Accept-Encoding", "gzip")),
            )
            .await;
        assert_eq!(bundle.header("content-encoding"), Some("gzip"));
        assert!(gunzip(&bundle.body).len() > 3 * bundle.body.len());
    }

    // Staff data is never compressed (BREACH).
    let staff = app
        .send(
            TestRequest::get()
                .uri("/api/v1/staff/offers")
                .insert_header(("Authorization", format!("Bearer {manager}")))
                .insert_header(("Accept-Encoding", "gzip")),
        )
        .await;
    assert_eq!(staff.status, 200);
    assert!(staff.body.len() > 1024);
    assert_eq!(staff.header("content-encoding"), None);
}
