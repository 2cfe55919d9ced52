//! Writing manifests: `export` (SLASCONE as it is, as manifests), `import-csv` (ERP CSV exports
//! as manifests), what both write with, and [`edit`], which rewrites single values in manifest
//! files people maintain by hand, changing no other byte; [`pull`] decides with it which values
//! `pull` rewrites.

pub mod edit;
pub mod export;
pub mod generate;
pub mod import_csv;
pub mod ingest;
pub mod pull;
pub mod table;
