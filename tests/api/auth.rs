//! Staff authentication: login, throttling, token validation, refresh rotation, logout.

use crate::support::{TestApp, PASSWORD};
use actix_web::test as actix_test;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use passerelle::auth::Role;
use serde_json::json;

#[actix_web::test]
async fn login_returns_a_token_pair_that_identifies_the_user() {
    let app = TestApp::new().await;
    let staff = app.create_staff(Role::Manager);
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": staff.email.to_uppercase(), "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("prt_"));

    let me = app
        .get("/api/v1/auth/me", body["access_token"].as_str())
        .await;
    assert_eq!(me.status, 200);
    let me = me.json();
    assert_eq!(me["id"], staff.id.to_string());
    assert_eq!(me["email"], staff.email);
    assert_eq!(me["role"], "manager");
    assert!(me.get("password_hash").is_none());

    // The claims are the ones the issue names, with the configured issuer and audience.
    let token = body["access_token"].as_str().unwrap();
    let claims = app.state.jwt.verify(token, app.state.now()).unwrap();
    assert_eq!(claims.sub, staff.id);
    assert_eq!(claims.aud, "passerelle-staff");
    assert_eq!(claims.iss, "http://localhost:8080");
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(claims.nbf, claims.iat);
    assert_eq!(app.audit_actions(&claims.sid.to_string()), ["auth.login"]);
}

#[actix_web::test]
async fn unknown_user_and_wrong_password_look_identical() {
    let app = TestApp::new().await;
    let staff = app.create_staff(Role::Admin);
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": staff.email, "password": "not the password at all"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": "nobody@ville.example", "password": "not the password at all"}),
        )
        .await;
    wrong.assert_problem(401, "invalid_credentials");
    // Identical but for the request id each response carries.
    let without_id = |r: &crate::support::TestResponse| {
        let mut body = r.json();
        body.as_object_mut().unwrap().remove("request_id");
        body
    };
    assert_eq!(without_id(&wrong), without_id(&unknown));
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
}

#[actix_web::test]
async fn login_validates_its_body() {
    let app = TestApp::new().await;
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": "", "password": "x"}),
        )
        .await;
    let body = res.assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "email");
    let res = app
        .post_json("/api/v1/auth/login", None, json!({"email": "a@b.fr"}))
        .await;
    res.assert_problem(422, "invalid_body");
}

#[actix_web::test]
async fn repeated_failures_for_an_account_are_throttled_even_with_the_right_password() {
    let app = TestApp::new().await;
    let staff = app.create_staff(Role::Manager);
    for _ in 0..5 {
        app.post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": staff.email, "password": "wrong password here"}),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": staff.email, "password": PASSWORD}),
        )
        .await;
    res.assert_problem(429, "too_many_requests");
    let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=901).contains(&wait), "Retry-After {wait}");

    // Once the window has passed, the right password works again.
    app.clock.advance(chrono::Duration::seconds(901));
    app.login(&staff).await;
}

/// Fails logins for `email` until the throttle answers 429.
async fn lock_out(app: &TestApp, email: &str) {
    for _ in 0..5 {
        app.post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": "wrong password here"}),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    app.post_json(
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": "wrong password here"}),
    )
    .await
    .assert_problem(429, "too_many_requests");
}

#[actix_web::test]
async fn failures_before_seed_demo_do_not_lock_out_the_demo_accounts_it_creates() {
    let app = TestApp::new().await;
    let (admin, _, _, password) = passerelle::demo::DEMO_STAFF[0];
    lock_out(&app, admin).await;
    passerelle::demo::seed(&mut app.db.connect(), false, app.state.calendar()).unwrap();
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": admin, "password": password}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
}

#[actix_web::test]
async fn failures_for_an_unknown_email_do_not_carry_over_to_a_staff_account_created_for_it() {
    let app = TestApp::new().await;
    let email = "nouvelle.agente@ville.example";
    lock_out(&app, email).await;
    let account = passerelle::auth::users::NewAccount {
        email: email.to_owned(),
        name: "Nouvelle Agente".into(),
        role: Role::Manager,
        password_hash: passerelle::auth::password::hash_password(PASSWORD).unwrap(),
    };
    passerelle::auth::users::insert_account(
        &mut app.db.connect(),
        &account,
        None,
        chrono::Utc::now(),
    )
    .unwrap();
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    // The account's own budget still works: five failures lock it.
    lock_out(&app, email).await;
}

#[actix_web::test]
async fn repeated_failures_from_one_address_are_throttled_across_accounts() {
    let app = TestApp::new().await;
    for i in 0..app.state.settings.login_throttle.address_max_failures {
        app.post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": format!("guess{i}@ville.example"), "password": "wrong password here"}),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    let staff = app.create_staff(Role::Reviewer);
    let res = app
        .post_json(
            "/api/v1/auth/login",
            None,
            json!({"email": staff.email, "password": PASSWORD}),
        )
        .await;
    res.assert_problem(429, "too_many_requests");
    assert!(res.header("retry-after").is_some());
}

#[actix_web::test]
async fn two_addresses_in_one_ipv6_64_share_the_failure_budget() {
    // The login throttle and the rate limiter count a client the same way: IPv6 per /64.
    let app = TestApp::new().await;
    let login = |email: String, password: &str| {
        actix_web::test::TestRequest::post()
            .uri("/api/v1/auth/login")
            .set_json(json!({"email": email, "password": password}))
    };
    for i in 0..app.state.settings.login_throttle.address_max_failures {
        let peer = format!("[2001:db8:1:2::{:x}]:40000", i + 1);
        app.send_from(
            &peer,
            login(format!("guess{i}@ville.example"), "wrong password here"),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    let staff = app.create_staff(Role::Reviewer);
    let same_block = "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:40000";
    app.send_from(same_block, login(staff.email.clone(), PASSWORD))
        .await
        .assert_problem(429, "too_many_requests");
    // The neighbouring /64 is another subscriber.
    let other_block = "[2001:db8:1:3::1]:40000";
    let res = app
        .send_from(other_block, login(staff.email.clone(), PASSWORD))
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
}

#[actix_web::test]
async fn staff_routes_need_a_token() {
    let app = TestApp::new().await;
    let res = app.get("/api/v1/auth/me", None).await;
    res.assert_problem(401, "unauthenticated");
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    app.get("/api/v1/auth/me", Some("garbage"))
        .await
        .assert_problem(401, "invalid_token");
}

#[actix_web::test]
async fn an_expired_token_is_refused() {
    let app = TestApp::new().await;
    let staff = app.create_staff(Role::Admin);
    // Logging in 16 minutes ago gives a token that expired a minute ago.
    app.clock.advance(chrono::Duration::minutes(-16));
    let tokens = app.login(&staff).await;
    app.clock.advance(chrono::Duration::minutes(16));
    app.get("/api/v1/auth/me", Some(&tokens.access_token))
        .await
        .assert_problem(401, "invalid_token");
}

fn claims_for(app: &TestApp, staff_id: uuid::Uuid, token: &str) -> serde_json::Value {
    let claims = app.state.jwt.verify(token, app.state.now()).unwrap();
    let now = app.state.now().timestamp();
    json!({
        "sub": staff_id, "sid": claims.sid, "role": "admin",
        "iss": "http://localhost:8080", "aud": "passerelle-staff",
        "iat": now, "nbf": now, "exp": now + 600, "jti": uuid::Uuid::new_v4(),
    })
}

const TEST_SECRET: &[u8] = b"test-secret-that-is-long-enough-for-hs256!";

#[actix_web::test]
async fn forged_tokens_are_refused() {
    let app = TestApp::new().await;
    let (staff, token) = app.token_for(Role::Admin).await;
    let good = claims_for(&app, staff.id, &token);

    // The same claims, correctly signed, work: what fails below fails for one reason.
    let valid = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(TEST_SECRET),
    )
    .unwrap();
    assert_eq!(app.get("/api/v1/auth/me", Some(&valid)).await.status, 200);

    let other_secret = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(b"another-secret-that-is-long-enough-too"),
    )
    .unwrap();
    let other_alg = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &good,
        &EncodingKey::from_secret(TEST_SECRET),
    )
    .unwrap();
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(app.state.now().timestamp() + 120);
    let mut issued_later = good.clone();
    issued_later["iat"] = json!(app.state.now().timestamp() + 120);
    let mut crit_header = Header::new(Algorithm::HS256);
    crit_header.crit = Some(vec!["exp".into()]);
    let with_crit =
        jsonwebtoken::encode(&crit_header, &good, &EncodingKey::from_secret(TEST_SECRET)).unwrap();
    let sign = |claims: &serde_json::Value| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(TEST_SECRET),
        )
        .unwrap()
    };
    // alg "none": header and claims, no signature.
    let b64 = |v: &serde_json::Value| {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&good)
    );

    for (what, token) in [
        ("other secret", other_secret),
        ("HS512", other_alg),
        ("wrong aud", sign(&wrong_aud)),
        ("wrong iss", sign(&wrong_iss)),
        ("no exp", sign(&no_exp)),
        ("nbf in the future", sign(&not_yet)),
        ("iat in the future", sign(&issued_later)),
        ("a crit header", with_crit),
        ("alg none", none),
    ] {
        let res = app.get("/api/v1/auth/me", Some(&token)).await;
        assert_eq!(res.status, 401, "{what} was accepted");
        res.assert_problem(401, "invalid_token");
    }
}

#[actix_web::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    let app = TestApp::new().await;
    let staff = app.create_staff(Role::Manager);
    let first = app.login(&staff).await;

    let res = app
        .post_json(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first.refresh_token}),
        )
        .await;
    assert_eq!(res.status, 200);
    let second: passerelle::auth::routes::TokenResponse =
        serde_json::from_slice(&res.body).unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&second.access_token))
            .await
            .status,
        200
    );

    // Someone replays the first refresh token: refused, and the session is closed for all.
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": first.refresh_token}),
    )
    .await
    .assert_problem(401, "refresh_token_reused");
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": second.refresh_token}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
    app.get("/api/v1/auth/me", Some(&second.access_token))
        .await
        .assert_problem(401, "invalid_token");

    // Another login is another session, unaffected.
    let other = app.login(&staff).await;
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&other.access_token))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn refresh_refuses_unknown_and_expired_tokens() {
    let app = TestApp::new().await;
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": "prt_nope"}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
    app.post_json("/api/v1/auth/refresh", None, json!({}))
        .await
        .assert_problem(422, "invalid_body");

    let staff = app.create_staff(Role::Manager);
    let tokens = app.login(&staff).await;
    app.clock.advance(chrono::Duration::days(15));
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": tokens.refresh_token}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
}

#[actix_web::test]
async fn logout_ends_the_access_and_the_refresh_token() {
    let app = TestApp::new().await;
    let staff = app.create_staff(Role::Reviewer);
    let tokens = app.login(&staff).await;
    app.post_json("/api/v1/auth/logout", None, json!({}))
        .await
        .assert_problem(401, "unauthenticated");
    let res = app
        .post_json("/api/v1/auth/logout", Some(&tokens.access_token), json!({}))
        .await;
    assert_eq!(res.status, 204);
    app.get("/api/v1/auth/me", Some(&tokens.access_token))
        .await
        .assert_problem(401, "invalid_token");
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": tokens.refresh_token}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
}

#[actix_web::test]
async fn a_deactivated_users_tokens_stop_working() {
    let app = TestApp::new().await;
    let (_, admin) = app.token_for(Role::Admin).await;
    let staff = app.create_staff(Role::Manager);
    let tokens = app.login(&staff).await;
    let res = app
        .patch_json(
            &format!("/api/v1/staff/users/{}", staff.id),
            Some(&admin),
            json!({"active": false}),
        )
        .await;
    assert_eq!(res.status, 200);
    app.get("/api/v1/auth/me", Some(&tokens.access_token))
        .await
        .assert_problem(401, "invalid_token");
    app.post_json(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": tokens.refresh_token}),
    )
    .await
    .assert_problem(401, "invalid_refresh_token");
    // And the right password no longer logs in, with the same answer as a wrong one.
    app.post_json(
        "/api/v1/auth/login",
        None,
        json!({"email": staff.email, "password": PASSWORD}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
}

#[actix_web::test]
async fn password_change_needs_the_current_one_and_follows_the_policy() {
    let app = TestApp::new().await;
    let staff = app.create_staff(Role::Manager);
    let tokens = app.login(&staff).await;
    let elsewhere = app.login(&staff).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let token = Some(tokens.access_token.as_str());

    app.post_json("/api/v1/auth/password", None, change(PASSWORD, "x"))
        .await
        .assert_problem(401, "unauthenticated");
    app.post_json(
        "/api/v1/auth/password",
        token,
        change("wrong current one", "une nouvelle phrase secrète"),
    )
    .await
    .assert_problem(403, "invalid_current_password");
    let body = app
        .post_json("/api/v1/auth/password", token, change(PASSWORD, "court"))
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "new_password");
    assert_eq!(body["errors"][0]["code"], "too_short");
    let body = app
        .post_json(
            "/api/v1/auth/password",
            token,
            change(PASSWORD, "password1234"),
        )
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["code"], "too_common");
    // Built on the account's own name ("Test manager", see TestApp::create_staff) and the year.
    let year = chrono::Datelike::year(&app.state.now());
    let body = app
        .post_json(
            "/api/v1/auth/password",
            token,
            change(PASSWORD, &format!("TestManager{year}!")),
        )
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["code"], "contains_identity");
    let body = app
        .post_json(
            "/api/v1/auth/password",
            token,
            change(PASSWORD, "Azerty123456!"),
        )
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["code"], "too_common");

    let res = app
        .post_json(
            "/api/v1/auth/password",
            token,
            change(PASSWORD, "une nouvelle phrase secrète"),
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(
        app.get("/api/v1/auth/me", token).await.status,
        200,
        "this session stays"
    );
    app.get("/api/v1/auth/me", Some(&elsewhere.access_token))
        .await
        .assert_problem(401, "invalid_token");
    app.post_json(
        "/api/v1/auth/login",
        None,
        json!({"email": staff.email, "password": PASSWORD}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    app.post_json(
        "/api/v1/auth/login",
        None,
        json!({"email": staff.email, "password": "une nouvelle phrase secrète"}),
    )
    .await;
    assert!(app
        .audit_actions(&staff.id.to_string())
        .contains(&"staff_user.password_changed".to_owned()));
}

fn login_request(email: &str, password: &str) -> actix_web::test::TestRequest {
    actix_web::test::TestRequest::post()
        .uri("/api/v1/auth/login")
        .set_json(json!({"email": email, "password": password}))
}

/// Sends every request at once, each from its own peer, and counts the answers by status.
async fn in_parallel(
    app: &TestApp,
    requests: Vec<(String, actix_web::test::TestRequest)>,
) -> std::collections::BTreeMap<u16, usize> {
    let answers = futures_util::future::join_all(
        requests
            .into_iter()
            .map(|(peer, req)| async move { app.send_from(&peer, req).await.status.as_u16() }),
    )
    .await;
    let mut counts = std::collections::BTreeMap::new();
    for status in answers {
        *counts.entry(status).or_default() += 1;
    }
    counts
}

fn small_budgets(s: &mut passerelle::settings::Settings) {
    s.login_throttle.max_failures = 5;
    s.login_throttle.address_max_failures = 20;
    s.login_throttle.account_max_failures = 8;
}

#[actix_web::test]
async fn parallel_wrong_passwords_from_many_addresses_verify_no_more_than_the_account_budget() {
    let app = TestApp::with_settings(small_budgets).await;
    let staff = app.create_staff(Role::Admin);
    let requests = (0..30)
        .map(|i| {
            (
                format!("198.51.100.{}:40000", i + 1),
                login_request(&staff.email, "wrong password here"),
            )
        })
        .collect();
    let counts = in_parallel(&app, requests).await;
    // Each 401 is a verified password: no more than the account's budget of 8.
    assert_eq!(counts.get(&401), Some(&8), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&22), "{counts:?}");
}

#[actix_web::test]
async fn parallel_wrong_passwords_from_one_address_verify_no_more_than_the_pair_budget() {
    let app = TestApp::with_settings(small_budgets).await;
    let staff = app.create_staff(Role::Admin);
    let requests = (0..25)
        .map(|_| {
            (
                "198.51.100.7:40000".to_owned(),
                login_request(&staff.email, "wrong password here"),
            )
        })
        .collect();
    let counts = in_parallel(&app, requests).await;
    assert_eq!(counts.get(&401), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&20), "{counts:?}");
}

#[actix_web::test]
async fn parallel_wrong_current_passwords_verify_no_more_than_the_budget() {
    let app = TestApp::with_settings(small_budgets).await;
    let (_, token) = app.token_for(Role::Manager).await;
    let requests = (0..20)
        .map(|i| {
            let req = actix_web::test::TestRequest::post()
                .uri("/api/v1/auth/password")
                .insert_header(("authorization", format!("Bearer {token}")))
                .set_json(
                    json!({"current_password": format!("wrong guess number {i}"),
                                 "new_password": "une nouvelle phrase secrète"}),
                );
            (format!("198.51.100.{}:40000", i + 1), req)
        })
        .collect();
    let counts = in_parallel(&app, requests).await;
    assert_eq!(counts.get(&403), Some(&5), "{counts:?}");
    assert_eq!(counts.get(&429), Some(&15), "{counts:?}");
}

#[actix_web::test]
async fn failures_from_an_attackers_address_do_not_lock_the_owner_out_of_theirs() {
    let app = TestApp::new().await;
    let staff = app.create_staff(Role::Admin);
    let attacker = "203.0.113.66:40000";
    for _ in 0..app.state.settings.login_throttle.max_failures {
        app.send_from(attacker, login_request(&staff.email, "wrong password here"))
            .await
            .assert_problem(401, "invalid_credentials");
    }
    // The attacker's address is throttled for this account, even with the right password...
    app.send_from(attacker, login_request(&staff.email, PASSWORD))
        .await
        .assert_problem(429, "too_many_requests");
    // ...while the owner, from an address that never failed, logs in.
    let res = app
        .send_from("192.0.2.55:40000", login_request(&staff.email, PASSWORD))
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
}

#[actix_web::test]
async fn a_distributed_guesser_is_stopped_by_the_account_budget_but_not_a_known_address() {
    let app = TestApp::with_settings(small_budgets).await;
    let staff = app.create_staff(Role::Admin);
    let home = "192.0.2.80:40000";
    let res = app
        .send_from(home, login_request(&staff.email, PASSWORD))
        .await;
    assert_eq!(res.status, 200);
    // One guess from each of 8 addresses spends the account's budget...
    for i in 0..8 {
        app.send_from(
            &format!("198.51.100.{}:40000", i + 1),
            login_request(&staff.email, "wrong password here"),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    // ...so a ninth address is refused before its password is even checked...
    app.send_from("198.51.100.99:40000", login_request(&staff.email, PASSWORD))
        .await
        .assert_problem(429, "too_many_requests");
    // ...but the address the owner logged in from still works.
    let res = app
        .send_from(home, login_request(&staff.email, PASSWORD))
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    // A known address is forgotten after 180 days without a login.
    app.clock.advance(chrono::Duration::days(181));
    for i in 0..8 {
        app.send_from(
            &format!("198.51.100.{}:40000", i + 1),
            login_request(&staff.email, "wrong password here"),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    app.send_from(home, login_request(&staff.email, PASSWORD))
        .await
        .assert_problem(429, "too_many_requests");
}

#[actix_web::test]
async fn a_rotated_jwt_secret_keeps_tokens_signed_with_the_previous_one_until_it_is_removed() {
    let app = TestApp::new().await;
    let staff = app.create_staff(Role::Manager);
    let old_secret = app.state.settings.jwt.secret.clone();
    let old_token = app.login(&staff).await.access_token;
    const NEW: &[u8] = b"the-key-after-rotation-of-at-least-32-bytes";
    let me = |token: &str| {
        actix_test::TestRequest::get()
            .uri("/api/v1/auth/me")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request()
    };

    // During the overlap: JWT_SECRET is the new key, JWT_PREVIOUS_SECRET the old one.
    let overlap = TestApp::from_state(app.another_instance_with(|s| {
        s.jwt.secret = NEW.to_vec().into();
        s.jwt.previous_secret = Some(old_secret.clone());
    }))
    .await;
    assert_eq!(overlap(me(&old_token)).await.status(), 200);
    // A refresh on the new instance signs with the new key.
    let refresh_token = app.login(&staff).await.refresh_token;
    let refreshed = overlap(
        actix_test::TestRequest::post()
            .uri("/api/v1/auth/refresh")
            .set_json(json!({ "refresh_token": refresh_token }))
            .to_request(),
    )
    .await;
    assert_eq!(refreshed.status(), 200);
    let body: serde_json::Value = actix_test::read_body_json(refreshed).await;
    let new_token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(overlap(me(&new_token)).await.status(), 200);
    // The old instance never learnt the new key.
    assert_eq!(
        app.get("/api/v1/auth/me", Some(&new_token)).await.status,
        401
    );

    // After the overlap the previous key is removed: old tokens are refused, new ones work.
    let after = TestApp::from_state(app.another_instance_with(|s| {
        s.jwt.secret = NEW.to_vec().into();
        s.jwt.previous_secret = None;
    }))
    .await;
    assert_eq!(after(me(&old_token)).await.status(), 401);
    assert_eq!(after(me(&new_token)).await.status(), 200);
}
