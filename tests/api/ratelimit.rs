//! Rate limits per client address: counted per policy, headers, 429, windows, several
//! instances on one database, policies turned off, the database down.

use crate::{
    applications::{candidate_fields, multipart, pdfs},
    support::{open_offer, TestApp, TestResponse},
};
use actix_web::test::TestRequest;
use passerelle::{
    auth::Role,
    db::build_pool,
    ratelimit::{self, Policy},
    settings::{RateLimit, Settings},
    state::AppState,
};
use serde_json::json;
use std::time::Duration;

fn rule(limit: u32, secs: u64) -> RateLimit {
    RateLimit {
        limit,
        window: Duration::from_secs(secs),
    }
}

/// An app behind the city's proxy (the test peer 192.0.2.10 is a trusted proxy): clients are
/// told apart by the right-most `X-Forwarded-For` entry.
async fn app_with(adjust: impl FnOnce(&mut passerelle::settings::RateLimits)) -> TestApp {
    TestApp::with_settings(|s| {
        s.trusted_proxies = vec!["192.0.2.10".parse().unwrap()];
        adjust(&mut s.rate_limits);
    })
    .await
}

impl TestApp {
    async fn get_from(&self, address: &str, path: &str) -> TestResponse {
        self.send(
            TestRequest::get()
                .uri(path)
                .insert_header(("X-Forwarded-For", address)),
        )
        .await
    }

    fn counters(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM rate_limit_counters")
    }
}

/// `(r, t)` of the `RateLimit` header, after checking its policy's name.
#[track_caller]
fn remaining(res: &TestResponse, policy: &str) -> (u32, u64) {
    let value = res.header("ratelimit").expect("a RateLimit header");
    let prefix = format!("\"{policy}\";r=");
    let rest = value
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{value} is not of policy {policy}"));
    let (r, t) = rest.split_once(";t=").expect("r and t");
    (r.parse().unwrap(), t.parse().unwrap())
}

#[actix_web::test]
async fn reads_are_limited_per_address_with_headers_then_429_until_the_window_ends() {
    let app = app_with(|l| l.reads = rule(3, 60)).await;
    let a = "198.51.100.7";
    for left in [2, 1, 0] {
        let res = app.get_from(a, "/api/v1/offers").await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("ratelimit-policy"), Some("\"reads\";q=3;w=60"));
        let (r, t) = remaining(&res, "reads");
        assert_eq!(r, left);
        assert!((1..=60).contains(&t), "t={t}");
    }
    let refused = app.get_from(a, "/api/v1/offers").await;
    let body = refused.assert_problem(429, "rate_limited");
    assert!(body["detail"].as_str().unwrap().contains("reads"));
    let (r, t) = remaining(&refused, "reads");
    assert_eq!(r, 0);
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(retry, t, "Retry-After is the end of the window");
    assert_eq!(
        refused.header("ratelimit-policy"),
        Some("\"reads\";q=3;w=60")
    );
    // Single offers are reads too, and refused before any lookup.
    let slug = app.get_from(a, "/api/v1/offers/no-such-offer").await;
    slug.assert_problem(429, "rate_limited");

    // Another address has its own budget.
    let other = app.get_from("198.51.100.8", "/api/v1/offers").await;
    assert_eq!(other.status, 200);
    assert_eq!(remaining(&other, "reads").0, 2);

    // Once the window has ended, the first address starts again.
    app.clock.advance(chrono::Duration::seconds(retry as i64));
    let again = app.get_from(a, "/api/v1/offers").await;
    assert_eq!(again.status, 200);
    assert_eq!(remaining(&again, "reads").0, 2);
}

#[actix_web::test]
async fn without_trusted_proxies_the_peer_address_counts_not_forwarded_for() {
    let app = TestApp::with_settings(|s| s.rate_limits.reads = rule(1, 60)).await;
    assert_eq!(
        app.get_from("203.0.113.1", "/api/v1/offers").await.status,
        200
    );
    // Same peer, another claimed address: still the same client.
    app.get_from("203.0.113.2", "/api/v1/offers")
        .await
        .assert_problem(429, "rate_limited");
    // Another peer socket is another client.
    let req = TestRequest::get()
        .uri("/api/v1/offers")
        .peer_addr("192.0.2.99:5000".parse().unwrap())
        .to_request();
    assert_eq!(app.send_request(req).await.status, 200);
}

#[actix_web::test]
async fn errors_carry_the_headers_and_count() {
    let app = app_with(|l| l.reads = rule(2, 60)).await;
    let bad = app
        .get_from("198.51.100.7", "/api/v1/offers?paid=maybe")
        .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(remaining(&bad, "reads").0, 1);
    let missing = app.get_from("198.51.100.7", "/api/v1/offers/nope").await;
    missing.assert_problem(404, "not_found");
    assert_eq!(remaining(&missing, "reads").0, 0);
    app.get_from("198.51.100.7", "/api/v1/offers")
        .await
        .assert_problem(429, "rate_limited");
}

#[actix_web::test]
async fn search_is_counted_under_its_own_policy() {
    let app = app_with(|l| {
        l.reads = rule(5, 60);
        l.search = rule(2, 60);
    })
    .await;
    let a = "198.51.100.7";
    for left in [1, 0] {
        let res = app.get_from(a, "/api/v1/offers?q=coop%C3%A9ration").await;
        assert_eq!(res.status, 200);
        assert_eq!(res.header("ratelimit-policy"), Some("\"search\";q=2;w=60"));
        assert_eq!(remaining(&res, "search").0, left);
    }
    let refused = app.get_from(a, "/api/v1/offers?q=stage").await;
    refused.assert_problem(429, "rate_limited");
    assert!(refused.json()["detail"]
        .as_str()
        .unwrap()
        .contains("search"));
    // Browsing is still allowed, and its budget is untouched by the searches.
    let browse = app.get_from(a, "/api/v1/offers").await;
    assert_eq!(browse.status, 200);
    assert_eq!(remaining(&browse, "reads").0, 4);
    // An empty q is no search.
    let blank = app.get_from(a, "/api/v1/offers?q=%20").await;
    assert_eq!(remaining(&blank, "reads").0, 3);
}

#[actix_web::test]
async fn a_policy_of_zero_is_off() {
    let app = app_with(|l| {
        l.reads = rule(0, 60);
        l.search = rule(1, 60);
    })
    .await;
    for _ in 0..5 {
        let res = app.get_from("198.51.100.7", "/api/v1/offers").await;
        assert_eq!(res.status, 200);
        assert!(res.header("ratelimit").is_none());
        assert!(res.header("ratelimit-policy").is_none());
    }
    assert_eq!(app.counters(), 0, "nothing is counted either");
    // The other policies still hold.
    let search = app.get_from("198.51.100.7", "/api/v1/offers?q=x").await;
    assert_eq!(remaining(&search, "search").0, 0);
}

#[actix_web::test]
async fn the_limit_holds_across_two_instances_on_one_database() {
    let app = app_with(|l| l.reads = rule(4, 60)).await;
    let second = TestApp::from_state(app.another_instance()).await;
    let via_second = || {
        let second = second.clone();
        async move {
            let req = TestRequest::get()
                .uri("/api/v1/offers")
                .insert_header(("X-Forwarded-For", "198.51.100.7"))
                .peer_addr("192.0.2.10:40000".parse().unwrap())
                .to_request();
            second(req).await
        }
    };
    assert_eq!(
        app.get_from("198.51.100.7", "/api/v1/offers").await.status,
        200
    );
    assert_eq!(via_second().await.status(), 200);
    assert_eq!(
        app.get_from("198.51.100.7", "/api/v1/offers").await.status,
        200
    );
    let fourth = via_second().await;
    assert_eq!(fourth.status(), 200);
    let header = fourth.headers().get("ratelimit").unwrap().to_str().unwrap();
    assert!(header.starts_with("\"reads\";r=0;"), "{header}");
    app.get_from("198.51.100.7", "/api/v1/offers")
        .await
        .assert_problem(429, "rate_limited");
    assert_eq!(via_second().await.status(), 429);
}

#[actix_web::test]
async fn applying_is_limited_before_the_body_is_read() {
    let app = app_with(|l| l.apply = rule(2, 3600)).await;
    let (_, token) = app.token_for(Role::Manager).await;
    let offer = app.publish_new_offer(&token, open_offer("VDG-RL-1")).await;
    let path = format!(
        "/api/v1/offers/{}/applications",
        offer["id"].as_str().unwrap()
    );
    let send = |email: &str, address: &str| {
        let fields = candidate_fields(email);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        TestRequest::post()
            .uri(&path)
            .insert_header(("X-Forwarded-For", address.to_owned()))
            .insert_header((
                "content-type",
                "multipart/form-data; boundary=----passerelle-test-boundary",
            ))
            .set_payload(multipart(&fields, &pdfs()))
    };
    let a = "198.51.100.7";
    let first = app.send(send("ines@example.org", a)).await;
    assert_eq!(first.status, 201);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"apply\";q=2;w=3600")
    );
    assert_eq!(remaining(&first, "apply").0, 1);
    // A rejected submission counts too.
    let not_multipart = app
        .send(
            TestRequest::post()
                .uri(&path)
                .insert_header(("X-Forwarded-For", a))
                .set_json(json!({})),
        )
        .await;
    assert_eq!(not_multipart.status, 415);
    assert_eq!(remaining(&not_multipart, "apply").0, 0);
    let refused = app.send(send("karim@example.org", a)).await;
    refused.assert_problem(429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
    assert_eq!(
        app.count("SELECT count(*) AS n FROM applications"),
        1,
        "the refused application was not stored"
    );
    // Reading offers is another policy (off here), and another address may apply.
    assert_eq!(app.get_from(a, "/api/v1/offers").await.status, 200);
    assert_eq!(
        app.send(send("karim@example.org", "198.51.100.9"))
            .await
            .status,
        201
    );
}

#[actix_web::test]
async fn login_attempts_are_limited_per_address_even_when_they_succeed() {
    let app = app_with(|l| l.login = rule(2, 300)).await;
    let staff = app.create_staff(Role::Reviewer);
    let login = |address: &str| {
        TestRequest::post()
            .uri("/api/v1/auth/login")
            .insert_header(("X-Forwarded-For", address.to_owned()))
            .set_json(json!({"email": staff.email, "password": staff.password}))
    };
    let ok = app.send(login("198.51.100.7")).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("ratelimit-policy"), Some("\"login\";q=2;w=300"));
    assert_eq!(remaining(&ok, "login").0, 1);
    assert_eq!(app.send(login("198.51.100.7")).await.status, 200);
    let refused = app.send(login("198.51.100.7")).await;
    refused.assert_problem(429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
    assert_eq!(app.send(login("198.51.100.8")).await.status, 200);
    // The failure throttling is unchanged and separate: its code says which one refused.
    let app = app_with(|l| l.login = rule(100, 300)).await;
    let staff = app.create_staff(Role::Reviewer);
    let max = app.state.settings.login_throttle.max_failures;
    for _ in 0..max {
        let res = app
            .send(
                TestRequest::post()
                    .uri("/api/v1/auth/login")
                    .insert_header(("X-Forwarded-For", "198.51.100.7"))
                    .set_json(json!({"email": staff.email, "password": "wrong password!"})),
            )
            .await;
        assert_eq!(res.status, 401);
    }
    let throttled = app
        .send(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .insert_header(("X-Forwarded-For", "198.51.100.7"))
                .set_json(json!({"email": staff.email, "password": staff.password})),
        )
        .await;
    throttled.assert_problem(429, "too_many_requests");
    assert!(throttled.header("ratelimit").is_some());
}

#[actix_web::test]
async fn counters_hold_no_address_and_ended_windows_are_deleted() {
    let app = app_with(|l| {
        l.reads = rule(10, 60);
        l.search = rule(10, 600);
    })
    .await;
    for i in 1..=5 {
        app.get_from(&format!("198.51.100.{i}"), "/api/v1/offers")
            .await;
    }
    app.get_from("198.51.100.1", "/api/v1/offers?q=x").await;
    assert_eq!(app.counters(), 6);
    let expected = ratelimit::bucket(Policy::Reads, "198.51.100.1");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM rate_limit_counters WHERE bucket = '\\x{}'::bytea",
            hex::encode(&expected)
        )),
        1,
        "rows are keyed by the hash of the policy and the address"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM rate_limit_counters \
             WHERE position('198.51.100'::bytea IN bucket) > 0"
        ),
        0
    );
    // Two minutes later the reads windows have ended: the next new window deletes them. The
    // search window (600 s, shifted per client) may or may not have ended.
    let search = ratelimit::bucket(Policy::Search, "198.51.100.1");
    let (search_end, _) = ratelimit::window_end(&search, app.state.now(), Duration::from_secs(600));
    app.clock.advance(chrono::Duration::seconds(120));
    // One new window in eight cleans up: find a client whose first request does.
    let now = app.state.now();
    let sweeper = (1..=255)
        .map(|i| format!("203.0.113.{i}"))
        .find(|a| {
            let b = ratelimit::bucket(Policy::Reads, a);
            let (end, _) = ratelimit::window_end(&b, now, Duration::from_secs(60));
            ratelimit::cleans_up(&b, end)
        })
        .unwrap();
    app.get_from(&sweeper, "/api/v1/offers").await;
    let search_left = i64::from(search_end >= app.state.now());
    assert_eq!(
        app.counters(),
        1 + search_left,
        "only the new client's and live windows remain"
    );
}

#[actix_web::test]
async fn the_database_down_is_a_quick_503_not_a_hang() {
    let mut settings = Settings::for_tests("postgres://postgres@127.0.0.1:1/nowhere");
    settings.rate_limits.reads = rule(100, 60);
    settings.database_timeout = Duration::from_millis(500);
    let pool = build_pool(
        "postgres://postgres@127.0.0.1:1/nowhere",
        2,
        settings.database_timeout,
    );
    let call = TestApp::from_state(AppState::new(settings, pool).unwrap()).await;
    let started = std::time::Instant::now();
    let req = TestRequest::get()
        .uri("/api/v1/offers")
        .peer_addr("192.0.2.10:40000".parse().unwrap())
        .to_request();
    let res = call(req).await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().get("ratelimit").is_none());
    assert!(started.elapsed() < Duration::from_secs(3), "fails fast");
}

#[actix_web::test]
async fn behind_a_proxy_that_appends_client_written_entries_get_no_budget_of_their_own() {
    // nginx, Traefik and ALBs append the address they saw: what is left of it, the client wrote.
    let app = app_with(|l| l.reads = rule(2, 60)).await;
    for invented in ["1.1.1.1", "2.2.2.2"] {
        let res = app
            .get_from(&format!("{invented}, 198.51.100.7"), "/api/v1/offers")
            .await;
        assert_eq!(res.status, 200);
    }
    app.get_from("3.3.3.3, 198.51.100.7", "/api/v1/offers")
        .await
        .assert_problem(429, "rate_limited");
    // A chain of trusted proxies: the right-most untrusted entry is still the client.
    let app = TestApp::with_settings(|s| {
        s.trusted_proxies = vec!["192.0.2.10".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        s.rate_limits.reads = rule(1, 60);
    })
    .await;
    assert_eq!(
        app.get_from("9.9.9.9, 198.51.100.8, 10.1.1.1", "/api/v1/offers")
            .await
            .status,
        200
    );
    app.get_from("8.8.8.8, 198.51.100.8, 10.2.2.2", "/api/v1/offers")
        .await
        .assert_problem(429, "rate_limited");
    // From a peer that is not a trusted proxy, the header is ignored: its own address counts.
    let req = |xff: &str| {
        TestRequest::get()
            .uri("/api/v1/offers")
            .insert_header(("X-Forwarded-For", xff.to_owned()))
    };
    assert_eq!(
        app.send_from("203.0.113.5:5000", req("4.4.4.4"))
            .await
            .status,
        200
    );
    app.send_from("203.0.113.5:5000", req("5.5.5.5"))
        .await
        .assert_problem(429, "rate_limited");
}

#[actix_web::test]
async fn the_rfc_7239_forwarded_header_is_read_when_the_proxies_write_it() {
    let app = TestApp::with_settings(|s| {
        s.trusted_proxies = vec!["192.0.2.10".parse().unwrap()];
        s.forwarded_header = passerelle::proxies::ForwardedHeader::Forwarded;
        s.rate_limits.reads = rule(1, 60);
    })
    .await;
    let req = |fwd: &str| {
        TestRequest::get()
            .uri("/api/v1/offers")
            .insert_header(("Forwarded", fwd.to_owned()))
    };
    // Two addresses of one IPv6 /64, behind the proxy: one client.
    let first = app
        .send(req("for=\"[2001:db8:1:2::5]:4711\";proto=https"))
        .await;
    assert_eq!(first.status, 200);
    app.send(req("for=1.2.3.4, for=\"[2001:db8:1:2::6]\""))
        .await
        .assert_problem(429, "rate_limited");
    // Another /64 is another client.
    assert_eq!(app.send(req("for=\"[2001:db8:1:3::1]\"")).await.status, 200);
    // X-Forwarded-For is not read when the proxies write Forwarded: both count as the proxy.
    assert_eq!(
        app.get_from("198.51.100.98", "/api/v1/offers").await.status,
        200
    );
    app.get_from("198.51.100.99", "/api/v1/offers")
        .await
        .assert_problem(429, "rate_limited");
}

/// The hits counted in the database for a bucket (0 without a row).
fn hits_in_db(app: &TestApp, policy: Policy, address: &str) -> i64 {
    app.count(&format!(
        "SELECT coalesce(sum(hits), 0)::int8 AS n FROM rate_limit_counters \
         WHERE bucket = '\\x{}'::bytea",
        hex::encode(ratelimit::bucket(policy, address))
    ))
}

#[actix_web::test]
async fn two_instances_counting_reads_in_process_admit_at_most_the_limit_plus_the_slack() {
    use futures_util::future::join_all;
    let limit = 200u32;
    let app = app_with(|l| l.reads = rule(limit, 60)).await;
    let second_state = app.another_instance();
    let second = TestApp::from_state(second_state.clone()).await;
    let first = TestApp::from_state(app.state.clone()).await;
    // The background flushes wait until round 3, so that what is counted in-process shows.
    app.state.limiter.hold_background_flush(true);
    second_state.limiter.hold_background_flush(true);
    let a = "198.51.100.7";
    let request = || {
        TestRequest::get()
            .uri("/api/v1/offers/no-such-offer")
            .insert_header(("X-Forwarded-For", a))
            .peer_addr("192.0.2.10:40000".parse().unwrap())
            .to_request()
    };
    let (mut admitted, mut refused, mut sent) = (0u32, 0u32, 0i64);
    // Both instances at once, 16 requests in flight per round.
    for round in 0..40 {
        let calls = (0..16).map(|i| {
            let call = if (round + i) % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            call(request())
        });
        for res in join_all(calls).await {
            sent += 1;
            match res.status().as_u16() {
                404 => admitted += 1,
                429 => refused += 1,
                other => panic!("status {other}"),
            }
        }
        if round == 2 {
            // Well under the limit, hits are counted without the database.
            assert!(
                app.state.limiter.unsent() + second_state.limiter.unsent() > 0,
                "some hits are only counted in-process"
            );
            assert!(hits_in_db(&app, Policy::Reads, a) < sent);
            app.state.limiter.hold_background_flush(false);
            second_state.limiter.hold_background_flush(false);
        }
    }
    let slack = 2 * ratelimit::batched::BATCH.min(limit / ratelimit::batched::SHARE);
    assert!(admitted >= limit, "{admitted} admitted: the whole budget");
    assert!(
        admitted <= limit + slack,
        "{admitted} admitted, more than {limit} + {slack}"
    );
    assert!(refused > 0 && refused + admitted == 640);
    // Once both have sent their counts, the database holds every hit, refused ones too.
    app.state.limiter.flush().unwrap();
    second_state.limiter.flush().unwrap();
    assert_eq!(hits_in_db(&app, Policy::Reads, a), sent);
    // A third instance, started now, refuses the address from its first request.
    let third = TestApp::from_state(app.another_instance()).await;
    assert_eq!(third(request()).await.status(), 429);
}

#[actix_web::test]
async fn a_failed_flush_keeps_the_counts_for_the_next_one() {
    let app = app_with(|l| l.search = rule(1000, 60)).await;
    app.state.limiter.hold_background_flush(true);
    let a = "198.51.100.7";
    for _ in 0..11 {
        let res = app.get_from(a, "/api/v1/offers?q=stage").await;
        assert_eq!(res.status, 200);
    }
    // A budget of 512 or more: a new client is counted in-process from its first request.
    assert_eq!(app.state.limiter.unsent(), 11);
    assert_eq!(hits_in_db(&app, Policy::Search, a), 0, "no database trip");
    let away = |sql: &str| {
        use diesel::RunQueryDsl;
        diesel::sql_query(sql)
            .execute(&mut app.db.connect())
            .unwrap();
    };
    away("ALTER TABLE rate_limit_counters RENAME TO rate_limit_counters_away");
    assert!(app.state.limiter.flush().is_err());
    assert_eq!(app.state.limiter.unsent(), 11, "nothing lost");
    // Requests go on being admitted meanwhile, without the database.
    let res = app.get_from(a, "/api/v1/offers?q=stage").await;
    assert_eq!(remaining(&res, "search").0, 1000 - 12);
    away("ALTER TABLE rate_limit_counters_away RENAME TO rate_limit_counters");
    app.state.limiter.hold_background_flush(false);
    // The next flush (this one, or the background one racing it) sends them all.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while hits_in_db(&app, Policy::Search, a) < 12 {
        assert!(std::time::Instant::now() < deadline, "never sent");
        let _ = app.state.limiter.flush();
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hits_in_db(&app, Policy::Search, a), 12);
}

#[actix_web::test]
async fn ended_windows_are_dropped_from_memory() {
    let app = app_with(|l| l.reads = rule(1000, 60)).await;
    for i in 1..=20 {
        let res = app
            .get_from(&format!("198.51.100.{i}"), "/api/v1/offers")
            .await;
        assert_eq!(res.status, 200);
    }
    assert_eq!(app.state.limiter.tracked(), 20);
    app.clock.advance(chrono::Duration::seconds(61));
    // A request in the new window, then a flush: only its client is left.
    app.get_from("198.51.100.1", "/api/v1/offers").await;
    app.state.limiter.flush().unwrap();
    assert_eq!(app.state.limiter.tracked(), 1);
}
