//! `AppState`: everything a request needs, built once before the server starts and handed to
//! `build_app`. Tests build their own.

use crate::{
    auth::{jwt::JwtKeys, password::PasswordHasher},
    availability::SchemaGate,
    db::DbPool,
    error::ApiError,
    jobs::{mail::Mailer, outbox::mailer_from_settings},
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
    /// The in-process counts of the `reads` and `search` rate limits (`ratelimit::batched`).
    pub limiter: Arc<ratelimit::batched::Batched>,
    /// The FIFO queue in front of the pool: one permit per pooled connection (see `db`).
    pub db_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(settings: Settings, pool: DbPool) -> Result<Self, crate::settings::SettingsError> {
        let jwt = JwtKeys::new(&settings.jwt)?;
        let uploads = Arc::new(tokio::sync::Semaphore::new(
            settings.applications.upload_concurrency,
        ));
        let mailer = mailer_from_settings(&settings.mail, &pool)?;
        let limiter = Arc::new(ratelimit::batched::Batched::new(pool.clone()));
        let db_slots = Arc::new(tokio::sync::Semaphore::new(
            usize::try_from(pool.max_size()).unwrap_or(1),
        ));
        let public = Arc::new(PublicCache::new(
            settings.cache,
            crate::offers::model::catalog_version,
        ));
        Ok(AppState {
            limiter,
            db_slots,
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

    /// The city's calendar (`CITY_TIME_ZONE`): every date rule is a day there.
    pub fn calendar(&self) -> &crate::calendar::CityCalendar {
        &self.settings.calendar.zone
    }

    /// The city's date now.
    pub fn today(&self) -> chrono::NaiveDate {
        self.calendar().today(self.now())
    }

    /// Counts the request under `policy` for its client address; 429 `rate_limited` with
    /// `Retry-After` when the address is over the limit. Does nothing when the policy is off.
    ///
    /// `reads` and `search` are counted in-process when they can ([`ratelimit::batched`]:
    /// no database trip, shared with the other instances within a documented bound); the
    /// others, and a batched request that must be counted exactly, make one upsert. That one
    /// fails with 503 when the database cannot be reached, like all database work.
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
        if !policy.is_batched() {
            let (hits, end) = self
                .db(move |conn| Ok(ratelimit::hit(conn, &bucket, window_end, now)?))
                .await?;
            return ratelimit::counted(req, &pending, hits, end, now);
        }
        let limiter = &self.limiter;
        let carried = match limiter.local(&bucket, window_end, pending.rule.limit, now) {
            ratelimit::batched::Local::Counted { hits, end } => {
                let hits = i32::try_from(hits).unwrap_or(i32::MAX);
                return ratelimit::counted(req, &pending, hits, end, now);
            }
            ratelimit::batched::Local::Exact { carried } => carried,
        };
        let n = i32::try_from(carried)
            .unwrap_or(i32::MAX - 1)
            .saturating_add(1);
        let counted = self
            .db(move |conn| Ok(ratelimit::hits(conn, &bucket, window_end, now, n)?))
            .await;
        match counted {
            Ok((hits, end)) => {
                limiter.counted_exactly(&pending.bucket, window_end, carried, hits, end);
                ratelimit::counted(req, &pending, hits, end, now)
            }
            Err(e) => {
                limiter.failed_exactly(&pending.bucket, window_end, carried);
                Err(e)
            }
        }
    }

    /// Runs one unit of database work on the blocking pool, never on an actix worker.
    ///
    /// Units wait for a connection in arrival order: a FIFO semaphore with as many permits
    /// as the pool has connections is acquired here, on the async side, and held until the
    /// work returns (r2d2 alone hands connections out unfairly: a few requests waited
    /// hundreds of milliseconds while later ones went first). Waiting longer than
    /// `DATABASE_TIMEOUT_SECONDS` for it, or for the connection, is the same 503
    /// `database_unavailable`.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let timeout = self.settings.database_timeout;
        let started = std::time::Instant::now();
        let waiting = Waiting::new(self.metrics.clone());
        let permit =
            match tokio::time::timeout(timeout, self.db_slots.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) | Err(_) => {
                    log::warn!("database pool: no connection within {timeout:?} (queued)");
                    return Err(ApiError::database_unavailable(
                        "The database is unreachable; try again shortly.",
                    ));
                }
            };
        actix_web::web::block(move || {
            let left = timeout
                .saturating_sub(started.elapsed())
                .max(std::time::Duration::from_millis(1));
            let conn = pool.get_timeout(left);
            drop(waiting);
            let mut conn = conn?;
            let out = work(&mut conn);
            drop(conn);
            drop(permit);
            out
        })
        .await?
    }

    /// A public response from the cache, or rendered by `render` (given the catalogue
    /// version to tag it with) and kept. No database trip on a hit while the listener
    /// confirms the version; otherwise the version is read first, as every read did before.
    /// A page rendered here is kept with its gzip variant, compressed once after its
    /// connection went back to the pool.
    pub async fn cached<F>(&self, key: Key, render: F) -> Result<Arc<Rendered>, ApiError>
    where
        F: FnOnce(&mut PgConnection, i64) -> Result<Rendered, ApiError> + Send + 'static,
    {
        let public = self.public.clone();
        let rendered = if let Some(version) = public.known_version() {
            if let Some(hit) = public.get(&key, version) {
                return Ok(hit);
            }
            self.db(move |conn| Ok((Arc::new(render(conn, version)?), version)))
                .await?
        } else {
            let lookup = key.clone();
            let found = self
                .db(move |conn| {
                    let version = public.read_version(conn)?;
                    if let Some(hit) = public.get(&lookup, version) {
                        return Ok(Err(hit));
                    }
                    Ok(Ok((Arc::new(render(conn, version)?), version)))
                })
                .await?;
            match found {
                Ok(rendered) => rendered,
                Err(hit) => return Ok(hit),
            }
        };
        let (page, version) = rendered;
        if self.public.budget() > 0 {
            let (public, kept) = (self.public.clone(), page.clone());
            actix_web::web::block(move || public.insert(key, version, kept)).await?;
        }
        Ok(page)
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

/// One unit of work waiting for a database connection (the `pool_waiting` gauge of
/// `/metrics`), from its arrival in the queue until it holds a connection or gives up.
struct Waiting(Arc<crate::metrics::Metrics>);

impl Waiting {
    fn new(metrics: Arc<crate::metrics::Metrics>) -> Self {
        metrics
            .pool_waiting
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(metrics)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0
            .pool_waiting
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}
