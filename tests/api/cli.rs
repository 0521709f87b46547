//! The command line, run as a separate process against a test database.

use crate::support::TestApp;
use std::process::Command;

fn passerelle(app: &TestApp, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    crate::process::run_cli(app.db.url(), args, stdin)
}

#[actix_web::test]
async fn staff_create_reads_the_password_or_generates_one() {
    let app = TestApp::new().await;
    let (ok, out, err) = passerelle(
        &app,
        &[
            "staff",
            "create",
            "--email",
            "Chef@Ville.example",
            "--name",
            "Camille Chef",
            "--role",
            "admin",
        ],
        Some("une phrase de passe pour la cli\n"),
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("created admin chef@ville.example"), "{out}");
    assert!(
        !out.contains("phrase de passe"),
        "a piped password is never echoed"
    );
    let login = app
        .post_json("/api/v1/auth/login", None, serde_json::json!({"email": "chef@ville.example", "password": "une phrase de passe pour la cli"}))
        .await;
    assert_eq!(login.status, 200);

    let (ok, out, _) = passerelle(
        &app,
        &[
            "staff",
            "create",
            "--email",
            "r@ville.example",
            "--name",
            "R",
            "--role",
            "reviewer",
        ],
        None,
    );
    assert!(ok);
    let generated = out
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap()
        .trim()
        .to_owned();
    let login = app
        .post_json(
            "/api/v1/auth/login",
            None,
            serde_json::json!({"email": "r@ville.example", "password": generated}),
        )
        .await;
    assert_eq!(login.status, 200);

    // A wrong --role: a_wrong_role_is_refused_before_the_database_is_opened.
    let (ok, _, err) = passerelle(
        &app,
        &[
            "staff",
            "create",
            "--email",
            "y@ville.example",
            "--name",
            "Y",
            "--role",
            "manager",
        ],
        Some("short\n"),
    );
    assert!(!ok && err.contains("password refused"), "{err}");
    let (ok, _, err) = passerelle(
        &app,
        &[
            "staff",
            "create",
            "--email",
            "chef@ville.example",
            "--name",
            "Z",
            "--role",
            "manager",
        ],
        Some("une autre phrase de passe\n"),
    );
    assert!(!ok && err.contains("already exists"), "{err}");
}

#[actix_web::test]
async fn a_weak_configuration_stops_the_process_before_it_binds() {
    let app = TestApp::new().await;
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["serve"])
        .env("DATABASE_URL", app.db.url())
        .env("JWT_SECRET", "too-short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET must be at least 32 bytes"));
}

#[actix_web::test]
async fn the_retired_trust_forwarded_for_stops_the_process_naming_trusted_proxies() {
    // It believed the client-written left-most X-Forwarded-For entry; silently ignoring it
    // would put every client behind the proxy in one budget.
    let app = TestApp::new().await;
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .args(["serve"])
        .env("DATABASE_URL", app.db.url())
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("TRUST_FORWARDED_FOR", "true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TRUST_FORWARDED_FOR was removed"), "{err}");
    assert!(err.contains("TRUSTED_PROXIES"), "{err}");
}

#[actix_web::test]
async fn seed_demo_and_purge_run_from_the_command_line() {
    let app = TestApp::new().await;
    let (ok, out, err) = passerelle(&app, &["seed-demo"], None);
    assert!(ok, "{out}{err}");
    let (ok, out, _) = passerelle(&app, &["seed-demo"], None);
    assert!(ok && out.contains("demo data loaded"));
    let (ok, out, err) = passerelle(&app, &["purge", "--dry-run"], None);
    assert!(ok, "{err}");
    assert!(out.contains("0 application(s) due for erasure"), "{out}");
    let (ok, out, _) = passerelle(&app, &["openapi"], None);
    assert!(ok && out.contains("\"openapi\""));
}

#[actix_web::test]
async fn the_calendar_runs_once_from_the_command_line() {
    use diesel::{sql_query, Connection, PgConnection, RunQueryDsl};
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(passerelle::auth::Role::Manager).await;
    let offer = app
        .publish_new_offer(&manager, crate::support::open_offer("CLI-CAL-1"))
        .await;
    let id = offer["id"].as_str().unwrap();
    let (ok, out, err) = passerelle(&app, &["calendar"], None);
    assert!(ok, "{err}");
    assert!(out.contains("0 closed at their deadline"), "{out}");
    let mut conn = PgConnection::establish(app.db.url()).unwrap();
    let two_days_ago = passerelle::calendar::CityCalendar::default()
        .today(crate::support::test_start())
        - chrono::Days::new(2);
    sql_query(format!(
        "UPDATE offers SET application_deadline = DATE '{two_days_ago}' WHERE id = '{id}'"
    ))
    .execute(&mut conn)
    .unwrap();
    let (ok, out, err) = passerelle(&app, &["calendar"], None);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("closed {id}")), "{out}");
    assert!(out.contains("1 closed at their deadline"), "{out}");
    let staff = app
        .get(&format!("/api/v1/staff/offers/{id}"), Some(&manager))
        .await
        .json();
    assert_eq!(staff["closed_reason"], "deadline_passed");
}

/// A database URL nothing listens on: a command that touched it would fail on it.
const NO_DATABASE: &str = "postgres://postgres@127.0.0.1:9/nowhere";

#[test]
fn a_wrong_role_is_refused_before_the_database_is_opened() {
    let (ok, out, err) = crate::process::run_cli(
        NO_DATABASE,
        &[
            "staff",
            "create",
            "--email",
            "x@ville.example",
            "--name",
            "X",
            "--role",
            "root",
        ],
        None,
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains("'root'")
            && err.contains("--role")
            && err.contains("admin, manager or reviewer"),
        "{err}"
    );
    assert!(
        !err.to_lowercase().contains("connect"),
        "the database was not tried: {err}"
    );
}

#[test]
fn an_error_is_printed_once_and_health_names_the_address_it_tried() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("health")
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let address = format!("http://127.0.0.1:{port}/health/ready");
    assert!(
        err.contains(&address) && err.contains("LISTEN_ADDR"),
        "{err}"
    );
    assert_eq!(err.matches(&address).count(), 1, "printed once: {err}");
}

#[test]
fn each_command_s_help_names_the_environment_it_reads() {
    for (args, names) in [
        (
            &["serve", "--help"][..],
            &["DATABASE_URL", "LISTEN_ADDR", "JWT_SECRET"][..],
        ),
        (&["migrate", "--help"], &["DATABASE_URL", "DATA_DIR"]),
        (&["seed-demo", "--help"], &["DATABASE_URL", "DATA_DIR"]),
        (
            &["staff", "create", "--help"],
            &[
                "DATABASE_URL",
                "ORGANIZATION_NAME",
                "admin, manager or reviewer",
            ],
        ),
        (
            &["purge", "--help"],
            &["RETENTION_AFTER_DECISION_DAYS", "DATABASE_URL"],
        ),
        (&["health", "--help"], &["LISTEN_ADDR"]),
        (
            &["outbox", "--help"],
            &["DATABASE_URL", "SMTP_HOST", "--limit"],
        ),
        (
            &["calendar", "--help"],
            &["CITY_TIME_ZONE", "PUBLICATION_APPROVAL", "DATABASE_URL"],
        ),
        (&["openapi", "--help"], &["Environment: none"]),
        (&["demo-offer", "--help"], &["Environment: CITY_TIME_ZONE"]),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
            .args(args)
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}");
        for name in names {
            assert!(help.contains(name), "{args:?} help names {name}: {help}");
        }
    }
}

/// The demo offer as a file is dated like the real offer it copies (long past); the command
/// prints it dated from today, and that body publishes.
#[actix_web::test]
async fn the_demo_offer_printed_today_can_be_published() {
    use passerelle::auth::Role;
    let out = Command::new(env!("CARGO_BIN_EXE_passerelle"))
        .arg("demo-offer")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let deadline = chrono::NaiveDate::parse_from_str(
        offer["application"]["deadline"].as_str().unwrap(),
        "%Y-%m-%d",
    )
    .unwrap();
    assert!(deadline > passerelle::calendar::CityCalendar::default().today(chrono::Utc::now()));
    assert_ne!(
        offer["reference"], "VDG-VO-2026-007",
        "the demo data holds that one"
    );
    // The same function, dated from the test clock, through the API.
    let app = TestApp::new().await;
    let (_, manager) = app.token_for(Role::Manager).await;
    let today = app.state.today();
    // On a database that holds the demo data, as a first `serve` makes it.
    passerelle::demo::seed(&mut app.db.connect(), false, app.state.calendar()).unwrap();
    let offer = passerelle::demo::fixture_offer(today).unwrap();
    let published = app.publish_new_offer(&manager, offer).await;
    assert_eq!(published["status"], "published");
}
