//! Applications: applying with a CV and a cover letter, the candidate's self-service, the
//! staff pipeline, the emails they cause and the retention purge.

pub mod apply;
pub mod candidate;
pub mod domain;
pub mod mail;
pub mod model;
pub mod pdf;
pub mod purge;
pub mod staff;
pub mod upload;
pub mod views;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn register(cfg: &mut ServiceConfig) {
    cfg.service(apply::apply)
        .service(candidate::get_my_application)
        .service(candidate::withdraw_my_application)
        .service(candidate::export_my_application)
        .service(candidate::erase_my_application)
        .service(candidate::correct_my_application)
        .service(candidate::confirm_my_email)
        .service(staff::export_applications_csv)
        .service(staff::list_applications)
        .service(staff::get_application)
        .service(staff::download_document)
        .service(staff::application_history)
        .service(staff::transition_application);
}
