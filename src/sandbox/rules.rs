//! SLASCONE's rules as the sandbox applies them: what a write must satisfy, what PATCH does with
//! the fields a body leaves out, and what an edition gives a license.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::PatchSemantics;
use super::app::App;
use super::catalog::Product;
use super::countries;
use super::problem::{ApiError, code, conflict};
use super::store::Store;
use crate::model::fields::{CUSTOMER, Member, Role};
use crate::remote::wire::{
    CustomerContactDto, CustomerDto, CustomerTypeDto, DataExchangeUpdateCustomerDto,
    LicenseConstrainedVariableDto, LicenseDto, LicenseFeatureDto, LicenseLimitationDto,
    LicenseVariableDto, TemplateDto,
};

/// Fields the server maintains; a write never sets them from its body.
const SERVER_FIELDS: [&str; 3] = ["created_date_utc", "modified_date_utc", "last_modified_by"];

/// License properties an edition provides when a body leaves them out.
const EDITION_PROPERTIES: [&str; 11] = [
    "token_limit",
    "goodwill_token_limit",
    "floating_token_limit",
    "user_limit",
    "license_type_id",
    "expiration_mode",
    "expiration_date_utc",
    "valid_days_count",
    "trial_days_count",
    "is_temporary",
    "software_release_limitation_id",
];

/// The stored object with a PATCH body applied: `merge` keeps the fields the body leaves out,
/// `replace` clears them. The id and the server-maintained fields are never taken from the body.
pub(crate) fn patched(
    stored: Value,
    body: &Map<String, Value>,
    semantics: PatchSemantics,
) -> Map<String, Value> {
    let mut base = match stored {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if semantics == PatchSemantics::Replace {
        base.retain(|key, _| key == "id" || SERVER_FIELDS.contains(&key.as_str()));
    }
    for (key, value) in body {
        if key != "id" && !SERVER_FIELDS.contains(&key.as_str()) {
            base.insert(key.clone(), value.clone());
        }
    }
    base
}

/// A body whose `id` is missing or `null` gets the zero id, which means "generate one".
pub(crate) fn with_default_id(mut map: Map<String, Value>) -> Map<String, Value> {
    if map.get("id").is_none_or(Value::is_null) {
        map.insert("id".to_owned(), Value::String(Uuid::nil().to_string()));
    }
    map
}

/// The business rules every customer write checks; fills the customer type's name and the
/// country's spelling from the lists.
pub(crate) fn check_customer(
    app: &App,
    store: &Store,
    customer: &mut CustomerDto,
    own: Option<usize>,
) -> Result<(), ApiError> {
    if customer
        .company_name
        .as_deref()
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(conflict(
            code::EMPTY_COMPANY_NAME,
            "Company name can not be empty",
        ));
    }
    if let Some(customer_type) = &customer.customer_type {
        let known = app.catalog.customer_type(customer_type.id).ok_or(conflict(
            code::UNKNOWN_CUSTOMER_TYPE,
            "Unknown customer type",
        ))?;
        customer.customer_type = Some(known.clone());
    }
    if let Some(country) = customer.country.as_deref().filter(|c| !c.trim().is_empty()) {
        let known = countries::canonical(country)
            .ok_or(conflict(code::UNKNOWN_COUNTRY, "Unknown country"))?;
        customer.country = Some(known.to_owned());
    }
    if let Some(number) = customer
        .customer_number
        .as_deref()
        .filter(|n| !n.is_empty())
        && let Some(pos) = store.customer_by_number(number)
        && Some(pos) != own
    {
        return Err(conflict(
            code::CUSTOMER_NUMBER_EXISTS,
            "A customer with this number already exists",
        ));
    }
    Ok(())
}

pub(crate) fn customer_type_by_name(app: &App, name: &str) -> Result<CustomerTypeDto, ApiError> {
    app.catalog
        .customer_type_by_name(name)
        .cloned()
        .ok_or(conflict(
            code::UNKNOWN_CUSTOMER_TYPE,
            "Unknown customer type",
        ))
}

pub(crate) fn country_by_name(name: &str) -> Result<String, ApiError> {
    countries::canonical(name)
        .map(str::to_owned)
        .ok_or(conflict(code::UNKNOWN_COUNTRY, "Unknown country"))
}

/// Writes what a `/data_exchange/customers` body sets onto `customer`, field by field as the
/// declarations map the data_exchange names to the customer's: a company name may not be
/// empty, the customer type must exist, the country is one SLASCONE knows (in its spelling).
pub(crate) fn merge_data_exchange(
    app: &App,
    customer: &mut CustomerDto,
    update: &DataExchangeUpdateCustomerDto,
) -> Result<(), ApiError> {
    for field in CUSTOMER.fields.iter().filter(|f| f.role == Role::Managed) {
        let Some(name) = field.data_exchange else {
            continue;
        };
        let Some(value) = update.text(name).cloned().flatten() else {
            continue;
        };
        let value = match field.name {
            "company_name" if value.trim().is_empty() => {
                return Err(conflict(
                    code::EMPTY_COMPANY_NAME,
                    "Company name can not be empty",
                ));
            }
            "country" => country_by_name(&value)?,
            _ => value,
        };
        match field.wire {
            Member::Named(member) => {
                if let Some(slot) = customer.text_mut(member) {
                    *slot = Some(value);
                }
            }
            Member::Converted => {
                customer.customer_type = Some(customer_type_by_name(app, &value)?);
            }
        }
    }
    Ok(())
}

/// What every contact write checks: a name, a surname and an e-mail address (empty text is
/// missing, as ASP.NET's `[Required]` has it), an address SLASCONE takes, and no other contact
/// of the customer with the same address.
pub(crate) fn check_contact(
    store: &Store,
    contact: &CustomerContactDto,
    own: Option<usize>,
) -> Result<(), ApiError> {
    for (field, value) in [
        ("name", &contact.name),
        ("surname", &contact.surname),
        ("email", &contact.email),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::BadRequest(format!(
                "The {field} field is required."
            )));
        }
    }
    if !crate::model::is_email_address(&contact.email) {
        return Err(conflict(code::INVALID_EMAIL, "Invalid email-address"));
    }
    if let Some(pos) = store.contact_by_email(contact.customer_id, &contact.email)
        && Some(pos) != own
    {
        return Err(conflict(
            code::CONTACT_EMAIL_EXISTS,
            "The customer has a contact with this email already",
        ));
    }
    Ok(())
}

/// Checks the references of a license and returns its product and edition.
pub(crate) fn check_references<'a>(
    app: &'a App,
    store: &Store,
    license: &LicenseDto,
) -> Result<(&'a Product, TemplateDto), ApiError> {
    if store.customer_index(license.customer_id).is_none() {
        return Err(conflict(code::UNKNOWN_CUSTOMER, "Unknown customer"));
    }
    let product = app
        .catalog
        .product(license.product_id)
        .ok_or(conflict(code::UNKNOWN_PRODUCT, "Unknown product"))?;
    let template = product
        .template(license.template_id)
        .ok_or(conflict(code::UNKNOWN_TEMPLATE, "Unknown template"))?
        .clone();
    if let Some(license_type) = license.license_type_id
        && app.catalog.license_type(license_type).is_none()
    {
        return Err(conflict(code::UNKNOWN_LICENSE_TYPE, "Unknown license type"));
    }
    Ok((product, template))
}

fn edition_features(product_id: Uuid, template: &TemplateDto) -> Vec<LicenseFeatureDto> {
    template
        .features
        .iter()
        .flatten()
        .map(|f| LicenseFeatureDto {
            product_id,
            feature_id: f.feature_id,
            feature_name: None,
            feature_description: None,
            is_active: f.is_active,
            feature_exceptions: None,
        })
        .collect()
}

fn edition_limitations(product_id: Uuid, template: &TemplateDto) -> Vec<LicenseLimitationDto> {
    template
        .limitations
        .iter()
        .flatten()
        .map(|l| LicenseLimitationDto {
            product_id,
            limitation_id: l.limitation_id,
            limitation_name: None,
            limitation_description: None,
            limit: l.limit,
            consumption_reset_mode: l.consumption_reset_mode,
            consumption_reset_period_days: l.consumption_reset_period_days,
            current_user_transaction_id: None,
        })
        .collect()
}

fn edition_constrained_variables(
    product_id: Uuid,
    template: &TemplateDto,
) -> Vec<LicenseConstrainedVariableDto> {
    template
        .constrained_variables
        .iter()
        .flatten()
        .map(|v| LicenseConstrainedVariableDto {
            product_id,
            variable_id: v.variable_id,
            variable_name: None,
            variable_description: None,
            values: v.values.clone(),
        })
        .collect()
}

fn edition_variables(product_id: Uuid, template: &TemplateDto) -> Vec<LicenseVariableDto> {
    template
        .variables
        .iter()
        .flatten()
        .map(|v| LicenseVariableDto {
            product_id,
            variable_id: v.variable_id,
            variable_name: None,
            variable_description: None,
            value: v.value.clone(),
        })
        .collect()
}

/// The edition's entries with the listed ones overriding them by id; listed entries the edition
/// does not have are appended.
pub(crate) fn overlay<T>(
    edition: Vec<T>,
    listed: Option<Vec<T>>,
    id: impl Fn(&T) -> Uuid,
) -> Vec<T> {
    let mut out = edition;
    for entry in listed.into_iter().flatten() {
        match out.iter_mut().find(|e| id(e) == id(&entry)) {
            Some(slot) => *slot = entry,
            None => out.push(entry),
        }
    }
    out
}

/// On create: the edition's feature, limitation and variable entries, with the ones the body
/// lists taking their place (by id) or added to them.
pub(crate) fn entries_over_edition(
    license: &mut LicenseDto,
    product_id: Uuid,
    template: &TemplateDto,
) {
    license.license_features = Some(overlay(
        edition_features(product_id, template),
        license.license_features.take(),
        |f| f.feature_id,
    ));
    license.license_limitations = Some(overlay(
        edition_limitations(product_id, template),
        license.license_limitations.take(),
        |l| l.limitation_id,
    ));
    license.license_variables = Some(overlay(
        edition_variables(product_id, template),
        license.license_variables.take(),
        |v| v.variable_id,
    ));
    license.license_constrained_variables = Some(overlay(
        edition_constrained_variables(product_id, template),
        license.license_constrained_variables.take(),
        |v| v.variable_id,
    ));
}

/// On PATCH with `apply_template_properties=true`: every entry list the body leaves out becomes
/// the edition's.
pub(crate) fn entries_from_edition(
    license: &mut LicenseDto,
    body: &Map<String, Value>,
    product_id: Uuid,
    template: &TemplateDto,
) {
    if !body.contains_key("license_features") {
        license.license_features = Some(edition_features(product_id, template));
    }
    if !body.contains_key("license_limitations") {
        license.license_limitations = Some(edition_limitations(product_id, template));
    }
    if !body.contains_key("license_variables") {
        license.license_variables = Some(edition_variables(product_id, template));
    }
    if !body.contains_key("license_constrained_variables") {
        license.license_constrained_variables =
            Some(edition_constrained_variables(product_id, template));
    }
}

/// Sets the license properties the body left out to the edition's values.
pub(crate) fn fill_from_edition(
    license: &mut LicenseDto,
    body: &Map<String, Value>,
    template: &TemplateDto,
) {
    for key in EDITION_PROPERTIES {
        if body.contains_key(key) {
            continue;
        }
        match key {
            "token_limit" => license.token_limit = template.token_limit,
            "goodwill_token_limit" => license.goodwill_token_limit = template.goodwill_token_limit,
            "floating_token_limit" => license.floating_token_limit = template.floating_token_limit,
            "user_limit" => license.user_limit = template.user_limit,
            "license_type_id" => license.license_type_id = template.license_type_id,
            "expiration_mode" => license.expiration_mode = template.expiration_mode,
            "expiration_date_utc" => {
                license.expiration_date_utc = template.expiration_date_utc.clone()
            }
            "valid_days_count" => license.valid_days_count = Some(template.valid_days_count),
            "trial_days_count" => license.trial_days_count = Some(template.trial_days_count),
            "software_release_limitation_id" => {
                license.software_release_limitation_id =
                    Some(template.software_release_limitation_id)
            }
            _ => license.is_temporary = Some(template.is_temporary),
        }
    }
}

/// Checks the software release and the feature, limitation and variable entries against the
/// product and fills in the entries' names; a missing list becomes an empty one.
pub(crate) fn check_entries(product: &Product, license: &mut LicenseDto) -> Result<(), ApiError> {
    if let Some(id) = license.software_release()
        && product.software_release(id).is_none()
    {
        return Err(conflict(
            code::UNKNOWN_SOFTWARE_RELEASE,
            "Unknown software release limitation",
        ));
    }
    let product_id = product.dto.id;
    for feature in license.license_features.get_or_insert_with(Vec::new) {
        let known = product
            .feature(feature.feature_id)
            .ok_or(conflict(code::UNKNOWN_FEATURE, "Unknown feature"))?;
        feature.product_id = product_id;
        feature.feature_name = Some(known.name.as_str().into());
    }
    for variable in license.license_variables.get_or_insert_with(Vec::new) {
        let known = product
            .variable(variable.variable_id)
            .ok_or(conflict(code::UNKNOWN_VARIABLE, "Unknown variable"))?;
        variable.product_id = product_id;
        variable.variable_name = Some(known.name.as_str().into());
    }
    for limitation in license.license_limitations.get_or_insert_with(Vec::new) {
        let known = product
            .limitation(limitation.limitation_id)
            .ok_or(conflict(code::UNKNOWN_LIMITATION, "Unknown limitation"))?;
        limitation.product_id = product_id;
        limitation.limitation_name = Some(known.name.as_str().into());
    }
    for variable in license
        .license_constrained_variables
        .get_or_insert_with(Vec::new)
    {
        let known = product
            .constrained_variable(variable.variable_id)
            .ok_or(conflict(code::UNKNOWN_VARIABLE, "Unknown variable"))?;
        let allowed = &product.allowed_values[&known.id];
        if variable
            .values
            .iter()
            .flatten()
            .any(|value| !allowed.iter().any(|known| known == value))
        {
            return Err(conflict(
                code::VALUE_NOT_ALLOWED,
                "A value is not in the custom list of the constrained variable",
            ));
        }
        variable.product_id = product_id;
        variable.variable_name = Some(known.name.as_str().into());
    }
    Ok(())
}

pub(crate) fn check_legacy_key(
    store: &Store,
    license: &LicenseDto,
    own: Option<usize>,
) -> Result<(), ApiError> {
    if let Some(key) = license
        .legacy_license_key
        .as_deref()
        .filter(|k| !k.is_empty())
        && let Some(pos) = store.license_by_key(license.product_id, key)
        && Some(pos) != own
    {
        return Err(conflict(
            code::LEGACY_KEY_EXISTS,
            "A license with this legacy license key already exists",
        ));
    }
    Ok(())
}

/// `apply_template_properties` from the query string (`true`/`false`, any case).
pub(crate) fn apply_template_properties(query: Option<&str>) -> Result<bool, ApiError> {
    let Some(query) = query else {
        return Ok(false);
    };
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "apply_template_properties" {
            return match value.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" | "" => Ok(false),
                _ => Err(ApiError::BadRequest(format!(
                    "The value '{value}' is not valid for apply_template_properties."
                ))),
            };
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("the tests pass objects"),
        }
    }

    #[test]
    fn merge_keeps_and_replace_clears_absent_fields() {
        let stored = json!({"id": "x", "email": "a@b", "city": "Graz", "created_date_utc": "t0"});
        let body = object(json!({"id": "x", "city": "Wien", "created_date_utc": "forged"}));
        let merged = patched(stored.clone(), &body, PatchSemantics::Merge);
        assert_eq!(
            Value::Object(merged),
            json!({"id": "x", "email": "a@b", "city": "Wien", "created_date_utc": "t0"})
        );
        let replaced = patched(stored, &body, PatchSemantics::Replace);
        assert_eq!(
            Value::Object(replaced),
            json!({"id": "x", "city": "Wien", "created_date_utc": "t0"})
        );
    }

    #[test]
    fn apply_template_properties_parses_booleans() {
        assert!(!apply_template_properties(None).unwrap());
        assert!(apply_template_properties(Some("apply_template_properties=True")).unwrap());
        assert!(!apply_template_properties(Some("x=1&apply_template_properties=false")).unwrap());
        assert!(apply_template_properties(Some("apply_template_properties=yes")).is_err());
    }
}
