//! Request bodies: the model's field values written onto SLASCONE's wire objects.
//!
//! `PATCH /customers` and `PATCH /licenses` get the whole current object with the desired fields
//! written onto it, so nothing outside the manifest is lost whether SLASCONE merges or replaces.
//! `PATCH /data_exchange/customers` is documented as merge-style and gets the customer number
//! and the changed fields only.

use serde_json::Value;
use uuid::Uuid;

use crate::dates::Zone;
use crate::model::entry_of;
use crate::plan::{FieldChange, Source};
use crate::remote::wire::*;
use crate::state::{Catalog, ProductCatalog};

/// A field value that cannot be written: a name SLASCONE does not know, or a value of the wrong
/// shape (possible with a saved plan applied after the catalog changed).
pub type BodyError = String;

/// Writes one customer field onto a `CustomerDto`.
pub fn write_customer_field(
    customer: &mut CustomerDto,
    path: &str,
    value: &Value,
    catalog: &Catalog,
) -> Result<(), BodyError> {
    let text = || text_value(path, value);
    match path {
        "company_name" => customer.company_name = text()?,
        "country" => customer.country = text()?,
        "email" => customer.email = text()?,
        "street" => customer.street = text()?,
        "zip" => customer.postalcode = text()?,
        "city" => customer.city = text()?,
        "phone" => customer.phone = text()?,
        "prospect_number" => customer.prospect_number = text()?,
        "customer_type" => {
            customer.customer_type = match text()? {
                None => None,
                Some(name) => {
                    let found = catalog
                        .customer_type(&name)
                        .ok_or_else(|| format!("unknown customer type `{name}`"))?;
                    Some(CustomerTypeDto {
                        id: found.id,
                        customer_type_name: Some(name),
                        created_date_utc: None,
                        modified_date_utc: None,
                        last_modified_by: None,
                    })
                }
            }
        }
        other => return Err(format!("`{other}` is not a customer field")),
    }
    Ok(())
}

/// The body of `POST /customers` for a customer keyed by id.
pub fn customer_create_body<'a>(
    id: Uuid,
    customer_number: Option<&str>,
    fields: impl IntoIterator<Item = (&'a str, &'a Value)>,
    catalog: &Catalog,
) -> Result<CustomerDto, BodyError> {
    let mut customer = CustomerDto {
        id,
        customer_number: customer_number.map(str::to_string),
        ..CustomerDto::default()
    };
    for (path, value) in fields {
        write_customer_field(&mut customer, path, value, catalog)?;
    }
    Ok(customer)
}

/// The body of `PATCH /customers`: the current customer with the changed fields written onto it.
pub fn customer_update_body<'a>(
    current: &CustomerDto,
    changes: impl IntoIterator<Item = (&'a str, &'a Value)>,
    catalog: &Catalog,
) -> Result<CustomerDto, BodyError> {
    let mut customer = current.clone();
    customer.clear_server_fields();
    for (path, value) in changes {
        write_customer_field(&mut customer, path, value, catalog)?;
    }
    Ok(customer)
}

/// The body of `POST /data_exchange/customers`. SLASCONE requires name, type and country.
pub fn data_exchange_create_body<'a>(
    customer_number: &str,
    fields: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Result<DataExchangeAddCustomerDto, BodyError> {
    let mut update = DataExchangeUpdateCustomerDto {
        customer_number: customer_number.to_string(),
        ..DataExchangeUpdateCustomerDto::default()
    };
    for (path, value) in fields {
        write_data_exchange_field(&mut update, path, value)?;
    }
    let required = |value: Option<String>, name: &str| {
        value.filter(|v| !v.is_empty()).ok_or_else(|| {
            format!("creating customer {customer_number} by customer_number needs `{name}`")
        })
    };
    Ok(DataExchangeAddCustomerDto {
        customer_name: required(update.customer_name, "company_name")?,
        customer_type: required(update.customer_type, "customer_type")?,
        country: required(update.country, "country")?,
        customer_number: update.customer_number,
        street: update.street,
        zip: update.zip,
        city: update.city,
        phone: update.phone,
        email: update.email,
        prospect_number: update.prospect_number,
        tags: None,
    })
}

/// The body of `PATCH /data_exchange/customers`: the number and the changed fields only.
pub fn data_exchange_update_body<'a>(
    customer_number: &str,
    changes: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Result<DataExchangeUpdateCustomerDto, BodyError> {
    let mut update = DataExchangeUpdateCustomerDto {
        customer_number: customer_number.to_string(),
        ..DataExchangeUpdateCustomerDto::default()
    };
    for (path, value) in changes {
        write_data_exchange_field(&mut update, path, value)?;
    }
    Ok(update)
}

fn write_data_exchange_field(
    update: &mut DataExchangeUpdateCustomerDto,
    path: &str,
    value: &Value,
) -> Result<(), BodyError> {
    let text = text_value(path, value)?;
    match path {
        "company_name" => update.customer_name = text,
        "customer_type" => update.customer_type = text,
        "country" => update.country = text,
        "email" => update.email = text,
        "street" => update.street = text,
        "zip" => update.zip = text,
        "city" => update.city = text,
        "phone" => update.phone = text,
        "prospect_number" => update.prospect_number = text,
        other => return Err(format!("`{other}` is not a customer field")),
    }
    Ok(())
}

/// What a license body is written with besides the change itself.
pub struct LicenseContext<'a> {
    pub product: &'a ProductCatalog,
    pub catalog: &'a Catalog,
    /// Resolves a customer key (the value of the `customer` field) to the id SLASCONE knows it by.
    pub customer_id: &'a (dyn Fn(&str) -> Option<Uuid> + Sync),
}

impl LicenseContext<'_> {
    fn edition(&self, name: &str) -> Result<&TemplateDto, BodyError> {
        self.product.edition(name).ok_or_else(|| {
            format!(
                "product {} has no edition `{name}`",
                self.product.product.name
            )
        })
    }
}

/// Writes one license field onto a `LicenseDto`. An entry the license does not have yet is added
/// with the other properties `edition` gives it (a limitation's consumption reset, ...), so
/// writing a value never changes a property the manifest does not set.
pub fn write_license_field(
    license: &mut LicenseDto,
    path: &str,
    value: &Value,
    ctx: &LicenseContext<'_>,
    edition: Option<&TemplateDto>,
) -> Result<(), BodyError> {
    let product = ctx.product;
    let product_id = product.product.id;
    let product_name = &product.product.name;
    if let Some((map, name)) = entry_of(path) {
        match map {
            "features" => {
                let feature = product
                    .feature(name)
                    .ok_or_else(|| format!("product {product_name} has no feature `{name}`"))?;
                let is_active = value
                    .as_bool()
                    .ok_or_else(|| format!("`{path}` must be true or false"))?;
                let entries = license.license_features.get_or_insert_with(Vec::new);
                match entries.iter_mut().find(|e| e.feature_id == feature.id) {
                    Some(entry) => entry.is_active = is_active,
                    None => entries.push(LicenseFeatureDto {
                        product_id,
                        feature_id: feature.id,
                        feature_name: Some(feature.name.clone()),
                        feature_description: None,
                        is_active,
                        feature_exceptions: None,
                    }),
                }
            }
            "limitations" => {
                let limitation = product
                    .limitation(name)
                    .ok_or_else(|| format!("product {product_name} has no limitation `{name}`"))?;
                let limit = optional_int(path, value)?;
                let entries = license.license_limitations.get_or_insert_with(Vec::new);
                match entries
                    .iter_mut()
                    .find(|e| e.limitation_id == limitation.id)
                {
                    Some(entry) => entry.limit = limit,
                    None => {
                        let from_edition = edition.and_then(|e| {
                            e.limitations
                                .iter()
                                .flatten()
                                .find(|t| t.limitation_id == limitation.id)
                        });
                        entries.push(LicenseLimitationDto {
                            limit,
                            ..match from_edition {
                                Some(template) => limitation_entry(product_id, template),
                                None => LicenseLimitationDto {
                                    product_id,
                                    limitation_id: limitation.id,
                                    limitation_name: Some(limitation.name.clone()),
                                    limitation_description: None,
                                    limit: None,
                                    consumption_reset_mode: 0,
                                    consumption_reset_period_days: None,
                                    current_user_transaction_id: None,
                                },
                            }
                        });
                    }
                }
            }
            "variables" => {
                let variable = product
                    .variable(name)
                    .ok_or_else(|| format!("product {product_name} has no variable `{name}`"))?;
                let text = text_value(path, value)?;
                let entries = license.license_variables.get_or_insert_with(Vec::new);
                match entries.iter_mut().find(|e| e.variable_id == variable.id) {
                    Some(entry) => entry.value = text,
                    None => entries.push(LicenseVariableDto {
                        product_id,
                        variable_id: variable.id,
                        variable_name: Some(variable.name.clone()),
                        variable_description: None,
                        value: text,
                    }),
                }
            }
            _ => {
                let variable = product.constrained_variable(name).ok_or_else(|| {
                    format!("product {product_name} has no constrained variable `{name}`")
                })?;
                let values = text_list(path, value)?;
                let entries = license
                    .license_constrained_variables
                    .get_or_insert_with(Vec::new);
                match entries.iter_mut().find(|e| e.variable_id == variable.id) {
                    Some(entry) => entry.values = Some(values),
                    None => entries.push(LicenseConstrainedVariableDto {
                        product_id,
                        variable_id: variable.id,
                        variable_name: Some(variable.name.clone()),
                        variable_description: None,
                        values: Some(values),
                    }),
                }
            }
        }
        return Ok(());
    }
    match path {
        "customer" => {
            let key = value
                .as_str()
                .ok_or_else(|| "`customer` must be a customer key".to_string())?;
            license.customer_id = (ctx.customer_id)(key)
                .ok_or_else(|| format!("customer {key} does not exist in SLASCONE"))?;
        }
        "edition" => {
            let name = value
                .as_str()
                .ok_or_else(|| "`edition` must be an edition name".to_string())?;
            license.template_id = ctx.edition(name)?.id;
        }
        "license_type" => {
            license.license_type_id = match text_value(path, value)? {
                None => None,
                Some(name) => Some(
                    ctx.catalog
                        .license_type(&name)
                        .ok_or_else(|| format!("unknown license type `{name}`"))?
                        .id,
                ),
            }
        }
        "token_limit" => license.token_limit = optional_int(path, value)?.unwrap_or(0),
        "goodwill_token_limit" => license.goodwill_token_limit = optional_int(path, value)?,
        "floating_token_limit" => license.floating_token_limit = optional_int(path, value)?,
        "user_limit" => license.user_limit = optional_int(path, value)?,
        "active" => {
            license.is_active = Some(
                value
                    .as_bool()
                    .ok_or_else(|| "`active` must be true or false".to_string())?,
            )
        }
        "expires" => write_expires(license, value, &ctx.catalog.zone)?,
        other => return Err(format!("`{other}` is not a license field")),
    }
    Ok(())
}

/// Leaves a license property out of a body, so that SLASCONE gives it the edition's value
/// (`apply_template_properties`). `token_limit` is required and cannot be left out.
fn clear_license_field(license: &mut LicenseDto, path: &str) {
    match path {
        "license_type" => license.license_type_id = None,
        "goodwill_token_limit" => license.goodwill_token_limit = None,
        "floating_token_limit" => license.floating_token_limit = None,
        "user_limit" => license.user_limit = None,
        "expires" => {
            license.expiration_mode = None;
            license.expiration_date_utc = None;
            license.valid_days_count = None;
        }
        _ => {}
    }
}

/// A limitation entry as the edition has it, every property included.
fn limitation_entry(product_id: Uuid, template: &TemplateLimitationDto) -> LicenseLimitationDto {
    LicenseLimitationDto {
        product_id,
        limitation_id: template.limitation_id,
        limitation_name: template.limitation_name.clone(),
        limitation_description: None,
        limit: template.limit,
        consumption_reset_mode: template.consumption_reset_mode,
        consumption_reset_period_days: template.consumption_reset_period_days,
        current_user_transaction_id: None,
    }
}

/// Every entry of `edition`, with all of its properties: the lists an explicit license starts
/// from before its manifest's overrides are written onto them.
fn edition_entries(license: &mut LicenseDto, product_id: Uuid, edition: &TemplateDto) {
    license.license_features = Some(
        edition
            .features
            .iter()
            .flatten()
            .map(|f| LicenseFeatureDto {
                product_id,
                feature_id: f.feature_id,
                feature_name: f.feature_name.clone(),
                feature_description: None,
                is_active: f.is_active,
                feature_exceptions: None,
            })
            .collect(),
    );
    license.license_limitations = Some(
        edition
            .limitations
            .iter()
            .flatten()
            .map(|l| limitation_entry(product_id, l))
            .collect(),
    );
    license.license_variables = Some(
        edition
            .variables
            .iter()
            .flatten()
            .map(|v| LicenseVariableDto {
                product_id,
                variable_id: v.variable_id,
                variable_name: v.variable_name.clone(),
                variable_description: None,
                value: v.value.clone(),
            })
            .collect(),
    );
    license.license_constrained_variables = Some(
        edition
            .constrained_variables
            .iter()
            .flatten()
            .map(|v| LicenseConstrainedVariableDto {
                product_id,
                variable_id: v.variable_id,
                variable_name: v.variable_name.clone(),
                variable_description: None,
                values: v.values.clone(),
            })
            .collect(),
    );
}

fn write_expires(license: &mut LicenseDto, value: &Value, zone: &Zone) -> Result<(), BodyError> {
    match value {
        Value::String(text) if text == "never" => {
            license.expiration_mode = Some(expiration_mode::NEVER);
            license.expiration_date_utc = None;
        }
        Value::String(text) => {
            let date = crate::dates::parse_date(text)
                .ok_or_else(|| format!("`expires` must be a date like 2027-12-31, not `{text}`"))?;
            license.expiration_mode = Some(expiration_mode::DATE);
            license.expiration_date_utc = Some(zone.end_of_day(date));
        }
        Value::Object(map) => {
            let days = map
                .get("days_after_activation")
                .and_then(Value::as_i64)
                .ok_or_else(|| "`expires` needs `days_after_activation`".to_string())?;
            license.expiration_mode = Some(expiration_mode::DAYS_AFTER_ACTIVATION);
            license.valid_days_count = Some(days);
            license.expiration_date_utc = None;
        }
        _ => {
            return Err("`expires` must be a date, `never` or `{days_after_activation: N}`".into());
        }
    }
    Ok(())
}

/// The body of `POST /licenses`.
///
/// It sends what the manifest writes, plus what the DTO requires (`token_limit`, taken from the
/// change, which carries the edition's when the manifest sets none), and nothing it would have
/// to invent: SLASCONE applies the edition to the rest. An edition-based license carries no
/// entries at all, so it gets everything its edition holds, including what manifests do not
/// model. An explicit license carries every entry of its edition, with all their properties,
/// and the manifest's values on top. A license is active unless the manifest says otherwise:
/// `is_active` is sent as `true`, since the DTO's non-null boolean would otherwise read as
/// `false`.
pub fn license_create_body(
    id: Uuid,
    legacy_license_key: Option<&str>,
    fields: &[FieldChange],
    edition_based: bool,
    ctx: &LicenseContext<'_>,
) -> Result<LicenseDto, BodyError> {
    let edition_name = fields
        .iter()
        .find(|f| f.path == "edition")
        .and_then(|f| f.after.as_str())
        .ok_or_else(|| "a license create names its edition".to_string())?;
    let edition = ctx.edition(edition_name)?;
    let product_id = ctx.product.product.id;
    let mut license = LicenseDto {
        id,
        product_id,
        template_id: edition.id,
        legacy_license_key: legacy_license_key.map(str::to_string),
        token_limit: edition.token_limit,
        is_active: Some(true),
        ..LicenseDto::default()
    };
    if !edition_based {
        edition_entries(&mut license, product_id, edition);
    }
    for field in fields {
        let from_edition = field.source == Some(Source::Edition);
        let write = match entry_of(&field.path) {
            Some(_) => !edition_based,
            None => !from_edition || field.path == "token_limit",
        };
        if write {
            write_license_field(&mut license, &field.path, &field.after, ctx, Some(edition))?;
        }
    }
    Ok(license)
}

/// The body of `PATCH /licenses` and its `apply_template_properties` flag: the current license
/// with the changed fields written onto it, so nothing outside the manifest is lost whether
/// SLASCONE merges or replaces.
///
/// When the edition changes, the flag is set and what the new edition supplies is left out,
/// so that SLASCONE applies the edition the way it does itself: the values it gives the
/// license (`source: edition`), and for an edition-based license every entry, including what
/// manifests do not model. Only `token_limit`, which the DTO requires, is sent as the change
/// gives it.
pub fn license_update_body(
    current: &LicenseDto,
    fields: &[FieldChange],
    edition_based: bool,
    ctx: &LicenseContext<'_>,
) -> Result<(LicenseDto, bool), BodyError> {
    let mut license = current.clone();
    license.clear_server_fields();
    let new_edition = fields
        .iter()
        .find(|f| f.path == "edition")
        .and_then(|f| f.after.as_str());
    let edition = match new_edition {
        Some(name) => Some(ctx.edition(name)?),
        None => ctx.product.edition_by_id(current.template_id),
    };
    let apply_template = new_edition.is_some();
    if apply_template {
        license.trial_days_count = None;
        if edition_based {
            license.license_features = None;
            license.license_limitations = None;
            license.license_variables = None;
            license.license_constrained_variables = None;
        }
    }
    for field in fields {
        if apply_template && field.source == Some(Source::Edition) && field.path != "token_limit" {
            if entry_of(&field.path).is_none() {
                clear_license_field(&mut license, &field.path);
                continue;
            }
            if edition_based {
                continue;
            }
        }
        write_license_field(&mut license, &field.path, &field.after, ctx, edition)?;
    }
    Ok((license, apply_template))
}

/// A list of text values, as a constrained variable holds.
fn text_list(path: &str, value: &Value) -> Result<Vec<String>, BodyError> {
    value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| format!("`{path}` must be a list of text values"))
}

fn text_value(path: &str, value: &Value) -> Result<Option<String>, BodyError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        Value::Number(number) => Ok(Some(number.to_string())),
        Value::Bool(flag) => Ok(Some(flag.to_string())),
        _ => Err(format!("`{path}` must be text")),
    }
}

fn optional_int(path: &str, value: &Value) -> Result<Option<i64>, BodyError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => number
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("`{path}` must be a whole number")),
        _ => Err(format!("`{path}` must be a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EDITION: Uuid = Uuid::from_u128(50);

    fn catalog() -> (Catalog, ProductCatalog) {
        let product_id = Uuid::from_u128(1);
        let edition: TemplateDto = serde_json::from_value(json!({
            "id": EDITION, "product_id": product_id, "name": "Pro", "token_limit": 10,
            "features": [{"feature_id": Uuid::from_u128(10), "feature_name": "Export", "is_active": false}],
            "limitations": [
                {"limitation_id": Uuid::from_u128(20), "limitation_name": "Users", "limit": 25},
                {"limitation_id": Uuid::from_u128(21), "limitation_name": "Projects", "limit": 100,
                 "consumption_reset_mode": 2, "consumption_reset_period_days": 30}
            ],
            "variables": [{"variable_id": Uuid::from_u128(30), "variable_name": "Region", "value": "EU"}],
            "constrained_variables": [{"variable_id": Uuid::from_u128(35), "variable_name": "Modules", "values": ["Core"]}]
        }))
        .unwrap();
        let product = ProductCatalog {
            product: ProductDto {
                id: product_id,
                name: "Argus".into(),
                description: None,
                prioritized_key: 0,
            },
            features: vec![FeatureDto {
                id: Uuid::from_u128(10),
                product_id,
                name: "Export".into(),
                description: None,
            }],
            limitations: ["Users", "Projects"]
                .iter()
                .zip(20..)
                .map(|(name, id)| LimitationDto {
                    id: Uuid::from_u128(id),
                    product_id,
                    name: (*name).into(),
                    description: None,
                    is_aggregatable: false,
                })
                .collect(),
            variables: vec![VariableDto {
                id: Uuid::from_u128(30),
                product_id,
                name: "Region".into(),
                description: None,
            }],
            constrained_variables: vec![ConstrainedVariableDto {
                id: Uuid::from_u128(35),
                product_id,
                name: "Modules".into(),
                description: None,
                custom_list_id: Uuid::from_u128(36),
                mode: 0,
                selection_mode: 0,
            }],
            editions: vec![edition],
        };
        let catalog = Catalog {
            customer_types: vec![CustomerTypeDto {
                id: Uuid::from_u128(40),
                customer_type_name: Some("Enterprise".into()),
                created_date_utc: None,
                modified_date_utc: None,
                last_modified_by: None,
            }],
            zone: Zone::named("Europe/Berlin").unwrap(),
            ..Catalog::default()
        };
        (catalog, product)
    }

    fn field(path: &str, after: Value, source: Option<Source>) -> FieldChange {
        FieldChange {
            path: path.into(),
            before: Value::Null,
            after,
            source,
        }
    }

    const OWNER: Uuid = Uuid::from_u128(99);

    fn ctx<'a>(catalog: &'a Catalog, product: &'a ProductCatalog) -> LicenseContext<'a> {
        LicenseContext {
            product,
            catalog,
            customer_id: &|key| (key == "K1").then_some(OWNER),
        }
    }

    /// The create fields of a license of edition Pro: what the plan lists.
    fn create_fields(manifest: Vec<FieldChange>) -> Vec<FieldChange> {
        let edition = Some(Source::Edition);
        let mut fields = vec![
            field("customer", json!("K1"), None),
            field("edition", json!("Pro"), None),
            field("token_limit", json!(10), edition),
            field("features.Export", json!(false), edition),
            field("limitations.Users", json!(25), edition),
            field("limitations.Projects", json!(100), edition),
            field("variables.Region", json!("EU"), edition),
            field("constrained_variables.Modules", json!(["Core"]), edition),
        ];
        for wanted in manifest {
            fields.retain(|f| f.path != wanted.path);
            fields.push(wanted);
        }
        fields
    }

    #[test]
    fn data_exchange_update_sends_only_the_changes() {
        let value = json!("Acme AG");
        let body = data_exchange_update_body("K001", [("company_name", &value)]).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"customer_number": "K001", "customer_name": "Acme AG"})
        );
    }

    #[test]
    fn data_exchange_create_requires_name_type_and_country() {
        let name = json!("Acme");
        let err = data_exchange_create_body("K001", [("company_name", &name)]).unwrap_err();
        assert!(err.contains("customer_type"), "{err}");
    }

    #[test]
    fn customer_update_keeps_fields_outside_the_manifest() {
        let (catalog, _) = catalog();
        let current = CustomerDto {
            id: Uuid::from_u128(5),
            company_name: Some("Acme".into()),
            longitude: Some(8.5),
            phone: Some("+49 1".into()),
            modified_date_utc: Some("2026-01-01T00:00:00Z".into()),
            ..CustomerDto::default()
        };
        let kind = json!("Enterprise");
        let body = customer_update_body(&current, [("customer_type", &kind)], &catalog).unwrap();
        assert_eq!(body.longitude, Some(8.5));
        assert_eq!(body.phone.as_deref(), Some("+49 1"));
        assert_eq!(body.customer_type.unwrap().id, Uuid::from_u128(40));
        assert_eq!(body.modified_date_utc, None);
    }

    #[test]
    fn an_edition_based_create_sends_what_the_manifest_sets_and_lets_slascone_apply_the_edition() {
        let (catalog, product) = catalog();
        let fields = create_fields(vec![field("expires", json!("2027-06-30"), None)]);
        let body = license_create_body(
            Uuid::from_u128(7),
            Some("L-1"),
            &fields,
            true,
            &ctx(&catalog, &product),
        )
        .unwrap();
        // The required token_limit is the edition's; no entries, no invented defaults; the
        // expiry is the last second of the day in the project's zone.
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "id": Uuid::from_u128(7), "customer_id": OWNER, "product_id": Uuid::from_u128(1),
                "template_id": EDITION, "legacy_license_key": "L-1", "token_limit": 10,
                "expiration_date_utc": "2027-06-30T21:59:59Z", "expiration_mode": 2,
                "is_active": true
            })
        );
    }

    #[test]
    fn an_explicit_create_carries_every_edition_entry_with_its_properties() {
        let (catalog, product) = catalog();
        let fields = create_fields(vec![
            field("limitations.Projects", json!(200), None),
            field("token_limit", json!(12), None),
        ]);
        let body = license_create_body(
            Uuid::from_u128(7),
            None,
            &fields,
            false,
            &ctx(&catalog, &product),
        )
        .unwrap();
        assert_eq!(body.token_limit, 12);
        let limitations = body.license_limitations.unwrap();
        assert_eq!(limitations.len(), 2);
        let projects = limitations
            .iter()
            .find(|l| l.limitation_id == Uuid::from_u128(21))
            .unwrap();
        assert_eq!(projects.limit, Some(200), "the manifest's value");
        assert_eq!(
            (
                projects.consumption_reset_mode,
                projects.consumption_reset_period_days
            ),
            (2, Some(30)),
            "the edition's reset is kept"
        );
        assert_eq!(body.license_features.unwrap().len(), 1);
        assert_eq!(
            body.license_constrained_variables.unwrap()[0].values,
            Some(vec!["Core".to_owned()])
        );
        assert_eq!(body.expiration_mode, None, "left to the edition");
    }

    #[test]
    fn an_update_keeps_entry_properties_and_adds_new_entries_as_the_edition_has_them() {
        let (catalog, product) = catalog();
        let current = LicenseDto {
            template_id: EDITION,
            license_limitations: Some(vec![LicenseLimitationDto {
                product_id: product.product.id,
                limitation_id: Uuid::from_u128(20),
                limitation_name: Some("Users".into()),
                limitation_description: None,
                limit: Some(25),
                consumption_reset_mode: 3,
                consumption_reset_period_days: None,
                current_user_transaction_id: None,
            }]),
            ..LicenseDto::default()
        };
        let changes = [
            field("limitations.Users", json!(50), None),
            field("limitations.Projects", json!(150), None),
            field("features.Export", json!(true), None),
            field("expires", json!("2027-12-31"), None),
        ];
        let (body, apply_template) =
            license_update_body(&current, &changes, false, &ctx(&catalog, &product)).unwrap();
        assert!(!apply_template);
        let limitations = body.license_limitations.as_ref().unwrap();
        assert_eq!(limitations[0].limit, Some(50));
        assert_eq!(limitations[0].consumption_reset_mode, 3, "kept as it was");
        assert_eq!(
            (limitations[1].limit, limitations[1].consumption_reset_mode),
            (Some(150), 2),
            "added with the edition's reset"
        );
        assert!(body.license_features.as_ref().unwrap()[0].is_active);
        assert_eq!(
            body.expiration_date_utc.as_deref(),
            Some("2027-12-31T22:59:59Z")
        );
    }

    #[test]
    fn a_new_edition_is_applied_by_slascone() {
        let (catalog, product) = catalog();
        let current = LicenseDto {
            id: Uuid::from_u128(7),
            template_id: Uuid::from_u128(51),
            token_limit: 3,
            user_limit: Some(9),
            trial_days_count: Some(14),
            name: Some("kept".into()),
            license_limitations: Some(Vec::new()),
            license_features: Some(Vec::new()),
            ..LicenseDto::default()
        };
        let edition = Some(Source::Edition);
        let changes = [
            field("edition", json!("Pro"), None),
            field("token_limit", json!(10), edition),
            field("user_limit", Value::Null, edition),
            field("limitations.Users", json!(25), edition),
        ];
        let (body, apply_template) =
            license_update_body(&current, &changes, true, &ctx(&catalog, &product)).unwrap();
        assert!(apply_template);
        assert_eq!(body.template_id, EDITION);
        assert_eq!(body.token_limit, 10, "required, so sent");
        assert_eq!(
            (body.user_limit, body.trial_days_count),
            (None, None),
            "left to the edition"
        );
        assert_eq!(
            (body.license_limitations, body.license_features),
            (None, None),
            "an edition-based license takes every entry from its new edition"
        );
        assert_eq!(body.name.as_deref(), Some("kept"));
    }

    #[test]
    fn unknown_names_are_errors_not_panics() {
        let (catalog, product) = catalog();
        let ctx = ctx(&catalog, &product);
        let mut license = LicenseDto::default();
        let err = write_license_field(&mut license, "features.Nope", &json!(true), &ctx, None)
            .unwrap_err();
        assert!(err.contains("no feature `Nope`"), "{err}");
        let err =
            write_license_field(&mut license, "customer", &json!("K404"), &ctx, None).unwrap_err();
        assert!(err.contains("K404"), "{err}");
    }
}
