//! Writing manifest directories: `export` (SLASCONE as it is, as manifests), `import-csv` (ERP
//! CSV exports as manifests), and what both write with.

pub mod export;
pub mod generate;
pub mod import_csv;
