//! Issue 16 item 1: every date rule is a day in `CITY_TIME_ZONE` (default `Europe/Paris`).
//! Applications are taken through 23:59:59.999 local time on the deadline day, the public
//! offer's `accepting_applications` flips at the same instant, and the JSON-LD's
//! `validThrough` is that day's last second with the zone's offset. The clock is moved, never
//! waited for.

use crate::applications::{candidate_fields, pdfs};
use crate::support::{open_offer, OfferDates, TestApp};
use chrono::{DateTime, Days, NaiveDate, Utc};
use passerelle::{auth::Role, calendar::CityCalendar};

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Publishes an offer whose deadline is `deadline` (the clock a fortnight before it), then
/// checks the public offer, its JSON-LD and applying at `last_open` (accepted) and at
/// `first_closed` (refused).
async fn deadline_ends(
    zone: Option<&str>,
    deadline: &str,
    last_open: &str,
    first_closed: &str,
    valid_through: &str,
) {
    let zone = zone.map(|z| CityCalendar::new(z).unwrap());
    let app = TestApp::with_settings(|s| {
        if let Some(zone) = zone {
            s.calendar.zone = zone;
        }
    })
    .await;
    let deadline: NaiveDate = deadline.parse().unwrap();
    app.clock
        .set(utc(&format!("{}T12:00:00Z", deadline - Days::new(14))));
    let (_, manager) = app.token_for(Role::Manager).await;
    let dates = OfferDates::from_today(deadline - Days::new(42));
    let mut body = open_offer(&format!("TZ-{deadline}"));
    body["application"]["deadline"] = dates.deadline.to_string().into();
    body["contract"]["starts_from"] = dates.starts_from.to_string().into();
    body["contract"]["ends_by"] = dates.ends_by.to_string().into();
    let offer = app.publish_new_offer(&manager, body).await;
    let id = offer["id"].as_str().unwrap().to_owned();

    app.clock.set(utc(last_open));
    let public = app.get(&format!("/api/v1/offers/{id}"), None).await.json();
    assert_eq!(public["accepting_applications"], true, "at {last_open}");
    let ld = app
        .get(&format!("/api/v1/offers/{id}/jsonld"), None)
        .await
        .json();
    assert_eq!(ld["validThrough"], valid_through);
    assert_eq!(ld["directApply"], true);
    let res = app
        .apply_with(&id, &candidate_fields("last@example.org"), &pdfs(), None)
        .await;
    assert_eq!(
        res.status,
        201,
        "at {last_open}: {}",
        String::from_utf8_lossy(&res.body)
    );

    app.clock.set(utc(first_closed));
    let public = app.get(&format!("/api/v1/offers/{id}"), None).await.json();
    assert_eq!(public["accepting_applications"], false, "at {first_closed}");
    let listed = app.get("/api/v1/offers", None).await.json();
    let card = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str())
        .expect("still published, in the list");
    assert_eq!(card["accepting_applications"], false);
    let ld = app
        .get(&format!("/api/v1/offers/{id}/jsonld"), None)
        .await
        .json();
    assert_eq!(ld["directApply"], false);
    assert_eq!(
        ld["validThrough"], valid_through,
        "still the deadline's end"
    );
    app.apply_with(&id, &candidate_fields("late@example.org"), &pdfs(), None)
        .await
        .assert_problem(409, "deadline_passed");
}

#[actix_web::test]
async fn a_winter_deadline_ends_at_midnight_in_paris() {
    deadline_ends(
        None,
        "2027-01-15",
        "2027-01-15T22:59:59.999Z",
        "2027-01-15T23:00:00Z",
        "2027-01-15T23:59:59+01:00",
    )
    .await;
}

#[actix_web::test]
async fn a_deadline_on_the_last_day_of_march_ends_at_22_utc() {
    // Summer time since 28 March.
    deadline_ends(
        None,
        "2027-03-31",
        "2027-03-31T21:59:59.999Z",
        "2027-03-31T22:00:00Z",
        "2027-03-31T23:59:59+02:00",
    )
    .await;
}

#[actix_web::test]
async fn a_deadline_on_the_last_day_of_october_ends_at_23_utc() {
    // The clocks went back at 03:00 that day: a 25-hour day, ending in winter time.
    deadline_ends(
        None,
        "2027-10-31",
        "2027-10-31T22:59:59.999Z",
        "2027-10-31T23:00:00Z",
        "2027-10-31T23:59:59+01:00",
    )
    .await;
}

#[actix_web::test]
async fn another_city_time_zone_moves_the_end_of_the_day() {
    // French Guiana, UTC-3 all year: 15 January ends at 03:00 UTC on the 16th.
    deadline_ends(
        Some("America/Cayenne"),
        "2027-01-15",
        "2027-01-16T02:59:59.999Z",
        "2027-01-16T03:00:00Z",
        "2027-01-15T23:59:59-03:00",
    )
    .await;
}

#[actix_web::test]
async fn publishing_refuses_a_deadline_that_has_ended_in_the_city_but_not_in_utc() {
    let app = TestApp::new().await;
    // 15 January 23:30 UTC is already 16 January in Paris.
    app.clock.set(utc("2027-01-10T12:00:00Z"));
    let (staff, manager) = app.token_for(Role::Manager).await;
    let dates = OfferDates::from_today("2026-12-04".parse().unwrap());
    assert_eq!(dates.deadline.to_string(), "2027-01-15");
    let mut body = open_offer("TZ-PUBLISH");
    body["application"]["deadline"] = dates.deadline.to_string().into();
    body["contract"]["starts_from"] = dates.starts_from.to_string().into();
    body["contract"]["ends_by"] = dates.ends_by.to_string().into();
    let (created, etag) = app.create_offer(&manager, body).await;
    let id = created["id"].as_str().unwrap();
    app.clock.set(utc("2027-01-15T23:30:00Z"));
    let manager = app.login(&staff).await.access_token;
    let body = app
        .post_if_match(
            &format!("/api/v1/staff/offers/{id}/publish"),
            &manager,
            &etag,
            serde_json::json!({}),
        )
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "application.deadline");
    assert_eq!(body["errors"][0]["code"], "deadline_passed");
}
