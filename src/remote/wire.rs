//! SLASCONE's JSON data transfer objects, with the exact snake_case wire names of the v2 API.
//!
//! This is the only module that knows SLASCONE's JSON field names. Responses may carry many more
//! fields than are modelled here; serde ignores them. Every field a request can carry is one the
//! reference lists for that DTO, and optional ones are left out when unset rather than sent as
//! `null`, so a merge-style server never sees a value we did not mean to write.
//!
//! Both the API client and the sandbox server use these types, so a field name is spelled once.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Text of a license (and of the edition entries it is built from) as SLASCONE sends it: names,
/// keys, values and timestamps, nearly all short enough (24 bytes) to be held inline. A large
/// account's licenses were ten allocations each for such text, to decode and to free. Encoded
/// exactly as `String` is.
pub type Text = compact_str::CompactString;

/// Access by JSON name to the members that hold one field each as it is: the field
/// declarations (`model::fields`) name them, so a member is spelled only here and in its DTO.
/// The JSON name of each is its member's name.
macro_rules! by_json_name {
    ($dto:ty { $($get:ident, $get_mut:ident: $t:ty => [$($member:ident),* $(,)?];)* }) => {
        impl $dto {
            $(
                pub fn $get(&self, name: &str) -> Option<&$t> {
                    match name {
                        $(stringify!($member) => Some(&self.$member),)*
                        _ => None,
                    }
                }

                pub fn $get_mut(&mut self, name: &str) -> Option<&mut $t> {
                    match name {
                        $(stringify!($member) => Some(&mut self.$member),)*
                        _ => None,
                    }
                }
            )*
        }
    };
}

/// A DTO with the three fields the server maintains (`created_date_utc`, `modified_date_utc`,
/// `last_modified_by`): a write never sets them from its body.
pub trait ServerStamped {
    fn stamps(&mut self) -> [&mut Option<Text>; 3];

    /// Drops the fields the server maintains itself, before the object is sent back in a write.
    fn clear_server_fields(&mut self) {
        for stamp in self.stamps() {
            *stamp = None;
        }
    }
}

macro_rules! server_stamped {
    ($($dto:ty),*) => {
        $(impl ServerStamped for $dto {
            fn stamps(&mut self) -> [&mut Option<Text>; 3] {
                [
                    &mut self.created_date_utc,
                    &mut self.modified_date_utc,
                    &mut self.last_modified_by,
                ]
            }
        })*
    };
}

server_stamped!(CustomerDto, LicenseDto, CustomerContactDto);

/// `ExpirationMode` (an integer enum on the wire).
pub mod expiration_mode {
    pub const NEVER: i32 = 1;
    pub const DATE: i32 = 2;
    pub const DAYS_AFTER_ACTIVATION: i32 = 3;
}

/// The 409 body of every business error: `{"id": N, "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResultObjects {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// ASP.NET `ProblemDetails`, the body of a 400 (model binding or validation failure).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemDetails {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// `CustomerTypeDto`. The id is optional in the reference: one left out reads as nil, which the
/// client refuses by name (`Client::customer_types`), since nothing can be resolved to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerTypeDto {
    #[serde(default)]
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_type_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<Text>,
}

/// `CustomerDto`, read and written by `GET/POST/PATCH /customers`.
///
/// Every writable field of the reference is modelled (the nested ones as raw JSON), so that a
/// whole-object `PATCH /customers` built from a read object loses nothing on a server that
/// replaces rather than merges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerDto {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_type: Option<CustomerTypeDto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postalcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prospect_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_assignments: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reseller_id: Option<Uuid>,
}

/// `DataExchangeAddCustomerDto`, the body of `POST /data_exchange/customers`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataExchangeAddCustomerDto {
    pub customer_number: String,
    pub customer_name: String,
    /// The customer type's name, not its id.
    pub customer_type: String,
    /// A country name, e.g. `Germany`.
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prospect_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `DataExchangeUpdateCustomerDto`, the body of `PATCH /data_exchange/customers`: merge-style,
/// `customer_number` names the customer and every other field left out keeps its value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataExchangeUpdateCustomerDto {
    pub customer_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prospect_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// `CustomerContactDto`, read and written by `GET/POST/PATCH /customers/{customer_id}/contacts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerContactDto {
    /// Nil on a create: SLASCONE gives the contact its id.
    #[serde(default)]
    pub id: Uuid,
    pub name: String,
    pub surname: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    #[serde(default)]
    pub customer_id: Uuid,
    /// Optional and non-null in the reference; a contact is active unless it says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_customer_portal_user: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<Text>,
}

/// `DataExchangeAddOrUpdateCustomerContactDto`, the body of
/// `PUT /data_exchange/customers/contacts`: adds the contact to the customer `customer_number`
/// names, or updates the one with that `email`. `mobil` is the reference's spelling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataExchangeAddOrUpdateCustomerContactDto {
    pub customer_number: String,
    pub contact_name: String,
    pub contact_surname: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobil: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default)]
    pub is_customer_portal_user: bool,
}

/// `LicenseTypeDto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseTypeDto {
    pub id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<Text>,
}

/// `LicenseFeatureDto`: one feature of a license.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseFeatureDto {
    pub product_id: Uuid,
    pub feature_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_name: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_description: Option<Text>,
    #[serde(default)]
    pub is_active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_exceptions: Option<serde_json::Value>,
}

/// `LicenseLimitationDto`: one limitation of a license.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseLimitationDto {
    pub product_id: Uuid,
    pub limitation_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limitation_name: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limitation_description: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(default)]
    pub consumption_reset_mode: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumption_reset_period_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_user_transaction_id: Option<Uuid>,
}

/// `LicenseVariableDto`: one variable of a license.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseVariableDto {
    pub product_id: Uuid,
    pub variable_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_name: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_description: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Text>,
}

/// `LicenseConstrainedVariableDto`: the values of one constrained variable of a license.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseConstrainedVariableDto {
    pub product_id: Uuid,
    pub variable_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_name: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable_description: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Text>>,
}

/// `LicenseDto`, read and written by `GET/POST/PATCH /licenses` and `licenses/filtered/detailed`.
///
/// The writable fields of the reference are modelled, the nested ones we never interpret as raw
/// JSON, so a whole-object `PATCH /licenses` built from a read object keeps everything on a server
/// that replaces. Computed, read-only fields (`is_expired`, `customer`, `template`, ...) are not
/// modelled and therefore never sent back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LicenseDto {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub product_id: Uuid,
    pub template_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_type_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_license_key: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    #[serde(default)]
    pub token_limit: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodwill_token_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floating_token_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_mode: Option<i32>,
    /// Optional and non-null in the reference, like `trial_days_count`, `is_active` and
    /// `is_temporary`: left out of a body unless meant, so SLASCONE takes the edition's value
    /// rather than a default the client made up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_days_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_days_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_utc: Option<Text>,
    /// Absent, `null` for no limit (sent as `null`, so that a PATCH clears it whether SLASCONE
    /// merges or replaces), or the release's id.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub software_release_limitation_id: Option<Option<Uuid>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_temporary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_features: Option<Vec<LicenseFeatureDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_limitations: Option<Vec<LicenseLimitationDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_constrained_variables: Option<Vec<LicenseConstrainedVariableDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_variables: Option<Vec<LicenseVariableDto>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_users_groups: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_users: Option<Vec<serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date_utc: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<Text>,
}

/// A field that is present in a body, `null` included: `Some(None)` for `null`, where a missing
/// field is `None` (by `#[serde(default)]`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl LicenseDto {
    /// The release the license is limited to, if any.
    pub fn software_release(&self) -> Option<Uuid> {
        self.software_release_limitation_id.flatten()
    }

    /// Gives back what decoding reserved beyond the entries of each list (room for four where a
    /// license has one or two), for licenses kept for long: on a large account that room was a
    /// tenth of apply's memory.
    pub fn shrink_to_fit(&mut self) {
        fn shrink<T>(list: &mut Option<Vec<T>>) {
            if let Some(list) = list {
                list.shrink_to_fit();
            }
        }
        shrink(&mut self.license_features);
        shrink(&mut self.license_limitations);
        shrink(&mut self.license_constrained_variables);
        shrink(&mut self.license_variables);
        shrink(&mut self.license_users_groups);
        shrink(&mut self.license_users);
    }
}

/// `LicenseFilterDto`, the body of `POST /licenses/filtered[/detailed]`. Only the filters the
/// reconciler uses are modelled; `page_size` is the one field the schema requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseFilterDto {
    pub page_size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_filter: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_filter: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_search: Option<String>,
}

/// `LicenseTreeDto`: one row of the light listing. Only what the reconciler reads; every member
/// is optional in the reference, the id included, so a row without one still decodes and the
/// reader says what it cannot use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseTreeDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_license_key: Option<String>,
    #[serde(default)]
    pub customer_id: Uuid,
    #[serde(default)]
    pub product_id: Uuid,
    #[serde(default)]
    pub template_id: Uuid,
    /// Named users the license has now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_users: Option<i64>,
    /// Floating tokens in use now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_floating_tokens: Option<i64>,
}

/// `DeviceLicenseAssignmentDto`: a token of a license assigned to a device. Only what the
/// reconciler reads: whether it is activated, and the ids that tell a repeated row. Every
/// member is optional in the reference; a missing `activated` is the non-null boolean's
/// default, false.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceLicenseAssignmentDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_key: Option<Uuid>,
    #[serde(default)]
    pub activated: bool,
}

/// `LicenseLazyLoadDto`, the answer of `POST /licenses/filtered`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseLazyLoadDto {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<Vec<LicenseTreeDto>>,
    pub max_count: i64,
    #[serde(default)]
    pub customer_count: i64,
}

by_json_name!(CustomerDto {
    text, text_mut: Option<String> => [
        company_name, email, street, city, postalcode, country, phone, prospect_number,
    ];
});

by_json_name!(DataExchangeUpdateCustomerDto {
    text, text_mut: Option<String> => [
        customer_name, customer_type, country, street, zip, city, phone, email, prospect_number,
    ];
});

by_json_name!(CustomerContactDto {
    required, required_mut: String => [name, surname, email];
    text, text_mut: Option<String> => [phone, mobile, language];
    flag, flag_mut: Option<bool> => [is_customer_portal_user];
});

by_json_name!(DataExchangeAddOrUpdateCustomerContactDto {
    required, required_mut: String => [contact_name, contact_surname, email];
    text, text_mut: Option<String> => [phone, mobil, language];
    switch, switch_mut: bool => [is_customer_portal_user];
});

by_json_name!(LicenseDto {
    count, count_mut: Option<i64> => [goodwill_token_limit, floating_token_limit, user_limit];
    flag, flag_mut: Option<bool> => [is_active, is_temporary];
    text, text_mut: Option<Text> => [name, description];
});

/// The catalog as SLASCONE serves it: products with their features, limitations, variables,
/// constrained variables and releases, editions, and custom lists.
mod catalog;
pub use catalog::*;

/// Golden tests: the exact JSON every request body puts on the wire. A renamed field, or an
/// unset optional field sent as `null`, fails here.
#[cfg(test)]
mod golden;
