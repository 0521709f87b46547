//! `AppState`: everything a request needs, built once before the server starts and handed to
//! `build_app`. Tests build their own.

use crate::{
    auth::{jwt::JwtKeys, password::PasswordHasher},
    availability::SchemaGate,
    db::DbPool,
    error::ApiError,
    jobs::mail::{mailer_from_settings, Mailer},
    offers::cache::CatalogCache,
    public_cache::{Key, PublicCache, Rendered},
    ratelimit,
    settings::Settings,
};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use std::sync::Arc;

/// The time, behind a trait so tests can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub settings: Arc<Settings>,
    pub jwt: Arc<JwtKeys>,
    pub passwords: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    /// Request counters and latencies of this instance, for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Slots for applications being received: bounds their memory.
    pub uploads: Arc<tokio::sync::Semaphore>,
    /// Applications being received, per client address (`UPLOAD_CONCURRENCY_PER_ADDRESS`).
    pub uploads_per_address: Arc<crate::applications::upload::UploadsPerAddress>,
    /// Counts and facets of the public catalogue, per catalogue version.
    pub catalog: Arc<CatalogCache>,
    /// Finished public responses, per catalogue version (`PUBLIC_CACHE_BYTES`).
    pub public: Arc<PublicCache>,
    /// SMTP when configured, else the outbox table; called by the job workers.
    pub mailer: Arc<dyn Mailer>,
    /// Open once the database schema is known to be current (see `availability`).
    pub schema: Arc<SchemaGate>,
}

impl AppState {
    pub fn new(settings: Settings, pool: DbPool) -> Result<Self, crate::settings::SettingsError> {
        let jwt = JwtKeys::new(&settings.jwt)?;
        let uploads = Arc::new(tokio::sync::Semaphore::new(
            settings.applications.upload_concurrency,
        ));
        let mailer = mailer_from_settings(&settings.mail, &pool)?;
        let public = Arc::new(PublicCache::new(
            settings.cache,
            crate::offers::model::catalog_version,
        ));
        Ok(AppState {
            pool,
            passwords: PasswordHasher::new(
                settings.password_hash_concurrency,
                settings.timeouts.request,
            ),
            jwt: Arc::new(jwt),
            settings: Arc::new(settings),
            clock: Arc::new(SystemClock),
            catalog: Arc::new(CatalogCache::default()),
            public,
            uploads,
            uploads_per_address: Arc::default(),
            metrics: Arc::default(),
            mailer,
            schema: Arc::new(SchemaGate::new(true)),
        })
    }

    /// For a server that opens before its database is migrated: API requests get 503 and
    /// job workers wait until the gate opens.
    pub fn awaiting_schema(mut self) -> Self {
        self.schema = Arc::new(SchemaGate::new(false));
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = mailer;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Counts the request under `policy` for its client address; 429 `rate_limited` with
    /// `Retry-After` when the address is over the limit. Does nothing when the policy is off.
    ///
    /// Like all database work, it fails with 503 when the database cannot be reached: every
    /// limited route needs the database anyway, so failing open would only move the 503.
    pub async fn rate_limit(
        &self,
        req: &actix_web::HttpRequest,
        policy: ratelimit::Policy,
    ) -> Result<(), ApiError> {
        let now = self.now();
        let Some(pending) = ratelimit::pending(&self.settings, req, policy, now) else {
            return Ok(());
        };
        let (bucket, window_end) = (pending.bucket.clone(), pending.window_end);
        let (hits, end) = self
            .db(move |conn| Ok(ratelimit::hit(conn, &bucket, window_end, now)?))
            .await?;
        ratelimit::counted(req, &pending, hits, end, now)
    }

    /// Runs one unit of database work on the blocking pool, never on an actix worker.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let metrics = self.metrics.clone();
        actix_web::web::block(move || {
            use std::sync::atomic::Ordering::Relaxed;
            metrics.pool_waiting.fetch_add(1, Relaxed);
            let conn = pool.get();
            metrics.pool_waiting.fetch_sub(1, Relaxed);
            let mut conn = conn?;
            work(&mut conn)
        })
        .await?
    }

    /// A public response from the cache, or rendered by `render` (given the catalogue
    /// version to tag it with) and kept. No database trip on a hit while the listener
    /// confirms the version; otherwise the version is read first, as every read did before.
    pub async fn cached<F>(&self, key: Key, render: F) -> Result<Arc<Rendered>, ApiError>
    where
        F: FnOnce(&mut PgConnection, i64) -> Result<Rendered, ApiError> + Send + 'static,
    {
        let public = self.public.clone();
        if let Some(version) = public.known_version() {
            if let Some(hit) = public.get(&key, version) {
                return Ok(hit);
            }
            return self
                .db(move |conn| {
                    let page = Arc::new(render(conn, version)?);
                    public.insert(key, version, page.clone());
                    Ok(page)
                })
                .await;
        }
        self.db(move |conn| {
            let version = public.read_version(conn)?;
            if let Some(hit) = public.get(&key, version) {
                return Ok(hit);
            }
            let page = Arc::new(render(conn, version)?);
            public.insert(key, version, page.clone());
            Ok(page)
        })
        .await
    }

    /// [`AppState::db`] for a write of offers whose `work` commits its transaction: once
    /// it has, this instance's public cache learns the new catalogue version, so its next
    /// public read shows the write (read-your-writes, whatever the listener says).
    pub async fn db_offers_write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let public = self.public.clone();
        self.db(move |conn| {
            let done = work(conn)?;
            public.committed(conn);
            Ok(done)
        })
        .await
    }
}
