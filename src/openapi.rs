//! The OpenAPI document, generated from the same route registration the server uses, and
//! the Swagger UI (served from vendored files).

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
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
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
        .configure(crate::routes)
        .split_for_parts();
    add_shared_responses(&mut api);
    api
}

/// Documents, on every operation that takes a JSON body, the answers of the JSON extractor
/// (`JsonConfig` and `error::json_error`, shared by all routes) before its handler runs:
/// 400 malformed JSON, 408 body too slow, 413 over the route's limit, 415 not a JSON content
/// type, 422 JSON of the wrong shape; and on every `/api/` operation the 503 of an
/// unavailable database or a missed deadline. A route's own description of a status, when
/// it has one, stays.
///
/// Runs after the routes are collected (a `Modify` on `ApiDoc` runs before there are paths).
pub fn add_shared_responses(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
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
    for (path, item) in api.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            let takes_json = op.request_body.as_ref().is_some_and(|body| {
                body.content
                    .keys()
                    .any(|ct| ct == "application/json" || ct.ends_with("+json"))
            });
            // Any API operation can meet an unavailable database (at start-up too) or a
            // statement past the request deadline.
            let unavailable = path.starts_with("/api/").then_some(("503", UNAVAILABLE));
            let rejections = REJECTIONS.iter().copied().filter(|_| takes_json);
            for (status, description) in unavailable.into_iter().chain(rejections) {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| {
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
                    });
            }
        }
    }
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}
