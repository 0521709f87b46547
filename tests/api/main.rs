//! HTTP API tests: one binary, each test on its own database.

mod auth;
mod errors;
mod health;
mod migrations;
mod openapi;
mod support;
mod users;
