//! Request bodies: the model's field values written onto SLASCONE's wire objects.
//!
//! `PATCH /customers` and `PATCH /licenses` get the whole current object with the desired fields
//! written onto it, so nothing outside the manifest is lost whether SLASCONE merges or replaces.
//! `PATCH /data_exchange/customers` is documented as merge-style and gets the customer number
//! and the changed fields only.

use serde_json::Value;
use uuid::Uuid;

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

/// Writes one license field onto a `LicenseDto`. `customer_id` resolves a customer key (the
/// value of the `customer` field) to the id SLASCONE knows it by.
pub fn write_license_field(
    license: &mut LicenseDto,
    path: &str,
    value: &Value,
    product: &ProductCatalog,
    catalog: &Catalog,
    customer_id: &dyn Fn(&str) -> Option<Uuid>,
) -> Result<(), BodyError> {
    let product_id = product.product.id;
    let product_name = &product.product.name;
    if let Some(name) = path.strip_prefix("features.") {
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
        return Ok(());
    }
    if let Some(name) = path.strip_prefix("limitations.") {
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
            None => entries.push(LicenseLimitationDto {
                product_id,
                limitation_id: limitation.id,
                limitation_name: Some(limitation.name.clone()),
                limitation_description: None,
                limit,
                consumption_reset_mode: 0,
                consumption_reset_period_days: None,
                current_user_transaction_id: None,
            }),
        }
        return Ok(());
    }
    if let Some(name) = path.strip_prefix("variables.") {
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
        return Ok(());
    }
    match path {
        "customer" => {
            let key = value
                .as_str()
                .ok_or_else(|| "`customer` must be a customer key".to_string())?;
            license.customer_id = customer_id(key)
                .ok_or_else(|| format!("customer {key} does not exist in SLASCONE"))?;
        }
        "edition" => {
            let name = value
                .as_str()
                .ok_or_else(|| "`edition` must be an edition name".to_string())?;
            license.template_id = product
                .edition(name)
                .ok_or_else(|| format!("product {product_name} has no edition `{name}`"))?
                .id;
        }
        "license_type" => {
            license.license_type_id = match text_value(path, value)? {
                None => None,
                Some(name) => Some(
                    catalog
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
            license.is_active = value
                .as_bool()
                .ok_or_else(|| "`active` must be true or false".to_string())?
        }
        "expires" => write_expires(license, value)?,
        other => return Err(format!("`{other}` is not a license field")),
    }
    Ok(())
}

fn write_expires(license: &mut LicenseDto, value: &Value) -> Result<(), BodyError> {
    match value {
        Value::String(text) if text == "never" => {
            license.expiration_mode = Some(expiration_mode::NEVER);
            license.expiration_date_utc = None;
        }
        Value::String(date) => {
            time::Date::parse(
                date,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| format!("`expires` must be a date like 2027-12-31, not `{date}`"))?;
            license.expiration_mode = Some(expiration_mode::DATE);
            license.expiration_date_utc = Some(format!("{date}T00:00:00Z"));
        }
        Value::Object(map) => {
            let days = map
                .get("days_after_activation")
                .and_then(Value::as_i64)
                .ok_or_else(|| "`expires` needs `days_after_activation`".to_string())?;
            license.expiration_mode = Some(expiration_mode::DAYS_AFTER_ACTIVATION);
            license.valid_days_count = days;
            license.expiration_date_utc = None;
        }
        _ => {
            return Err("`expires` must be a date, `never` or `{days_after_activation: N}`".into());
        }
    }
    Ok(())
}

/// The body of `POST /licenses`: a new license with every field of the create written onto it.
/// A license is active unless the manifest says otherwise.
pub fn license_create_body<'a>(
    id: Uuid,
    legacy_license_key: Option<&str>,
    product: &ProductCatalog,
    catalog: &Catalog,
    fields: impl IntoIterator<Item = (&'a str, &'a Value)>,
    customer_id: &dyn Fn(&str) -> Option<Uuid>,
) -> Result<LicenseDto, BodyError> {
    let mut license = LicenseDto {
        id,
        product_id: product.product.id,
        legacy_license_key: legacy_license_key.map(str::to_string),
        is_active: true,
        expiration_mode: Some(expiration_mode::NEVER),
        ..LicenseDto::default()
    };
    for (path, value) in fields {
        write_license_field(&mut license, path, value, product, catalog, customer_id)?;
    }
    Ok(license)
}

/// The body of `PATCH /licenses`: the current license with the changed fields written onto it.
pub fn license_update_body<'a>(
    current: &LicenseDto,
    product: &ProductCatalog,
    catalog: &Catalog,
    changes: impl IntoIterator<Item = (&'a str, &'a Value)>,
    customer_id: &dyn Fn(&str) -> Option<Uuid>,
) -> Result<LicenseDto, BodyError> {
    let mut license = current.clone();
    license.clear_server_fields();
    for (path, value) in changes {
        write_license_field(&mut license, path, value, product, catalog, customer_id)?;
    }
    Ok(license)
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

    fn catalog() -> (Catalog, ProductCatalog) {
        let product_id = Uuid::from_u128(1);
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
            limitations: vec![LimitationDto {
                id: Uuid::from_u128(20),
                product_id,
                name: "Users".into(),
                description: None,
                is_aggregatable: false,
            }],
            variables: vec![VariableDto {
                id: Uuid::from_u128(30),
                product_id,
                name: "Region".into(),
                description: None,
            }],
            editions: vec![],
        };
        let catalog = Catalog {
            customer_types: vec![CustomerTypeDto {
                id: Uuid::from_u128(40),
                customer_type_name: Some("Enterprise".into()),
                created_date_utc: None,
                modified_date_utc: None,
                last_modified_by: None,
            }],
            ..Catalog::default()
        };
        (catalog, product)
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
    fn license_entries_are_updated_in_place_or_added() {
        let (catalog, product) = catalog();
        let current = LicenseDto {
            license_limitations: Some(vec![LicenseLimitationDto {
                product_id: product.product.id,
                limitation_id: Uuid::from_u128(20),
                limitation_name: Some("Users".into()),
                limitation_description: None,
                limit: Some(25),
                consumption_reset_mode: 2,
                consumption_reset_period_days: Some(30),
                current_user_transaction_id: None,
            }]),
            ..LicenseDto::default()
        };
        let (users, export, date) = (json!(50), json!(true), json!("2027-12-31"));
        let changes = [
            ("limitations.Users", &users),
            ("features.Export", &export),
            ("expires", &date),
        ];
        let body = license_update_body(&current, &product, &catalog, changes, &|_| None).unwrap();
        let limitation = &body.license_limitations.as_ref().unwrap()[0];
        assert_eq!(limitation.limit, Some(50));
        assert_eq!(
            limitation.consumption_reset_mode, 2,
            "other entry fields are kept"
        );
        assert!(body.license_features.as_ref().unwrap()[0].is_active);
        assert_eq!(body.expiration_mode, Some(expiration_mode::DATE));
        assert_eq!(
            body.expiration_date_utc.as_deref(),
            Some("2027-12-31T00:00:00Z")
        );
    }

    #[test]
    fn unknown_names_are_errors_not_panics() {
        let (catalog, product) = catalog();
        let mut license = LicenseDto::default();
        let on = json!(true);
        let err = write_license_field(
            &mut license,
            "features.Nope",
            &on,
            &product,
            &catalog,
            &|_| None,
        )
        .unwrap_err();
        assert!(err.contains("no feature `Nope`"), "{err}");
        let customer = json!("K404");
        let err = write_license_field(
            &mut license,
            "customer",
            &customer,
            &product,
            &catalog,
            &|_| None,
        )
        .unwrap_err();
        assert!(err.contains("K404"), "{err}");
    }
}
