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

mod accounts;
mod attribution;
mod feed;
mod publication;
mod webhooks;
