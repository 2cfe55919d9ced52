//! SLASCONE's catalog as read: customer types, license types, and each product with its
//! features, limitations, variables and editions. Names in manifests resolve against it.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::wire::*;
use crate::dates::Zone;

/// One product with everything needed to resolve names below it.
#[derive(Debug, Clone)]
pub struct ProductCatalog {
    pub product: ProductDto,
    pub features: Vec<FeatureDto>,
    pub limitations: Vec<LimitationDto>,
    pub variables: Vec<VariableDto>,
    pub constrained_variables: Vec<ConstrainedVariableDto>,
    pub software_releases: Vec<SoftwareReleaseLimitationDto>,
    pub editions: Vec<TemplateDto>,
}

impl ProductCatalog {
    pub fn edition(&self, name: &str) -> Option<&TemplateDto> {
        self.editions.iter().find(|edition| edition.name == name)
    }

    pub fn edition_by_id(&self, id: Uuid) -> Option<&TemplateDto> {
        self.editions.iter().find(|edition| edition.id == id)
    }

    pub fn feature(&self, name: &str) -> Option<&FeatureDto> {
        self.features.iter().find(|feature| feature.name == name)
    }

    pub fn limitation(&self, name: &str) -> Option<&LimitationDto> {
        self.limitations
            .iter()
            .find(|limitation| limitation.name == name)
    }

    pub fn variable(&self, name: &str) -> Option<&VariableDto> {
        self.variables.iter().find(|variable| variable.name == name)
    }

    /// A release by its version, as `software_release_limitation` names it.
    pub fn software_release(&self, version: &str) -> Option<&SoftwareReleaseLimitationDto> {
        self.software_releases
            .iter()
            .find(|release| release.software_release.as_deref() == Some(version))
    }

    pub fn software_release_by_id(&self, id: Uuid) -> Option<&SoftwareReleaseLimitationDto> {
        self.software_releases
            .iter()
            .find(|release| release.id == id)
    }

    pub fn constrained_variable(&self, name: &str) -> Option<&ConstrainedVariableDto> {
        self.constrained_variables
            .iter()
            .find(|variable| variable.name == name)
    }
}

/// SLASCONE's catalog as read: what names resolve against, and the zone dates are read in.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub customer_types: Vec<CustomerTypeDto>,
    pub license_types: Vec<LicenseTypeDto>,
    /// Every product by name; detail and editions only for the products the manifests use.
    pub products: BTreeMap<String, ProductCatalog>,
    /// The project's `timezone`: SLASCONE's instants are read as calendar days in it, and days
    /// are written as instants in it ([`crate::dates`]).
    pub zone: Zone,
    /// The custom lists constrained variables take their values from, where they were read
    /// (only when manifests set constrained variables); `None`: not read, nothing to check.
    pub custom_lists: Option<Vec<CustomListDto>>,
}

impl Catalog {
    pub fn customer_type(&self, name: &str) -> Option<&CustomerTypeDto> {
        self.customer_types
            .iter()
            .find(|t| t.customer_type_name.as_deref() == Some(name))
    }

    pub fn license_type(&self, name: &str) -> Option<&LicenseTypeDto> {
        self.license_types
            .iter()
            .find(|t| t.name.as_deref() == Some(name))
    }

    pub fn license_type_name(&self, id: Uuid) -> Option<&str> {
        self.license_types
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.name.as_deref())
    }

    /// The custom list `id`, where the lists were read and hold it.
    pub fn custom_list(&self, id: Uuid) -> Option<&CustomListDto> {
        self.custom_lists
            .iter()
            .flatten()
            .find(|list| list.id == Some(id))
    }

    pub fn product_by_id(&self, id: Uuid) -> Option<&ProductCatalog> {
        self.products.values().find(|p| p.product.id == id)
    }
}
