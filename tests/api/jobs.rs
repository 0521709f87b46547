//! The job queue against real PostgreSQL and a real SMTP conversation: delivery, no double
//! delivery across instances, retries with backoff, leases, transactions, dead jobs.

use crate::{smtp_sink::SmtpSink, support::TestApp};
use diesel::prelude::*;
use passerelle::{
    db::schema::jobs,
    jobs::{self as queue, mail::Email, Job, Outcome},
    settings::{Settings, SmtpSettings, SmtpTls},
};
use std::{
    collections::HashSet,
    sync::{Arc, Barrier},
    time::{Duration, Instant},
};

/// Settings that send mail to the sink on `port`, with workers that poll briskly.
pub fn smtp_on(port: u16) -> impl FnOnce(&mut Settings) {
    move |s| {
        s.mail.smtp = Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            credentials: None,
            tls: SmtpTls::None,
            timeout: Duration::from_secs(2),
        });
        s.jobs.poll_interval = Duration::from_millis(20);
    }
}

/// A port where nothing listens: a sink that was started, then stopped.
fn closed_port() -> u16 {
    SmtpSink::start().port()
}

fn email(n: usize) -> Email {
    Email {
        kind: "application_received".into(),
        to: format!("candidate{n}@etudiants.example"),
        subject: format!("Candidature {n}"),
        text: "Bonjour,\nvotre candidature est bien arrivée.\n.\nÀ bientôt.".into(),
    }
}

fn enqueue_committed(app: &TestApp, email: &Email) -> i64 {
    let now = app.state.now();
    app.db
        .connect()
        .transaction(|conn| queue::enqueue_email(conn, email, now))
        .unwrap()
}

fn job_row(app: &TestApp, id: i64) -> Option<Job> {
    jobs::table
        .find(id)
        .select(Job::as_select())
        .first(&mut app.db.connect())
        .optional()
        .unwrap()
}

fn job_count(app: &TestApp) -> i64 {
    jobs::table
        .count()
        .get_result(&mut app.db.connect())
        .unwrap()
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `t` as PostgreSQL stores it: to the microsecond.
fn stored(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::DurationRound;
    t.duration_trunc(chrono::Duration::microseconds(1)).unwrap()
}

fn backoff_of(attempts: i32) -> chrono::Duration {
    chrono::Duration::from_std(queue::backoff(attempts)).unwrap()
}

#[actix_web::test]
async fn an_enqueued_email_is_delivered_once_over_smtp_and_its_job_deleted() {
    let sink = SmtpSink::start();
    let app = TestApp::with_settings(smtp_on(sink.port())).await;
    let sent = email(1);
    let id = enqueue_committed(&app, &sent);
    assert!(job_row(&app, id).is_some());

    let workers = queue::spawn_workers(app.state.clone(), passerelle::JOB_KINDS, 1);
    eventually("the delivery", || {
        !sink.messages().is_empty() && job_count(&app) == 0
    })
    .await;
    workers.stop().await;

    let received = sink.messages();
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    assert_eq!(message.mail_from, "no-reply@localhost");
    assert_eq!(message.rcpt_to, vec![sent.to.clone()]);
    assert_eq!(message.header("Subject").as_deref(), Some("Candidature 1"));
    assert!(message.header("To").unwrap().contains(&sent.to));
    assert!(message.header("From").unwrap().contains("Passerelle"));
    assert!(message
        .header("Content-Type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(message.header("Message-ID").is_some());
    // Accents travel quoted-printable; a line holding only a dot did not end the message.
    assert!(message.data.contains("\r\n\r\nBonjour,\r\n"));
    assert!(message.data.ends_with("\r\n.\r\n=C3=80 bient=C3=B4t."));
    assert!(job_row(&app, id).is_none());
}

#[actix_web::test]
async fn two_instances_never_deliver_the_same_job_twice() {
    let sink = SmtpSink::start();
    let app = TestApp::with_settings(smtp_on(sink.port())).await;
    let other_instance = app.another_instance();
    for n in 0..20 {
        enqueue_committed(&app, &email(n));
    }

    let first = queue::spawn_workers(app.state.clone(), passerelle::JOB_KINDS, 2);
    let second = queue::spawn_workers(other_instance, passerelle::JOB_KINDS, 2);
    eventually("20 deliveries", || {
        sink.messages().len() >= 20 && job_count(&app) == 0
    })
    .await;
    // Stopping waits for jobs in hand: any second delivery would have arrived by now.
    first.stop().await;
    second.stop().await;

    let received = sink.messages();
    let subjects: HashSet<String> = received
        .iter()
        .map(|m| m.header("Subject").unwrap())
        .collect();
    assert_eq!(received.len(), 20);
    assert_eq!(subjects.len(), 20);
    assert_eq!(job_count(&app), 0);
}

#[actix_web::test]
async fn concurrent_claimers_never_take_the_same_job() {
    let app = TestApp::new().await;
    let now = app.state.now();
    let mut conn = app.db.connect();
    for n in 0..200 {
        queue::enqueue(&mut conn, "noop", &serde_json::json!({ "n": n }), now).unwrap();
    }

    // Four connections claiming at once, as four workers on several instances would.
    let start = Arc::new(Barrier::new(4));
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let (url, start) = (app.db.url().to_owned(), start.clone());
            std::thread::spawn(move || {
                let mut conn = diesel::PgConnection::establish(&url).unwrap();
                start.wait();
                let mut claimed = Vec::new();
                while let Some(job) =
                    queue::claim_next(&mut conn, now, Duration::from_secs(60)).unwrap()
                {
                    claimed.push(job.id);
                }
                claimed
            })
        })
        .collect();
    let claimed: Vec<i64> = claimers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();

    let distinct: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), 200, "a job was claimed twice or not at all");
    assert_eq!(distinct.len(), 200);
}

#[actix_web::test]
async fn with_the_smtp_server_down_the_job_is_kept_rescheduled_and_delivered_once_back() {
    let port = closed_port();
    let app = TestApp::with_settings(smtp_on(port)).await;
    let sent = email(7);
    let id = enqueue_committed(&app, &sent);
    let started = app.state.now();

    let ran = queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ran.job_id, id);
    assert_eq!(
        ran.outcome,
        Outcome::Retry {
            at: started + backoff_of(1)
        }
    );
    let row = job_row(&app, id).expect("the job is kept");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.run_at, stored(started + backoff_of(1)));
    assert_eq!(row.locked_until, None);
    let error = row.last_error.expect("last_error is set");
    assert!(error.contains("could not be reached"), "{error}");
    assert!(!error.contains(&sent.to), "{error}");
    // Not due yet: nobody retries before the backoff.
    assert!(queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_none());

    let sink = SmtpSink::start_on(port);
    app.clock.advance(backoff_of(1));
    let ran = queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ran.outcome, Outcome::Done);
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.messages()[0].rcpt_to, vec![sent.to]);
    assert!(job_row(&app, id).is_none());
    assert!(queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_none());
}

#[actix_web::test]
async fn an_expired_lease_is_claimed_again_and_the_old_claim_can_no_longer_finish() {
    let app = TestApp::new().await;
    let id = enqueue_committed(&app, &email(1));
    let mut conn = app.db.connect();
    let (now, lease) = (app.state.now(), Duration::from_secs(60));

    let first = queue::claim_next(&mut conn, now, lease).unwrap().unwrap();
    assert_eq!((first.id, first.attempts), (id, 1));
    assert_eq!(
        first.locked_until,
        Some(stored(now + chrono::Duration::seconds(60)))
    );
    // Leased: nobody else gets it, however often they ask.
    let later = now + chrono::Duration::seconds(30);
    assert!(queue::claim_next(&mut conn, later, lease)
        .unwrap()
        .is_none());

    // The first worker is presumed dead once its lease has expired.
    let expired = now + chrono::Duration::seconds(61);
    let second = queue::claim_next(&mut conn, expired, lease)
        .unwrap()
        .unwrap();
    assert_eq!((second.id, second.attempts), (id, 2));

    // The first worker coming back late cannot undo the second claim.
    assert!(!queue::complete(&mut conn, &first).unwrap());
    assert_eq!(
        queue::fail(&mut conn, &first, expired, "late").unwrap(),
        Outcome::LeaseLost
    );
    assert_eq!(job_row(&app, id).unwrap().attempts, 2);
    assert!(queue::complete(&mut conn, &second).unwrap());
    assert!(job_row(&app, id).is_none());
}

#[actix_web::test]
async fn a_job_enqueued_in_a_transaction_that_rolls_back_does_not_exist() {
    let app = TestApp::new().await;
    let now = app.state.now();
    let mut conn = app.db.connect();

    let rolled_back = conn.transaction::<i64, diesel::result::Error, _>(|conn| {
        queue::enqueue_email(conn, &email(1), now)?;
        // The change that caused the email fails after it was enqueued.
        diesel::sql_query("SELECT 1 / 0").execute(conn)?;
        Ok(0)
    });
    assert!(rolled_back.is_err());
    assert_eq!(job_count(&app), 0);
    assert!(queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_none());

    conn.transaction(|conn| queue::enqueue_email(conn, &email(2), now))
        .unwrap();
    assert_eq!(job_count(&app), 1);
}

#[actix_web::test]
async fn a_job_out_of_attempts_stays_dead_for_an_admin() {
    let app = TestApp::with_settings(smtp_on(closed_port())).await;
    let sent = email(3);
    let id = queue::enqueue_with_max_attempts(
        &mut app.db.connect(),
        queue::EMAIL,
        &sent,
        app.state.now(),
        2,
    )
    .unwrap();

    let ran = queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(ran.outcome, Outcome::Retry { .. }));
    app.clock.advance(backoff_of(1));
    let ran = queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ran.outcome, Outcome::Dead);

    app.clock.advance(chrono::Duration::days(1));
    assert!(queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_none());
    let dead = queue::dead_jobs(&mut app.db.connect()).unwrap();
    assert_eq!(dead.len(), 1);
    let job = &dead[0];
    assert_eq!((job.id, job.attempts, job.max_attempts), (id, 2, 2));
    assert!(job.is_dead());
    assert_eq!(job.locked_until, None);
    let error = job.last_error.as_deref().unwrap();
    assert!(!error.contains(&sent.to), "{error}");
    assert!(!format!("{job:?}").contains(&sent.to));
}

#[actix_web::test]
async fn jobs_that_can_never_work_are_dead_at_once() {
    let app = TestApp::new().await;
    let now = app.state.now();
    let mut conn = app.db.connect();
    let unknown = queue::enqueue(&mut conn, "no_such_kind", &serde_json::json!({}), now).unwrap();
    let malformed = queue::enqueue(
        &mut conn,
        queue::EMAIL,
        &serde_json::json!({"to": 42, "subject": "candidate@etudiants.example"}),
        now,
    )
    .unwrap();

    for _ in 0..2 {
        let ran = queue::run_next(&app.state, passerelle::JOB_KINDS)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ran.outcome, Outcome::Dead, "{ran:?}");
    }
    assert!(queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_none());

    let unknown = job_row(&app, unknown).unwrap();
    assert_eq!(unknown.attempts, unknown.max_attempts);
    assert!(unknown
        .last_error
        .unwrap()
        .contains("unknown job kind \"no_such_kind\""));
    let malformed = job_row(&app, malformed).unwrap();
    assert_eq!(
        malformed.last_error.as_deref(),
        Some("the payload is not an email")
    );
}

#[actix_web::test]
async fn without_smtp_emails_go_to_the_log_mailer_and_the_job_is_done() {
    let app = TestApp::new().await;
    assert!(app.state.settings.mail.smtp.is_none());
    let id = enqueue_committed(&app, &email(1));
    let ran = queue::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ran.job_id, ran.outcome), (id, Outcome::Done));
    assert_eq!(job_count(&app), 0);
}

#[actix_web::test]
async fn idle_workers_stop_promptly_when_told() {
    let app = TestApp::with_settings(|s| s.jobs.poll_interval = Duration::from_secs(600)).await;
    let workers = queue::spawn_workers(app.state.clone(), passerelle::JOB_KINDS, 2);
    assert_eq!(workers.len(), 2);
    // Let them find the queue empty and go to sleep for the long poll interval.
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    let asked = Instant::now();
    workers.stop().await;
    assert!(asked.elapsed() < Duration::from_secs(5));
    assert!(queue::spawn_workers(app.state.clone(), passerelle::JOB_KINDS, 0).is_empty());
}
