//! What an uploaded PDF may be and how it is named once stored: file names without
//! invisible characters and always `.pdf`, the PDF check off the workers and bounded, and
//! the active-content fixtures of tests/fixtures/pdf refused.

use crate::applications::{candidate_fields, pdfs};
use crate::support::{open_offer, TestApp};
use passerelle::{applications::pdf::sample_pdf, auth::Role};

async fn published(app: &TestApp) -> String {
    let (_, token) = app.token_for(Role::Manager).await;
    let offer = app.publish_new_offer(&token, open_offer("VDG-PDF-1")).await;
    offer["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn stored_file_names_lose_bidi_and_zero_width_characters_and_end_in_pdf() {
    let app = TestApp::new().await;
    let offer = published(&app).await;
    let files = vec![
        (
            "cv",
            "cv\u{202E}fdp.exe",
            "application/pdf",
            sample_pdf("CV", 1000),
        ),
        (
            "cover_letter",
            "lettre\u{200B}\u{2066}.docx",
            "application/pdf",
            sample_pdf("Lettre", 1000),
        ),
    ];
    let res = app
        .apply_with(&offer, &candidate_fields("rlo@example.org"), &files, None)
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    let names: Vec<&str> = body["application"]["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["filename"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"cvfdp.pdf"), "{names:?}");
    assert!(names.contains(&"lettre.pdf"), "{names:?}");
    // Stored as shown: no row keeps the override or the original extension.
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM application_documents \
             WHERE filename ~ '[\u{202E}\u{200B}\u{2066}]' OR filename NOT LIKE '%.pdf'"
        ),
        0
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM application_documents"),
        2
    );
    // The usual name is untouched.
    let res = app
        .apply_with(
            &offer,
            &candidate_fields("plain@example.org"),
            &pdfs(),
            None,
        )
        .await;
    assert_eq!(res.status, 201);
}
