//! The integration test binary: everything here runs the real thing (the built binary, the
//! sandbox over HTTP on loopback, the manifest loader on files).

mod ci_examples;
mod client;
mod completions;
mod e2e;
mod export;
mod import_csv;
mod manifest;
mod sandbox;
mod support;
