//! Licenses: `LicenseDto` (`/licenses`) and editions (`TemplateDto`) to and from the model, by
//! the declarations of `LICENSE`.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    BodyError, entry_name, expires_value, fingerprint, optional_int, text_list, text_value,
};
use crate::dates::Zone;
use crate::model::fields::{LICENSE, Member, Role, Type};
use crate::model::{CurrentLicense, Fields, entry_of};
use crate::plan::{FieldChange, Source};
use crate::remote::catalog::{Catalog, ProductCatalog};
use crate::remote::wire::*;

/// The fields of a license that travel in a member of their own, with that member.
fn named_members() -> impl Iterator<Item = (&'static str, Type, &'static str)> {
    LICENSE.fields.iter().filter_map(|field| match field.wire {
        Member::Named(member) if field.role == Role::Managed => {
            Some((field.name, field.ty, member))
        }
        _ => None,
    })
}

/// The model value of a member a field travels in, where it has one.
fn member_value(license: &LicenseDto, ty: Type, member: &str) -> Option<Value> {
    match ty {
        Type::Count => license.count(member).copied().flatten().map(|n| json!(n)),
        // A missing flag is SLASCONE's default for the non-null boolean: false.
        Type::Bool => license
            .flag(member)
            .map(|flag| json!(flag.unwrap_or(false))),
        _ => license
            .text(member)
            .cloned()
            .flatten()
            .map(|text| Value::String(text.into())),
    }
}

/// The configuration an edition gives a license, as model fields.
pub fn edition_fields(
    catalog: &Catalog,
    product: &ProductCatalog,
    edition: &TemplateDto,
) -> Fields {
    let mut fields = Fields::new();
    fields.insert("token_limit", json!(edition.token_limit));
    // An edition gives a license its counts; its other members are the edition's own.
    for (path, _, member) in named_members().filter(|(_, ty, _)| *ty == Type::Count) {
        if let Some(value) = edition.count(member).copied().flatten() {
            fields.insert(path, json!(value));
        }
    }
    if let Some(name) = edition
        .license_type_id
        .and_then(|id| catalog.license_type_name(id))
    {
        fields.insert("license_type", json!(name));
    }
    if let Some(expires) = expires_value(
        edition.expiration_mode,
        edition.expiration_date_utc.as_deref(),
        edition.valid_days_count,
        &catalog.zone,
    ) {
        fields.insert("expires", expires);
    }
    fields.insert("temporary", json!(edition.is_temporary));
    // None is a value too: an edition change to an edition without a release clears the
    // license's, and the plan says so.
    fields.insert(
        "software_release_limitation",
        match edition.software_release_limitation_id {
            Some(id) => json!(software_release_version(product, id)),
            None => Value::Null,
        },
    );
    for entry in edition.features.iter().flatten() {
        let name = feature_name(product, entry.feature_id, entry.feature_name.as_deref());
        fields.insert(
            compact_str::format_compact!("features.{name}"),
            json!(entry.is_active),
        );
    }
    for entry in edition.limitations.iter().flatten() {
        let name = limitation_name(
            product,
            entry.limitation_id,
            entry.limitation_name.as_deref(),
        );
        fields.insert(
            compact_str::format_compact!("limitations.{name}"),
            json!(entry.limit),
        );
    }
    for entry in edition.variables.iter().flatten() {
        let name = variable_name(product, entry.variable_id, entry.variable_name.as_deref());
        fields.insert(
            compact_str::format_compact!("variables.{name}"),
            json!(entry.value),
        );
    }
    for entry in edition.constrained_variables.iter().flatten() {
        let name =
            constrained_variable_name(product, entry.variable_id, entry.variable_name.as_deref());
        fields.insert(
            compact_str::format_compact!("constrained_variables.{name}"),
            json!(entry.values.clone().unwrap_or_default()),
        );
    }
    fields
}

/// `None` for a license of a product the catalog does not know (it cannot be compared).
pub fn current_license(catalog: &Catalog, license: &LicenseDto) -> Option<CurrentLicense> {
    let product = catalog.product_by_id(license.product_id)?;
    // Room for the members and one field per entry, so that building never grows the list.
    let entries = license.license_features.as_ref().map_or(0, Vec::len)
        + license.license_limitations.as_ref().map_or(0, Vec::len)
        + license.license_variables.as_ref().map_or(0, Vec::len)
        + license
            .license_constrained_variables
            .as_ref()
            .map_or(0, Vec::len);
    let mut fields = Fields::with_capacity(12 + entries);
    let edition = product
        .edition_by_id(license.template_id)
        .map(|edition| edition.name.clone())
        .unwrap_or_else(|| license.template_id.to_string());
    fields.insert("edition", json!(edition));
    if let Some(id) = license.license_type_id {
        let name = catalog
            .license_type_name(id)
            .map(str::to_string)
            .unwrap_or_else(|| id.to_string());
        fields.insert("license_type", json!(name));
    }
    fields.insert("token_limit", json!(license.token_limit));
    for (path, ty, member) in named_members() {
        if let Some(value) = member_value(license, ty, member) {
            fields.insert(path, value);
        }
    }
    if let Some(expires) = expires_value(
        license.expiration_mode,
        license.expiration_date_utc.as_deref(),
        license.valid_days_count.unwrap_or(0),
        &catalog.zone,
    ) {
        fields.insert("expires", expires);
    }
    if let Some(day) = (license.start_date_utc.as_deref()).and_then(|at| catalog.zone.day_of(at)) {
        fields.insert("starts", json!(crate::dates::format_date(day)));
    }
    if let Some(id) = license.software_release() {
        let version = software_release_version(product, id);
        fields.insert("software_release_limitation", json!(version));
    }
    for entry in license.license_features.iter().flatten() {
        let name = feature_name(product, entry.feature_id, entry.feature_name.as_deref());
        fields.insert(
            compact_str::format_compact!("features.{name}"),
            json!(entry.is_active),
        );
    }
    for entry in license.license_limitations.iter().flatten() {
        let name = limitation_name(
            product,
            entry.limitation_id,
            entry.limitation_name.as_deref(),
        );
        fields.insert(
            compact_str::format_compact!("limitations.{name}"),
            json!(entry.limit),
        );
    }
    for entry in license.license_variables.iter().flatten() {
        let name = variable_name(product, entry.variable_id, entry.variable_name.as_deref());
        fields.insert(
            compact_str::format_compact!("variables.{name}"),
            json!(entry.value),
        );
    }
    for entry in license.license_constrained_variables.iter().flatten() {
        let name =
            constrained_variable_name(product, entry.variable_id, entry.variable_name.as_deref());
        fields.insert(
            compact_str::format_compact!("constrained_variables.{name}"),
            json!(entry.values.clone().unwrap_or_default()),
        );
    }
    fields.shrink_to_fit();
    Some(CurrentLicense {
        id: license.id,
        product: product.product.name.clone(),
        legacy_license_key: license.legacy_license_key.as_deref().map(str::to_string),
        customer_id: license.customer_id,
        fields,
        fingerprint: fingerprint(license),
    })
}

/// A release's version as manifests name it; its id where the product does not list it.
fn software_release_version(product: &ProductCatalog, id: Uuid) -> String {
    product
        .software_release_by_id(id)
        .and_then(|release| release.software_release.clone())
        .unwrap_or_else(|| id.to_string())
}

fn feature_name(product: &ProductCatalog, id: Uuid, fallback: Option<&str>) -> String {
    let known = product.features.iter().map(|f| (f.id, f.name.as_str()));
    entry_name(known, id, fallback)
}

fn limitation_name(product: &ProductCatalog, id: Uuid, fallback: Option<&str>) -> String {
    let known = product.limitations.iter().map(|l| (l.id, l.name.as_str()));
    entry_name(known, id, fallback)
}

fn variable_name(product: &ProductCatalog, id: Uuid, fallback: Option<&str>) -> String {
    let known = product.variables.iter().map(|v| (v.id, v.name.as_str()));
    entry_name(known, id, fallback)
}

fn constrained_variable_name(product: &ProductCatalog, id: Uuid, fallback: Option<&str>) -> String {
    let known = product
        .constrained_variables
        .iter()
        .map(|v| (v.id, v.name.as_str()));
    entry_name(known, id, fallback)
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
                        feature_name: Some(feature.name.as_str().into()),
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
                                    limitation_name: Some(limitation.name.as_str().into()),
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
                let text = text_value(path, value)?.map(Text::from);
                let entries = license.license_variables.get_or_insert_with(Vec::new);
                match entries.iter_mut().find(|e| e.variable_id == variable.id) {
                    Some(entry) => entry.value = text,
                    None => entries.push(LicenseVariableDto {
                        product_id,
                        variable_id: variable.id,
                        variable_name: Some(variable.name.as_str().into()),
                        variable_description: None,
                        value: text,
                    }),
                }
            }
            _ => {
                let variable = product.constrained_variable(name).ok_or_else(|| {
                    format!("product {product_name} has no constrained variable `{name}`")
                })?;
                let values: Vec<Text> = text_list(path, value)?
                    .into_iter()
                    .map(Text::from)
                    .collect();
                let entries = license
                    .license_constrained_variables
                    .get_or_insert_with(Vec::new);
                match entries.iter_mut().find(|e| e.variable_id == variable.id) {
                    Some(entry) => entry.values = Some(values),
                    None => entries.push(LicenseConstrainedVariableDto {
                        product_id,
                        variable_id: variable.id,
                        variable_name: Some(variable.name.as_str().into()),
                        variable_description: None,
                        values: Some(values),
                    }),
                }
            }
        }
        return Ok(());
    }
    match path {
        crate::model::fields::OWNER => {
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
        "expires" => write_expires(license, value, &ctx.catalog.zone)?,
        "starts" => {
            let date = value
                .as_str()
                .and_then(crate::dates::parse_date)
                .ok_or_else(|| format!("`starts` must be a date like 2027-01-01, not {value}"))?;
            license.start_date_utc = Some(ctx.catalog.zone.start_of_day(date).into());
        }
        "software_release_limitation" => {
            license.software_release_limitation_id = Some(match text_value(path, value)? {
                None => None,
                Some(version) => Some(
                    product
                        .software_release(&version)
                        .ok_or_else(|| {
                            format!("product {product_name} has no software release `{version}`")
                        })?
                        .id,
                ),
            });
        }
        other => write_member(license, other, value)?,
    }
    Ok(())
}

/// Writes a field that travels in a member of its own, by its declaration.
fn write_member(license: &mut LicenseDto, path: &str, value: &Value) -> Result<(), BodyError> {
    let field = LICENSE
        .field(path)
        .filter(|f| f.role == Role::Managed)
        .ok_or_else(|| format!("`{path}` is not a license field"))?;
    let Member::Named(member) = field.wire else {
        return Err(format!("`{path}` is not a license field"));
    };
    let missing = || format!("`{path}` has no member `{member}` on /licenses");
    match field.ty {
        Type::Count => *license.count_mut(member).ok_or_else(missing)? = optional_int(path, value)?,
        Type::Bool => {
            *license.flag_mut(member).ok_or_else(missing)? = Some(
                value
                    .as_bool()
                    .ok_or_else(|| format!("`{path}` must be true or false"))?,
            )
        }
        _ => {
            *license.text_mut(member).ok_or_else(missing)? =
                text_value(path, value)?.map(Into::into)
        }
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
        "temporary" => license.is_temporary = None,
        "software_release_limitation" => license.software_release_limitation_id = None,
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
            license.expiration_date_utc = Some(zone.end_of_day(date).into());
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
        legacy_license_key: legacy_license_key.map(Into::into),
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
