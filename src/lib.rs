//! slascone-sync: a declarative, GitOps-style reconciler for SLASCONE customers and licenses.
//!
//! Every stage, in data-flow order (`plan` and `apply`; the other commands use a part of it):
//!
//! 1. [`cli`] parses the arguments, [`run`] dispatches to one module of [`cmd`] per subcommand:
//!    the only code that sees the argument parser's types, reads the environment, prints, or
//!    decides the [`exit`] code.
//! 2. [`manifest`] reads `slascone.yaml` and the manifest files (the only module that does) into a
//!    positioned tree and checks it: syntax, fields, identities, `ignore_changes` paths. Out come
//!    [`manifest::Manifests`], or every problem with its file, line and column.
//! 3. [`remote`] is the SLASCONE client (the only network I/O as a client): transport with retries
//!    and limits, paging, the endpoints, and the wire types. [`current`] uses it to read the
//!    catalog, customers and licenses with a fixed number of requests, and [`remote::convert`]
//!    reduces the wire objects to the [`model`]'s current state.
//! 4. [`resolve`] checks the manifests' names against the catalog and gives the desired state.
//! 5. [`plan`] is the pure core: [`plan::diff()`] compares desired and current state into a
//!    [`plan::Plan`], data with typed identities and endpoints (no I/O, no clock, no async).
//! 6. [`render`] shows a plan, and later the apply report, as text, JSON or markdown, into any
//!    writer.
//! 7. [`apply`] sends one write per change ([`remote::convert`] builds the bodies), makes creates
//!    safe to repeat, verifies what SLASCONE kept, and reports each change.
//!
//! Beside the pipeline: [`model::fields`] declares every customer and license field once, and
//! the manifest checker, the schema, both conversions, export, import-csv and the sandbox read
//! those declarations; [`authoring`] writes manifest directories (`export`, `import-csv`) through
//! [`fs`], and rewrites single values in hand-maintained manifest files in place
//! ([`authoring::edit`]), which `pull` uses to write SLASCONE's values back ([`authoring::pull`]);
//! [`dates`] relates manifest days to SLASCONE's instants; [`schema`]
//! publishes the JSON Schemas; [`sandbox`] is a SLASCONE-compatible server on loopback for tests,
//! demos and CI.

pub mod agent;
pub mod apply;
pub mod authoring;
pub mod cli;
pub mod cmd;
pub mod current;
pub mod dates;
pub mod engine;
pub mod exit;
pub mod fanout;
pub mod fs;
pub mod hashing;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod remote;
pub mod render;
pub mod resolve;
pub mod run;
pub mod sandbox;
pub mod schema;
pub mod text;
