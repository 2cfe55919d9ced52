//! slascone-sync: a declarative, GitOps-style reconciler for SLASCONE customers and licenses.
//!
//! The pipeline, in data-flow order:
//!
//! - [`manifest`] reads `slascone.yaml` and the manifest files and validates them (the only module
//!   that reads manifest files);
//! - [`model`] is the shared vocabulary: desired and current objects as plain data;
//! - [`remote`] is the SLASCONE API client and its wire types (the only module that does network
//!   I/O as a client);
//! - [`plan`] is the pure core: the diff of desired and current state, as a [`plan::Plan`] (no
//!   I/O, no clock, no async);
//! - [`render`] shows a plan as text, JSON or markdown, into any writer;
//! - [`export`] turns what SLASCONE holds into manifests, and [`generate`] writes generated
//!   manifest directories (for `export` and [`import_csv`]);
//! - [`sandbox`] is a SLASCONE-compatible server on loopback, for tests, demos and CI;
//! - [`scaffold`] writes values into hand-maintained manifest files in place (for `pull`);
//! - [`run`] sequences the stages for each command and maps outcomes to exit codes.

pub mod apply;
pub mod cli;
pub mod cmd;
pub mod dates;
pub mod exit;
pub mod export;
pub mod fs;
pub mod generate;
pub mod import_csv;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod remote;
pub mod render;
pub mod resolve;
pub mod run;
pub mod sandbox;
pub mod scaffold;
pub mod schema;
pub mod state;
