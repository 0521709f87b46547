//! Passerelle: a city's internship offers, the applications they receive and their review by
//! staff, as a REST API. `build_app` is the one `App` that the server and the tests run.

pub mod applications;
pub mod audit;
pub mod auth;
pub mod availability;
pub mod cache_policy;
pub mod calendar;
pub mod cli;
pub mod compression;
pub mod cors;
pub mod db;
pub mod demo;
pub mod error;
pub mod error_code;
pub mod health;
pub mod http;
pub mod jobs;
pub mod json_check;
pub mod listener;
pub mod metrics;
pub mod offers;
pub mod openapi;
pub mod partners;
pub mod proxies;
pub mod public_cache;
pub mod ratelimit;
pub mod request_id;
pub mod reviews;
pub mod route_table;
pub mod routes;
pub mod settings;
pub mod state;
pub mod validation;
pub mod words;

use actix_web::{
    body::MessageBody,
    dev::{ServiceFactory, ServiceRequest, ServiceResponse},
    middleware::{DefaultHeaders, ErrorHandlers, Logger},
    web, App,
};
use state::AppState;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub use routes::routes;

/// Every kind of background job and its handler, given to the job workers: the queue
/// (`jobs`) knows none of them.
pub const JOB_KINDS: jobs::Kinds = &[
    (jobs::EMAIL, jobs::send_email::deliver),
    (partners::webhooks::WEBHOOK, partners::webhooks::deliver),
    (offers::sweep::CALENDAR, offers::sweep::deliver),
];

/// Headers every response carries (a handler's own value wins).
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cross-Origin-Resource-Policy", "same-site"));
    if https {
        headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// The application: routes, state, error bodies for actix's own rejections, access log.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json_limit = state.settings.json_body_limit;
    let https = state.settings.public_base_url.starts_with("https://");
    let counters = state.metrics.clone();
    let gate = state.schema.clone();
    let body_limits = availability::BodyLimits {
        deadline: state.settings.timeouts.request,
        json: json_limit,
    };
    let (app, mut api) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    openapi::complete(&mut api);
    let route_table = web::Data::new(route_table::RouteTable::from_openapi(&api));
    app.app_data(web::Data::new(state))
        .app_data(route_table)
        .app_data(
            web::JsonConfig::default()
                .limit(json_limit)
                // application/json and any +json type (merge-patch+json for PATCH).
                .content_type(|mime| {
                    mime.type_() == mime::APPLICATION
                        && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
                })
                .error_handler(error::json_error),
        )
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .app_data(web::Data::new(openapi::Served::new(&api)))
        .route(openapi::SERVED_AT, web::get().to(openapi::serve))
        .service(web::resource("/docs").to(|| async {
            actix_web::HttpResponse::PermanentRedirect()
                .insert_header((actix_web::http::header::LOCATION, "/docs/"))
                .finish()
        }))
        .service(SwaggerUi::new("/docs/{_:.*}").config(openapi::SERVED_AT.into()))
        .default_service(web::to(route_table::unmatched))
        // Innermost, so that the access log and the metrics still say HEAD.
        .wrap(actix_web::middleware::from_fn(route_table::head_as_get))
        .wrap(actix_web::middleware::from_fn(move |req, next| {
            availability::deadline(body_limits, req, next)
        }))
        .wrap(actix_web::middleware::from_fn(move |req, next| {
            availability::schema_gate(gate.clone(), req, next)
        }))
        .wrap(ErrorHandlers::new().default_handler(error::problem_for_plain_errors))
        .wrap(actix_web::middleware::from_fn(ratelimit::headers))
        .wrap(actix_web::middleware::from_fn(cache_policy::middleware))
        .wrap(actix_web::middleware::from_fn(compression::middleware))
        .wrap(security_headers(https))
        // Path only: query strings may carry search terms or emails.
        .wrap(
            Logger::new("%{METHOD}xi %U %s %b %Dms request_id=%{x-request-id}i")
                .custom_request_replace("METHOD", |req| req.method().to_string()),
        )
        .wrap(actix_web::middleware::from_fn(cors::middleware))
        .wrap(actix_web::middleware::from_fn(move |req, next| {
            metrics::middleware(counters.clone(), req, next)
        }))
        .wrap(actix_web::middleware::from_fn(request_id::middleware))
}
