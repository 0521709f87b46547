//! Attribution: applications and hires per partner.

use super::*;

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
    let today = app.state.today();
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
