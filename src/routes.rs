//! The route map: every route, registered once; the server (`build_app`) and the OpenAPI
//! document (`openapi::document`) both come from here.

use crate::{applications, audit, auth, health, offers, partners, reviews};
use actix_web::middleware::DefaultHeaders;
use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// Every route, registered once: the server and the OpenAPI document both come from here.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/api/v1")
            // JSON only: nothing here is a page to render or frame.
            .wrap(DefaultHeaders::new().add((
                "Content-Security-Policy",
                "default-src 'none'; frame-ancestors 'none'",
            )))
            .configure(auth::routes::register)
            .configure(auth::users::register)
            .configure(offers::public::register)
            .configure(offers::staff::register)
            .configure(offers::steps::register)
            .configure(applications::register)
            .configure(reviews::routes::register)
            .configure(partners::register)
            .configure(audit::routes::register),
    )
    .configure(health::register);
}
