//! What an uploaded PDF may be and how it is named once stored: file names without
//! invisible characters and always `.pdf`, the PDF check off the workers and bounded, and
//! the active-content fixtures of tests/fixtures/pdf refused.

use crate::applications::{candidate_fields, pdfs};
use crate::support::{open_offer, TestApp};
use passerelle::{
    applications::pdf::{build_pdf, sample_pdf},
    auth::Role,
};
use std::io::Write;
use std::time::{Duration, Instant};

/// A bomb like the penetration test's: `count` small Flate streams of `each` bytes of spaces
/// each (about 1 KB compressed per MiB).
fn bomb(count: usize, each: usize) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![b' '; each]).unwrap();
    let packed = z.finish().unwrap();
    let mut objects = vec![b"<< /Type /Catalog >>".to_vec()];
    for _ in 0..count {
        let mut stream = format!(
            "<< /Filter /FlateDecode /Length {} >>\nstream\n",
            packed.len()
        )
        .into_bytes();
        stream.extend_from_slice(&packed);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }
    build_pdf(&objects)
}

fn field_codes(body: &serde_json::Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

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

#[actix_web::test]
async fn a_decompression_bomb_is_refused_and_not_stored() {
    let app = TestApp::new().await;
    let offer = published(&app).await;
    // 152 streams of 1 MiB: 152 MiB to scan from a 160 KB file.
    let files = vec![
        ("cv", "cv.pdf", "application/pdf", bomb(152, 1024 * 1024)),
        pdfs().remove(1),
    ];
    let body = app
        .apply_with(&offer, &candidate_fields("bomb@example.org"), &files, None)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(
        field_codes(&body),
        vec![("cv".to_owned(), "pdf_too_complex".to_owned())]
    );
    // Many tiny streams: the count is capped too.
    let files = vec![
        pdfs().remove(0),
        ("cover_letter", "l.pdf", "application/pdf", bomb(501, 16)),
    ];
    let body = app
        .apply_with(&offer, &candidate_fields("bomb@example.org"), &files, None)
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(
        field_codes(&body),
        vec![("cover_letter".to_owned(), "pdf_too_complex".to_owned())]
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM application_documents"),
        0
    );
}

/// The check runs on the blocking pool: the worker thread that received the upload keeps
/// serving other requests meanwhile. (The test runtime has one thread; a check run on it
/// would hold `/health/live` until the check ends.)
#[actix_web::test]
async fn health_answers_while_a_heavy_pdf_check_runs() {
    let app = TestApp::new().await;
    let offer = published(&app).await;
    let heavy = bomb(152, 1024 * 1024);
    let files = vec![
        ("cv", "cv.pdf", "application/pdf", heavy.clone()),
        ("cover_letter", "l.pdf", "application/pdf", heavy),
    ];
    let fields = candidate_fields("heavy@example.org");
    let start = Instant::now();
    let upload = async {
        let res = app.apply_with(&offer, &fields, &files, None).await;
        (res, start.elapsed())
    };
    let live = async {
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        let res = app.get("/health/live", None).await;
        (res, start.elapsed())
    };
    let ((applied, applied_after), (alive, alive_after)) =
        futures_util::future::join(upload, live).await;
    assert_eq!(alive.status, 200);
    let body = applied.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&body).len(), 2, "{body}");
    assert!(
        alive_after < applied_after,
        "/health/live answered after {alive_after:?}, the upload after {applied_after:?}"
    );
}

fn fixtures(folder: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pdf")
        .join(folder);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[actix_web::test]
async fn every_active_content_fixture_is_refused_with_its_code_and_not_stored() {
    let app = TestApp::new().await;
    let offer = published(&app).await;
    let active = fixtures("active");
    assert_eq!(active.len(), 11);
    for (i, (name, bytes)) in active.into_iter().enumerate() {
        let expected = if name.contains("flate_bad_checksum") || name.contains("truncated") {
            "unreadable_pdf"
        } else {
            "active_pdf_content"
        };
        let files = vec![("cv", "cv.pdf", "application/pdf", bytes), pdfs().remove(1)];
        let body = app
            .apply_with(
                &offer,
                &candidate_fields(&format!("active{i}@example.org")),
                &files,
                None,
            )
            .await
            .assert_problem(422, "validation_failed");
        assert_eq!(
            field_codes(&body),
            vec![("cv".to_owned(), expected.to_owned())],
            "{name}"
        );
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM application_documents"),
        0
    );
}

#[actix_web::test]
async fn clean_fixtures_are_accepted() {
    let app = TestApp::new().await;
    let offer = published(&app).await;
    for (i, (name, bytes)) in fixtures("clean").into_iter().enumerate() {
        let files = vec![("cv", "cv.pdf", "application/pdf", bytes), pdfs().remove(1)];
        let res = app
            .apply_with(
                &offer,
                &candidate_fields(&format!("clean{i}@example.org")),
                &files,
                None,
            )
            .await;
        assert_eq!(
            res.status,
            201,
            "{name}: {}",
            String::from_utf8_lossy(&res.body)
        );
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 3);
}
