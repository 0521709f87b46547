//! `GET /api/v1/offers` and `GET /api/v1/offers/{id_or_slug}`: the public catalogue.

use super::{
    domain::{EDUCATION_LEVELS, REMOTE_POLICIES},
    model::{self, PublicCursor, PublicFilter, PublicSort},
    views::{Facets, OfferListItem, OfferPage, OfferResponse},
};
use crate::{
    db::pagination::{invalid_cursor, Cursor},
    error::{ApiError, Problem},
    http::pages::{add_next_link, next_cursor, PageParams},
    public_cache::{Key, Rendered},
    ratelimit::Policy,
    state::AppState,
    validation::Form,
};
use actix_web::{get, http::header, web, HttpRequest, HttpResponse};
use chrono::DateTime;
use std::collections::HashMap;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(list_public_offers).service(get_public_offer);
}

pub const MAX_QUERY_CHARS: usize = 200;

/// Filters of the public list. Every value is checked: an invalid one is a 422.
/// The orders of the public list.
pub const PUBLIC_SORTS: [&str; 3] = ["-published_at", "application_deadline", "relevance"];

fn public_sort_schema() -> utoipa::openapi::Object {
    crate::validation::string_enum_schema(
        &PUBLIC_SORTS,
        false,
        "`-published_at` (default, newest first), `application_deadline` (soonest first), or \
         `relevance` (needs `q`: best match in the title, tags, department and fields of study \
         first, then newest first; an offer that matches only in its text comes after those).",
    )
}

/// The list's query parameters, as documented; the handler reads them by name through
/// [`parse`], which checks each one.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by name from the query string, never built.
pub struct PublicOfferQuery {
    /// French full-text search; ignores accents and case, matches word forms
    /// (`cooperation` finds "Coopération").
    #[param(max_length = 200, example = "coopération")]
    pub q: Option<String>,
    /// Exact department name.
    #[param(max_length = 200)]
    pub department: Option<String>,
    /// A field of study the offer lists.
    #[param(max_length = 200)]
    pub field: Option<String>,
    /// An education level the offer lists (`bac` … `doctorate`).
    #[param(schema_with = crate::offers::domain::education_level_schema)]
    pub education_level: Option<String>,
    /// ISO 639-1 code of a language the offer lists.
    pub language: Option<String>,
    /// `true` or `false`.
    pub paid: Option<String>,
    /// `none`, `partial` or `full`.
    #[param(schema_with = crate::offers::domain::remote_policy_schema)]
    pub remote: Option<String>,
    /// Offers starting on or after this date (`YYYY-MM-DD`).
    pub starts_from: Option<String>,
    /// Offers starting on or before this date (`YYYY-MM-DD`).
    pub starts_until: Option<String>,
    /// Offers that can be done in at most this many months (1–6).
    pub duration_max_months: Option<String>,
    /// A tag of the offer.
    #[param(max_length = 200)]
    pub tag: Option<String>,
    /// `-published_at` (default), `application_deadline`, or `relevance` (needs `q`).
    #[param(schema_with = public_sort_schema)]
    pub sort: Option<String>,
    /// `true` adds facet counts for the current filters.
    pub facets: Option<String>,
}

/// A search string, trimmed; empty means no search.
pub fn parse_q(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let q = raw.map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
        return Err(ApiError::invalid_field(
            "q",
            "too_long",
            format!("must have at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    Ok(q.map(str::to_owned))
}

struct Parsed {
    filter: PublicFilter,
    sort: PublicSort,
    facets: bool,
}

/// The most characters of a text filter other than `q` (department, field, tag).
const MAX_FILTER_CHARS: usize = 200;

/// The list's query, as a list of named checks; every error is reported at once.
fn parse(fields: &HashMap<String, String>) -> Result<Parsed, ApiError> {
    let mut f = Form::new(fields);
    let q = f.text("q", MAX_QUERY_CHARS);
    let department = f.text("department", MAX_FILTER_CHARS);
    let field = f.text("field", MAX_FILTER_CHARS);
    let tag = f.text("tag", MAX_FILTER_CHARS);
    let education_level = f.one_of(
        "education_level",
        &EDUCATION_LEVELS,
        "must be one of bac, bac_1, bac_2, bac_3, licence_3, master_1, master_2, doctorate",
    );
    let language = f.get("language");
    f.check(
        "language",
        language,
        |l| l.len() == 2 && l.chars().all(|c| c.is_ascii_lowercase()),
        "invalid_language",
        "must be an ISO 639-1 code such as en",
    );
    let remote = f.one_of(
        "remote",
        &REMOTE_POLICIES,
        "must be one of none, partial, full",
    );
    let duration_max_months = f.whole_number(
        "duration_max_months",
        1..=6,
        "must be a whole number of months from 1 to 6",
    );
    let paid = f.optional_boolean("paid");
    let facets = f.boolean("facets", false);
    let starts_from = f.optional_date("starts_from");
    let starts_until = f.optional_date("starts_until");
    let sort = match f.get("sort") {
        None | Some("-published_at") => Some(PublicSort::Newest),
        Some("application_deadline") => Some(PublicSort::Deadline),
        Some("relevance") if q.is_some() => Some(PublicSort::Relevance),
        Some("relevance") => {
            f.fail("sort", "needs_q", "relevance needs a search (q)");
            None
        }
        Some(_) => {
            f.fail(
                "sort",
                "invalid_choice",
                "must be -published_at, application_deadline or relevance",
            );
            None
        }
    };
    let parsed = sort.map(|sort| Parsed {
        filter: PublicFilter {
            q,
            department,
            field,
            education_level,
            language: language.map(str::to_owned),
            paid,
            remote,
            starts_from,
            starts_until,
            duration_max_months,
            tag,
        },
        sort,
        facets,
    });
    f.finish(parsed).map_err(ApiError::validation)
}

/// The public list's cursors carry their sort: `n|<unix micros>|<id>` (newest),
/// `d|<date>|<id>` (deadline), `r|<f32 bits>|<unix micros>|<id>` (relevance, then newest).
impl Cursor for PublicCursor {
    const INVALID: &'static str = "is not a cursor of this list and sort";

    fn to_text(&self) -> String {
        match self {
            PublicCursor::Newest(at, id) => format!("n|{}|{id}", at.timestamp_micros()),
            PublicCursor::Deadline(d, id) => format!("d|{d}|{id}"),
            PublicCursor::Relevance(r, at, id) => {
                format!("r|{}|{}|{id}", r.to_bits(), at.timestamp_micros())
            }
        }
    }

    fn from_text(text: &str) -> Option<Self> {
        let at = |micros: &str| DateTime::from_timestamp_micros(micros.parse().ok()?);
        let parts: Vec<&str> = text.split('|').collect();
        match parts[..] {
            ["n", micros, id] => Some(PublicCursor::Newest(at(micros)?, Uuid::parse_str(id).ok()?)),
            ["d", day, id] => Some(PublicCursor::Deadline(
                day.parse().ok()?,
                Uuid::parse_str(id).ok()?,
            )),
            ["r", bits, micros, id] => Some(PublicCursor::Relevance(
                f32::from_bits(bits.parse().ok()?),
                at(micros)?,
                Uuid::parse_str(id).ok()?,
            )),
            _ => None,
        }
    }
}

/// A cursor of the list in `sort`: one of another sort is as invalid as garbage.
fn cursor_for_sort(raw: &str, sort: PublicSort) -> Result<PublicCursor, ApiError> {
    match (PublicCursor::decode(raw)?, sort) {
        (c @ PublicCursor::Newest(..), PublicSort::Newest)
        | (c @ PublicCursor::Deadline(..), PublicSort::Deadline)
        | (c @ PublicCursor::Relevance(..), PublicSort::Relevance) => Ok(c),
        _ => Err(invalid_cursor::<PublicCursor>()),
    }
}

/// Published offers: filters, French full-text search, keyset pages, optional facets.
///
/// Rate-limited per client address: the `reads` policy, or `search` when `q` is given.
#[utoipa::path(
    tag = "offers",
    params(PublicOfferQuery, PageParams),
    responses(
        (status = 200, description = "A page of published offers", body = OfferPage,
            headers(("Link" = String, description = "RFC 8288 link to the next page"), ("ETag" = String, description = "Strong validator of the page"))),
        (status = 304, description = "Unchanged since If-None-Match"),
        (status = 422, description = "An invalid filter, sort, limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/offers")]
pub async fn list_public_offers(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let fields = crate::http::query_fields(query.into_inner())?;
    let searching = fields.get("q").is_some_and(|q| !q.trim().is_empty());
    let policy = if searching {
        Policy::Search
    } else {
        Policy::Reads
    };
    state.rate_limit(&req, policy).await?;
    let Parsed {
        filter,
        sort,
        facets,
    } = parse(&fields)?;
    let limit = page.limit()?;
    let cursor = page
        .cursor
        .as_deref()
        .map(|c| cursor_for_sort(c, sort))
        .transpose()?;
    let cache = state.catalog.clone();
    let today = state.today();
    let key = Key {
        route: "offers",
        day: today,
        params: format!(
            "{filter:?}|{sort:?}|{facets}|{limit}|{}",
            cursor.map(|c| c.to_text()).unwrap_or_default()
        ),
    };
    let page = state
        .cached(key, move |conn, version| {
            let mut cards = model::public_page(conn, &filter, sort, cursor, limit + 1)?;
            let total = match cache.total(&filter, version) {
                Some(total) => total,
                // A first page that holds everything is its own count.
                None if cursor.is_none() && (cards.len() as i64) <= limit => cards.len() as i64,
                None => model::public_count(conn, &filter)?,
            };
            let facet_rows = match (facets, cache.facets(&filter, version)) {
                (false, _) => None,
                (true, Some(rows)) => Some(rows),
                (true, None) => Some(model::public_facets(conn, &filter)?),
            };
            cache.store(&filter, version, Some(total), facet_rows.clone());
            let next_cursor = next_cursor(&mut cards, limit, |c| match sort {
                PublicSort::Newest => {
                    PublicCursor::Newest(c.published_at.unwrap_or_default(), c.id)
                }
                PublicSort::Deadline => PublicCursor::Deadline(c.application_deadline, c.id),
                PublicSort::Relevance => {
                    PublicCursor::Relevance(c.rank, c.published_at.unwrap_or_default(), c.id)
                }
            });
            let body = OfferPage {
                items: cards.iter().map(|c| OfferListItem::new(c, today)).collect(),
                total,
                facets: facet_rows.as_deref().map(Facets::from),
                next_cursor,
            };
            // The ETag is of the bytes: a page changes when any card on it does, or the total.
            let bytes = serde_json::to_vec(&body).map_err(ApiError::internal)?;
            let mut page = Rendered::of_bytes(bytes, "application/json");
            page.next_cursor = body.next_cursor;
            Ok(page)
        })
        .await?;
    let not_modified = crate::http::if_none_match(&req, &page.etag);
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, "public, max-age=30"))
        .insert_header((header::ETAG, page.etag.clone()));
    let mut res = if not_modified {
        res.finish()
    } else {
        page.ok(&mut res)
    };
    let base = &state.settings.public_base_url;
    add_next_link(&mut res, &req, base, limit, page.next_cursor.as_deref());
    Ok(res)
}

/// One published or closed offer, by id or slug. Drafts and archived offers are 404.
///
/// Rate-limited per client address (the `reads` policy).
#[utoipa::path(
    tag = "offers",
    params(("id_or_slug" = String, Path, description = "Offer id or slug")),
    responses(
        (status = 200, description = "The offer", body = OfferResponse,
            headers(("ETag" = String, description = "Strong validator of the body"))),
        (status = 304, description = "Unchanged since If-None-Match"),
        (status = 404, description = "No such public offer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/offers/{id_or_slug}")]
pub async fn get_public_offer(
    state: web::Data<AppState>,
    req: HttpRequest,
    id_or_slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limit(&req, Policy::Reads).await?;
    let key = id_or_slug.into_inner();
    if key.len() > 200 {
        return Err(ApiError::not_found());
    }
    let today = state.today();
    let cache_key = Key {
        route: "offer",
        day: today,
        params: key.clone(),
    };
    let page = state
        .cached(cache_key, move |conn, _| {
            let offer = model::find_public(conn, &key)?.ok_or_else(ApiError::not_found)?;
            let body = serde_json::to_vec(&OfferResponse::new(&offer, today))
                .map_err(ApiError::internal)?;
            // The ETag covers the body itself: it changes when `accepting_applications` does too.
            Ok(Rendered::of_bytes(body, "application/json"))
        })
        .await?;
    let not_modified = crate::http::if_none_match(&req, &page.etag);
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, page.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"));
    if not_modified {
        return Ok(res.finish());
    }
    Ok(page.ok(&mut res))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use chrono::NaiveDate;

    #[test]
    fn cursors_keep_their_wire_format_and_their_sort() {
        let id = Uuid::from_u128(5);
        let at = DateTime::from_timestamp_micros(1_764_590_400_123_456).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
        let cases = [
            (
                PublicCursor::Newest(at, id),
                PublicSort::Newest,
                format!("n|1764590400123456|{id}"),
            ),
            (
                PublicCursor::Deadline(day, id),
                PublicSort::Deadline,
                format!("d|2026-03-31|{id}"),
            ),
            (
                PublicCursor::Relevance(0.5, at, id),
                PublicSort::Relevance,
                format!("r|{}|1764590400123456|{id}", 0.5f32.to_bits()),
            ),
        ];
        for (cursor, sort, text) in &cases {
            let raw = URL_SAFE_NO_PAD.encode(text);
            assert_eq!(cursor.encode(), raw);
            assert_eq!(cursor_for_sort(&raw, *sort).unwrap(), *cursor);
        }
        // A cursor of one sort is refused by the others, like garbage.
        let newest = cases[0].0.encode();
        assert!(cursor_for_sort(&newest, PublicSort::Deadline).is_err());
        assert!(cursor_for_sort(&newest, PublicSort::Relevance).is_err());
        let bad = URL_SAFE_NO_PAD.encode(format!("d|not-a-date|{id}"));
        assert!(cursor_for_sort(&bad, PublicSort::Deadline).is_err());
        // A relevance cursor carries the tie-break date; one without (the format before
        // search_head) is refused, as are extra parts.
        for bad in [
            format!("r|{}|{id}", 0.5f32.to_bits()),
            format!("r|{}|1764590400123456|{id}|x", 0.5f32.to_bits()),
            format!("n|1764590400123456|{id}|x"),
        ] {
            let raw = URL_SAFE_NO_PAD.encode(bad);
            assert!(cursor_for_sort(&raw, PublicSort::Relevance).is_err());
            assert!(cursor_for_sort(&raw, PublicSort::Newest).is_err());
        }
        assert!(cursor_for_sort("%%", PublicSort::Newest).is_err());
    }
}
