//! Manifests: loading and validating `slascone.yaml` and the manifest files.

pub mod command;
