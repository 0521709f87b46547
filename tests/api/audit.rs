//! `GET /api/v1/staff/audit`: admins only, filtered by actor, object, action and time.

use crate::support::{open_offer, TestApp};
use passerelle::auth::Role;
use serde_json::Value;

fn actions(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn admins_read_the_audit_log_by_actor_object_action_and_time() {
    let app = TestApp::new().await;
    let (manager, manager_token) = app.token_for(Role::Manager).await;
    let (admin, admin_token) = app.token_for(Role::Admin).await;
    let offer = app
        .publish_new_offer(&manager_token, open_offer("VDG-AUDIT-1"))
        .await;
    let offer_id = offer["id"].as_str().unwrap();
    app.publish_new_offer(&manager_token, open_offer("VDG-AUDIT-2"))
        .await;

    // Everything, newest first, with the actor named.
    let all = app.get("/api/v1/staff/audit", Some(&admin_token)).await;
    assert_eq!(all.status, 200, "{}", String::from_utf8_lossy(&all.body));
    assert_eq!(all.header("cache-control"), Some("no-store"));
    let body = all.json();
    let items = body["items"].as_array().unwrap();
    assert!(items.len() >= 6, "{body}");
    let ats: Vec<&str> = items.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = ats.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ats, sorted, "newest first");
    let published = items
        .iter()
        .find(|e| e["action"] == "offer.published" && e["object_id"] == offer_id)
        .expect("the publication is recorded");
    assert_eq!(published["actor"]["id"], manager.id.to_string());
    assert_eq!(published["actor"]["email"], manager.email.as_str());
    assert_eq!(published["object_type"], "offer");

    // By actor: only the admin's own sign-in.
    let mine = app
        .get(
            &format!("/api/v1/staff/audit?actor={}", admin.id),
            Some(&admin_token),
        )
        .await
        .json();
    assert_eq!(actions(&mine), vec!["auth.login"]);

    // By object, and by action.
    let about = app
        .get(
            &format!("/api/v1/staff/audit?object_type=offer&object_id={offer_id}"),
            Some(&admin_token),
        )
        .await
        .json();
    assert_eq!(actions(&about), vec!["offer.published", "offer.created"]);
    let creations = app
        .get(
            "/api/v1/staff/audit?action=offer.created",
            Some(&admin_token),
        )
        .await
        .json();
    assert_eq!(creations["items"].as_array().unwrap().len(), 2);

    // By time: nothing in the future, everything since an hour ago.
    let now = chrono::Utc::now();
    let since =
        (now - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let later =
        (now + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let future = app
        .get(
            &format!("/api/v1/staff/audit?from={later}"),
            Some(&admin_token),
        )
        .await
        .json();
    assert_eq!(future["items"], serde_json::json!([]));
    let recent = app
        .get(
            &format!("/api/v1/staff/audit?from={since}&to={later}&limit=100"),
            Some(&admin_token),
        )
        .await
        .json();
    assert_eq!(recent["items"].as_array().unwrap().len(), items.len());

    // Keyset pages: one at a time, no entry twice, none missed.
    let mut seen = Vec::new();
    let mut path = "/api/v1/staff/audit?limit=2&object_type=offer".to_owned();
    loop {
        let res = app.get(&path, Some(&admin_token)).await;
        assert_eq!(res.status, 200);
        let page = res.json();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert!(res.header("link").unwrap().contains("rel=\"next\""));
                path = format!("/api/v1/staff/audit?limit=2&object_type=offer&cursor={cursor}");
            }
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen);
    assert_eq!(seen.len(), 4, "two offers, created and published");
}

#[actix_web::test]
async fn only_admins_read_the_audit_log_and_bad_filters_are_422() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/api/v1/staff/audit", None).await.status, 401);
    for role in [Role::Manager, Role::Reviewer] {
        let (_, token) = app.token_for(role).await;
        app.get("/api/v1/staff/audit", Some(&token))
            .await
            .assert_problem(403, "forbidden");
    }
    let (_, admin) = app.token_for(Role::Admin).await;
    for query in [
        "limit=0",
        "limit=101",
        "cursor=garbage",
        "actor=not-a-uuid",
        "from=yesterday",
        "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
        "object_type=",
    ] {
        let res = app
            .get(&format!("/api/v1/staff/audit?{query}"), Some(&admin))
            .await;
        assert_eq!(
            res.status,
            422,
            "{query}: {}",
            String::from_utf8_lossy(&res.body)
        );
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
    }
}
