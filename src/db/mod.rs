//! The database: connection pool, embedded migrations, the generated schema, pagination
//! cursors, and the private local PostgreSQL cluster used when `DATABASE_URL` is unset.

pub mod local;
pub mod pagination;
pub mod schema;
#[cfg(any(test, feature = "test-support"))]
pub mod test_db;
pub mod types;

use diesel::{
    pg::PgConnection,
    r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection},
    sql_query, Connection, RunQueryDsl,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Key of the advisory lock that serialises migrations between instances.
const MIGRATION_LOCK_KEY: i64 = 0x7061_7373_6d69_6772; // "passmigr"

pub type DbPool = Pool<ConnectionManager<PgConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<PgConnection>>;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Whether `e` is a unique violation of the constraint (or unique index) `constraint`: the
/// one way a model tells "already taken" from other database errors.
pub fn violates_unique(e: &diesel::result::Error, constraint: &str) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info
        ) if info.constraint_name() == Some(constraint)
    )
}

/// Builds the pool without connecting: the server starts even while the database is down,
/// and requests get a 503 after `timeout` instead of hanging.
pub fn build_pool(url: &str, size: u32, timeout: Duration) -> DbPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1.min(size)))
        .connection_timeout(timeout)
        .test_on_check_out(false)
        .build_unchecked(ConnectionManager::new(url))
}

/// The server's pool: `build_pool` with every statement bounded by the request deadline
/// (`REQUEST_TIMEOUT_SECONDS` as PostgreSQL's `statement_timeout`), so a slow query or a
/// lock wait ends in a 503 instead of holding the request and its connection.
pub fn pool_for(settings: &crate::settings::Settings, url: &str) -> DbPool {
    Pool::builder()
        .max_size(settings.pool_size)
        // No connection is opened ahead of need: a server started before its database
        // would only log failures for it.
        .min_idle(Some(0))
        .connection_timeout(settings.database_timeout)
        .test_on_check_out(false)
        .error_handler(Box::new(WarnOnFailure))
        .connection_customizer(Box::new(StatementTimeout(settings.timeouts.request)))
        .build_unchecked(ConnectionManager::new(url))
}

/// A connection that cannot be opened is an outage to report, not a server error: the
/// request that needed it gets a 503, and this logs why.
#[derive(Debug)]
struct WarnOnFailure;

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for WarnOnFailure {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        log::warn!("database connection failed: {error}");
    }
}

#[derive(Debug)]
struct StatementTimeout(Duration);

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for StatementTimeout {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        sql_query(format!("SET statement_timeout = {}", self.0.as_millis()))
            .execute(conn)
            .map(drop)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Applies pending migrations while holding an advisory lock, so that two instances starting
/// together never race. Returns the versions applied.
pub fn run_migrations(conn: &mut PgConnection) -> Result<Vec<String>, BoxError> {
    sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")).execute(conn)?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(|v| v.to_string()).collect());
    sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(conn)?;
    applied
}

/// True when every embedded migration has been applied (the readiness check).
pub fn migrations_current(conn: &mut PgConnection) -> Result<bool, BoxError> {
    Ok(conn.pending_migrations(MIGRATIONS)?.is_empty())
}

/// Connects to `url`, creating its database first when the server says it does not exist.
pub fn connect_creating_database(url: &str) -> Result<PgConnection, BoxError> {
    match PgConnection::establish(url) {
        Ok(conn) => Ok(conn),
        Err(e) if e.to_string().contains("does not exist") => {
            let (maintenance_url, name) = split_database_name(url)
                .ok_or_else(|| format!("cannot find the database name in DATABASE_URL: {e}"))?;
            let mut admin = PgConnection::establish(&maintenance_url)?;
            match sql_query(format!("CREATE DATABASE {}", quote_ident(&name))).execute(&mut admin) {
                Ok(_) => log::info!("created database {name}"),
                // Another instance created it in the meantime.
                Err(e) if e.to_string().contains("already exists") => {}
                Err(e) if e.to_string().contains("permission denied") => {
                    return Err(format!(
                        "database {name} does not exist and this role may not create it ({e}): \
                         create it once as an administrator, owned by the service's role \
                         (`createdb -O <role> {name}`), or grant the role CREATEDB"
                    )
                    .into())
                }
                Err(e) => return Err(e.into()),
            }
            Ok(PgConnection::establish(url)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Splits `postgres://user@host/name?params` into (the same URL on database `postgres`, name).
pub fn split_database_name(url: &str) -> Option<(String, String)> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://")? + 3;
    let slash = base[scheme_end..].find('/')? + scheme_end;
    let name = &base[slash + 1..];
    if name.is_empty() {
        return None;
    }
    let mut maintenance = format!("{}/postgres", &base[..slash]);
    if let Some(q) = query {
        maintenance.push('?');
        maintenance.push_str(q);
    }
    Some((maintenance, name.to_owned()))
}

/// Returns `url` pointing at database `name` instead (appending it when `url` names none).
pub fn with_database_name(url: &str, name: &str) -> Option<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://")? + 3;
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| i + scheme_end);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// Quotes an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_tcp_and_socket_urls() {
        assert_eq!(
            split_database_name("postgres://u:p@db:5432/passerelle?sslmode=disable"),
            Some((
                "postgres://u:p@db:5432/postgres?sslmode=disable".into(),
                "passerelle".into()
            ))
        );
        assert_eq!(
            split_database_name("postgresql:///passerelle?host=/tmp/run&user=postgres"),
            Some((
                "postgresql:///postgres?host=/tmp/run&user=postgres".into(),
                "passerelle".into()
            ))
        );
        assert_eq!(split_database_name("postgres://db:5432"), None);
    }

    #[test]
    fn renames_the_database() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "t1").unwrap(),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432", "t1").unwrap(),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
