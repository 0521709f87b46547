//! Applying, the candidate's self-service, the staff pipeline and the retention purge.

use crate::support::{open_offer, OfferDates, TestApp, TestResponse};
use actix_web::test::TestRequest;
use passerelle::{applications::pdf::sample_pdf, auth::Role};
use serde_json::json;

pub const BOUNDARY: &str = "----passerelle-test-boundary";

/// A multipart body: text fields, then files as (field, filename, declared type, bytes).
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &str, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    for (name, filename, content_type, bytes) in files {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn candidate_fields(email: &str) -> Vec<(&'static str, String)> {
    vec![
        ("first_name", "Inès".into()),
        ("last_name", "Benali".into()),
        ("email", email.into()),
        ("phone", "+33 6 12 34 56 78".into()),
        ("education_level", "master_1".into()),
        ("school", "Sciences Po Grenoble".into()),
        ("field_of_study", "sciences politiques".into()),
        ("available_from", OfferDates::now().starts_from.to_string()),
        ("available_until", OfferDates::now().ends_by.to_string()),
        (
            "languages",
            r#"[{"code":"ar","level":"C1"},{"code":"en","level":"B2"}]"#.into(),
        ),
        (
            "message",
            "Très motivée par la coopération avec Bethléem.".into(),
        ),
        ("consent_privacy", "true".into()),
        ("privacy_notice_version", "2026-11".into()),
        ("source", "jobboard-etudiant".into()),
    ]
}

pub fn pdfs() -> Vec<(&'static str, &'static str, &'static str, Vec<u8>)> {
    vec![
        (
            "cv",
            "CV Inès Benali.pdf",
            "application/pdf",
            sample_pdf("CV", 3000),
        ),
        (
            "cover_letter",
            "lettre.pdf",
            "application/pdf",
            sample_pdf("Lettre", 2000),
        ),
    ]
}

impl TestApp {
    pub async fn apply_with(
        &self,
        offer_id: &str,
        fields: &[(&str, String)],
        files: &[(&str, &str, &str, Vec<u8>)],
        key: Option<&str>,
    ) -> TestResponse {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut req = TestRequest::post()
            .uri(&format!("/api/v1/offers/{offer_id}/applications"))
            .insert_header((
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            ))
            .set_payload(multipart(&fields, files));
        if let Some(k) = key {
            req = req.insert_header(("Idempotency-Key", k));
        }
        self.send(req).await
    }

    /// Applies with the standard candidate; returns (application id, tracking token).
    pub async fn apply(&self, offer_id: &str, email: &str) -> (String, String) {
        let res = self
            .apply_with(offer_id, &candidate_fields(email), &pdfs(), None)
            .await;
        assert_eq!(
            res.status,
            201,
            "apply: {}",
            String::from_utf8_lossy(&res.body)
        );
        let body = res.json();
        (
            body["application"]["id"].as_str().unwrap().to_owned(),
            body["tracking_token"].as_str().unwrap().to_owned(),
        )
    }

    pub fn count(&self, sql: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<N>(&mut self.db.connect())
            .unwrap()
            .n
    }
}

async fn published(app: &TestApp) -> (String, String) {
    let (_, token) = app.token_for(Role::Manager).await;
    let offer = app.publish_new_offer(&token, open_offer("VDG-APP-1")).await;
    (offer["id"].as_str().unwrap().to_owned(), token)
}

#[actix_web::test]
async fn a_candidate_applies_with_a_cv_and_a_cover_letter() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let res = app
        .apply_with(
            &offer,
            &candidate_fields("Ines.Benali@example.org"),
            &pdfs(),
            None,
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.json();
    let a = &body["application"];
    assert_eq!(a["status"], "submitted");
    assert_eq!(a["email"], "ines.benali@example.org");
    assert_eq!(a["first_name"], "Inès");
    assert_eq!(a["offer"]["id"], offer);
    assert_eq!(a["documents"].as_array().unwrap().len(), 2);
    let cv = a["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "cv")
        .unwrap();
    assert_eq!(cv["content_type"], "application/pdf");
    assert_eq!(cv["filename"], "CV Inès Benali.pdf");
    assert_eq!(cv["sha256"].as_str().unwrap().len(), 64);
    let token = body["tracking_token"].as_str().unwrap();
    assert!(token.starts_with("pct_"));
    // Stored hashed, never in clear.
    assert_eq!(app.count(&format!("SELECT count(*) AS n FROM applications WHERE encode(tracking_token_hash, 'escape') LIKE '%{token}%'")), 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM application_documents"),
        2
    );
    let sizes = app.count(
        "SELECT sum(size)::bigint AS n FROM application_documents WHERE length(content) = size",
    );
    assert_eq!(
        sizes as usize,
        pdfs().iter().map(|f| f.3.len()).sum::<usize>()
    );
}

#[actix_web::test]
async fn a_browser_form_with_the_cover_letter_file_left_empty_applies_with_its_text() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let mut fields = candidate_fields("form@example.org");
    fields.push(("cover_letter_text", "Madame, Monsieur, …".into()));
    // What Chromium and Firefox send for an <input type=file> nobody filled.
    let empty_input = ("cover_letter", "", "application/octet-stream", Vec::new());
    let cv = pdfs().remove(0);
    let res = app
        .apply_with(&offer, &fields, &[cv.clone(), empty_input.clone()], None)
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let docs = res.json()["application"]["documents"].clone();
    assert_eq!(docs.as_array().unwrap().len(), 1, "{docs}");
    // An empty CV input is no CV: `required`, not a PDF error.
    let mut no_cv = candidate_fields("form2@example.org");
    no_cv.push(("cover_letter_text", "Madame, Monsieur, …".into()));
    let res = app
        .apply_with(
            &offer,
            &no_cv,
            &[("cv", "", "application/octet-stream", Vec::new())],
            None,
        )
        .await;
    assert_eq!(res.status, 422);
    let errors = res.json()["errors"].clone();
    assert!(
        errors
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "cv" && e["code"] == "required"),
        "{errors}"
    );
    // A named file with no bytes is a file, and an empty one.
    let res = app
        .apply_with(
            &offer,
            &candidate_fields("form3@example.org"),
            &[
                cv,
                ("cover_letter", "lettre.pdf", "application/pdf", Vec::new()),
            ],
            None,
        )
        .await;
    assert_eq!(res.status, 422, "{}", String::from_utf8_lossy(&res.body));
}

#[actix_web::test]
async fn files_are_checked_by_content_not_by_name_or_type() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let fields = candidate_fields("a@example.org");
    let fake = vec![
        (
            "cv",
            "cv.pdf",
            "application/pdf",
            b"PK\x03\x04 this is a zip".to_vec(),
        ),
        pdfs().remove(1),
    ];
    let body = app
        .apply_with(&offer, &fields, &fake, None)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "cv");
    assert_eq!(body["errors"][0]["code"], "not_a_pdf");

    let js = passerelle::applications::pdf::build_pdf(&[
        b"<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>".to_vec(),
    ]);
    let evil = vec![
        pdfs().remove(0),
        ("cover_letter", "lettre.pdf", "application/pdf", js),
    ];
    let body = app
        .apply_with(&offer, &fields, &evil, None)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "cover_letter");
    assert_eq!(body["errors"][0]["code"], "active_pdf_content");

    // A real PDF declared as something else is fine: the declared type is not trusted either.
    let odd = vec![
        (
            "cv",
            "cv.bin",
            "application/octet-stream",
            sample_pdf("CV", 1000),
        ),
        pdfs().remove(1),
    ];
    assert_eq!(
        app.apply_with(&offer, &fields, &odd, None).await.status,
        201
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 1);
}

#[actix_web::test]
async fn oversized_files_and_requests_are_413_while_streaming() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let fields = candidate_fields("big@example.org");
    let mut big = sample_pdf("CV", 5 * 1024 * 1024 + 1);
    big.resize(5 * 1024 * 1024 + 1, b' ');
    let files = vec![("cv", "cv.pdf", "application/pdf", big), pdfs().remove(1)];
    app.apply_with(&offer, &fields, &files, None)
        .await
        .assert_problem(413, "payload_too_large");

    // A request over the total cap is refused on its declared length, before reading.
    let res = app
        .send(
            TestRequest::post()
                .uri(&format!("/api/v1/offers/{offer}/applications"))
                .insert_header((
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                ))
                .set_payload(vec![b'x'; 13 * 1024 * 1024]),
        )
        .await;
    res.assert_problem(413, "payload_too_large");
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 0);
}

#[actix_web::test]
async fn malformed_bodies_are_refused_cleanly() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let fields: Vec<(&str, String)> = candidate_fields("x@example.org");
    let flat: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // A body with no end: the closing boundary never comes.
    let mut body = multipart(&flat, &pdfs());
    body.truncate(body.len() - BOUNDARY.len() - 8);
    let res = app
        .send(
            TestRequest::post()
                .uri(&format!("/api/v1/offers/{offer}/applications"))
                .insert_header((
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                ))
                .set_payload(body),
        )
        .await;
    res.assert_problem(400, "incomplete_body");
    // JSON instead of multipart.
    app.post_json(
        &format!("/api/v1/offers/{offer}/applications"),
        None,
        json!({"email": "x"}),
    )
    .await
    .assert_problem(415, "multipart_required");
    // Unknown and repeated fields.
    let mut extra = fields.clone();
    extra.push(("is_admin", "true".into()));
    app.apply_with(&offer, &extra, &pdfs(), None)
        .await
        .assert_problem(422, "validation_failed");
    let mut twice = fields.clone();
    twice.push(("email", "other@example.org".into()));
    let body = app
        .apply_with(&offer, &twice, &pdfs(), None)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["code"], "repeated_field");
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 0);
}

#[actix_web::test]
async fn consent_and_every_field_are_checked() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let mut fields = candidate_fields("c@example.org");
    fields.retain(|(k, _)| *k != "consent_privacy");
    let body = app
        .apply_with(&offer, &fields, &pdfs(), None)
        .await
        .assert_problem(422, "validation_failed");
    assert!(body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["field"] == "consent_privacy" && e["code"] == "consent_required"));
    let mut bad = candidate_fields("not-an-email");
    bad.retain(|(k, _)| *k != "school");
    let body = app
        .apply_with(&offer, &bad, &pdfs(), None)
        .await
        .assert_problem(422, "validation_failed");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"email") && fields.contains(&"school"),
        "{fields:?}"
    );
    // This offer asks for a cover letter; text is accepted instead of a PDF.
    let only_cv = vec![pdfs().remove(0)];
    let body = app
        .apply_with(&offer, &candidate_fields("d@example.org"), &only_cv, None)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "cover_letter");
    let mut with_text = candidate_fields("d@example.org");
    with_text.push(("cover_letter_text", "Madame, Monsieur, …".into()));
    assert_eq!(
        app.apply_with(&offer, &with_text, &only_cv, None)
            .await
            .status,
        201
    );
}

#[actix_web::test]
async fn closed_offers_passed_deadlines_duplicates_and_drafts_are_refused() {
    let app = TestApp::new().await;
    let (offer, token) = published(&app).await;
    app.apply(&offer, "dup@example.org").await;
    app.apply_with(&offer, &candidate_fields("DUP@example.org"), &pdfs(), None)
        .await
        .assert_problem(409, "already_applied");

    // The deadline passes.
    app.clock.set(OfferDates::now().after_deadline());
    app.apply_with(&offer, &candidate_fields("late@example.org"), &pdfs(), None)
        .await
        .assert_problem(409, "deadline_passed");
    app.clock.set(chrono::Utc::now());

    let etag = app
        .get(&format!("/api/v1/staff/offers/{offer}"), Some(&token))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    app.post_if_match(
        &format!("/api/v1/staff/offers/{offer}/close"),
        &token,
        &etag,
        json!({}),
    )
    .await;
    app.apply_with(
        &offer,
        &candidate_fields("closed@example.org"),
        &pdfs(),
        None,
    )
    .await
    .assert_problem(409, "offer_closed");

    let (draft, _) = app.create_offer(&token, open_offer("VDG-APP-DRAFT")).await;
    app.apply_with(
        draft["id"].as_str().unwrap(),
        &candidate_fields("draft@example.org"),
        &pdfs(),
        None,
    )
    .await
    .assert_problem(404, "not_found");
    app.apply_with(
        &uuid::Uuid::new_v4().to_string(),
        &candidate_fields("none@example.org"),
        &pdfs(),
        None,
    )
    .await
    .assert_problem(404, "not_found");
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 1);
}

#[actix_web::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let fields = candidate_fields("retry@example.org");
    let first = app
        .apply_with(&offer, &fields, &pdfs(), Some("key-123"))
        .await;
    assert_eq!(first.status, 201);
    let again = app
        .apply_with(&offer, &fields, &pdfs(), Some("key-123"))
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.json()["application"],
        first.json()["application"],
        "the same application"
    );
    assert!(first.json()["tracking_token"].is_string());
    assert_eq!(
        again.json()["tracking_token"],
        serde_json::Value::Null,
        "the token is shown once and kept only hashed"
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 1);

    let other = candidate_fields("someone-else@example.org");
    let body = app
        .apply_with(&offer, &other, &pdfs(), Some("key-123"))
        .await
        .assert_problem(422, "idempotency_key_reused");
    assert!(body["detail"].as_str().unwrap().contains("different"));
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 1);
    app.apply_with(&offer, &other, &pdfs(), Some("clé invalide"))
        .await
        .assert_problem(400, "invalid_idempotency_key");
}

#[actix_web::test]
async fn the_tracking_token_opens_only_its_own_application() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let (a_id, a_token) = app.apply(&offer, "a@example.org").await;
    let (b_id, b_token) = app.apply(&offer, "b@example.org").await;
    let a = app
        .get("/api/v1/candidate/application", Some(&a_token))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["id"], a_id);
    assert_eq!(a.json()["history"][0]["status"], "submitted");
    assert_eq!(
        app.get("/api/v1/candidate/application", Some(&b_token))
            .await
            .json()["id"],
        b_id
    );
    app.get("/api/v1/candidate/application", None)
        .await
        .assert_problem(401, "unauthenticated");
    app.get("/api/v1/candidate/application", Some("pct_forged"))
        .await
        .assert_problem(401, "invalid_token");
    let (_, staff) = app.token_for(Role::Admin).await;
    app.get("/api/v1/candidate/application", Some(&staff))
        .await
        .assert_problem(401, "unauthenticated");
    // And a tracking token is no staff token.
    app.get("/api/v1/auth/me", Some(&a_token))
        .await
        .assert_problem(401, "invalid_token");
}

#[actix_web::test]
async fn withdraw_then_export_shows_everything_held() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let (id, token) = app.apply(&offer, "w@example.org").await;
    let res = app
        .post_json(
            "/api/v1/candidate/application/withdraw",
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"], "withdrawn");
    app.post_json(
        "/api/v1/candidate/application/withdraw",
        Some(&token),
        json!({}),
    )
    .await
    .assert_problem(409, "application_final");

    let res = app
        .get("/api/v1/candidate/application/export", Some(&token))
        .await;
    assert_eq!(res.status, 200);
    assert!(res
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    let export = res.json();
    assert_eq!(export["application"]["id"], id);
    assert_eq!(export["application"]["status"], "withdrawn");
    assert_eq!(export["application"]["phone"], "+33 6 12 34 56 78");
    let history: Vec<&str> = export["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["submitted", "withdrawn"]);
    use base64::Engine;
    let cv = base64::engine::general_purpose::STANDARD
        .decode(export["documents"][0]["content_base64"].as_str().unwrap())
        .unwrap();
    assert!(cv.starts_with(b"%PDF-"));
}

#[actix_web::test]
async fn erasing_leaves_nothing_personal_in_any_table() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let (id, token) = {
        let res = app
            .apply_with(
                &offer,
                &candidate_fields("erase.me@example.org"),
                &pdfs(),
                Some("erase-key"),
            )
            .await;
        let body = res.json();
        (
            body["application"]["id"].as_str().unwrap().to_owned(),
            body["tracking_token"].as_str().unwrap().to_owned(),
        )
    };
    let res = app
        .send(
            TestRequest::delete()
                .uri("/api/v1/candidate/application")
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await;
    assert_eq!(res.status, 204);
    app.get("/api/v1/candidate/application", Some(&token))
        .await
        .assert_problem(401, "invalid_token");

    // No table holds the email, the name, the phone or a document any more.
    for needle in ["erase.me@example.org", "Benali", "12 34 56", "Sciences Po"] {
        let tables = [
            "applications",
            "application_documents",
            "application_events",
            "idempotency_keys",
            "audit_log",
        ];
        for t in tables {
            let n = app.count(&format!(
                "SELECT count(*) AS n FROM {t} x WHERE x::text ILIKE '%{needle}%'"
            ));
            assert_eq!(n, 0, "{needle} still in {t}");
        }
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM application_documents"),
        0
    );
    // The anonymous trace stays.
    assert_eq!(app.count(&format!("SELECT count(*) AS n FROM applications WHERE id = '{id}' AND erased_at IS NOT NULL AND education_level = 'master_1'")), 1);
    // The same email may apply again.
    app.apply(&offer, "erase.me@example.org").await;
}

async fn staff_setup(app: &TestApp) -> (String, String, String) {
    let (offer, token) = published(app).await;
    let (id, _) = app.apply(&offer, "pipeline@example.org").await;
    (offer, token, id)
}

#[actix_web::test]
async fn staff_list_read_and_download_are_audited() {
    let app = TestApp::new().await;
    let (offer, token, id) = staff_setup(&app).await;
    let mut other = candidate_fields("zoe.martin@example.org");
    other[0].1 = "Zoé".into();
    other[1].1 = "Martin".into();
    other.retain(|(k, _)| *k != "source");
    app.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        app.apply_with(&offer, &other, &pdfs(), None).await.status,
        201
    );

    let list = app
        .get(
            &format!("/api/v1/staff/offers/{offer}/applications"),
            Some(&token),
        )
        .await
        .json();
    assert_eq!(list["total"], 2);
    assert!(list["items"][0].get("documents").is_none());
    let by_source = app
        .get(
            &format!("/api/v1/staff/offers/{offer}/applications?source=jobboard-etudiant"),
            Some(&token),
        )
        .await
        .json();
    assert_eq!(by_source["total"], 1);
    let by_name = app
        .get(
            &format!("/api/v1/staff/offers/{offer}/applications?q=zo"),
            Some(&token),
        )
        .await
        .json();
    assert_eq!(by_name["total"], 1);
    assert_eq!(by_name["items"][0]["last_name"], "Martin");
    let oldest = app
        .get(
            &format!("/api/v1/staff/offers/{offer}/applications?sort=submitted_at&limit=1"),
            Some(&token),
        )
        .await
        .json();
    assert_eq!(oldest["items"][0]["id"], id);
    app.get(
        &format!("/api/v1/staff/offers/{offer}/applications?status=lost"),
        Some(&token),
    )
    .await
    .assert_problem(422, "validation_failed");

    let res = app
        .get(&format!("/api/v1/staff/applications/{id}"), Some(&token))
        .await;
    assert_eq!(res.status, 200);
    let body = res.json();
    let doc = &body["documents"][0];
    assert_eq!(doc["kind"], "cover_letter");
    let cv = body["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "cv")
        .unwrap()
        .clone();
    let res = app
        .get(
            &format!(
                "/api/v1/staff/applications/{id}/documents/{}",
                cv["id"].as_str().unwrap()
            ),
            Some(&token),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/pdf"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert!(res
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    assert!(res.body.starts_with(b"%PDF-"));
    assert_eq!(res.body.len() as i64, cv["size"].as_i64().unwrap());
    app.get(
        &format!(
            "/api/v1/staff/applications/{id}/documents/{}",
            uuid::Uuid::new_v4()
        ),
        Some(&token),
    )
    .await
    .assert_problem(404, "not_found");

    let audited = app.count("SELECT count(*) AS n FROM audit_log WHERE action IN ('application.list_viewed', 'application.viewed', 'application.document_downloaded')");
    // Four list views, one read, one download; refused requests read nothing.
    assert_eq!(audited, 6);
    assert_eq!(
        app.audit_actions(&id)
            .iter()
            .filter(|a| *a == "application.document_downloaded")
            .count(),
        1
    );
}

#[actix_web::test]
async fn reviewers_and_anonymous_callers_see_no_applications() {
    let app = TestApp::new().await;
    let (offer, _, id) = staff_setup(&app).await;
    let (_, reviewer) = app.token_for(Role::Reviewer).await;
    for path in [
        format!("/api/v1/staff/offers/{offer}/applications"),
        format!("/api/v1/staff/offers/{offer}/applications/export.csv"),
        format!("/api/v1/staff/applications/{id}"),
        format!("/api/v1/staff/applications/{id}/history"),
        format!(
            "/api/v1/staff/applications/{id}/documents/{}",
            uuid::Uuid::new_v4()
        ),
    ] {
        app.get(&path, Some(&reviewer))
            .await
            .assert_problem(404, "not_found");
        app.get(&path, None)
            .await
            .assert_problem(401, "unauthenticated");
    }
    app.post_if_match(
        &format!("/api/v1/staff/applications/{id}/transition"),
        &reviewer,
        "\"x\"",
        json!({"to": "screening"}),
    )
    .await
    .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn the_pipeline_moves_with_if_match_and_records_its_history() {
    let app = TestApp::new().await;
    let (_, token, id) = staff_setup(&app).await;
    let path = format!("/api/v1/staff/applications/{id}/transition");
    let mut etag = app
        .get(&format!("/api/v1/staff/applications/{id}"), Some(&token))
        .await
        .header("etag")
        .unwrap()
        .to_owned();

    app.post_json(&path, Some(&token), json!({"to": "screening"}))
        .await
        .assert_problem(428, "if_match_required");
    app.post_if_match(&path, &token, "\"stale\"", json!({"to": "screening"}))
        .await
        .assert_problem(412, "stale_etag");
    app.post_if_match(&path, &token, &etag, json!({"to": "interview"}))
        .await
        .assert_problem(409, "illegal_transition");
    app.post_if_match(&path, &token, &etag, json!({"to": "hired!"}))
        .await
        .assert_problem(422, "validation_failed");
    for to in ["screening", "shortlisted", "interview"] {
        let res = app
            .post_if_match(&path, &token, &etag, json!({"to": to}))
            .await;
        assert_eq!(
            res.status,
            200,
            "{to}: {}",
            String::from_utf8_lossy(&res.body)
        );
        assert_eq!(res.json()["status"], to);
        etag = res.header("etag").unwrap().to_owned();
    }
    let body = app
        .post_if_match(&path, &token, &etag, json!({"to": "rejected"}))
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "reason");
    let res = app
        .post_if_match(
            &path,
            &token,
            &etag,
            json!({"to": "rejected", "reason": "position_filled"}),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["rejection_reason"], "position_filled");
    let etag = res.header("etag").unwrap().to_owned();
    app.post_if_match(&path, &token, &etag, json!({"to": "screening"}))
        .await
        .assert_problem(409, "illegal_transition");

    let history = app
        .get(
            &format!("/api/v1/staff/applications/{id}/history"),
            Some(&token),
        )
        .await
        .json();
    assert_eq!(history["total"], history["items"].as_array().unwrap().len());
    assert_eq!(history["next_cursor"], serde_json::Value::Null);
    // Page by page, the same history.
    let paged = app
        .all_pages(
            &format!("/api/v1/staff/applications/{id}/history"),
            &token,
            1,
        )
        .await;
    assert_eq!(&paged, history["items"].as_array().unwrap());
    app.get(
        &format!("/api/v1/staff/applications/{id}/history?cursor=not-a-cursor"),
        Some(&token),
    )
    .await
    .assert_problem(422, "validation_failed");
    let steps: Vec<(&str, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["actor_kind"].as_str().unwrap(),
                h["to_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("candidate", "submitted"),
            ("staff", "screening"),
            ("staff", "shortlisted"),
            ("staff", "interview"),
            ("staff", "rejected")
        ]
    );
    assert_eq!(history["items"][4]["reason"], "position_filled");
    assert!(history["items"][4]["actor_id"].is_string());
}

#[actix_web::test]
async fn the_csv_export_has_every_application_and_defuses_formulas() {
    let app = TestApp::new().await;
    let (offer, token, _) = staff_setup(&app).await;
    let mut formula = candidate_fields("f@example.org");
    formula[1].1 = "=HYPERLINK(\"http://evil\")".into();
    assert_eq!(
        app.apply_with(&offer, &formula, &pdfs(), None).await.status,
        201
    );
    let res = app
        .get(
            &format!("/api/v1/staff/offers/{offer}/applications/export.csv"),
            Some(&token),
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(res.header("content-type").unwrap().starts_with("text/csv"));
    let csv = String::from_utf8(res.body.clone()).unwrap();
    assert_eq!(csv.lines().count(), 3);
    assert!(csv.contains("\"pipeline@example.org\""));
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""));
    assert!(csv.contains("Inès"));
    // French Excel: a byte-order mark, and `;` between cells (its list separator).
    assert!(csv.starts_with("\u{feff}id;submitted_at;status;"), "{csv}");
    let row = csv
        .lines()
        .find(|l| l.contains("pipeline@example.org"))
        .unwrap();
    assert_eq!(row.matches("\";\"").count(), 13, "14 cells: {row}");
    assert!(!row.contains("\",\""), "{row}");

    // RFC 4180 commas on request; anything else is refused.
    let comma = app
        .get(
            &format!("/api/v1/staff/offers/{offer}/applications/export.csv?separator=comma"),
            Some(&token),
        )
        .await;
    assert_eq!(comma.status, 200);
    let csv = String::from_utf8(comma.body.clone()).unwrap();
    assert!(csv.starts_with("\u{feff}id,submitted_at,status,"), "{csv}");
    assert!(csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""));
    app.get(
        &format!("/api/v1/staff/offers/{offer}/applications/export.csv?separator=tab"),
        Some(&token),
    )
    .await
    .assert_problem(422, "invalid_query");
}

#[actix_web::test]
async fn the_purge_erases_finished_recruitments_after_the_retention_period() {
    use passerelle::applications::purge;
    let app = TestApp::new().await;
    let (offer, token, rejected) = staff_setup(&app).await;
    let (pool, _) = {
        let mut f = candidate_fields("pool@example.org");
        f.push(("consent_talent_pool", "true".into()));
        let res = app.apply_with(&offer, &f, &pdfs(), None).await;
        (
            res.json()["application"]["id"].as_str().unwrap().to_owned(),
            (),
        )
    };
    let (open, _) = app.apply(&offer, "open@example.org").await;
    for id in [&rejected, &pool] {
        let etag = app
            .get(&format!("/api/v1/staff/applications/{id}"), Some(&token))
            .await
            .header("etag")
            .unwrap()
            .to_owned();
        let res = app
            .post_if_match(
                &format!("/api/v1/staff/applications/{id}/transition"),
                &token,
                &etag,
                json!({"to": "rejected", "reason": "profile_mismatch"}),
            )
            .await;
        assert_eq!(res.status, 200);
    }
    let policy = purge::policy(&app.state.settings);
    let mut conn = app.db.connect();
    let now = chrono::Utc::now();
    assert!(
        purge::run(&mut conn, &policy, now, false)
            .unwrap()
            .applications
            .is_empty(),
        "too early"
    );

    let later = now + chrono::Duration::days(93);
    let dry = purge::run(&mut conn, &policy, later, true).unwrap();
    assert_eq!(
        dry.applications
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>(),
        [rejected.as_str()]
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM applications WHERE erased_at IS NOT NULL"),
        0,
        "a dry run erases nothing"
    );

    let done = purge::run(&mut conn, &policy, later, false).unwrap();
    assert_eq!(done.applications.len(), 1);
    assert_eq!(app.count(&format!("SELECT count(*) AS n FROM applications WHERE id = '{rejected}' AND erased_at IS NOT NULL AND email IS NULL")), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM application_documents WHERE application_id = '{rejected}'"
        )),
        0
    );
    assert_eq!(
        app.audit_actions(&rejected).last().unwrap(),
        "application.purged"
    );
    // The talent-pool candidate stays two years; the open application stays while its offer is open.
    assert_eq!(app.count(&format!("SELECT count(*) AS n FROM applications WHERE id IN ('{pool}', '{open}') AND erased_at IS NULL")), 2);
    let two_years = now + chrono::Duration::days(731);
    let done = purge::run(&mut conn, &policy, two_years, false).unwrap();
    assert_eq!(
        done.applications
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>(),
        [pool.as_str()]
    );

    // Once the offer closes, its open applications follow three months later.
    let etag = app
        .get(&format!("/api/v1/staff/offers/{offer}"), Some(&token))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    app.post_if_match(
        &format!("/api/v1/staff/offers/{offer}/close"),
        &token,
        &etag,
        json!({}),
    )
    .await;
    let done = purge::run(
        &mut conn,
        &policy,
        chrono::Utc::now() + chrono::Duration::days(93),
        false,
    )
    .unwrap();
    assert_eq!(
        done.applications
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>(),
        [open]
    );
}

/// The text of a received mail: the subject and the body, decoded from MIME.
pub fn readable(m: &crate::smtp_sink::Received) -> (String, String) {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let decode_words = |v: &str| -> String {
        v.split_whitespace()
            .map(|w| {
                match w
                    .strip_prefix("=?utf-8?b?")
                    .or_else(|| w.strip_prefix("=?UTF-8?B?"))
                    .and_then(|w| w.strip_suffix("?="))
                {
                    Some(b64) => String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap(),
                    None => format!("{w} "),
                }
            })
            .collect::<String>()
    };
    let subject = decode_words(&m.header("Subject").unwrap());
    let (head, body) = m.data.split_once("\r\n\r\n").unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: base64")
    {
        String::from_utf8(STANDARD.decode(body.replace("\r\n", "").trim()).unwrap()).unwrap()
    } else if head.to_ascii_lowercase().contains("quoted-printable") {
        let joined = body.replace("=\r\n", "");
        let mut bytes = Vec::new();
        let raw = joined.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'=' && i + 2 < raw.len() {
                bytes.push(
                    u8::from_str_radix(std::str::from_utf8(&raw[i + 1..i + 3]).unwrap(), 16)
                        .unwrap(),
                );
                i += 3;
            } else {
                bytes.push(raw[i]);
                i += 1;
            }
        }
        String::from_utf8(bytes).unwrap()
    } else {
        body.to_owned()
    };
    (subject, body)
}

#[actix_web::test]
async fn the_confirmation_and_the_notification_arrive_by_smtp() {
    use crate::smtp_sink::SmtpSink;
    let sink = SmtpSink::start();
    let app = TestApp::with_settings(crate::jobs::smtp_on(sink.port())).await;
    let (offer, token) = published(&app).await;
    let (id, _) = app.apply(&offer, "ines@example.org").await;
    while passerelle::jobs::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_some()
    {}
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let to_candidate = messages
        .iter()
        .find(|m| m.rcpt_to == ["ines@example.org"])
        .expect("confirmation");
    let (subject, body) = readable(to_candidate);
    assert!(subject.contains("Votre candidature"), "{subject}");
    assert!(
        body.contains("Bonjour Inès Benali") && body.contains("bien reçu"),
        "{body}"
    );
    assert!(!body.contains("pct_"), "the tracking token is never mailed");
    let to_contact = messages
        .iter()
        .find(|m| m.rcpt_to == ["mathilde.lestra@grenoble.example"])
        .expect("notification");
    let (_, body) = readable(to_contact);
    assert!(
        body.contains(&id) && body.contains("VDG-APP-1") && !body.contains("Benali"),
        "no personal data in the staff mail: {body}"
    );
    // No STAFF_APPLICATION_URL_TEMPLATE: no link (an API route is no page to open).
    assert!(!body.contains("http"), "{body}");

    // A rejection with notify_candidate sends the rejection message.
    let etag = app
        .get(&format!("/api/v1/staff/applications/{id}"), Some(&token))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let res = app
        .post_if_match(
            &format!("/api/v1/staff/applications/{id}/transition"),
            &token,
            &etag,
            json!({"to": "rejected", "reason": "position_filled", "notify_candidate": true}),
        )
        .await;
    assert_eq!(res.status, 200);
    while passerelle::jobs::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_some()
    {}
    let messages = sink.messages();
    assert_eq!(messages.len(), 3);
    let (_, body) = readable(&messages[2]);
    assert!(body.contains("pas donner une suite favorable"), "{body}");
}

#[actix_web::test]
async fn an_smtp_outage_delays_mail_but_keeps_the_application() {
    let app = TestApp::with_settings(crate::jobs::smtp_on(
        crate::smtp_sink::SmtpSink::start().port(),
    ))
    .await;
    let (offer, _) = published(&app).await;
    // The sink above is dropped: nothing listens on its port any more.
    app.apply(&offer, "outage@example.org").await;
    let ran = passerelle::jobs::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(ran.outcome, passerelle::jobs::Outcome::Retry { .. }),
        "{:?}",
        ran.outcome
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM jobs WHERE kind = 'email'"),
        2
    );
}

#[actix_web::test]
async fn a_candidate_corrects_their_fields_with_the_same_rules() {
    let app = TestApp::new().await;
    let (offer, _) = published(&app).await;
    let (_, token) = app.apply(&offer, "typo@exmaple.org").await;
    app.apply(&offer, "taken@example.org").await;
    let patch = |body: serde_json::Value| {
        app.json_request(
            TestRequest::patch(),
            "/api/v1/candidate/application",
            Some(&token),
            body,
        )
    };
    let res = patch(json!({"school": "IEP de Grenoble", "phone": "+33 7 00 00 00 00"})).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    assert_eq!(body["school"], "IEP de Grenoble");
    assert_eq!(body["phone"], "+33 7 00 00 00 00");
    assert_eq!(
        body["field_of_study"], "sciences politiques",
        "untouched fields stay"
    );
    // A new email waits for the code mailed to it (tests/api/candidate.rs).
    let res = patch(json!({"email": "typo@example.org", "school": "Sciences Po Grenoble"})).await;
    assert_eq!(res.status, 202, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    assert_eq!(body["email"], "typo@exmaple.org");
    assert_eq!(
        body["school"], "Sciences Po Grenoble",
        "the other corrections are made"
    );
    patch(json!({"email": "not an email"}))
        .await
        .assert_problem(422, "validation_failed");
    patch(json!({"available_until": "2020-01-01"}))
        .await
        .assert_problem(422, "validation_failed");
    // No oracle: an address another application uses gets the same answer.
    assert_eq!(
        patch(json!({"email": "taken@example.org"})).await.status,
        202
    );
    patch(json!({"status": "hired"}))
        .await
        .assert_problem(422, "invalid_body");
    app.json_request(
        TestRequest::patch(),
        "/api/v1/candidate/application",
        None,
        json!({}),
    )
    .await
    .assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn uploads_are_bounded_in_number_and_in_time() {
    let app = TestApp::with_settings(|s| {
        s.applications.upload_concurrency = 1;
        s.applications.upload_timeout_secs = 1;
    })
    .await;
    let (offer, _) = published(&app).await;

    // A client that sends a little, then nothing: refused after the timeout, slot freed.
    use futures_util::StreamExt;
    let start = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"first_name\"\r\n\r\nInès\r\n"
    );
    let stalled = futures_util::stream::once(async move {
        Ok::<_, actix_web::error::PayloadError>(actix_web::web::Bytes::from(start))
    })
    .chain(futures_util::stream::pending());
    let req = TestRequest::post()
        .uri(&format!("/api/v1/offers/{offer}/applications"))
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ))
        .to_request();
    let stalled: actix_http::BoxedPayloadStream = Box::pin(stalled);
    let (req, _) = req.replace_payload(actix_http::Payload::Stream { payload: stalled });
    let res = app.send_request(req).await;
    res.assert_problem(408, "upload_timeout");
    assert_eq!(
        app.apply_with(
            &offer,
            &candidate_fields("after@example.org"),
            &pdfs(),
            None
        )
        .await
        .status,
        201
    );

    // All slots taken: the next application waits, then is asked to retry.
    let held = app.state.uploads.clone().acquire_owned().await.unwrap();
    let res = app
        .apply_with(&offer, &candidate_fields("busy@example.org"), &pdfs(), None)
        .await;
    res.assert_problem(503, "busy");
    assert_eq!(res.header("retry-after"), Some("5"));
    drop(held);
    assert_eq!(
        app.apply_with(&offer, &candidate_fields("busy@example.org"), &pdfs(), None)
            .await
            .status,
        201
    );
}
