//! Faults, with real server processes: a database down at start, a stop signal during an
//! upload, slow clients, and a crash of both the server and the database.

use crate::{
    applications::{candidate_fields, multipart, pdfs, BOUNDARY},
    health::{tcp_target, Switch},
    process::{cli, finish, head, request, ServerProcess},
    support::{open_offer, TestApp},
};
use diesel::{sql_query, Connection, PgConnection, RunQueryDsl};
use passerelle::{
    auth::Role,
    db::{self, local::LocalCluster, test_db::TestDb},
};
use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

pub fn apply_body(email: &str) -> Vec<u8> {
    let fields = candidate_fields(email);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    multipart(&fields, &pdfs())
}

pub fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

#[actix_web::test]
async fn serve_starts_while_its_database_is_down_and_serves_once_it_is_back() {
    let server_url = db::test_db::server_url().unwrap();
    let Some(target) = tcp_target(&server_url) else {
        eprintln!("skipped: the test server is not reached over TCP ({server_url})");
        return;
    };
    let switch = Switch::start(target.clone());
    switch.down();
    let fresh = TestDb::not_created();
    let proxied = fresh
        .url()
        .replacen(&target, &format!("127.0.0.1:{}", switch.port), 1);

    // Down at start: the process still starts, says it is not ready, and API requests get a
    // fast 503 problem.
    let server = ServerProcess::start(&proxied, &[("DATABASE_TIMEOUT_SECONDS", "1")]);
    assert_eq!(server.get("/health/ready").unwrap().status, 503);
    let offers = server.get("/api/v1/offers").unwrap();
    assert_eq!(offers.status, 503, "{}", offers.text());
    assert_eq!(
        offers.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(offers.json()["code"], "database_unavailable");
    assert!(offers.header("retry-after").is_some());
    assert!(offers.json()["request_id"].is_string());

    // Back: the database is created and migrated, and the same process serves.
    switch.up();
    server.wait_ready();
    let offers = server.get("/api/v1/offers").unwrap();
    assert_eq!(offers.status, 200, "{}", offers.text());
    assert_eq!(offers.json()["items"], serde_json::json!([]));
    assert!(server.log_text().contains("database not ready"));
}

#[actix_web::test]
async fn sigterm_lets_an_upload_in_flight_finish_then_the_server_exits() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    let offer = app
        .publish_new_offer(&token, open_offer("VDG-STOP-1"))
        .await;
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    let mut server = ServerProcess::start(app.db.url(), &[("SHUTDOWN_TIMEOUT_SECONDS", "20")]);
    server.wait_ready();

    let body = apply_body("arret@exemple.fr");
    let (first, rest) = body.split_at(body.len() / 2);
    let mut upload = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    upload
        .write_all(&head(
            "POST",
            &format!("/api/v1/offers/{offer_id}/applications"),
            &[("Content-Type", &multipart_type())],
            body.len(),
        ))
        .unwrap();
    upload.write_all(first).unwrap();
    upload.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    server.terminate();
    std::thread::sleep(Duration::from_millis(500));
    // Nothing new is accepted while the upload finishes.
    let refused = request(server.port, "GET", "/health/live", &[], b"");
    assert!(
        refused.is_err(),
        "a new connection was served during the stop: {refused:?}"
    );
    assert!(server.child.try_wait().unwrap().is_none(), "still running");

    upload.write_all(rest).unwrap();
    let res = finish(upload).unwrap();
    assert_eq!(res.status, 201, "{}", res.text());
    let status = server.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM application_documents"),
        2
    );
}

#[actix_web::test]
async fn slow_clients_are_cut_off_with_408() {
    let app = TestApp::new().await;
    let server = ServerProcess::start(
        app.db.url(),
        &[
            ("REQUEST_TIMEOUT_SECONDS", "1"),
            ("CLIENT_HEADER_TIMEOUT_SECONDS", "1"),
        ],
    );
    server.wait_ready();

    // Headers that never end: the connection is answered 408 or closed, not kept.
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET /api/v1/offers HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut raw = Vec::new();
    let _ = slow.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        raw.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected answer to slow headers: {text}"
    );

    // A body that stops halfway: 408 problem+json once the request deadline passes.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(&head(
            "POST",
            "/api/v1/auth/login",
            &[("Content-Type", "application/json")],
            200,
        ))
        .unwrap();
    stream.write_all(b"{\"email\": \"len").unwrap();
    let res = finish(stream).unwrap();
    assert_eq!(res.status, 408, "{}", res.text());
    assert_eq!(res.json()["code"], "body_timeout");

    // A body without a declared length is cut as soon as it passes the route's limit
    // (8 KiB on sign-in): 413, whatever the client sends after.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
              Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 1024, " ".repeat(1024));
    for _ in 0..9 {
        // The server may answer before the client is done sending.
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let res = finish(stream).unwrap();
    assert_eq!(res.status, 413, "{}", res.text());
    assert_eq!(res.json()["code"], "payload_too_large");

    // The server is still fine.
    assert_eq!(server.get("/health/ready").unwrap().status, 200);
}

#[actix_web::test]
async fn acknowledged_applications_survive_a_crash_of_the_server_and_the_database() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("crash-{}", uuid::Uuid::new_v4().simple()));
    let mut cluster = match LocalCluster::start(&dir) {
        Ok(c) => c,
        Err(passerelle::db::local::LocalDbError::BinariesNotFound) => {
            eprintln!("skipped: no PostgreSQL server binaries on this machine");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let url = cluster.url("passerelle_crash");
    let password = "phrase secrète de la panne totale";
    cli(
        &url,
        &[
            "staff",
            "create",
            "--email",
            "crash@ville.example",
            "--name",
            "Camille Martin",
            "--role",
            "manager",
        ],
        password,
    );
    // Durability is under test, not the limits: one address applies as fast as it can, from
    // four connections at once.
    let server = ServerProcess::start(
        &url,
        &[
            ("APPLY_RATE_LIMIT", "0"),
            ("UPLOAD_CONCURRENCY_PER_ADDRESS", "0"),
        ],
    );
    server.wait_ready();
    let token = server.login("crash@ville.example", password);
    let created = server.json(
        "POST",
        "/api/v1/staff/offers",
        Some(&token),
        &open_offer("VDG-CRASH-1"),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let etag = created.header("etag").unwrap().to_owned();
    let publish = request(
        server.port,
        "POST",
        &format!("/api/v1/staff/offers/{id}/publish"),
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("If-Match", &etag),
            ("Content-Type", "application/json"),
        ],
        b"{}",
    )
    .unwrap();
    assert_eq!(publish.status, 200, "{}", publish.text());

    // Candidates apply from four connections until the lights go out.
    let port = server.port;
    let appliers: Vec<_> = (0..4)
        .map(|t| {
            let id = id.clone();
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    let body = apply_body(&format!("c{t}-{i}@exemple.fr"));
                    let res = request(
                        port,
                        "POST",
                        &format!("/api/v1/offers/{id}/applications"),
                        &[("Content-Type", &multipart_type())],
                        &body,
                    );
                    match res {
                        Ok(r) if r.status == 201 => acknowledged
                            .push(r.json()["application"]["id"].as_str().unwrap().to_owned()),
                        Ok(r) if r.status >= 500 || r.status == 408 => break,
                        Ok(r) => panic!("unexpected {}: {}", r.status, r.text()),
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    // Both die at once, without any chance to clean up.
    let mut server = server;
    server.child.kill().unwrap();
    cluster.crash().unwrap();
    let acknowledged: Vec<String> = appliers
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(!acknowledged.is_empty(), "no application got through");
    eprintln!(
        "{} applications acknowledged before the crash",
        acknowledged.len()
    );

    // After crash recovery every acknowledged application is there, with both documents.
    let _cluster = LocalCluster::start(&dir).unwrap();
    let mut conn = PgConnection::establish(&url).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let list = acknowledged
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",");
    let found: Found = sql_query(format!(
        "SELECT count(*) AS n FROM applications a WHERE a.id IN ({list}) \
         AND (SELECT count(*) FROM application_documents d WHERE d.application_id = a.id) = 2"
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(found.n as usize, acknowledged.len());
    drop(conn);
    drop(_cluster);
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn a_handler_stuck_on_the_database_ends_in_503_at_the_request_deadline() {
    let app = TestApp::with_settings(|s| s.timeouts.request = Duration::from_secs(1)).await;
    let (_, token) = app.token_for(Role::Manager).await;
    // Another session holds the lock every offer write takes.
    let mut blocker = app.db.connect();
    sql_query("BEGIN").execute(&mut blocker).unwrap();
    sql_query("SELECT version FROM catalog_version FOR UPDATE")
        .execute(&mut blocker)
        .unwrap();
    let res = app
        .post_json(
            "/api/v1/staff/offers",
            Some(&token),
            open_offer("VDG-SLOW-1"),
        )
        .await;
    let problem = res.assert_problem(503, "deadline_exceeded");
    assert!(problem["request_id"].is_string());
    assert!(res.header("retry-after").is_some());
    sql_query("ROLLBACK").execute(&mut blocker).unwrap();
    // Nothing half-written, and the same request goes through once the lock is gone.
    assert_eq!(app.count("SELECT count(*) AS n FROM offers"), 0);
    app.create_offer(&token, open_offer("VDG-SLOW-1")).await;
}

/// Settings small enough for fast tests: past 1 s, an upload must average 1000 B/s; 5 s in
/// all. The test client is the right-most `X-Forwarded-For` entry (the test connects from
/// 127.0.0.1, a trusted proxy), so each test picks its own addresses.
const SLOW_UPLOAD_SETTINGS: [(&str, &str); 4] = [
    ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ("UPLOAD_MIN_BYTES_PER_SECOND", "1000"),
    ("UPLOAD_RATE_GRACE_SECONDS", "1"),
    ("UPLOAD_TIMEOUT_SECONDS", "5"),
];

/// An application sent on its own connection from `client`, `piece` bytes every `every`,
/// until the body is sent, the server closes, or the answer is read.
struct Trickle {
    reader: TcpStream,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    writer: std::thread::JoinHandle<()>,
    started: std::time::Instant,
}

impl Trickle {
    fn start(
        port: u16,
        offer_id: &str,
        client: &str,
        body: Vec<u8>,
        piece: usize,
        every: Duration,
    ) -> Self {
        let reader = TcpStream::connect(("127.0.0.1", port)).unwrap();
        reader
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut writer = reader.try_clone().unwrap();
        writer
            .write_all(&head(
                "POST",
                &format!("/api/v1/offers/{offer_id}/applications"),
                &[
                    ("Content-Type", &multipart_type()),
                    ("X-Forwarded-For", client),
                ],
                body.len(),
            ))
            .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let started = std::time::Instant::now();
        let writer = std::thread::spawn(move || {
            for piece in body.chunks(piece) {
                if stopped.load(std::sync::atomic::Ordering::Relaxed)
                    || writer.write_all(piece).is_err()
                {
                    return;
                }
                std::thread::sleep(every);
            }
        });
        Trickle {
            reader,
            stop,
            writer,
            started,
        }
    }

    /// The answer, and how long after the start it came.
    fn answer(self) -> (crate::process::Response, Duration) {
        let res = finish(self.reader).unwrap();
        let took = self.started.elapsed();
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.writer.join();
        (res, took)
    }
}

/// One application sent at once from `client`.
fn apply_from(port: u16, offer_id: &str, client: &str, email: &str) -> crate::process::Response {
    request(
        port,
        "POST",
        &format!("/api/v1/offers/{offer_id}/applications"),
        &[
            ("Content-Type", &multipart_type()),
            ("X-Forwarded-For", client),
        ],
        &apply_body(email),
    )
    .unwrap()
}

fn assert_problem(res: &crate::process::Response, status: u16, code: &str) {
    assert_eq!(res.status, status, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    assert_eq!(res.json()["code"], code, "{}", res.text());
}

async fn published_offer(app: &TestApp, reference: &str) -> String {
    let (_, token) = app.token_for(Role::Manager).await;
    let offer = app.publish_new_offer(&token, open_offer(reference)).await;
    offer["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_third_upload_at_once_from_one_address_gets_429_while_other_addresses_apply() {
    let app = TestApp::new().await;
    let offer_id = published_offer(&app, "VDG-SLOW-A").await;
    let server = ServerProcess::start(app.db.url(), &SLOW_UPLOAD_SETTINGS);
    server.wait_ready();

    // Two slow senders from one /64 (the penetration test's 10 bytes every 0.5 s) hold the
    // two uploads that address may have in flight (UPLOAD_CONCURRENCY_PER_ADDRESS, 2).
    let every = Duration::from_millis(500);
    let slow: Vec<_> = ["2001:db8:a:b::1", "2001:db8:a:b::2"]
        .iter()
        .enumerate()
        .map(|(i, client)| {
            let body = apply_body(&format!("lent{i}@exemple.fr"));
            Trickle::start(server.port, &offer_id, client, body, 10, every)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    // A third from the same /64 is refused at once, before its body is read.
    let third = Trickle::start(
        server.port,
        &offer_id,
        "2001:db8:a:b::3",
        apply_body("troisieme@exemple.fr"),
        10,
        every,
    );
    let (res, took) = third.answer();
    assert_problem(&res, 429, "too_many_uploads");
    assert_eq!(res.header("retry-after"), Some("5"));
    assert!(took < Duration::from_millis(900), "429 after {took:?}");

    // Another address is not held back by them.
    let other = apply_from(
        server.port,
        &offer_id,
        "2001:db8:a:c::1",
        "autre@exemple.fr",
    );
    assert_eq!(other.status, 201, "{}", other.text());

    // Uploads whose client hangs up give their address back at once, well before the grace
    // period would have cut them.
    let gone_at = std::time::Instant::now();
    for i in 0..2 {
        let body = apply_body(&format!("partie{i}@exemple.fr"));
        let left = Trickle::start(server.port, &offer_id, "192.0.2.44", body, 10, every);
        std::thread::sleep(Duration::from_millis(100));
        left.reader.shutdown(std::net::Shutdown::Both).unwrap();
        left.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    std::thread::sleep(Duration::from_millis(200));
    let back = apply_from(server.port, &offer_id, "192.0.2.44", "partie@exemple.fr");
    assert_eq!(back.status, 201, "{}", back.text());
    assert!(
        gone_at.elapsed() < Duration::from_secs(1),
        "{:?}",
        gone_at.elapsed()
    );

    // The slow ones are cut once the grace period is over, which gives the address back its
    // uploads.
    for upload in slow {
        let (res, took) = upload.answer();
        assert_problem(&res, 408, "upload_too_slow");
        assert!(took < Duration::from_secs(4), "cut after {took:?}");
    }
    let again = apply_from(
        server.port,
        &offer_id,
        "2001:db8:a:b::1",
        "revenue@exemple.fr",
    );
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 3);
}

#[actix_web::test]
async fn a_slow_sender_is_cut_after_the_grace_period_and_frees_the_only_upload_slot() {
    let app = TestApp::new().await;
    let offer_id = published_offer(&app, "VDG-SLOW-B").await;
    let mut settings = SLOW_UPLOAD_SETTINGS.to_vec();
    settings.push(("UPLOAD_CONCURRENCY", "1"));
    let server = ServerProcess::start(app.db.url(), &settings);
    server.wait_ready();

    // A few bytes every 200 ms: about 25 B/s, far below 1000 B/s.
    let slow = Trickle::start(
        server.port,
        &offer_id,
        "203.0.113.9",
        apply_body("goutte@exemple.fr"),
        5,
        Duration::from_millis(200),
    );
    let (res, took) = slow.answer();
    assert_problem(&res, 408, "upload_too_slow");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "cut after {took:?}, with a 1 s grace period and a 5 s deadline"
    );

    // The only slot is free again: a normal application goes through at once.
    let res = apply_from(server.port, &offer_id, "203.0.113.9", "normale@exemple.fr");
    assert_eq!(res.status, 201, "{}", res.text());

    // An upload that takes longer than the grace period but keeps a fair pace (about 30 KB
    // per second over 2 s) is not cut.
    let fields = candidate_fields("reguliere@exemple.fr");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut files = pdfs();
    files[0].3 = passerelle::applications::pdf::sample_pdf("CV", 60_000);
    let body = multipart(&fields, &files);
    let piece = body.len() / 20 + 1;
    let steady = Trickle::start(
        server.port,
        &offer_id,
        "203.0.113.9",
        body,
        piece,
        Duration::from_millis(100),
    );
    let (res, took) = steady.answer();
    assert_eq!(res.status, 201, "{}", res.text());
    assert!(took > Duration::from_millis(1500), "sent in {took:?}");
    assert_eq!(app.count("SELECT count(*) AS n FROM applications"), 2);
}
