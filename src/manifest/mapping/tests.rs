use super::*;

fn read_text(text: &str) -> Result<Mapping, Problems> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mapping.yaml");
    std::fs::write(&file, text).unwrap();
    read(&file).map_err(|problems| {
        // Messages name the file by its path; tests compare what follows it.
        Problems(
            problems
                .0
                .into_iter()
                .map(|mut problem| {
                    if let Some(origin) = &mut problem.origin {
                        origin.file = Arc::from(Path::new("mapping.yaml"));
                    }
                    problem
                })
                .collect(),
        )
    })
}

const GERMAN: &str = r##"
format: { delimiter: ";", encoding: windows-1252, date: "%d.%m.%Y", empty: ["#N/A", "-"] }
customers:
  columns: { customer_number: Kundennummer, company_name: Firma, country: Land, city: Ort }
  defaults: { customer_type: Enterprise }
licenses:
  columns: { customer_number: Kundennummer, legacy_license_key: Vertragsnummer, product: Produkt,
             edition: Edition, token_limit: Lizenzen, expires: Vertragsende, limitations.Users: Nutzer }
  values: { product: { ARG: Argus, ORI: Orion } }
  missing: deactivate
"##;

#[test]
fn the_issue_s_mapping_reads_as_written() {
    let mapping = read_text(GERMAN).unwrap();
    assert_eq!(mapping.format.delimiter, Some(b';'));
    assert_eq!(
        mapping.format.encoding.as_ref().map(|e| e.value.as_str()),
        Some("windows-1252")
    );
    assert_eq!(mapping.format.date.value, "%d.%m.%Y");
    assert_eq!(mapping.format.empty, ["#N/A", "-"]);
    let paths: Vec<String> = mapping
        .customers
        .columns
        .iter()
        .map(|c| format!("{}={}", c.target.path(), c.header.value))
        .collect();
    assert_eq!(
        paths,
        [
            "customer_number=Kundennummer",
            "company_name=Firma",
            "country=Land",
            "city=Ort"
        ]
    );
    let licenses = mapping.licenses.unwrap();
    assert_eq!(licenses.missing, Missing::Deactivate);
    let product = licenses.values_of(&Target::Field(LICENSE.field("product").unwrap()));
    assert_eq!(product.unwrap().get("ARG"), Some("Argus"));
    assert!(
        licenses
            .columns
            .iter()
            .any(|c| c.target.path() == "limitations.Users")
    );
    assert_eq!(mapping.customers.defaults.len(), 1);
}

#[test]
fn every_mistake_is_reported_at_its_place() {
    let text = r#"format: { delimiter: ";;", date: "%d.%m", colour: red }
customers:
  columns: { customer_numbr: Kundennummer, company_name: Firma }
  values: { country: { DE: Germany } }
  file: "../elsewhere/{customer_number}.yaml"
licenses:
  columns: { customer_number: K, product: P, tokn_limit: L }
  defaults: { token_limit: many }
  missing: delete
"#;
    let problems = read_text(text).unwrap_err();
    insta::assert_snapshot!(problems.to_string());
}
