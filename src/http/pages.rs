//! Paged lists over HTTP: the `?limit=&cursor=` extractor, the `{items, next_cursor, total}`
//! body, and the one writer of the RFC 8288 `Link: <…>; rel="next"` header.

use crate::{db::pagination::Cursor, error::ApiError};
use actix_web::{
    http::header::{self, HeaderValue},
    HttpRequest, HttpResponse,
};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::{IntoParams, ToSchema};

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

    /// The cursor, decoded as a `C`: `None` for the first page, 422 `invalid_cursor` when it
    /// is not a `C`.
    pub fn cursor<C: Cursor>(&self) -> Result<Option<C>, ApiError> {
        self.cursor.as_deref().map(C::decode).transpose()
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

/// Cuts up to `limit + 1` rows to `limit` and returns the cursor of the next page: the
/// position of the last row kept, when the extra row says that more exist.
pub fn next_cursor<R, C: Cursor>(
    rows: &mut Vec<R>,
    limit: i64,
    cursor_of: impl Fn(&R) -> C,
) -> Option<String> {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    rows.last()
        .filter(|_| has_more)
        .map(|row| cursor_of(row).encode())
}

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
    /// `cursor_of` gives a row's position, in whatever [`Cursor`] the list pages on.
    pub fn from_rows<R, C: Cursor>(
        mut rows: Vec<R>,
        limit: i64,
        total: i64,
        cursor_of: impl Fn(&R) -> C,
        to_item: impl Fn(R) -> T,
    ) -> Self {
        let next_cursor = next_cursor(&mut rows, limit, cursor_of);
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
        let mut res = HttpResponse::Ok().json(self);
        add_next_link(
            &mut res,
            req,
            public_base_url,
            limit,
            self.next_cursor.as_deref(),
        );
        res
    }
}

/// Adds `Link: <…>; rel="next"` to `res` when there is a next page. Every paged list writes
/// its `Link` here, whatever its body.
pub fn add_next_link(
    res: &mut HttpResponse,
    req: &HttpRequest,
    public_base_url: &str,
    limit: i64,
    next_cursor: Option<&str>,
) {
    let Some(cursor) = next_cursor else { return };
    let Some(url) = next_url(
        public_base_url,
        req.path(),
        req.query_string(),
        limit,
        cursor,
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
        res.headers_mut().insert(header::LINK, value);
    }
}

/// `base/path?the same filters&limit=&cursor=`: the request's other query parameters kept,
/// `limit` and `cursor` replaced. `None` only when `public_base_url` is not a URL, which the
/// settings refuse at start.
pub fn next_url(
    public_base_url: &str,
    path: &str,
    query: &str,
    limit: i64,
    cursor: &str,
) -> Option<Url> {
    let mut url = Url::parse(&format!("{public_base_url}{path}")).ok()?;
    let kept = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "cursor" && k != "limit")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect::<Vec<_>>();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("limit", &limit.to_string())
        .append_pair("cursor", cursor);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::pagination::Position;
    use chrono::DateTime;
    use uuid::Uuid;

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
        assert_eq!(checked_limit(None, 50).unwrap(), 50);
    }

    #[test]
    fn the_cursor_is_decoded_as_asked() {
        let p = Position {
            at: DateTime::from_timestamp(1_764_590_400, 0).unwrap(),
            id: Uuid::from_u128(7),
        };
        let params = |cursor: Option<String>| PageParams {
            limit: None,
            cursor,
        };
        assert_eq!(params(None).cursor::<Position>().unwrap(), None);
        assert_eq!(
            params(Some(p.encode())).cursor::<Position>().unwrap(),
            Some(p)
        );
        assert!(params(Some("nope".into())).cursor::<Position>().is_err());
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
        assert_eq!(page.next_cursor, Some(pos(&rows[1]).encode()));
        let page = Page::from_rows(rows, 3, 3, pos, |r| r.0);
        assert_eq!(page.items, vec![0, 1, 2]);
        assert!(page.next_cursor.is_none());
    }

    #[test]
    fn the_next_url_keeps_the_filters_and_replaces_limit_and_cursor() {
        let url = next_url(
            "https://jobs.example",
            "/api/v1/offers",
            "q=caf%C3%A9+cr%C3%A8me&cursor=old&limit=5&tag=a%26b&tag=c%3Dd&empty=",
            2,
            "MTc2NDU5MDQwMDEyMzQ1Nnx4-_y",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://jobs.example/api/v1/offers\
             ?q=caf%C3%A9+cr%C3%A8me&tag=a%26b&tag=c%3Dd&empty=&limit=2\
             &cursor=MTc2NDU5MDQwMDEyMzQ1Nnx4-_y"
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("q".into(), "café crème".into()));
        assert_eq!(pairs[1], ("tag".into(), "a&b".into()));
        assert_eq!(pairs[2], ("tag".into(), "c=d".into()));
        assert_eq!(pairs.iter().filter(|(k, _)| k == "cursor").count(), 1);
        // Characters a hostile query could use to break out of `<…>` are encoded.
        let url = next_url("http://h", "/l", "x=%3E%3B%20rel%3D%22x%22%0A", 1, "c").unwrap();
        assert!(!url.as_str().contains(['>', '"', ' ', '\n']), "{url}");
        assert_eq!(url.query_pairs().next().unwrap().1, ">; rel=\"x\"\n");
    }

    #[test]
    fn the_link_header_is_written_only_when_there_is_more() {
        let req = actix_web::test::TestRequest::with_uri("/api/v1/items?status=new&cursor=a")
            .to_http_request();
        let page = Page {
            items: vec![1],
            next_cursor: Some("b".to_owned()),
            total: 2,
        };
        let res = page.respond(&req, "http://localhost:8080", 1);
        assert_eq!(
            res.headers().get(header::LINK).unwrap(),
            "<http://localhost:8080/api/v1/items?status=new&limit=1&cursor=b>; rel=\"next\""
        );
        let last = Page {
            next_cursor: None,
            ..page
        };
        assert!(last
            .respond(&req, "http://localhost:8080", 1)
            .headers()
            .get(header::LINK)
            .is_none());
    }
}
