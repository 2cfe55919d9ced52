//! `slascone-sync import-csv`: ERP/CRM CSV exports to a manifest directory, offline; one bad row
//! and nothing is written.

use crate::authoring::generate;
use crate::authoring::import_csv::{convert, files};
use crate::cli::ImportCsvArgs;
use crate::exit::Outcome;
use crate::manifest::PROJECT_FILE;

pub fn run(args: &ImportCsvArgs) -> anyhow::Result<Outcome> {
    generate::check_out_dir(&args.out, args.force)?;
    let customers = match convert(&args.customers, args.licenses.as_deref(), args.delimiter) {
        Ok(customers) => customers,
        Err(problems) => {
            super::print_problems(&problems);
            say!("Nothing was written.");
            return Ok(Outcome::Error);
        }
    };
    let files = files(&customers)?;
    generate::write_tree(&args.out, &files, args.force)?;
    let licenses: usize = customers.iter().map(|c| c.count("licenses")).sum();
    say!(
        "Wrote {} customer{} and {} license{} to {}.",
        customers.len(),
        if customers.len() == 1 { "" } else { "s" },
        licenses,
        if licenses == 1 { "" } else { "s" },
        args.out.display()
    );
    say!(
        "Next: set isv_id in {}, then run `slascone-sync plan {}`.",
        args.out.join(PROJECT_FILE).display(),
        args.out.display()
    );
    Ok(Outcome::Success)
}
