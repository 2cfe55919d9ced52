//! The integration test binary: everything here runs the real thing (the built binary, the
//! sandbox over HTTP on loopback, the manifest loader on files).

// Test and benchmark reports go to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod action;
mod agent;
mod agent_http;
mod agent_source;
mod ci_examples;
mod client;
mod completions;
mod contacts;
mod crash;
mod docs;
mod e2e;
mod engine;
mod erp_examples;
mod export;
mod fidelity;
mod hostile;
mod ids;
mod import_csv;
mod ingest;
mod install;
mod manifest;
mod packaging;
mod portal;
mod pull;
mod review;
mod sandbox;
mod secrets;
mod snapshots;
mod support;
mod transport;
mod vocabulary;
