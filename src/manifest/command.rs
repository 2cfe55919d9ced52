//! The `validate` and `schema` commands.

use crate::cli::{GlobalArgs, SchemaArgs, ValidateArgs};
use crate::exit::Outcome;

pub fn validate(_global: &GlobalArgs, _args: &ValidateArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("validate is not available yet")
}

pub fn schema(_args: &SchemaArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("schema is not available yet")
}
