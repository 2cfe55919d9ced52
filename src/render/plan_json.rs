//! The plan JSON: pretty-printed, with a trailing newline. Byte-stable because the plan is
//! sorted and every map in it is ordered; its shape is `schema/plan.schema.json`.

use std::io::{self, Write};

use crate::plan::Plan;

pub fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan)?;
    out.write_all(b"\n")
}
