//! Offers: the model, the rules (status machine, French internship rules), the staff routes
//! that write them and the public catalogue that shows them.

pub mod cache;
pub mod domain;
pub mod france;
pub mod lifecycle;
pub mod mail;
pub mod model;
pub mod public;
pub mod staff;
pub mod steps;
pub mod sweep;
pub mod views;
pub mod workflow;
