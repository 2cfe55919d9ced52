//! The integration test binary: every test runs against real HTTP on loopback.

mod manifest;
