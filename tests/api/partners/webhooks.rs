//! Signed webhooks delivered to a real local HTTP receiver: retries and backoff, disabling,
//! redirects, forbidden targets, and the paged list of a partner's endpoints.

use super::*;

/// An app whose webhooks may go to plain http on 127.0.0.1, as the local receiver needs.
async fn webhook_app() -> TestApp {
    TestApp::with_settings(|s| {
        s.partners.webhooks.allow_http = true;
        s.partners.webhooks.allow_loopback = true;
        s.partners.webhooks.timeout = Duration::from_secs(5);
    })
    .await
}

async fn register(app: &TestApp, admin: &str, partner_id: &str, url: &str) -> TestResponse {
    app.post_json(
        &format!("/api/v1/staff/partners/{partner_id}/webhooks"),
        Some(admin),
        json!({"url": url}),
    )
    .await
}

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

async fn delivery_log(app: &TestApp, admin: &str, partner_id: &str) -> Vec<Value> {
    let res = app
        .get(
            &format!("/api/v1/staff/partners/{partner_id}/deliveries"),
            Some(admin),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn webhooks_are_signed_and_delivered_to_a_real_receiver() {
    let app = webhook_app().await;
    let sink = WebhookSink::start();
    let admin = admin_token(&app).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let (partner, _) = new_partner(&app, &admin, "jobboard").await;
    let partner_id = id_of(&partner);
    let res = register(
        &app,
        &admin,
        &partner_id,
        &sink.url("/hooks/passerelle?board=1"),
    )
    .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let endpoint = res.json();
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(endpoint["events"].as_array().unwrap().len(), 4);
    let listed = app
        .get(
            &format!("/api/v1/staff/partners/{partner_id}/webhooks"),
            Some(&admin),
        )
        .await;
    assert!(!String::from_utf8_lossy(&listed.body).contains(&secret));

    let offer = app.publish_new_offer(&manager, open_offer("HOOK-1")).await;
    let ran = queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ran.kind.as_str(), ran.outcome), ("webhook", Outcome::Done));

    let requests = sink.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/hooks/passerelle?board=1")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-passerelle-event"), Some("offer.published"));
    // The signature: HMAC-SHA256 with the secret over "<timestamp>.<body>".
    let timestamp = r.header("x-passerelle-timestamp").unwrap();
    assert_eq!(
        timestamp.parse::<i64>().unwrap(),
        app.state.now().timestamp()
    );
    let signed = [timestamp.as_bytes(), b".", &r.body].concat();
    assert_eq!(
        r.header("x-passerelle-signature").unwrap(),
        format!("v1={}", hmac_hex(&secret, &signed))
    );
    assert_ne!(
        r.header("x-passerelle-signature").unwrap(),
        format!("v1={}", hmac_hex("wrong", &signed))
    );
    let event: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(event["type"], "offer.published");
    assert_eq!(event["id"], r.header("x-passerelle-event-id").unwrap());
    assert!(event["created_at"].is_string());
    assert_eq!(event["data"]["offer_id"], offer["id"]);
    assert_eq!(event["data"]["offer"]["reference"], "HOOK-1");
    assert!(event["data"]["offer"].get("created_by").is_none());

    let log = delivery_log(&app, &admin, &partner_id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["last_status_code"], 204);
    assert_eq!(log[0]["event_id"], event["id"]);

    // Each event type, to subscribed endpoints only.
    let only_closed = app
        .post_json(
            &format!("/api/v1/staff/partners/{partner_id}/webhooks"),
            Some(&admin),
            json!({"url": sink.url("/closed-only"), "events": ["offer.closed"]}),
        )
        .await;
    assert_eq!(only_closed.status, 201);
    let id = id_of(&offer);
    patch_offer(&app, &manager, &id, json!({"positions": 2})).await;
    move_offer(&app, &manager, &id, "close").await;
    move_offer(&app, &manager, &id, "archive").await;
    while queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_some()
    {}
    let received: Vec<(String, String)> = sink.requests()[1..]
        .iter()
        .map(|r| {
            (
                r.path.clone(),
                r.header("x-passerelle-event").unwrap().to_owned(),
            )
        })
        .collect();
    let to = |path: &str| -> Vec<String> {
        received
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, e)| e.clone())
            .collect()
    };
    assert_eq!(
        to("/hooks/passerelle?board=1"),
        vec!["offer.updated", "offer.closed", "offer.archived"]
    );
    assert_eq!(to("/closed-only"), vec!["offer.closed"]);
    let archived: Value = serde_json::from_slice(&sink.requests().last().unwrap().body).unwrap();
    assert!(
        archived["data"].get("offer").is_none(),
        "an archived offer is not public"
    );
    assert_eq!(delivery_log(&app, &admin, &partner_id).await.len(), 5);
}

#[actix_web::test]
async fn failed_deliveries_are_retried_with_backoff_for_a_day_then_the_endpoint_is_disabled() {
    let app = webhook_app().await;
    let sink = WebhookSink::start();
    let admin = admin_token(&app).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let (partner, _) = new_partner(&app, &admin, "jobboard").await;
    let partner_id = id_of(&partner);
    let endpoint = register(&app, &admin, &partner_id, &sink.url("/hook"))
        .await
        .json();
    sink.answer_with(&[500; 40]);

    app.publish_new_offer(&manager, open_offer("RETRY-1")).await;
    let started = app.state.now();
    let mut attempts = 0;
    let outcome = loop {
        let ran = queue::run_next(&app.state, passerelle::JOB_KINDS)
            .await
            .unwrap()
            .expect("a due delivery");
        attempts += 1;
        match ran.outcome {
            Outcome::Retry { at } => {
                if attempts == 1 {
                    assert_eq!(at, app.state.now() + chrono::Duration::seconds(60));
                    // Not before the backoff.
                    assert!(queue::run_next(&app.state, passerelle::JOB_KINDS)
                        .await
                        .unwrap()
                        .is_none());
                    let log = delivery_log(&app, &admin, &partner_id).await;
                    assert_eq!(
                        (log[0]["status"].as_str(), log[0]["attempts"].as_i64()),
                        (Some("pending"), Some(1))
                    );
                    assert_eq!(log[0]["last_status_code"], 500);
                    assert_eq!(log[0]["last_error"], "answered 500");
                }
                app.clock.set(at);
            }
            other => break other,
        }
    };
    assert_eq!(outcome, Outcome::Dead);
    assert_eq!(attempts, 30);
    assert_eq!(sink.requests().len(), 30);
    let elapsed = app.state.now() - started;
    assert!(
        elapsed >= chrono::Duration::hours(24),
        "gave up after {elapsed}"
    );
    // Staff tokens are checked against the real clock: come back to it to read as an admin.
    app.clock.set(Utc::now());
    // Every attempt carried the same event, freshly signed.
    let requests = sink.requests();
    assert!(requests.iter().all(|r| r.body == requests[0].body));
    assert_ne!(
        requests[0].header("x-passerelle-signature"),
        requests[29].header("x-passerelle-signature")
    );

    let hooks = app
        .get(
            &format!("/api/v1/staff/partners/{partner_id}/webhooks"),
            Some(&admin),
        )
        .await
        .json();
    let hooks = &hooks["items"];
    assert_eq!(hooks[0]["active"], false);
    let reason = hooks[0]["disabled_reason"].as_str().unwrap();
    assert!(
        reason.contains("30 failed attempts") && reason.contains("answered 500"),
        "{reason}"
    );
    let log = delivery_log(&app, &admin, &partner_id).await;
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_i64()),
        (Some("failed"), Some(30))
    );

    // A disabled endpoint gets no more events, until an admin turns it on again.
    app.publish_new_offer(&manager, open_offer("RETRY-2")).await;
    assert!(queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_none());
    let path = format!(
        "/api/v1/staff/partners/{partner_id}/webhooks/{}",
        id_of(&endpoint)
    );
    let res = app
        .patch_json(&path, Some(&admin), json!({"active": true}))
        .await;
    assert_eq!(res.status, 200);
    assert!(res.json()["disabled_reason"].is_null());
    app.patch_json(&path, Some(&admin), json!({"active": "yes"}))
        .await
        .assert_problem(422, "invalid_body");
}

#[actix_web::test]
async fn a_delivery_that_fails_once_is_delivered_on_retry_and_redirects_are_not_followed() {
    let app = webhook_app().await;
    let sink = WebhookSink::start();
    let admin = admin_token(&app).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let (partner, _) = new_partner(&app, &admin, "jobboard").await;
    let partner_id = id_of(&partner);
    register(&app, &admin, &partner_id, &sink.url("/hook")).await;
    sink.answer_with(&[503, 302]);

    app.publish_new_offer(&manager, open_offer("ONCE-1")).await;
    let Outcome::Retry { at } = queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap()
        .outcome
    else {
        panic!("the 503 is retried");
    };
    app.clock.set(at);
    let Outcome::Retry { at } = queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap()
        .outcome
    else {
        panic!("the 302 is a failure");
    };
    let log = delivery_log(&app, &admin, &partner_id).await;
    assert_eq!(log[0]["last_status_code"], 302);
    assert!(log[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("redirects are not followed"));
    assert_eq!(sink.requests().len(), 2, "the redirect was not followed");
    app.clock.set(at);
    assert_eq!(
        queue::run_next(&app.state, passerelle::JOB_KINDS)
            .await
            .unwrap()
            .unwrap()
            .outcome,
        Outcome::Done
    );
    let log = delivery_log(&app, &admin, &partner_id).await;
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_i64()),
        (Some("delivered"), Some(3))
    );
    let ids: Vec<_> = sink
        .requests()
        .iter()
        .map(|r| r.header("x-passerelle-event-id").unwrap().to_owned())
        .collect();
    assert!(
        ids.iter().all(|i| i == &ids[0]),
        "retries carry the same event id"
    );
}

#[actix_web::test]
async fn forbidden_webhook_targets_are_refused() {
    // Production settings: https only, no loopback.
    let app = TestApp::new().await;
    let admin = admin_token(&app).await;
    let (partner, _) = new_partner(&app, &admin, "jobboard").await;
    let id = id_of(&partner);
    for url in [
        "http://hooks.example.org/passerelle",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://10.0.0.8/hook",
        "https://192.168.1.20/hook",
        "https://172.20.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0x7f000001/hook",
        "https://user:pass@hooks.example.org/",
        "ftp://hooks.example.org/",
    ] {
        let body = register(&app, &admin, &id, url)
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["field"], "url", "{url}: {body}");
        assert_eq!(
            body["errors"][0]["code"], "forbidden_target",
            "{url}: {body}"
        );
    }
    let body = register(&app, &admin, &id, "pas une url")
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["code"], "invalid_url");
    app.post_json(
        &format!("/api/v1/staff/partners/{id}/webhooks"),
        Some(&admin),
        json!({"url": "https://hooks.example.org/", "events": ["offer.deleted"]}),
    )
    .await
    .assert_problem(422, "validation_failed");
    register(
        &app,
        &admin,
        &uuid::Uuid::new_v4().to_string(),
        "https://93.184.215.14/hook",
    )
    .await
    .assert_problem(404, "not_found");

    // Plain http allowed, loopback not: the local receiver is still refused.
    let sink = WebhookSink::start();
    let http_only = TestApp::with_settings(|s| s.partners.webhooks.allow_http = true).await;
    let admin2 = admin_token(&http_only).await;
    let (partner2, _) = new_partner(&http_only, &admin2, "jobboard").await;
    register(&http_only, &admin2, &id_of(&partner2), &sink.url("/hook"))
        .await
        .assert_problem(422, "validation_failed");

    // Checked again at delivery, after DNS: an endpoint accepted when loopback was allowed
    // is refused by an instance where it is not, and nothing reaches the receiver.
    let app = webhook_app().await;
    let admin = admin_token(&app).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let (partner, _) = new_partner(&app, &admin, "jobboard").await;
    let partner_id = id_of(&partner);
    let by_name = format!("http://localhost:{}/hook", sink.port());
    assert_eq!(
        register(&app, &admin, &partner_id, &by_name).await.status,
        201
    );
    app.publish_new_offer(&manager, open_offer("SSRF-1")).await;
    let mut strict = (*app.state.settings).clone();
    strict.partners.webhooks.allow_loopback = false;
    let strict_state = AppState::new(strict, build_pool(app.db.url(), 2, Duration::from_secs(2)))
        .unwrap()
        .with_clock(app.clock.clone());
    let ran = queue::run_next(&strict_state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(ran.outcome, Outcome::Retry { .. }), "{ran:?}");
    assert!(sink.requests().is_empty());
    let log = delivery_log(&app, &admin, &partner_id).await;
    let error = log[0]["last_error"].as_str().unwrap();
    assert!(error.contains("loopback"), "{error}");
}

// --- attribution ----------------------------------------------------------------------------

#[actix_web::test]
async fn a_partner_s_webhooks_are_a_paginated_list() {
    let app = webhook_app().await;
    let admin = admin_token(&app).await;
    let (partner, _) = new_partner(&app, &admin, "hooks").await;
    let partner_id = id_of(&partner);
    let mut registered = Vec::new();
    for port in 0..5 {
        let res = register(
            &app,
            &admin,
            &partner_id,
            &format!("http://127.0.0.1:{}/hook", 9100 + port),
        )
        .await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        registered.push(res.json()["id"].as_str().unwrap().to_owned());
    }
    let path = format!("/api/v1/staff/partners/{partner_id}/webhooks");
    let listed = app.all_pages(&path, &admin, 2).await;
    let mut ids: Vec<&str> = listed.iter().map(|w| w["id"].as_str().unwrap()).collect();
    // Oldest first, then by id: the test clock stands still, so here by id only.
    registered.sort();
    assert_eq!(ids, registered, "every endpoint once, oldest first");
    ids.dedup();
    assert_eq!(ids.len(), 5);
    assert!(
        listed.iter().all(|w| w.get("secret").is_none()),
        "secrets are shown once only"
    );
}
