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
