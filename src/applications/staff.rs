//! Staff side of applications: an offer's list, one application, its documents and history,
//! pipeline moves and the CSV export. Every read of applicant data is audited.

use super::{
    domain::{staff_move, ApplicationStatus, MoveError},
    model::{self, Actor, Application, StaffFilter},
    views::{HistoryEntry, ReviewStats, StaffApplicationListItem, StaffApplicationView},
};
use crate::http::JsonBody;
use crate::{
    audit,
    auth::AuthUser,
    db::pagination::{Cursor, Position},
    error::{ApiError, Code, Problem},
    http::pages::{Page, PageParams},
    http::{check_if_match, if_match, respond_with_etag, version_etag},
    offers::model as offers,
    reviews::{
        access::{application_access, offer_access, Access},
        model as reviews,
    },
    state::AppState,
};
use actix_web::{get, http::header, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The application and what the caller may do with it (404 when nothing).
fn load(
    conn: &mut PgConnection,
    auth: &AuthUser,
    id: Uuid,
) -> Result<(Application, Access), ApiError> {
    let application = model::find(conn, id)?.ok_or_else(ApiError::not_found)?;
    let access = application_access(conn, auth, &application)?;
    Ok((application, access))
}

/// The orders of an offer's list of applications.
pub const LIST_SORTS: [&str; 3] = ["-submitted_at", "submitted_at", "-score"];

fn list_sort_schema() -> utoipa::openapi::Object {
    crate::validation::string_enum_schema(
        &LIST_SORTS,
        false,
        "`-submitted_at` (default, newest first), `submitted_at`, or `-score` (best first).",
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationListQuery {
    /// Only this pipeline status.
    #[param(value_type = Option<crate::applications::domain::ApplicationStatus>)]
    pub status: Option<String>,
    /// Only this source (partner or channel).
    pub source: Option<String>,
    /// The start of a first name, last name or email. Not for reviewers of an offer reviewed
    /// blind (422, field code `blind_review_search`): it would reveal the hidden identities.
    pub q: Option<String>,
    /// `-submitted_at` (default, newest first), `submitted_at`, or `-score` (weighted mean
    /// of the reviews, best first; unreviewed last; for a reviewer, of their own reviews).
    #[param(schema_with = list_sort_schema)]
    pub sort: Option<String>,
}

/// List an offer's applications (admin, manager, its reviewers). Never returns document contents.
#[utoipa::path(
    tag = "staff applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"), ApplicationListQuery, PageParams),
    responses(
        (status = 200, description = "A page of applications", body = Page<StaffApplicationListItem>),
        (status = 404, description = "No such offer, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid query (`validation_failed`; `q` from a reviewer of a blind offer is the field code `blind_review_search`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/offers/{id}/applications")]
pub async fn list_applications(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<ApplicationListQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page.limit()?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            ApplicationStatus::parse(s).ok_or_else(|| {
                ApiError::invalid_field("status", "invalid_choice", "is not a pipeline status")
            })
        })
        .transpose()?;
    let sort = match query.sort.as_deref() {
        None | Some("-submitted_at") => ListSort::Newest,
        Some("submitted_at") => ListSort::Oldest,
        Some("-score") => ListSort::Score,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "sort",
                "invalid_choice",
                "must be -submitted_at, submitted_at or -score",
            ))
        }
    };
    let q = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    if q.as_deref().is_some_and(|q| q.chars().count() > 100) {
        return Err(ApiError::invalid_field(
            "q",
            "too_long",
            "must have at most 100 characters",
        ));
    }
    if q.is_some() && sort == ListSort::Score {
        return Err(ApiError::invalid_field(
            "q",
            "not_with_score_sort",
            "search is not available with sort=-score",
        ));
    }
    let cursor = page.cursor.clone();
    let filter = StaffFilter {
        status,
        source: query.source.clone(),
        q,
        oldest_first: sort == ListSort::Oldest,
        exclude: Vec::new(),
    };
    let (offer_id, now) = (id.into_inner(), state.now());
    let listed = state
        .db(move |conn| {
            let access = offer_access(conn, &auth, offer_id)?;
            offers::find(conn, offer_id)?.ok_or_else(ApiError::not_found)?;
            if access.is_blind() && filter.q.is_some() {
                // `q` matches names and emails: by prefix, it would spell a hidden identity.
                return Err(ApiError::invalid_field(
                    "q",
                    "blind_review_search",
                    "this offer is reviewed blind: searching by name or email is not available to reviewers",
                ));
            }
            let listed = list_page(
                conn,
                &auth,
                access,
                offer_id,
                filter,
                sort,
                cursor.as_deref(),
                limit,
            )?;
            audit::Audit::staff(auth.id)
                .did("application.list_viewed")
                .on("offer", offer_id)
                .with(json!({ "count": listed.items.len() }))
                .record(conn, now)?;
            Ok(listed)
        })
        .await?;
    Ok(listed.respond(&req, &state.settings.public_base_url, limit))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListSort {
    Newest,
    Oldest,
    Score,
}

/// A position in the list sorted by `-score`: after the application `id` with this weighted
/// mean (-1 for unreviewed, which sort last): `s|<f64 bits>|<id>`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ScoreCursor {
    mean: f64,
    id: Uuid,
}

impl Cursor for ScoreCursor {
    const INVALID: &'static str = "is not a cursor of this list and sort";

    fn to_text(&self) -> String {
        format!("s|{}|{}", self.mean.to_bits(), self.id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '|');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("s"), Some(bits), Some(id)) => Some(ScoreCursor {
                mean: f64::from_bits(bits.parse().ok()?),
                id: Uuid::parse_str(id).ok()?,
            }),
            _ => None,
        }
    }
}

/// One page of the list, with review statistics for managers, identities hidden in blind
/// review, and the caller's conflicts left out: a fixed number of queries whatever the size.
#[allow(clippy::too_many_arguments)]
fn list_page(
    conn: &mut PgConnection,
    auth: &AuthUser,
    access: Access,
    offer_id: Uuid,
    mut filter: StaffFilter,
    sort: ListSort,
    cursor: Option<&str>,
    limit: i64,
) -> Result<Page<StaffApplicationListItem>, ApiError> {
    let reviewer = (!access.is_manager()).then_some(auth.id);
    if let Some(r) = reviewer {
        filter.exclude = reviews::conflicted_ids(conn, offer_id, r)?;
    }
    let (rows, total, stats) = if sort == ListSort::Score {
        let after = cursor
            .map(ScoreCursor::decode)
            .transpose()?
            .map(|c| (c.mean, c.id));
        let ranked = reviews::ranked_ids(
            conn,
            offer_id,
            filter.status.map(ApplicationStatus::as_str),
            filter.source.as_deref(),
            reviewer,
            after,
            limit + 1,
        )?;
        let ids: Vec<Uuid> = ranked.iter().map(|s| s.application_id).collect();
        let mut by_id: HashMap<Uuid, Application> = model::by_ids(conn, &ids)?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let rows: Vec<Application> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        let total = model::count_for_offer(conn, offer_id, &filter)?;
        let stats: HashMap<Uuid, reviews::Stats> =
            ranked.into_iter().map(|s| (s.application_id, s)).collect();
        (rows, total, stats)
    } else {
        let after = cursor.map(Position::<Uuid>::decode).transpose()?;
        let (rows, total) = model::list_for_offer(conn, offer_id, &filter, after, limit)?;
        let ids: Vec<Uuid> = rows.iter().map(|a| a.id).collect();
        (rows, total, reviews::stats_for(conn, offer_id, &ids)?)
    };
    let (show_stats, blind) = (access.is_manager(), access.is_blind());
    let item = |a: Application| {
        let review_stats = stats
            .get(&a.id)
            .filter(|_| show_stats)
            .map(|s| ReviewStats::from(*s));
        let mut item = StaffApplicationListItem::from(a);
        item.review_stats = review_stats;
        if blind {
            item.hide_identity();
        }
        item
    };
    Ok(if sort == ListSort::Score {
        Page::from_rows(
            rows,
            limit,
            total,
            |a| ScoreCursor {
                mean: stats.get(&a.id).and_then(|s| s.mean).unwrap_or(-1.0),
                id: a.id,
            },
            item,
        )
    } else {
        Page::from_rows(
            rows,
            limit,
            total,
            |a| Position {
                at: a.created_at,
                id: a.id,
            },
            item,
        )
    })
}

/// Read an application with its documents' descriptions (admin, manager).
#[utoipa::path(
    tag = "staff applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 200, description = "The application", body = StaffApplicationView,
            headers(("ETag" = String, description = "Version, for If-Match on moves"))),
        (status = 404, description = "No such application, or not yours to see", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/applications/{id}")]
pub async fn get_application(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (id, actor, now) = (id.into_inner(), auth.id, state.now());
    let (application, view) = state
        .db(move |conn| {
            let (a, access) = load(conn, &auth, id)?;
            let docs = model::documents(conn, id)?;
            audit::Audit::staff(actor)
                .did("application.viewed")
                .on("application", id)
                .record(conn, now)?;
            let mut view = StaffApplicationView::new(&a, &docs);
            if access.is_blind() {
                view.hide_identity();
            }
            Ok((a, view))
        })
        .await?;
    let mut res = respond_with_etag(
        &req,
        &version_etag(application.id, application.version),
        &view,
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

/// Download a document of an application (admin, manager; its reviewers unless the review is blind).
#[utoipa::path(
    tag = "staff applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Application id"), ("document_id" = Uuid, Path, description = "Document id")),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 403, description = "Blind review: documents are for managers", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such document, or not yours to see", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/applications/{id}/documents/{document_id}")]
pub async fn download_document(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let ((id, document_id), actor, now) = (path.into_inner(), auth.id, state.now());
    let (meta, bytes) = state
        .db(move |conn| {
            let (_, access) = load(conn, &auth, id)?;
            if access.is_blind() {
                return Err(ApiError::new(
                    crate::error::ErrorKind::Forbidden,
                    Code::BlindReview,
                    "This offer is reviewed blind: documents, which name the candidate, are for managers.",
                ));
            }
            let doc = model::document_with_content(conn, id, document_id)?
                .ok_or_else(ApiError::not_found)?;
            audit::Audit::staff(actor)
                .did("application.document_downloaded")
                .on("application", id)
                .with(json!({ "document_id": document_id, "kind": doc.0.kind }))
                .record(conn, now)?;
            Ok(doc)
        })
        .await?;
    let ascii: String = meta
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = crate::http::rfc5987_encode(&meta.filename);
    Ok(HttpResponse::Ok()
        .content_type(meta.content_type.as_str())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("Content-Security-Policy", "sandbox"))
        .body(bytes))
}

/// The full history of an application: every move, who made it, when and why.
#[utoipa::path(
    tag = "staff applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Application id"), PageParams),
    responses(
        (status = 200, description = "A page of the history, oldest first", body = Page<HistoryEntry>,
            headers(("Link" = String, description = "RFC 8288 link to the next page"))),
        (status = 404, description = "No such application, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit or cursor", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/applications/{id}/history")]
pub async fn application_history(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let (id, actor, now) = (id.into_inner(), auth.id, state.now());
    let limit = page.limit()?;
    let after = page.cursor::<Position<i64>>()?.map(|p| p.id);
    let (events, total) = state
        .db(move |conn| {
            load(conn, &auth, id)?;
            let events = model::history_page(conn, id, after, limit)?;
            audit::Audit::staff(actor)
                .did("application.history_viewed")
                .on("application", id)
                .record(conn, now)?;
            Ok(events)
        })
        .await?;
    let page = Page::from_rows(
        events,
        limit,
        total,
        |e| Position { at: e.at, id: e.id },
        |e| HistoryEntry::from(&e),
    );
    Ok(page.respond(&req, &state.settings.public_base_url, limit))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The next pipeline status, or `rejected`.
    #[schema(schema_with = super::domain::staff_target_schema, example = "screening")]
    pub to: String,
    /// Required to reject: `profile_mismatch`, `insufficient_level`, `position_filled`,
    /// `incomplete_application`, `candidate_unavailable` or `other`.
    #[schema(schema_with = super::domain::rejection_reason_schema)]
    pub reason: Option<String>,
    /// With `rejected`: send the candidate the rejection message.
    #[serde(default)]
    pub notify_candidate: bool,
}

/// Move an application through the pipeline (admin, manager; needs If-Match).
#[utoipa::path(
    tag = "staff applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Application id"),
           ("If-Match" = String, Header, description = "The application's current ETag")),
    request_body = TransitionRequest,
    responses(
        (status = 200, description = "Moved", body = StaffApplicationView),
        (status = 403, description = "Reviewers may not move applications", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a move the pipeline allows from here", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status or missing rejection reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/applications/{id}/transition")]
pub async fn transition_application(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: JsonBody<TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?;
    let (id, actor, now) = (id.into_inner(), auth.id, state.now());
    let (moved, docs) = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let current = model::lock(conn, id)?.ok_or_else(ApiError::not_found)?;
                application_access(conn, &auth, &current)?.require_manager()?;
                // The body is looked at once the caller is known to be allowed.
                let body = body.take()?;
                let to = ApplicationStatus::parse(&body.to).ok_or_else(|| {
                    ApiError::invalid_field("to", "invalid_choice", "is not a pipeline status")
                })?;
                check_if_match(&expected, &version_etag(current.id, current.version))?;
                staff_move(current.status, to, body.reason.as_deref()).map_err(|e| match e {
                    MoveError::Illegal(why) => ApiError::conflict(Code::IllegalTransition, why),
                    MoveError::Invalid(field) => ApiError::validation(vec![field]),
                })?;
                let moved = model::set_status(conn, id, to, body.reason.as_deref(), now)?;
                model::record_event(
                    conn,
                    id,
                    now,
                    Actor::Staff(actor),
                    Some(current.status),
                    to,
                    body.reason.as_deref(),
                )?;
                if to == ApplicationStatus::Rejected && body.notify_candidate {
                    notify_rejection(conn, &moved, now)?;
                }
                audit::Audit::staff(actor)
                    .did("application.moved")
                    .on("application", id)
                    .with(json!({ "from": current.status, "to": moved.status }))
                    .record(conn, now)?;
                Ok((moved, model::documents(conn, id)?))
            })
        })
        .await?;
    log::info!(
        "application {id} moved to {} by {actor}",
        moved.status.as_str()
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, version_etag(moved.id, moved.version)))
        .json(StaffApplicationView::new(&moved, &docs)))
}

fn notify_rejection(
    conn: &mut PgConnection,
    a: &Application,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let offer = offers::find(conn, a.offer_id)?.ok_or_else(ApiError::not_found)?;
    if let Some(mail) = super::mail::rejection(a, &offer) {
        super::mail::queue(conn, mail, now)?;
    }
    Ok(())
}

/// A CSV cell: quoted, and defused when a spreadsheet would read it as a formula.
fn csv_cell(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

/// The cell separator of the CSV export.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CsvSeparator {
    /// `;`, what Excel expects in a French locale (the default).
    #[default]
    Semicolon,
    /// `,`, RFC 4180, for other locales and for programs.
    Comma,
}

impl CsvSeparator {
    fn as_str(self) -> &'static str {
        match self {
            CsvSeparator::Semicolon => ";",
            CsvSeparator::Comma => ",",
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `semicolon` (default: Excel in a French locale opens the file in columns) or `comma`
    /// (RFC 4180).
    #[param(inline)]
    pub separator: Option<CsvSeparator>,
}

/// All applications of an offer as CSV (admin, manager), for a spreadsheet: UTF-8 with a
/// byte-order mark, `;` between cells by default (French Excel opens it in columns; `?separator=comma`
/// for RFC 4180 commas), every cell quoted, and cells a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`, tab, carriage return) prefixed with `'`.
#[utoipa::path(
    tag = "staff applications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Offer id"), ExportParams),
    responses(
        (status = 200, description = "UTF-8 CSV with a byte-order mark, one line per application", content_type = "text/csv", body = String),
        (status = 403, description = "Reviewers may not export applications", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer, or not yours to see", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown `separator`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/offers/{id}/applications/export.csv")]
pub async fn export_applications_csv(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<Uuid>,
    params: web::Query<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let sep = params.separator.unwrap_or_default().as_str();
    let (offer_id, actor, now) = (id.into_inner(), auth.id, state.now());
    let (offer, rows) = state
        .db(move |conn| {
            offer_access(conn, &auth, offer_id)?.require_manager()?;
            let offer = offers::find(conn, offer_id)?.ok_or_else(ApiError::not_found)?;
            let rows = model::all_for_offer(conn, offer_id)?;
            audit::Audit::staff(actor)
                .did("application.csv_exported")
                .on("offer", offer_id)
                .with(json!({ "count": rows.len() }))
                .record(conn, now)?;
            Ok((offer, rows))
        })
        .await?;
    const COLUMNS: [&str; 14] = [
        "id",
        "submitted_at",
        "status",
        "rejection_reason",
        "first_name",
        "last_name",
        "email",
        "phone",
        "education_level",
        "school",
        "field_of_study",
        "available_from",
        "available_until",
        "source",
    ];
    let mut csv = format!("\u{feff}{}\r\n", COLUMNS.join(sep));
    for a in rows {
        let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        let cells = [
            a.id.to_string(),
            a.created_at.to_rfc3339(),
            a.status.as_str().to_owned(),
            a.rejection_reason.clone().unwrap_or_default(),
            a.first_name.clone().unwrap_or_default(),
            a.last_name.clone().unwrap_or_default(),
            a.email.clone().unwrap_or_default(),
            a.phone.clone().unwrap_or_default(),
            a.education_level.clone().unwrap_or_default(),
            a.school.clone().unwrap_or_default(),
            a.field_of_study.clone().unwrap_or_default(),
            date(a.available_from),
            date(a.available_until),
            a.source.clone().unwrap_or_default(),
        ];
        csv.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(sep),
        );
        csv.push_str("\r\n");
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"candidatures-{}.csv\"",
                offer.content.reference.replace(['"', '/', '\\'], "_")
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(csv))
}

#[cfg(test)]
mod tests {
    use super::{csv_cell, Cursor, Position, ScoreCursor};
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use uuid::Uuid;

    #[test]
    fn score_cursors_keep_their_wire_format() {
        let id = Uuid::from_u128(3);
        let c = ScoreCursor { mean: 3.25, id };
        let raw = URL_SAFE_NO_PAD.encode(format!("s|{}|{id}", 3.25f64.to_bits()));
        assert_eq!(c.encode(), raw);
        assert_eq!(ScoreCursor::decode(&raw).unwrap(), c);
        let unreviewed = ScoreCursor { mean: -1.0, id };
        assert_eq!(
            ScoreCursor::decode(&unreviewed.encode()).unwrap(),
            unreviewed
        );
        let newest = Position {
            at: chrono::DateTime::from_timestamp(1_764_590_400, 0).unwrap(),
            id,
        };
        assert!(ScoreCursor::decode(&newest.encode()).is_err());
        assert!(Position::<Uuid>::decode(&c.encode()).is_err());
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("Benali"), "\"Benali\"");
        assert_eq!(csv_cell("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+33 6"), "\"'+33 6\"");
    }
}
