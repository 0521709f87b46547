//! Public publication formats: `GET /api/v1/offers/{id}/jsonld` (schema.org `JobPosting`),
//! `GET /api/v1/feeds/offers.xml` (Indeed-style) and `GET /api/v1/feeds/offers.atom`
//! (Atom 1.0). Anonymous and cacheable: strong ETags, `Last-Modified`, 304.

use super::{
    jsonld::{job_posting, to_embeddable_json, Employer},
    model,
    text::offer_url,
    xml::{atom_feed, indeed_feed, FeedInfo},
};
use crate::{
    error::{ApiError, Problem},
    offers::model as offers,
    public_cache::{Key, Rendered},
    settings::Settings,
    state::AppState,
};
use actix_web::{
    get,
    http::header::{self, HttpDate},
    web, HttpRequest, HttpResponse,
};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn http_date(t: DateTime<Utc>) -> HttpDate {
    let secs = u64::try_from(t.timestamp()).unwrap_or(0);
    HttpDate::from(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// 200 with the body, or 304 when `If-None-Match` names its ETag or, without
/// `If-None-Match`, when `If-Modified-Since` is not older than `last_modified` (RFC 9110).
fn cacheable(req: &HttpRequest, page: &Rendered) -> HttpResponse {
    let etag = page.etag.clone();
    let modified = page.last_modified.map(http_date);
    let not_modified = match header_str(req, header::IF_NONE_MATCH) {
        Some(_) => crate::http::if_none_match(req, &etag),
        None => match (header_str(req, header::IF_MODIFIED_SINCE), modified) {
            (Some(since), Some(modified)) => since
                .parse::<HttpDate>()
                .is_ok_and(|since| SystemTime::from(modified) <= SystemTime::from(since)),
            _ => false,
        },
    };
    let mut res = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"));
    if let Some(m) = modified {
        res.insert_header((header::LAST_MODIFIED, m));
    }
    if not_modified {
        res.finish()
    } else {
        page.ok(&mut res)
    }
}

/// A feed or document as [`cacheable`] answers with it.
fn rendered(
    body: String,
    content_type: &'static str,
    last_modified: Option<DateTime<Utc>>,
) -> Rendered {
    let mut page = Rendered::of_bytes(body, content_type);
    page.last_modified = last_modified;
    page
}

/// An offer as schema.org `JobPosting` JSON-LD, for Google for Jobs and other aggregators.
///
/// Published and closed offers; a closed one has `validThrough` in the past and
/// `directApply: false`. Drafts and archived offers are 404.
#[utoipa::path(
    tag = "publication",
    params(("id" = String, Path, description = "Offer id or slug")),
    responses(
        (status = 200, description = "The JobPosting", content_type = "application/ld+json", body = super::jsonld::JobPostingDoc,
            headers(("ETag" = String, description = "Version of the document"))),
        (status = 304, description = "Unchanged since If-None-Match"),
        (status = 404, description = "No such public offer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/offers/{id}/jsonld")]
pub async fn offer_jsonld(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let now = state.now();
    let key = Key {
        route: "jsonld",
        day: state.calendar().today(now),
        params: id.clone(),
    };
    let settings = state.settings.clone();
    let page = state
        .cached(key, move |conn, _| {
            let offer = offers::find_public(conn, &id)?.ok_or_else(ApiError::not_found)?;
            let url = offer_url(&settings.partners.offer_url_template, &offer);
            let employer = Employer {
                same_as: settings.partners.organization_url.as_deref(),
                logo: settings.partners.organization_logo_url.as_deref(),
            };
            let posting = job_posting(&offer, &url, &employer, &settings.calendar.zone, now);
            Ok(rendered(
                to_embeddable_json(&posting),
                "application/ld+json",
                Some(offer.updated_at),
            ))
        })
        .await?;
    Ok(cacheable(&req, &page))
}

fn feed_data(conn: &mut PgConnection) -> Result<(Vec<offers::Offer>, DateTime<Utc>), ApiError> {
    let published = offers::all_published(conn)?;
    let changed = model::last_change_at(conn)?;
    let newest = published.iter().map(|o| o.updated_at).max();
    let updated = changed.max(newest).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    Ok((published, updated))
}

/// A whole feed, `xml` or `atom`, from the cache or rendered.
async fn feed(
    state: &AppState,
    route: &'static str,
    content_type: &'static str,
    render: fn(&FeedInfo, &[offers::Offer]) -> String,
) -> Result<Arc<Rendered>, ApiError> {
    let key = Key {
        route,
        day: state.today(),
        params: String::new(),
    };
    let settings = state.settings.clone();
    state
        .cached(key, move |conn, _| {
            let (published, updated) = feed_data(conn)?;
            let body = render(&info(&settings, updated), &published);
            Ok(rendered(body, content_type, Some(updated)))
        })
        .await
}

fn info(settings: &Settings, updated: DateTime<Utc>) -> FeedInfo<'_> {
    FeedInfo {
        publisher: &settings.partners.feed_publisher,
        base_url: &settings.public_base_url,
        organization_url: settings.partners.organization_url.as_deref(),
        offer_url_template: &settings.partners.offer_url_template,
        updated,
    }
}

/// Every published offer as an Indeed-style XML job feed (values in CDATA).
#[utoipa::path(
    tag = "publication",
    responses(
        (status = 200, description = "The feed", content_type = "application/xml", body = String,
            headers(("ETag" = String, description = "Version of the feed"),
                    ("Last-Modified" = String, description = "When the public offers last changed"))),
        (status = 304, description = "Unchanged since If-None-Match or If-Modified-Since"),
    )
)]
#[get("/feeds/offers.xml")]
pub async fn xml_feed(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = feed(&state, "xml", "application/xml; charset=utf-8", indeed_feed).await?;
    Ok(cacheable(&req, &page))
}

/// Every published offer as an Atom 1.0 feed.
#[utoipa::path(
    tag = "publication",
    responses(
        (status = 200, description = "The feed", content_type = "application/atom+xml", body = String,
            headers(("ETag" = String, description = "Version of the feed"),
                    ("Last-Modified" = String, description = "When the public offers last changed"))),
        (status = 304, description = "Unchanged since If-None-Match or If-Modified-Since"),
    )
)]
#[get("/feeds/offers.atom")]
pub async fn atom_feed_route(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = feed(
        &state,
        "atom",
        "application/atom+xml; charset=utf-8",
        atom_feed,
    )
    .await?;
    Ok(cacheable(&req, &page))
}
