//! The response cache of the public reads: finished bodies (with their ETag and content
//! type) of the offer detail, the list pages, the JSON-LD, the XML and Atom feeds and the
//! partner snapshot pages, kept per instance and tagged with the catalogue version.
//!
//! The catalogue version is a row in PostgreSQL that a trigger on `offers` moves in the same
//! transaction as any change to offers; a trigger on that row sends `NOTIFY catalog_version`
//! with the new version, delivered when the change commits. Each instance keeps the version
//! it knows in memory, so a request whose response is cached needs no database trip:
//!
//! - a listener thread holds one connection of its own (`application_name`
//!   `passerelle-cache-listener-<instance>`), `LISTEN`s, reads the notifications every
//!   50 ms (a read of its socket, no statement) and re-reads the version every half
//!   `CACHE_MAX_STALENESS_MS`, so a lost notification costs at most that bound;
//! - the known version is used only while it was confirmed by such a read within
//!   `CACHE_MAX_STALENESS_MS`; otherwise (no listener yet, listener lost, database slow)
//!   each request reads the version from the database first, as before the cache;
//! - when the listener's connection fails or is opened again, the whole cache is dropped
//!   and the version re-read;
//! - a write of offers on this instance reads the version right after its commit
//!   ([`PublicCache::committed`]), so this instance's next read shows it.
//!
//! An entry is used only for the exact version it was rendered at; a move of the version
//! also drops every entry. A body is tagged with the version known *before* its data was
//! read, so a change that lands while it renders can only make it too new for its tag, never
//! too old. Memory is bounded in bytes (`PUBLIC_CACHE_BYTES`, moka's weigher); errors are
//! never kept.

use actix_web::{web::Bytes, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::{sql_query, Connection, PgConnection, QueryResult, RunQueryDsl};
use moka::{notification::RemovalCause, sync::Cache};
use std::{
    fmt::Write,
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::SeqCst},
        Arc, OnceLock, Weak,
    },
    time::{Duration, Instant},
};

use crate::{compression, settings::CacheSettings};

/// The channel the migration `catalog_version_notify` sends the new version on.
pub const CHANNEL: &str = "catalog_version";
/// How often the listener reads the notifications that arrived.
pub const POLL: Duration = Duration::from_millis(50);
/// What an entry costs beyond its key and body (the map's node, the `Arc`, the headers).
const OVERHEAD: usize = 256;

/// What a cached body depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The route and representation: `offer`, `offers`, `jsonld`, `xml`, `atom`,
    /// `snapshot`.
    pub route: &'static str,
    /// The UTC day it is rendered for: bodies say whether an offer still takes applications.
    pub day: NaiveDate,
    /// Everything else the body depends on, normalised by the handler (parsed filters, the
    /// id or slug, the page size and cursor).
    pub params: String,
}

/// A finished response body and what its handler needs to answer with it.
#[derive(Debug)]
pub struct Rendered {
    pub body: Bytes,
    pub etag: String,
    pub content_type: &'static str,
    /// For `Last-Modified` and `If-Modified-Since` (the feeds, the JSON-LD).
    pub last_modified: Option<DateTime<Utc>>,
    /// For the `Link` of a list page.
    pub next_cursor: Option<String>,
    /// The gzip variant, made once when the body is kept ([`PublicCache::insert`]) and
    /// counted in its weight; inside `None` when it is not worth it. Not set: the body was
    /// not kept, and the gzip layer compresses it as any other response.
    gzip: OnceLock<Option<Bytes>>,
}

impl Rendered {
    /// A body whose ETag is of its own bytes.
    pub fn of_bytes(body: impl Into<Bytes>, content_type: &'static str) -> Self {
        let body = body.into();
        Rendered {
            etag: crate::http::bytes_etag(&body),
            body,
            content_type,
            last_modified: None,
            next_cursor: None,
            gzip: OnceLock::new(),
        }
    }

    /// A 200 with this body from `res` (its other headers set), carrying the kept gzip
    /// variant for the gzip layer to send when the client takes it.
    pub fn ok(&self, res: &mut HttpResponseBuilder) -> HttpResponse {
        if let Some(variant) = self.gzip.get() {
            res.extensions_mut()
                .insert(compression::Precompressed(variant.clone()));
        }
        res.content_type(self.content_type).body(self.body.clone())
    }

    /// The kept gzip variant, once made (`Some(None)`: not worth it).
    pub fn gzip(&self) -> Option<Option<&Bytes>> {
        self.gzip.get().map(Option::as_ref)
    }

    fn weight(&self, key: &Key) -> u32 {
        let bytes = key.params.len()
            + self.body.len()
            + self
                .gzip
                .get()
                .and_then(Option::as_ref)
                .map_or(0, Bytes::len)
            + self.etag.len()
            + self.next_cursor.as_ref().map_or(0, String::len)
            + OVERHEAD;
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

type Pages = Cache<Key, (i64, Arc<Rendered>)>;

/// Reads the catalogue version (the offers' model gives it: this layer knows no feature).
pub type VersionReader = fn(&mut PgConnection) -> QueryResult<i64>;

pub struct PublicCache {
    /// `None` when `PUBLIC_CACHE_BYTES` is 0.
    pages: Option<Pages>,
    budget: u64,
    staleness: Duration,
    read_version: VersionReader,
    /// The highest catalogue version this instance has seen; -1 before any.
    version: AtomicI64,
    /// When the version was last confirmed by the listener, in ms since `started`, plus 1
    /// (0: never, or not since the listener was lost).
    confirmed: AtomicU64,
    /// A confirmation that began before this (ms since `started`, plus 1) does not count:
    /// set by a local write whose version could not be read after its commit.
    barrier: AtomicU64,
    listening: AtomicBool,
    started: Instant,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: Arc<AtomicU64>,
    reconnects: AtomicU64,
    /// Bodies compressed to be kept (once each).
    compressions: AtomicU64,
    listener_name: String,
}

impl PublicCache {
    pub fn new(settings: CacheSettings, read_version: VersionReader) -> Self {
        let evictions = Arc::new(AtomicU64::new(0));
        let pages = (settings.bytes > 0).then(|| {
            let counter = evictions.clone();
            Cache::builder()
                .max_capacity(settings.bytes)
                .weigher(|key: &Key, value: &(i64, Arc<Rendered>)| value.1.weight(key))
                .eviction_listener(move |_, _, cause| {
                    if cause == RemovalCause::Size {
                        counter.fetch_add(1, SeqCst);
                    }
                })
                .build()
        });
        let mut id = [0u8; 4];
        rand::fill(&mut id);
        PublicCache {
            pages,
            budget: settings.bytes,
            staleness: settings.max_staleness,
            read_version,
            version: AtomicI64::new(-1),
            confirmed: AtomicU64::new(0),
            barrier: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            started: Instant::now(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions,
            reconnects: AtomicU64::new(0),
            compressions: AtomicU64::new(0),
            listener_name: format!("passerelle-cache-listener-{}", hex::encode(id)),
        }
    }

    /// The `application_name` of this instance's listener connection.
    pub fn listener_name(&self) -> &str {
        &self.listener_name
    }

    /// Whether the listener is connected and has confirmed the version recently.
    pub fn is_listening(&self) -> bool {
        self.known_version().is_some()
    }

    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_millis())
            .unwrap_or(u64::MAX - 1)
            + 1
    }

    /// The version to serve from without asking the database: the listener is up and
    /// confirmed it less than `CACHE_MAX_STALENESS_MS` ago. `None`: read it per request.
    pub fn known_version(&self) -> Option<i64> {
        if !self.listening.load(SeqCst) {
            return None;
        }
        let confirmed = self.confirmed.load(SeqCst);
        if confirmed == 0 || confirmed <= self.barrier.load(SeqCst) {
            return None;
        }
        let age = self.ms(Instant::now()).saturating_sub(confirmed);
        let version = self.version.load(SeqCst);
        (u128::from(age) < self.staleness.as_millis() && version >= 0).then_some(version)
    }

    /// The cached response for `key` rendered at `version`, if any (counted).
    pub fn get(&self, key: &Key, version: i64) -> Option<Arc<Rendered>> {
        let pages = self.pages.as_ref()?;
        match pages.get(key) {
            Some((v, page)) if v == version => {
                self.hits.fetch_add(1, SeqCst);
                Some(page)
            }
            _ => {
                self.misses.fetch_add(1, SeqCst);
                None
            }
        }
    }

    /// Keeps `page` for `key` at `version`, with its gzip variant made now (called off the
    /// async workers, where the page was rendered): not when the version has moved on
    /// since, nor a page heavier than half the budget, both variants counted (it would push
    /// out everything else).
    pub fn insert(&self, key: Key, version: i64, page: Arc<Rendered>) {
        let Some(pages) = &self.pages else { return };
        let too_heavy = |page: &Rendered| u64::from(page.weight(&key)) > self.budget / 2;
        if version < self.version.load(SeqCst) || too_heavy(&page) {
            return;
        }
        page.gzip.get_or_init(|| {
            let variant = compression::precompress(page.content_type, &page.body);
            if variant.is_some() {
                self.compressions.fetch_add(1, SeqCst);
            }
            variant
        });
        if too_heavy(&page) {
            return;
        }
        pages.insert(key, (version, page));
    }

    /// A version read from the database or a notification: a higher one drops every entry.
    pub fn observe(&self, version: i64) {
        let before = self.version.fetch_max(version, SeqCst);
        if version > before {
            self.drop_all();
        }
    }

    /// Reads the version (a request while the listener is not confirmed), noting it.
    pub fn read_version(&self, conn: &mut PgConnection) -> QueryResult<i64> {
        let version = (self.read_version)(conn)?;
        self.observe(version);
        Ok(version)
    }

    /// After a write of offers on this instance has committed, on the same connection:
    /// the next read here is of the new version. Never fails the write: when the version
    /// cannot be read, reads go to the database until the listener confirms it again.
    pub fn committed(&self, conn: &mut PgConnection) {
        let now = self.ms(Instant::now());
        match (self.read_version)(conn) {
            Ok(version) => self.observe(version),
            Err(e) => {
                log::warn!("catalogue version unreadable after a write: {e}");
                self.barrier.fetch_max(now, SeqCst);
                self.drop_all();
            }
        }
    }

    fn drop_all(&self) {
        if let Some(pages) = &self.pages {
            pages.invalidate_all();
        }
    }

    /// The listener (re)connected and read `version` (at `read_at` or later).
    fn reset(&self, version: i64, read_at: Instant) {
        self.version.store(version, SeqCst);
        self.drop_all();
        self.confirm(read_at);
        self.listening.store(true, SeqCst);
    }

    /// The listener lost its connection: every entry goes, reads ask the database again.
    fn lost(&self) {
        self.listening.store(false, SeqCst);
        self.confirmed.store(0, SeqCst);
        self.drop_all();
    }

    /// Every change committed before `read_at` is reflected in the known version.
    fn confirm(&self, read_at: Instant) {
        self.confirmed.fetch_max(self.ms(read_at), SeqCst);
    }

    /// The bytes the entries weigh now (after moka's pending maintenance).
    pub fn weighted_size(&self) -> u64 {
        self.pages.as_ref().map_or(0, |p| {
            p.run_pending_tasks();
            p.weighted_size()
        })
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// (hits, misses, evictions) since start.
    pub fn counters(&self) -> (u64, u64, u64) {
        (
            self.hits.load(SeqCst),
            self.misses.load(SeqCst),
            self.evictions.load(SeqCst),
        )
    }

    /// The cache's lines of `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        let (hits, misses, evictions) = self.counters();
        let (bytes, entries) = self.pages.as_ref().map_or((0, 0), |p| {
            p.run_pending_tasks();
            (p.weighted_size(), p.entry_count())
        });
        let _ = writeln!(
            out,
            "# HELP passerelle_public_cache_lookups_total Lookups of the public response cache, by result.\n\
             # TYPE passerelle_public_cache_lookups_total counter\n\
             passerelle_public_cache_lookups_total{{result=\"hit\"}} {hits}\n\
             passerelle_public_cache_lookups_total{{result=\"miss\"}} {misses}\n\
             # HELP passerelle_public_cache_evictions_total Responses evicted to stay within PUBLIC_CACHE_BYTES.\n\
             # TYPE passerelle_public_cache_evictions_total counter\n\
             passerelle_public_cache_evictions_total {evictions}\n\
             # HELP passerelle_public_cache_compressions_total Cached bodies compressed with gzip, once each when kept; a hit sends the kept variant.\n\
             # TYPE passerelle_public_cache_compressions_total counter\n\
             passerelle_public_cache_compressions_total {}\n\
             # HELP passerelle_public_cache_bytes What the cached responses weigh (keys, bodies and their gzip variants).\n\
             # TYPE passerelle_public_cache_bytes gauge\n\
             passerelle_public_cache_bytes {bytes}\n\
             passerelle_public_cache_budget_bytes {}\n\
             passerelle_public_cache_entries {entries}\n\
             # HELP passerelle_public_cache_listener_up 1 while the catalogue version is known without a database trip per request.\n\
             # TYPE passerelle_public_cache_listener_up gauge\n\
             passerelle_public_cache_listener_up {}\n\
             # HELP passerelle_public_cache_listener_connects_total Connections the version listener opened.\n\
             # TYPE passerelle_public_cache_listener_connects_total counter\n\
             passerelle_public_cache_listener_connects_total {}",
            self.compressions.load(SeqCst),
            self.budget,
            u8::from(self.is_listening()),
            self.reconnects.load(SeqCst),
        );
    }
}

/// Starts the listener thread of `cache` on the database at `url`. It ends once the cache
/// is dropped (the state of a server or a test that ended).
pub fn spawn_listener(cache: &Arc<PublicCache>, url: String) -> std::io::Result<()> {
    let weak = Arc::downgrade(cache);
    std::thread::Builder::new()
        .name("cache-listener".into())
        .spawn(move || listen(&weak, &url))
        .map(drop)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn listen(cache: &Weak<PublicCache>, url: &str) {
    let mut failures = 0u32;
    loop {
        let outcome = follow(cache, url, &mut failures);
        let Some(c) = cache.upgrade() else { return };
        c.lost();
        match outcome {
            Ok(()) => return,
            Err(e) if failures == 0 => {
                log::warn!("catalogue version listener lost ({e}); reads ask the database until it is back");
            }
            Err(e) => log::debug!("catalogue version listener: {e}"),
        }
        drop(c);
        failures = failures.saturating_add(1);
        let backoff = Duration::from_millis(100u64 << failures.min(6)).min(Duration::from_secs(5));
        std::thread::sleep(backoff);
    }
}

/// One connection's life: `Ok` when the cache is gone, `Err` when the connection failed.
fn follow(cache: &Weak<PublicCache>, url: &str, failures: &mut u32) -> Result<(), BoxError> {
    let (name, staleness) = match cache.upgrade() {
        Some(c) => (c.listener_name.clone(), c.staleness),
        None => return Ok(()),
    };
    let mut conn = PgConnection::establish(url)?;
    // The name is ours (hex), safe to inline.
    sql_query(format!("SET application_name = '{name}'")).execute(&mut conn)?;
    sql_query("SET statement_timeout = 5000").execute(&mut conn)?;
    sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn)?;
    let mut read_at = Instant::now();
    {
        let Some(c) = cache.upgrade() else {
            return Ok(());
        };
        let version = (c.read_version)(&mut conn)?;
        c.reconnects.fetch_add(1, SeqCst);
        c.reset(version, read_at);
    }
    if *failures > 0 {
        log::info!("catalogue version listener back");
    }
    *failures = 0;
    loop {
        std::thread::sleep(POLL);
        let Some(c) = cache.upgrade() else {
            return Ok(());
        };
        for notification in conn.notifications_iter() {
            let notification = notification?;
            match notification.payload.parse::<i64>() {
                Ok(version) if notification.channel == CHANNEL => c.observe(version),
                // Not ours to read: the next confirmation below settles it.
                _ => {}
            }
        }
        if read_at.elapsed() >= staleness / 2 {
            let at = Instant::now();
            let version = (c.read_version)(&mut conn)?;
            c.observe(version);
            c.confirm(at);
            read_at = at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: &mut PgConnection) -> QueryResult<i64> {
        Err(diesel::result::Error::NotFound)
    }

    fn cache(bytes: u64) -> PublicCache {
        PublicCache::new(
            CacheSettings {
                bytes,
                max_staleness: Duration::from_millis(1000),
            },
            never,
        )
    }

    fn key(route: &'static str, params: &str) -> Key {
        Key {
            route,
            day: NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
            params: params.to_owned(),
        }
    }

    fn page(bytes: usize) -> Arc<Rendered> {
        Arc::new(Rendered::of_bytes(vec![b'x'; bytes], "application/json"))
    }

    #[test]
    fn an_entry_serves_only_its_key_day_and_version() {
        let c = cache(1 << 20);
        c.observe(7);
        c.insert(key("offer", "a"), 7, page(10));
        assert!(c.get(&key("offer", "a"), 7).is_some());
        assert!(c.get(&key("jsonld", "a"), 7).is_none(), "another route");
        assert!(c.get(&key("offer", "b"), 7).is_none(), "another id");
        let mut tomorrow = key("offer", "a");
        tomorrow.day = tomorrow.day.succ_opt().unwrap();
        assert!(c.get(&tomorrow, 7).is_none(), "another day");
        assert!(c.get(&key("offer", "a"), 8).is_none(), "another version");
        assert_eq!(c.counters(), (1, 4, 0));
        // A higher version drops everything; an older one is not kept.
        c.observe(8);
        assert!(c.get(&key("offer", "a"), 7).is_none());
        c.insert(key("offer", "a"), 7, page(10));
        assert_eq!(c.weighted_size(), 0, "a body of an old version is not kept");
        // A lower version read late does not move the known one back.
        c.observe(5);
        assert_eq!(c.version.load(SeqCst), 8);
    }

    #[test]
    fn the_weight_in_bytes_stays_within_the_budget() {
        let budget = 64 * 1024;
        let c = cache(budget);
        c.observe(1);
        for i in 0..2_000 {
            c.insert(key("offers", &format!("q={i}")), 1, page(500 + i % 700));
        }
        let size = c.weighted_size();
        assert!(size <= budget, "{size} > {budget}");
        assert!(size > budget / 2, "the budget is used: {size}");
        assert!(c.counters().2 > 0, "evictions are counted");
        // Half the budget or more is never kept.
        c.insert(key("xml", ""), 1, page(budget as usize / 2));
        assert!(c.get(&key("xml", ""), 1).is_none());
        let mut out = String::new();
        c.render_metrics(&mut out);
        assert!(
            out.contains("passerelle_public_cache_evictions_total "),
            "{out}"
        );
        assert!(out.contains(&format!("passerelle_public_cache_budget_bytes {budget}")));
    }

    #[test]
    fn off_keeps_nothing() {
        let c = cache(0);
        c.observe(1);
        c.insert(key("offer", "a"), 1, page(10));
        assert!(c.get(&key("offer", "a"), 1).is_none());
        assert_eq!(c.counters(), (0, 0, 0));
    }

    #[test]
    fn the_version_is_known_only_while_confirmed_within_the_bound() {
        let c = PublicCache::new(
            CacheSettings {
                bytes: 1 << 20,
                max_staleness: Duration::from_millis(150),
            },
            never,
        );
        assert_eq!(c.known_version(), None, "no listener yet");
        c.reset(3, Instant::now());
        assert_eq!(c.known_version(), Some(3));
        c.observe(4);
        assert_eq!(c.known_version(), Some(4));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(c.known_version(), None, "not confirmed within the bound");
        c.confirm(Instant::now());
        assert_eq!(c.known_version(), Some(4));
        // A write whose version could not be read: confirmations from before it are void.
        let before = Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        let conn_less = || c.barrier.fetch_max(c.ms(Instant::now()), SeqCst);
        conn_less();
        c.confirm(before);
        assert_eq!(c.known_version(), None);
        std::thread::sleep(Duration::from_millis(5));
        c.confirm(Instant::now());
        assert_eq!(c.known_version(), Some(4));
        c.lost();
        assert_eq!(c.known_version(), None, "listener lost");
    }
}
