//! Two `passerelle serve` processes on one database, as behind a load balancer: they migrate
//! without racing, share sessions, send each email and webhook once, serve the same change
//! feed, and share rate limits and login throttling.

use crate::{
    faults::{apply_body, multipart_type},
    process::{cli, request, ServerProcess},
    smtp_sink::SmtpSink,
    support::open_offer,
    webhook_sink::WebhookSink,
};
use diesel::{sql_query, Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};
use std::{collections::HashMap, time::Duration};

const ADMIN: (&str, &str) = ("admin@deux.example", "cheval correct batterie agrafe");
const MANAGER: (&str, &str) = ("gestion@deux.example", "rivière lente sous le pont");

fn publish(server: &ServerProcess, token: &str, reference: &str) -> Value {
    let created = server.json(
        "POST",
        "/api/v1/staff/offers",
        Some(token),
        &open_offer(reference),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let res = request(
        server.port,
        "POST",
        &format!("/api/v1/staff/offers/{id}/publish"),
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("If-Match", created.header("etag").unwrap()),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    )
    .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

/// Waits until `count()` reaches `expected`, then a little longer to see that it stays.
fn settles_at(expected: usize, count: impl Fn() -> usize) -> usize {
    let started = std::time::Instant::now();
    while count() < expected && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    count()
}

#[actix_web::test]
async fn two_servers_on_one_database_behave_as_one_service() {
    let fresh = passerelle::db::test_db::TestDb::not_created();
    let smtp = SmtpSink::start();
    let hooks = WebhookSink::start();
    let smtp_port = smtp.port().to_string();
    let env = [
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", smtp_port.as_str()),
        ("SMTP_TLS", "none"),
        ("WEBHOOK_ALLOW_HTTP", "true"),
        ("WEBHOOK_ALLOW_LOOPBACK", "true"),
        ("JOB_POLL_INTERVAL_MS", "50"),
        ("JOB_WORKERS", "3"),
        ("LOGIN_MAX_FAILURES", "3"),
        ("APPLY_RATE_LIMIT", "100"),
        ("SEARCH_RATE_LIMIT", "5"),
    ];
    // Both start at once on a database that does not exist yet: one creates and migrates
    // it under the advisory lock, the other waits and finds nothing left to do.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| ServerProcess::start(fresh.url(), &env));
        let b = s.spawn(|| ServerProcess::start(fresh.url(), &env));
        (a.join().unwrap(), b.join().unwrap())
    });
    a.wait_ready();
    b.wait_ready();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("up.sql").exists())
        .count();
    let mut conn = PgConnection::establish(fresh.url()).unwrap();
    let applied: N = sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(applied.n as usize, migrations);
    for server in [&a, &b] {
        assert!(
            !server.log_text().contains("ERROR"),
            "{}",
            server.log_text()
        );
    }

    // One login, valid on both.
    for (email, password, role) in [
        (ADMIN.0, ADMIN.1, "admin"),
        (MANAGER.0, MANAGER.1, "manager"),
    ] {
        cli(
            fresh.url(),
            &[
                "staff",
                "create",
                "--email",
                email,
                "--name",
                "Dominique Deux",
                "--role",
                role,
            ],
            password,
        );
    }
    let admin = a.login(ADMIN.0, ADMIN.1);
    let manager = b.login(MANAGER.0, MANAGER.1);
    let me = a.json("GET", "/api/v1/auth/me", Some(&manager), &Value::Null);
    assert_eq!(me.status, 200, "a token from B works on A");

    // A partner and its webhook, registered through different servers.
    let partner = a.json(
        "POST",
        "/api/v1/staff/partners",
        Some(&admin),
        &json!({"name": "Jobboard", "slug": "jobboard", "contact_email": "p@jobboard.example"}),
    );
    assert_eq!(partner.status, 201, "{}", partner.text());
    let partner = partner.json();
    let key = partner["api_key"].as_str().unwrap().to_owned();
    let hook = b.json(
        "POST",
        &format!(
            "/api/v1/staff/partners/{}/webhooks",
            partner["id"].as_str().unwrap()
        ),
        Some(&admin),
        &json!({"url": hooks.url("/hook")}),
    );
    assert_eq!(hook.status, 201, "{}", hook.text());

    // Offers published through both; candidates apply through both.
    let offers: Vec<Value> = (0..4)
        .map(|i| {
            publish(
                if i % 2 == 0 { &a } else { &b },
                &manager,
                &format!("VDG-DEUX-{i}"),
            )
        })
        .collect();
    for (i, offer) in offers.iter().enumerate() {
        let server = if i % 2 == 0 { &b } else { &a };
        let res = request(
            server.port,
            "POST",
            &format!(
                "/api/v1/offers/{}/applications",
                offer["id"].as_str().unwrap()
            ),
            &[("Content-Type", &multipart_type())],
            &apply_body(&format!("candidat{i}@exemple.fr")),
        )
        .unwrap();
        assert_eq!(res.status, 201, "{}", res.text());
    }

    // Each webhook event once, though six job workers in two processes compete for them.
    let events = settles_at(offers.len(), || hooks.requests().len());
    let mut by_event: HashMap<String, usize> = HashMap::new();
    for r in hooks.requests() {
        assert_eq!(r.header("X-Passerelle-Event"), Some("offer.published"));
        *by_event
            .entry(r.header("X-Passerelle-Event-Id").unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(events, offers.len(), "{by_event:?}");
    assert!(by_event.values().all(|&n| n == 1), "{by_event:?}");

    // Each email once: a confirmation per candidate and a notification per application.
    let mails = settles_at(2 * offers.len(), || smtp.messages().len());
    assert_eq!(mails, 2 * offers.len());
    for i in 0..offers.len() {
        let to_candidate = smtp
            .messages()
            .iter()
            .filter(|m| m.rcpt_to.contains(&format!("candidat{i}@exemple.fr")))
            .count();
        assert_eq!(to_candidate, 1, "candidate {i}");
    }

    // The partner change feed is the same whichever server answers.
    let feed = |server: &ServerProcess| {
        let res = request(
            server.port,
            "GET",
            "/api/v1/partner/offers/changes?limit=100",
            &[("Authorization", &format!("Bearer {key}"))],
            b"",
        )
        .unwrap();
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()
    };
    let (from_a, from_b) = (feed(&a), feed(&b));
    assert_eq!(from_a["items"], from_b["items"]);
    assert_eq!(from_a["items"].as_array().unwrap().len(), offers.len());

    // The public rate limits are counted in the database: five searches a minute from one
    // address, whichever server gets them.
    for (i, server) in [&a, &b, &a, &b, &a].into_iter().enumerate() {
        let res = server.get(&format!("/api/v1/offers?q=stage{i}")).unwrap();
        assert_eq!(res.status, 200, "{}", res.text());
    }
    let limited = b.get("/api/v1/offers?q=stage").unwrap();
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert!(limited.header("retry-after").is_some());
    assert!(limited.header("ratelimit").is_some());
    assert!(limited.header("ratelimit-policy").is_some());

    // Login failures add up across servers: the fourth attempt is refused on either.
    let wrong = json!({"email": MANAGER.0, "password": "pas le bon mot de passe"});
    for server in [&a, &b, &a] {
        assert_eq!(
            server
                .json("POST", "/api/v1/auth/login", None, &wrong)
                .status,
            401
        );
    }
    let throttled = b.json("POST", "/api/v1/auth/login", None, &wrong);
    assert_eq!(throttled.status, 429, "{}", throttled.text());
    assert!(throttled.header("retry-after").is_some());
    let throttled = a.json(
        "POST",
        "/api/v1/auth/login",
        None,
        &json!({"email": MANAGER.0, "password": MANAGER.1}),
    );
    assert_eq!(throttled.status, 429, "even the right password waits");
}
