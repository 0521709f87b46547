//! The `reads` and `search` policies counted in-process and reconciled with PostgreSQL in
//! batches, so that a request of the public catalogue makes no database trip for its rate
//! limit, while every instance still shares one budget per client.
//!
//! Each instance keeps, per bucket and window: `known`, the cluster-wide count PostgreSQL
//! last returned to it (all instances' hits then sent), and its own `pending` hits not yet
//! reflected there (`unsent`, and `inflight` in a statement not yet returned). A request is:
//!
//! - **admitted locally** when `known` is set for this window and `pending <
//!   allowance(limit, known) = min(BATCH, (limit − known) / SHARE)`: it counts as `known +
//!   pending + 1` in the headers, which is below the limit;
//! - **refused locally** (429) when `known >= limit`: counts only grow within a window, so the
//!   cluster is over the limit whatever the others did since;
//! - otherwise **counted exactly**: one upsert ([`super::hits`]) adding this request and the
//!   instance's unsent hits of the bucket, as the exact policies do. That is every request
//!   once what is left of the budget is small (below `SHARE` hits, so small limits are
//!   exact), a request that finds its allowance of hits pending, and, for budgets under
//!   [`START_LOCALLY_FROM`] (512), the first request of a client in a window on this instance
//!   (larger budgets start a new client at `known = 0`, [`starting_count`]).
//!
//! A dedicated thread ([`Batched::flush`]) sends every bucket's unsent hits every
//! [`FLUSH_INTERVAL`] (sooner when a bucket has half its allowance unsent) in ONE statement
//! (`INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE … RETURNING`), and takes the counts
//! it returns as the new `known`. A failed flush puts the hits back to be sent with the next
//! one (nothing is lost); the fast path goes on until a bucket's allowance is used up, then
//! its requests need the database like any other work (503 when it is down, never a 500).
//!
//! **The bound.** At any moment an instance has at most `allowance ≤ min(BATCH, ⌊limit /
//! SHARE⌋)` hits of a bucket that PostgreSQL has not counted, and once PostgreSQL's count
//! reached the limit an instance admits locally only until its next statement returns (which
//! tells it `known ≥ limit`). Requests counted exactly are admitted only while PostgreSQL's
//! count, including them, is within the limit. So the hits admitted across the cluster in one
//! window for one client are at most
//!
//! ```text
//! limit + instances × min(BATCH, ⌊limit / SHARE⌋)      (BATCH = 1024, SHARE = 8)
//! ```
//!
//! e.g. 600 reads a minute on 2 instances: at most 600 + 2 × 75 = 750; a limit below
//! `SHARE` (8) is exact. In practice the overshoot is also bounded by what a client sends in
//! one flush interval to each instance.
//!
//! Memory: one entry per client seen in a live window (ended windows are dropped at each
//! flush), at most [`MAX_KEYS`]; beyond that, new clients are counted exactly per request.

use super::{cleans_up, forget_ended, CLEANUP_BATCH};
use crate::db::DbPool;
use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, Bytea, Int4, Timestamptz},
    PgConnection,
};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc, Condvar, Mutex, Weak,
    },
    time::Duration,
};

/// At most this many hits of one bucket pending per instance (unsent or in flight). Large
/// enough that one busy client (a crawler, a city's NAT) at tens of thousands of requests a
/// second still costs a flush every few hundred requests, not an upsert each; budgets under
/// `SHARE × BATCH` (8,192 a window, the defaults included) are capped by their eighth instead.
pub const BATCH: u32 = 1024;
/// From this budget up a client new to an instance starts at `known = 0` (no trip); under
/// it, its first request in a window is counted exactly.
pub const START_LOCALLY_FROM: u32 = 512;
/// An instance takes at most this fraction (1/SHARE) of what is left of a budget locally.
pub const SHARE: u32 = 8;
/// How often the unsent hits are sent.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(250);
/// Buckets tracked in-process at most; new clients beyond that are counted per request.
pub const MAX_KEYS: usize = 100_000;

/// What a request of a batched policy is, given what its instance knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Admitted without a database trip; the request is the `hits`-th of the window.
    Admit { hits: i64 },
    /// Over the limit, known without a database trip.
    Refuse { hits: i64 },
    /// Counted by one upsert, as the exact policies are.
    Exact,
}

/// How many hits of a bucket an instance may hold without PostgreSQL counting them, when
/// the cluster count it last saw is `known`.
pub fn allowance(limit: u32, known: i64) -> u32 {
    let left = (i64::from(limit) - known).max(0);
    u32::try_from(left / i64::from(SHARE))
        .unwrap_or(u32::MAX)
        .min(BATCH)
}

/// What an instance assumes of a client it has not counted yet in a window: 0 (a lower bound
/// of the cluster's count, so the bound holds) when the budget is at least
/// [`START_LOCALLY_FROM`] (512; the default `reads` is 600), so that a new client costs no database trip either;
/// `None` for smaller budgets, whose new clients are counted exactly (exact headers from
/// the first request where a budget is small).
pub fn starting_count(limit: u32) -> Option<i64> {
    (limit >= START_LOCALLY_FROM).then_some(0)
}

/// The admission arithmetic: `known` is the cluster-wide count last returned by PostgreSQL
/// for this window (`None`: not yet seen on this instance), `pending` this instance's hits
/// not reflected in it.
pub fn decide(known: Option<i64>, pending: u32, limit: u32) -> Decision {
    let Some(known) = known else {
        return Decision::Exact;
    };
    let hits = known + i64::from(pending) + 1;
    if known >= i64::from(limit) {
        Decision::Refuse { hits }
    } else if pending < allowance(limit, known) {
        Decision::Admit { hits }
    } else {
        Decision::Exact
    }
}

#[derive(Clone, Copy, Debug)]
struct Counter {
    /// The window this instance computed (the entry's identity).
    window: DateTime<Utc>,
    /// The end PostgreSQL answered (later than `window` when another instance's clock is ahead).
    end: DateTime<Utc>,
    known: Option<i64>,
    unsent: u32,
    inflight: u32,
}

impl Counter {
    fn new(window: DateTime<Utc>, known: Option<i64>) -> Self {
        Counter {
            window,
            end: window,
            known,
            unsent: 0,
            inflight: 0,
        }
    }

    fn pending(&self) -> u32 {
        self.unsent.saturating_add(self.inflight)
    }

    /// A statement that carried `sent` hits of this window returned `hits` and `end`.
    fn returned(&mut self, sent: u32, hits: i64, end: DateTime<Utc>) {
        self.inflight = self.inflight.saturating_sub(sent);
        self.known = Some(self.known.map_or(hits, |k| k.max(hits)));
        self.end = self.end.max(end);
    }
}

/// What [`Batched::local`] tells the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local {
    /// Decided in-process: the request's place in the window and the window's end.
    Counted { hits: i64, end: DateTime<Utc> },
    /// Count it with one upsert of `1 + carried` hits, then call [`Batched::counted_exactly`]
    /// (or [`Batched::failed_exactly`]).
    Exact { carried: u32 },
}

struct Shared {
    counters: Mutex<HashMap<Vec<u8>, Counter>>,
    pool: DbPool,
    /// The latest time a request saw (the app's clock, which tests move): windows ended
    /// before it are dropped.
    /// As Unix microseconds, `i64::MIN` before the first request: kept with one atomic
    /// `fetch_max`, so the hot path takes no lock for it.
    latest: AtomicI64,
    failures: std::sync::atomic::AtomicU64,
    /// The background flushes are paused ([`Batched::hold_background_flush`]).
    held: std::sync::atomic::AtomicBool,
}

/// Wakes the flush thread early; shared with it apart from [`Shared`], so that the thread
/// can wait without keeping the limiter alive.
#[derive(Default)]
struct Wake {
    due: Mutex<bool>,
    cond: Condvar,
}

/// The in-process side of the batched policies; one per `AppState` (all workers of a server).
pub struct Batched {
    shared: Arc<Shared>,
    wake: Arc<Wake>,
    thread: std::sync::Once,
}

impl Batched {
    pub fn new(pool: DbPool) -> Self {
        Batched {
            shared: Arc::new(Shared {
                counters: Mutex::default(),
                pool,
                latest: AtomicI64::new(i64::MIN),
                failures: Default::default(),
                held: Default::default(),
            }),
            wake: Arc::default(),
            thread: std::sync::Once::new(),
        }
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Counter>> {
        self.shared
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a request of `bucket` in its window ending at `window` (as this instance
    /// computes it) under `limit`, in-process when it can.
    pub fn local(
        &self,
        bucket: &[u8],
        window: DateTime<Utc>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Local {
        self.shared
            .latest
            .fetch_max(now.timestamp_micros(), Ordering::Relaxed);
        let start = starting_count(limit);
        let mut counters = self.counters();
        if start.is_some() && !counters.contains_key(bucket) && counters.len() < MAX_KEYS {
            counters.insert(bucket.to_vec(), Counter::new(window, start));
        }
        let Some(c) = counters.get_mut(bucket) else {
            return Local::Exact { carried: 0 };
        };
        if c.window < window {
            // A new window: what the old one counted no longer matters.
            *c = Counter::new(window, start);
        } else if c.window > window {
            // This request computed an older window than another did (now moved back):
            // count it exactly, leaving the entry alone.
            return Local::Exact { carried: 0 };
        }
        match decide(c.known, c.pending(), limit) {
            decision @ (Decision::Admit { hits } | Decision::Refuse { hits }) => {
                c.unsent = c.unsent.saturating_add(1);
                // Half the allowance pending: flush now rather than make the requests that
                // use up the rest count exactly. (Refused hits wait for the next interval.)
                let allowed = c.known.map_or(0, |known| allowance(limit, known));
                let early =
                    matches!(decision, Decision::Admit { .. }) && c.unsent >= (allowed / 2).max(1);
                let end = c.end;
                drop(counters);
                if early {
                    self.wake_flusher();
                }
                self.start_flusher();
                Local::Counted { hits, end }
            }
            Decision::Exact => {
                let carried = c.unsent;
                c.unsent = 0;
                c.inflight = c.inflight.saturating_add(carried + 1);
                Local::Exact { carried }
            }
        }
    }

    /// The upsert of a [`Local::Exact`] returned `hits` and `end`: the new known count.
    pub fn counted_exactly(
        &self,
        bucket: &[u8],
        window: DateTime<Utc>,
        carried: u32,
        hits: i32,
        end: DateTime<Utc>,
    ) {
        let mut counters = self.counters();
        let len = counters.len();
        match counters.get_mut(bucket) {
            Some(c) if c.window == window => c.returned(carried + 1, i64::from(hits), end),
            Some(_) => {}
            None if len < MAX_KEYS => {
                let mut c = Counter::new(window, None);
                c.returned(0, i64::from(hits), end);
                counters.insert(bucket.to_vec(), c);
            }
            None => {}
        }
    }

    /// The upsert of a [`Local::Exact`] failed: the hits it carried are sent later.
    pub fn failed_exactly(&self, bucket: &[u8], window: DateTime<Utc>, carried: u32) {
        let mut counters = self.counters();
        if let Some(c) = counters.get_mut(bucket) {
            if c.window == window {
                c.inflight = c.inflight.saturating_sub(carried + 1);
                c.unsent = c.unsent.saturating_add(carried);
            }
        }
    }

    /// Hits counted here and not yet sent, over all buckets (for tests and `/metrics`).
    pub fn unsent(&self) -> u64 {
        self.counters().values().map(|c| u64::from(c.unsent)).sum()
    }

    /// Flushes that failed since the start.
    pub fn failures(&self) -> u64 {
        self.shared
            .failures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Buckets tracked in-process.
    pub fn tracked(&self) -> usize {
        self.counters().len()
    }

    /// Sends every bucket's unsent hits in one statement and takes the counts it returns;
    /// drops the ended windows first. On failure the hits stay to be sent next time. Blocks
    /// (a pooled connection): call it from a thread of its own or the blocking pool.
    pub fn flush(&self) -> Result<usize, crate::db::BoxError> {
        flush(&self.shared)
    }

    /// Pauses (or resumes) the background flushes; [`Batched::flush`] still works. For tests
    /// that need to see what is counted in-process before it is sent.
    pub fn hold_background_flush(&self, held: bool) {
        self.shared
            .held
            .store(held, std::sync::atomic::Ordering::Relaxed);
    }

    fn wake_flusher(&self) {
        let mut due = self.wake.due.lock().unwrap_or_else(|p| p.into_inner());
        *due = true;
        self.wake.cond.notify_one();
    }

    /// The flush thread, started with the first hit counted in-process; it ends within a
    /// flush interval once the limiter is dropped.
    fn start_flusher(&self) {
        self.thread.call_once(|| {
            let shared = Arc::downgrade(&self.shared);
            let wake = self.wake.clone();
            let started = std::thread::Builder::new()
                .name("ratelimit-flush".into())
                .spawn(move || flush_loop(&shared, &wake));
            if let Err(e) = started {
                log::error!("rate limit: cannot start the flush thread: {e}");
            }
        });
    }
}

fn flush_loop(shared: &Weak<Shared>, wake: &Wake) {
    loop {
        {
            let due = wake.due.lock().unwrap_or_else(|p| p.into_inner());
            let (mut due, _) = wake
                .cond
                .wait_timeout_while(due, FLUSH_INTERVAL, |due| !*due)
                .unwrap_or_else(|p| p.into_inner());
            *due = false;
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.held.load(std::sync::atomic::Ordering::Relaxed) {
            continue;
        }
        if let Err(e) = flush(&shared) {
            let failures = shared
                .failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // Once in 40 failures (every half a minute or so while the database is down).
            if failures % 40 == 0 {
                log::warn!(
                    "rate limit: the counts could not be sent (kept for the next time): {e}"
                );
            }
            // Back off a little while the database is down.
            drop(shared);
            std::thread::sleep(FLUSH_INTERVAL);
        }
    }
}

#[derive(QueryableByName)]
struct Returned {
    #[diesel(sql_type = Bytea)]
    bucket: Vec<u8>,
    #[diesel(sql_type = Int4)]
    hits: i32,
    #[diesel(sql_type = Timestamptz)]
    window_end: DateTime<Utc>,
}

/// One statement for all the buckets: the same arithmetic as [`super::hits`], per row.
const FLUSH_SQL: &str = "\
    INSERT INTO rate_limit_counters AS c (bucket, window_end, hits) \
    SELECT * FROM unnest($1::bytea[], $2::timestamptz[], $3::int4[]) \
    ON CONFLICT (bucket) DO UPDATE SET \
        hits = CASE WHEN c.window_end < EXCLUDED.window_end THEN EXCLUDED.hits \
               ELSE LEAST(c.hits, 2147483647 - EXCLUDED.hits) + EXCLUDED.hits END, \
        window_end = GREATEST(c.window_end, EXCLUDED.window_end) \
    RETURNING c.bucket, c.hits, c.window_end";

fn flush(shared: &Shared) -> Result<usize, crate::db::BoxError> {
    let latest = match shared.latest.load(Ordering::Relaxed) {
        i64::MIN => None,
        micros => DateTime::from_timestamp_micros(micros),
    };
    // Take the unsent hits (they are in flight now).
    let mut batch: Vec<(Vec<u8>, DateTime<Utc>, u32)> = Vec::new();
    {
        let mut counters = shared.counters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(now) = latest {
            counters.retain(|_, c| c.window >= now);
        }
        for (bucket, c) in counters.iter_mut() {
            if c.unsent > 0 {
                batch.push((bucket.clone(), c.window, c.unsent));
                c.inflight = c.inflight.saturating_add(c.unsent);
                c.unsent = 0;
            }
        }
    }
    if batch.is_empty() {
        return Ok(0);
    }
    let sent = send(&shared.pool, &batch, latest);
    let mut counters = shared.counters.lock().unwrap_or_else(|p| p.into_inner());
    match sent {
        Ok(rows) => {
            let windows: HashMap<&[u8], (DateTime<Utc>, u32)> = batch
                .iter()
                .map(|(b, w, n)| (b.as_slice(), (*w, *n)))
                .collect();
            for row in rows {
                let (Some(&(window, n)), Some(c)) = (
                    windows.get(row.bucket.as_slice()),
                    counters.get_mut(&row.bucket),
                ) else {
                    continue;
                };
                if c.window == window {
                    c.returned(n, i64::from(row.hits), row.window_end);
                }
            }
            Ok(batch.len())
        }
        Err(e) => {
            for (bucket, window, n) in &batch {
                if let Some(c) = counters.get_mut(bucket) {
                    if c.window == *window {
                        c.inflight = c.inflight.saturating_sub(*n);
                        c.unsent = c.unsent.saturating_add(*n);
                    }
                }
            }
            Err(e)
        }
    }
}

fn send(
    pool: &DbPool,
    batch: &[(Vec<u8>, DateTime<Utc>, u32)],
    now: Option<DateTime<Utc>>,
) -> Result<Vec<Returned>, crate::db::BoxError> {
    let mut conn = pool.get()?;
    let buckets: Vec<&[u8]> = batch.iter().map(|(b, _, _)| b.as_slice()).collect();
    let windows: Vec<DateTime<Utc>> = batch.iter().map(|(_, w, _)| *w).collect();
    let hits: Vec<i32> = batch
        .iter()
        .map(|(_, _, n)| i32::try_from(*n).unwrap_or(i32::MAX))
        .collect();
    let rows: Vec<Returned> = diesel::sql_query(FLUSH_SQL)
        .bind::<Array<Bytea>, _>(&buckets)
        .bind::<Array<Timestamptz>, _>(&windows)
        .bind::<Array<Int4>, _>(&hits)
        .load(&mut conn)?;
    // New windows take their turn cleaning up ended ones, as with the exact policies.
    if let Some(now) = now {
        let sweeps = rows.iter().any(|r| {
            batch
                .iter()
                .any(|(b, _, n)| *b == r.bucket && i64::from(r.hits) == i64::from(*n))
                && cleans_up(&r.bucket, r.window_end)
        });
        if sweeps {
            sweep(&mut conn, now)?;
        }
    }
    Ok(rows)
}

fn sweep(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    forget_ended(conn, now, CLEANUP_BATCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_clients_are_counted_exactly_under_small_budgets_and_start_at_zero_otherwise() {
        assert_eq!(decide(None, 0, 1_000_000), Decision::Exact);
        assert_eq!(starting_count(511), None);
        assert_eq!(starting_count(512), Some(0));
        assert_eq!(
            decide(starting_count(600), 0, 600),
            Decision::Admit { hits: 1 }
        );
    }

    #[test]
    fn far_from_the_limit_requests_are_admitted_locally_up_to_the_allowance() {
        // 600 a minute, 100 counted: 500 left, an eighth of that is 62, under BATCH.
        assert_eq!(allowance(600, 100), 62);
        assert_eq!(decide(Some(100), 0, 600), Decision::Admit { hits: 101 });
        assert_eq!(decide(Some(100), 61, 600), Decision::Admit { hits: 162 });
        assert_eq!(decide(Some(100), 62, 600), Decision::Exact);
        // Far away, BATCH caps it.
        assert_eq!(allowance(1_000_000, 0), BATCH);
        assert_eq!(
            decide(Some(0), BATCH - 1, 1_000_000),
            Decision::Admit {
                hits: i64::from(BATCH)
            }
        );
        assert_eq!(decide(Some(0), BATCH, 1_000_000), Decision::Exact);
    }

    #[test]
    fn near_the_limit_and_for_small_limits_every_request_is_exact() {
        // Fewer than SHARE left: no allowance.
        assert_eq!(allowance(600, 593), 0);
        assert_eq!(decide(Some(593), 0, 600), Decision::Exact);
        assert_eq!(allowance(600, 592), 1);
        for limit in 1..SHARE {
            assert_eq!(decide(Some(0), 0, limit), Decision::Exact, "limit {limit}");
        }
        // An admitted request is never over the limit.
        for limit in [8u32, 9, 100, 600, 10_000] {
            for known in 0..i64::from(limit) {
                let a = allowance(limit, known);
                for pending in 0..a {
                    match decide(Some(known), pending, limit) {
                        Decision::Admit { hits } => assert!(hits <= i64::from(limit)),
                        other => panic!("{other:?} for {known} + {pending} of {limit}"),
                    }
                }
            }
        }
    }

    #[test]
    fn a_known_count_at_the_limit_refuses_without_the_database() {
        assert_eq!(decide(Some(600), 0, 600), Decision::Refuse { hits: 601 });
        assert_eq!(decide(Some(700), 3, 600), Decision::Refuse { hits: 704 });
        assert_eq!(decide(Some(599), 0, 600), Decision::Exact);
    }

    /// The documented bound, simulated: instances that learn each other's hits only through
    /// statements (exact ones, and flushes at arbitrary moments) never admit more than
    /// `limit + instances × min(BATCH, limit / SHARE)` in a window.
    #[test]
    fn the_cluster_overshoot_stays_within_the_documented_slack() {
        for (limit, instances) in [
            (600u32, 2usize),
            (600, 5),
            (50, 3),
            (10_000, 4),
            (100_000, 3),
            (9, 2),
            (511, 3),
        ] {
            for seed in 0..20u64 {
                let mut db: i64 = 0;
                let mut known: Vec<Option<i64>> = vec![starting_count(limit); instances];
                let mut unsent = vec![0u32; instances];
                let mut admitted: i64 = 0;
                let mut rng = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                let mut next = || {
                    rng = rng
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    rng >> 33
                };
                for _ in 0..(limit as usize * 4) {
                    let i = (next() as usize) % instances;
                    if next() % 97 == 0 {
                        // A flush of instance i.
                        db += i64::from(unsent[i]);
                        unsent[i] = 0;
                        known[i] = Some(db);
                    }
                    match decide(known[i], unsent[i], limit) {
                        Decision::Admit { .. } => {
                            unsent[i] += 1;
                            admitted += 1;
                        }
                        Decision::Refuse { .. } => unsent[i] += 1,
                        Decision::Exact => {
                            db += i64::from(unsent[i]) + 1;
                            unsent[i] = 0;
                            known[i] = Some(db);
                            if db <= i64::from(limit) {
                                admitted += 1;
                            }
                        }
                    }
                }
                let slack = instances as i64 * i64::from(BATCH.min(limit / SHARE));
                assert!(
                    admitted <= i64::from(limit) + slack,
                    "{admitted} admitted for {limit} on {instances} (seed {seed})"
                );
                assert!(admitted >= i64::from(limit), "the whole budget is usable");
            }
        }
    }
}
