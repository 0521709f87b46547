//! Rate limits per client address on the public routes (reads, search, applying, login),
//! counted in PostgreSQL so that every instance behind the load balancer shares one budget.
//!
//! Each policy is a fixed window per client: one row per (policy, address) in
//! `rate_limit_counters` (an unlogged table: no WAL, no flush at commit), upserted by one
//! statement per request. The row is keyed by a
//! SHA-256 of the policy and the address; the address itself is never stored. Windows are
//! shifted per client (by a fraction of the window derived from the bucket), so clients do
//! not all get their budget back at the same second.
//!
//! `reads` and `search` are counted in-process and sent to that table in batches, within a
//! documented bound of the exact count ([`batched`]); `apply`, `login` and `email_change`
//! are counted exactly, one upsert per request.
//!
//! A handler calls `AppState::rate_limit` first ([`pending`], [`hit`], [`counted`]); [`headers`], a middleware, then adds `RateLimit-Policy`
//! and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-11) to whatever the handler
//! answered, a 429 included.

use crate::{
    error::{ApiError, Code, ErrorKind},
    http::client_address,
    settings::{RateLimit, Settings},
};
use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    HttpMessage, HttpRequest,
};
use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Int4, Timestamptz},
    PgConnection,
};
use sha2::{Digest, Sha256};

pub mod batched;

pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// How many ended windows one clean-up deletes at most.
const CLEANUP_BATCH: i64 = 200;
/// One new window in this many runs a clean-up (see [`cleans_up`]).
const CLEANUP_ONE_IN: u8 = 8;

/// What a request is counted as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The offer list without `q`, and single offers.
    Reads,
    /// The offer list with `q`.
    Search,
    /// Sending an application.
    Apply,
    /// Staff login attempts.
    Login,
    /// A candidate's changes of address: asking for one, and confirming it.
    EmailChange,
}

impl Policy {
    /// The policy's name in the headers and the logs.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Reads => "reads",
            Policy::Search => "search",
            Policy::Apply => "apply",
            Policy::Login => "login",
            Policy::EmailChange => "email_change",
        }
    }

    /// Counted in-process and sent in batches ([`batched`]): the public reads, the bulk of the
    /// traffic. Applying, logging in and changes of address are counted exactly, per request.
    pub fn is_batched(self) -> bool {
        matches!(self, Policy::Reads | Policy::Search)
    }

    fn rule(self, settings: &Settings) -> RateLimit {
        let limits = &settings.rate_limits;
        match self {
            Policy::Reads => limits.reads,
            Policy::Search => limits.search,
            Policy::Apply => limits.apply,
            Policy::Login => limits.login,
            Policy::EmailChange => limits.email_change,
        }
    }
}

/// Where a request stands under its policy; kept in the request's extensions for
/// [`headers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub policy: Policy,
    pub limit: u32,
    pub window_secs: u64,
    /// Requests left in the current window.
    pub remaining: u32,
    /// Seconds until the window ends (at least 1).
    pub reset_secs: u64,
    /// This request was over the limit.
    pub exceeded: bool,
}

impl Quota {
    fn new(policy: Policy, rule: RateLimit, hits: i32, reset_secs: u64) -> Self {
        let used = u32::try_from(hits).unwrap_or(0);
        Quota {
            policy,
            limit: rule.limit,
            window_secs: rule.window.as_secs(),
            remaining: rule.limit.saturating_sub(used),
            reset_secs: reset_secs.max(1),
            exceeded: used > rule.limit,
        }
    }

    /// `RateLimit-Policy`: `"reads";q=600;w=60`.
    pub fn policy_header(&self) -> String {
        format!(
            "\"{}\";q={};w={}",
            self.policy.name(),
            self.limit,
            self.window_secs
        )
    }

    /// `RateLimit`: `"reads";r=599;t=42`.
    pub fn limit_header(&self) -> String {
        format!(
            "\"{}\";r={};t={}",
            self.policy.name(),
            self.remaining,
            self.reset_secs
        )
    }
}

/// The counter a client has under a policy: SHA-256 of both, so the table holds no address.
/// Addresses are normalised by [`crate::http::client_key`] (IPv6 per /64).
pub fn bucket(policy: Policy, address: &str) -> Vec<u8> {
    let address = crate::http::client_key(address);
    let mut h = Sha256::new();
    h.update(b"ratelimit:");
    h.update(policy.name().as_bytes());
    h.update(b":");
    h.update(address.as_bytes());
    h.finalize().to_vec()
}

/// The end of the window `now` falls in, for this bucket, and the seconds left until then.
/// Windows are `window` long, aligned on the epoch plus a phase taken from the bucket.
pub fn window_end(
    bucket: &[u8],
    now: DateTime<Utc>,
    window: std::time::Duration,
) -> (DateTime<Utc>, u64) {
    let len = i64::try_from(window.as_micros()).unwrap_or(i64::MAX).max(1);
    let mut first = [0u8; 8];
    for (dst, src) in first.iter_mut().zip(bucket) {
        *dst = *src;
    }
    let phase = i64::try_from(u64::from_be_bytes(first) % len.unsigned_abs()).unwrap_or(0);
    let micros = now.timestamp_micros();
    let end = micros - (micros - phase).rem_euclid(len) + len;
    let left_secs = u64::try_from(end - micros).unwrap_or(0).div_ceil(1_000_000);
    (
        DateTime::from_timestamp_micros(end).unwrap_or(now),
        left_secs.max(1),
    )
}

diesel::define_sql_function! {
    /// PostgreSQL's `GREATEST`.
    fn greatest(a: Timestamptz, b: Timestamptz) -> Timestamptz;
}
diesel::define_sql_function! {
    /// PostgreSQL's `LEAST`.
    fn least(a: Int4, b: Int4) -> Int4;
}

/// Counts one hit in the bucket's window ending at `window_end`; returns the hits so far in
/// the window the row is in and that window's end. One statement (prepared once per
/// connection): concurrent requests on any instance all count. An instance whose clock is
/// behind counts into the newer window instead of resetting it. The count saturates instead
/// of overflowing under a flood.
pub fn hit(
    conn: &mut PgConnection,
    bucket: &[u8],
    window_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<(i32, DateTime<Utc>)> {
    hits(conn, bucket, window_end, now, 1)
}

/// [`hit`] for `n` hits at once (`n` ≥ 1): a request of the batched policies that also carries
/// the hits its instance counted locally and has not sent yet ([`batched`]).
pub fn hits(
    conn: &mut PgConnection,
    bucket: &[u8],
    window_end: DateTime<Utc>,
    now: DateTime<Utc>,
    n: i32,
) -> QueryResult<(i32, DateTime<Utc>)> {
    let n = n.max(1);
    use crate::db::schema::rate_limit_counters::dsl as c;
    use diesel::{dsl::case_when, upsert::excluded};
    let (hits, end): (i32, DateTime<Utc>) = diesel::insert_into(c::rate_limit_counters)
        .values((
            c::bucket.eq(bucket),
            c::window_end.eq(window_end),
            c::hits.eq(n),
        ))
        .on_conflict(c::bucket)
        .do_update()
        .set((
            c::hits.eq(case_when(
                c::window_end.lt(excluded(c::window_end)),
                n.into_sql::<Int4>(),
            )
            .otherwise(least(c::hits, i32::MAX - n) + n)),
            c::window_end.eq(greatest(c::window_end, excluded(c::window_end))),
        ))
        .returning((c::hits, c::window_end))
        .get_result(conn)?;
    if hits == n && cleans_up(bucket, end) {
        forget_ended(conn, now, CLEANUP_BATCH)?;
    }
    Ok((hits, end))
}

/// Whether the first request of this bucket's window also deletes ended windows: one new
/// window in [`CLEANUP_ONE_IN`], chosen by a hash of both so that every client takes its
/// turn. Each new window adds at most one row and deletes `CLEANUP_BATCH / CLEANUP_ONE_IN`
/// (25) on average, so ended rows cannot pile up; no request deletes more than a batch;
/// and most requests, even first ones, run a single statement.
pub fn cleans_up(bucket: &[u8], window_end: DateTime<Utc>) -> bool {
    let mut h = Sha256::new();
    h.update(bucket);
    h.update(window_end.timestamp_micros().to_be_bytes());
    h.finalize()[0] % CLEANUP_ONE_IN == 0
}

/// Deletes at most `batch` counters whose window ended before `now`; rows another
/// transaction holds are left for the next time.
pub fn forget_ended(conn: &mut PgConnection, now: DateTime<Utc>, batch: i64) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM rate_limit_counters WHERE bucket IN ( \
             SELECT bucket FROM rate_limit_counters WHERE window_end < $1 \
             LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<diesel::sql_types::Int8, _>(batch)
    .execute(conn)
}

fn rate_limited(quota: &Quota) -> ApiError {
    ApiError::new(
        ErrorKind::TooManyRequests,
        Code::RateLimited,
        format!(
            "Too many requests of this kind from your address (policy \"{}\": {} per {} s): \
             wait {} s.",
            quota.policy.name(),
            quota.limit,
            quota.window_secs,
            quota.reset_secs
        ),
    )
    .with_retry_after(quota.reset_secs)
}

/// A request about to be counted under a policy: the rule, the client's bucket and the end
/// of its current window. The database hit in between is the caller's
/// (`AppState::rate_limit`, which holds the pool).
pub struct Pending {
    pub policy: Policy,
    pub rule: RateLimit,
    pub bucket: Vec<u8>,
    pub window_end: DateTime<Utc>,
}

/// Before the database: `None` when the policy is off.
pub fn pending(
    settings: &Settings,
    req: &HttpRequest,
    policy: Policy,
    now: DateTime<Utc>,
) -> Option<Pending> {
    let rule = policy.rule(settings);
    if !rule.is_enabled() {
        return None;
    }
    let bucket = bucket(policy, &client_address(req, settings));
    let (window_end, _) = window_end(&bucket, now, rule.window);
    Some(Pending {
        policy,
        rule,
        bucket,
        window_end,
    })
}

/// After the database ([`hit`] gave `hits` and the window's `end`): records the quota for
/// [`headers`]; 429 `rate_limited` with `Retry-After` when the address is over the limit.
pub fn counted(
    req: &HttpRequest,
    pending: &Pending,
    hits: i32,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (policy, rule) = (pending.policy, pending.rule);
    let reset_secs = u64::try_from((end - now).num_milliseconds())
        .unwrap_or(0)
        .div_ceil(1000);
    let quota = Quota::new(policy, rule, hits, reset_secs);
    req.extensions_mut().insert(quota);
    if quota.exceeded {
        // Once per window and client, not for every refused request.
        if u32::try_from(hits).ok() == rule.limit.checked_add(1) {
            log::info!("rate limit {} reached by a client", policy.name());
        }
        return Err(rate_limited(&quota));
    }
    Ok(())
}

/// Adds the RateLimit headers to the response of a request that `AppState::rate_limit` counted.
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let quota = res.request().extensions().get::<Quota>().copied();
    if let Some(quota) = quota {
        let headers = res.headers_mut();
        for (name, value) in [
            (RATELIMIT_POLICY, quota.policy_header()),
            (RATELIMIT, quota.limit_header()),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn buckets_are_hashed_per_policy_and_address() {
        let a = bucket(Policy::Reads, "192.0.2.1");
        assert_eq!(a.len(), 32);
        assert_eq!(a, bucket(Policy::Reads, "192.0.2.1"));
        assert_ne!(a, bucket(Policy::Search, "192.0.2.1"));
        assert_ne!(a, bucket(Policy::Reads, "192.0.2.2"));
        // An IPv4 client seen through an IPv6 socket is the same client.
        assert_eq!(a, bucket(Policy::Reads, "::ffff:192.0.2.1"));
        // IPv6: one /64, one client.
        assert_eq!(
            bucket(Policy::Login, "2001:db8:1:2::1"),
            bucket(Policy::Login, "2001:db8:1:2:aaaa:bbbb:cccc:dddd")
        );
        assert_ne!(
            bucket(Policy::Login, "2001:db8:1:2::1"),
            bucket(Policy::Login, "2001:db8:1:3::1")
        );
        assert_eq!(
            bucket(Policy::Login, "[2001:db8:1:2::1]"),
            bucket(Policy::Login, "2001:db8:1:2::1")
        );
    }

    #[test]
    fn windows_are_shifted_per_bucket_and_say_how_long_is_left() {
        let minute = Duration::from_secs(60);
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        // A bucket whose phase is 0: windows aligned on the minute.
        let zero = [0u8; 32];
        assert_eq!(window_end(&zero, at(120), minute), (at(180), 60));
        assert_eq!(window_end(&zero, at(179), minute), (at(180), 1));
        let half = DateTime::from_timestamp_micros(150_500_000).unwrap();
        assert_eq!(window_end(&zero, half, minute), (at(180), 30));
        // Phase of 10 s (10_000_000 µs, big-endian in the first 8 bytes).
        let mut ten = [0u8; 32];
        ten[..8].copy_from_slice(&10_000_000u64.to_be_bytes());
        assert_eq!(window_end(&ten, at(125), minute), (at(130), 5));
        assert_eq!(window_end(&ten, at(130), minute), (at(190), 60));
        // Every bucket gets a window of the right length that contains now.
        for b in [bucket(Policy::Reads, "a"), bucket(Policy::Apply, "b")] {
            let now = at(1_000_000);
            let (end, left) = window_end(&b, now, minute);
            assert!(end > now && end <= now + chrono::Duration::seconds(60));
            assert!((1..=60).contains(&left));
        }
    }

    #[test]
    fn about_one_new_window_in_eight_cleans_up_and_every_client_takes_turns() {
        let end = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let clients: Vec<_> = (0..800)
            .map(|i| bucket(Policy::Reads, &format!("10.0.{}.{}", i / 256, i % 256)))
            .collect();
        let sweeping = clients.iter().filter(|b| cleans_up(b, end)).count();
        assert!((60..=140).contains(&sweeping), "{sweeping} of 800");
        let later = end + chrono::Duration::seconds(60);
        let both = clients
            .iter()
            .filter(|b| cleans_up(b, end) && cleans_up(b, later))
            .count();
        assert!(both < sweeping, "the turn moves with the window");
    }

    #[test]
    fn headers_follow_the_draft_syntax() {
        let rule = RateLimit {
            limit: 10,
            window: Duration::from_secs(3600),
        };
        let q = Quota::new(Policy::Apply, rule, 3, 1800);
        assert_eq!(q.policy_header(), "\"apply\";q=10;w=3600");
        assert_eq!(q.limit_header(), "\"apply\";r=7;t=1800");
        assert!(!q.exceeded && !Quota::new(Policy::Apply, rule, 10, 1).exceeded);
        let over = Quota::new(Policy::Apply, rule, 11, 0);
        assert!(over.exceeded);
        assert_eq!(over.limit_header(), "\"apply\";r=0;t=1");
        let e = rate_limited(&over);
        assert_eq!(
            (e.code(), e.kind()),
            (Code::RateLimited, ErrorKind::TooManyRequests)
        );
    }
}
