//! Staff accounts managed by admins.

use crate::support::TestApp;
use passerelle::auth::Role;
use serde_json::json;

fn new_user(email: &str, role: &str) -> serde_json::Value {
    json!({"email": email, "name": "Camille Martin", "role": role, "password": "une phrase de passe solide"})
}

#[actix_web::test]
async fn an_admin_creates_a_user_who_can_then_log_in() {
    let app = TestApp::new().await;
    let (admin, token) = app.token_for(Role::Admin).await;
    let res = app
        .post_json(
            "/api/v1/staff/users",
            Some(&token),
            new_user(" Camille.Martin@Ville.example ", "manager"),
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    assert_eq!(body["email"], "camille.martin@ville.example");
    assert_eq!(body["role"], "manager");
    assert_eq!(body["active"], true);
    assert!(body.get("password_hash").is_none() && body.get("password").is_none());
    let id: uuid::Uuid = body["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/staff/users/{id}").as_str())
    );

    let row = app.user_row(id);
    assert!(row.password_hash.starts_with("$argon2id$"));
    assert_eq!(row.created_by, Some(admin.id));
    assert_eq!(app.audit_actions(&id.to_string()), ["staff_user.created"]);

    let login = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": "camille.martin@ville.example", "password": "une phrase de passe solide"}),
        )
        .await;
    assert_eq!(login.status, 200);
}

#[actix_web::test]
async fn creating_a_user_checks_every_field() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Admin).await;
    let res = app
        .post_json(
            "/api/v1/staff/users",
            Some(&token),
            json!({"email": "not-an-email", "name": "", "role": "root", "password": "short"}),
        )
        .await;
    let body = res.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["email", "name", "role", "password"] {
        assert!(fields.contains(&field), "{field} missing from {body}");
    }
    // Unknown fields are refused rather than ignored.
    let mut extra = new_user("x@ville.example", "admin");
    extra["is_superuser"] = json!(true);
    app.post_json("/api/v1/staff/users", Some(&token), extra)
        .await
        .assert_problem(422, "invalid_body");

    app.post_json(
        "/api/v1/staff/users",
        Some(&token),
        new_user("dup@ville.example", "reviewer"),
    )
    .await;
    app.post_json(
        "/api/v1/staff/users",
        Some(&token),
        new_user("DUP@ville.example", "manager"),
    )
    .await
    .assert_problem(409, "email_taken");
}

#[actix_web::test]
async fn only_admins_manage_users() {
    let app = TestApp::new().await;
    let target = app.create_staff(Role::Reviewer);
    for role in [Role::Manager, Role::Reviewer] {
        let (_, token) = app.token_for(role).await;
        app.post_json(
            "/api/v1/staff/users",
            Some(&token),
            new_user("x@ville.example", "admin"),
        )
        .await
        .assert_problem(403, "forbidden");
        app.get("/api/v1/staff/users", Some(&token))
            .await
            .assert_problem(403, "forbidden");
        app.get(&format!("/api/v1/staff/users/{}", target.id), Some(&token))
            .await
            .assert_problem(403, "forbidden");
        app.patch_json(
            &format!("/api/v1/staff/users/{}", target.id),
            Some(&token),
            json!({"role": "admin"}),
        )
        .await
        .assert_problem(403, "forbidden");
    }
    app.get("/api/v1/staff/users", None)
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(app.user_row(target.id).role, Role::Reviewer);
}

#[actix_web::test]
async fn the_user_list_pages_without_gaps_or_duplicates() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Admin).await;
    for _ in 0..4 {
        app.create_staff(Role::Reviewer);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/staff/users?limit=2".to_owned();
    loop {
        let res = app.get(&path, Some(&token)).await;
        assert_eq!(res.status, 200);
        let body = res.json();
        assert_eq!(body["total"], 5);
        for item in body["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => {
                let link = res.header("link").unwrap();
                assert!(
                    link.contains("rel=\"next\"") && link.contains(cursor),
                    "{link}"
                );
                path = format!("/api/v1/staff/users?limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (5, 5));

    let reviewers = app
        .get("/api/v1/staff/users?role=reviewer", Some(&token))
        .await
        .json();
    assert_eq!(reviewers["total"], 4);
    app.get("/api/v1/staff/users?limit=0", Some(&token))
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/v1/staff/users?limit=abc", Some(&token))
        .await
        .assert_problem(422, "invalid_query");
    app.get("/api/v1/staff/users?cursor=bogus", Some(&token))
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/v1/staff/users?role=root", Some(&token))
        .await
        .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn a_user_is_read_with_an_etag() {
    let app = TestApp::new().await;
    let (admin, token) = app.token_for(Role::Admin).await;
    let path = format!("/api/v1/staff/users/{}", admin.id);
    let res = app.get(&path, Some(&token)).await;
    assert_eq!(res.status, 200);
    let tag = res.header("etag").unwrap().to_owned();
    let again = app
        .send(
            actix_web::test::TestRequest::get()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("If-None-Match", tag)),
        )
        .await;
    assert_eq!(again.status, 304);
    app.get(
        &format!("/api/v1/staff/users/{}", uuid::Uuid::new_v4()),
        Some(&token),
    )
    .await
    .assert_problem(404, "not_found");
    app.get("/api/v1/staff/users/not-a-uuid", Some(&token))
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn roles_change_and_accounts_deactivate_and_reactivate() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Admin).await;
    let staff = app.create_staff(Role::Reviewer);
    let path = format!("/api/v1/staff/users/{}", staff.id);

    let res = app
        .patch_json(&path, Some(&token), json!({"role": "manager"}))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["role"], "manager");
    // The new role applies to the next request, without a new token.
    let tokens = app.login(&staff).await;
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&tokens.access_token))
            .await
            .json()["role"],
        "manager"
    );

    app.patch_json(&path, Some(&token), json!({"role": "boss"}))
        .await
        .assert_problem(422, "validation_failed");
    app.patch_json(&path, Some(&token), json!({"active": "no"}))
        .await
        .assert_problem(422, "invalid_body");

    assert_eq!(
        app.patch_json(&path, Some(&token), json!({"active": false}))
            .await
            .json()["active"],
        false
    );
    assert!(!app.user_row(staff.id).active);
    assert_eq!(
        app.patch_json(&path, Some(&token), json!({"active": true}))
            .await
            .json()["active"],
        true
    );
    app.login(&staff).await;
    assert_eq!(
        app.audit_actions(&staff.id.to_string()),
        [
            "staff_user.created",
            "staff_user.updated",
            "staff_user.updated",
            "staff_user.updated"
        ]
    );
}

#[actix_web::test]
async fn the_last_active_admin_cannot_be_removed() {
    let app = TestApp::new().await;
    let (admin, token) = app.token_for(Role::Admin).await;
    let own = format!("/api/v1/staff/users/{}", admin.id);
    app.patch_json(&own, Some(&token), json!({"role": "manager"}))
        .await
        .assert_problem(409, "last_admin");
    app.patch_json(&own, Some(&token), json!({"active": false}))
        .await
        .assert_problem(409, "last_admin");
    assert_eq!(app.user_row(admin.id).role, Role::Admin);

    // With a second admin, the first may step down.
    let second = app.create_staff(Role::Admin);
    let res = app
        .patch_json(&own, Some(&token), json!({"role": "manager"}))
        .await;
    assert_eq!(res.status, 200);
    // Now `second` is the last one.
    let second_token = app.login(&second).await.access_token;
    app.patch_json(
        &format!("/api/v1/staff/users/{}", second.id),
        Some(&second_token),
        json!({"active": false}),
    )
    .await
    .assert_problem(409, "last_admin");
}

#[actix_web::test]
async fn new_passwords_built_on_the_name_the_city_the_year_or_a_common_one_are_refused() {
    let app = TestApp::with_settings(|s| {
        s.organization_words = passerelle::words::identity_words("Ville de Villeurbanne");
    })
    .await;
    let (_, token) = app.token_for(Role::Admin).await;
    let year = chrono::Datelike::year(&app.state.now());
    let create = |password: String| {
        json!({"email": "yolene.kerbrat@ville.example", "name": "Yolène Kerbrat",
               "role": "reviewer", "password": password})
    };
    for (password, code) in [
        ("yolenekerbrat".to_owned(), "contains_identity"),
        ("Kerbrat.Yolene!".to_owned(), "contains_identity"),
        (format!("Villeurbanne{year}!"), "contains_identity"),
        (format!("V1ll3urb4nn3-{year}"), "contains_identity"),
        (format!("Grenoble{year}!"), "too_common"),
        ("Azerty123456!".to_owned(), "too_common"),
        ("P@ssw0rd12345".to_owned(), "too_common"),
    ] {
        let body = app
            .post_json(
                "/api/v1/staff/users",
                Some(&token),
                create(password.clone()),
            )
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["field"], "password", "{password}");
        assert_eq!(body["errors"][0]["code"], code, "{password}: {body}");
    }
    // The same words in a phrase of unrelated ones are fine.
    let res = app
        .post_json(
            "/api/v1/staff/users",
            Some(&token),
            create("la pluie tombe sur Villeurbanne en hiver".into()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
}
