//! The OpenAPI document, generated from the same route registration the server uses, and
//! the Swagger UI (served from vendored files).

use crate::ratelimit::Policy;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Passerelle",
        description = "A city's internship offers, applications and their review by staff. \
            Errors are RFC 9457 `application/problem+json` bodies with a stable `code`.",
        license(name = "AGPL-3.0-or-later"),
        contact(name = "The Passerelle maintainers (see the repository's README)")
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem, crate::validation::FieldError)),
    tags(
        (name = "auth", description = "Staff login, tokens and password"),
        (name = "staff users", description = "Staff accounts (admin)"),
        (name = "offers", description = "The public catalogue of internship offers"),
        (name = "staff offers", description = "Writing, publishing and closing offers (admin, manager)"),
        (name = "applications", description = "Applying to an offer"),
        (name = "candidate", description = "A candidate's own application, with the tracking token"),
        (name = "staff applications", description = "The pipeline of applications (admin, manager)"),
        (name = "reviews", description = "Reviewer assignments, scorecards, reviews and rankings"),
        (name = "staff partners", description = "Partner accounts, API keys, webhooks and attribution (admin; attribution also manager)"),
        (name = "partners", description = "Syncing the public offers, with a partner API key"),
        (name = "publication", description = "JSON-LD and XML/Atom feeds of the public offers"),
        (name = "audit", description = "Who did and saw what (admin)"),
        (name = "operations", description = "Health checks"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A staff access token from POST /api/v1/auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "tracking_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The tracking token returned once when applying (pct_...)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "partner_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A partner API key (ppk_...), issued by an admin at \
                         POST /api/v1/staff/partners; valid on /api/v1/partner/* only",
                    ))
                    .build(),
            ),
        );
    }
}

/// The whole document, as served at `/api-docs/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::routes)
        .split_for_parts();
    complete(&mut api);
    api
}

/// What the spec gains after the routes are collected, for the served and the committed
/// document alike.
pub fn complete(api: &mut utoipa::openapi::OpenApi) {
    add_shared_responses(api);
    document_rate_limits(api);
    describe_non_json_bodies(api);
    describe_merge_patches(api);
    declare_validators(api);
    lint_hygiene(api);
}

/// What the linters (Spectral's `spectral:oas`, Redocly's `recommended`, both in `.ci/run`)
/// ask of every document: a server (`/`: the host that served the document), a description
/// on every operation (its summary when the handler has no more to say), security stated on
/// every operation (`[]` on public ones), the licence's SPDX identifier, and no component
/// that nothing refers to (schemas utoipa collects from generic pages).
pub fn lint_hygiene(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::server::ServerBuilder;
    api.servers = Some(vec![ServerBuilder::new()
        .url("/")
        .description(Some("The host that serves this document"))
        .build()]);
    if let Some(license) = api.info.license.as_mut() {
        license.identifier = Some(license.name.clone());
    }
    for (_, op) in operations_mut(api) {
        if op
            .description
            .as_deref()
            .is_none_or(|d| d.trim().is_empty())
        {
            op.description = op.summary.clone();
        }
        op.security.get_or_insert_with(Vec::new);
    }
    // Drop the components no one refers to, until none is left (one may be the only user
    // of another).
    loop {
        let text = serde_json::to_string(&*api).unwrap_or_default();
        let Some(components) = api.components.as_mut() else {
            return;
        };
        let unused: Vec<String> = components
            .schemas
            .keys()
            .filter(|name| !text.contains(&format!("\"#/components/schemas/{name}\"")))
            .cloned()
            .collect();
        if unused.is_empty() {
            return;
        }
        for name in unused {
            components.schemas.remove(&name);
        }
    }
}

/// The bodies that always come with their version in `ETag` (for the next `If-Match`).
const VERSIONED: [&str; 3] = [
    "StaffOfferResponse",
    "StaffUserResponse",
    "StaffApplicationView",
];

/// Declares the validators, so generated clients expose them: `ETag` on every success that
/// carries a versioned resource (writes included), and `If-None-Match` as a parameter of
/// every operation that may answer 304.
pub fn declare_validators(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        header::HeaderBuilder,
        path::{ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Type},
        RefOr, Required,
    };
    let string = || ObjectBuilder::new().schema_type(Type::String).build();
    for (_, op) in operations_mut(api) {
        for (status, response) in op.responses.responses.iter_mut() {
            let RefOr::T(response) = response else {
                continue;
            };
            let versioned = status.starts_with('2')
                && response.content.values().any(|c| {
                    matches!(&c.schema, Some(RefOr::Ref(r))
                        if VERSIONED.iter().any(|v| r.ref_location.ends_with(&format!("/{v}"))))
                });
            if versioned && !response.headers.contains_key("ETag") {
                response.headers.insert(
                    "ETag".to_owned(),
                    HeaderBuilder::new()
                        .schema(string())
                        .description(Some("The version now, for the next If-Match"))
                        .build(),
                );
            }
        }
        let conditional = op.responses.responses.contains_key("304");
        let params = op.parameters.get_or_insert_with(Vec::new);
        if conditional && !params.iter().any(|p| p.name == "If-None-Match") {
            params.push(
                ParameterBuilder::new()
                    .name("If-None-Match")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .schema(Some(string()))
                    .description(Some(
                        "ETags the client holds (weak comparison): 304 when one is current",
                    ))
                    .build(),
            );
        }
        if params.is_empty() {
            op.parameters = None;
        }
    }
}

/// The JSON merge patches (RFC 7396) the API takes: (path, the schema patched, the name of
/// the patch's schema).
const MERGE_PATCHES: [(&str, &str, &str); 1] =
    [("/api/v1/staff/offers/{id}", "OfferInput", "OfferPatch")];

/// A merge patch of a schema is the same schema with nothing required, all the way down
/// (a patch may name one nested field): generated clients then type `{"positions": 2}`.
/// Arrays are replaced whole by a patch, so their items keep their own rules.
pub fn describe_merge_patches(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref};
    let Some(components) = api.components.as_mut() else {
        return;
    };
    for (path, patched, patch_name) in MERGE_PATCHES {
        let Some(schema) = components.schemas.get(patched) else {
            continue;
        };
        let patch = optional_all_the_way_down(schema, &components.schemas, 0);
        components.schemas.insert(patch_name.to_owned(), patch);
        let body = api
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.patch.as_mut())
            .and_then(|op| op.request_body.as_mut());
        if let Some(body) = body {
            body.content.insert(
                "application/merge-patch+json".to_owned(),
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name(patch_name)))
                    .build(),
            );
        }
    }
}

fn optional_all_the_way_down(
    schema: &utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    all: &std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    >,
    depth: usize,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::{schema::Schema, RefOr};
    const COMPONENTS: &str = "#/components/schemas/";
    match schema {
        RefOr::Ref(r) if depth < 8 => match r
            .ref_location
            .strip_prefix(COMPONENTS)
            .and_then(|n| all.get(n))
        {
            Some(target @ RefOr::T(Schema::Object(o))) if !o.properties.is_empty() => {
                optional_all_the_way_down(target, all, depth + 1)
            }
            _ => schema.clone(),
        },
        RefOr::T(Schema::Object(o)) if !o.properties.is_empty() => {
            let mut o = o.clone();
            o.required.clear();
            for property in o.properties.values_mut() {
                *property = optional_all_the_way_down(property, all, depth + 1);
            }
            RefOr::T(Schema::Object(o))
        }
        RefOr::T(Schema::OneOf(one)) => {
            let mut one = one.clone();
            for item in one.items.iter_mut() {
                *item = optional_all_the_way_down(item, all, depth + 1);
            }
            RefOr::T(Schema::OneOf(one))
        }
        _ => schema.clone(),
    }
}

/// Bodies that are not JSON are strings, whatever Rust type the handler builds them from:
/// documents as `format: binary` (generated clients then hand out bytes or a file, and
/// Swagger UI a file picker), and every one with its `contentMediaType` (OpenAPI 3.1).
/// A multipart form's file parts say which media type they must be.
pub fn describe_non_json_bodies(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        encoding::Encoding,
        schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type},
        RefOr,
    };
    let is_json = |ct: &str| ct == "application/json" || ct.ends_with("+json");
    let is_binary = |ct: &str| ct == "application/pdf" || ct == "application/octet-stream";
    for (_, op) in operations_mut(api) {
        for response in op.responses.responses.values_mut() {
            let RefOr::T(response) = response else {
                continue;
            };
            for (ct, content) in response.content.iter_mut() {
                if is_json(ct) || content.schema.is_none() {
                    continue;
                }
                let mut schema = ObjectBuilder::new()
                    .schema_type(Type::String)
                    .content_media_type(ct.clone());
                if is_binary(ct) {
                    schema = schema.format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)));
                }
                content.schema = Some(schema.build().into());
            }
        }
        let Some(body) = op.request_body.as_mut() else {
            continue;
        };
        if let Some(form) = body.content.get_mut("multipart/form-data") {
            for part in crate::applications::upload::FILE_FIELDS {
                form.encoding.insert(
                    part.to_owned(),
                    Encoding::builder()
                        .content_type(Some("application/pdf"))
                        .build(),
                );
            }
        }
    }
}

/// Documents the answers every operation of a kind shares, so that handlers list only their
/// own: on staff operations (bearer security) the 401 of the token check; on operations that
/// read `If-Match` its 412 and 428; on every operation that takes a JSON body, the answers of
/// the JSON extractor
/// (`JsonConfig` and `error::json_error`, shared by all routes) before its handler runs:
/// 400 malformed JSON, 408 body too slow, 413 over the route's limit, 415 not a JSON content
/// type, 422 JSON of the wrong shape; and on every `/api/` operation the 503 of an
/// unavailable database or a missed deadline. A route's own description of a status, when
/// it has one, stays.
///
/// Runs after the routes are collected (a `Modify` on `ApiDoc` runs before there are paths).
pub fn add_shared_responses(api: &mut utoipa::openapi::OpenApi) {
    const REJECTIONS: [(&str, &str); 5] = [
        ("400", "Malformed JSON (`malformed_json`)"),
        (
            "408",
            "Body not received within REQUEST_TIMEOUT_SECONDS (`body_timeout`)",
        ),
        (
            "413",
            "Body larger than the route's limit: 8 KiB on /api/v1/auth/*, JSON_BODY_LIMIT_BYTES \
             elsewhere (`payload_too_large`)",
        ),
        (
            "415",
            "Body not sent as application/json (`unsupported_media_type`)",
        ),
        (
            "422",
            "JSON of the wrong shape (`invalid_body`: every missing, mistyped, invalid or \
             unknown field in `errors`, codes `required`, `invalid_type`, `invalid_value`, \
             `unknown_field`) or invalid values",
        ),
    ];
    const UNAVAILABLE: &str = "Database unreachable or not migrated yet \
        (`database_unavailable`), a statement past REQUEST_TIMEOUT_SECONDS \
        (`deadline_exceeded`), or too many sign-ins at once (`busy`); with `Retry-After`";
    const STAFF_TOKEN: (&str, &str) = (
        "401",
        "No staff access token (`unauthenticated`), or one that is invalid, expired or revoked \
         (`invalid_token`)",
    );
    const IF_MATCH: [(&str, &str); 2] = [
        (
            "412",
            "The resource changed since it was read: `If-Match` names another version \
             (`stale_etag`)",
        ),
        ("428", "If-Match missing (`if_match_required`)"),
    ];
    for (path, op) in operations_mut(api) {
        // A staff route answers 401 before its handler runs (the `AuthUser` extractor).
        let staff = op.security.iter().flatten().any(|requirement| {
            serde_json::to_value(requirement).is_ok_and(|v| v.get("bearer").is_some())
        });
        // A route that reads `If-Match` refuses a write without it or with a stale one.
        let conditional = op.parameters.iter().flatten().any(|p| {
            p.name == "If-Match"
                && matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Header)
        });
        let staff = staff.then_some(STAFF_TOKEN);
        let conditional = IF_MATCH.iter().copied().filter(|_| conditional);
        let takes_json = op.request_body.as_ref().is_some_and(|body| {
            body.content
                .keys()
                .any(|ct| ct == "application/json" || ct.ends_with("+json"))
        });
        // Any API operation can meet an unavailable database (at start-up too) or a
        // statement past the request deadline.
        let unavailable = path.starts_with("/api/").then_some(("503", UNAVAILABLE));
        let rejections = REJECTIONS.iter().copied().filter(|_| takes_json);
        for (status, description) in unavailable
            .into_iter()
            .chain(rejections)
            .chain(staff)
            .chain(conditional)
        {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| problem_response(description));
        }
    }
}

/// Every operation of the document with its path, for the post-passes.
fn operations_mut(
    api: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = (&String, &mut utoipa::openapi::path::Operation)> {
    operations_with_methods_mut(api).map(|(path, _, op)| (path, op))
}

/// The same, with each operation's method.
fn operations_with_methods_mut(
    api: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = (&String, &'static str, &mut utoipa::openapi::path::Operation)> {
    api.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ]
        .into_iter()
        .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
        .map(move |(method, op)| (&*path, method, op))
    })
}

/// How a limited operation counts its callers, for [`document_rate_limits`].
#[derive(Clone, Copy)]
pub enum Counted {
    /// Per client address under these policies (`ratelimit`), with the RateLimit headers on
    /// the listed successes and on the 429.
    PerAddress {
        policies: &'static [Policy],
        successes: &'static [&'static str],
    },
    /// Per partner key, in fixed windows (PARTNER_RATE_LIMIT per
    /// PARTNER_RATE_WINDOW_SECONDS): a 429 with Retry-After.
    PerPartnerKey,
}

/// Every operation that can answer 429 because of a rate limit, by method and path. A spec
/// test fails when an entry names no operation; the handlers document only what is specific
/// to them (another cause of 429, for example).
pub const RATE_LIMITED: [(&str, &str, Counted); 8] = {
    use Counted::PerPartnerKey;
    use Policy::{Apply, EmailChange, Login, Reads, Search};
    const fn by_address(policies: &'static [Policy], success: &'static [&'static str]) -> Counted {
        Counted::PerAddress {
            policies,
            successes: success,
        }
    }
    [
        (
            "GET",
            "/api/v1/offers",
            by_address(&[Reads, Search], &["200"]),
        ),
        (
            "GET",
            "/api/v1/offers/{id_or_slug}",
            by_address(&[Reads], &["200"]),
        ),
        (
            "POST",
            "/api/v1/offers/{id_or_slug}/applications",
            by_address(&[Apply], &["201"]),
        ),
        ("POST", "/api/v1/auth/login", by_address(&[Login], &["200"])),
        // Counted only when the correction changes the email (the 202).
        (
            "PATCH",
            "/api/v1/candidate/application",
            by_address(&[EmailChange], &["202"]),
        ),
        (
            "POST",
            "/api/v1/candidate/application/email/confirm",
            by_address(&[EmailChange], &["200"]),
        ),
        ("GET", "/api/v1/partner/offers", PerPartnerKey),
        ("GET", "/api/v1/partner/offers/changes", PerPartnerKey),
    ]
};

/// Adds to each operation of [`RATE_LIMITED`] its 429 (unless the handler describes it) and
/// the headers: `Retry-After` on the 429, and for per-address limits `RateLimit-Policy` and
/// `RateLimit` (draft-ietf-httpapi-ratelimit-headers) on the 429 and the counted successes.
pub fn document_rate_limits(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        header::HeaderBuilder,
        schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type},
        RefOr,
    };
    let header = |t: Type, description: &str| {
        let schema = ObjectBuilder::new().schema_type(t.clone());
        let schema = match t {
            Type::Integer => schema
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(0)),
            _ => schema,
        };
        HeaderBuilder::new()
            .schema(schema)
            .description(Some(description))
            .build()
    };
    for (path, method, op) in operations_with_methods_mut(api) {
        let Some((_, _, counted)) = RATE_LIMITED
            .iter()
            .find(|(m, p, _)| *m == method && p == path)
        else {
            continue;
        };
        let (policies, successes, too_many): (&[Policy], &[&str], _) = match counted {
            Counted::PerAddress {
                policies,
                successes,
            } => (
                policies,
                successes,
                "Too many requests from this address (`rate_limited`",
            ),
            Counted::PerPartnerKey => (
                &[],
                &[],
                "Too many requests with this partner key in the current window \
                 (`too_many_requests`",
            ),
        };
        let names = policies
            .iter()
            .map(|p| format!("`{}`", p.name()))
            .collect::<Vec<_>>()
            .join(" or ");
        let policy = if names.is_empty() {
            String::new()
        } else {
            format!(", policy {names}")
        };
        let rate_headers = [
            (
                "RateLimit-Policy",
                format!(
                    "The policy counted ({names}), as `\"<policy>\";q=<limit>;w=<window in \
                     seconds>`; absent when the policy is off"
                ),
            ),
            (
                "RateLimit",
                "What is left of it, as `\"<policy>\";r=<remaining>;t=<seconds until the \
                 window ends>`"
                    .to_owned(),
            ),
        ];
        let responses = &mut op.responses.responses;
        if let RefOr::T(response) = responses
            .entry("429".to_owned())
            .or_insert_with(|| problem_response(&format!("{too_many}{policy}); see Retry-After")))
        {
            let retry_after = header(Type::Integer, "Seconds to wait");
            response
                .headers
                .insert("Retry-After".to_owned(), retry_after);
        }
        let counted_on = successes
            .iter()
            .chain(policies.first().map(|_| &"429"))
            .copied();
        for status in counted_on {
            if let Some(RefOr::T(response)) = responses.get_mut(status) {
                for (name, description) in &rate_headers {
                    let value = header(Type::String, description);
                    response.headers.insert((*name).to_owned(), value);
                }
            }
        }
    }
}

/// A problem+json response with this description, for the post-passes.
fn problem_response(
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::response::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    ResponseBuilder::new()
        .description(description)
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

/// Where the document is served.
pub const SERVED_AT: &str = "/api-docs/openapi.json";

/// The document as served: its bytes and their ETag, made once at start-up.
pub struct Served {
    bytes: actix_web::web::Bytes,
    etag: String,
}

impl Served {
    pub fn new(api: &utoipa::openapi::OpenApi) -> Self {
        let bytes = serde_json::to_vec(api).unwrap_or_default();
        Served {
            etag: crate::http::bytes_etag(&bytes),
            bytes: bytes.into(),
        }
    }
}

/// `GET /api-docs/openapi.json`: the document, 304 when the client holds it.
pub async fn serve(
    req: actix_web::HttpRequest,
    doc: actix_web::web::Data<Served>,
) -> actix_web::HttpResponse {
    use actix_web::{http::header, HttpResponse};
    let unchanged = crate::http::if_none_match(&req, &doc.etag);
    let mut res = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, doc.etag.clone()))
        .insert_header((header::CACHE_CONTROL, crate::cache_policy::SPEC));
    if unchanged {
        return res.finish();
    }
    res.content_type(mime::APPLICATION_JSON)
        .body(doc.bytes.clone())
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}
