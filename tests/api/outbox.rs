//! Emails without SMTP: kept in the outbox (bounded), printed by `passerelle outbox`, deleted
//! with the application they are about; and the links every email carries follow the settings.

use crate::support::{open_offer, TestApp};
use actix_web::test::TestRequest;
use chrono::{Duration, Utc};
use diesel::prelude::*;
use passerelle::{
    auth::Role,
    db::schema::mail_outbox,
    jobs::{self, mail::Email, outbox},
};

const OFFER_PAGE: &str = "https://stages.ville.example/offres/{slug}";
const STAFF_PAGE: &str = "https://staff.example/applications/{id}";

async fn run_jobs(app: &TestApp) {
    while jobs::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_some()
    {}
}

/// (kind, recipient, text) of every kept email, oldest first.
fn kept(app: &TestApp) -> Vec<(String, String, String)> {
    mail_outbox::table
        .order(mail_outbox::id)
        .select((mail_outbox::kind, mail_outbox::recipient, mail_outbox::text))
        .load(&mut app.db.connect())
        .unwrap()
}

#[actix_web::test]
async fn without_smtp_the_acknowledgement_is_kept_shown_by_the_cli_and_erased_with_the_application()
{
    let app = TestApp::with_settings(|s| {
        assert!(s.mail.smtp.is_none());
        s.partners.offer_url_template = OFFER_PAGE.into();
        s.mail.staff_application_url_template = Some(STAFF_PAGE.into());
        s.applications.retention_after_decision_days = 45;
    })
    .await;
    let (_, token) = app.token_for(Role::Manager).await;
    let offer = app
        .publish_new_offer(&token, open_offer("VDG-OUTBOX-1"))
        .await;
    let (offer_id, slug) = (
        offer["id"].as_str().unwrap(),
        offer["slug"].as_str().unwrap(),
    );
    let (id, tracking) = app.apply(offer_id, "ines.outbox@candidate.example").await;
    run_jobs(&app).await;

    let emails = kept(&app);
    assert_eq!(
        emails.len(),
        2,
        "{:?}",
        emails.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    let (_, to, text) = emails
        .iter()
        .find(|e| e.0 == "application_received")
        .expect("the acknowledgement");
    assert_eq!(to, "ines.outbox@candidate.example");
    // The links and the retention follow the settings.
    let offer_page = format!("https://stages.ville.example/offres/{slug}");
    assert!(text.contains(&offer_page), "{text}");
    assert!(text.contains("au plus 45 jours après"), "{text}");
    let (_, to, text) = emails
        .iter()
        .find(|e| e.0 == "application_notification")
        .expect("the notification");
    assert_eq!(to, "mathilde.lestra@grenoble.example");
    assert!(
        text.contains(&format!("https://staff.example/applications/{id}")),
        "{text}"
    );
    assert!(
        !text.contains("/api/") && !text.contains("Benali"),
        "{text}"
    );

    let (ok, out, err) = crate::process::run_cli(app.db.url(), &["outbox", "--limit", "5"], None);
    assert!(ok, "{err}");
    assert!(
        out.contains("To: ines.outbox@candidate.example")
            && out.contains("Subject: Votre candidature")
            && out.contains("Nous avons bien reçu votre candidature")
            && out.contains(&offer_page),
        "{out}"
    );
    // Newest first: the notification was queued after the acknowledgement.
    assert!(out.find("application_notification") < out.find("application_received"));
    let (ok, out, _) = crate::process::run_cli(app.db.url(), &["outbox", "--limit", "1"], None);
    assert!(ok && out.matches("--- email").count() == 1, "{out}");
    let (ok, _, err) = crate::process::run_cli(app.db.url(), &["outbox", "--limit", "0"], None);
    assert!(!ok && err.contains("--limit"), "{err}");

    // The candidate erases the application: its emails leave the outbox too.
    let res = app
        .send(
            TestRequest::delete()
                .uri("/api/v1/candidate/application")
                .insert_header(("Authorization", format!("Bearer {tracking}"))),
        )
        .await;
    assert_eq!(res.status, 204);
    assert!(kept(&app).is_empty());
    let (ok, out, _) = crate::process::run_cli(app.db.url(), &["outbox"], None);
    assert!(ok && out.contains("the outbox is empty"), "{out}");
}

#[actix_web::test]
async fn erasure_keeps_the_emails_about_other_applications() {
    let app = TestApp::new().await;
    let mut conn = app.db.connect();
    let email = |to: &str| Email {
        kind: "test".into(),
        to: to.into(),
        subject: "s".into(),
        text: "t".into(),
    };
    let (mine, other) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let now = Utc::now();
    outbox::keep(&mut conn, &email("a@candidate.example"), Some(mine), now).unwrap();
    outbox::keep(&mut conn, &email("a@candidate.example"), Some(other), now).unwrap();
    outbox::keep(&mut conn, &email("staff@ville.example"), None, now).unwrap();
    assert_eq!(
        outbox::delete_application_emails(&mut conn, mine).unwrap(),
        1
    );
    assert_eq!(kept(&app).len(), 2);
}

#[actix_web::test]
async fn the_outbox_keeps_at_most_200_emails_and_14_days() {
    let app = TestApp::new().await;
    let mut conn = app.db.connect();
    let email = |n: usize| Email {
        kind: "test".into(),
        to: format!("n{n}@candidate.example"),
        subject: format!("email {n}"),
        text: "t".into(),
    };
    let now = Utc::now();
    outbox::keep(&mut conn, &email(0), None, now - Duration::days(15)).unwrap();
    outbox::keep(&mut conn, &email(1), None, now - Duration::days(13)).unwrap();
    // The 15-day-old one goes at the next insert.
    outbox::keep(&mut conn, &email(2), None, now).unwrap();
    let recipients: Vec<String> = kept(&app).into_iter().map(|e| e.1).collect();
    assert_eq!(recipients, ["n1@candidate.example", "n2@candidate.example"]);
    for n in 3..=205 {
        outbox::keep(&mut conn, &email(n), None, now).unwrap();
    }
    let emails = kept(&app);
    assert_eq!(emails.len() as i64, outbox::MAX_EMAILS);
    assert_eq!(emails[0].1, "n6@candidate.example", "the oldest went first");
    assert_eq!(emails.last().unwrap().1, "n205@candidate.example");
    // The retention purge prunes it too, without an insert.
    let later = now + Duration::days(outbox::MAX_AGE_DAYS + 1);
    let policy = passerelle::applications::purge::policy(&app.state.settings);
    passerelle::applications::purge::run(&mut conn, &policy, later, false).unwrap();
    assert!(kept(&app).is_empty());
}

#[actix_web::test]
async fn the_server_logs_where_an_email_went_without_its_recipient_or_text() {
    let app = TestApp::new().await;
    let server =
        crate::process::ServerProcess::start(app.db.url(), &[("JOB_POLL_INTERVAL_MS", "100")]);
    server.wait_ready();
    let email = Email {
        kind: "application_received".into(),
        to: "secret.recipient@candidate.example".into(),
        subject: "Sujet confidentiel".into(),
        text: "Texte confidentiel".into(),
    };
    jobs::enqueue_email(&mut app.db.connect(), &email, Utc::now()).unwrap();
    server.wait_until(std::time::Duration::from_secs(30), |s| {
        s.log_text().contains("email application_received (outbox ")
    });
    let log = server.log_text();
    assert!(
        log.contains(
            "SMTP_HOST is unset: email kept in the outbox, read it with `passerelle outbox`"
        ),
        "{log}"
    );
    for secret in ["secret.recipient", "confidentiel"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
    assert_eq!(kept(&app).len(), 1);
}
