//! Test support: every test owns a real database, cloned from a template migrated once.
//!
//! The server is `DATABASE_URL` when set (CI points it at the machine's PostgreSQL), else the
//! private cluster under `DATA_DIR` (default `./data`), the same one `serve` uses. The
//! template's name carries a hash of the migrations, so changing one makes a fresh template;
//! it is built under an advisory lock, so parallel test processes never race.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a test database that cannot be made is a failed test"
)]

use super::{local::LocalCluster, quote_ident, with_database_name, BoxError};
use diesel::{pg::PgConnection, sql_query, Connection, RunQueryDsl};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const TEMPLATE_LOCK_KEY: i64 = 0x7061_7373_7465_6d70; // "passtemp"

struct Server {
    /// URL of any database on the server, used to build the others.
    base_url: String,
    template: String,
}

/// A database of its own for one test, dropped when the value is dropped.
pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDb {
    /// Clones the migrated template into a new database. Panics on failure: it is test setup.
    pub fn new() -> Self {
        let server = server().unwrap_or_else(|e| panic!("test database server: {e}"));
        let name = format!("passerelle_test_{}", uuid::Uuid::new_v4().simple());
        let admin_url = maintenance_url(&server.base_url);
        let mut admin = PgConnection::establish(&admin_url).expect("connect to the test server");
        sql_query(format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(&server.template)
        ))
        .execute(&mut admin)
        .expect("clone the template database");
        let url = with_database_name(&server.base_url, &name).expect("test database url");
        TestDb {
            name,
            url,
            admin_url,
        }
    }

    /// A name for a database that does not exist yet, for tests where the server creates it
    /// (start-up); dropped at the end like the others.
    pub fn not_created() -> Self {
        let server = server().unwrap_or_else(|e| panic!("test database server: {e}"));
        let name = format!("passerelle_test_{}", uuid::Uuid::new_v4().simple());
        let url = with_database_name(&server.base_url, &name).expect("test database url");
        TestDb {
            name,
            url,
            admin_url: maintenance_url(&server.base_url),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to the test database")
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.name)
            ))
            .execute(&mut admin);
        }
    }
}

/// The URL of the server tests use: `DATABASE_URL`, else the private cluster.
pub fn server_url() -> Result<String, BoxError> {
    server().map(|s| s.base_url.clone())
}

fn server() -> Result<&'static Server, BoxError> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| prepare_server().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| e.clone().into())
}

fn prepare_server() -> Result<Server, BoxError> {
    let base_url = match std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => url,
        None => {
            let default_dir = format!("{}/data", env!("CARGO_MANIFEST_DIR"));
            let dir = std::env::var("DATA_DIR").unwrap_or_else(|_| default_dir.clone());
            let cluster = LocalCluster::start(std::path::Path::new(&dir))?;
            let url = cluster.url("postgres");
            say_left_running(cluster.pgdata(), (dir != default_dir).then_some(&dir));
            // Shared by every test process of this run and the next: never stopped here.
            cluster.detach();
            url
        }
    };
    let template = format!("passerelle_template_{}", migrations_fingerprint());
    build_template(&base_url, &template)?;
    Ok(Server { base_url, template })
}

/// One line on standard error, past the test harness's capture, saying the cluster outlives
/// the run and how to stop it.
fn say_left_running(pgdata: &std::path::Path, data_dir: Option<&str>) {
    use std::io::Write;
    let prefix = data_dir
        .map(|d| format!("DATA_DIR={d} "))
        .unwrap_or_default();
    let _ = writeln!(
        std::io::stderr(),
        "passerelle tests: the private PostgreSQL cluster in {} stays running after the tests; \
         stop it with `{prefix}cargo run -- local-db stop`",
        pgdata.display()
    );
}

fn maintenance_url(base_url: &str) -> String {
    with_database_name(base_url, "postgres").unwrap_or_else(|| base_url.to_owned())
}

fn build_template(base_url: &str, template: &str) -> Result<(), BoxError> {
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let mut admin = PgConnection::establish(&maintenance_url(base_url))?;
    sql_query(format!("SELECT pg_advisory_lock({TEMPLATE_LOCK_KEY})")).execute(&mut admin)?;
    let ready: Exists = sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate) AS exists",
    )
    .bind::<diesel::sql_types::Text, _>(template)
    .get_result(&mut admin)?;
    if !ready.exists {
        // A half-built template from an interrupted run is rebuilt.
        sql_query(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(template)
        ))
        .execute(&mut admin)?;
        sql_query(format!("CREATE DATABASE {}", quote_ident(template))).execute(&mut admin)?;
        {
            let url = with_database_name(base_url, template).ok_or("template url")?;
            let mut conn = PgConnection::establish(&url)?;
            super::run_migrations(&mut conn)?;
        }
        sql_query(format!(
            "ALTER DATABASE {} IS_TEMPLATE true",
            quote_ident(template)
        ))
        .execute(&mut admin)?;
    }
    sql_query(format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK_KEY})")).execute(&mut admin)?;
    Ok(())
}

/// A short hash of every migration file, so a changed migration gets a new template.
fn migrations_fingerprint() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).unwrap_or_default());
    }
    hex::encode(&hasher.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
