//! Demo data for `passerelle seed-demo` and `docker compose up`: staff accounts of each role
//! with published passwords, the fixture offer of Grenoble and a dozen more offers of a
//! French city, published, closed and draft, with dates moved so that they are open today.
//! Idempotent: what exists is left as it is. Every address in the demo data is under the
//! `.example` top-level domain (RFC 2606), so no demo email can reach a real person. It
//! refuses a database that holds offers of its own unless forced ([`seed`]).

use crate::{
    auth::{
        model as users,
        password::hash_password,
        users::{insert_account, NewAccount},
        Role,
    },
    calendar::CityCalendar,
    db::BoxError,
    offers::{
        domain::{self, OfferInput, OfferStatus},
        model::{self as offers, OfferContent},
    },
};
use chrono::{Days, NaiveDate, Utc};
use diesel::{Connection, PgConnection};
use serde_json::Value;

/// Demo accounts: (email, name, role, password). Documented in the README.
pub const DEMO_STAFF: [(&str, &str, Role, &str); 3] = [
    (
        "admin@demo.passerelle.example",
        "Alice Admin",
        Role::Admin,
        "demo-admin-passphrase",
    ),
    (
        "manager@demo.passerelle.example",
        "Mathilde Lestra",
        Role::Manager,
        "demo-manager-passphrase",
    ),
    (
        "reviewer@demo.passerelle.example",
        "Rémi Relecteur",
        Role::Reviewer,
        "demo-reviewer-passphrase",
    ),
];

const FIXTURE_OFFER: &str = include_str!("../demo/grenoble-offer.json");
const DEMO_OFFERS: &str = include_str!("../demo/offers.json");

/// The offers of the demo data, as parsed from `demo/`.
fn demo_offers() -> Result<Vec<Value>, BoxError> {
    let mut all: Vec<Value> = vec![serde_json::from_str(FIXTURE_OFFER)?];
    all.extend(serde_json::from_str::<Vec<Value>>(DEMO_OFFERS)?);
    Ok(all)
}

/// Loads the demo data when the database has neither offers nor staff accounts: what
/// `serve` does on its private cluster, so that the README's login example works on a first
/// `cargo run -- serve`. True when it loaded them.
pub fn seed_if_empty(conn: &mut PgConnection, calendar: &CityCalendar) -> Result<bool, BoxError> {
    if !is_empty(conn)? {
        return Ok(false);
    }
    seed(conn, false, calendar)?;
    Ok(true)
}

/// No offers and no staff accounts: a database nobody has used yet.
pub fn is_empty(conn: &mut PgConnection) -> Result<bool, BoxError> {
    use crate::db::schema::{offers, staff_users};
    use diesel::prelude::*;
    let has_offers: bool =
        diesel::select(diesel::dsl::exists(offers::table.select(offers::id))).get_result(conn)?;
    let has_users: bool = diesel::select(diesel::dsl::exists(
        staff_users::table.select(staff_users::id),
    ))
    .get_result(conn)?;
    Ok(!has_offers && !has_users)
}

/// Offers in the database that are not demo offers (their reference is none of the demo's).
pub fn non_demo_offers(conn: &mut PgConnection) -> Result<i64, BoxError> {
    use crate::db::schema::offers::dsl;
    use diesel::prelude::*;
    let references: Vec<String> = demo_offers()?
        .iter()
        .filter_map(|o| o["reference"].as_str().map(str::to_owned))
        .collect();
    Ok(dsl::offers
        .filter(dsl::reference.ne_all(references))
        .count()
        .get_result(conn)?)
}

/// Loads the demo data. Unless `force`, refuses a database that holds offers other than the
/// demo's: demo accounts have published passwords, and demo offers would be published next
/// to real ones. The offers' dates are counted from the city's date (`calendar`).
pub fn seed(conn: &mut PgConnection, force: bool, calendar: &CityCalendar) -> Result<(), BoxError> {
    if !force {
        let others = non_demo_offers(conn)?;
        if others > 0 {
            return Err(format!(
                "this database holds {others} offer(s) that are not demo data: seed-demo would \
                 add staff accounts whose passwords are published and publish demo offers next \
                 to them. Nothing was changed; run `passerelle seed-demo --force` if this \
                 database really is a demo"
            )
            .into());
        }
    }
    let now = Utc::now();
    for (email, name, role, password) in DEMO_STAFF {
        if users::find_by_email(conn, email)?.is_some() {
            continue;
        }
        let account = NewAccount {
            email: email.to_owned(),
            name: name.to_owned(),
            role,
            password_hash: hash_password(password)?,
        };
        insert_account(conn, &account, None, now)?;
        log::info!("demo staff account {email} created");
    }
    let manager = users::find_by_email(conn, DEMO_STAFF[1].0)?
        .ok_or("the demo manager is missing")?
        .id;

    let all = demo_offers()?;
    let minimums = offers::gratification_minimums(conn)?;
    let today = calendar.today(now);
    for (i, mut raw) in all.into_iter().enumerate() {
        let status = raw
            .as_object_mut()
            .and_then(|o| o.remove("demo_status"))
            .and_then(|s| s.as_str().and_then(OfferStatus::parse))
            .unwrap_or(OfferStatus::Published);
        let mut input: OfferInput = serde_json::from_value(raw)?;
        if offers_exists(conn, &input.reference)? {
            continue;
        }
        // Deadlines spread over the coming weeks, every date moved by the same amount.
        let deadline = today + Days::new(21 + 4 * i as u64);
        shift_dates(&mut input, deadline)?;
        let valid = domain::validate(input, &minimums)
            .map_err(|errors| format!("demo offer {i} is invalid: {errors:?}"))?;
        conn.transaction::<_, BoxError, _>(|conn| {
            let slug = offers::unique_slug(conn, &domain::slugify(&valid.input.title), None)?;
            // Published offers get distinct, past publication times: newest first is stable.
            let created = now - chrono::Duration::hours(2 * (i as i64 + 1));
            let offer = offers::insert_offer(
                conn,
                uuid::Uuid::new_v4(),
                &slug,
                &OfferContent::from(&valid),
                manager,
                created,
            )?;
            if status != OfferStatus::Draft {
                let published = offers::set_status(
                    conn,
                    &offer,
                    OfferStatus::Published,
                    None,
                    Some(manager),
                    created,
                )?;
                if status == OfferStatus::Closed {
                    offers::set_status(
                        conn,
                        &published,
                        OfferStatus::Closed,
                        None,
                        Some(manager),
                        created + chrono::Duration::minutes(30),
                    )?;
                }
            }
            Ok(())
        })?;
        log::info!("demo offer {} created", valid.input.reference);
    }
    Ok(())
}

fn offers_exists(conn: &mut PgConnection, reference: &str) -> Result<bool, BoxError> {
    use crate::db::schema::offers::dsl;
    use diesel::prelude::*;
    Ok(diesel::select(diesel::dsl::exists(
        dsl::offers.filter(dsl::reference.eq(reference)),
    ))
    .get_result(conn)?)
}

/// The fixture offer (`demo/grenoble-offer.json`, the body `POST /api/v1/staff/offers`
/// takes) with its deadline three weeks after `today` (the city's date) and the contract dates moved by the
/// same number of days, so that it can be published that day, and a reference of its own
/// (the demo data holds the file's). The file's own dates are those of the real offer, long
/// past.
pub fn fixture_offer(today: NaiveDate) -> Result<Value, BoxError> {
    let mut offer: OfferInput = serde_json::from_str(FIXTURE_OFFER)?;
    shift_dates(&mut offer, today + Days::new(21))?;
    // A reference of its own: the seeded demo data already holds the fixture's.
    let suffix: u16 = rand::random();
    offer.reference = format!(
        "{}-{}-{suffix:04x}",
        offer.reference,
        today.format("%Y%m%d")
    );
    Ok(serde_json::to_value(offer)?)
}

/// Moves the deadline to `deadline` and the contract dates by the same number of days.
fn shift_dates(input: &mut OfferInput, deadline: NaiveDate) -> Result<(), BoxError> {
    let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d");
    let old_deadline = parse(&input.application.deadline)?;
    let delta = deadline.signed_duration_since(old_deadline);
    for date in [&mut input.contract.starts_from, &mut input.contract.ends_by] {
        *date = (parse(date)? + delta).to_string();
    }
    input.application.deadline = deadline.to_string();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of a JSON value, however deep.
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(o) => o.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_demo_address_is_under_the_example_tld() {
        let mut texts: Vec<String> = DEMO_STAFF.iter().map(|s| s.0.to_owned()).collect();
        for offer in demo_offers().unwrap() {
            strings(&offer, &mut texts);
        }
        let addresses: Vec<&String> = texts.iter().filter(|t| t.contains('@')).collect();
        assert!(addresses.len() > DEMO_STAFF.len(), "{addresses:?}");
        for address in addresses {
            let domain = address.rsplit('@').next().unwrap_or_default();
            assert!(
                domain.ends_with(".example"),
                "{address} is not under .example (RFC 2606)"
            );
        }
    }
}
