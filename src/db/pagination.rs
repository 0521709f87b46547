//! Keyset pagination: `?limit=&cursor=`, opaque cursors, and the `{items, next_cursor, total}`
//! body with its RFC 8288 `Link` header.

use crate::error::ApiError;
use actix_web::{http::header, HttpRequest, HttpResponse};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use diesel::{dsl, sql_types, BoolExpressionMethods, Expression, ExpressionMethods};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// `?limit=&cursor=` as every list accepts them.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> Result<i64, ApiError> {
        checked_limit(self.limit, DEFAULT_LIMIT)
    }

    /// Decodes the cursor as a `(timestamp, id)` position.
    pub fn position(&self) -> Result<Option<Position>, ApiError> {
        self.cursor.as_deref().map(Position::decode).transpose()
    }
}

/// A page size from `?limit=`: 1 to `MAX_LIMIT`, `default` when absent.
pub fn checked_limit(limit: Option<i64>, default: i64) -> Result<i64, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid_field(
            "limit",
            "range",
            format!("must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// The opaque cursor of a position `(at, key)` in a list ordered by time, then key.
pub fn encode_cursor(at: DateTime<Utc>, key: impl std::fmt::Display) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{key}", at.timestamp_micros()))
}

/// Reads a cursor made by [`encode_cursor`]; 422 `invalid_cursor` for anything else.
pub fn decode_cursor<K: std::str::FromStr>(raw: &str) -> Result<(DateTime<Utc>, K), ApiError> {
    let invalid = || {
        ApiError::invalid_field(
            "cursor",
            "invalid_cursor",
            "is not a cursor this API issued",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
    let (micros, key) = text.split_once('|').ok_or_else(invalid)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(invalid)?;
    Ok((at, key.parse().map_err(|_| invalid())?))
}

/// A position in a list ordered by `(timestamp, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Position {
    pub fn encode(&self) -> String {
        encode_cursor(self.at, self.id)
    }

    pub fn decode(raw: &str) -> Result<Self, ApiError> {
        decode_cursor(raw).map(|(at, id)| Position { at, id })
    }
}

/// The rows after `p` in a list ordered by `(at, id)` ascending: `at > p.at OR (at = p.at
/// AND id > p.id)`. One keyset predicate for every list that pages on a [`Position`].
pub fn after<At, Id>(at: At, id: Id, p: Position) -> AfterPosition<At, Id>
where
    At: ExpressionMethods + Copy + Expression<SqlType = sql_types::Timestamptz>,
    Id: ExpressionMethods + Expression<SqlType = sql_types::Uuid>,
{
    at.gt(p.at).or(at.eq(p.at).and(id.gt(p.id)))
}

/// The rows before `p` in a list ordered by `(at, id)` descending (newest first).
pub fn before<At, Id>(at: At, id: Id, p: Position) -> BeforePosition<At, Id>
where
    At: ExpressionMethods + Copy + Expression<SqlType = sql_types::Timestamptz>,
    Id: ExpressionMethods + Expression<SqlType = sql_types::Uuid>,
{
    at.lt(p.at).or(at.eq(p.at).and(id.lt(p.id)))
}

pub type AfterPosition<At, Id> =
    dsl::Or<dsl::Gt<At, DateTime<Utc>>, dsl::And<dsl::Eq<At, DateTime<Utc>>, dsl::Gt<Id, Uuid>>>;
pub type BeforePosition<At, Id> =
    dsl::Or<dsl::Lt<At, DateTime<Utc>>, dsl::And<dsl::Eq<At, DateTime<Utc>>, dsl::Lt<Id, Uuid>>>;

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Number of items matching the filters, across all pages.
    pub total: i64,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only tells that more exist.
    pub fn from_rows<R>(
        rows: Vec<R>,
        limit: i64,
        total: i64,
        position_of: impl Fn(&R) -> Position,
        to_item: impl Fn(R) -> T,
    ) -> Self {
        Self::from_rows_by(rows, limit, total, |r| position_of(r).encode(), to_item)
    }

    /// [`Page::from_rows`] for lists whose cursor is not a [`Position`] (`cursor_of` encodes
    /// the last row's place, e.g. with [`encode_cursor`]).
    pub fn from_rows_by<R>(
        mut rows: Vec<R>,
        limit: i64,
        total: i64,
        cursor_of: impl Fn(&R) -> String,
        to_item: impl Fn(R) -> T,
    ) -> Self {
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if has_more {
            rows.last().map(&cursor_of)
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(to_item).collect(),
            next_cursor,
            total,
        }
    }
}

impl<T: Serialize> Page<T> {
    /// 200 with the page as JSON and a `Link: <...>; rel="next"` header when there is more.
    pub fn respond(&self, req: &HttpRequest, public_base_url: &str, limit: i64) -> HttpResponse {
        let mut res = HttpResponse::Ok();
        if let Some(cursor) = &self.next_cursor {
            res.insert_header((header::LINK, next_link(req, public_base_url, limit, cursor)));
        }
        res.json(self)
    }
}

/// `<base/path?same filters&limit=&cursor=>; rel="next"` for the page after this one.
pub fn next_link(req: &HttpRequest, public_base_url: &str, limit: i64, cursor: &str) -> String {
    let mut params: Vec<(String, String)> = url_query_pairs(req.query_string())
        .filter(|(k, _)| k != "cursor" && k != "limit")
        .collect();
    params.push(("limit".into(), limit.to_string()));
    params.push(("cursor".into(), cursor.to_owned()));
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    format!(
        "<{public_base_url}{}?{}>; rel=\"next\"",
        req.path(),
        query.join("&")
    )
}

fn url_query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters (RFC 3986), which also makes a
/// valid RFC 5987 `filename*` value.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let p = Position {
            at: DateTime::from_timestamp_micros(1_764_590_400_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Position::decode(&p.encode()).unwrap(), p);
        assert!(Position::decode("not-a-cursor").is_err());
        assert!(Position::decode(&URL_SAFE_NO_PAD.encode("12|nope")).is_err());
        // Other keys, such as the audit log's bigint ids.
        let at = p.at;
        assert_eq!(
            decode_cursor::<i64>(&encode_cursor(at, 42)).unwrap(),
            (at, 42)
        );
        assert!(decode_cursor::<i64>(&encode_cursor(at, "x")).is_err());
    }

    #[test]
    fn limit_is_bounded() {
        let params = |limit| PageParams {
            limit,
            cursor: None,
        };
        assert_eq!(params(None).limit().unwrap(), 20);
        assert_eq!(params(Some(100)).limit().unwrap(), 100);
        assert!(params(Some(0)).limit().is_err());
        assert!(params(Some(101)).limit().is_err());
    }

    #[test]
    fn page_from_rows_sets_cursor_only_when_more_exist() {
        let rows: Vec<(i64, Uuid)> = (0..3).map(|i| (i, Uuid::from_u128(i as u128))).collect();
        let pos = |r: &(i64, Uuid)| Position {
            at: DateTime::from_timestamp(r.0, 0).unwrap(),
            id: r.1,
        };
        let page = Page::from_rows(rows.clone(), 2, 3, pos, |r| r.0);
        assert_eq!(page.items, vec![0, 1]);
        assert!(page.next_cursor.is_some());
        let page = Page::from_rows(rows, 3, 3, pos, |r| r.0);
        assert!(page.next_cursor.is_none());
    }

    #[test]
    fn query_strings_are_decoded_and_encoded() {
        assert_eq!(percent_decode("a%C3%A9+b"), "aé b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_encode("aé b"), "a%C3%A9%20b");
    }
}
