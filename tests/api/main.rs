//! HTTP API tests: one binary, each test on its own database.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is how a test fails"
)]

mod applications;
mod audit;
mod auth;
mod authz;
mod caching;
mod calendar;
mod candidate;
mod catalog;
mod city_calendar;
mod cli;
mod contract;
mod demo;
mod errors;
mod faults;
mod health;
mod http;
mod instances;
mod jobs;
mod local_cluster;
mod metrics;
mod migrations;
mod offers;
mod openapi;
mod outbox;
mod partners;
mod pool;
mod process;
mod ratelimit;
mod response_cache;
mod reviews;
mod smtp_sink;
mod support;
mod two_processes;
mod uploads;
mod users;
mod webhook_sink;
