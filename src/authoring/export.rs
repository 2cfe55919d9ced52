//! `export`'s core: what SLASCONE holds, as manifests that `plan` finds nothing to change in.
//!
//! Pure: the remote state comes in as data, the files go out as bytes. Values are taken from the
//! same model the diff compares ([`current::current_state`]), so every value written reads back as
//! exactly what plan compares it with. A value is left out when the manifest would mean the same
//! without it: equal to the license's edition (every `features`/`limitations`/`variables` entry,
//! `token_limit` and the other limits, `license_type`, `expires`, `temporary`, the release),
//! `active: true`, an optional
//! limit of 0 where the edition sets none, and empty text. Left out, a field is not managed, so
//! it can never cause a change.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::bail;
use serde_json::{Value, json};
use uuid::Uuid;

use super::generate::{self, CUSTOMERS_DIR, EntryOut, ProjectOut, SandboxOut};
use crate::current::{self, Remote};
use crate::model::fields::{self, CONTACT, CUSTOMER, LICENSE, Names, Role, Type};
use crate::model::{CurrentContact, CurrentCustomer, CurrentLicense};
use crate::remote::wire::LicenseDto;

/// The file the sandbox catalog is copied to by `export --sandbox`.
pub const SANDBOX_CATALOG_FILE: &str = "sandbox-catalog.yaml";

/// Where the exported project points.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub isv_id: Uuid,
    pub portal_url: String,
    /// Written only when it is not the default, `SLASCONE_ADMIN_KEY`.
    pub admin_key_env: Option<String>,
    /// With `--sandbox`: the catalog's text, copied beside the project file.
    pub sandbox_catalog: Option<Vec<u8>>,
    /// Written only when it is not the default, `UTC`; dates are exported in this zone.
    pub timezone: Option<String>,
}

/// The export: files to write and what the user should know about what was left out.
#[derive(Debug, Clone, Default)]
pub struct Export {
    /// Paths relative to the output directory, with their bytes.
    pub files: Vec<(PathBuf, Vec<u8>)>,
    pub warnings: Vec<String>,
    pub customers: usize,
    pub licenses: usize,
    pub contacts: usize,
}

/// Builds the manifests of `remote`. `only_customers` (customer numbers or ids; empty: all)
/// narrows the customers; each must exist.
pub fn export(
    remote: &Remote,
    only_customers: &[String],
    settings: &Settings,
) -> anyhow::Result<Export> {
    let mut warnings = Vec::new();
    let current = current::current_state(remote);

    // A customer number several customers share cannot be an identity (the manifest loader
    // refuses duplicates): such customers are exported by id.
    let mut number_count: HashMap<&str, usize> = HashMap::new();
    for customer in &current.customers {
        if let Some(number) = number_of(customer) {
            *number_count.entry(number).or_default() += 1;
        }
    }
    for (number, count) in &number_count {
        if *count > 1 {
            warnings.push(format!(
                "{count} customers share customer_number {number}; they are exported by id"
            ));
        }
    }

    let wanted: BTreeSet<&str> = only_customers.iter().map(String::as_str).collect();
    for key in &wanted {
        let exists = current
            .customers
            .iter()
            .any(|c| number_of(c) == Some(*key) || c.id.to_string() == *key);
        if !exists {
            bail!("SLASCONE has no customer with customer_number or id `{key}`");
        }
    }
    let selected: Vec<&CurrentCustomer> = current
        .customers
        .iter()
        .filter(|c| {
            wanted.is_empty()
                || number_of(c).is_some_and(|n| wanted.contains(n))
                || wanted.contains(c.id.to_string().as_str())
        })
        .collect();

    let mut customers: BTreeMap<Uuid, EntryOut> = BTreeMap::new();
    for customer in &selected {
        let by_number = number_of(customer).filter(|n| number_count.get(n) == Some(&1));
        customers.insert(
            customer.id,
            customer_out(customer, by_number, &mut warnings),
        );
    }

    // Contacts before licenses, as manifests list them.
    let mut contacts = 0;
    for contact in &current.contacts {
        if let Some(owner) = customers.get_mut(&contact.customer_id) {
            owner.push(crate::model::fields::CONTACTS, contact_out(contact));
            contacts += 1;
        }
    }

    let dtos: HashMap<Uuid, &LicenseDto> = remote.licenses.iter().map(|l| (l.id, l)).collect();
    let mut legacy_count: HashMap<(&str, &str), usize> = HashMap::new();
    for license in &current.licenses {
        if let Some(legacy) = legacy_of(license) {
            *legacy_count.entry((&license.product, legacy)).or_default() += 1;
        }
    }
    let known_customers: BTreeSet<Uuid> = current.customers.iter().map(|c| c.id).collect();
    let mut not_selected = 0;
    let mut licenses = 0;
    for license in &current.licenses {
        let Some(owner) = customers.get_mut(&license.customer_id) else {
            if known_customers.contains(&license.customer_id) {
                not_selected += 1;
            } else {
                warnings.push(format!(
                    "license {} belongs to customer {}, which SLASCONE does not list; it is \
                     left out",
                    describe(license),
                    license.customer_id
                ));
            }
            continue;
        };
        let unique_legacy = legacy_of(license)
            .filter(|legacy| legacy_count.get(&(license.product.as_str(), *legacy)) == Some(&1));
        if legacy_of(license).is_some() && unique_legacy.is_none() {
            warnings.push(format!(
                "license {} shares its legacy_license_key with another license of {}; it is \
                 exported by id",
                describe(license),
                license.product
            ));
        }
        let Some(dto) = dtos.get(&license.id) else {
            continue;
        };
        if let Some(out) = license_out(remote, dto, license, unique_legacy, &mut warnings) {
            owner.push("licenses", out);
            licenses += 1;
        }
    }
    if not_selected > 0 {
        warnings.push(format!(
            "{not_selected} license{} of customers not exported {} left out",
            if not_selected == 1 { "" } else { "s" },
            if not_selected == 1 { "is" } else { "are" }
        ));
    }

    let mut ordered: Vec<EntryOut> = customers.into_values().collect();
    for customer in &mut ordered {
        if let Some(contacts) = customer.list_mut(crate::model::fields::CONTACTS) {
            contacts.sort_by_cached_key(|contact| {
                contact.text("email").unwrap_or_default().to_lowercase()
            });
        }
        if let Some(licenses) = customer.list_mut("licenses") {
            licenses.sort_by_cached_key(|license| {
                (
                    license.text("product").unwrap_or_default().to_owned(),
                    license_identity(license),
                )
            });
        }
    }
    ordered.sort_by_key(customer_identity);

    let mut files = vec![(
        PathBuf::from(crate::manifest::PROJECT_FILE),
        project_text(settings)?.into_bytes(),
    )];
    if let Some(catalog) = &settings.sandbox_catalog {
        files.push((PathBuf::from(SANDBOX_CATALOG_FILE), catalog.clone()));
    }
    files.extend(generate::schema_files()?);
    let keys: Vec<String> = ordered.iter().map(customer_identity).collect();
    let names = generate::file_names(keys.iter().map(String::as_str));
    for (customer, name) in ordered.iter().zip(names) {
        let text = generate::customer_file(customer, "")?;
        files.push((
            Path::new(CUSTOMERS_DIR).join(format!("{name}.yaml")),
            text.into_bytes(),
        ));
    }
    warnings.sort();
    warnings.dedup();
    Ok(Export {
        files,
        warnings,
        customers: ordered.len(),
        licenses,
        contacts,
    })
}

fn project_text(settings: &Settings) -> anyhow::Result<String> {
    let project = ProjectOut {
        api_url: Some(settings.api_url.clone()),
        isv_id: Some(settings.isv_id),
        portal_url: Some(settings.portal_url.clone()),
        admin_key_env: settings.admin_key_env.clone(),
        sandbox: settings.sandbox_catalog.as_ref().map(|_| SandboxOut {
            catalog: SANDBOX_CATALOG_FILE.to_owned(),
        }),
        timezone: settings.timezone.clone(),
    };
    let comment = "Written by `slascone-sync export`. The admin key is read from the environment \
                   variable\nnamed by `admin_key_env` (default SLASCONE_ADMIN_KEY), never from a \
                   file.";
    Ok(generate::project_file(
        comment,
        &generate::project_yaml(&project)?,
    ))
}

/// A customer's number when it has a usable one (the loader refuses blank identities).
fn number_of(customer: &CurrentCustomer) -> Option<&str> {
    customer
        .customer_number
        .as_deref()
        .filter(|n| !n.trim().is_empty())
}

/// A license in a warning: its key, and its id too when the key is a legacy key (which need not
/// be unique when SLASCONE's data is inconsistent).
fn describe(license: &CurrentLicense) -> String {
    match legacy_of(license) {
        Some(_) => format!("{} (id {})", license.key(), license.id),
        None => license.key(),
    }
}

fn legacy_of(license: &CurrentLicense) -> Option<&str> {
    license
        .legacy_license_key
        .as_deref()
        .filter(|k| !k.trim().is_empty())
}

fn customer_identity(customer: &EntryOut) -> String {
    customer
        .text("customer_number")
        .or_else(|| customer.text("id"))
        .unwrap_or_default()
        .to_owned()
}

fn license_identity(license: &EntryOut) -> String {
    license
        .text("legacy_license_key")
        .or_else(|| license.text("id"))
        .unwrap_or_default()
        .to_owned()
}

fn customer_out(
    customer: &CurrentCustomer,
    by_number: Option<&str>,
    warnings: &mut Vec<String>,
) -> EntryOut {
    let mut out = EntryOut::default();
    match by_number {
        Some(number) => out.set("customer_number", json!(number)),
        None => out.set("id", json!(customer.id)),
    }
    for field in CUSTOMER.fields.iter().filter(|f| f.role == Role::Managed) {
        let Some(text) = customer
            .fields
            .get(field.name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
        else {
            continue;
        };
        debug_assert_eq!(field.export, fields::Export::UnlessEmpty);
        // A name SLASCONE's list lacks is held as the id it has instead.
        if field.names == Some(Names::CustomerType) && Uuid::parse_str(text).is_ok() {
            warnings.push(format!(
                "customer {}: its customer type {text} has no name in SLASCONE's list; \
                 customer_type is left out",
                customer.key(),
            ));
            continue;
        }
        out.set(field.name, json!(text));
    }
    out.ordered(&CUSTOMER)
}

/// The manifest entry of one contact: its address, name and surname, and the other fields
/// where they say something.
fn contact_out(contact: &CurrentContact) -> EntryOut {
    let mut out = EntryOut::default();
    out.set("email", json!(contact.email));
    for field in CONTACT.fields.iter().filter(|f| f.role == Role::Managed) {
        let Some(value) = contact.fields.get(field.name) else {
            continue;
        };
        let written = match field.export {
            fields::Export::OnlyTrue => value == &Value::Bool(true),
            fields::Export::UnlessEmpty => value.as_str().is_some_and(|text| !text.is_empty()),
            _ => true,
        };
        if written {
            out.set(field.name, value.clone());
        }
    }
    out.ordered(&CONTACT)
}

/// The manifest entry of one license; `None` (with a warning) when its edition is unknown, since
/// the manifest could not name it.
fn license_out(
    remote: &Remote,
    dto: &LicenseDto,
    license: &CurrentLicense,
    legacy: Option<&str>,
    warnings: &mut Vec<String>,
) -> Option<EntryOut> {
    let catalog = &remote.catalog;
    let product = catalog.product_by_id(dto.product_id)?;
    let Some(edition) = product.edition_by_id(dto.template_id) else {
        warnings.push(format!(
            "license {}: its edition {} is not among the editions of {}; it is left out",
            describe(license),
            dto.template_id,
            product.product.name
        ));
        return None;
    };
    let defaults = crate::remote::convert::edition_fields(catalog, product, edition);
    let key = describe(license);
    let mut out = EntryOut::default();
    match legacy {
        Some(legacy) => out.set("legacy_license_key", json!(legacy)),
        None => out.set("id", json!(license.id)),
    }
    out.set("product", json!(product.product.name));
    out.set("edition", json!(edition.name));
    let mut skipped = |path: &str, value: &Value, why: &str| {
        warnings.push(format!(
            "license {key}: {path} is {value}, which a manifest cannot express ({why}); it is \
             left out"
        ));
    };
    let mut entries: BTreeMap<&'static str, serde_json::Map<String, Value>> = BTreeMap::new();
    for (path, value) in &license.fields {
        if defaults.get(path) == Some(value) {
            continue;
        }
        if let Some((map_name, name)) = path.split_once('.') {
            let Some(map) = LICENSE.map(map_name) else {
                skipped(path, value, "no license field holds it");
                continue;
            };
            let known = match map.names {
                Names::Feature => product.feature(name).is_some(),
                Names::Limitation => product.limitation(name).is_some(),
                Names::Variable => product.variable(name).is_some(),
                Names::ConstrainedVariable => product.constrained_variable(name).is_some(),
                _ => false,
            };
            let fits = match map.value {
                Type::Bool => value.is_boolean(),
                Type::Count => value.as_u64().is_some(),
                Type::TextList => value.as_array().is_some_and(|values| {
                    values
                        .iter()
                        .all(|v| v.as_str().is_some_and(|t| !t.trim().is_empty()))
                }),
                _ => value.is_string(),
            };
            if known && fits {
                entries
                    .entry(map.name)
                    .or_default()
                    .insert(name.to_owned(), value.clone());
            } else {
                skipped(
                    path,
                    value,
                    match (known, map.value) {
                        (false, _) => "the product has no entry of that name",
                        (_, Type::Count) => "a limitation is a whole number of zero or more",
                        (_, Type::TextList) => "a constrained variable's values are texts",
                        _ => "a variable is text",
                    },
                );
            }
            continue;
        }
        let Some(field) = LICENSE.field(path).filter(|f| f.role == Role::Managed) else {
            continue;
        };
        match field.export {
            fields::Export::OnlyFalse => {
                if value == &Value::Bool(false) {
                    out.set(field.name, value.clone());
                }
            }
            fields::Export::UnlessEdition => match field.ty {
                Type::Count => {
                    let Some(count) = value.as_u64() else {
                        skipped(path, value, "not a whole number of zero or more");
                        continue;
                    };
                    // No limit and a limit of 0 mean the same where the edition sets none.
                    if count == 0 && !defaults.contains_key(path) {
                        continue;
                    }
                    out.set(field.name, value.clone());
                }
                Type::Expires => {
                    let fits = value.is_string()
                        || value
                            .get("days_after_activation")
                            .and_then(Value::as_u64)
                            .is_some_and(|days| u32::try_from(days).is_ok());
                    if fits {
                        out.set(field.name, value.clone());
                    } else {
                        skipped(path, value, "not a date, `never` or a number of days");
                    }
                }
                _ => match value.as_str() {
                    Some(name)
                        if field.names != Some(Names::LicenseType)
                            || catalog.license_type(name).is_some() =>
                    {
                        out.set(field.name, value.clone());
                    }
                    _ => skipped(path, value, "no license type of that name"),
                },
            },
            fields::Export::OnlyTrue => {
                if value == &Value::Bool(true) {
                    out.set(field.name, value.clone());
                }
            }
            fields::Export::UnlessEmpty => match value.as_str() {
                None | Some("") => {}
                Some(version)
                    if field.names == Some(Names::SoftwareRelease)
                        && product.software_release(version).is_none() =>
                {
                    skipped(path, value, "no software release of that version");
                }
                Some(_) => out.set(field.name, value.clone()),
            },
            fields::Export::Always | fields::Export::Never => {}
        }
    }
    for (map, values) in entries {
        out.set(map, Value::Object(values));
    }
    // What the edition sets and the license does not have: a manifest that leaves it out gives
    // the license its edition's value, and has no way to say "none".
    for (path, value) in defaults.iter() {
        // An edition that gives none (a null release) is what the license has.
        if !path.contains('.')
            && !value.is_null()
            && license.fields.get(path).is_none()
            && LICENSE.field(path).is_some_and(|f| f.role == Role::Managed)
        {
            warnings.push(format!(
                "license {key}: it has no {path}, while its edition's is {value}, which a \
                 manifest cannot undo; the exported entry takes the edition's"
            ));
        }
    }
    Some(out.ordered(&LICENSE))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::remote::catalog::{Catalog, ProductCatalog};

    const PRODUCT: &str = "00000000-0000-0000-0000-0000000000a1";
    const EDITION: &str = "00000000-0000-0000-0000-0000000000e1";
    const USERS: &str = "00000000-0000-0000-0000-00000000001a";

    fn customer(id: u128, number: Option<&str>) -> crate::remote::wire::CustomerDto {
        crate::remote::wire::CustomerDto {
            id: Uuid::from_u128(id),
            customer_number: number.map(str::to_owned),
            company_name: Some(format!("Customer {id}")),
            ..Default::default()
        }
    }

    fn license(id: u128, customer: u128, template: &str, users: Value) -> LicenseDto {
        let mut license: LicenseDto = serde_json::from_value(json!({
            "id": Uuid::from_u128(id), "customer_id": Uuid::from_u128(customer),
            "product_id": PRODUCT, "template_id": template, "legacy_license_key": "SAME",
            "token_limit": 10, "valid_days_count": 0, "trial_days_count": 0,
            "is_active": true, "is_temporary": false,
        }))
        .unwrap();
        license.license_limitations = Some(vec![
            serde_json::from_value(json!({
                "product_id": PRODUCT, "limitation_id": USERS, "limit": users,
                "consumption_reset_mode": 0,
            }))
            .unwrap(),
        ]);
        license
    }

    fn remote() -> Remote {
        let product = ProductCatalog {
            product: serde_json::from_value(
                json!({"id": PRODUCT, "name": "Argus", "prioritized_key": 0}),
            )
            .unwrap(),
            features: Vec::new(),
            limitations: vec![
                serde_json::from_value(json!({
                    "id": USERS, "product_id": PRODUCT, "name": "Users", "is_aggregatable": false,
                }))
                .unwrap(),
            ],
            variables: Vec::new(),
            constrained_variables: Vec::new(),
            software_releases: Vec::new(),
            editions: vec![
                serde_json::from_value(json!({
                    "id": EDITION, "product_id": PRODUCT, "name": "Pro", "is_active": true,
                    "token_limit": 10, "valid_days_count": 0, "trial_days_count": 0,
                    "limitations": [{
                        "template_id": EDITION, "limitation_id": USERS, "is_adjustable": true,
                        "limit": 25, "consumption_reset_mode": 0,
                    }],
                }))
                .unwrap(),
            ],
        };
        Remote {
            catalog: Catalog {
                products: [("Argus".to_owned(), product)].into(),
                ..Catalog::default()
            },
            customers: vec![
                customer(1, Some("DUP")),
                customer(2, Some("DUP")),
                customer(3, Some("  ")),
            ],
            licenses: vec![
                license(11, 1, EDITION, json!(25)),
                license(12, 2, EDITION, Value::Null),
                license(13, 3, "00000000-0000-0000-0000-0000000000ff", json!(1)),
                license(14, 9, EDITION, json!(1)),
            ],
            contacts: Vec::new(),
        }
    }

    fn settings() -> Settings {
        Settings {
            api_url: "https://api.example".into(),
            isv_id: Uuid::nil(),
            portal_url: String::new(),
            admin_key_env: None,
            sandbox_catalog: None,
            timezone: None,
        }
    }

    fn file(export: &Export, name: &str) -> String {
        let path = Path::new(CUSTOMERS_DIR).join(name);
        let (_, bytes) = export
            .files
            .iter()
            .find(|(p, _)| *p == path)
            .unwrap_or_else(|| panic!("no {name}: {:?}", export.files));
        String::from_utf8(bytes.clone()).unwrap()
    }

    #[test]
    fn what_a_manifest_cannot_hold_is_left_out_with_a_warning() {
        let export = export(&remote(), &[], &settings()).unwrap();
        let id = |n: u128| Uuid::from_u128(n).to_string();
        let shared = |n: u128| {
            format!(
                "license Argus/SAME (id {}) shares its legacy_license_key with another license \
                 of Argus; it is exported by id",
                id(n)
            )
        };
        assert_eq!(
            export.warnings,
            [
                "2 customers share customer_number DUP; they are exported by id".to_owned(),
                shared(11),
                shared(12),
                format!(
                    "license Argus/SAME (id {}): limitations.Users is null, which a manifest \
                     cannot express (a limitation is a whole number of zero or more); it is left \
                     out",
                    id(12)
                ),
                shared(13),
                format!(
                    "license Argus/SAME (id {}): its edition \
                     00000000-0000-0000-0000-0000000000ff is not among the editions of Argus; it \
                     is left out",
                    id(13)
                ),
                format!(
                    "license Argus/SAME (id {}) belongs to customer {}, which SLASCONE does not \
                     list; it is left out",
                    id(14),
                    id(9)
                ),
            ]
        );
        assert_eq!((export.customers, export.licenses), (3, 2));
        // Shared numbers and blank ones are no identity: the id is.
        let first = file(&export, &format!("{}.yaml", id(1)));
        assert!(first.contains(&format!("id: {}", id(1))), "{first}");
        assert!(!first.contains("DUP"), "{first}");
        assert!(
            !first.contains("limitations"),
            "equal to the edition: {first}"
        );
        assert!(first.contains(&format!("id: {}", id(11))), "{first}");
        assert!(file(&export, &format!("{}.yaml", id(3))).contains(&format!("id: {}", id(3))));
    }

    /// An edition that expires and a license of it that does not: the manifest cannot say so,
    /// and export says what it could not write.
    #[test]
    fn what_the_edition_sets_and_the_license_lacks_is_named() {
        let mut remote = remote();
        for product in remote.catalog.products.values_mut() {
            for edition in &mut product.editions {
                edition.expiration_mode = Some(crate::remote::wire::expiration_mode::NEVER);
            }
        }
        let export = export(&remote, &[], &settings()).unwrap();
        let lacking: Vec<&String> = export
            .warnings
            .iter()
            .filter(|w| w.contains("it has no expires"))
            .collect();
        assert_eq!(lacking.len(), 2, "{:?}", export.warnings);
        assert!(
            lacking[0].ends_with(
                "it has no expires, while its edition's is \"never\", which a manifest cannot \
                 undo; the exported entry takes the edition's"
            ),
            "{lacking:?}"
        );
    }

    #[test]
    fn a_customer_filter_names_existing_customers_only() {
        let err = export(&remote(), &["K404".to_owned()], &settings()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SLASCONE has no customer with customer_number or id `K404`"
        );
        let only = export(&remote(), &[Uuid::from_u128(2).to_string()], &settings()).unwrap();
        assert_eq!(only.customers, 1);
        assert!(
            only.warnings
                .contains(&"2 licenses of customers not exported are left out".to_owned()),
            "{:?}",
            only.warnings
        );
    }
}
