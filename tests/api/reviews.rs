//! Reviewers: assignments, access (404 everywhere else), independent and blind reviews,
//! conflicts of interest, locked criteria, weighted rankings, the candidate's export.

use crate::support::{open_offer, Staff, TestApp};
use actix_web::test::TestRequest;
use passerelle::auth::Role;
use serde_json::{json, Value};

struct Setup {
    app: TestApp,
    manager: String,
    offer: String,
    applications: Vec<String>,
    reviewer: Staff,
    reviewer_token: String,
}

async fn setup(candidates: usize) -> Setup {
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let offer = app
        .publish_new_offer(&manager, open_offer("VDG-REV-1"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut applications = Vec::new();
    for i in 0..candidates {
        applications.push(
            app.apply(&offer, &format!("candidate{i}@example.org"))
                .await
                .0,
        );
    }
    let (reviewer, reviewer_token) = app.token_for(Role::Reviewer).await;
    Setup {
        app,
        manager,
        offer,
        applications,
        reviewer,
        reviewer_token,
    }
}

async fn assign(s: &Setup, reviewer: &Staff) {
    let res = s
        .app
        .post_json(
            &format!("/api/v1/staff/offers/{}/reviewers", s.offer),
            Some(&s.manager),
            json!({"reviewer_id": reviewer.id}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    // The answer is the new assignment.
    assert_eq!(res.json()["id"], reviewer.id.to_string());
    assert!(res.json()["assigned_at"].is_string());
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> crate::support::TestResponse {
    app.json_request(TestRequest::put(), path, Some(token), body)
        .await
}

fn review(scores: &[(&str, i64)], recommendation: &str) -> Value {
    let scores: serde_json::Map<String, Value> = scores
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({"scores": scores, "recommendation": recommendation, "comment": "Profil solide."})
}

fn full(score: i64) -> Value {
    review(
        &[
            ("education", score),
            ("fields_of_study", score),
            ("languages", score),
            ("skills", score),
            ("motivation", score),
        ],
        "yes",
    )
}

#[actix_web::test]
async fn assignments_follow_the_rules() {
    let s = setup(0).await;
    let path = format!("/api/v1/staff/offers/{}/reviewers", s.offer);
    assign(&s, &s.reviewer).await;
    s.app
        .post_json(
            &path,
            Some(&s.manager),
            json!({"reviewer_id": s.reviewer.id}),
        )
        .await
        .assert_problem(409, "already_assigned");
    let admin = s.app.create_staff(Role::Admin);
    s.app
        .post_json(&path, Some(&s.manager), json!({"reviewer_id": admin.id}))
        .await
        .assert_problem(422, "validation_failed");
    s.app
        .post_json(
            &path,
            Some(&s.manager),
            json!({"reviewer_id": uuid::Uuid::new_v4()}),
        )
        .await
        .assert_problem(422, "validation_failed");
    s.app
        .post_json(
            &path,
            Some(&s.reviewer_token),
            json!({"reviewer_id": s.reviewer.id}),
        )
        .await
        .assert_problem(403, "forbidden");
    s.app
        .post_json(
            &format!("/api/v1/staff/offers/{}/reviewers", uuid::Uuid::new_v4()),
            Some(&s.manager),
            json!({"reviewer_id": s.reviewer.id}),
        )
        .await
        .assert_problem(404, "not_found");
    let managers_reviewer = s.app.create_staff(Role::Manager);
    assign(&s, &managers_reviewer).await;
    let list = s.app.get(&path, Some(&s.manager)).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["total"], 2);
    s.app
        .get(&path, Some(&s.reviewer_token))
        .await
        .assert_problem(403, "forbidden");

    let res = s
        .app
        .send(
            TestRequest::delete()
                .uri(&format!("{path}/{}", managers_reviewer.id))
                .insert_header(("Authorization", format!("Bearer {}", s.manager))),
        )
        .await;
    assert_eq!(res.status, 204);
    let res = s
        .app
        .send(
            TestRequest::delete()
                .uri(&format!("{path}/{}", managers_reviewer.id))
                .insert_header(("Authorization", format!("Bearer {}", s.manager))),
        )
        .await;
    res.assert_problem(404, "not_found");
    assert!(s
        .app
        .audit_actions(&s.offer)
        .contains(&"offer.reviewer_assigned".to_owned()));
}

#[actix_web::test]
async fn an_unassigned_reviewer_gets_404_on_every_route_and_method() {
    let s = setup(1).await;
    let (app, t, o, a) = (
        &s.app,
        s.reviewer_token.as_str(),
        s.offer.as_str(),
        s.applications[0].as_str(),
    );
    let doc = app
        .get(&format!("/api/v1/staff/applications/{a}"), Some(&s.manager))
        .await
        .json()["documents"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/api/v1/staff/offers/{o}"),
        format!("/api/v1/staff/offers/{o}/applications"),
        format!("/api/v1/staff/offers/{o}/criteria"),
        format!("/api/v1/staff/offers/{o}/review-settings"),
        format!("/api/v1/staff/offers/{o}/reviewers"),
        format!("/api/v1/staff/applications/{a}"),
        format!("/api/v1/staff/applications/{a}/documents/{doc}"),
        format!("/api/v1/staff/applications/{a}/history"),
        format!("/api/v1/staff/applications/{a}/reviews"),
    ] {
        app.get(&path, Some(t))
            .await
            .assert_problem(404, "not_found");
    }
    put(
        app,
        &format!("/api/v1/staff/applications/{a}/reviews/me"),
        t,
        full(3),
    )
    .await
    .assert_problem(404, "not_found");
    put(
        app,
        &format!("/api/v1/staff/offers/{o}/criteria"),
        t,
        json!([{"key": "x", "label": "X", "weight": 1}]),
    )
    .await
    .assert_problem(404, "not_found");
    put(
        app,
        &format!("/api/v1/staff/offers/{o}/review-settings"),
        t,
        json!({"blind": false}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_json(
        &format!("/api/v1/staff/applications/{a}/conflict"),
        Some(t),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_if_match(
        &format!("/api/v1/staff/applications/{a}/transition"),
        t,
        "\"x\"",
        json!({"to": "screening"}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_if_match(
        &format!("/api/v1/staff/offers/{o}/close"),
        t,
        "\"x\"",
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.get("/api/v1/staff/reviewers", Some(t))
        .await
        .assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn an_assigned_reviewer_reads_but_does_not_manage() {
    let s = setup(2).await;
    assign(&s, &s.reviewer).await;
    let (app, t) = (&s.app, s.reviewer_token.as_str());
    let offers = app.get("/api/v1/staff/offers", Some(t)).await.json();
    assert_eq!(offers["total"], 1);
    assert_eq!(
        app.get(&format!("/api/v1/staff/offers/{}", s.offer), Some(t))
            .await
            .status,
        200
    );
    let list = app
        .get(
            &format!("/api/v1/staff/offers/{}/applications", s.offer),
            Some(t),
        )
        .await
        .json();
    assert_eq!(list["total"], 2);
    assert!(
        list["items"][0].get("review_stats").is_none(),
        "no scores of others for reviewers"
    );
    assert_eq!(
        list["items"][0]["first_name"], "Inès",
        "not blind by default"
    );
    let a = &s.applications[0];
    let etag = app
        .get(&format!("/api/v1/staff/applications/{a}"), Some(t))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    app.post_if_match(
        &format!("/api/v1/staff/applications/{a}/transition"),
        t,
        &etag,
        json!({"to": "screening"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.get(
        &format!("/api/v1/staff/offers/{}/applications/export.csv", s.offer),
        Some(t),
    )
    .await
    .assert_problem(403, "forbidden");
    put(
        app,
        &format!("/api/v1/staff/offers/{}/criteria", s.offer),
        t,
        json!([{"key": "x", "label": "X", "weight": 1}]),
    )
    .await
    .assert_problem(403, "forbidden");
    app.post_if_match(
        &format!("/api/v1/staff/offers/{}/close", s.offer),
        t,
        "\"x\"",
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn reviews_are_independent_until_you_submit_yours() {
    let s = setup(1).await;
    assign(&s, &s.reviewer).await;
    let (second, second_token) = s.app.token_for(Role::Reviewer).await;
    assign(&s, &second).await;
    let a = &s.applications[0];
    let reviews = format!("/api/v1/staff/applications/{a}/reviews");

    let res = put(&s.app, &format!("{reviews}/me"), &second_token, full(4)).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let before = s.app.get(&reviews, Some(&s.reviewer_token)).await.json();
    assert_eq!(before["items"].as_array().unwrap().len(), 0);
    assert_eq!(before["others_hidden"], true);

    let mine = put(&s.app, &format!("{reviews}/me"), &s.reviewer_token, full(2)).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.json()["weighted_mean"], 2.0);
    let after = s.app.get(&reviews, Some(&s.reviewer_token)).await.json();
    assert_eq!(after["items"].as_array().unwrap().len(), 2);
    assert_eq!(after["others_hidden"], false);
    // Replacing mine keeps one review per reviewer.
    put(&s.app, &format!("{reviews}/me"), &s.reviewer_token, full(3)).await;
    let managers = s.app.get(&reviews, Some(&s.manager)).await.json();
    assert_eq!(managers["items"].as_array().unwrap().len(), 2);
    assert!(
        s.app
            .audit_actions(a)
            .iter()
            .filter(|x| *x == "review.written")
            .count()
            >= 3
    );
    assert!(s.app.audit_actions(a).contains(&"review.read".to_owned()));
}

#[actix_web::test]
async fn a_review_must_match_the_scorecard_and_the_stage() {
    let s = setup(1).await;
    assign(&s, &s.reviewer).await;
    let a = &s.applications[0];
    let me = format!("/api/v1/staff/applications/{a}/reviews/me");
    let body = put(
        &s.app,
        &me,
        &s.reviewer_token,
        review(&[("education", 9), ("humour", 3)], "maybe"),
    )
    .await
    .assert_problem(422, "validation_failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"scores.education")
            && fields.contains(&"scores.humour")
            && fields.contains(&"recommendation")
            && fields.contains(&"scores.motivation"),
        "{fields:?}"
    );
    // A manager who is not assigned does not review.
    put(&s.app, &me, &s.manager, full(3))
        .await
        .assert_problem(403, "not_assigned");
    // Once decided, reviews are closed.
    let etag = s
        .app
        .get(&format!("/api/v1/staff/applications/{a}"), Some(&s.manager))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    s.app
        .post_if_match(
            &format!("/api/v1/staff/applications/{a}/transition"),
            &s.manager,
            &etag,
            json!({"to": "rejected", "reason": "other"}),
        )
        .await;
    put(&s.app, &me, &s.reviewer_token, full(3))
        .await
        .assert_problem(409, "not_reviewable");
}

#[actix_web::test]
async fn criteria_come_from_the_requirements_and_lock_after_the_first_review() {
    let s = setup(1).await;
    assign(&s, &s.reviewer).await;
    let path = format!("/api/v1/staff/offers/{}/criteria", s.offer);
    let got = s.app.get(&path, Some(&s.reviewer_token)).await.json();
    let keys: Vec<&str> = got["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "education",
            "fields_of_study",
            "languages",
            "skills",
            "motivation"
        ]
    );
    assert_eq!(got["locked"], false);
    put(
        &s.app,
        &path,
        &s.manager,
        json!([{"key": "Bad Key", "label": "", "weight": 0}]),
    )
    .await
    .assert_problem(422, "validation_failed");
    let new = json!([{"key": "education", "label": "Études", "weight": 2}, {"key": "motivation", "label": "Motivation", "weight": 3}]);
    let res = put(&s.app, &path, &s.manager, new.clone()).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["criteria"], new);
    let me = format!(
        "/api/v1/staff/applications/{}/reviews/me",
        s.applications[0]
    );
    assert_eq!(
        put(
            &s.app,
            &me,
            &s.reviewer_token,
            review(&[("education", 2), ("motivation", 5)], "yes")
        )
        .await
        .status,
        200
    );
    put(&s.app, &path, &s.manager, new)
        .await
        .assert_problem(409, "criteria_locked");
    assert_eq!(
        s.app.get(&path, Some(&s.manager)).await.json()["locked"],
        true
    );
}

#[actix_web::test]
async fn blind_review_hides_identity_from_reviewers_everywhere() {
    let s = setup(1).await;
    assign(&s, &s.reviewer).await;
    let res = put(
        &s.app,
        &format!("/api/v1/staff/offers/{}/review-settings", s.offer),
        &s.manager,
        json!({"blind": true}),
    )
    .await;
    assert_eq!(res.status, 200);
    put(
        &s.app,
        &format!("/api/v1/staff/offers/{}/review-settings", s.offer),
        &s.reviewer_token,
        json!({"blind": false}),
    )
    .await
    .assert_problem(403, "forbidden");
    let a = &s.applications[0];
    put(
        &s.app,
        &format!("/api/v1/staff/applications/{a}/reviews/me"),
        &s.reviewer_token,
        full(4),
    )
    .await;
    let identity = [
        "Inès",
        "Benali",
        "candidate0@example.org",
        "12 34 56",
        "CV Inès",
    ];
    let doc = s
        .app
        .get(&format!("/api/v1/staff/applications/{a}"), Some(&s.manager))
        .await
        .json()["documents"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/api/v1/staff/offers/{}/applications", s.offer),
        format!("/api/v1/staff/offers/{}/applications?sort=-score", s.offer),
        format!("/api/v1/staff/applications/{a}"),
        format!("/api/v1/staff/applications/{a}/history"),
        format!("/api/v1/staff/applications/{a}/reviews"),
        format!("/api/v1/staff/offers/{}", s.offer),
        "/api/v1/staff/offers".to_owned(),
    ] {
        let res = s.app.get(&path, Some(&s.reviewer_token)).await;
        assert_eq!(res.status, 200, "{path}");
        let text = String::from_utf8_lossy(&res.body).to_string();
        for leak in identity {
            assert!(!text.contains(leak), "{leak} leaked through {path}: {text}");
        }
    }
    s.app
        .get(
            &format!("/api/v1/staff/applications/{a}/documents/{doc}"),
            Some(&s.reviewer_token),
        )
        .await
        .assert_problem(403, "blind_review");
    // Managers still see everything.
    let full_view = s
        .app
        .get(&format!("/api/v1/staff/applications/{a}"), Some(&s.manager))
        .await
        .json();
    assert_eq!(full_view["last_name"], "Benali");
}

#[actix_web::test]
async fn blind_review_refuses_searches_by_identity_to_reviewers() {
    // A prefix search on names and emails spells a hidden identity one letter at a time.
    let s = setup(2).await;
    assign(&s, &s.reviewer).await;
    let list = format!("/api/v1/staff/offers/{}/applications", s.offer);
    // Not blind: the reviewer may search.
    let res = s
        .app
        .get(&format!("{list}?q=candidate1"), Some(&s.reviewer_token))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["items"].as_array().unwrap().len(), 1);
    put(
        &s.app,
        &format!("/api/v1/staff/offers/{}/review-settings", s.offer),
        &s.manager,
        json!({"blind": true}),
    )
    .await;
    for q in ["c", "candidate1", "candidate1@example.org", "zzz"] {
        let problem = s
            .app
            .get(&format!("{list}?q={q}"), Some(&s.reviewer_token))
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], "q");
        assert_eq!(problem["errors"][0]["code"], "blind_review_search");
    }
    // Without q, the blind list still answers; managers still search.
    let res = s.app.get(&list, Some(&s.reviewer_token)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["items"].as_array().unwrap().len(), 2);
    let res = s
        .app
        .get(&format!("{list}?q=candidate1"), Some(&s.manager))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_conflict_of_interest_excludes_the_reviewer() {
    let s = setup(2).await;
    assign(&s, &s.reviewer).await;
    let a = &s.applications[0];
    put(
        &s.app,
        &format!("/api/v1/staff/applications/{a}/reviews/me"),
        &s.reviewer_token,
        full(5),
    )
    .await;
    let before = s
        .app
        .get("/api/v1/staff/reviewers", Some(&s.manager))
        .await
        .json();
    let mine = before["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == s.reviewer.id.to_string())
        .unwrap()
        .clone();
    assert_eq!(
        (
            mine["offers_assigned"].as_i64(),
            mine["awaiting_review"].as_i64()
        ),
        (Some(1), Some(1))
    );

    let res = s
        .app
        .post_json(
            &format!("/api/v1/staff/applications/{}/conflict", s.applications[1]),
            Some(&s.reviewer_token),
            json!({}),
        )
        .await;
    assert_eq!(res.status, 204);
    s.app
        .get(
            &format!("/api/v1/staff/applications/{}", s.applications[1]),
            Some(&s.reviewer_token),
        )
        .await
        .assert_problem(404, "not_found");
    let list = s
        .app
        .get(
            &format!("/api/v1/staff/offers/{}/applications", s.offer),
            Some(&s.reviewer_token),
        )
        .await
        .json();
    assert_eq!(list["total"], 1);
    let after = s
        .app
        .get("/api/v1/staff/reviewers", Some(&s.manager))
        .await
        .json();
    let mine = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == s.reviewer.id.to_string())
        .unwrap()
        .clone();
    assert_eq!(
        mine["awaiting_review"], 0,
        "the conflicted application left the workload"
    );

    // Declaring a conflict after reviewing withdraws the review.
    s.app
        .post_json(
            &format!("/api/v1/staff/applications/{a}/conflict"),
            Some(&s.reviewer_token),
            json!({}),
        )
        .await;
    let reviews = s
        .app
        .get(
            &format!("/api/v1/staff/applications/{a}/reviews"),
            Some(&s.manager),
        )
        .await
        .json();
    assert_eq!(reviews["items"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn rankings_use_weighted_means_computed_in_sql() {
    let s = setup(3).await;
    assign(&s, &s.reviewer).await;
    let (second, second_token) = s.app.token_for(Role::Reviewer).await;
    assign(&s, &second).await;
    let criteria = json!([{"key": "education", "label": "Études", "weight": 1}, {"key": "motivation", "label": "Motivation", "weight": 3}]);
    put(
        &s.app,
        &format!("/api/v1/staff/offers/{}/criteria", s.offer),
        &s.manager,
        criteria,
    )
    .await;
    let me = |i: usize| {
        format!(
            "/api/v1/staff/applications/{}/reviews/me",
            s.applications[i]
        )
    };
    // Application 0: (5×1 + 1×3)/4 = 2 and (1 + 3×3)/4 = 2.5 -> mean 2.25, min 2, max 2.5.
    put(
        &s.app,
        &me(0),
        &s.reviewer_token,
        review(&[("education", 5), ("motivation", 1)], "no"),
    )
    .await;
    put(
        &s.app,
        &me(0),
        &second_token,
        review(&[("education", 1), ("motivation", 3)], "no"),
    )
    .await;
    // Application 1: (1 + 5×3)/4 = 4.
    put(
        &s.app,
        &me(1),
        &s.reviewer_token,
        review(&[("education", 1), ("motivation", 5)], "strong_yes"),
    )
    .await;
    // Application 2: no review, ranked last.
    let ranked = s
        .app
        .get(
            &format!("/api/v1/staff/offers/{}/applications?sort=-score", s.offer),
            Some(&s.manager),
        )
        .await
        .json();
    let order: Vec<&str> = ranked["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            s.applications[1].as_str(),
            s.applications[0].as_str(),
            s.applications[2].as_str()
        ]
    );
    let stats = &ranked["items"][1]["review_stats"];
    assert_eq!(stats["reviews"], 2);
    assert_eq!(stats["weighted_mean"], 2.25);
    assert_eq!(stats["min"], 2.0);
    assert_eq!(stats["max"], 2.5);
    assert_eq!(stats["spread"], 0.5);
    assert_eq!(ranked["items"][2]["review_stats"]["reviews"], 0);
    assert_eq!(ranked["total"], 3);
    // Pages by score have no gaps.
    let first = s
        .app
        .get(
            &format!(
                "/api/v1/staff/offers/{}/applications?sort=-score&limit=2",
                s.offer
            ),
            Some(&s.manager),
        )
        .await
        .json();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second_page = s
        .app
        .get(
            &format!(
                "/api/v1/staff/offers/{}/applications?sort=-score&limit=2&cursor={cursor}",
                s.offer
            ),
            Some(&s.manager),
        )
        .await
        .json();
    assert_eq!(second_page["items"][0]["id"], s.applications[2]);
    assert!(second_page["next_cursor"].is_null());
    // The default order also carries the statistics.
    let plain = s
        .app
        .get(
            &format!("/api/v1/staff/offers/{}/applications", s.offer),
            Some(&s.manager),
        )
        .await
        .json();
    assert!(plain["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["review_stats"]["weighted_mean"] == 4.0));
}

#[actix_web::test]
async fn reviewers_rank_only_by_the_scores_they_may_see() {
    // Before submitting, a reviewer may not learn the others' scores: not from the order of
    // sort=-score, not from its cursors.
    let s = setup(2).await;
    assign(&s, &s.reviewer).await;
    let (other, other_token) = s.app.token_for(Role::Reviewer).await;
    assign(&s, &other).await;
    let me = |i: usize| {
        format!(
            "/api/v1/staff/applications/{}/reviews/me",
            s.applications[i]
        )
    };
    // The other reviewer rates application 1 high; ours rates application 0 low only.
    assert_eq!(put(&s.app, &me(1), &other_token, full(5)).await.status, 200);
    assert_eq!(put(&s.app, &me(0), &other_token, full(1)).await.status, 200);
    assert_eq!(
        put(&s.app, &me(0), &s.reviewer_token, full(2)).await.status,
        200
    );
    let ranked = |token: String, extra: &'static str| {
        let app = &s.app;
        let path = format!(
            "/api/v1/staff/offers/{}/applications?sort=-score{extra}",
            s.offer
        );
        async move { app.get(&path, Some(&token)).await.json() }
    };
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Managers rank by everyone's mean: 1 (5) before 0 (1.5).
    let managers = ranked(s.manager.clone(), "").await;
    assert_eq!(
        ids(&managers),
        [s.applications[1].clone(), s.applications[0].clone()]
    );
    // Our reviewer ranks by their own review: 0 (theirs, 2) before 1 (not reviewed by them).
    let reviewers = ranked(s.reviewer_token.clone(), "").await;
    assert_eq!(
        ids(&reviewers),
        [s.applications[0].clone(), s.applications[1].clone()]
    );
    assert!(reviewers["items"][0]["review_stats"].is_null());
    // Page by page, the same order and nothing else: the cursor holds the reviewer's own score.
    let first = ranked(s.reviewer_token.clone(), "&limit=1").await;
    assert_eq!(ids(&first), [s.applications[0].clone()]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let path = format!(
        "/api/v1/staff/offers/{}/applications?sort=-score&limit=1&cursor={cursor}",
        s.offer
    );
    let second = s.app.get(&path, Some(&s.reviewer_token)).await.json();
    assert_eq!(ids(&second), [s.applications[1].clone()]);
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&cursor)
        .unwrap();
    let everyones_mean = 1.5f64.to_bits().to_string();
    assert!(
        !String::from_utf8_lossy(&raw).contains(&everyones_mean),
        "the cursor carries the mean of all reviews"
    );
}

#[actix_web::test]
async fn the_candidates_export_contains_the_reviews_about_them() {
    let s = setup(0).await;
    assign(&s, &s.reviewer).await;
    let (id, token) = s.app.apply(&s.offer, "export@example.org").await;
    put(
        &s.app,
        &format!("/api/v1/staff/applications/{id}/reviews/me"),
        &s.reviewer_token,
        full(4),
    )
    .await;
    let export = s
        .app
        .get("/api/v1/candidate/application/export", Some(&token))
        .await
        .json();
    let reviews = export["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0]["recommendation"], "yes");
    assert_eq!(reviews[0]["scores"]["motivation"], 4);
    assert_eq!(reviews[0]["comment"], "Profil solide.");
}

#[actix_web::test]
async fn assigned_reviewers_and_workloads_are_paginated_lists() {
    let s = setup(0).await;
    let mut reviewers = Vec::new();
    for _ in 0..5 {
        let r = s.app.create_staff(Role::Reviewer);
        assign(&s, &r).await;
        reviewers.push(r.id.to_string());
    }
    let path = format!("/api/v1/staff/offers/{}/reviewers", s.offer);
    let listed = s.app.all_pages(&path, &s.manager, 2).await;
    let ids: Vec<String> = listed
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    // First assigned first, then by id: the test clock stands still, so here by id only.
    reviewers.sort();
    assert_eq!(
        ids, reviewers,
        "every assignment once, first assigned first"
    );

    let workloads = s
        .app
        .all_pages("/api/v1/staff/reviewers", &s.manager, 2)
        .await;
    let mut seen: Vec<&str> = workloads
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    let count = seen.len();
    seen.dedup();
    assert_eq!(seen.len(), count, "no reviewer twice");
    for r in &reviewers {
        assert!(seen.contains(&r.as_str()), "{r} missing");
    }
    s.app
        .get(&format!("{path}?cursor=not-a-cursor"), Some(&s.manager))
        .await
        .assert_problem(422, "validation_failed");
    s.app
        .get("/api/v1/staff/reviewers?limit=0", Some(&s.manager))
        .await
        .assert_problem(422, "validation_failed");
}
