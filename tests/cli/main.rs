//! The integration test binary: everything here runs the real thing (the built binary, the
//! sandbox over HTTP on loopback, the manifest loader on files).

mod client;
mod crash;
mod e2e;
mod hostile;
mod manifest;
mod sandbox;
mod secrets;
mod support;
mod transport;
