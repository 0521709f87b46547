//! Staff management of offers: round trip, validation, status machine, If-Match, roles.

use crate::support::{fixture_offer, open_offer, TestApp};
use actix_web::test::TestRequest;
use passerelle::auth::Role;
use serde_json::{json, Value};

#[actix_web::test]
async fn the_fixture_round_trips_unchanged_accents_included() {
    let app = TestApp::new().await;
    let (manager, token) = app.token_for(Role::Manager).await;
    let fixture = fixture_offer();
    let (created, etag) = app.create_offer(&token, fixture.clone()).await;
    assert_eq!(created["status"], "draft");
    assert_eq!(
        created["slug"],
        "stage-cooperation-decentralisee-zone-maghreb-proche-orient"
    );
    assert_eq!(created["created_by"], manager.id.to_string());

    let id = created["id"].as_str().unwrap();
    let read = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(&token))
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag"), Some(etag.as_str()));
    let body = read.json();
    for (key, value) in fixture.as_object().unwrap() {
        assert_eq!(&body[key], value, "field {key} changed in the round trip");
    }
    assert_eq!(
        body["title"],
        "Stage – Coopération décentralisée zone Maghreb/Proche-Orient"
    );
    assert_eq!(app.audit_actions(id), ["offer.created"]);
}

#[actix_web::test]
async fn invalid_offers_get_one_error_per_field() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Admin).await;
    let mut offer = fixture_offer();
    offer["contract"]["duration_months_max"] = json!(8);
    offer["contract"]["paid"] = json!(false);
    offer["contract"]["hourly_gratification_eur"] = Value::Null;
    offer["requirements"]["languages"][0]["level"] = json!("C9");
    offer["title"] = json!("x".repeat(300));
    let res = app
        .post_json("/api/v1/staff/offers", Some(&token), offer)
        .await;
    let body = res.assert_problem(422, "validation_failed");
    let got: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (field, code) in [
        ("contract.duration_months_max", "internship_too_long"),
        ("contract.paid", "gratification_required"),
        ("requirements.languages[0].level", "invalid_choice"),
        ("title", "too_long"),
    ] {
        assert!(
            got.contains(&(field.to_owned(), code.to_owned())),
            "{field}/{code} missing in {got:?}"
        );
    }

    let mut low = fixture_offer();
    low["contract"]["hourly_gratification_eur"] = json!(4.2);
    let body = app
        .post_json("/api/v1/staff/offers", Some(&token), low)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["code"], "below_legal_minimum");

    let mut unknown = fixture_offer();
    unknown["salary"] = json!(3000);
    app.post_json("/api/v1/staff/offers", Some(&token), unknown)
        .await
        .assert_problem(422, "invalid_body");
    let mut wrong_type = fixture_offer();
    wrong_type["positions"] = json!("one");
    app.post_json("/api/v1/staff/offers", Some(&token), wrong_type)
        .await
        .assert_problem(422, "invalid_body");
    // Nothing was written by the refused requests.
    assert_eq!(
        app.get("/api/v1/staff/offers", Some(&token)).await.json()["total"],
        0
    );
}

#[actix_web::test]
async fn references_are_unique_and_slugs_too() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    let (first, _) = app.create_offer(&token, fixture_offer()).await;
    app.post_json("/api/v1/staff/offers", Some(&token), fixture_offer())
        .await
        .assert_problem(409, "reference_taken");
    let (second, _) = app
        .create_offer(&token, open_offer("VDG-VO-2026-008"))
        .await;
    assert_eq!(
        second["slug"],
        format!("{}-2", first["slug"].as_str().unwrap())
    );
}

#[actix_web::test]
async fn reviewers_and_anonymous_callers_cannot_touch_staff_offers() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let (created, etag) = app.create_offer(&manager, fixture_offer()).await;
    let id = created["id"].as_str().unwrap();
    let (_, reviewer) = app.token_for(Role::Reviewer).await;
    let path = format!("/api/v1/staff/offers/{id}");
    app.post_json("/api/v1/staff/offers", Some(&reviewer), fixture_offer())
        .await
        .assert_problem(403, "forbidden");
    // A reviewer sees only offers assigned to them: none here, and the others are 404.
    let listed = app.get("/api/v1/staff/offers", Some(&reviewer)).await;
    assert_eq!(listed.json()["total"], 0);
    app.get(&path, Some(&reviewer))
        .await
        .assert_problem(404, "not_found");
    app.post_if_match(&format!("{path}/publish"), &reviewer, &etag, json!({}))
        .await
        .assert_problem(404, "not_found");
    app.send(
        TestRequest::delete()
            .uri(&path)
            .insert_header(("Authorization", format!("Bearer {reviewer}")))
            .insert_header(("If-Match", etag.clone())),
    )
    .await
    .assert_problem(404, "not_found");
    app.get("/api/v1/staff/offers", None)
        .await
        .assert_problem(401, "unauthenticated");
    app.post_json("/api/v1/staff/offers", None, fixture_offer())
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        app.get(&path, Some(&manager)).await.json()["status"],
        "draft"
    );
}

async fn patch(
    app: &TestApp,
    path: &str,
    token: &str,
    etag: Option<&str>,
    body: Value,
) -> crate::support::TestResponse {
    let mut req = TestRequest::patch()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("content-type", "application/merge-patch+json"))
        .set_payload(body.to_string());
    if let Some(etag) = etag {
        req = req.insert_header(("If-Match", etag.to_owned()));
    }
    app.send(req).await
}

#[actix_web::test]
async fn writes_need_the_current_etag() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    let (created, etag) = app.create_offer(&token, fixture_offer()).await;
    let path = format!("/api/v1/staff/offers/{}", created["id"].as_str().unwrap());

    patch(&app, &path, &token, None, json!({"positions": 2}))
        .await
        .assert_problem(428, "if_match_required");
    let res = patch(
        &app,
        &path,
        &token,
        Some(&etag),
        json!({"positions": 2, "contract": {"remote": "partial"}}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let new_etag = res.header("etag").unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let body = res.json();
    assert_eq!(body["positions"], 2);
    assert_eq!(body["contract"]["remote"], "partial");
    assert_eq!(
        body["contract"]["duration_months_max"], 6,
        "other fields kept"
    );

    // Someone else still holds the old version: refused, nothing overwritten.
    patch(&app, &path, &token, Some(&etag), json!({"positions": 3}))
        .await
        .assert_problem(412, "stale_etag");
    // A patch that breaks a rule is refused as a whole.
    patch(
        &app,
        &path,
        &token,
        Some(&new_etag),
        json!({"contract": {"duration_months_max": 7}}),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert_eq!(app.get(&path, Some(&token)).await.json()["positions"], 2);

    // Full replacement with PUT.
    let mut replacement = fixture_offer();
    replacement["title"] = json!("Stage – Jumelages européens");
    let res = app
        .send(
            TestRequest::put()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("If-Match", new_etag.clone()))
                .set_json(replacement),
        )
        .await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["positions"], 1);
    assert_eq!(
        body["slug"], "stage-jumelages-europeens",
        "a draft's slug follows its title"
    );
    let put_stale = app
        .send(
            TestRequest::put()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("If-Match", new_etag))
                .set_json(fixture_offer()),
        )
        .await;
    put_stale.assert_problem(412, "stale_etag");
    let put_missing = app
        .send(
            TestRequest::put()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .set_json(fixture_offer()),
        )
        .await;
    put_missing.assert_problem(428, "if_match_required");
    assert_eq!(
        app.audit_actions(created["id"].as_str().unwrap()),
        ["offer.created", "offer.updated", "offer.updated"]
    );
}

#[actix_web::test]
async fn the_status_machine_refuses_illegal_moves_with_a_reason() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    let (created, mut etag) = app.create_offer(&token, open_offer("VDG-T-1")).await;
    let id = created["id"].as_str().unwrap();
    let go = |action: &str| format!("/api/v1/staff/offers/{id}/{action}");

    for illegal in ["close", "archive", "reopen"] {
        let body = app
            .post_if_match(&go(illegal), &token, &etag, json!({}))
            .await
            .assert_problem(409, "illegal_transition");
        assert!(body["detail"].as_str().unwrap().contains("draft"), "{body}");
    }
    for (action, status, illegal) in [
        ("publish", "published", ["publish", "archive", "reopen"]),
        ("close", "closed", ["publish", "close", "close"]),
        ("reopen", "published", ["publish", "archive", "reopen"]),
        ("close", "closed", ["close", "publish", "close"]),
        ("archive", "archived", ["publish", "close", "reopen"]),
    ] {
        let res = app
            .post_if_match(&go(action), &token, &etag, json!({}))
            .await;
        assert_eq!(
            res.status,
            200,
            "{action}: {}",
            String::from_utf8_lossy(&res.body)
        );
        assert_eq!(res.json()["status"], status);
        etag = res.header("etag").unwrap().to_owned();
        for i in illegal {
            app.post_if_match(&go(i), &token, &etag, json!({}))
                .await
                .assert_problem(409, "illegal_transition");
        }
    }
    // Archived offers no longer change.
    patch(
        &app,
        &format!("/api/v1/staff/offers/{id}"),
        &token,
        Some(&etag),
        json!({"positions": 2}),
    )
    .await
    .assert_problem(409, "offer_archived");
    let body = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(&token))
        .await
        .json();
    assert!(body["first_published_at"].is_string() && body["archived_at"].is_string());
    assert_eq!(
        app.audit_actions(id),
        [
            "offer.created",
            "offer.published",
            "offer.closed",
            "offer.reopened",
            "offer.closed",
            "offer.archived"
        ]
    );
}

#[actix_web::test]
async fn publishing_refuses_a_passed_deadline_and_a_stale_etag() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    // The fixture's deadline (2026-01-15) has passed.
    let (created, etag) = app.create_offer(&token, fixture_offer()).await;
    let id = created["id"].as_str().unwrap();
    let body = app
        .post_if_match(
            &format!("/api/v1/staff/offers/{id}/publish"),
            &token,
            &etag,
            json!({}),
        )
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "application.deadline");
    assert_eq!(body["errors"][0]["code"], "deadline_passed");
    app.post_if_match(
        &format!("/api/v1/staff/offers/{id}/publish"),
        &token,
        "\"stale\"",
        json!({}),
    )
    .await
    .assert_problem(412, "stale_etag");
    app.post_json(
        &format!("/api/v1/staff/offers/{id}/publish"),
        Some(&token),
        json!({}),
    )
    .await
    .assert_problem(428, "if_match_required");
    app.post_if_match(
        &format!("/api/v1/staff/offers/{}/publish", uuid::Uuid::new_v4()),
        &token,
        &etag,
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn only_drafts_are_deleted() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Admin).await;
    let published = app.publish_new_offer(&token, open_offer("VDG-T-2")).await;
    let (draft, draft_etag) = app.create_offer(&token, open_offer("VDG-T-3")).await;
    let delete = |id: &str, etag: &str| {
        TestRequest::delete()
            .uri(&format!("/api/v1/staff/offers/{id}"))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("If-Match", etag.to_owned()))
    };
    let published_etag = app
        .get(
            &format!("/api/v1/staff/offers/{}", published["id"].as_str().unwrap()),
            Some(&token),
        )
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    app.send(delete(published["id"].as_str().unwrap(), &published_etag))
        .await
        .assert_problem(409, "not_a_draft");
    let res = app
        .send(delete(draft["id"].as_str().unwrap(), &draft_etag))
        .await;
    assert_eq!(res.status, 204);
    app.get(
        &format!("/api/v1/staff/offers/{}", draft["id"].as_str().unwrap()),
        Some(&token),
    )
    .await
    .assert_problem(404, "not_found");
    assert_eq!(
        app.audit_actions(draft["id"].as_str().unwrap()),
        ["offer.created", "offer.deleted"]
    );
}

#[actix_web::test]
async fn the_staff_list_filters_by_status_and_search() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    app.publish_new_offer(&token, open_offer("VDG-T-4")).await;
    let mut other = open_offer("VDG-T-5");
    other["title"] = json!("Stage – Biodiversité urbaine");
    other["summary"] = json!("Inventaires des espèces dans les parcs.");
    app.create_offer(&token, other).await;

    let all = app.get("/api/v1/staff/offers", Some(&token)).await.json();
    assert_eq!(all["total"], 2);
    let drafts = app
        .get("/api/v1/staff/offers?status=draft", Some(&token))
        .await
        .json();
    assert_eq!(drafts["total"], 1);
    assert_eq!(drafts["items"][0]["reference"], "VDG-T-5");
    let found = app
        .get("/api/v1/staff/offers?q=biodiversite", Some(&token))
        .await
        .json();
    assert_eq!(found["total"], 1);
    app.get("/api/v1/staff/offers?status=gone", Some(&token))
        .await
        .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn offers_with_the_same_title_created_at_once_get_distinct_slugs() {
    let app = crate::support::TestApp::new().await;
    let (_, token) = app.token_for(passerelle::auth::Role::Manager).await;
    let creates = (0..8).map(|i| {
        app.post_json(
            "/api/v1/staff/offers",
            Some(&token),
            crate::support::open_offer(&format!("VDG-SAME-{i}")),
        )
    });
    let answers = futures_util::future::join_all(creates).await;
    let mut slugs: Vec<String> = answers
        .iter()
        .map(|res| {
            assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
            res.json()["slug"].as_str().unwrap().to_owned()
        })
        .collect();
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), 8, "{slugs:?}");
}
