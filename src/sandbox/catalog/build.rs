//! A checked catalog file becomes the wire objects the sandbox serves.

use std::collections::HashMap;

use anyhow::bail;

use super::file::{
    CatalogFile, DetailedLimitation, EditionDef, ExpiresDef, LimitationDef, ProductDef, at,
    entries, unique_names,
};
use super::{Catalog, Product, catalog_id};
use crate::remote::wire::{
    ConstrainedVariableDto, CustomerTypeDto, FeatureDto, LicenseTypeDto, LimitationDto, ProductDto,
    SoftwareReleaseLimitationDto, TemplateConstrainedVariableDto, TemplateDto, TemplateFeatureDto,
    TemplateLimitationDto, TemplateVariableDto, VariableDto, expiration_mode,
};

pub(super) fn catalog(file: CatalogFile, name: &str) -> anyhow::Result<Catalog> {
    let customer_types = unique_names(name, "customer type", &file.customer_types)?
        .into_iter()
        .map(|type_name| CustomerTypeDto {
            id: catalog_id("customer_type", &[&type_name]),
            customer_type_name: Some(type_name),
            created_date_utc: None,
            modified_date_utc: None,
            last_modified_by: None,
        })
        .collect();
    let license_type_names = unique_names(name, "license type", &file.license_types)?;
    let license_types = license_type_names
        .iter()
        .map(|type_name| LicenseTypeDto {
            id: catalog_id("license_type", &[type_name]),
            name: Some(type_name.clone()),
            created_date_utc: None,
            modified_date_utc: None,
            last_modified_by: None,
        })
        .collect();

    unique_names(name, "product", file.products.iter().map(|p| &p.name))?;
    let mut products = Vec::new();
    let mut product_index = HashMap::new();
    for def in &file.products {
        let product = build_product(name, def, &license_type_names)?;
        product_index.insert(product.dto.id, products.len());
        products.push(product);
    }
    Ok(Catalog {
        customer_types,
        license_types,
        products,
        product_index,
    })
}

fn build_product(
    file: &str,
    def: &ProductDef,
    license_types: &[String],
) -> anyhow::Result<Product> {
    let pname = def.name.value.as_str();
    let product_id = catalog_id("product", &[pname]);
    let feature_names = unique_names(file, "feature", &def.features)?;
    let limitation_names = unique_names(file, "limitation", &def.limitations)?;
    let variable_names = unique_names(file, "variable", &def.variables)?;
    unique_names(file, "edition", def.editions.iter().map(|e| &e.name))?;
    let software_releases = unique_names(file, "software release", &def.software_releases)?
        .into_iter()
        .map(|version| SoftwareReleaseLimitationDto {
            id: catalog_id("software_release", &[pname, &version]),
            product_id,
            software_release: Some(version),
            description: None,
        })
        .collect();
    let mut constrained_variables = Vec::new();
    let mut allowed_values = HashMap::new();
    if let Some(declared) = &def.constrained_variables {
        for (name, values) in &declared.value {
            if name.trim().is_empty() || values.iter().any(|v| v.trim().is_empty()) {
                bail!(
                    "{}: constrained variable names and their values must not be empty",
                    at(file, declared)
                );
            }
            let id = catalog_id("constrained_variable", &[pname, name]);
            constrained_variables.push(ConstrainedVariableDto {
                id,
                product_id,
                name: name.clone(),
                description: None,
                custom_list_id: catalog_id("custom_list", &[pname, name]),
                mode: 0,
                selection_mode: 0,
            });
            allowed_values.insert(id, values.clone());
        }
    }

    let features: Vec<FeatureDto> = feature_names
        .iter()
        .map(|n| FeatureDto {
            id: catalog_id("feature", &[pname, n]),
            product_id,
            name: n.clone(),
            description: None,
        })
        .collect();
    let limitations: Vec<LimitationDto> = limitation_names
        .iter()
        .map(|n| LimitationDto {
            id: catalog_id("limitation", &[pname, n]),
            product_id,
            name: n.clone(),
            description: None,
            is_aggregatable: false,
        })
        .collect();
    let variables: Vec<VariableDto> = variable_names
        .iter()
        .map(|n| VariableDto {
            id: catalog_id("variable", &[pname, n]),
            product_id,
            name: n.clone(),
            description: None,
        })
        .collect();

    let mut product = Product {
        dto: ProductDto {
            id: product_id,
            name: pname.to_owned(),
            description: None,
            prioritized_key: 0,
        },
        features,
        limitations,
        variables,
        constrained_variables,
        software_releases,
        allowed_values,
        templates: Vec::new(),
    };
    for edition in &def.editions {
        let template = edition_template(file, edition, &product, license_types)?;
        product.templates.push(template);
    }
    Ok(product)
}

/// One edition of `product` as the template SLASCONE serves: its entries must name what the
/// product declares, with values the product allows.
fn edition_template(
    file: &str,
    edition: &EditionDef,
    product: &Product,
    license_types: &[String],
) -> anyhow::Result<TemplateDto> {
    let pname = product.dto.name.as_str();
    let product_id = product.dto.id;
    let feature_names: Vec<String> = product.features.iter().map(|f| f.name.clone()).collect();
    let limitation_names: Vec<String> =
        product.limitations.iter().map(|l| l.name.clone()).collect();
    let variable_names: Vec<String> = product.variables.iter().map(|v| v.name.clone()).collect();
    let constrained_names: Vec<String> = (product.constrained_variables.iter())
        .map(|v| v.name.clone())
        .collect();
    let (features, limitations, variables) =
        (&product.features, &product.limitations, &product.variables);
    let (constrained_variables, allowed_values) =
        (&product.constrained_variables, &product.allowed_values);
    let ename = edition.name.value.as_str();
    let template_id = catalog_id("edition", &[pname, ename]);
    let feature_values = entries(
        file,
        "feature",
        pname,
        edition.features.as_ref(),
        &feature_names,
    )?;
    let limitation_values = entries(
        file,
        "limitation",
        pname,
        edition.limitations.as_ref(),
        &limitation_names,
    )?;
    let variable_values = entries(
        file,
        "variable",
        pname,
        edition.variables.as_ref(),
        &variable_names,
    )?;
    let constrained_values = entries(
        file,
        "constrained variable",
        pname,
        edition.constrained_variables.as_ref(),
        &constrained_names,
    )?;
    for (name, values) in &constrained_values {
        let variable = constrained_variables
            .iter()
            .find(|v| &v.name == name)
            .map(|v| &allowed_values[&v.id]);
        if let Some(wrong) = values
            .iter()
            .find(|value| !variable.is_some_and(|allowed| allowed.contains(value)))
        {
            bail!(
                "{}: `{wrong}` is not a value of constrained variable `{name}` (it allows: {})",
                at(
                    file,
                    edition
                        .constrained_variables
                        .as_ref()
                        .expect("entries came from it")
                ),
                variable.map(|a| a.join(", ")).unwrap_or_default()
            );
        }
    }
    for (name, limitation) in &limitation_values {
        if let LimitationDef::Detailed(DetailedLimitation {
            consumption_reset: Some(reset),
            ..
        }) = limitation
        {
            let map = edition.limitations.as_ref().expect("entries came from it");
            if !(0..=5).contains(&reset.mode) {
                bail!(
                    "{}: limitation `{name}`: consumption_reset mode must be 0 to 5 \
                     (ConsumptionResetPeriod), not {}",
                    at(file, map),
                    reset.mode
                );
            }
            if reset.period_days.is_some_and(|days| days < 1) {
                bail!(
                    "{}: limitation `{name}`: period_days must be at least 1",
                    at(file, map)
                );
            }
        }
    }
    let software_release_limitation_id = match &edition.software_release {
        None => None,
        Some(version) => match product
            .software_releases
            .iter()
            .find(|release| release.software_release.as_deref() == Some(version.value.as_str()))
        {
            Some(release) => Some(release.id),
            None => bail!(
                "{}: product `{pname}` has no software release `{}` (it has: {})",
                at(file, version),
                version.value,
                product
                    .software_releases
                    .iter()
                    .filter_map(|r| r.software_release.as_deref())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    let license_type_id = match &edition.license_type {
        None => None,
        Some(lt) if license_types.contains(&lt.value) => {
            Some(catalog_id("license_type", &[&lt.value]))
        }
        Some(lt) => bail!(
            "{}: unknown license type `{}` (known: {})",
            at(file, lt),
            lt.value,
            license_types.join(", ")
        ),
    };
    let (mode, date, days) = match &edition.expires {
        None => (expiration_mode::NEVER, None, 0),
        Some(spanned) => match &spanned.value {
            ExpiresDef::Text(text) if text == "never" => (expiration_mode::NEVER, None, 0),
            ExpiresDef::Text(text) => match parse_date(text) {
                Some(date) => (expiration_mode::DATE, Some(date), 0),
                None => bail!(
                    "{}: `expires` must be a date like 2027-12-31, `never` or \
                     {{ days_after_activation: N }}, not `{text}`",
                    at(file, spanned)
                ),
            },
            ExpiresDef::After(after) if after.days_after_activation > 0 => (
                expiration_mode::DAYS_AFTER_ACTIVATION,
                None,
                after.days_after_activation,
            ),
            ExpiresDef::After(_) => bail!(
                "{}: days_after_activation must be at least 1",
                at(file, spanned)
            ),
        },
    };
    Ok(TemplateDto {
        id: template_id,
        product_id,
        product_name: Some(pname.to_owned()),
        name: ename.to_owned(),
        description: None,
        is_active: true,
        token_limit: edition.token_limit,
        goodwill_token_limit: edition.goodwill_token_limit,
        floating_token_limit: edition.floating_token_limit,
        user_limit: edition.user_limit,
        license_type_id,
        expiration_mode: Some(mode),
        expiration_date_utc: date.map(Into::into),
        valid_days_count: days,
        trial_days_count: 0,
        features: Some(
            features
                .iter()
                .filter_map(|f| {
                    feature_values
                        .get(&f.name)
                        .map(|&is_active| TemplateFeatureDto {
                            template_id,
                            feature_id: f.id,
                            feature_name: Some(f.name.as_str().into()),
                            is_adjustable: true,
                            is_active,
                        })
                })
                .collect(),
        ),
        limitations: Some(
            limitations
                .iter()
                .filter_map(|l| {
                    limitation_values.get(&l.name).map(|limitation| {
                        let (limit, reset) = match limitation {
                            LimitationDef::Limit(limit) => (*limit, None),
                            LimitationDef::Detailed(detailed) => {
                                (detailed.limit, detailed.consumption_reset.as_ref())
                            }
                        };
                        TemplateLimitationDto {
                            template_id,
                            limitation_id: l.id,
                            limitation_name: Some(l.name.as_str().into()),
                            is_adjustable: true,
                            limit: Some(limit),
                            consumption_reset_mode: reset.map_or(0, |r| r.mode),
                            consumption_reset_period_days: reset.and_then(|r| r.period_days),
                        }
                    })
                })
                .collect(),
        ),
        variables: Some(
            variables
                .iter()
                .filter_map(|v| {
                    variable_values
                        .get(&v.name)
                        .map(|value| TemplateVariableDto {
                            template_id,
                            variable_id: v.id,
                            variable_name: Some(v.name.as_str().into()),
                            is_adjustable: true,
                            is_required: false,
                            value: Some(value.as_str().into()),
                        })
                })
                .collect(),
        ),
        constrained_variables: Some(
            constrained_variables
                .iter()
                .filter_map(|v| {
                    constrained_values
                        .get(&v.name)
                        .map(|values| TemplateConstrainedVariableDto {
                            template_id,
                            variable_id: v.id,
                            variable_name: Some(v.name.as_str().into()),
                            is_adjustable: true,
                            values: Some(
                                values.iter().map(|value| value.as_str().into()).collect(),
                            ),
                        })
                })
                .collect(),
        ),
        is_temporary: edition.temporary,
        software_release_limitation_id,
    })
}

/// `2027-12-31` as the wire's date-time at noon UTC: the catalog names no time zone, and noon
/// `2027-12-31` as the wire's date-time at noon UTC: the catalog names no time zone, and noon
/// UTC falls on the same calendar day in every zone from UTC-11 to UTC+11, so a project reads
/// the edition's date as written whatever its `timezone`.
fn parse_date(text: &str) -> Option<String> {
    let date = crate::dates::parse_date(text)?;
    Some(format!("{}T12:00:00Z", crate::dates::format_date(date)))
}
