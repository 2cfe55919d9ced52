//! The sandbox catalog: customer types, license types, products and their editions, read from a
//! YAML file. It holds what the reconciler only reads; the sandbox never changes it.
//!
//! Every id is a UUID v5 of the entity's names, so a restarted sandbox (or a second one) with the
//! same catalog serves the same ids, and a persisted state file stays valid across restarts.

mod build;
mod file;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use uuid::Uuid;

use crate::remote::wire::{
    ConstrainedVariableDto, CustomerTypeDto, FeatureDto, LicenseTypeDto, LimitationDto, ProductDto,
    SoftwareReleaseLimitationDto, TemplateDto, VariableDto,
};

/// Namespace of the catalog's UUID v5 ids.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x5b0c_7a3e_1f4d_4e2a_9c61_0d8e_2f3a_7b15);

fn catalog_id(kind: &str, names: &[&str]) -> Uuid {
    let mut key = String::from(kind);
    for name in names {
        key.push('/');
        key.push_str(name);
    }
    Uuid::new_v5(&ID_NAMESPACE, key.as_bytes())
}

#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub(crate) dto: ProductDto,
    pub(crate) features: Vec<FeatureDto>,
    pub(crate) limitations: Vec<LimitationDto>,
    pub(crate) variables: Vec<VariableDto>,
    pub(crate) constrained_variables: Vec<ConstrainedVariableDto>,
    pub(crate) software_releases: Vec<SoftwareReleaseLimitationDto>,
    /// The values each constrained variable's custom list allows, by variable id.
    pub(crate) allowed_values: HashMap<Uuid, Vec<String>>,
    pub(crate) templates: Vec<TemplateDto>,
}

impl Product {
    pub(crate) fn feature(&self, id: Uuid) -> Option<&FeatureDto> {
        self.features.iter().find(|f| f.id == id)
    }
    pub(crate) fn limitation(&self, id: Uuid) -> Option<&LimitationDto> {
        self.limitations.iter().find(|l| l.id == id)
    }
    pub(crate) fn variable(&self, id: Uuid) -> Option<&VariableDto> {
        self.variables.iter().find(|v| v.id == id)
    }
    pub(crate) fn constrained_variable(&self, id: Uuid) -> Option<&ConstrainedVariableDto> {
        self.constrained_variables.iter().find(|v| v.id == id)
    }
    pub(crate) fn software_release(&self, id: Uuid) -> Option<&SoftwareReleaseLimitationDto> {
        self.software_releases.iter().find(|r| r.id == id)
    }
    pub(crate) fn template(&self, id: Uuid) -> Option<&TemplateDto> {
        self.templates.iter().find(|t| t.id == id)
    }
}

/// The read-only part of a sandbox: customer types, license types, products and editions.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub(crate) customer_types: Vec<CustomerTypeDto>,
    pub(crate) license_types: Vec<LicenseTypeDto>,
    pub(crate) products: Vec<Product>,
    product_index: HashMap<Uuid, usize>,
}

impl Catalog {
    /// Reads and checks a catalog file.
    pub fn load(path: &Path) -> anyhow::Result<Catalog> {
        let text = crate::fs::read_input_text(path, crate::fs::MAX_SANDBOX_BYTES)
            .with_context(|| format!("cannot read the catalog {}", path.display()))?;
        Catalog::from_yaml_str(&text, &path.display().to_string())
    }

    /// Parses catalog YAML; `name_for_errors` is the file name that error messages start with.
    pub fn from_yaml_str(text: &str, name_for_errors: &str) -> anyhow::Result<Catalog> {
        let file: file::CatalogFile = serde_saphyr::from_str(text).map_err(|err| {
            let plain = err.without_snippet();
            let message = plain.to_string();
            match plain.location() {
                Some(loc) => {
                    // The position leads the message, so it need not trail it too.
                    let trailer = format!(" at line {}, column {}", loc.line(), loc.column());
                    let message = message.strip_suffix(&trailer).unwrap_or(&message);
                    anyhow::anyhow!(
                        "{name_for_errors}:{}:{}: {message}",
                        loc.line(),
                        loc.column()
                    )
                }
                None => anyhow::anyhow!("{name_for_errors}: {message}"),
            }
        })?;
        build::catalog(file, name_for_errors)
    }

    pub(crate) fn product(&self, id: Uuid) -> Option<&Product> {
        self.product_index.get(&id).map(|&i| &self.products[i])
    }

    pub(crate) fn customer_type(&self, id: Uuid) -> Option<&CustomerTypeDto> {
        self.customer_types.iter().find(|t| t.id == id)
    }

    pub(crate) fn customer_type_by_name(&self, name: &str) -> Option<&CustomerTypeDto> {
        self.customer_types
            .iter()
            .find(|t| t.customer_type_name.as_deref() == Some(name))
    }

    pub(crate) fn license_type(&self, id: Uuid) -> Option<&LicenseTypeDto> {
        self.license_types.iter().find(|t| t.id == id)
    }
}
