//! Liveness and readiness, including a database that goes away and comes back.

use crate::support::TestApp;
use passerelle::{db::build_pool, settings::Settings, state::AppState};
use std::{
    io,
    net::{Shutdown, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
};

#[actix_web::test]
async fn live_and_ready_answer_200() {
    let app = TestApp::new().await;
    let live = app.get("/health/live", None).await;
    assert_eq!(live.status, 200);
    assert_eq!(live.json()["status"], "ok");
    assert_eq!(app.get("/health/ready", None).await.status, 200);
}

/// `host:port` of the test server when it is reached over TCP (the proxy below needs it).
pub fn tcp_target(server_url: &str) -> Option<String> {
    server_url
        .split_once('@')
        .and_then(|(_, rest)| rest.split('/').next())
        .filter(|host| host.contains(':'))
        .map(str::to_owned)
}

/// A TCP proxy in front of PostgreSQL that can cut every connection and refuse new ones.
pub struct Switch {
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    pub port: u16,
}

impl Switch {
    pub fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (up2, open2) = (up.clone(), open.clone());
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut opened = open2.lock().unwrap();
                opened.push(client.try_clone().unwrap());
                opened.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Switch { up, open, port }
    }

    pub fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

#[actix_web::test]
async fn ready_is_503_while_the_database_is_unreachable_and_recovers_without_restart() {
    // Only meaningful over TCP: skip the socket-only private cluster.
    let server = passerelle::db::test_db::server_url().unwrap();
    let Some(target) = tcp_target(&server) else {
        eprintln!("skipped: the test server is not reached over TCP ({server})");
        return;
    };
    let app = TestApp::new().await;
    let switch = Switch::start(target.clone());
    let proxied = app
        .db
        .url()
        .replacen(&target, &format!("127.0.0.1:{}", switch.port), 1);
    let mut settings = Settings::for_tests(&proxied);
    settings.database_timeout = std::time::Duration::from_millis(700);
    let pool = build_pool(&proxied, 2, settings.database_timeout);
    let state = AppState::new(settings, pool).unwrap();
    let call = TestApp::from_state(state).await;
    let ready = || async {
        let req = actix_web::test::TestRequest::get()
            .uri("/health/ready")
            .to_request();
        call(req).await.status().as_u16()
    };

    assert_eq!(ready().await, 200);
    switch.down();
    let started = std::time::Instant::now();
    assert_eq!(ready().await, 503);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "fails fast"
    );
    // The instance's own metrics are still served; only the queue gauges need the database.
    let metrics = call(
        actix_web::test::TestRequest::get()
            .uri("/metrics")
            .to_request(),
    )
    .await;
    assert_eq!(metrics.status().as_u16(), 200);
    let text = String::from_utf8(
        actix_web::body::to_bytes(metrics.into_body())
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("passerelle_db_pool_connections"), "{text}");
    assert!(!text.contains("passerelle_jobs{"), "{text}");
    switch.up();
    let mut status = 0;
    for _ in 0..20 {
        status = ready().await;
        if status == 200 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "recovered once the database is back");
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern_and_show_the_queue() {
    let app = TestApp::new().await;
    let id = uuid::Uuid::new_v4();
    app.get(&format!("/api/v1/offers/{id}"), None).await;
    app.get("/api/v1/offers", None).await;
    app.get("/api/v1/offers", None).await;
    let res = app.get("/metrics", None).await;
    assert_eq!(res.status, 200);
    assert!(res
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(res.body.clone()).unwrap();
    assert!(
        text.contains(
            r#"passerelle_http_requests_total{method="GET",route="/api/v1/offers",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/offers/{id_or_slug}",status="404""#),
        "{text}"
    );
    assert!(
        !text.contains(&id.to_string()),
        "concrete paths stay out of the labels"
    );
    assert!(text
        .contains(r#"passerelle_http_request_duration_seconds_count{route="/api/v1/offers"} 2"#));
    assert!(text.contains(r#"passerelle_jobs{state="due"} 0"#));
    assert!(text.contains("passerelle_db_pool_connections{state=\"in_use\"}"));
    assert!(text.contains("passerelle_db_pool_waiting 0"), "{text}");
}
