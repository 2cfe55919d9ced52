//! The catalog's DTOs: what the reconciler only reads, and names in manifests resolve against.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Text;

/// `ProductDto`. Only what the reconciler reads; `prioritized_key` is required by the schema.
/// Here and in the product's features, limitations, variables, constrained variables and
/// releases the id is optional in the reference: one left out reads as nil, which the client
/// refuses by name, since nothing can be resolved to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductDto {
    #[serde(default)]
    pub id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub prioritized_key: i32,
}

/// `FeatureDto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDto {
    #[serde(default)]
    pub id: Uuid,
    pub product_id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `LimitationDto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitationDto {
    #[serde(default)]
    pub id: Uuid,
    pub product_id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub is_aggregatable: bool,
}

/// `VariableDto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariableDto {
    #[serde(default)]
    pub id: Uuid,
    pub product_id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `ConstrainedVariableDto`: a variable whose values come from a custom list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConstrainedVariableDto {
    #[serde(default)]
    pub id: Uuid,
    pub product_id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub custom_list_id: Uuid,
    #[serde(default)]
    pub mode: i32,
    #[serde(default)]
    pub selection_mode: i32,
}

/// `CustomListDto`, read by `GET /administration/customlist[/{id}]`: the values a constrained
/// variable may take (it names its list by `custom_list_id`). Every member is optional in the
/// reference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomListDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_list_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<Vec<CustomListElementDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
}

/// `CustomListElementDto`: one value of a custom list; `value` is what a license holds,
/// `caption` what the portal shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomListElementDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

impl CustomListDto {
    /// The values the list allows, in its order.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.elements
            .iter()
            .flatten()
            .filter_map(|element| element.value.as_deref())
    }
}

/// `ProductDetailsDto`, the answer of `GET /products/{id}/detail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductDetailsDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<FeatureDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limitations: Option<Vec<LimitationDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<VariableDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constrained_variables: Option<Vec<ConstrainedVariableDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_release_limitations: Option<Vec<SoftwareReleaseLimitationDto>>,
}

/// `SoftwareReleaseLimitationDto`: a release of a product, which a license may be limited to.
/// Only what names it is modelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoftwareReleaseLimitationDto {
    #[serde(default)]
    pub id: Uuid,
    #[serde(default)]
    pub product_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `TemplateFeatureDto`: a feature entry of an edition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateFeatureDto {
    #[serde(default)]
    pub template_id: Uuid,
    pub feature_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_name: Option<Text>,
    #[serde(default)]
    pub is_adjustable: bool,
    #[serde(default)]
    pub is_active: bool,
}

/// `TemplateLimitationDto`: a limitation entry of an edition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateLimitationDto {
    #[serde(default)]
    pub template_id: Uuid,
    pub limitation_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limitation_name: Option<Text>,
    #[serde(default)]
    pub is_adjustable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default)]
    pub consumption_reset_mode: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumption_reset_period_days: Option<i32>,
}

/// `TemplateVariableDto`: a variable entry of an edition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateVariableDto {
    #[serde(default)]
    pub template_id: Uuid,
    pub variable_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_name: Option<Text>,
    #[serde(default)]
    pub is_adjustable: bool,
    #[serde(default)]
    pub is_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Text>,
}

/// `TemplateConstrainedVariableDto`: a constrained variable entry of an edition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateConstrainedVariableDto {
    #[serde(default)]
    pub template_id: Uuid,
    pub variable_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_name: Option<Text>,
    #[serde(default)]
    pub is_adjustable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Text>>,
}

/// `TemplateDto`: an edition of a product. Only what the reconciler reads: what the edition
/// gives its licenses (limits, license type, expiry, entries, temporary flag, release).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateDto {
    pub id: Uuid,
    pub product_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub is_active: bool,
    #[serde(default)]
    pub token_limit: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodwill_token_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floating_token_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_type_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_mode: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date_utc: Option<Text>,
    #[serde(default)]
    pub valid_days_count: i64,
    #[serde(default)]
    pub trial_days_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<TemplateFeatureDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limitations: Option<Vec<TemplateLimitationDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<TemplateVariableDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constrained_variables: Option<Vec<TemplateConstrainedVariableDto>>,
    #[serde(default)]
    pub is_temporary: bool,
    /// The release the edition limits its licenses to; none when absent or `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_release_limitation_id: Option<Uuid>,
}

by_json_name!(TemplateDto {
    count, count_mut: Option<i64> => [goodwill_token_limit, floating_token_limit, user_limit];
});
