//! `ids`: the SLASCONE ids of the managed licenses and customers, as CSV for an ERP's import or
//! as JSON for a script.

use std::io::{self, Write};

use crate::plan::ids::{CSV_HEADER, Ids};

/// One row per [`Ids`], under [`CSV_HEADER`]; cells are quoted where CSV needs it.
pub fn csv(rows: &[Ids], out: &mut dyn Write) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_HEADER)?;
    for row in rows {
        writer.write_record(row.cells())?;
    }
    writer.flush()
}

/// The rows as a JSON array of objects, their members named as the CSV columns are; an id
/// SLASCONE does not hold yet is `null`.
pub fn json(rows: &[Ids], out: &mut dyn Write) -> io::Result<()> {
    crate::text::write_json(out, rows)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(number: &str, license: Option<&str>) -> Ids {
        Ids {
            customer_number: Some(number.to_owned()),
            customer_id: Some(uuid::Uuid::from_u128(1)),
            product: license.map(|_| "Argus".to_owned()),
            legacy_license_key: license.map(str::to_owned),
            license_id: license.map(|_| uuid::Uuid::from_u128(2)),
            customer_analytics_url: Some(format!(
                "https://my.slascone.com/customeranalytics?customernumber={number}"
            )),
            licenses_url: None,
        }
    }

    #[test]
    fn csv_quotes_what_needs_it_and_leaves_unknowns_empty() {
        let mut out = Vec::new();
        csv(&[row("10,1", Some("V-1")), row("2", None)], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "customer_number,customer_id,product,legacy_license_key,license_id,\
             customer_analytics_url,licenses_url\n\
             \"10,1\",00000000-0000-0000-0000-000000000001,Argus,V-1,\
             00000000-0000-0000-0000-000000000002,\
             \"https://my.slascone.com/customeranalytics?customernumber=10,1\",\n\
             2,00000000-0000-0000-0000-000000000001,,,,\
             https://my.slascone.com/customeranalytics?customernumber=2,\n"
        );
    }

    #[test]
    fn json_names_members_as_the_columns_and_writes_null_for_unknowns() {
        let mut out = Vec::new();
        json(&[row("2", None)], &mut out).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let keys: Vec<&str> = value[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut header = CSV_HEADER.to_vec();
        header.sort_unstable();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, header);
        assert_eq!(value[0]["license_id"], serde_json::Value::Null);
    }
}
