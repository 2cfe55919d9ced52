//! `ids`: the SLASCONE ids of the managed licenses and customers, matched as plan matches them,
//! checked against what the sandbox holds.

use crate::support::{self, Cli};

const MANIFESTS: &str = "\
customers:
  - customer_number: \"10001\"
    company_name: Bäckerei Schmidt GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - { legacy_license_key: V-1, product: Argus, edition: Professional }
      - { legacy_license_key: V-2, product: Borealis, edition: Basic }
  - customer_number: \"10002\"
    company_name: Müller & Söhne KG
    customer_type: SMB
    country: Germany
";

/// The CSV on stdout, header first.
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes())
        .records()
        .map(|row| row.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn every_managed_license_gets_a_row_with_its_ids_and_links() {
    let sandbox = support::sandbox().await;
    let dir = support::project(&sandbox, &[("customers.yaml", MANIFESTS)], "");
    Cli::new(["apply", "--auto-approve"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    // A license apply has not created yet.
    let pending = MANIFESTS.replace(
        "      - { legacy_license_key: V-2, product: Borealis, edition: Basic }\n",
        "      - { legacy_license_key: V-2, product: Borealis, edition: Basic }\n      \
         - { legacy_license_key: V-3, product: Argus, edition: Enterprise }\n",
    );
    std::fs::write(dir.path().join("customers.yaml"), pending).unwrap();

    let client = support::client(&sandbox);
    let customers = client.list_customers().await.unwrap();
    let id_of = |number: &str| {
        customers
            .iter()
            .find(|c| c.customer_number.as_deref() == Some(number))
            .map(|c| c.id.to_string())
            .unwrap()
    };
    let mut licenses = Vec::new();
    for product in client.products().await.unwrap() {
        for license in client.list_licenses(product.id).await.unwrap() {
            let key = license.legacy_license_key.as_deref().unwrap().to_owned();
            licenses.push((key, license.id.to_string(), license.customer_id.to_string()));
        }
    }
    licenses.sort();
    let license = |key: &str| licenses.iter().find(|l| l.0 == key).unwrap();
    assert_eq!(license("V-1").2, id_of("10001"));

    let ran = Cli::new(["ids"]).target(dir.path()).run().await.expect(0);
    let links = |number: &str| {
        [
            format!("https://my.slascone.com/customeranalytics?customernumber={number}"),
            format!("https://my.slascone.com/licenses?customernumber={number}"),
        ]
    };
    let row = |number: &str, product: &str, key: &str, license: &str| {
        let mut row = vec![
            number.to_owned(),
            id_of(number),
            product.to_owned(),
            key.to_owned(),
            license.to_owned(),
        ];
        row.extend(links(number));
        row
    };
    assert_eq!(
        rows(&ran.stdout()),
        [
            [
                "customer_number",
                "customer_id",
                "product",
                "legacy_license_key",
                "license_id",
                "customer_analytics_url",
                "licenses_url"
            ]
            .map(str::to_owned)
            .to_vec(),
            row("10001", "Argus", "V-1", &license("V-1").1),
            row("10001", "Argus", "V-3", ""),
            row("10001", "Borealis", "V-2", &license("V-2").1),
            row("10002", "", "", ""),
        ]
    );
    assert!(
        ran.stderr()
            .contains("1 row is not in SLASCONE yet, so it has no id: apply creates it."),
        "{}",
        ran.stderr()
    );

    // The same rows as JSON, with null where SLASCONE has no id yet.
    let ran = Cli::new(["ids", "--format", "json"])
        .target(dir.path())
        .run()
        .await
        .expect(0);
    let json: serde_json::Value = serde_json::from_str(&ran.stdout()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);
    assert_eq!(json[0]["license_id"], license("V-1").1.as_str());
    assert_eq!(json[0]["customer_id"], id_of("10001").as_str());
    assert_eq!(json[1]["license_id"], serde_json::Value::Null);
    assert_eq!(json[3]["product"], serde_json::Value::Null);
}

/// When SLASCONE cannot be read, `ids` fails and prints no rows: an ERP import of a header
/// alone would read as "no ids".
#[tokio::test]
async fn ids_fail_without_output_when_slascone_cannot_be_read() {
    let sandbox = support::sandbox().await;
    let dir = support::project(&sandbox, &[("customers.yaml", MANIFESTS)], "");
    sandbox.shutdown().await;
    let ran = Cli::new(["ids", "--timeout", "2"])
        .target(dir.path())
        .run()
        .await
        .expect(1);
    assert_eq!(ran.stdout(), "");
}
