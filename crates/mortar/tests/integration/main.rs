//! mortar's integration tests: one binary (every test file would otherwise link
//! actix, axum and rustls again). Tests drive the program in-process through
//! `mortar::run`, against real servers on 127.0.0.1 only.

mod support;

mod access;
mod action;
mod cli;
mod engine;
mod hazards;
mod hostile;
mod lab_scans;
mod mtls;
mod passive_exposure;
mod passive_misconfig;
mod race;
mod reports;
mod servers;
mod sessions;
mod signing;
mod spec_scans;
mod tls_posture;
