//! HTTP API tests: one binary, each test on its own database.

mod applications;
mod audit;
mod auth;
mod authz;
mod candidate;
mod catalog;
mod cli;
mod errors;
mod faults;
mod health;
mod http;
mod instances;
mod jobs;
mod metrics;
mod migrations;
mod offers;
mod openapi;
mod partners;
mod process;
mod ratelimit;
mod reviews;
mod smtp_sink;
mod support;
mod uploads;
mod users;
mod webhook_sink;
