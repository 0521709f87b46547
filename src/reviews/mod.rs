//! Reviews: reviewers assigned to offers, scorecards, independent and blind reviews,
//! conflicts of interest, rankings and workloads.

pub mod access;
pub mod domain;
pub mod model;
pub mod routes;
