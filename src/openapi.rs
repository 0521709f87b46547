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
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes)
        .split_for_parts();
    api
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}
