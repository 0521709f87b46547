//! `/metrics`: labels from fixed sets whatever clients send, and who may read it
//! (`METRICS_ACCESS`, decided on the socket peer).

use crate::support::TestApp;
use actix_web::{http::Method, test as actix_test};
use passerelle::settings::MetricsSettings;

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

fn metrics_get() -> actix_test::TestRequest {
    actix_test::TestRequest::get().uri("/metrics")
}

async fn read_metrics(app: &TestApp) -> String {
    let res = app.send_from("127.0.0.1:40000", metrics_get()).await;
    assert_eq!(res.status, 200);
    String::from_utf8(res.body).unwrap()
}

#[actix_web::test]
async fn invented_methods_and_unknown_paths_leave_the_series_bounded() {
    let app = TestApp::new().await;
    // Warm up: the series of an unknown path and of /metrics itself exist from here on.
    app.get("/no/such/path", None).await;
    app.get("/api/v1/offers", None).await;
    read_metrics(&app).await;
    let before = read_metrics(&app).await;

    for i in 0..500 {
        // A valid RFC 7230 token, a kilobyte long, different every time.
        let method = format!("X{i:04}{}", "ABCDEFGHIJ".repeat(100));
        let path = if i % 50 == 0 {
            "/api/v1/offers".to_owned() // a real route (no such method on it): still `other`
        } else {
            format!("/invented/{i}/{method}")
        };
        let req = actix_test::TestRequest::default()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&path);
        app.send(req).await;
    }
    let after = read_metrics(&app).await;

    assert!(!after.contains("ABCDEFGHIJ"), "no invented method text");
    assert!(!after.contains("/invented/"), "no concrete path");
    // Two new series: `other` on an unknown path, and `other` on /api/v1/offers.
    let (b, a) = (before.lines().count(), after.lines().count());
    assert!(a <= b + 3, "series grew from {b} to {a} lines:\n{after}");
    assert!(
        after.contains(r#"method="other",route="unmatched",status="404"} 490"#),
        "{after}"
    );
    assert!(
        after.contains(r#"method="other",route="/api/v1/offers",status="405"} 10"#),
        "{after}"
    );
}

#[actix_web::test]
async fn by_default_metrics_are_refused_outside_the_allowed_networks() {
    let app = TestApp::with_settings(|s| s.metrics = MetricsSettings::default()).await;
    let res = app.send_from("203.0.113.5:40000", metrics_get()).await;
    res.assert_problem(403, "metrics_forbidden");
    assert!(!String::from_utf8_lossy(&res.body).contains("passerelle_http"));
    // A forwarding header is not believed: the socket peer decides.
    let res = app
        .send_from(
            "203.0.113.5:40000",
            metrics_get().insert_header(("X-Forwarded-For", "127.0.0.1")),
        )
        .await;
    res.assert_problem(403, "metrics_forbidden");

    for peer in [
        "127.0.0.1:40000",
        "[::1]:40000",
        "10.2.3.4:9090",
        "[fd12::7]:9090",
    ] {
        let res = app.send_from(peer, metrics_get()).await;
        assert_eq!(res.status, 200, "{peer}");
        assert!(String::from_utf8(res.body)
            .unwrap()
            .contains("passerelle_http_requests_total"));
    }
    // A request relayed by a proxy on an allowed network (or on this host) is refused:
    // otherwise anyone reaching the proxy would read the metrics.
    for (name, value) in [
        ("X-Forwarded-For", "203.0.113.5"),
        ("Forwarded", "for=203.0.113.5"),
        ("X-Real-IP", "203.0.113.5"),
    ] {
        let res = app
            .send_from("10.0.0.2:40000", metrics_get().insert_header((name, value)))
            .await;
        res.assert_problem(403, "metrics_forbidden");
    }
}

#[actix_web::test]
async fn public_metrics_are_served_to_anyone() {
    let app = TestApp::with_settings(|s| s.metrics = MetricsSettings::public()).await;
    for peer in ["203.0.113.5:40000", "[2001:db8::1]:40000", "127.0.0.1:1"] {
        assert_eq!(
            app.send_from(peer, metrics_get()).await.status,
            200,
            "{peer}"
        );
    }
}

#[actix_web::test]
async fn token_metrics_need_the_bearer_token() {
    let app = TestApp::with_settings(|s| s.metrics = MetricsSettings::token(METRICS_TOKEN)).await;
    let bearer = |t: &str| metrics_get().insert_header(("Authorization", format!("Bearer {t}")));

    // Missing, wrong, a prefix, another scheme, and from loopback (the token is what counts).
    let refused = [
        metrics_get(),
        bearer("metrics-token-wrong-0123456789abcdef0123"),
        bearer(&METRICS_TOKEN[..31]),
        metrics_get().insert_header(("Authorization", format!("Basic {METRICS_TOKEN}"))),
    ];
    for req in refused {
        let res = app.send_from("127.0.0.1:40000", req).await;
        res.assert_problem(401, "metrics_unauthenticated");
        assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    }

    let res = app
        .send_from("203.0.113.5:40000", bearer(METRICS_TOKEN))
        .await;
    assert_eq!(res.status, 200);
    assert!(String::from_utf8(res.body)
        .unwrap()
        .contains("passerelle_http_requests_total"));
}
