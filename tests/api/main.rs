//! HTTP API tests: one binary, each test on its own database.

mod applications;
mod auth;
mod catalog;
mod errors;
mod health;
mod migrations;
mod offers;
mod openapi;
mod support;
mod users;
