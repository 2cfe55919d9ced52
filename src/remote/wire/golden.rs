use super::*;
use serde_json::{Value, json};

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

#[test]
fn customer_dto() {
    let customer = CustomerDto {
        id: id(1),
        company_name: Some("Acme GmbH".into()),
        customer_number: Some("K001".into()),
        customer_type: Some(CustomerTypeDto {
            id: id(2),
            customer_type_name: Some("Enterprise".into()),
            created_date_utc: None,
            modified_date_utc: None,
            last_modified_by: None,
        }),
        email: Some("it@acme.example".into()),
        street: Some("Main St 1".into()),
        city: Some("Berlin".into()),
        postalcode: Some("10115".into()),
        country: Some("Germany".into()),
        phone: Some("+49 30 1".into()),
        prospect_number: Some("P-1".into()),
        longitude: Some(13.4),
        latitude: Some(52.5),
        reseller_id: Some(id(3)),
        ..CustomerDto::default()
    };
    assert_eq!(
        serde_json::to_value(&customer).unwrap(),
        json!({
            "id": "00000000-0000-0000-0000-000000000001",
            "company_name": "Acme GmbH",
            "customer_number": "K001",
            "customer_type": {"id": "00000000-0000-0000-0000-000000000002", "customer_type_name": "Enterprise"},
            "email": "it@acme.example",
            "street": "Main St 1",
            "city": "Berlin",
            "postalcode": "10115",
            "country": "Germany",
            "phone": "+49 30 1",
            "prospect_number": "P-1",
            "longitude": 13.4,
            "latitude": 52.5,
            "reseller_id": "00000000-0000-0000-0000-000000000003"
        })
    );
    let minimal = CustomerDto {
        id: id(1),
        ..CustomerDto::default()
    };
    assert_eq!(
        serde_json::to_value(&minimal).unwrap(),
        json!({"id": "00000000-0000-0000-0000-000000000001"})
    );
}

#[test]
fn data_exchange_customer_dtos() {
    let add = DataExchangeAddCustomerDto {
        customer_number: "K001".into(),
        customer_name: "Acme GmbH".into(),
        customer_type: "Enterprise".into(),
        country: "Germany".into(),
        street: Some("Main St 1".into()),
        zip: Some("10115".into()),
        city: Some("Berlin".into()),
        phone: Some("+49".into()),
        email: Some("it@acme.example".into()),
        prospect_number: Some("P-1".into()),
        tags: Some(vec!["vip".into()]),
    };
    assert_eq!(
        serde_json::to_value(&add).unwrap(),
        json!({
            "customer_number": "K001", "customer_name": "Acme GmbH", "customer_type": "Enterprise",
            "country": "Germany", "street": "Main St 1", "zip": "10115", "city": "Berlin",
            "phone": "+49", "email": "it@acme.example", "prospect_number": "P-1", "tags": ["vip"]
        })
    );
    let update = DataExchangeUpdateCustomerDto {
        customer_number: "K001".into(),
        city: Some("Munich".into()),
        ..DataExchangeUpdateCustomerDto::default()
    };
    assert_eq!(
        serde_json::to_value(&update).unwrap(),
        json!({"customer_number": "K001", "city": "Munich"})
    );
}

#[test]
fn license_dto() {
    let license = LicenseDto {
        id: id(1),
        customer_id: id(2),
        product_id: id(3),
        template_id: id(4),
        license_type_id: Some(id(5)),
        legacy_license_key: Some("SUB-1".into()),
        token_limit: 25,
        goodwill_token_limit: Some(2),
        floating_token_limit: Some(3),
        user_limit: Some(4),
        expiration_date_utc: Some("2027-12-31T22:59:59Z".into()),
        expiration_mode: Some(expiration_mode::DATE),
        is_active: Some(true),
        license_features: Some(vec![LicenseFeatureDto {
            product_id: id(3),
            feature_id: id(6),
            feature_name: None,
            feature_description: None,
            is_active: true,
            feature_exceptions: None,
        }]),
        license_limitations: Some(vec![LicenseLimitationDto {
            product_id: id(3),
            limitation_id: id(7),
            limitation_name: None,
            limitation_description: None,
            limit: Some(50),
            consumption_reset_mode: 0,
            consumption_reset_period_days: None,
            current_user_transaction_id: None,
        }]),
        license_variables: Some(vec![LicenseVariableDto {
            product_id: id(3),
            variable_id: id(8),
            variable_name: None,
            variable_description: None,
            value: Some("EU".into()),
        }]),
        ..LicenseDto::default()
    };
    let p = "00000000-0000-0000-0000-000000000003";
    assert_eq!(
        serde_json::to_value(&license).unwrap(),
        json!({
            "id": "00000000-0000-0000-0000-000000000001",
            "customer_id": "00000000-0000-0000-0000-000000000002",
            "product_id": p,
            "template_id": "00000000-0000-0000-0000-000000000004",
            "license_type_id": "00000000-0000-0000-0000-000000000005",
            "legacy_license_key": "SUB-1",
            "token_limit": 25,
            "goodwill_token_limit": 2,
            "floating_token_limit": 3,
            "user_limit": 4,
            "expiration_date_utc": "2027-12-31T22:59:59Z",
            "expiration_mode": 2,
            "is_active": true,
            "license_features": [{"product_id": p, "feature_id": "00000000-0000-0000-0000-000000000006", "is_active": true}],
            "license_limitations": [{"product_id": p, "limitation_id": "00000000-0000-0000-0000-000000000007", "limit": 50, "consumption_reset_mode": 0}],
            "license_variables": [{"product_id": p, "variable_id": "00000000-0000-0000-0000-000000000008", "value": "EU"}]
        })
    );
}

/// The vocabulary of the vendor's sync DTOs, under `LicenseDto`'s names; a release limit of
/// none travels as `null`, so a PATCH clears it, and is told apart from an absent one on reading.
#[test]
fn license_dto_vocabulary() {
    let license = LicenseDto {
        id: id(1),
        name: Some("Gold".into()),
        description: Some("Order 4711".into()),
        start_date_utc: Some("2026-01-01T00:00:00Z".into()),
        is_temporary: Some(true),
        software_release_limitation_id: Some(Some(id(9))),
        license_constrained_variables: Some(vec![LicenseConstrainedVariableDto {
            product_id: id(3),
            variable_id: id(10),
            variable_name: None,
            variable_description: None,
            values: Some(vec!["Core".into(), "Analytics".into()]),
        }]),
        ..LicenseDto::default()
    };
    let body = serde_json::to_value(&license).unwrap();
    assert_eq!(body["name"], "Gold");
    assert_eq!(body["description"], "Order 4711");
    assert_eq!(body["start_date_utc"], "2026-01-01T00:00:00Z");
    assert_eq!(body["is_temporary"], true);
    assert_eq!(
        body["software_release_limitation_id"],
        "00000000-0000-0000-0000-000000000009"
    );
    assert_eq!(
        body["license_constrained_variables"],
        json!([{
            "product_id": "00000000-0000-0000-0000-000000000003",
            "variable_id": "00000000-0000-0000-0000-00000000000a",
            "values": ["Core", "Analytics"]
        }])
    );

    let none = LicenseDto {
        software_release_limitation_id: Some(None),
        ..LicenseDto::default()
    };
    let body = serde_json::to_value(&none).unwrap();
    assert_eq!(body["software_release_limitation_id"], Value::Null);
    assert!(
        body.as_object()
            .unwrap()
            .contains_key("software_release_limitation_id")
    );
    let absent = serde_json::to_value(LicenseDto::default()).unwrap();
    assert!(
        !absent
            .as_object()
            .unwrap()
            .contains_key("software_release_limitation_id")
    );

    let read: LicenseDto = serde_json::from_value(body).unwrap();
    assert_eq!(read.software_release_limitation_id, Some(None));
    let read: LicenseDto = serde_json::from_value(absent).unwrap();
    assert_eq!(read.software_release_limitation_id, None);
}

#[test]
fn license_filter_dto() {
    let filter = LicenseFilterDto {
        page_size: 500,
        page: Some(0),
        product_filter: Some(id(3)),
        ..LicenseFilterDto::default()
    };
    assert_eq!(
        serde_json::to_value(&filter).unwrap(),
        json!({"page_size": 500, "page": 0, "product_filter": "00000000-0000-0000-0000-000000000003"})
    );
}

#[test]
fn error_bodies_parse() {
    let conflict: ErrorResultObjects = serde_json::from_value(
        json!({"id": 4002, "message": "A customer with this number already exists", "help": null}),
    )
    .unwrap();
    assert_eq!(conflict.id, 4002);
    let problem: ProblemDetails = serde_json::from_value(
        json!({"type": "https://tools.ietf.org/html/rfc7231#section-6.5.1", "title": "Bad", "status": 400, "errors": {}}),
        )
        .unwrap();
    assert_eq!(problem.title.as_deref(), Some("Bad"));
}

/// `GET /administration/customlist`: the vendor's shape decodes, every member optional, and the
/// values are the elements' `value`, not their caption.
#[test]
fn custom_list_read() {
    let lists: Vec<CustomListDto> = serde_json::from_value(json!([
        {
            "id": "00000000-0000-0000-0000-000000000001",
            "custom_list_name": "Modules",
            "elements": [
                {"id": "00000000-0000-0000-0000-000000000002", "value": "Core", "caption": "Core module"},
                {"id": null, "value": "Analytics", "caption": null},
                {"caption": "a row without a value"}
            ],
            "created_date_utc": "2026-01-01T00:00:00Z",
            "modified_date_utc": null,
            "last_modified_by": "portal"
        },
        {},
        {"id": "00000000-0000-0000-0000-000000000003", "elements": null}
    ]))
    .unwrap();
    assert_eq!(lists[0].id, Some(id(1)));
    assert_eq!(lists[0].custom_list_name.as_deref(), Some("Modules"));
    assert_eq!(lists[0].values().collect::<Vec<_>>(), ["Core", "Analytics"]);
    assert_eq!(lists[1], CustomListDto::default());
    assert_eq!(lists[2].values().count(), 0);
}

/// `GET /templates`: what an edition gives a license beyond its limits and entries — its
/// release (absent, `null` or an id), its temporary flag and its constrained values.
#[test]
fn template_read() {
    let template: TemplateDto = serde_json::from_value(json!({
        "id": "00000000-0000-0000-0000-000000000001",
        "product_id": "00000000-0000-0000-0000-000000000002",
        "name": "Professional",
        "token_limit": 10,
        "is_temporary": true,
        "software_release_limitation_id": "00000000-0000-0000-0000-000000000003",
        "software_release_limitation": {"id": "00000000-0000-0000-0000-000000000003", "software_release": "3.2"},
        "constrained_variables": [{
            "template_id": "00000000-0000-0000-0000-000000000001",
            "variable_id": "00000000-0000-0000-0000-000000000004",
            "variable_name": "Modules",
            "is_adjustable": true,
            "values": ["Core", "Analytics"]
        }],
        "heartbeat_mode": 1,
        "license_type": null
    }))
    .unwrap();
    assert!(template.is_temporary);
    assert_eq!(template.software_release_limitation_id, Some(id(3)));
    let modules = &template.constrained_variables.as_ref().unwrap()[0];
    assert_eq!(modules.variable_id, id(4));
    assert_eq!(
        modules.values.as_deref(),
        Some(&["Core".into(), "Analytics".into()][..])
    );
    let bare = json!({
        "id": "00000000-0000-0000-0000-000000000001",
        "product_id": "00000000-0000-0000-0000-000000000002",
        "name": "Basic",
        "token_limit": 1,
    });
    let mut with_null = bare.clone();
    with_null["software_release_limitation_id"] = Value::Null;
    for edition in [bare, with_null] {
        let template: TemplateDto = serde_json::from_value(edition).unwrap();
        assert_eq!(template.software_release_limitation_id, None);
        assert!(!template.is_temporary);
        assert_eq!(template.constrained_variables, None);
    }
}

/// The usage reads: rows without the ids the vendor marks optional decode; what the client
/// cannot use is said by the reader, not by a failed decode of the whole answer.
#[test]
fn usage_rows_read() {
    let row: LicenseTreeDto =
        serde_json::from_value(json!({"active_users": 9, "active_floating_tokens": null})).unwrap();
    assert_eq!(
        (row.id, row.active_users, row.active_floating_tokens),
        (None, Some(9), None)
    );
    let token: DeviceLicenseAssignmentDto =
        serde_json::from_value(json!({"activated": true, "device_name": null})).unwrap();
    assert_eq!((token.id, token.activated), (None, true));
    let token: DeviceLicenseAssignmentDto = serde_json::from_value(json!({})).unwrap();
    assert!(!token.activated, "the non-null boolean's default");
}
