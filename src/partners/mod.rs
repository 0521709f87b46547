//! Partner job boards: accounts and API keys (with rotation and a shared rate limit), the
//! change feed they sync from, the publication formats (JSON-LD, XML and Atom feeds), signed
//! webhooks, and attribution of applications to partners.

pub mod admin;
pub mod attribution;
pub mod jsonld;
pub mod keys;
pub mod model;
pub mod outbound;
pub mod publication;
pub mod sync;
pub mod text;
pub mod webhooks;
pub mod xml;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(admin::create_partner)
        .service(admin::list_partners)
        .service(admin::get_partner)
        .service(admin::update_partner)
        .service(admin::rotate_key)
        .service(webhooks::create_webhook)
        .service(webhooks::list_webhooks)
        .service(webhooks::update_webhook)
        .service(webhooks::delete_webhook)
        .service(webhooks::list_deliveries)
        .service(attribution::attribution)
        .service(sync::partner_offers)
        .service(sync::offer_changes)
        .service(publication::offer_jsonld)
        .service(publication::xml_feed)
        .service(publication::atom_feed_route);
}
