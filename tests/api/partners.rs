//! Partner job boards: accounts and keys (scoping, rotation, the shared rate limit), the
//! snapshot and the change feed (order, tombstones, resumption, transactions committing out
//! of order, empty pages, ETags), JSON-LD, the XML and Atom feeds, signed webhooks delivered
//! to a real local HTTP receiver, outbound safety, and attribution.

use crate::{
    support::{open_offer, OfferDates, TestApp, TestResponse},
    webhook_sink::WebhookSink,
};
use actix_web::test as actix_test;
use chrono::{DateTime, Utc};
use diesel::{prelude::*, sql_query};
use hmac::{Hmac, Mac};
use passerelle::{
    auth::Role,
    db::build_pool,
    jobs::{self as queue, Outcome},
    state::AppState,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

// --- helpers ------------------------------------------------------------------------------

async fn admin_token(app: &TestApp) -> String {
    app.token_for(Role::Admin).await.1
}

/// Creates a partner through the API; returns its body and its API key.
async fn new_partner(app: &TestApp, admin: &str, slug: &str) -> (Value, String) {
    let res = app
        .post_json(
            "/api/v1/staff/partners",
            Some(admin),
            json!({"name": format!("Partenaire {slug}"), "slug": slug, "contact_email": "Stages@Univ.example"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    let key = body["api_key"].as_str().unwrap().to_owned();
    (body, key)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// The staff ETag of an offer, then a transition with it.
async fn move_offer(app: &TestApp, token: &str, id: &str, transition: &str) -> Value {
    let etag = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(token))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let res = app
        .post_if_match(
            &format!("/api/v1/staff/offers/{id}/{transition}"),
            token,
            &etag,
            json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

async fn patch_offer(app: &TestApp, token: &str, id: &str, patch: Value) -> Value {
    let etag = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(token))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let res = app
        .send(
            actix_test::TestRequest::patch()
                .uri(&format!("/api/v1/staff/offers/{id}"))
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("If-Match", etag))
                .set_json(patch),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

fn changes_path(cursor: Option<&str>, limit: usize) -> String {
    match cursor {
        Some(c) => format!("/api/v1/partner/offers/changes?limit={limit}&cursor={c}"),
        None => format!("/api/v1/partner/offers/changes?limit={limit}"),
    }
}

/// Follows the feed from `cursor` until `expected` items arrived and no more are waiting.
async fn follow(
    app: &TestApp,
    key: &str,
    cursor: Option<String>,
    expected: usize,
) -> (Vec<Value>, String) {
    follow_until(app, key, cursor, |items| items.len() >= expected).await
}

/// Follows the feed from `cursor` until `done` says the items are complete and no more are
/// waiting. A change shows once every transaction older than it has finished, on the whole
/// server: other tests' transactions may hold it back for a moment, so this waits for them.
async fn follow_until(
    app: &TestApp,
    key: &str,
    cursor: Option<String>,
    done: impl Fn(&[Value]) -> bool,
) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut cursor = cursor;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app
            .get(&changes_path(cursor.as_deref(), 100), Some(key))
            .await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let body = res.json();
        let page = body["items"].as_array().unwrap().clone();
        let next = body["next_cursor"].as_str().unwrap().to_owned();
        if page.is_empty() {
            if let Some(c) = &cursor {
                assert_eq!(c, &next, "an empty page moved the cursor");
            }
        }
        items.extend(page);
        cursor = Some(next);
        if done(&items) && body["has_more"] == false {
            return (items, cursor.unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "timed out with {} changes: {items:?}",
            items.len()
        );
        if body["has_more"] == false {
            actix_web::rt::time::sleep(Duration::from_millis(30)).await;
        }
    }
}

/// `(kind, offer id, reason)` of each item.
fn summary(items: &[Value]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|i| {
            let kind = i["kind"].as_str().unwrap().to_owned();
            let id = if kind == "upsert" {
                i["offer"]["id"].clone()
            } else {
                i["id"].clone()
            };
            (
                kind,
                id.as_str().unwrap().to_owned(),
                i["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

// --- accounts and keys ----------------------------------------------------------------------

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

#[actix_web::test]
async fn the_snapshot_lists_every_public_offer_once_and_hands_over_to_the_feed() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let mut published = Vec::new();
    for n in 0..5 {
        published.push(id_of(
            &app.publish_new_offer(&manager, open_offer(&format!("SNAP-{n}")))
                .await,
        ));
    }
    app.create_offer(&manager, open_offer("SNAP-DRAFT")).await;
    let closed = id_of(
        &app.publish_new_offer(&manager, open_offer("SNAP-CLOSED"))
            .await,
    );
    move_offer(&app, &manager, &closed, "close").await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/partner/offers?limit=2".to_owned();
    let mut changes_cursor = None;
    loop {
        let res = app.get(&path, Some(&key)).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
        let body = res.json();
        assert_eq!(body["total"], 5);
        changes_cursor.get_or_insert(body["changes_cursor"].as_str().unwrap().to_owned());
        for item in body["items"].as_array().unwrap() {
            assert_eq!(item["status"], "published");
            assert!(item["contact"]["email"].is_string() && item["missions"].is_array());
            for hidden in ["created_by", "updated_by", "version", "search"] {
                assert!(item.get(hidden).is_none(), "{hidden} leaked");
            }
            seen.push(id_of(item));
        }
        match body["next_cursor"].as_str() {
            Some(c) => {
                assert!(res.header("link").unwrap().contains("rel=\"next\""));
                path = format!("/api/v1/partner/offers?limit=2&cursor={c}");
            }
            None => break,
        }
    }
    let mut expected = published.clone();
    expected.sort();
    assert_eq!(
        seen, expected,
        "each public offer exactly once, in a stable order"
    );

    // What changes after the snapshot comes through the feed from its cursor.
    move_offer(&app, &manager, &published[0], "close").await;
    let closed_first = (
        "tombstone".to_owned(),
        published[0].clone(),
        "closed".to_owned(),
    );
    let (items, _) = follow_until(&app, &key, changes_cursor, |items| {
        summary(items).contains(&closed_first)
    })
    .await;
    assert_eq!(summary(&items).last().unwrap(), &closed_first);

    app.get("/api/v1/partner/offers?cursor=garbage", Some(&key))
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/v1/partner/offers?limit=0", Some(&key))
        .await
        .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn the_change_feed_gives_every_change_in_order_with_tombstones() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let a = id_of(&app.publish_new_offer(&manager, open_offer("FEED-A")).await);
    let b = id_of(&app.publish_new_offer(&manager, open_offer("FEED-B")).await);
    let (draft, _) = app.create_offer(&manager, open_offer("FEED-DRAFT")).await;
    patch_offer(&app, &manager, &id_of(&draft), json!({"positions": 3})).await;
    patch_offer(&app, &manager, &a, json!({"positions": 2})).await;
    move_offer(&app, &manager, &b, "close").await;
    move_offer(&app, &manager, &b, "archive").await;
    // Writes outside the API are in the feed too: the trigger sees every write path.
    let c = id_of(&app.publish_new_offer(&manager, open_offer("FEED-C")).await);
    let d = id_of(&app.publish_new_offer(&manager, open_offer("FEED-D")).await);
    let mut conn = app.db.connect();
    sql_query(format!(
        "UPDATE offers SET status = 'draft', published_at = NULL WHERE id = '{c}'"
    ))
    .execute(&mut conn)
    .unwrap();
    sql_query(format!("DELETE FROM offers WHERE id = '{d}'"))
        .execute(&mut conn)
        .unwrap();

    let (items, _) = follow(&app, &key, None, 8).await;
    let s = |k: &str, id: &str, r: &str| (k.to_owned(), id.to_owned(), r.to_owned());
    // Upserts show the offer as it is now: an offer gone since shows as its tombstone.
    assert_eq!(
        summary(&items),
        vec![
            s("upsert", &a, ""),
            s("tombstone", &b, "archived"),
            s("upsert", &a, ""),
            s("tombstone", &b, "closed"),
            s("tombstone", &c, "unpublished"),
            s("tombstone", &d, "deleted"),
            s("tombstone", &c, "unpublished"),
            s("tombstone", &d, "deleted"),
        ]
    );
    // The draft never appears; the upserts carry the whole public offer, current.
    assert!(!summary(&items)
        .iter()
        .any(|(_, id, _)| id == &id_of(&draft)));
    assert_eq!(items[0]["offer"]["positions"], 2);
    assert_eq!(items[0]["offer"]["reference"], "FEED-A");
    assert!(items[0]["offer"].get("created_by").is_none());
    assert!(items[0]["changed_at"].is_string());
}

#[actix_web::test]
async fn the_feed_resumes_from_any_cursor_and_an_empty_page_keeps_it() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(id_of(
            &app.publish_new_offer(&manager, open_offer(&format!("RES-{n}")))
                .await,
        ));
    }
    move_offer(&app, &manager, &ids[1], "close").await;
    let (all, end) = follow(&app, &key, None, 5).await;
    let all = summary(&all);

    // Page by page with limit=1, keeping every cursor.
    let mut cursors = vec![None];
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let body = app
            .get(&changes_path(cursor.as_deref(), 1), Some(&key))
            .await
            .json();
        assert_eq!(body["items"].as_array().unwrap().len(), 1);
        cursor = Some(body["next_cursor"].as_str().unwrap().to_owned());
        cursors.push(cursor.clone());
    }
    assert_eq!(cursor.as_deref(), Some(end.as_str()));
    // From each cursor, exactly the rest.
    for (n, c) in cursors.iter().enumerate() {
        let (rest, _) = follow(&app, &key, c.clone(), 5 - n).await;
        assert_eq!(summary(&rest), all[n..].to_vec(), "from cursor {n}");
    }

    // At the end: an empty page, the same cursor, the same ETag, and 304 for it.
    let res = app.get(&changes_path(Some(&end), 20), Some(&key)).await;
    let body = res.json();
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["next_cursor"], end.as_str());
    assert_eq!(body["has_more"], false);
    let etag = res.header("etag").unwrap().to_owned();
    let again = app
        .send(
            actix_test::TestRequest::get()
                .uri(&changes_path(Some(&end), 20))
                .insert_header(("Authorization", format!("Bearer {key}")))
                .insert_header(("If-None-Match", etag.clone())),
        )
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    // Once something changes, the same request is a 200 with it.
    move_offer(&app, &manager, &ids[0], "close").await;
    let (next, _) = follow(&app, &key, Some(end.clone()), 1).await;
    assert_eq!(
        summary(&next),
        vec![("tombstone".to_owned(), ids[0].clone(), "closed".to_owned())]
    );

    // The snapshot has ETags too.
    let snap = app.get("/api/v1/partner/offers", Some(&key)).await;
    let etag = snap.header("etag").unwrap().to_owned();
    let again = app
        .send(
            actix_test::TestRequest::get()
                .uri("/api/v1/partner/offers")
                .insert_header(("Authorization", format!("Bearer {key}")))
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(again.status, 304);

    for bad in ["garbage", "YzF8eHwx", "%00"] {
        app.get(&changes_path(Some(bad), 20), Some(&key))
            .await
            .assert_problem(422, "validation_failed");
    }
    app.get("/api/v1/partner/offers/changes?limit=500", Some(&key))
        .await
        .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn a_transaction_that_started_first_but_commits_last_is_not_skipped() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let a = id_of(&app.publish_new_offer(&manager, open_offer("TX-A")).await);
    let b = id_of(&app.publish_new_offer(&manager, open_offer("TX-B")).await);
    let (_, cursor) = follow(&app, &key, None, 2).await;

    // Today the catalogue-version row happens to serialise writers of offers; drop its trigger
    // in this test's database so that what is tested is the feed's own guarantee.
    let mut setup = app.db.connect();
    sql_query("DROP TRIGGER offers_bump_catalog_version ON offers")
        .execute(&mut setup)
        .unwrap();

    let bump = |id: &str| {
        format!("UPDATE offers SET positions = positions + 1, version = version + 1, updated_at = now() WHERE id = '{id}'")
    };
    // T1 starts and writes first...
    let mut t1 = app.db.connect();
    sql_query("BEGIN").execute(&mut t1).unwrap();
    sql_query(bump(&a)).execute(&mut t1).unwrap();
    // ...T2 starts later, writes, and commits first.
    let mut t2 = app.db.connect();
    sql_query("BEGIN").execute(&mut t2).unwrap();
    sql_query(bump(&b)).execute(&mut t2).unwrap();
    sql_query("COMMIT").execute(&mut t2).unwrap();

    // A feed ordered by sequence alone would now hand out B's change, and its cursor would
    // pass over A's, which has the smaller sequence but is not committed yet.
    // The reader gets nothing yet: B waits for the older T1.
    let body = app
        .get(&changes_path(Some(&cursor), 20), Some(&key))
        .await
        .json();
    assert_eq!(
        body["items"],
        json!([]),
        "B was served before the older T1 ended"
    );
    assert_eq!(body["next_cursor"], cursor.as_str());

    sql_query("COMMIT").execute(&mut t1).unwrap();
    // A's change has the smaller sequence: a cursor by sequence alone, handed out after B's
    // change, would have passed over it.
    use passerelle::db::schema::offer_changes;
    let last_two: Vec<(i64, uuid::Uuid)> = offer_changes::table
        .select((offer_changes::seq, offer_changes::offer_id))
        .order(offer_changes::seq.desc())
        .limit(2)
        .load(&mut setup)
        .unwrap();
    assert_eq!(
        last_two
            .iter()
            .map(|(_, id)| id.to_string())
            .collect::<Vec<_>>(),
        vec![b.clone(), a.clone()]
    );
    // From the same cursor: A's change, then B's. Nothing skipped.
    let (items, _) = follow(&app, &key, Some(cursor), 2).await;
    assert_eq!(
        summary(&items),
        vec![
            ("upsert".to_owned(), a.clone(), String::new()),
            ("upsert".to_owned(), b.clone(), String::new())
        ]
    );
    assert_eq!(items[0]["offer"]["positions"], 2);
    assert_eq!(items[1]["offer"]["positions"], 2);
}

// --- publication formats ----------------------------------------------------------------------

#[actix_web::test]
async fn json_ld_can_be_embedded_in_a_script_element() {
    // Front-ends paste this body into <script type="application/ld+json">: no field may
    // close the element (stored XSS on the city's site).
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let evil = "</script><script>alert(document.cookie)</script>";
    let mut offer = open_offer("LD-XSS");
    offer["title"] = json!(format!("Stage {evil}"));
    offer["organization"] = json!(format!("Ville & {evil}"));
    offer["contact"]["name"] = json!(format!("Camille <!-- {evil}"));
    let offer = app.publish_new_offer(&manager, offer).await;
    let res = app
        .get(&format!("/api/v1/offers/{}/jsonld", id_of(&offer)), None)
        .await;
    assert_eq!(res.status, 200);
    let text = String::from_utf8(res.body.clone()).unwrap();
    for bad in ["<", ">", "&"] {
        assert!(!text.contains(bad), "{bad} in {text}");
    }
    assert!(text.contains("\\u003c/script\\u003e"), "{text}");
    let ld = res.json();
    assert_eq!(ld["title"], offer["title"]);
    assert_eq!(ld["title"].as_str().unwrap(), format!("Stage {evil}"));
}

#[actix_web::test]
async fn json_ld_is_a_job_posting_with_what_google_requires() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let offer = app.publish_new_offer(&manager, open_offer("LD-1")).await;
    let id = id_of(&offer);
    let res = app.get(&format!("/api/v1/offers/{id}/jsonld"), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/ld+json"));
    let ld = res.json();
    assert_eq!(ld["@context"], "https://schema.org/");
    assert_eq!(ld["@type"], "JobPosting");
    assert_eq!(ld["title"], offer["title"]);
    let description = ld["description"].as_str().unwrap();
    assert!(
        description.contains("<h3>Missions</h3><ul><li>Assister la cheffe"),
        "{description}"
    );
    assert!(description.contains("Profil recherch"));
    assert!(description.contains("l'Algérie"));
    assert_eq!(ld["datePosted"], app.state.now().date_naive().to_string());
    assert_eq!(
        ld["validThrough"],
        format!("{}T23:59:59Z", OfferDates::now().deadline)
    );
    assert_eq!(ld["employmentType"], json!(["INTERN", "FULL_TIME"]));
    assert_eq!(ld["hiringOrganization"]["@type"], "Organization");
    assert_eq!(ld["hiringOrganization"]["name"], "Ville de Grenoble");
    let address = &ld["jobLocation"]["address"];
    assert_eq!(ld["jobLocation"]["@type"], "Place");
    assert_eq!(address["@type"], "PostalAddress");
    assert_eq!(address["addressCountry"], "FR");
    assert_eq!(address["addressLocality"], "Grenoble");
    assert_eq!(address["postalCode"], "38000");
    assert_eq!(address["streetAddress"], "2 Passage du Palais de justice");
    assert_eq!(ld["baseSalary"]["currency"], "EUR");
    assert_eq!(ld["baseSalary"]["value"]["value"], 4.5);
    assert_eq!(ld["baseSalary"]["value"]["unitText"], "HOUR");
    assert_eq!(ld["identifier"]["value"], "LD-1");
    assert_eq!(ld["directApply"], true);
    assert_eq!(
        ld["jobStartDate"],
        OfferDates::now().starts_from.to_string()
    );
    assert_eq!(
        ld["educationRequirements"],
        json!([{"@type": "EducationalOccupationalCredential", "credentialCategory": "postgraduate degree"}])
    );
    assert_eq!(
        ld["applicationContact"]["email"],
        "mathilde.lestra@grenoble.example"
    );
    assert!(ld["url"]
        .as_str()
        .unwrap()
        .ends_with(offer["slug"].as_str().unwrap()));

    // Cacheable; by slug too.
    let etag = res.header("etag").unwrap().to_owned();
    let again = app
        .send(
            actix_test::TestRequest::get()
                .uri(&format!("/api/v1/offers/{id}/jsonld"))
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(again.status, 304);
    let by_slug = app
        .get(
            &format!("/api/v1/offers/{}/jsonld", offer["slug"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(by_slug.json()["identifier"], ld["identifier"]);

    // Closed: no longer claims to be open.
    app.clock.advance(chrono::Duration::minutes(5));
    move_offer(&app, &manager, &id, "close").await;
    app.clock.advance(chrono::Duration::minutes(1));
    let closed = app
        .get(&format!("/api/v1/offers/{id}/jsonld"), None)
        .await
        .json();
    assert_eq!(closed["directApply"], false);
    let valid_through: DateTime<Utc> = closed["validThrough"].as_str().unwrap().parse().unwrap();
    assert!(valid_through < app.state.now(), "{valid_through}");

    // Drafts, archived and unknown offers are 404 problems.
    let (draft, _) = app.create_offer(&manager, open_offer("LD-DRAFT")).await;
    app.get(&format!("/api/v1/offers/{}/jsonld", id_of(&draft)), None)
        .await
        .assert_problem(404, "not_found");
    move_offer(&app, &manager, &id, "archive").await;
    app.get(&format!("/api/v1/offers/{id}/jsonld"), None)
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/offers/nothing-here/jsonld", None)
        .await
        .assert_problem(404, "not_found");
}

/// A small XML 1.0 well-formedness checker: elements nest and close, attributes are quoted
/// and unique, entity references are the predefined or numeric ones, CDATA sections close,
/// one root element. Enough to refuse what a broken escaper would produce.
mod xml {
    #[derive(Debug)]
    pub struct Element {
        pub name: String,
        pub attrs: Vec<(String, String)>,
        pub children: Vec<Node>,
    }

    #[derive(Debug)]
    pub enum Node {
        Element(Element),
        Text(String),
    }

    impl Element {
        pub fn all(&self, name: &str) -> Vec<&Element> {
            self.children
                .iter()
                .filter_map(|n| match n {
                    Node::Element(e) if e.name == name => Some(e),
                    _ => None,
                })
                .collect()
        }
        pub fn child(&self, name: &str) -> &Element {
            let found = self.all(name);
            assert_eq!(
                found.len(),
                1,
                "<{}> has {} <{name}>",
                self.name,
                found.len()
            );
            found[0]
        }
        pub fn text(&self) -> String {
            self.children
                .iter()
                .map(|n| match n {
                    Node::Text(t) => t.clone(),
                    Node::Element(_) => String::new(),
                })
                .collect()
        }
        pub fn attr(&self, name: &str) -> Option<&str> {
            self.attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        }
    }

    struct Parser<'a> {
        s: &'a str,
        i: usize,
    }

    pub fn parse(doc: &str) -> Result<Element, String> {
        let mut p = Parser { s: doc, i: 0 };
        if p.rest().starts_with("<?xml") {
            let end = p.rest().find("?>").ok_or("unterminated XML declaration")?;
            p.i += end + 2;
        }
        p.skip_ws();
        let root = p.element()?;
        p.skip_ws();
        if p.i != p.s.len() {
            return Err(format!(
                "content after the root element: {:?}",
                &p.rest()[..p.rest().len().min(40)]
            ));
        }
        Ok(root)
    }

    fn decode(raw: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            out.push_str(&rest[..amp]);
            let semi = rest[amp..].find(';').ok_or("bare &")? + amp;
            let name = &rest[amp + 1..semi];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("bad char ref")?,
                n if n.starts_with('#') => n[1..]
                    .parse()
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("bad char ref")?,
                other => return Err(format!("unknown entity &{other};")),
            };
            out.push(c);
            rest = &rest[semi + 1..];
        }
        out.push_str(rest);
        if out
            .chars()
            .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err("a character XML forbids".into());
        }
        Ok(out)
    }

    impl Parser<'_> {
        fn rest(&self) -> &str {
            &self.s[self.i..]
        }
        fn skip_ws(&mut self) {
            let trimmed = self.rest().trim_start();
            self.i = self.s.len() - trimmed.len();
        }
        fn eat(&mut self, token: &str) -> Result<(), String> {
            if self.rest().starts_with(token) {
                self.i += token.len();
                Ok(())
            } else {
                Err(format!(
                    "expected {token:?} at {:?}",
                    &self.rest()[..self.rest().len().min(40)]
                ))
            }
        }
        fn name(&mut self) -> Result<String, String> {
            let len = self
                .rest()
                .find(|c: char| !(c.is_alphanumeric() || matches!(c, ':' | '-' | '_' | '.')))
                .unwrap_or(self.rest().len());
            if len == 0
                || self
                    .rest()
                    .starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
            {
                return Err(format!(
                    "bad name at {:?}",
                    &self.rest()[..self.rest().len().min(40)]
                ));
            }
            let name = self.rest()[..len].to_owned();
            self.i += len;
            Ok(name)
        }
        fn element(&mut self) -> Result<Element, String> {
            self.eat("<")?;
            let name = self.name()?;
            let mut attrs: Vec<(String, String)> = Vec::new();
            loop {
                let before = self.i;
                self.skip_ws();
                if self.rest().starts_with("/>") {
                    self.i += 2;
                    return Ok(Element {
                        name,
                        attrs,
                        children: vec![],
                    });
                }
                if self.rest().starts_with('>') {
                    self.i += 1;
                    break;
                }
                if before == self.i {
                    return Err(format!("no space before an attribute of <{name}>"));
                }
                let key = self.name()?;
                self.skip_ws();
                self.eat("=")?;
                self.skip_ws();
                let quote = self.rest().chars().next().ok_or("eof")?;
                if quote != '"' && quote != '\'' {
                    return Err("unquoted attribute".into());
                }
                self.i += 1;
                let end = self.rest().find(quote).ok_or("unterminated attribute")?;
                let raw = &self.rest()[..end];
                if raw.contains('<') {
                    return Err("< in an attribute".into());
                }
                let value = decode(raw)?;
                self.i += end + 1;
                if attrs.iter().any(|(k, _)| *k == key) {
                    return Err(format!("duplicate attribute {key}"));
                }
                attrs.push((key, value));
            }
            let mut children = Vec::new();
            loop {
                if self.rest().is_empty() {
                    return Err(format!("<{name}> is not closed"));
                }
                if self.rest().starts_with("</") {
                    self.i += 2;
                    let closing = self.name()?;
                    self.skip_ws();
                    self.eat(">")?;
                    if closing != name {
                        return Err(format!("<{name}> closed by </{closing}>"));
                    }
                    return Ok(Element {
                        name,
                        attrs,
                        children,
                    });
                }
                if self.rest().starts_with("<![CDATA[") {
                    self.i += 9;
                    let end = self.rest().find("]]>").ok_or("unterminated CDATA")?;
                    children.push(Node::Text(self.rest()[..end].to_owned()));
                    self.i += end + 3;
                } else if self.rest().starts_with("<!--") {
                    let end = self.rest().find("-->").ok_or("unterminated comment")?;
                    self.i += end + 3;
                } else if self.rest().starts_with("<?") || self.rest().starts_with("<!") {
                    return Err("unexpected markup declaration".into());
                } else if self.rest().starts_with('<') {
                    children.push(Node::Element(self.element()?));
                } else {
                    let end = self.rest().find('<').unwrap_or(self.rest().len());
                    let raw = &self.rest()[..end];
                    if raw.contains("]]>") {
                        return Err("]]> in character data".into());
                    }
                    children.push(Node::Text(decode(raw)?));
                    self.i += end;
                }
            }
        }
    }

    #[test]
    fn the_checker_refuses_broken_documents() {
        for bad in [
            "<a><b></a></b>",
            "<a>x & y</a>",
            "<a b=c/>",
            "<a><![CDATA[x]]>]]></a>",
            "<a></a><b/>",
            "<a>&nbsp;</a>",
            "<a x='1' x='2'/>",
            "<a>\u{1}</a>",
        ] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
        let ok = parse("<?xml version=\"1.0\"?>\n<a k=\"&quot;\"><b><![CDATA[x]]]]><![CDATA[>y]]></b>&#233;</a>").unwrap();
        assert_eq!(ok.child("b").text(), "x]]>y");
        assert_eq!(ok.text(), "é");
        assert_eq!(ok.attr("k"), Some("\""));
    }
}

/// An offer whose text tries to break the feeds: `]]>`, markup, ampersands, quotes.
fn hostile_offer(reference: &str) -> Value {
    let mut o = open_offer(reference);
    o["title"] = json!("Stage ]]> <script>alert(1)</script> & « guillemets »");
    o["summary"] = json!("Un résumé avec ]]> au milieu, des <balises> et des \"guillemets\" & co.");
    o["missions"] = json!(["Première mission ]]]]> et ]]>", "Deuxième mission"]);
    o
}

async fn feed_setup() -> (TestApp, String, Vec<Value>) {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let hostile = app
        .publish_new_offer(&manager, hostile_offer("XML-1"))
        .await;
    let plain = app.publish_new_offer(&manager, open_offer("XML-2")).await;
    app.create_offer(&manager, open_offer("XML-DRAFT")).await;
    (app, manager, vec![hostile, plain])
}

#[actix_web::test]
async fn part_time_and_hybrid_reach_the_xml_feed_and_the_employer_its_site_and_logo() {
    let app = TestApp::with_settings(|s| {
        s.partners.organization_url = Some("https://www.grenoble.example".into());
        s.partners.organization_logo_url = Some("https://www.grenoble.example/logo.png".into());
    })
    .await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let mut offer = open_offer("XML-PT");
    offer["contract"]["work_time_percent"] = json!(60);
    offer["contract"]["remote"] = json!("partial");
    let offer = app.publish_new_offer(&manager, offer).await;
    let text = String::from_utf8(app.get("/api/v1/feeds/offers.xml", None).await.body).unwrap();
    let root = xml::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        root.child("publisherurl").text(),
        "https://www.grenoble.example"
    );
    let job = &root.all("job")[0];
    assert_eq!(job.child("jobtype").text(), "internship, parttime");
    assert_eq!(job.child("remotetype").text(), "Hybrid remote");
    let ld = app
        .get(&format!("/api/v1/offers/{}/jsonld", id_of(&offer)), None)
        .await
        .json();
    let employer = &ld["hiringOrganization"];
    assert_eq!(employer["sameAs"], "https://www.grenoble.example");
    assert_eq!(employer["logo"], "https://www.grenoble.example/logo.png");
    assert_eq!(
        ld["jobLocation"]["address"]["addressRegion"],
        "Auvergne-Rhône-Alpes"
    );
    assert_eq!(ld["employmentType"], json!(["INTERN", "PART_TIME"]));
    // What is written is what the spec documents: every key known, every required key there.
    let spec: Value = serde_json::from_str(&passerelle::openapi::document_json()).unwrap();
    let documented = &spec["components"]["schemas"]["JobPosting"];
    for key in ld.as_object().unwrap().keys() {
        assert!(
            documented["properties"].get(key).is_some(),
            "{key} undocumented"
        );
    }
    for key in documented["required"].as_array().unwrap() {
        assert!(
            ld.get(key.as_str().unwrap()).is_some(),
            "{key} required, not written"
        );
    }
}

#[actix_web::test]
async fn the_xml_feed_is_well_formed_and_cdata_cannot_be_broken() {
    let (app, manager, offers) = feed_setup().await;
    let res = app.get("/api/v1/feeds/offers.xml", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    let text = String::from_utf8(res.body.clone()).unwrap();
    let root = xml::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(root.name, "source");
    assert_eq!(root.child("publisher").text(), "Passerelle");
    let jobs = root.all("job");
    assert_eq!(jobs.len(), 2, "the draft is not in the feed");
    let hostile = jobs
        .iter()
        .find(|j| j.child("referencenumber").text() == "XML-1")
        .unwrap();
    assert_eq!(
        hostile.child("title").text(),
        offers[0]["title"].as_str().unwrap()
    );
    assert!(hostile
        .child("description")
        .text()
        .contains("Un résumé avec ]]&gt; au milieu"));
    assert!(hostile
        .child("description")
        .text()
        .contains("<li>Première mission ]]]]&gt; et ]]&gt;</li>"));
    for job in &jobs {
        for field in [
            "title",
            "date",
            "referencenumber",
            "url",
            "company",
            "city",
            "country",
            "description",
            "expirationdate",
        ] {
            assert!(!job.child(field).text().is_empty(), "{field} empty");
        }
        assert_eq!(job.child("jobtype").text(), "internship, fulltime");
        assert_eq!(job.child("state").text(), "Auvergne-Rhône-Alpes");
        assert_eq!(job.child("education").text(), "Master 1, Master 2");
        assert_eq!(job.child("sourcename").text(), "Ville de Grenoble");
        assert_eq!(job.child("category").text(), "Direction Ville Ouverte");
        assert_eq!(job.child("company").text(), "Ville de Grenoble");
        assert_eq!(job.child("city").text(), "Grenoble");
        assert_eq!(job.child("country").text(), "FR");
        assert_eq!(
            job.child("expirationdate").text(),
            OfferDates::now().deadline.to_string()
        );
        assert!(job.child("date").text().ends_with(" GMT"));
        assert!(job
            .child("url")
            .text()
            .starts_with("http://localhost:8080/"));
    }

    // Cacheable: ETag and Last-Modified, 304 on either, 200 again after a change.
    let etag = res.header("etag").unwrap().to_owned();
    let modified = res.header("last-modified").unwrap().to_owned();
    let conditional = |name: &'static str, value: String| {
        actix_test::TestRequest::get()
            .uri("/api/v1/feeds/offers.xml")
            .insert_header((name, value))
    };
    assert_eq!(
        app.send(conditional("If-None-Match", etag.clone()))
            .await
            .status,
        304
    );
    assert_eq!(
        app.send(conditional("If-Modified-Since", modified.clone()))
            .await
            .status,
        304
    );
    app.clock.advance(chrono::Duration::seconds(5));
    move_offer(&app, &manager, &id_of(&offers[1]), "close").await;
    let changed = app.send(conditional("If-None-Match", etag)).await;
    assert_eq!(changed.status, 200);
    assert_eq!(
        xml::parse(std::str::from_utf8(&changed.body).unwrap())
            .unwrap()
            .all("job")
            .len(),
        1
    );
    assert_eq!(
        app.send(conditional("If-Modified-Since", modified))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn the_atom_feed_is_valid_atom_1_0() {
    let (app, _, offers) = feed_setup().await;
    let res = app.get("/api/v1/feeds/offers.atom", None).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let text = String::from_utf8(res.body.clone()).unwrap();
    let feed = xml::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    // RFC 4287 section 4.1.1: atom:id, atom:title, atom:updated once; an author; a self link.
    assert_eq!(feed.name, "feed");
    assert_eq!(feed.attr("xmlns"), Some("http://www.w3.org/2005/Atom"));
    assert!(feed.child("id").text().starts_with("http"));
    assert!(!feed.child("title").text().is_empty());
    DateTime::parse_from_rfc3339(&feed.child("updated").text()).unwrap();
    assert!(!feed.child("author").child("name").text().is_empty());
    let links = feed.all("link");
    assert!(links.iter().any(|l| l.attr("rel") == Some("self")
        && l.attr("href").unwrap().ends_with("/feeds/offers.atom")));
    let entries = feed.all("entry");
    assert_eq!(entries.len(), 2);
    let mut ids = Vec::new();
    for e in &entries {
        // Section 4.1.2: id, title, updated once each; a link rel=alternate (no content src).
        let id = e.child("id").text();
        assert!(id.starts_with("urn:uuid:"), "{id}");
        ids.push(id);
        assert!(!e.child("title").text().is_empty());
        DateTime::parse_from_rfc3339(&e.child("updated").text()).unwrap();
        DateTime::parse_from_rfc3339(&e.child("published").text()).unwrap();
        assert!(e
            .all("link")
            .iter()
            .any(|l| l.attr("rel") == Some("alternate") && l.attr("href").is_some()));
        assert_eq!(e.child("content").attr("type"), Some("html"));
        assert_eq!(e.child("summary").attr("type"), Some("text"));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2);
    let hostile = entries
        .iter()
        .find(|e| e.child("id").text() == format!("urn:uuid:{}", id_of(&offers[0])))
        .unwrap();
    assert_eq!(
        hostile.child("title").text(),
        offers[0]["title"].as_str().unwrap()
    );
    assert!(hostile
        .child("content")
        .text()
        .contains("<li>Première mission ]]]]&gt; et ]]&gt;</li>"));

    let etag = res.header("etag").unwrap().to_owned();
    assert!(res.header("last-modified").is_some());
    let again = app
        .send(
            actix_test::TestRequest::get()
                .uri("/api/v1/feeds/offers.atom")
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(again.status, 304);
}

// --- webhooks -------------------------------------------------------------------------------

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
    let ran = queue::run_next(&app.state).await.unwrap().unwrap();
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
    while queue::run_next(&app.state).await.unwrap().is_some() {}
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
        let ran = queue::run_next(&app.state)
            .await
            .unwrap()
            .expect("a due delivery");
        attempts += 1;
        match ran.outcome {
            Outcome::Retry { at } => {
                if attempts == 1 {
                    assert_eq!(at, app.state.now() + chrono::Duration::seconds(60));
                    // Not before the backoff.
                    assert!(queue::run_next(&app.state).await.unwrap().is_none());
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
    assert!(queue::run_next(&app.state).await.unwrap().is_none());
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
    let Outcome::Retry { at } = queue::run_next(&app.state).await.unwrap().unwrap().outcome else {
        panic!("the 503 is retried");
    };
    app.clock.set(at);
    let Outcome::Retry { at } = queue::run_next(&app.state).await.unwrap().unwrap().outcome else {
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
        queue::run_next(&app.state).await.unwrap().unwrap().outcome,
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
    let ran = queue::run_next(&strict_state).await.unwrap().unwrap();
    assert!(matches!(ran.outcome, Outcome::Retry { .. }), "{ran:?}");
    assert!(sink.requests().is_empty());
    let log = delivery_log(&app, &admin, &partner_id).await;
    let error = log[0]["last_error"].as_str().unwrap();
    assert!(error.contains("loopback"), "{error}");
}

// --- attribution ----------------------------------------------------------------------------

#[actix_web::test]
async fn attribution_counts_applications_and_hires_per_partner() {
    let app = TestApp::new().await;
    let admin = admin_token(&app).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let (partner, _) = new_partner(&app, &admin, "uga").await;
    let offer = app.publish_new_offer(&manager, open_offer("ATTR-1")).await;
    let offer_id = id_of(&offer);
    let mut conn = app.db.connect();
    for (source, status) in [
        (Some("uga"), "hired"),
        (Some("uga"), "submitted"),
        (Some(" UGA "), "rejected"),
        (Some("salon-etudiant"), "hired"),
        (None, "submitted"),
        (None, "interview"),
    ] {
        sql_query(
            "INSERT INTO applications (id, offer_id, status, source, consent_privacy, \
             privacy_notice_version, last_contact_at, created_at, updated_at) \
             VALUES (gen_random_uuid(), $1, $2, $3, true, 'v1', now(), now(), now())",
        )
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&offer_id).unwrap())
        .bind::<diesel::sql_types::Text, _>(status)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(source)
        .execute(&mut conn)
        .unwrap();
    }
    let res = app.get("/api/v1/staff/attribution", Some(&manager)).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    assert_eq!(body["total_applications"], 6);
    assert_eq!(body["total_hires"], 2);
    assert_eq!(
        body["items"],
        json!([
            {"source": "uga", "partner": {"id": partner["id"], "name": "Partenaire uga", "slug": "uga"}, "applications": 3, "hires": 1},
            {"source": null, "partner": null, "applications": 2, "hires": 0},
            {"source": "salon-etudiant", "partner": null, "applications": 1, "hires": 1},
        ])
    );
    let filtered = app
        .get(
            &format!(
                "/api/v1/staff/attribution?offer_id={}",
                uuid::Uuid::new_v4()
            ),
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(filtered["total_applications"], 0);
    let today = app.state.now().date_naive();
    let dated = app
        .get(
            &format!("/api/v1/staff/attribution?from={today}&until={today}"),
            Some(&admin),
        )
        .await;
    assert_eq!(dated.status, 200);

    let (_, reviewer) = app.token_for(Role::Reviewer).await;
    app.get("/api/v1/staff/attribution", Some(&reviewer))
        .await
        .assert_problem(403, "forbidden");
    app.get("/api/v1/staff/attribution", None)
        .await
        .assert_problem(401, "unauthenticated");
    app.get("/api/v1/staff/attribution?from=hier", Some(&admin))
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/v1/staff/attribution?offer_id=x", Some(&admin))
        .await
        .assert_problem(422, "invalid_query");
}

/// A dump restored into another PostgreSQL cluster keeps the feed's rows and their old
/// transaction ids, and partners keep their cursors: on the new cluster both are ahead of the
/// transaction counter. Here the restore is played by moving every id a billion ahead.
#[actix_web::test]
async fn after_a_restore_into_another_cluster_old_cursors_get_410_and_the_feed_is_repaired() {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let admin = admin_token(&app).await;
    let (_, key) = new_partner(&app, &admin, "jobboard").await;
    let a = id_of(
        &app.publish_new_offer(&manager, open_offer("RESTORE-A"))
            .await,
    );
    let (items, _) = follow(&app, &key, None, 1).await;
    assert_eq!(
        summary(&items),
        vec![("upsert".into(), a.clone(), "".into())]
    );

    // The old cluster was a billion transactions ahead; a partner followed it to the end.
    let mut conn = app.db.connect();
    sql_query("UPDATE offer_changes SET xact_id = xact_id + 1000000000")
        .execute(&mut conn)
        .unwrap();
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        xact_id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
    }
    let last: Last =
        sql_query("SELECT xact_id, seq FROM offer_changes ORDER BY xact_id DESC, seq DESC LIMIT 1")
            .get_result(&mut conn)
            .unwrap();
    let old_cursor = passerelle::partners::sync::FeedCursor {
        xact_id: last.xact_id,
        seq: last.seq,
    }
    .encode();

    // Before the repair, the restored rows are hidden from a partner starting over...
    let fresh = app.get(&changes_path(None, 100), Some(&key)).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.json()["items"], json!([]));
    // ...and the old cursor is refused with what to do, not answered with an empty page.
    let res = app
        .get(&changes_path(Some(&old_cursor), 100), Some(&key))
        .await;
    let problem = res.assert_problem(410, "cursor_expired");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("/api/v1/partner/offers"));

    // Every start (serve's migrator, `passerelle migrate`) repairs the feed.
    let (ok, out, err) = crate::process::run_cli(app.db.url(), &["migrate"], None);
    assert!(ok, "{out}{err}");
    assert!(err.contains("change feed: 1 change(s)"), "{err}");
    let (items, cursor) = follow(&app, &key, None, 1).await;
    assert_eq!(
        summary(&items),
        vec![("upsert".into(), a.clone(), "".into())]
    );
    // New changes come after the restored ones, and the old cursor stays refused.
    move_offer(&app, &manager, &a, "close").await;
    let (items, _) = follow(&app, &key, Some(cursor), 1).await;
    assert_eq!(
        summary(&items),
        vec![("tombstone".into(), a, "closed".into())]
    );
    app.get(&changes_path(Some(&old_cursor), 100), Some(&key))
        .await
        .assert_problem(410, "cursor_expired");
    // A second start finds nothing to move.
    let (ok, _, err) = crate::process::run_cli(app.db.url(), &["migrate"], None);
    assert!(ok && !err.contains("change feed"), "{err}");
}

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
