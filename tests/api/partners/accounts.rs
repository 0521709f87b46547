//! Partner accounts and keys: creation, who may manage them, scoping, deactivation,
//! rotation with its overlap, and the rate limit shared by instances.

use super::*;

#[actix_web::test]
async fn admins_create_partners_whose_key_is_shown_once_and_stored_hashed() {
    let app = TestApp::new().await;
    let admin = admin_token(&app).await;
    let (created, key) = new_partner(&app, &admin, "uga-career-center").await;
    assert!(key.starts_with("ppk_"), "{key}");
    assert_eq!(created["slug"], "uga-career-center");
    assert_eq!(created["contact_email"], "stages@univ.example");
    assert_eq!(created["active"], true);
    let prefix = created["keys"][0]["prefix"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&prefix) && prefix.len() == 12, "{prefix}");

    // Only a hash is kept; the key never shows again.
    use passerelle::db::schema::partner_keys;
    let stored: Vec<(String, Vec<u8>)> = partner_keys::table
        .select((partner_keys::prefix, partner_keys::key_hash))
        .load(&mut app.db.connect())
        .unwrap();
    assert_eq!(
        stored,
        vec![(prefix.clone(), Sha256::digest(key.as_bytes()).to_vec())]
    );
    let id = id_of(&created);
    let read = app
        .get(&format!("/api/v1/staff/partners/{id}"), Some(&admin))
        .await;
    assert_eq!(read.status, 200);
    assert!(!String::from_utf8_lossy(&read.body).contains(&key));
    assert_eq!(read.json()["keys"][0]["prefix"], prefix.as_str());
    assert_eq!(read.json()["keys"][0]["valid"], true);
    let etag = read.header("etag").unwrap().to_owned();
    let again = app
        .send(
            actix_test::TestRequest::get()
                .uri(&format!("/api/v1/staff/partners/{id}"))
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(again.status, 304);
    let list = app.get("/api/v1/staff/partners", Some(&admin)).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["total"], 1);
    assert!(!String::from_utf8_lossy(&list.body).contains(&key));
    assert_eq!(app.audit_actions(&id), vec!["partner.created"]);

    // The key works on partner routes.
    assert_eq!(
        app.get("/api/v1/partner/offers", Some(&key)).await.status,
        200
    );

    // Conflicts and invalid input are problems, never 500.
    app.post_json(
        "/api/v1/staff/partners",
        Some(&admin),
        json!({"name": "Autre", "slug": "uga-career-center", "contact_email": "a@b.example"}),
    )
    .await
    .assert_problem(409, "slug_taken");
    let bad = app
        .post_json(
            "/api/v1/staff/partners",
            Some(&admin),
            json!({"name": "", "slug": "Pas Bon", "contact_email": "nope"}),
        )
        .await
        .assert_problem(422, "validation_failed");
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["name", "slug", "contact_email"] {
        assert!(fields.contains(&f), "{f} not reported: {bad}");
    }
    app.post_json(
        "/api/v1/staff/partners",
        Some(&admin),
        json!({"name": "X", "slug": "x-y", "contact_email": "a@b.example", "api_key": "mine"}),
    )
    .await
    .assert_problem(422, "invalid_body");
    let malformed = app
        .send(
            actix_test::TestRequest::post()
                .uri("/api/v1/staff/partners")
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .insert_header(("Content-Type", "application/json"))
                .set_payload("{\"name\": "),
        )
        .await;
    malformed.assert_problem(400, "malformed_json");
    app.get("/api/v1/staff/partners/not-a-uuid", Some(&admin))
        .await
        .assert_problem(404, "not_found");
    app.get(
        &format!("/api/v1/staff/partners/{}", uuid::Uuid::new_v4()),
        Some(&admin),
    )
    .await
    .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn only_admins_manage_partners() {
    let app = TestApp::new().await;
    let admin = admin_token(&app).await;
    let (partner, _) = new_partner(&app, &admin, "jobboard").await;
    let id = id_of(&partner);
    for role in [Role::Manager, Role::Reviewer] {
        let (_, token) = app.token_for(role).await;
        app.get("/api/v1/staff/partners", Some(&token))
            .await
            .assert_problem(403, "forbidden");
        app.post_json(
            "/api/v1/staff/partners",
            Some(&token),
            json!({"name": "X", "slug": "x", "contact_email": "a@b.example"}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.post_json(
            &format!("/api/v1/staff/partners/{id}/keys"),
            Some(&token),
            json!({}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.get(
            &format!("/api/v1/staff/partners/{id}/webhooks"),
            Some(&token),
        )
        .await
        .assert_problem(403, "forbidden");
        app.get(
            &format!("/api/v1/staff/partners/{id}/deliveries"),
            Some(&token),
        )
        .await
        .assert_problem(403, "forbidden");
    }
    app.get("/api/v1/staff/partners", None)
        .await
        .assert_problem(401, "unauthenticated");
    app.patch_json(
        &format!("/api/v1/staff/partners/{id}"),
        None,
        json!({"active": false}),
    )
    .await
    .assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn each_kind_of_credential_works_only_where_it_belongs() {
    let app = TestApp::new().await;
    let (_, admin) = app.token_for(Role::Admin).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;

    // Partner keys are not staff tokens: 401 on staff routes.
    for path in [
        "/api/v1/auth/me",
        "/api/v1/staff/offers",
        "/api/v1/staff/partners",
    ] {
        app.get(path, Some(&key))
            .await
            .assert_problem(401, "invalid_token");
    }
    // Staff tokens, tracking tokens, made-up keys and nothing at all: 401 on partner routes.
    for path in ["/api/v1/partner/offers", "/api/v1/partner/offers/changes"] {
        app.get(path, Some(&admin))
            .await
            .assert_problem(401, "invalid_partner_key");
        app.get(path, Some("pct_dGhpcy1pcy1hLXRyYWNraW5nLXRva2Vu"))
            .await
            .assert_problem(401, "invalid_partner_key");
        app.get(
            path,
            Some("ppk_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .await
        .assert_problem(401, "invalid_partner_key");
        let anonymous = app.get(path, None).await;
        anonymous.assert_problem(401, "unauthenticated");
        assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
        assert_eq!(app.get(path, Some(&key)).await.status, 200);
    }
    // The candidate's routes do not take partner keys either.
    app.get("/api/v1/candidate/application", Some(&key))
        .await
        .assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn a_deactivated_partner_is_refused_at_once() {
    let app = TestApp::new().await;
    let admin = admin_token(&app).await;
    let (partner, key) = new_partner(&app, &admin, "jobboard").await;
    let id = id_of(&partner);
    assert_eq!(
        app.get("/api/v1/partner/offers", Some(&key)).await.status,
        200
    );
    let res = app
        .patch_json(
            &format!("/api/v1/staff/partners/{id}"),
            Some(&admin),
            json!({"active": false}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["active"], false);
    app.get("/api/v1/partner/offers", Some(&key))
        .await
        .assert_problem(401, "invalid_partner_key");
    app.patch_json(
        &format!("/api/v1/staff/partners/{id}"),
        Some(&admin),
        json!({"active": true}),
    )
    .await;
    assert_eq!(
        app.get("/api/v1/partner/offers", Some(&key)).await.status,
        200
    );
    app.patch_json(
        &format!("/api/v1/staff/partners/{id}"),
        Some(&admin),
        json!({"contact_email": "x"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert_eq!(
        app.audit_actions(&id),
        vec!["partner.created", "partner.updated", "partner.updated"]
    );
}

#[actix_web::test]
async fn a_rotated_key_keeps_working_through_the_overlap_then_stops() {
    let app = TestApp::new().await;
    let admin = admin_token(&app).await;
    let (partner, old_key) = new_partner(&app, &admin, "jobboard").await;
    let id = id_of(&partner);

    let res = app
        .post_json(
            &format!("/api/v1/staff/partners/{id}/keys"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let rotated = res.json();
    let new_key = rotated["api_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, old_key);
    let expires: DateTime<Utc> = rotated["previous_keys_expire_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!((expires - app.state.now()).num_hours(), 24);

    // Both work during the overlap.
    for key in [&old_key, &new_key] {
        assert_eq!(
            app.get("/api/v1/partner/offers", Some(key)).await.status,
            200
        );
    }
    let keys = app
        .get(&format!("/api/v1/staff/partners/{id}"), Some(&admin))
        .await
        .json()["keys"]
        .clone();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert_eq!(keys[0]["prefix"], rotated["key"]["prefix"]);
    assert!(keys[0]["expires_at"].is_null());
    assert!(keys[1]["expires_at"].is_string());
    assert!(keys[1]["last_used_at"].is_string());

    // After it, only the new key.
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    // (The admin calls below need the real clock: staff tokens are checked against it.)
    app.get("/api/v1/partner/offers", Some(&old_key))
        .await
        .assert_problem(401, "invalid_partner_key");
    assert_eq!(
        app.get("/api/v1/partner/offers", Some(&new_key))
            .await
            .status,
        200
    );
    app.clock.set(Utc::now() + chrono::Duration::seconds(2));

    // A leaked key is replaced with no overlap at all; too long an overlap is refused.
    let res = app
        .post_json(
            &format!("/api/v1/staff/partners/{id}/keys?overlap_hours=0"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(res.status, 201);
    let newest = res.json()["api_key"].as_str().unwrap().to_owned();
    app.get("/api/v1/partner/offers", Some(&new_key))
        .await
        .assert_problem(401, "invalid_partner_key");
    assert_eq!(
        app.get("/api/v1/partner/offers", Some(&newest))
            .await
            .status,
        200
    );
    app.post_json(
        &format!("/api/v1/staff/partners/{id}/keys?overlap_hours=1000"),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post_json(
        &format!("/api/v1/staff/partners/{}/keys", uuid::Uuid::new_v4()),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    assert_eq!(
        app.audit_actions(&id),
        vec![
            "partner.created",
            "partner.key_rotated",
            "partner.key_rotated"
        ]
    );
}

#[actix_web::test]
async fn the_rate_limit_is_shared_by_instances_and_answers_429_with_retry_after() {
    let app = TestApp::with_settings(|s| {
        s.partners.rate_limit = 3;
        s.partners.rate_window = Duration::from_secs(60);
    })
    .await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let (_, other_key) = new_partner(&app, &admin, "other").await;
    // Start at the beginning of a window, so that the test does not straddle two.
    let now = app.state.now();
    app.clock
        .set(DateTime::from_timestamp(now.timestamp() - now.timestamp() % 60 + 60, 0).unwrap());

    let second_instance = TestApp::from_state(app.another_instance()).await;
    let on_second = |key: &str| {
        let req = actix_test::TestRequest::get()
            .uri("/api/v1/partner/offers")
            .insert_header(("Authorization", format!("Bearer {key}")))
            .to_request();
        second_instance(req)
    };
    assert_eq!(
        app.get("/api/v1/partner/offers", Some(&key)).await.status,
        200
    );
    assert_eq!(on_second(&key).await.status(), 200);
    assert_eq!(
        app.get("/api/v1/partner/offers/changes", Some(&key))
            .await
            .status,
        200
    );
    // The fourth request of the window, whichever instance gets it.
    let throttled = on_second(&key).await;
    assert_eq!(throttled.status(), 429);
    let res = app.get("/api/v1/partner/offers", Some(&key)).await;
    res.assert_problem(429, "too_many_requests");
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another partner has its own budget.
    assert_eq!(
        app.get("/api/v1/partner/offers", Some(&other_key))
            .await
            .status,
        200
    );

    app.clock.advance(chrono::Duration::seconds(retry as i64));
    assert_eq!(
        app.get("/api/v1/partner/offers", Some(&key)).await.status,
        200
    );
}

// --- sync -----------------------------------------------------------------------------------
