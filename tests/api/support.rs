//! Test harness: each `TestApp` owns a fresh database cloned from the migrated template and
//! runs the same `build_app` as production.

use actix_web::{
    body::BoxBody,
    dev::{Service, ServiceResponse},
    http::{header::HeaderMap, StatusCode},
    test as actix_test,
};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use futures_util::future::LocalBoxFuture;
use passerelle::{
    auth::{
        model,
        password::hash_password,
        routes::TokenResponse,
        users::{insert_account, NewAccount},
        Role,
    },
    build_app,
    db::{pool_for, test_db::TestDb},
    settings::Settings,
    state::{AppState, Clock},
};
use serde_json::Value;
use std::{
    rc::Rc,
    sync::{Arc, Mutex},
};
use uuid::Uuid;

type CallFn = Rc<dyn Fn(actix_http::Request) -> LocalBoxFuture<'static, ServiceResponse<BoxBody>>>;

pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    call: CallFn,
    // Last, so the database is dropped after the pool's users.
    pub db: TestDb,
}

/// A clock tests can move.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap();
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 body with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> Value {
        assert!(
            passerelle::error::Code::parse(code).is_some(),
            "{code} is not an error code (src/error_code.rs)"
        );
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert_eq!(body["code"], code, "body: {body}");
        assert!(body["type"].as_str().unwrap().ends_with(code));
        assert!(body["title"].is_string() && body["detail"].is_string());
        body
    }
}

pub struct Staff {
    pub id: Uuid,
    pub email: String,
    pub password: String,
}

pub const PASSWORD: &str = "un mot de passe assez long";

impl TestApp {
    pub async fn new() -> Self {
        Self::with_settings(|_| {}).await
    }

    pub async fn with_settings(adjust: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDb::new();
        let mut settings = Settings::for_tests(db.url());
        adjust(&mut settings);
        let pool = pool_for(&settings, db.url());
        let clock = Arc::new(ManualClock(Mutex::new(test_start())));
        let state = AppState::new(settings, pool)
            .expect("state")
            .with_clock(clock.clone());
        let app = Self::from_state(state.clone()).await;
        TestApp {
            state,
            clock,
            call: app,
            db,
        }
    }

    /// Another instance of the server on the same database, as behind a load balancer: its
    /// own pool and state, the same settings and clock.
    pub fn another_instance(&self) -> AppState {
        self.another_instance_with(|_| {})
    }

    /// Another instance whose settings differ by `adjust` (a new release, a rotated key).
    pub fn another_instance_with(&self, adjust: impl FnOnce(&mut Settings)) -> AppState {
        let mut settings = (*self.state.settings).clone();
        adjust(&mut settings);
        let pool = pool_for(&settings, self.db.url());
        AppState::new(settings, pool)
            .expect("state")
            .with_clock(self.clock.clone())
    }

    /// A service over `state`, type-erased so tests can hold it.
    pub async fn from_state(state: AppState) -> CallFn {
        let service = Rc::new(actix_test::init_service(build_app(state)).await);
        Rc::new(move |req| {
            let service = service.clone();
            Box::pin(async move {
                match service.call(req).await {
                    Ok(res) => res.map_into_boxed_body(),
                    Err(e) => panic!("service error escaped the error handlers: {e}"),
                }
            })
        })
    }

    /// Reads every page of a staff list by following `next_cursor`, checking each page's shape
    /// and `Link`; returns the items.
    pub async fn all_pages(&self, path: &str, token: &str, limit: usize) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
                None => format!("{path}{sep}limit={limit}"),
            };
            let res = self.get(&url, Some(token)).await;
            assert_eq!(
                res.status,
                200,
                "{url}: {}",
                String::from_utf8_lossy(&res.body)
            );
            let body = res.json();
            let page = body["items"].as_array().expect("a list shape").clone();
            assert!(page.len() <= limit);
            let total = body["total"].as_u64().expect("total") as usize;
            items.extend(page);
            match body["next_cursor"].as_str() {
                Some(next) => {
                    let link = res
                        .header("link")
                        .expect("a Link with next_cursor")
                        .to_owned();
                    assert!(
                        link.contains(next) && link.contains("rel=\"next\""),
                        "{link}"
                    );
                    cursor = Some(next.to_owned());
                }
                None => {
                    assert!(res.header("link").is_none());
                    assert_eq!(items.len(), total, "{path}");
                    return items;
                }
            }
        }
        panic!("{path}: more than 100 pages");
    }

    pub async fn send(&self, req: actix_test::TestRequest) -> TestResponse {
        self.send_from("192.0.2.10:40000", req).await
    }

    /// Sends a request as if from the socket peer `peer` (`"192.0.2.7:40000"`, `"[2001:db8::1]:40000"`).
    pub async fn send_from(&self, peer: &str, req: actix_test::TestRequest) -> TestResponse {
        let req = req
            .peer_addr(peer.parse().expect("a socket address"))
            .to_request();
        let (method, path) = (req.method().clone(), req.path().to_owned());
        let res = (self.call)(req).await;
        let status = res.status();
        let headers = res.headers().clone();
        let body = actix_web::body::to_bytes(res.into_body())
            .await
            .map(|b| b.to_vec())
            .unwrap_or_else(|_| panic!("unreadable body"));
        crate::contract::check(&method, &path, status, &headers, &body);
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Sends a request built by hand (a streamed payload, say).
    pub async fn send_request(&self, req: actix_http::Request) -> TestResponse {
        let (method, path) = (req.method().clone(), req.path().to_owned());
        let res = (self.call)(req).await;
        let status = res.status();
        let headers = res.headers().clone();
        let body = actix_web::body::to_bytes(res.into_body())
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        crate::contract::check(&method, &path, status, &headers, &body);
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        let mut req = actix_test::TestRequest::get().uri(path);
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        self.send(req).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.json_request(actix_test::TestRequest::post(), path, token, body)
            .await
    }

    pub async fn patch_json(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.json_request(actix_test::TestRequest::patch(), path, token, body)
            .await
    }

    pub async fn json_request(
        &self,
        req: actix_test::TestRequest,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> TestResponse {
        let mut req = req.uri(path).set_json(body);
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        self.send(req).await
    }

    /// Creates an account directly in the database.
    pub fn create_staff(&self, role: Role) -> Staff {
        let email = format!(
            "{}.{}@ville.example",
            role.as_str(),
            Uuid::new_v4().simple()
        );
        let account = NewAccount {
            email: email.clone(),
            name: format!("Test {}", role.as_str()),
            role,
            password_hash: hash_password(PASSWORD).unwrap(),
        };
        let mut conn = self.db.connect();
        let user = insert_account(&mut conn, &account, None, Utc::now()).unwrap();
        Staff {
            id: user.id,
            email,
            password: PASSWORD.to_owned(),
        }
    }

    pub async fn login(&self, staff: &Staff) -> TokenResponse {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                None,
                serde_json::json!({"email": staff.email, "password": staff.password}),
            )
            .await;
        assert_eq!(
            res.status,
            200,
            "login: {}",
            String::from_utf8_lossy(&res.body)
        );
        serde_json::from_slice(&res.body).unwrap()
    }

    /// A new account of `role` and an access token for it.
    pub async fn token_for(&self, role: Role) -> (Staff, String) {
        let staff = self.create_staff(role);
        let tokens = self.login(&staff).await;
        (staff, tokens.access_token)
    }

    pub fn user_row(&self, id: Uuid) -> model::StaffUser {
        model::find_by_id(&mut self.db.connect(), id)
            .unwrap()
            .unwrap()
    }

    /// Audit actions recorded for an object, oldest first.
    pub fn audit_actions(&self, object_id: &str) -> Vec<String> {
        use diesel::prelude::*;
        use passerelle::db::schema::audit_log;
        audit_log::table
            .filter(audit_log::object_id.eq(object_id))
            .order(audit_log::id.asc())
            .select(audit_log::action)
            .load(&mut self.db.connect())
            .unwrap()
    }
}

/// The fixture offer, exactly as the city wrote it.
pub fn fixture_offer() -> Value {
    serde_json::from_str(include_str!("../../demo/grenoble-offer.json")).unwrap()
}

/// The instant every test clock starts at: the real time when the test starts, so that the
/// database's own `now()` and the process tests' servers agree with it. No test date is
/// written as a literal: each one is derived from this (see `OfferDates`), so the suite passes
/// whatever the date (`.ci/run` runs it with the system date moved two years ahead).
pub fn test_start() -> DateTime<Utc> {
    Utc::now()
}

/// The dates of `open_offer`, relative to the day the test runs, with the fixture's shape:
/// the deadline six weeks ahead, a six-month window starting on the first of a month after it.
pub struct OfferDates {
    pub deadline: NaiveDate,
    pub starts_from: NaiveDate,
    pub ends_by: NaiveDate,
}

impl OfferDates {
    pub fn from_today(today: NaiveDate) -> Self {
        let deadline = today + Days::new(42);
        let next_month = (deadline + Months::new(1)).with_day(1).unwrap();
        OfferDates {
            deadline,
            starts_from: next_month,
            ends_by: (next_month + Months::new(6)).pred_opt().unwrap(),
        }
    }

    /// From the city's date when the test starts (`CITY_TIME_ZONE`'s default, Paris), as
    /// the server counts it.
    pub fn now() -> Self {
        Self::from_today(passerelle::calendar::CityCalendar::default().today(test_start()))
    }

    /// The first instant at which applying is refused: the end of the deadline day in Paris
    /// (the default `CITY_TIME_ZONE`).
    pub fn after_deadline(&self) -> DateTime<Utc> {
        passerelle::calendar::CityCalendar::default().day_end(self.deadline)
    }
}

/// The fixture with its dates moved ahead (`OfferDates`), so it can be published today, and a
/// reference of its own.
pub fn open_offer(reference: &str) -> Value {
    let dates = OfferDates::now();
    let mut o = fixture_offer();
    o["reference"] = Value::from(reference);
    o["application"]["deadline"] = Value::from(dates.deadline.to_string());
    o["contract"]["starts_from"] = Value::from(dates.starts_from.to_string());
    o["contract"]["ends_by"] = Value::from(dates.ends_by.to_string());
    o
}

impl TestApp {
    /// Creates an offer through the API; returns its body and ETag.
    pub async fn create_offer(&self, token: &str, offer: Value) -> (Value, String) {
        let res = self
            .post_json("/api/v1/staff/offers", Some(token), offer)
            .await;
        assert_eq!(
            res.status,
            201,
            "create: {}",
            String::from_utf8_lossy(&res.body)
        );
        let etag = res.header("etag").unwrap().to_owned();
        (res.json(), etag)
    }

    /// POST with `If-Match`.
    pub async fn post_if_match(
        &self,
        path: &str,
        token: &str,
        etag: &str,
        body: Value,
    ) -> TestResponse {
        self.send(
            actix_test::TestRequest::post()
                .uri(path)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("If-Match", etag.to_owned()))
                .set_json(body),
        )
        .await
    }

    /// Creates and publishes an offer; returns its final body.
    pub async fn publish_new_offer(&self, token: &str, offer: Value) -> Value {
        let (created, etag) = self.create_offer(token, offer).await;
        let id = created["id"].as_str().unwrap();
        let res = self
            .post_if_match(
                &format!("/api/v1/staff/offers/{id}/publish"),
                token,
                &etag,
                serde_json::json!({}),
            )
            .await;
        assert_eq!(
            res.status,
            200,
            "publish: {}",
            String::from_utf8_lossy(&res.body)
        );
        res.json()
    }
}

/// The bytes of a gzip body; panics when it is not gzip.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}
