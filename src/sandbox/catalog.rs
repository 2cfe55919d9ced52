//! The sandbox catalog: customer types, license types, products and their editions, read from a
//! YAML file. It holds what the reconciler only reads; the sandbox never changes it.
//!
//! Every id is a UUID v5 of the entity's names, so a restarted sandbox (or a second one) with the
//! same catalog serves the same ids, and a persisted state file stays valid across restarts.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_saphyr::Spanned;
use uuid::Uuid;

use crate::remote::wire::{
    ConstrainedVariableDto, CustomerTypeDto, FeatureDto, LicenseTypeDto, LimitationDto, ProductDto,
    TemplateConstrainedVariableDto, TemplateDto, TemplateFeatureDto, TemplateLimitationDto,
    TemplateVariableDto, VariableDto, expiration_mode,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    customer_types: Vec<Spanned<String>>,
    #[serde(default)]
    license_types: Vec<Spanned<String>>,
    #[serde(default)]
    products: Vec<ProductDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductDef {
    name: Spanned<String>,
    #[serde(default)]
    features: Vec<Spanned<String>>,
    #[serde(default)]
    limitations: Vec<Spanned<String>>,
    #[serde(default)]
    variables: Vec<Spanned<String>>,
    /// Name → the values its custom list allows.
    #[serde(default)]
    constrained_variables: Option<Spanned<EntryMap<Vec<String>>>>,
    #[serde(default)]
    editions: Vec<EditionDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditionDef {
    name: Spanned<String>,
    #[serde(default)]
    token_limit: i64,
    #[serde(default)]
    goodwill_token_limit: Option<i64>,
    #[serde(default)]
    floating_token_limit: Option<i64>,
    #[serde(default)]
    user_limit: Option<i64>,
    #[serde(default)]
    license_type: Option<Spanned<String>>,
    #[serde(default)]
    expires: Option<Spanned<ExpiresDef>>,
    #[serde(default)]
    features: Option<Spanned<EntryMap<bool>>>,
    #[serde(default)]
    limitations: Option<Spanned<EntryMap<LimitationDef>>>,
    #[serde(default)]
    variables: Option<Spanned<EntryMap<String>>>,
    #[serde(default)]
    constrained_variables: Option<Spanned<EntryMap<Vec<String>>>>,
}

/// An edition's limitation: its limit, or its limit and how consumption resets.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
enum LimitationDef {
    Limit(i64),
    Detailed(DetailedLimitation),
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailedLimitation {
    limit: i64,
    #[serde(default)]
    consumption_reset: Option<ResetDef>,
}

/// `ConsumptionResetPeriod` (0 Disabled, 1 Never, 2 Periodically, 3 FirstDayOfMonth,
/// 4 FirstDayEachQuarter, 5 FirstDayOfYear) and, for a periodic reset, its period in days.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetDef {
    mode: i32,
    #[serde(default)]
    period_days: Option<i32>,
}

type EntryMap<V> = std::collections::BTreeMap<String, V>;

#[derive(Deserialize)]
#[serde(untagged)]
enum ExpiresDef {
    Text(String),
    After(DaysAfter),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DaysAfter {
    days_after_activation: i64,
}

/// A product with its catalog entities, already in wire form.
#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub(crate) dto: ProductDto,
    pub(crate) features: Vec<FeatureDto>,
    pub(crate) limitations: Vec<LimitationDto>,
    pub(crate) variables: Vec<VariableDto>,
    pub(crate) constrained_variables: Vec<ConstrainedVariableDto>,
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
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the catalog {}", path.display()))?;
        Catalog::from_yaml_str(&text, &path.display().to_string())
    }

    /// Parses catalog YAML; `name_for_errors` is the file name that error messages start with.
    pub fn from_yaml_str(text: &str, name_for_errors: &str) -> anyhow::Result<Catalog> {
        let file: CatalogFile = serde_saphyr::from_str(text).map_err(|err| {
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
        build(file, name_for_errors)
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

fn at<T>(file: &str, spanned: &Spanned<T>) -> String {
    format!(
        "{file}:{}:{}",
        spanned.referenced.line(),
        spanned.referenced.column()
    )
}

/// Checks that the names of one list are unique and returns them in order.
fn unique_names<'a>(
    file: &str,
    what: &str,
    names: impl IntoIterator<Item = &'a Spanned<String>>,
) -> anyhow::Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for name in names {
        if name.value.trim().is_empty() {
            bail!("{}: a {what} name must not be empty", at(file, name));
        }
        if !seen.insert(name.value.clone()) {
            bail!("{}: duplicate {what} `{}`", at(file, name), name.value);
        }
        out.push(name.value.clone());
    }
    Ok(out)
}

/// Resolves the entries of one edition map against the names its product declares.
fn entries<V: Clone>(
    file: &str,
    what: &str,
    product: &str,
    map: Option<&Spanned<EntryMap<V>>>,
    declared: &[String],
) -> anyhow::Result<HashMap<String, V>> {
    let mut out = HashMap::new();
    if let Some(map) = map {
        for (name, value) in &map.value {
            if !declared.contains(name) {
                bail!(
                    "{}: product `{product}` declares no {what} `{name}` (it has: {})",
                    at(file, map),
                    if declared.is_empty() {
                        "none".to_owned()
                    } else {
                        declared.join(", ")
                    }
                );
            }
            out.insert(name.clone(), value.clone());
        }
    }
    Ok(out)
}

fn build(file: CatalogFile, name: &str) -> anyhow::Result<Catalog> {
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
    let constrained_names: Vec<String> = constrained_variables
        .iter()
        .map(|v| v.name.clone())
        .collect();

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

    let mut templates = Vec::new();
    for edition in &def.editions {
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
        templates.push(TemplateDto {
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
            expiration_date_utc: date,
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
                                feature_name: Some(f.name.clone()),
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
                                limitation_name: Some(l.name.clone()),
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
                                variable_name: Some(v.name.clone()),
                                is_adjustable: true,
                                is_required: false,
                                value: Some(value.clone()),
                            })
                    })
                    .collect(),
            ),
            constrained_variables: Some(
                constrained_variables
                    .iter()
                    .filter_map(|v| {
                        constrained_values.get(&v.name).map(|values| {
                            TemplateConstrainedVariableDto {
                                template_id,
                                variable_id: v.id,
                                variable_name: Some(v.name.clone()),
                                is_adjustable: true,
                                values: Some(values.clone()),
                            }
                        })
                    })
                    .collect(),
            ),
            is_temporary: false,
        });
    }

    Ok(Product {
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
        allowed_values,
        templates,
    })
}

/// `2027-12-31` as the wire's date-time at noon UTC: the catalog names no time zone, and noon
/// UTC falls on the same calendar day in every zone from UTC-11 to UTC+11, so a project reads
/// the edition's date as written whatever its `timezone`.
fn parse_date(text: &str) -> Option<String> {
    let date = crate::dates::parse_date(text)?;
    Some(format!("{}T12:00:00Z", crate::dates::format_date(date)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
customer_types: [Enterprise, SMB]
license_types: [Commercial, Trial]
products:
  - name: Argus
    features: [Export, Import, Reporting]
    limitations: [Users, Projects]
    variables: [Region]
    editions:
      - name: Professional
        token_limit: 10
        license_type: Commercial
        expires: 2027-12-31
        features: { Export: true, Import: true, Reporting: false }
        limitations: { Users: 25, Projects: 100 }
        variables: { Region: EU }
      - name: Trial
        expires: { days_after_activation: 30 }
";

    #[test]
    fn parses_and_derives_stable_ids() {
        let a = Catalog::from_yaml_str(GOOD, "c.yaml").unwrap();
        let b = Catalog::from_yaml_str(GOOD, "c.yaml").unwrap();
        assert_eq!(a.products[0].dto.id, b.products[0].dto.id);
        assert_eq!(a.products[0].templates[0].id, b.products[0].templates[0].id);
        let pro = &a.products[0].templates[0];
        assert_eq!(pro.features.as_ref().unwrap().len(), 3);
        assert_eq!(pro.expiration_mode, Some(expiration_mode::DATE));
        assert_eq!(
            pro.expiration_date_utc.as_deref(),
            Some("2027-12-31T12:00:00Z")
        );
        assert_eq!(pro.license_type_id, Some(a.license_types[0].id));
        let trial = &a.products[0].templates[1];
        assert_eq!(
            trial.expiration_mode,
            Some(expiration_mode::DAYS_AFTER_ACTIVATION)
        );
        assert_eq!(trial.valid_days_count, 30);
        assert_ne!(a.customer_types[0].id, a.customer_types[1].id);
    }

    #[test]
    fn editions_carry_limitation_resets_and_constrained_variables() {
        let text = GOOD
            .replace(
                "    variables: [Region]\n",
                "    variables: [Region]\n    constrained_variables: { Modules: [Core, Analytics] }\n",
            )
            .replace(
                "limitations: { Users: 25, Projects: 100 }",
                "limitations: { Users: 25, Projects: { limit: 100, consumption_reset: { mode: 2, period_days: 30 } } }\n        constrained_variables: { Modules: [Core] }",
            );
        let catalog = Catalog::from_yaml_str(&text, "c.yaml").unwrap();
        let product = &catalog.products[0];
        assert_eq!(product.constrained_variables[0].name, "Modules");
        let pro = &product.templates[0];
        let projects = pro
            .limitations
            .iter()
            .flatten()
            .find(|l| l.limitation_name.as_deref() == Some("Projects"))
            .unwrap();
        assert_eq!(
            (
                projects.limit,
                projects.consumption_reset_mode,
                projects.consumption_reset_period_days
            ),
            (Some(100), 2, Some(30))
        );
        let modules = &pro.constrained_variables.as_ref().unwrap()[0];
        assert_eq!(modules.values.as_deref(), Some(&["Core".to_owned()][..]));

        let bad_value = text.replace("Modules: [Core] }", "Modules: [Reporting] }");
        let err = format!(
            "{:#}",
            Catalog::from_yaml_str(&bad_value, "c.yaml").unwrap_err()
        );
        assert_eq!(
            err,
            "c.yaml:16:32: `Reporting` is not a value of constrained variable `Modules` (it allows: Core, Analytics)"
        );
        let bad_mode = text.replace("mode: 2", "mode: 9");
        let err = format!(
            "{:#}",
            Catalog::from_yaml_str(&bad_mode, "c.yaml").unwrap_err()
        );
        assert_eq!(
            err,
            "c.yaml:15:22: limitation `Projects`: consumption_reset mode must be 0 to 5 (ConsumptionResetPeriod), not 9"
        );
    }

    #[test]
    fn undeclared_feature_is_an_error_with_a_position() {
        let text = GOOD.replace("Reporting: false", "Printing: false");
        let err = Catalog::from_yaml_str(&text, "c.yaml").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("c.yaml:13:"), "{msg}");
        assert!(msg.contains("Printing"), "{msg}");
    }

    #[test]
    fn unknown_field_is_an_error_with_a_position() {
        let text = GOOD.replace("token_limit: 10", "token_limt: 10");
        let err = Catalog::from_yaml_str(&text, "c.yaml").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.starts_with("c.yaml:10:"), "{msg}");
        assert!(
            msg.contains("token_limt") && !msg.contains("at line"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_license_type_and_bad_dates_are_errors() {
        let text = GOOD.replace("license_type: Commercial", "license_type: Gold");
        assert!(Catalog::from_yaml_str(&text, "c.yaml").is_err());
        let text = GOOD.replace("expires: 2027-12-31", "expires: someday");
        assert!(Catalog::from_yaml_str(&text, "c.yaml").is_err());
    }
}
