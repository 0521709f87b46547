//! Demo data and a newcomer's first run: `serve` on the private cluster seeds an empty
//! database (never a `DATABASE_URL`), and `seed-demo` guards databases with real offers.

use crate::{
    process::{self, ServerProcess},
    support::{open_offer, TestApp},
};
use diesel::prelude::*;
use passerelle::{
    auth::Role,
    db::schema::{offers, staff_users},
    demo::{seed_if_empty, DEMO_STAFF},
};
use std::{
    process::{Command, Stdio},
    time::Duration,
};

fn passerelle(app: &TestApp, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    process::run_cli(app.db.url(), args, stdin)
}

fn counts(conn: &mut PgConnection) -> (i64, i64) {
    (
        offers::table.count().get_result(conn).unwrap(),
        staff_users::table.count().get_result(conn).unwrap(),
    )
}

#[actix_web::test]
async fn seed_demo_refuses_a_database_with_offers_of_its_own_unless_forced() {
    let app = TestApp::new().await;
    let (_, token) = app.token_for(Role::Manager).await;
    app.create_offer(&token, open_offer("VILLE-REELLE-001"))
        .await;
    let (ok, out, err) = passerelle(&app, &["seed-demo"], None);
    assert!(!ok, "{out}");
    assert!(
        err.contains("1 offer(s) that are not demo data") && err.contains("--force"),
        "{err}"
    );
    let offers = |app: &TestApp| -> i64 {
        use diesel::prelude::*;
        passerelle::db::schema::offers::table
            .count()
            .get_result(&mut app.db.connect())
            .unwrap()
    };
    assert_eq!(offers(&app), 1, "nothing was seeded");
    let (ok, out, err) = passerelle(&app, &["seed-demo", "--force"], None);
    assert!(ok && out.contains("demo data loaded"), "{out}{err}");
    assert!(offers(&app) > 1);
}

#[actix_web::test]
async fn an_empty_database_is_seeded_once_and_one_with_an_account_never() {
    let app = TestApp::new().await;
    let mut conn = app.db.connect();
    assert!(seed_if_empty(&mut conn, app.state.calendar()).unwrap());
    let seeded = counts(&mut conn);
    assert_eq!(seeded.1, DEMO_STAFF.len() as i64);
    assert!(!seed_if_empty(&mut conn, app.state.calendar()).unwrap());
    assert_eq!(counts(&mut conn), seeded);

    let other = TestApp::new().await;
    other.create_staff(Role::Admin);
    let mut conn = other.db.connect();
    assert!(!seed_if_empty(&mut conn, other.state.calendar()).unwrap());
    assert_eq!(counts(&mut conn), (0, 1));
}

#[actix_web::test]
async fn serve_with_database_url_never_seeds() {
    let app = TestApp::new().await;
    let server = ServerProcess::start(app.db.url(), &[]);
    server.wait_ready();
    assert_eq!(counts(&mut app.db.connect()), (0, 0));
    assert!(!server.log_text().contains("demo data loaded"));
}

/// `cargo run -- serve` with no configuration: the README's login example works, and the
/// log says where the accounts are, without their passwords.
#[actix_web::test]
async fn serve_on_the_private_cluster_loads_the_demo_data_into_an_empty_database() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("first-run-{}", uuid::Uuid::new_v4().simple()));
    let port = process::free_port();
    let log = dir.with_extension("log");
    let child = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("DATA_DIR", &dir)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("WORKERS", "1")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut server = ServerProcess { child, port, log };
    let started = std::time::Instant::now();
    while !server.get("/health/ready").is_ok_and(|r| r.status == 200) {
        if server.child.try_wait().unwrap().is_some() {
            let text = server.log_text();
            assert!(text.contains("no PostgreSQL server binaries"), "{text}");
            eprintln!("skipped: no PostgreSQL server binaries on this machine");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (admin, _, _, password) = DEMO_STAFF[0];
    server.login(admin, password);
    let text = server.log_text();
    assert!(
        text.contains("demo data loaded") && text.contains("README.md"),
        "{text}"
    );
    for (_, _, _, password) in DEMO_STAFF {
        assert!(!text.contains(password), "a password in the log: {text}");
    }
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(60)).success());
    // The cluster was stopped with the server.
    let _ = std::fs::remove_dir_all(&dir);
}
