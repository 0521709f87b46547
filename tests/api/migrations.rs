//! Migrations are reversible, and the private-cluster path works.

use diesel_migrations::MigrationHarness;
use passerelle::db::{self, local::LocalCluster, test_db::TestDb, MIGRATIONS};

#[test]
fn migrations_revert_and_reapply_cleanly() {
    let test_db = TestDb::new();
    let mut conn = test_db.connect();
    assert!(db::migrations_current(&mut conn).unwrap());
    conn.revert_all_migrations(MIGRATIONS).unwrap();
    assert!(!db::migrations_current(&mut conn).unwrap());
    let applied = db::run_migrations(&mut conn).unwrap();
    assert!(!applied.is_empty());
    assert!(db::migrations_current(&mut conn).unwrap());
}

#[test]
fn a_private_cluster_starts_creates_its_database_and_stops() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("pg-{}", uuid::Uuid::new_v4().simple()));
    let mut cluster = match LocalCluster::start(&dir) {
        Ok(c) => c,
        Err(passerelle::db::local::LocalDbError::BinariesNotFound) => {
            eprintln!("skipped: no PostgreSQL server binaries on this machine");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let url = cluster.url("passerelle_local_check");
    let mut conn = db::connect_creating_database(&url).unwrap();
    db::run_migrations(&mut conn).unwrap();
    assert!(db::migrations_current(&mut conn).unwrap());
    drop(conn);
    cluster.stop().unwrap();
    assert!(diesel::Connection::establish(&url)
        .map(|_: diesel::PgConnection| ())
        .is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The service's role needs no superuser: owning its database is enough (`unaccent` is a
/// trusted extension). Without CREATEDB, a missing database is named with the fix.
#[test]
fn an_owner_without_createdb_migrates_and_a_missing_database_names_the_fix() {
    use diesel::{sql_query, Connection, PgConnection, RunQueryDsl};
    let server = db::test_db::server_url().unwrap();
    let (admin_url, _) = db::split_database_name(&server).unwrap();
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (role, name) = (
        format!("passerelle_role_{suffix}"),
        format!("passerelle_test_{suffix}"),
    );
    sql_query(format!(
        "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
    ))
    .execute(&mut admin)
    .unwrap();
    sql_query(format!("CREATE DATABASE {name} OWNER {role}"))
        .execute(&mut admin)
        .unwrap();
    let as_role = |database: &str| {
        let url = db::with_database_name(&server, database).unwrap();
        // The role instead of the server's usual user, in the query (private cluster) or
        // before the host.
        if let Some((base, query)) = url.split_once('?') {
            let query: Vec<String> = query
                .split('&')
                .filter(|p| !p.starts_with("user="))
                .map(str::to_owned)
                .chain([format!("user={role}")])
                .collect();
            format!("{base}?{}", query.join("&"))
        } else {
            let (scheme, rest) = url.split_once("://").unwrap();
            let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{role}@{rest}")
        }
    };
    let (ok, out, err) = crate::process::run_cli(&as_role(&name), &["migrate"], None);
    let missing = format!("passerelle_test_missing_{suffix}");
    let (refused, _, refusal) = crate::process::run_cli(&as_role(&missing), &["migrate"], None);
    sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .unwrap();
    sql_query(format!("DROP ROLE IF EXISTS {role}"))
        .execute(&mut admin)
        .unwrap();
    assert!(ok, "{out}{err}");
    assert!(out.contains("migration(s) applied"), "{out}");
    assert!(!refused);
    assert!(
        refusal.contains(&missing)
            && refusal.contains("CREATEDB")
            && refusal.contains("createdb -O"),
        "{refusal}"
    );
}
