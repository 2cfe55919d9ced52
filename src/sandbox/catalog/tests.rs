use super::*;
use crate::remote::wire::expiration_mode;

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
    assert_eq!(modules.values.as_deref(), Some(&["Core".into()][..]));

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

#[test]
fn editions_carry_a_release_and_a_temporary_flag() {
    let text = GOOD
        .replace(
            "    variables: [Region]\n",
            "    variables: [Region]\n    software_releases: [\"3.2\"]\n",
        )
        .replace(
            "        token_limit: 10\n",
            "        token_limit: 10\n        software_release: \"3.2\"\n        temporary: true\n",
        );
    let catalog = Catalog::from_yaml_str(&text, "c.yaml").unwrap();
    let product = &catalog.products[0];
    let (pro, trial) = (&product.templates[0], &product.templates[1]);
    assert_eq!(
        pro.software_release_limitation_id,
        Some(product.software_releases[0].id)
    );
    assert!(pro.is_temporary);
    assert_eq!(trial.software_release_limitation_id, None);
    assert!(!trial.is_temporary);

    let unknown = text.replace("software_release: \"3.2\"", "software_release: \"4.0\"");
    let msg = format!(
        "{:#}",
        Catalog::from_yaml_str(&unknown, "c.yaml").unwrap_err()
    );
    assert!(msg.starts_with("c.yaml:12:"), "{msg}");
    assert!(
        msg.contains("no software release `4.0` (it has: 3.2)"),
        "{msg}"
    );
}
