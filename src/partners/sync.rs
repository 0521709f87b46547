//! `GET /api/v1/partner/offers` (the whole public set, page by page) and
//! `GET /api/v1/partner/offers/changes` (everything that changed since a cursor), for partner
//! job boards that keep a copy of the offers.
//!
//! The change feed is `offer_changes`, written by a trigger on `offers`. Its order is
//! (writing transaction id, sequence), and a page only holds changes of transactions older
//! than the oldest one still running: a transaction that began first but commits last has
//! the smaller id, so it cannot appear behind a cursor already handed out.

use super::{
    keys::PartnerAuth,
    model::{self, ChangeKind},
};
use crate::{
    db::pagination::Cursor,
    error::{ApiError, Code, Problem},
    http::pages::{add_next_link, next_cursor, PageParams},
    http::respond_with_etag,
    offers::{domain::OfferStatus, model as offers, views::OfferResponse},
    public_cache::{Key, Rendered},
    state::AppState,
};
use actix_web::{get, http::header, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// A position in the change feed: after the change `(xact_id, seq)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedCursor {
    pub xact_id: i64,
    pub seq: i64,
}

impl FeedCursor {
    /// Before every change.
    pub const START: FeedCursor = FeedCursor { xact_id: 0, seq: 0 };

    /// Just before the changes of transaction `xact_id` and every later one.
    pub fn before_transaction(xact_id: i64) -> Self {
        FeedCursor {
            xact_id: xact_id - 1,
            seq: i64::MAX,
        }
    }

    /// [`Cursor::encode`], callable without the trait in scope (the API tests mint old
    /// cursors with it).
    pub fn encode(&self) -> String {
        Cursor::encode(self)
    }
}

/// `c1|<xact_id>|<seq>`. The codec is the shared one; what is particular to the feed (a
/// cursor on every page, 410 once it is ahead of a restored feed) is in the handler.
impl Cursor for FeedCursor {
    fn to_text(&self) -> String {
        format!("c1|{}|{}", self.xact_id, self.seq)
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.split('|');
        let (v, x, s) = (parts.next()?, parts.next()?, parts.next()?);
        if v != "c1" || parts.next().is_some() {
            return None;
        }
        Some(FeedCursor {
            xact_id: x.parse().ok()?,
            seq: s.parse().ok()?,
        })
    }
}

/// A place in the snapshot `/partner/offers`, ordered by id: after the offer `o1|<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotCursor(pub Uuid);

impl Cursor for SnapshotCursor {
    fn to_text(&self) -> String {
        format!("o1|{}", self.0)
    }

    fn from_text(text: &str) -> Option<Self> {
        let id = text.strip_prefix("o1|")?;
        Uuid::parse_str(id).ok().map(SnapshotCursor)
    }
}

/// One change of the public set.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeItem {
    /// The offer is public: here it is, as it is now.
    Upsert {
        offer: Box<OfferResponse>,
        changed_at: DateTime<Utc>,
    },
    /// The offer left the public set: remove it.
    Tombstone {
        id: Uuid,
        /// `closed`, `archived`, `unpublished` or `deleted`.
        #[schema(example = "closed")]
        reason: String,
        changed_at: DateTime<Utc>,
    },
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub items: Vec<ChangeItem>,
    /// Where to continue from; never null. The same cursor when nothing changed.
    pub next_cursor: String,
    /// More changes are ready: ask again at once.
    pub has_more: bool,
}

/// A page of the whole public set.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerOfferPage {
    pub items: Vec<OfferResponse>,
    pub next_cursor: Option<String>,
    pub total: i64,
    /// Where to start following `/partner/offers/changes` after copying this snapshot: take
    /// it from the first page.
    pub changes_cursor: String,
}

/// What a change row means now. A row that said "upsert" about an offer that has since left
/// the public set is shown as the tombstone it has become (its own tombstone row follows).
fn to_item(row: model::ChangeRow, offer: Option<&offers::Offer>, today: NaiveDate) -> ChangeItem {
    let changed_at = row.changed_at;
    match (row.kind, offer) {
        (ChangeKind::Upsert, Some(o)) if o.status == OfferStatus::Published => ChangeItem::Upsert {
            offer: Box::new(OfferResponse::new(o, today)),
            changed_at,
        },
        (ChangeKind::Upsert, now) => ChangeItem::Tombstone {
            id: row.offer_id,
            reason: match now.map(|o| o.status) {
                None => "deleted",
                Some(OfferStatus::Closed) => "closed",
                Some(OfferStatus::Archived) => "archived",
                Some(_) => "unpublished",
            }
            .to_owned(),
            changed_at,
        },
        (ChangeKind::Tombstone, _) => ChangeItem::Tombstone {
            id: row.offer_id,
            reason: row.reason.unwrap_or_else(|| "unpublished".to_owned()),
            changed_at,
        },
    }
}

fn cache_private(res: HttpResponse) -> HttpResponse {
    let mut res = res;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-cache"),
    );
    res
}

/// Every public offer (partner key), in a stable order, page by page.
///
/// Copy the whole set once, then follow `/api/v1/partner/offers/changes` from the
/// `changes_cursor` of the first page: nothing that changed while you copied is missed.
#[utoipa::path(
    tag = "partners",
    security(("partner_key" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of public offers", body = PartnerOfferPage,
            headers(("ETag" = String, description = "Version of this page"),
                    ("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 304, description = "Unchanged since If-None-Match"),
        (status = 401, description = "No valid partner key", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/partner/offers")]
pub async fn partner_offers(
    state: web::Data<AppState>,
    _partner: PartnerAuth,
    req: HttpRequest,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let after = page.cursor::<SnapshotCursor>()?.map(|c| c.0);
    let today = state.today();
    // The same for every partner: the key is the page, not who asks.
    let key = Key {
        route: "snapshot",
        day: today,
        params: format!("{limit}|{after:?}"),
    };
    let page = state
        .cached(key, move |conn, _| {
            let (mut rows, total, xmin) = conn
                .build_transaction()
                .read_only()
                .repeatable_read()
                .run(|conn| {
                    let xmin = model::snapshot_xmin(conn)?;
                    let (rows, total) = offers::published_by_id(conn, after, limit)?;
                    Ok::<_, ApiError>((rows, total, xmin))
                })?;
            let next_cursor = next_cursor(&mut rows, limit, |o| SnapshotCursor(o.id));
            // A cached page's `changes_cursor` is older than a fresh one: following the
            // feed from it replays a few changes again, and misses none.
            let body = PartnerOfferPage {
                items: rows.iter().map(|o| OfferResponse::new(o, today)).collect(),
                next_cursor,
                total,
                changes_cursor: FeedCursor::before_transaction(xmin).encode(),
            };
            let bytes = serde_json::to_vec(&body).map_err(ApiError::internal)?;
            let mut page = Rendered::of_bytes(bytes, "application/json");
            // The ETag leaves out `changes_cursor`, which moves with every transaction on the
            // server: a 304 for unchanged offers keeps the client's (still valid) cursor.
            page.etag = crate::http::body_etag(&(&body.items, &body.next_cursor, body.total))?;
            page.next_cursor = body.next_cursor;
            Ok(page)
        })
        .await?;
    let mut res = if crate::http::if_none_match(&req, &page.etag) {
        HttpResponse::NotModified()
            .insert_header((header::ETAG, page.etag.clone()))
            .finish()
    } else {
        page.ok(HttpResponse::Ok().insert_header((header::ETAG, page.etag.clone())))
    };
    let base = &state.settings.public_base_url;
    add_next_link(&mut res, &req, base, limit, page.next_cursor.as_deref());
    Ok(cache_private(res))
}

/// Every change to the public set since `cursor` (partner key), in order.
///
/// Without a cursor the feed starts from the beginning. Each item is an `upsert` with the
/// whole public offer as it is now, or a `tombstone` (`closed`, `archived`, `unpublished`,
/// `deleted`) when it left the public set. Keep `next_cursor` and ask again; an empty page
/// returns the same cursor (and the same ETag, so `If-None-Match` gives 304). A change
/// appears once every transaction that began before it has finished, so following the
/// cursor never misses one, even when transactions commit out of order.
#[utoipa::path(
    tag = "partners",
    security(("partner_key" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "The changes after the cursor", body = ChangePage,
            headers(("ETag" = String, description = "Version of this page"))),
        (status = 304, description = "Unchanged since If-None-Match"),
        (status = 401, description = "No valid partner key", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`cursor_expired`: the cursor is ahead of the feed, because the database was restored from a backup since it was issued; copy the offers again from `/api/v1/partner/offers` and follow its `changes_cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/partner/offers/changes")]
pub async fn offer_changes(
    state: web::Data<AppState>,
    _partner: PartnerAuth,
    req: HttpRequest,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let after = page.cursor::<FeedCursor>()?.unwrap_or(FeedCursor::START);
    let today = state.today();
    let (mut rows, current) = state
        .db(move |conn| {
            conn.build_transaction()
                .read_only()
                .repeatable_read()
                .run(|conn| {
                    let rows = model::changes_after(conn, (after.xact_id, after.seq), limit + 1)?;
                    // A cursor from before a restore is ahead of the feed, so its page is
                    // always empty: only then is the horizon worth a query.
                    if rows.is_empty() && after.xact_id >= model::feed_horizon(conn)? {
                        return Err(ApiError::gone(
                            Code::CursorExpired,
                            "This cursor is ahead of the change feed: the database was restored \
                             from a backup since it was issued. Copy the offers again from \
                             /api/v1/partner/offers and follow its changes_cursor.",
                        ));
                    }
                    let ids: Vec<Uuid> = rows.iter().map(|r| r.offer_id).collect();
                    let current: HashMap<Uuid, offers::Offer> = offers::find_many(conn, &ids)?
                        .into_iter()
                        .map(|o| (o.id, o))
                        .collect();
                    Ok::<_, ApiError>((rows, current))
                })
        })
        .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = rows.last().map_or(after, |r| FeedCursor {
        xact_id: r.xact_id,
        seq: r.seq,
    });
    let body = ChangePage {
        items: rows
            .into_iter()
            .map(|r| {
                let offer = current.get(&r.offer_id);
                to_item(r, offer, today)
            })
            .collect(),
        next_cursor: next.encode(),
        has_more,
    };
    let res = respond_with_etag(&req, &crate::http::body_etag(&body)?, &body);
    Ok(cache_private(res))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let c = FeedCursor {
            xact_id: 7_000_123,
            seq: 42,
        };
        assert_eq!(FeedCursor::decode(&c.encode()).unwrap(), c);
        assert!(
            FeedCursor::before_transaction(10)
                < FeedCursor {
                    xact_id: 10,
                    seq: 1
                }
        );
        assert!(
            FeedCursor::before_transaction(10)
                > FeedCursor {
                    xact_id: 9,
                    seq: 99
                }
        );
        for bad in [
            "",
            "nope",
            &URL_SAFE_NO_PAD.encode("c1|x|1"),
            &URL_SAFE_NO_PAD.encode("c2|1|1"),
        ] {
            assert!(FeedCursor::decode(bad).is_err(), "{bad}");
        }
        // The wire formats of cursors already handed out.
        assert_eq!(c.encode(), URL_SAFE_NO_PAD.encode("c1|7000123|42"));
        let id = Uuid::from_u128(9);
        let snapshot = SnapshotCursor(id);
        assert_eq!(
            snapshot.encode(),
            URL_SAFE_NO_PAD.encode(format!("o1|{id}"))
        );
        assert_eq!(
            SnapshotCursor::decode(&snapshot.encode()).unwrap(),
            snapshot
        );
        assert!(SnapshotCursor::decode(&c.encode()).is_err());
        assert!(FeedCursor::decode(&snapshot.encode()).is_err());
    }
}
