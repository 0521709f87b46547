//! The candidate's privacy (issue 11, items 11, 12, 15 and 16): a change of address that is
//! no oracle and is confirmed by the new address, erasure that leaves no comment, free-text
//! source or someone else's mail behind, and no tracking token kept in clear.

use crate::{
    applications::{candidate_fields, pdfs, readable},
    smtp_sink::{Received, SmtpSink},
    support::{open_offer, TestApp, TestResponse},
};
use actix_web::test::TestRequest;
use diesel::{sql_query, sql_types, QueryableByName, RunQueryDsl};
use passerelle::{auth::Role, settings::RateLimit};
use serde_json::{json, Value};
use std::time::Duration;

const APPLICATION: &str = "/api/v1/candidate/application";
const CONFIRM: &str = "/api/v1/candidate/application/email/confirm";

async fn offer(app: &TestApp, reference: &str) -> (String, String) {
    let (_, token) = app.token_for(Role::Manager).await;
    let offer = app.publish_new_offer(&token, open_offer(reference)).await;
    (offer["id"].as_str().unwrap().to_owned(), token)
}

async fn run_jobs(app: &TestApp) {
    while passerelle::jobs::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_some()
    {}
}

async fn patch_email(app: &TestApp, token: &str, email: &str) -> TestResponse {
    app.patch_json(APPLICATION, Some(token), json!({ "email": email }))
        .await
}

async fn confirm(app: &TestApp, token: &str, code: &str) -> TestResponse {
    app.post_json(CONFIRM, Some(token), json!({ "code": code }))
        .await
}

/// The `pce_…` code in a text, if any.
fn code_in(text: &str) -> Option<String> {
    let start = text.find("pce_")?;
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect(),
    )
}

/// The code of the last change-of-address mail queued to `to` (read from the queue, before
/// any worker sent it).
pub fn queued_code(app: &TestApp, to: &str) -> String {
    #[derive(QueryableByName)]
    struct Text {
        #[diesel(sql_type = sql_types::Text)]
        text: String,
    }
    let mails: Vec<Text> = sql_query(
        "SELECT payload ->> 'text' AS text FROM jobs WHERE kind = 'email' \
         AND payload ->> 'to' = $1 AND payload ->> 'kind' = 'email_change_code' ORDER BY id DESC",
    )
    .bind::<sql_types::Text, _>(to)
    .load(&mut app.db.connect())
    .unwrap();
    code_in(&mails.first().expect("a code mail in the queue").text).expect("a code")
}

fn mails_to<'a>(messages: &'a [Received], to: &str) -> Vec<&'a Received> {
    messages.iter().filter(|m| m.rcpt_to == [to]).collect()
}

/// Every `table.column` of the public schema of these types whose text holds `needle`.
fn columns_holding(app: &TestApp, needle: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = sql_types::Text)]
        column_name: String,
        #[diesel(sql_type = sql_types::Text)]
        data_type: String,
    }
    let mut conn = app.db.connect();
    let columns: Vec<Column> = sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                c.data_type::text AS data_type \
         FROM information_schema.columns c \
         JOIN information_schema.tables t USING (table_schema, table_name) \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'bytea')",
    )
    .load(&mut conn)
    .unwrap();
    assert!(
        columns.len() > 40,
        "the scan sees the schema: {}",
        columns.len()
    );
    let mut found = Vec::new();
    for c in columns {
        let as_text = if c.data_type == "bytea" {
            format!("encode(\"{}\", 'escape')", c.column_name)
        } else {
            format!("\"{}\"::text", c.column_name)
        };
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = sql_types::BigInt)]
            n: i64,
        }
        let n: N = sql_query(format!(
            "SELECT count(*) AS n FROM \"{}\" WHERE strpos({as_text}, $1) > 0",
            c.table_name
        ))
        .bind::<sql_types::Text, _>(needle)
        .get_result(&mut conn)
        .unwrap();
        if n.n > 0 {
            found.push(format!("{}.{}", c.table_name, c.column_name));
        }
    }
    found
}

fn email_of(app: &TestApp, id: &str) -> Option<String> {
    #[derive(QueryableByName)]
    struct Email {
        #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
        email: Option<String>,
    }
    sql_query("SELECT email FROM applications WHERE id = $1::uuid")
        .bind::<sql_types::Text, _>(id)
        .get_result::<Email>(&mut app.db.connect())
        .unwrap()
        .email
}

// --- item 11: changing the address ----------------------------------------------------------

#[actix_web::test]
async fn a_new_email_is_used_only_once_confirmed_by_the_code_mailed_to_it() {
    let sink = SmtpSink::start();
    let app = TestApp::with_settings(crate::jobs::smtp_on(sink.port())).await;
    let (offer, _) = offer(&app, "VDG-MAIL-1").await;
    let (id, token) = app.apply(&offer, "typo@exmaple.org").await;
    run_jobs(&app).await;
    let before = sink.messages().len();

    let res = app
        .patch_json(
            APPLICATION,
            Some(&token),
            json!({"email": " Ines@Example.org ", "phone": "+33 7 00 00 00 00"}),
        )
        .await;
    assert_eq!(res.status, 202, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["email"], "typo@exmaple.org", "not used yet");
    assert_eq!(
        res.json()["phone"],
        "+33 7 00 00 00 00",
        "the rest is corrected"
    );
    assert_eq!(email_of(&app, &id).as_deref(), Some("typo@exmaple.org"));
    run_jobs(&app).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), before + 1, "one mail, to the new address");
    let to_new = mails_to(&messages, "ines@example.org");
    assert_eq!(to_new.len(), 1);
    let (subject, text) = readable(to_new[0]);
    assert!(subject.contains("Confirmez votre adresse"), "{subject}");
    assert!(
        !text.contains("Benali") && !text.contains("Inès"),
        "an unconfirmed address learns nothing of the candidate: {text}"
    );
    let code = code_in(&text).expect("the code is in the mail");
    assert!(
        columns_holding(&app, &code).is_empty(),
        "only a hash of the code is kept once mailed"
    );

    // A wrong code, someone else's token: nothing changes, one answer.
    let wrong = confirm(&app, &token, "pce_not-the-code")
        .await
        .assert_problem(422, "email_not_changed");
    let (_, other_token) = app.apply(&offer, "other@example.org").await;
    let foreign = confirm(&app, &other_token, &code)
        .await
        .assert_problem(422, "email_not_changed");
    assert_eq!(wrong["detail"], foreign["detail"]);
    assert_eq!(email_of(&app, &id).as_deref(), Some("typo@exmaple.org"));

    let res = confirm(&app, &token, &code).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["email"], "ines@example.org");
    assert_eq!(email_of(&app, &id).as_deref(), Some("ines@example.org"));
    assert!(app
        .audit_actions(&id)
        .contains(&"application.email_changed_by_candidate".to_owned()));
    // Single use.
    let again = confirm(&app, &token, &code)
        .await
        .assert_problem(422, "email_not_changed");
    assert_eq!(again["detail"], wrong["detail"]);

    // Expired after 24 hours: nothing changes, and the code is gone.
    assert_eq!(
        patch_email(&app, &token, "late@example.org").await.status,
        202
    );
    let late = queued_code(&app, "late@example.org");
    app.clock.advance(chrono::Duration::hours(24));
    let expired = confirm(&app, &token, &late)
        .await
        .assert_problem(422, "email_not_changed");
    assert_eq!(expired["detail"], wrong["detail"]);
    assert_eq!(email_of(&app, &id).as_deref(), Some("ines@example.org"));
    assert_eq!(app.count("SELECT count(*) AS n FROM email_changes"), 0);

    // Bad bodies and anonymous callers.
    app.post_json(CONFIRM, Some(&token), json!({"code": 1}))
        .await
        .assert_problem(422, "invalid_body");
    app.post_json(CONFIRM, None, json!({"code": code}))
        .await
        .assert_problem(401, "unauthenticated");
    patch_email(&app, &token, "not an email")
        .await
        .assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn asking_for_an_address_another_application_uses_answers_the_same_and_changes_nothing() {
    let sink = SmtpSink::start();
    let app = TestApp::with_settings(crate::jobs::smtp_on(sink.port())).await;
    let (offer, _) = offer(&app, "VDG-MAIL-2").await;
    let (id, token) = app.apply(&offer, "attacker@example.org").await;
    let (victim, _) = app.apply(&offer, "victim@example.org").await;
    run_jobs(&app).await;
    let before = sink.messages().len();

    // The requester cannot tell a taken address from a free one: same status, same body.
    let taken = patch_email(&app, &token, "victim@example.org").await;
    let free = patch_email(&app, &token, "free@example.org").await;
    assert_eq!((taken.status.as_u16(), free.status.as_u16()), (202, 202));
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("updated_at");
        v
    };
    assert_eq!(strip(taken.json()), strip(free.json()));
    assert_eq!(taken.json()["email"], "attacker@example.org");
    assert!(
        taken.header("content-type") == free.header("content-type")
            && taken.body.len() == free.body.len()
    );

    // The owner of the taken address is told nothing changed, with no code; the free one
    // gets a code.
    run_jobs(&app).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), before + 2);
    let to_victim = mails_to(&messages[before..], "victim@example.org");
    assert_eq!(to_victim.len(), 1);
    let (_, text) = readable(to_victim[0]);
    assert!(text.contains("rien n’a été modifié"), "{text}");
    assert!(code_in(&text).is_none(), "no code for a taken address");
    assert!(!text.contains("attacker"), "{text}");
    let (_, text) = readable(mails_to(&messages[before..], "free@example.org")[0]);
    let free_code = code_in(&text).unwrap();

    // Taken between the request and the confirmation: the same generic answer as a wrong
    // code, and nothing changes for either application.
    let (_, late_token) = app.apply(&offer, "late@example.org").await;
    let (third, _) = app.apply(&offer, "third@example.org").await;
    assert_eq!(
        patch_email(&app, &late_token, "third@example.org")
            .await
            .status,
        202
    );
    assert_eq!(
        patch_email(&app, &token, "soon@example.org").await.status,
        202
    );
    let soon_code = queued_code(&app, "soon@example.org");
    app.apply(&offer, "soon@example.org").await;
    let wrong = confirm(&app, &token, "pce_wrong")
        .await
        .assert_problem(422, "email_not_changed");
    let raced = confirm(&app, &token, &soon_code)
        .await
        .assert_problem(422, "email_not_changed");
    assert_eq!(raced["detail"], wrong["detail"]);
    assert_eq!(email_of(&app, &id).as_deref(), Some("attacker@example.org"));
    assert_eq!(
        email_of(&app, &victim).as_deref(),
        Some("victim@example.org")
    );
    assert_eq!(email_of(&app, &third).as_deref(), Some("third@example.org"));
    // The later request replaced the earlier one: the free address's code no longer works.
    confirm(&app, &token, &free_code)
        .await
        .assert_problem(422, "email_not_changed");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM applications WHERE email = 'soon@example.org'"),
        1
    );
}

#[actix_web::test]
async fn changes_of_address_are_rate_limited_per_client_address() {
    let app = TestApp::with_settings(|s| {
        s.rate_limits.email_change = RateLimit {
            limit: 2,
            window: Duration::from_secs(3600),
        }
    })
    .await;
    let (offer, _) = offer(&app, "VDG-MAIL-3").await;
    let (_, token) = app.apply(&offer, "limited@example.org").await;
    let patch = |peer: &'static str, body: Value| {
        app.send_from(
            peer,
            TestRequest::patch()
                .uri(APPLICATION)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .set_json(body),
        )
    };
    let here = "192.0.2.50:40000";
    let res = patch(here, json!({"email": "one@example.org"})).await;
    assert_eq!(res.status, 202);
    assert_eq!(
        res.header("ratelimit-policy"),
        Some("\"email_change\";q=2;w=3600")
    );
    // Other corrections are not changes of address.
    assert_eq!(
        patch(here, json!({"phone": "+33 6 00 00 00 01"}))
            .await
            .status,
        200
    );
    assert_eq!(
        patch(here, json!({"email": "two@example.org"}))
            .await
            .status,
        202
    );
    let res = patch(here, json!({"email": "three@example.org"})).await;
    res.assert_problem(429, "rate_limited");
    assert!(res.header("retry-after").is_some());
    // Confirming counts too.
    app.send_from(
        here,
        TestRequest::post()
            .uri(CONFIRM)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(json!({"code": "pce_x"})),
    )
    .await
    .assert_problem(429, "rate_limited");
    // Per client: another address has its own budget.
    assert_eq!(
        patch("198.51.100.7:40000", json!({"email": "three@example.org"}))
            .await
            .status,
        202
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM jobs WHERE payload ->> 'kind' = 'email_change_code'"),
        3,
        "a refused request mails nothing"
    );
}

// --- item 12: what erasure leaves ------------------------------------------------------------

#[actix_web::test]
async fn erasing_blanks_the_reviewers_comments_and_keeps_the_scores() {
    let app = TestApp::new().await;
    let (offer, manager) = offer(&app, "VDG-ERASE-1").await;
    let (id, token) = app.apply(&offer, "reviewed@example.org").await;
    let (reviewer, reviewer_token) = app.token_for(Role::Reviewer).await;
    let res = app
        .post_json(
            &format!("/api/v1/staff/offers/{offer}/reviewers"),
            Some(&manager),
            json!({"reviewer_id": reviewer.id}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let scores =
        json!({"education": 4, "fields_of_study": 3, "languages": 5, "skills": 2, "motivation": 4});
    let res = app
        .json_request(
            TestRequest::put(),
            &format!("/api/v1/staff/applications/{id}/reviews/me"),
            Some(&reviewer_token),
            json!({"scores": scores, "recommendation": "yes",
                   "comment": "Inès Benali, fille d'une collègue : très bon dossier."}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let res = app
        .send(
            TestRequest::delete()
                .uri(APPLICATION)
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await;
    assert_eq!(res.status, 204);
    assert!(columns_holding(&app, "Benali").is_empty());
    assert!(columns_holding(&app, "collègue").is_empty());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM reviews WHERE application_id = '{id}' AND comment = '' \
             AND recommendation = 'yes' AND scores = '{scores}'::jsonb"
        )),
        1,
        "the scores stay for the statistics"
    );
}

#[actix_web::test]
async fn a_source_must_be_a_slug() {
    let app = TestApp::new().await;
    let (offer, _) = offer(&app, "VDG-SRC-1").await;
    let with_source = |email: &str, source: &str| {
        let mut fields = candidate_fields(email);
        fields.retain(|(k, _)| *k != "source");
        fields.push(("source", source.to_owned()));
        fields
    };
    for free_text in [
        "recommandé par Camille Martin",
        "camille.martin@example.org",
        "été",
        "-uga",
        &"a".repeat(65),
    ] {
        let body = app
            .apply_with(
                &offer,
                &with_source("src@example.org", free_text),
                &pdfs(),
                None,
            )
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(body["errors"][0]["field"], "source", "{free_text}: {body}");
        assert_eq!(body["errors"][0]["code"], "invalid_source", "{free_text}");
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 0);
    let res = app
        .apply_with(
            &offer,
            &with_source("src@example.org", " UGA "),
            &pdfs(),
            None,
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM applications WHERE source = 'uga'"),
        1
    );
}

#[test]
fn the_migration_cleans_sources_comments_and_kept_tokens_already_stored() {
    use diesel_migrations::MigrationHarness;
    use passerelle::db::{test_db::TestDb, MIGRATIONS};
    const MINE: &str = "20261203000200";
    let db = TestDb::new();
    let mut conn = db.connect();
    // Back to the schema just before this migration (later ones are reverted first).
    loop {
        let reverted = conn.revert_last_migration(MIGRATIONS).unwrap();
        if reverted.to_string() == MINE {
            break;
        }
    }
    let offer = uuid::Uuid::new_v4();
    sql_query(
        "INSERT INTO offers (id, reference, slug, title, language, organization, department, \
         summary, context, missions, profile, requirements, education_levels, fields_of_study, \
         language_codes, contract_type, duration_months_min, duration_months_max, \
         work_time_percent, paid, starts_from, ends_by, remote, location, contact, \
         application_documents, application_deadline, positions, tags, status, created_at, \
         updated_at) VALUES ($1, 'MIG-1', 'mig-1', 'Stage', 'fr', 'Ville', 'Service', 's', 'c', \
         '[]', 'p', '[]', '[]', '[]', '[]', 'internship', 1, 2, 100, false, current_date, \
         current_date + 30, 'no', '{}', '{}', '[\"cv\"]', current_date, 1, '[]', 'draft', \
         now(), now())",
    )
    .bind::<sql_types::Uuid, _>(offer)
    .execute(&mut conn)
    .unwrap();
    let mut ids = Vec::new();
    for (source, erased) in [
        ("jobboard-etudiant", false),
        (" UGA ", false),
        ("recommandé par Camille Martin", false),
        ("camille.martin@example.org", true),
    ] {
        let id = uuid::Uuid::new_v4();
        sql_query(
            "INSERT INTO applications (id, offer_id, status, source, consent_privacy, \
             privacy_notice_version, last_contact_at, created_at, updated_at, erased_at) \
             VALUES ($1, $2, 'submitted', $3, true, 'v1', now(), now(), now(), \
             CASE WHEN $4 THEN now() END)",
        )
        .bind::<sql_types::Uuid, _>(id)
        .bind::<sql_types::Uuid, _>(offer)
        .bind::<sql_types::Text, _>(source)
        .bind::<sql_types::Bool, _>(erased)
        .execute(&mut conn)
        .unwrap();
        ids.push(id);
    }
    let reviewer = uuid::Uuid::new_v4();
    sql_query(
        "INSERT INTO staff_users (id, email, name, role, password_hash, active, created_at, \
         updated_at, password_changed_at) VALUES ($1, 'r@ville.example', 'R', 'reviewer', 'x', \
         true, now(), now(), now())",
    )
    .bind::<sql_types::Uuid, _>(reviewer)
    .execute(&mut conn)
    .unwrap();
    for (application, comment) in [
        (ids[0], "Bon dossier."),
        (ids[3], "Camille Martin, cousine"),
    ] {
        sql_query(
            "INSERT INTO reviews (id, application_id, reviewer_id, scores, recommendation, \
             comment, created_at, updated_at) VALUES (gen_random_uuid(), $1, $2, \
             '{\"motivation\": 4}', 'yes', $3, now(), now())",
        )
        .bind::<sql_types::Uuid, _>(application)
        .bind::<sql_types::Uuid, _>(reviewer)
        .bind::<sql_types::Text, _>(comment)
        .execute(&mut conn)
        .unwrap();
    }
    sql_query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body, \
         created_at) VALUES ('apply:x', 'k', '\\x00', 201, \
         jsonb_build_object('application', jsonb_build_object('id', $1::text), \
         'tracking_token', 'pct_kept-in-clear'), now())",
    )
    .bind::<sql_types::Text, _>(ids[0].to_string())
    .execute(&mut conn)
    .unwrap();
    for (to, kind, subject) in [
        (
            "victim@example.org",
            "application_received",
            "Votre candidature : Stage",
        ),
        (
            "someone@example.org",
            "application_received",
            "Votre candidature : Autre",
        ),
    ] {
        sql_query("UPDATE applications SET email = $1 WHERE id = $2 AND $1 = 'victim@example.org'")
            .bind::<sql_types::Text, _>(to)
            .bind::<sql_types::Uuid, _>(ids[1])
            .execute(&mut conn)
            .unwrap();
        sql_query(
            "INSERT INTO jobs (kind, payload) VALUES ('email', \
             jsonb_build_object('kind', $2::text, 'to', $1::text, 'subject', $3::text, 'text', ''))",
        )
        .bind::<sql_types::Text, _>(to)
        .bind::<sql_types::Text, _>(kind)
        .bind::<sql_types::Text, _>(subject)
        .execute(&mut conn)
        .unwrap();
    }

    conn.run_pending_migrations(MIGRATIONS).unwrap();
    let count = |sql: &str| -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = sql_types::BigInt)]
            n: i64,
        }
        sql_query(sql).get_result::<N>(&mut db.connect()).unwrap().n
    };
    let sources = |conn: &mut diesel::PgConnection| -> Vec<Option<String>> {
        #[derive(QueryableByName)]
        struct S {
            #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
            source: Option<String>,
        }
        ids.iter()
            .map(|id| {
                sql_query("SELECT source FROM applications WHERE id = $1")
                    .bind::<sql_types::Uuid, _>(*id)
                    .get_result::<S>(conn)
                    .unwrap()
                    .source
            })
            .collect()
    };
    assert_eq!(
        sources(&mut conn),
        [
            Some("jobboard-etudiant".into()),
            Some("uga".into()),
            None,
            None
        ]
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM reviews WHERE comment = 'Bon dossier.'"),
        1
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM reviews WHERE comment = '' AND scores = '{\"motivation\": 4}'"),
        1,
        "the erased application's comment is blanked, its scores kept"
    );
    assert_eq!(
        count(&format!(
            "SELECT count(*) AS n FROM idempotency_keys WHERE response_body = \
             '{{\"application_id\": \"{}\"}}'::jsonb",
            ids[0]
        )),
        1,
        "the kept reply holds the application's id, not the token"
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM idempotency_keys WHERE response_body::text LIKE '%pct_%'"),
        0
    );
    assert_eq!(
        count(&format!(
            "SELECT count(*) AS n FROM jobs WHERE application_id = '{}' \
             AND payload ->> 'to' = 'victim@example.org'",
            ids[1]
        )),
        1,
        "queued mails are linked to their application"
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM jobs WHERE application_id IS NULL"),
        1
    );
}

// --- item 15: the tracking token is kept nowhere in clear ------------------------------------

#[actix_web::test]
async fn no_table_holds_a_usable_tracking_token_and_a_replay_answers_without_it() {
    let app = TestApp::new().await;
    let (offer, _) = offer(&app, "VDG-TOKEN-1").await;
    let fields = candidate_fields("token@example.org");
    let first = app
        .apply_with(&offer, &fields, &pdfs(), Some("retry-1"))
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let first = first.json();
    let token = first["tracking_token"].as_str().unwrap().to_owned();
    let secret = token.strip_prefix("pct_").unwrap();
    assert!(
        columns_holding(&app, secret).is_empty(),
        "the token is in {:?}",
        columns_holding(&app, secret)
    );

    let again = app
        .apply_with(&offer, &fields, &pdfs(), Some("retry-1"))
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let again = again.json();
    assert_eq!(again["tracking_token"], Value::Null);
    assert_eq!(again["application"], first["application"]);
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 1);
    assert!(columns_holding(&app, secret).is_empty());
    // The token shown once still works.
    assert_eq!(app.get(APPLICATION, Some(&token)).await.status, 200);
    // A replay shows the application as it is now.
    let res = app
        .post_json(
            "/api/v1/candidate/application/withdraw",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(res.status, 200);
    let later = app
        .apply_with(&offer, &fields, &pdfs(), Some("retry-1"))
        .await
        .json();
    assert_eq!(later["application"]["status"], "withdrawn");
    assert_eq!(later["tracking_token"], Value::Null);
}

// --- item 16: erasing deletes this application's mails, no one else's ------------------------

#[actix_web::test]
async fn erasing_an_application_deletes_its_mails_and_no_one_elses() {
    let sink = SmtpSink::start();
    let app = TestApp::with_settings(crate::jobs::smtp_on(sink.port())).await;
    let (victim_offer, _) = offer(&app, "VDG-VICTIM-1").await;
    let (other_offer, _) = offer(&app, "VDG-OTHER-1").await;
    let contact = "mathilde.lestra@grenoble.example";
    let (victim, _) = app.apply(&victim_offer, "victim@example.org").await;
    // Attackers apply with the victim's address, and with the offer contact's public one,
    // then erase at once, before any mail went out.
    let (as_victim, t1) = app.apply(&other_offer, "victim@example.org").await;
    let (as_contact, t2) = app.apply(&other_offer, contact).await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM jobs WHERE kind = 'email'"),
        6
    );
    for token in [t1, t2] {
        let res = app
            .send(
                TestRequest::delete()
                    .uri(APPLICATION)
                    .insert_header(("Authorization", format!("Bearer {token}"))),
            )
            .await;
        assert_eq!(res.status, 204);
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM jobs WHERE kind = 'email'"),
        2,
        "the victim's mails are still queued"
    );
    for erased in [&as_victim, &as_contact] {
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) AS n FROM jobs WHERE application_id = '{erased}'"
            )),
            0
        );
    }
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM jobs WHERE kind = 'email' AND application_id = '{victim}'"
        )),
        2,
        "the victim's confirmation and the contact's notification stay"
    );
    run_jobs(&app).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let (subject, _) = readable(mails_to(&messages, "victim@example.org")[0]);
    assert!(subject.contains("Votre candidature"), "{subject}");
    let (_, text) = readable(mails_to(&messages, contact)[0]);
    assert!(text.contains(&victim), "{text}");
}

#[actix_web::test]
async fn erasing_after_a_change_of_address_deletes_the_mails_to_both_addresses() {
    let app = TestApp::new().await;
    let (offer, _) = offer(&app, "VDG-MOVED-1").await;
    let (id, token) = app.apply(&offer, "old@example.org").await;
    assert_eq!(
        patch_email(&app, &token, "new@example.org").await.status,
        202
    );
    let code = queued_code(&app, "new@example.org");
    assert_eq!(confirm(&app, &token, &code).await.status, 200);
    assert_eq!(
        patch_email(&app, &token, "newer@example.org").await.status,
        202
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM email_changes"), 1);
    let res = app
        .send(
            TestRequest::delete()
                .uri(APPLICATION)
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM jobs WHERE application_id = '{id}'"
        )),
        0
    );
    for needle in [
        "old@example.org",
        "new@example.org",
        "newer@example.org",
        &code,
    ] {
        assert!(
            columns_holding(&app, needle).is_empty(),
            "{needle} in {:?}",
            columns_holding(&app, needle)
        );
    }
}
