//! The city's calendar (issue 16): offers closed by the job system when their deadline day
//! ends in `CITY_TIME_ZONE`, drafts published at their scheduled time, the four-eyes
//! approval, reopening after an automatic close, and the offer's history. The clock is the
//! tests' `ManualClock`; the sweep runs through the job queue as in `serve`; webhooks and
//! mails are counted at real local sinks.

use crate::{
    smtp_sink::SmtpSink,
    support::{open_offer, OfferDates, TestApp, TestResponse},
    webhook_sink::WebhookSink,
};
use actix_web::test as actix_test;
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use passerelle::{
    auth::Role, calendar::CityCalendar, offers::sweep, settings::PublicationApproval,
};
use serde_json::{json, Value};
use std::time::Duration;

// --- helpers ------------------------------------------------------------------------------

/// An app whose webhooks may reach the local sink and whose mail goes to `smtp`.
async fn calendar_app(smtp: &SmtpSink, approval: PublicationApproval) -> TestApp {
    let port = smtp.port();
    TestApp::with_settings(move |s| {
        crate::jobs::smtp_on(port)(s);
        s.partners.webhooks.allow_http = true;
        s.partners.webhooks.allow_loopback = true;
        s.partners.webhooks.timeout = Duration::from_secs(5);
        s.calendar.approval = approval;
    })
    .await
}

/// A partner with a webhook endpoint on `sink`; returns its API key.
async fn partner_hooked(app: &TestApp, sink: &WebhookSink) -> String {
    let (_, admin) = app.token_for(Role::Admin).await;
    let res = app
        .post_json(
            "/api/v1/staff/partners",
            Some(&admin),
            json!({"name": "Partenaire calendrier", "slug": "calendrier", "contact_email": "stages@univ.example"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", body(&res));
    let partner = res.json();
    let hook = app
        .post_json(
            &format!(
                "/api/v1/staff/partners/{}/webhooks",
                partner["id"].as_str().unwrap()
            ),
            Some(&admin),
            json!({"url": sink.url("/hooks")}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", body(&hook));
    partner["api_key"].as_str().unwrap().to_owned()
}

fn body(res: &TestResponse) -> String {
    String::from_utf8_lossy(&res.body).into_owned()
}

/// Queues a sweep at the clock's time, as `serve` does at start and on each minute, then
/// runs every due job (the sweep, and the webhooks and mails it queued).
async fn sweep_now(app: &TestApp) {
    let mut conn = app.state.pool.get().unwrap();
    sweep::queue(&mut conn, app.state.now()).unwrap();
    drop(conn);
    run_jobs(app).await;
}

async fn run_jobs(app: &TestApp) {
    while passerelle::jobs::run_next(&app.state, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_some()
    {}
}

fn with_deadline(reference: &str, deadline: NaiveDate) -> Value {
    let mut o = open_offer(reference);
    o["application"]["deadline"] = json!(deadline.to_string());
    o
}

fn paris() -> CityCalendar {
    CityCalendar::default()
}

async fn staff_offer(app: &TestApp, token: &str, id: &str) -> (Value, String) {
    let res = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(token))
        .await;
    assert_eq!(res.status, 200, "{}", body(&res));
    let etag = res.header("etag").unwrap().to_owned();
    (res.json(), etag)
}

/// POST `path` on offer `id` with its current ETag (a made-up one for a caller who cannot
/// read the offer).
async fn step(app: &TestApp, token: &str, id: &str, path: &str, payload: Value) -> TestResponse {
    let res = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(token))
        .await;
    let etag = res.header("etag").unwrap_or("\"unseen\"").to_owned();
    app.post_if_match(
        &format!("/api/v1/staff/offers/{id}/{path}"),
        token,
        &etag,
        payload,
    )
    .await
}

async fn history(app: &TestApp, token: &str, id: &str) -> Vec<Value> {
    let res = app
        .get(&format!("/api/v1/staff/offers/{id}/history"), Some(token))
        .await;
    assert_eq!(res.status, 200, "{}", body(&res));
    res.json()["items"].as_array().unwrap().clone()
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn events(sink: &WebhookSink, offer_id: &str) -> Vec<String> {
    sink.requests()
        .iter()
        .filter(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["data"]["offer_id"] == offer_id
        })
        .map(|r| r.header("x-passerelle-event").unwrap().to_owned())
        .collect()
}

fn mails_to(smtp: &SmtpSink, to: &str) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.rcpt_to.iter().any(|r| r.contains(to)))
        .count()
}

/// Moves the clock and signs `staff` in again: access tokens are short-lived.
async fn at_time(app: &TestApp, t: DateTime<Utc>, staff: &crate::support::Staff) -> String {
    app.clock.set(t);
    app.login(staff).await.access_token
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

// --- automatic closing ----------------------------------------------------------------------

#[actix_web::test]
async fn an_offer_closes_when_its_deadline_day_ends_in_paris_and_not_before() {
    let (smtp, hooks) = (SmtpSink::start(), WebhookSink::start());
    let app = calendar_app(&smtp, PublicationApproval::None).await;
    let key = partner_hooked(&app, &hooks).await;
    let (staff_m, manager) = app.token_for(Role::Manager).await;
    let deadline = OfferDates::now().deadline;
    let offer = app
        .publish_new_offer(&manager, with_deadline("CAL-CLOSE-1", deadline))
        .await;
    let (id, slug) = (id_of(&offer), offer["slug"].as_str().unwrap().to_owned());
    let contact = offer["contact"]["email"].as_str().unwrap().to_owned();
    run_jobs(&app).await;
    let published_events = events(&hooks, &id).len();
    let contact_mails = mails_to(&smtp, &contact);

    // 23:59:59.999 in Paris on the deadline day: still open.
    let end = paris().day_end(deadline);
    let manager = at_time(&app, end - TimeDelta::milliseconds(1), &staff_m).await;
    sweep_now(&app).await;
    let (staff, _) = staff_offer(&app, &manager, &id).await;
    assert_eq!(staff["status"], "published");
    let public = app.get(&format!("/api/v1/offers/{slug}"), None).await;
    assert_eq!(public.json()["accepting_applications"], true);

    // Midnight in Paris: closed by the calendar, with every event of a close.
    let manager = at_time(&app, end, &staff_m).await;
    sweep_now(&app).await;
    let (staff, _) = staff_offer(&app, &manager, &id).await;
    assert_eq!(staff["status"], "closed");
    assert_eq!(staff["closed_reason"], "deadline_passed");
    assert_eq!(
        staff["closed_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        end
    );
    assert_eq!(staff["updated_by"], Value::Null);
    let public = app
        .get(&format!("/api/v1/offers/{slug}"), None)
        .await
        .json();
    assert_eq!(public["status"], "closed");
    assert_eq!(public["accepting_applications"], false);
    let list = app.get("/api/v1/offers?status=published", None).await;
    assert!(!body(&list).contains(&id), "still listed as open");
    let feed = app.get("/api/v1/feeds/offers.xml", None).await;
    assert!(!body(&feed).contains(&slug), "still in the feed");
    let changes = app
        .get("/api/v1/partner/offers/changes?limit=100", Some(&key))
        .await;
    assert_eq!(changes.status, 200, "{}", body(&changes));
    let changes = changes.json();
    let last = changes["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|i| i["id"] == id.as_str() || i["offer"]["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (last["kind"].as_str(), last["reason"].as_str()),
        (Some("tombstone"), Some("closed"))
    );
    assert_eq!(events(&hooks, &id)[published_events..], ["offer.closed"]);
    assert_eq!(mails_to(&smtp, &contact), contact_mails + 1);
    let h = history(&app, &manager, &id).await;
    assert_eq!(h[0]["action"], "offer.closed");
    assert_eq!(h[0]["actor"], Value::Null);
    assert_eq!(h[0]["details"]["reason"], "deadline_passed");
    assert_eq!(h[0]["details"]["deadline"], deadline.to_string());

    // Applying is refused; a second sweep changes nothing.
    let manager = at_time(&app, end + TimeDelta::minutes(5), &staff_m).await;
    sweep_now(&app).await;
    assert_eq!(events(&hooks, &id)[published_events..], ["offer.closed"]);
    assert_eq!(mails_to(&smtp, &contact), contact_mails + 1);
    assert_eq!(
        actions(&history(&app, &manager, &id).await)
            .iter()
            .filter(|a| *a == "offer.closed")
            .count(),
        1
    );
}

#[actix_web::test]
async fn a_server_down_across_several_deadlines_closes_each_once_and_two_instances_never_twice() {
    let (smtp, hooks) = (SmtpSink::start(), WebhookSink::start());
    let app = calendar_app(&smtp, PublicationApproval::None).await;
    partner_hooked(&app, &hooks).await;
    let (staff_m, manager) = app.token_for(Role::Manager).await;
    let first = OfferDates::now().deadline;
    let mut ids = Vec::new();
    for (n, days) in [0u64, 1, 2, 9].into_iter().enumerate() {
        let offer = app
            .publish_new_offer(
                &manager,
                with_deadline(&format!("CAL-DOWN-{n}"), first + Days::new(days)),
            )
            .await;
        ids.push(id_of(&offer));
    }
    // And a draft scheduled for the day of the second deadline.
    let (draft, _) = app
        .create_offer(
            &manager,
            with_deadline("CAL-DOWN-SCHED", first + Days::new(9)),
        )
        .await;
    let scheduled = id_of(&draft);
    let publish_at = paris().day_start(first + Days::new(1)) + TimeDelta::hours(9);
    let res = step(
        &app,
        &manager,
        &scheduled,
        "schedule",
        json!({"publish_at": publish_at}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", body(&res));
    run_jobs(&app).await;
    let before = hooks.requests().len();

    // Down from before the first deadline until three days after the third.
    let later = paris().day_end(first + Days::new(2)) + TimeDelta::days(3);
    let manager = at_time(&app, later, &staff_m).await;
    let other = app.another_instance();
    {
        let mut a = app.state.pool.get().unwrap();
        let mut b = other.pool.get().unwrap();
        assert!(sweep::queue(&mut a, app.state.now()).unwrap());
        // The second instance's start finds the sweep queued: still one job.
        assert!(!sweep::queue(&mut b, other.now()).unwrap());
    }
    // Both instances sweep at the same time, besides the queued job.
    let (s1, s2) = (app.state.clone(), other.clone());
    let (r1, r2) = futures_util::future::join(
        actix_web::web::block(move || {
            let mut c = s1.pool.get().unwrap();
            sweep::sweep(&mut c, s1.calendar(), PublicationApproval::None, s1.now()).unwrap()
        }),
        actix_web::web::block(move || {
            let mut c = s2.pool.get().unwrap();
            sweep::sweep(&mut c, s2.calendar(), PublicationApproval::None, s2.now()).unwrap()
        }),
    )
    .await;
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    let mut closed: Vec<_> = r1
        .closed
        .iter()
        .chain(&r2.closed)
        .map(|u| u.to_string())
        .collect();
    closed.sort();
    let mut expected = ids[..3].to_vec();
    expected.sort();
    assert_eq!(closed, expected, "each offer closed exactly once");
    let published: Vec<_> = r1
        .published
        .iter()
        .chain(&r2.published)
        .map(|u| u.to_string())
        .collect();
    assert_eq!(
        published,
        std::slice::from_ref(&scheduled),
        "the scheduled draft published exactly once"
    );
    run_jobs(&app).await;
    while passerelle::jobs::run_next(&other, passerelle::JOB_KINDS)
        .await
        .unwrap()
        .is_some()
    {}

    for id in &ids[..3] {
        let (staff, _) = staff_offer(&app, &manager, id).await;
        assert_eq!(staff["closed_reason"], "deadline_passed");
        assert_eq!(
            events(&hooks, id)
                .iter()
                .filter(|e| *e == "offer.closed")
                .count(),
            1
        );
    }
    let (open, _) = staff_offer(&app, &manager, &ids[3]).await;
    assert_eq!(open["status"], "published");
    assert_eq!(events(&hooks, &scheduled), ["offer.published"]);
    assert_eq!(
        staff_offer(&app, &manager, &scheduled).await.0["status"],
        "published"
    );
    assert_eq!(hooks.requests().len() - before, 4);
    let contact = open["contact"]["email"].as_str().unwrap();
    // Every offer has the fixture's contact: one mail per closing, none for the publication.
    assert_eq!(mails_to(&smtp, contact), 3);
}

// --- scheduled publication ------------------------------------------------------------------

#[actix_web::test]
async fn a_scheduled_draft_is_published_at_the_minute_with_the_events_of_a_publish() {
    let (smtp, hooks) = (SmtpSink::start(), WebhookSink::start());
    let app = calendar_app(&smtp, PublicationApproval::None).await;
    partner_hooked(&app, &hooks).await;
    let (staff_m, manager) = app.token_for(Role::Manager).await;
    let (_, reviewer) = app.token_for(Role::Reviewer).await;
    let (draft, _) = app.create_offer(&manager, open_offer("CAL-SCHED-1")).await;
    let id = id_of(&draft);
    let now = app.state.now();
    let at = sweep::next_period(now + TimeDelta::hours(2), Duration::from_secs(60));

    // Refusals first.
    let past = step(
        &app,
        &manager,
        &id,
        "schedule",
        json!({"publish_at": now - TimeDelta::minutes(1)}),
    )
    .await;
    past.assert_problem(422, "validation_failed");
    assert!(body(&past).contains("in_the_past"));
    let far = step(
        &app,
        &manager,
        &id,
        "schedule",
        json!({"publish_at": now + TimeDelta::days(400)}),
    )
    .await;
    assert!(body(&far).contains("too_far"), "{}", body(&far));
    let garbage = step(
        &app,
        &manager,
        &id,
        "schedule",
        json!({"publish_at": "demain"}),
    )
    .await;
    garbage.assert_problem(422, "invalid_body");
    let by_reviewer = step(&app, &reviewer, &id, "schedule", json!({"publish_at": at})).await;
    assert_eq!(
        by_reviewer.status, 404,
        "an unassigned reviewer does not see the offer"
    );
    let no_if_match = app
        .post_json(
            &format!("/api/v1/staff/offers/{id}/schedule"),
            Some(&manager),
            json!({"publish_at": at}),
        )
        .await;
    no_if_match.assert_problem(428, "if_match_required");
    let cancel_nothing = app
        .send(
            actix_test::TestRequest::delete()
                .uri(&format!("/api/v1/staff/offers/{id}/schedule"))
                .insert_header(("Authorization", format!("Bearer {manager}")))
                .insert_header(("If-Match", staff_offer(&app, &manager, &id).await.1)),
        )
        .await;
    cancel_nothing.assert_problem(409, "not_scheduled");

    // Scheduled, cancelled, scheduled again.
    let res = step(
        &app,
        &manager,
        &id,
        "schedule",
        json!({"publish_at": at - TimeDelta::hours(1)}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", body(&res));
    let cancel = app
        .send(
            actix_test::TestRequest::delete()
                .uri(&format!("/api/v1/staff/offers/{id}/schedule"))
                .insert_header(("Authorization", format!("Bearer {manager}")))
                .insert_header(("If-Match", res.header("etag").unwrap().to_owned())),
        )
        .await;
    assert_eq!(cancel.status, 200, "{}", body(&cancel));
    assert_eq!(cancel.json()["publish_at"], Value::Null);
    let res = step(&app, &manager, &id, "schedule", json!({"publish_at": at})).await;
    assert_eq!(res.status, 200, "{}", body(&res));
    assert_eq!(
        res.json()["publish_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        at
    );
    assert_eq!(res.json()["status"], "draft");

    let manager = at_time(&app, at - TimeDelta::seconds(1), &staff_m).await;
    sweep_now(&app).await;
    assert_eq!(staff_offer(&app, &manager, &id).await.0["status"], "draft");
    assert!(events(&hooks, &id).is_empty());

    let manager = at_time(&app, at, &staff_m).await;
    sweep_now(&app).await;
    let (staff, _) = staff_offer(&app, &manager, &id).await;
    assert_eq!(staff["status"], "published");
    assert_eq!(staff["publish_at"], Value::Null);
    assert_eq!(
        staff["published_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        at
    );
    assert_eq!(events(&hooks, &id), ["offer.published"]);
    let public = app.get(&format!("/api/v1/offers/{id}"), None).await;
    assert_eq!(public.status, 200);
    let h = history(&app, &manager, &id).await;
    assert_eq!(
        actions(&h),
        [
            "offer.published",
            "offer.scheduled",
            "offer.schedule_cancelled",
            "offer.scheduled",
            "offer.created"
        ]
    );
    assert_eq!(h[0]["actor"], Value::Null);
    assert_eq!(h[0]["details"]["scheduled"], true);
    // A published offer cannot be scheduled.
    step(
        &app,
        &manager,
        &id,
        "schedule",
        json!({"publish_at": at + TimeDelta::days(1)}),
    )
    .await
    .assert_problem(409, "not_a_draft");
}

#[actix_web::test]
async fn a_scheduled_draft_no_longer_valid_is_not_published_and_its_author_is_told() {
    let (smtp, hooks) = (SmtpSink::start(), WebhookSink::start());
    let app = calendar_app(&smtp, PublicationApproval::None).await;
    partner_hooked(&app, &hooks).await;
    let (author, manager) = app.token_for(Role::Manager).await;
    let dates = OfferDates::now();
    let (draft, _) = app.create_offer(&manager, open_offer("CAL-SCHED-2")).await;
    let id = id_of(&draft);
    // Scheduled for the morning five days before the deadline.
    let at = paris().day_start(dates.deadline - Days::new(5)) + TimeDelta::hours(9);
    let res = step(&app, &manager, &id, "schedule", json!({"publish_at": at})).await;
    assert_eq!(res.status, 200, "{}", body(&res));
    // A deadline that ends before the publication day is refused at once...
    let (_, etag) = staff_offer(&app, &manager, &id).await;
    let early = dates.deadline - Days::new(6);
    let res = app
        .send(
            actix_test::TestRequest::post()
                .uri(&format!("/api/v1/staff/offers/{id}/schedule"))
                .insert_header(("Authorization", format!("Bearer {manager}")))
                .insert_header(("If-Match", etag))
                .set_json(json!({"publish_at": paris().day_start(early + Days::new(1)) + TimeDelta::hours(9)})),
        )
        .await;
    assert_eq!(
        res.status,
        200,
        "a later day inside the deadline is fine: {}",
        body(&res)
    );
    // ...but the deadline can still be moved earlier afterwards, so the sweep checks again.
    let (_, etag) = staff_offer(&app, &manager, &id).await;
    let patched = app
        .send(
            actix_test::TestRequest::patch()
                .uri(&format!("/api/v1/staff/offers/{id}"))
                .insert_header(("Authorization", format!("Bearer {manager}")))
                .insert_header(("If-Match", etag))
                .insert_header(("Content-Type", "application/merge-patch+json"))
                .set_payload(json!({"application": {"deadline": early.to_string()}}).to_string()),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", body(&patched));
    let publish_at: DateTime<Utc> = patched.json()["publish_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let before = mails_to(&smtp, &author.email);

    let manager = at_time(&app, publish_at, &author).await;
    sweep_now(&app).await;
    let (staff, _) = staff_offer(&app, &manager, &id).await;
    assert_eq!(staff["status"], "draft");
    assert_eq!(
        staff["publish_at"],
        Value::Null,
        "the schedule is cancelled"
    );
    assert!(events(&hooks, &id).is_empty());
    assert_eq!(mails_to(&smtp, &author.email), before + 1);
    let h = history(&app, &manager, &id).await;
    assert_eq!(h[0]["action"], "offer.schedule_failed");
    assert_eq!(h[0]["actor"], Value::Null);
    assert_eq!(h[0]["details"]["code"], "validation_failed");
    assert!(h[0]["details"]["errors"]
        .to_string()
        .contains("deadline_passed"));
    // Nothing more happens at the next sweep.
    app.clock.set(publish_at + TimeDelta::minutes(1));
    sweep_now(&app).await;
    assert_eq!(mails_to(&smtp, &author.email), before + 1);
}

// --- approval ---------------------------------------------------------------------------------

#[actix_web::test]
async fn publication_needs_a_second_person_when_approval_is_required() {
    let (smtp, hooks) = (SmtpSink::start(), WebhookSink::start());
    let app = calendar_app(&smtp, PublicationApproval::Required).await;
    partner_hooked(&app, &hooks).await;
    let (first, m1) = app.token_for(Role::Manager).await;
    let (_, m2) = app.token_for(Role::Manager).await;
    let (_, admin) = app.token_for(Role::Admin).await;
    let (_, reviewer) = app.token_for(Role::Reviewer).await;
    let (draft, _) = app.create_offer(&m1, open_offer("CAL-4EYES-1")).await;
    let id = id_of(&draft);
    assert_eq!(draft["approval"]["status"], "none");

    step(&app, &m1, &id, "publish", json!({}))
        .await
        .assert_problem(409, "approval_required");
    let at = app.state.now() + TimeDelta::hours(3);
    step(&app, &m1, &id, "schedule", json!({"publish_at": at}))
        .await
        .assert_problem(409, "approval_required");
    step(&app, &m2, &id, "approve", json!({}))
        .await
        .assert_problem(409, "illegal_transition");
    assert_eq!(
        step(&app, &reviewer, &id, "submit", json!({})).await.status,
        404
    );

    let submitted = step(&app, &m1, &id, "submit", json!({})).await;
    assert_eq!(submitted.status, 200, "{}", body(&submitted));
    assert_eq!(submitted.json()["approval"]["status"], "submitted");
    assert_eq!(
        submitted.json()["approval"]["submitted_by"],
        first.id.to_string()
    );
    step(&app, &m1, &id, "submit", json!({}))
        .await
        .assert_problem(409, "illegal_transition");
    step(&app, &m1, &id, "approve", json!({}))
        .await
        .assert_problem(403, "own_submission");
    step(&app, &m1, &id, "reject", json!({"reason": "non"}))
        .await
        .assert_problem(403, "own_submission");
    step(&app, &m1, &id, "publish", json!({}))
        .await
        .assert_problem(409, "approval_required");

    // Rejected with a reason, told to the submitter.
    step(&app, &m2, &id, "reject", json!({"reason": "  "}))
        .await
        .assert_problem(422, "validation_failed");
    step(&app, &m2, &id, "reject", json!({}))
        .await
        .assert_problem(422, "invalid_body");
    let before = mails_to(&smtp, &first.email);
    let rejected = step(
        &app,
        &m2,
        &id,
        "reject",
        json!({"reason": "Gratification à revoir."}),
    )
    .await;
    assert_eq!(rejected.status, 200, "{}", body(&rejected));
    assert_eq!(rejected.json()["approval"]["status"], "rejected");
    assert_eq!(
        rejected.json()["approval"]["rejection_reason"],
        "Gratification à revoir."
    );
    run_jobs(&app).await;
    assert_eq!(mails_to(&smtp, &first.email), before + 1);

    // Submitted again and approved by an admin; a change sends it back.
    assert_eq!(step(&app, &m1, &id, "submit", json!({})).await.status, 200);
    let approved = step(&app, &admin, &id, "approve", json!({})).await;
    assert_eq!(approved.status, 200, "{}", body(&approved));
    assert_eq!(approved.json()["approval"]["status"], "approved");
    let (_, etag) = staff_offer(&app, &m1, &id).await;
    let patched = app
        .send(
            actix_test::TestRequest::patch()
                .uri(&format!("/api/v1/staff/offers/{id}"))
                .insert_header(("Authorization", format!("Bearer {m1}")))
                .insert_header(("If-Match", etag))
                .insert_header(("Content-Type", "application/merge-patch+json"))
                .set_payload(json!({"positions": 2}).to_string()),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", body(&patched));
    assert_eq!(patched.json()["approval"]["status"], "none");
    step(&app, &m1, &id, "publish", json!({}))
        .await
        .assert_problem(409, "approval_required");

    // Submitted by the admin, approved by the first manager, then scheduled and published.
    assert_eq!(
        step(&app, &admin, &id, "submit", json!({})).await.status,
        200
    );
    assert_eq!(step(&app, &m1, &id, "approve", json!({})).await.status, 200);
    let res = step(&app, &m1, &id, "schedule", json!({"publish_at": at})).await;
    assert_eq!(res.status, 200, "{}", body(&res));
    let m1 = at_time(&app, at, &first).await;
    sweep_now(&app).await;
    let (staff, _) = staff_offer(&app, &m1, &id).await;
    assert_eq!(staff["status"], "published");
    assert_eq!(events(&hooks, &id), ["offer.published"]);
    assert_eq!(
        actions(&history(&app, &m1, &id).await),
        [
            "offer.published",
            "offer.scheduled",
            "offer.approved",
            "offer.submitted",
            "offer.updated",
            "offer.approved",
            "offer.submitted",
            "offer.rejected",
            "offer.submitted",
            "offer.created"
        ]
    );
    let h = history(&app, &m1, &id).await;
    assert_eq!(h[4]["details"]["approval"]["from"], "approved");
    assert_eq!(h[7]["details"]["reason"], "Gratification à revoir.");
}

#[actix_web::test]
async fn approval_steps_are_refused_when_the_city_does_not_use_them() {
    let smtp = SmtpSink::start();
    let app = calendar_app(&smtp, PublicationApproval::None).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let (draft, _) = app.create_offer(&manager, open_offer("CAL-4EYES-2")).await;
    let id = id_of(&draft);
    for s in ["submit", "approve"] {
        step(&app, &manager, &id, s, json!({}))
            .await
            .assert_problem(409, "approval_not_required");
    }
    // A manager publishes their own draft directly.
    assert_eq!(
        step(&app, &manager, &id, "publish", json!({})).await.status,
        200
    );
}

// --- reopening ----------------------------------------------------------------------------------

#[actix_web::test]
async fn reopening_after_an_automatic_close_needs_a_new_deadline() {
    let smtp = SmtpSink::start();
    let app = calendar_app(&smtp, PublicationApproval::None).await;
    let (staff_m, manager) = app.token_for(Role::Manager).await;
    let deadline = OfferDates::now().deadline;
    let offer = app
        .publish_new_offer(&manager, with_deadline("CAL-REOPEN-1", deadline))
        .await;
    let id = id_of(&offer);
    let manager = at_time(
        &app,
        paris().day_end(deadline) + TimeDelta::hours(1),
        &staff_m,
    )
    .await;
    sweep_now(&app).await;
    let today = paris().today(app.state.now());

    let missing = step(&app, &manager, &id, "reopen", json!({})).await;
    missing.assert_problem(422, "validation_failed");
    assert!(body(&missing).contains("\"deadline\"") && body(&missing).contains("required"));
    let (_, etag) = staff_offer(&app, &manager, &id).await;
    let no_body = app
        .send(
            actix_test::TestRequest::post()
                .uri(&format!("/api/v1/staff/offers/{id}/reopen"))
                .insert_header(("Authorization", format!("Bearer {manager}")))
                .insert_header(("If-Match", etag)),
        )
        .await;
    no_body.assert_problem(422, "validation_failed");
    let past = step(
        &app,
        &manager,
        &id,
        "reopen",
        json!({"deadline": deadline.to_string()}),
    )
    .await;
    assert!(body(&past).contains("deadline_passed"), "{}", body(&past));
    let bad = step(
        &app,
        &manager,
        &id,
        "reopen",
        json!({"deadline": "bientôt"}),
    )
    .await;
    assert!(body(&bad).contains("invalid_date"), "{}", body(&bad));
    step(
        &app,
        &manager,
        &id,
        "reopen",
        json!({"deadline": "2030-01-01", "extra": 1}),
    )
    .await
    .assert_problem(422, "invalid_body");

    let new_deadline = today + Days::new(10);
    let reopened = step(
        &app,
        &manager,
        &id,
        "reopen",
        json!({"deadline": new_deadline.to_string()}),
    )
    .await;
    assert_eq!(reopened.status, 200, "{}", body(&reopened));
    let r = reopened.json();
    assert_eq!(r["status"], "published");
    assert_eq!(r["closed_reason"], Value::Null);
    assert_eq!(r["application"]["deadline"], new_deadline.to_string());
    assert_eq!(r["accepting_applications"], true);
    let h = history(&app, &manager, &id).await;
    assert_eq!(h[0]["action"], "offer.reopened");
    assert_eq!(h[0]["details"]["deadline"]["from"], deadline.to_string());
    assert_eq!(h[0]["details"]["deadline"]["to"], new_deadline.to_string());

    // A manual close reopens without a body while its deadline is open.
    assert_eq!(
        step(&app, &manager, &id, "close", json!({})).await.json()["closed_reason"],
        "manual"
    );
    let again = step(&app, &manager, &id, "reopen", json!({})).await;
    assert_eq!(again.status, 200, "{}", body(&again));
}

#[actix_web::test]
async fn the_history_is_for_staff_who_see_the_offer() {
    let smtp = SmtpSink::start();
    let app = calendar_app(&smtp, PublicationApproval::None).await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let (_, reviewer) = app.token_for(Role::Reviewer).await;
    let (draft, _) = app.create_offer(&manager, open_offer("CAL-HIST-1")).await;
    let id = id_of(&draft);
    let path = format!("/api/v1/staff/offers/{id}/history");
    assert_eq!(app.get(&path, None).await.status, 401);
    assert_eq!(app.get(&path, Some(&reviewer)).await.status, 404);
    app.get(&format!("{path}?limit=0"), Some(&manager))
        .await
        .assert_problem(422, "validation_failed");
    app.get(&format!("{path}?cursor=nope"), Some(&manager))
        .await
        .assert_problem(422, "validation_failed");
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(
        app.get(
            &format!("/api/v1/staff/offers/{unknown}/history"),
            Some(&manager)
        )
        .await
        .status,
        404
    );
    assert_eq!(
        actions(&history(&app, &manager, &id).await),
        ["offer.created"]
    );
}

// --- a real server --------------------------------------------------------------------------

#[actix_web::test]
async fn serve_closes_at_start_what_passed_while_it_was_down() {
    use diesel::{sql_query, Connection, PgConnection, RunQueryDsl};
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let passed = app
        .publish_new_offer(&manager, open_offer("CAL-SERVE-1"))
        .await;
    let open = app
        .publish_new_offer(&manager, open_offer("CAL-SERVE-2"))
        .await;
    // Its deadline went by while no server ran: two days ago in Paris.
    let two_days_ago = paris().today(Utc::now()) - Days::new(2);
    let mut conn = PgConnection::establish(app.db.url()).unwrap();
    sql_query(format!(
        "UPDATE offers SET application_deadline = '{two_days_ago}' WHERE id = '{}'",
        passed["id"].as_str().unwrap()
    ))
    .execute(&mut conn)
    .unwrap();

    let server = crate::process::ServerProcess::start(
        app.db.url(),
        &[("JOB_WORKERS", "1"), ("JOB_POLL_INTERVAL_MS", "50")],
    );
    server.wait_ready();
    let status = |s: &crate::process::ServerProcess, offer: &Value| {
        s.get(&format!("/api/v1/offers/{}", offer["id"].as_str().unwrap()))
            .map(|r| r.json()["status"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    server.wait_until(Duration::from_secs(20), |s| status(s, &passed) == "closed");
    assert_eq!(status(&server, &open), "published");
    let (staff, _) = staff_offer(&app, &manager, passed["id"].as_str().unwrap()).await;
    assert_eq!(staff["closed_reason"], "deadline_passed");
}
