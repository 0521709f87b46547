//! HTTP API tests: one binary, each test on its own database.

mod applications;
mod auth;
mod catalog;
mod cli;
mod errors;
mod health;
mod jobs;
mod migrations;
mod offers;
mod openapi;
mod partners;
mod ratelimit;
mod reviews;
mod smtp_sink;
mod support;
mod users;
mod webhook_sink;
