//! Request bodies and their round trip: what each conversion puts on the wire.

use super::customer::*;
use super::license::*;
use super::*;
use crate::dates::Zone;
use crate::plan::{FieldChange, Source};
use crate::remote::catalog::{Catalog, ProductCatalog};
use crate::remote::wire::*;
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
        software_releases: vec![SoftwareReleaseLimitationDto {
            id: Uuid::from_u128(60),
            product_id,
            software_release: Some("3.2".into()),
            description: None,
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
        Some(vec!["Core".into()])
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
    let err =
        write_license_field(&mut license, "features.Nope", &json!(true), &ctx, None).unwrap_err();
    assert!(err.contains("no feature `Nope`"), "{err}");
    let err =
        write_license_field(&mut license, "customer", &json!("K404"), &ctx, None).unwrap_err();
    assert!(err.contains("K404"), "{err}");
}

/// Every member the declarations name exists on its DTO, so a field is never silently left off
/// the wire by a misspelt name.
#[test]
fn every_declared_member_exists_on_its_dto() {
    use crate::model::fields::{CUSTOMER, LICENSE, Member, Role, Type};
    let mut customer = CustomerDto::default();
    let mut update = DataExchangeUpdateCustomerDto::default();
    for field in CUSTOMER.fields.iter().filter(|f| f.role == Role::Managed) {
        if let Member::Named(member) = field.wire {
            assert!(customer.text_mut(member).is_some(), "{}", field.name);
        }
        let name = field
            .data_exchange
            .expect("a managed customer field travels by number too");
        assert!(update.text_mut(name).is_some(), "{}", field.name);
    }
    let mut license = LicenseDto::default();
    for field in LICENSE.fields.iter().filter(|f| f.role == Role::Managed) {
        let Member::Named(member) = field.wire else {
            continue;
        };
        let found = match field.ty {
            Type::Count => license.count_mut(member).is_some(),
            Type::Bool => license.flag_mut(member).is_some(),
            _ => license.text_mut(member).is_some(),
        };
        assert!(found, "{}", field.name);
    }
}

/// The start day is the start of that day in the project's zone (Berlin here), read back as
/// the day it falls on there; the release travels as its id, and `none` as `null`.
#[test]
fn start_days_and_releases_round_trip() {
    let (catalog, product) = catalog();
    let manifest = vec![
        field("starts", json!("2026-07-01"), None),
        field("software_release_limitation", json!("3.2"), None),
        field("name", json!("Gold"), None),
        field("temporary", json!(true), None),
    ];
    let body = license_create_body(
        Uuid::from_u128(7),
        Some("L-1"),
        &create_fields(manifest),
        false,
        &ctx(&catalog, &product),
    )
    .unwrap();
    assert_eq!(body.start_date_utc.as_deref(), Some("2026-06-30T22:00:00Z"));
    assert_eq!(
        body.software_release_limitation_id,
        Some(Some(Uuid::from_u128(60)))
    );
    assert_eq!(body.name.as_deref(), Some("Gold"));
    assert_eq!(body.is_temporary, Some(true));
    let mut catalog = catalog;
    catalog.products.insert("Argus".into(), product.clone());
    let current = current_license(
        &catalog,
        &LicenseDto {
            product_id: product.product.id,
            ..body.clone()
        },
    )
    .unwrap();
    assert_eq!(current.fields.get("starts"), Some(&json!("2026-07-01")));
    assert_eq!(
        current.fields.get("software_release_limitation"),
        Some(&json!("3.2"))
    );

    let (cleared, _) = license_update_body(
        &body,
        &[field("software_release_limitation", Value::Null, None)],
        false,
        &ctx(&catalog, &product),
    )
    .unwrap();
    assert_eq!(cleared.software_release_limitation_id, Some(None));
    let current = current_license(&catalog, &cleared).unwrap();
    assert_eq!(current.fields.get("software_release_limitation"), None);
}
