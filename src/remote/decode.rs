//! Everything the client does with the bytes of an answer, as one pure function: the fuzz
//! target `answers` feeds it arbitrary bytes, and `cargo test` replays its corpus. No input may
//! panic, and every error must name the request.

use reqwest::StatusCode;

use super::checks;
use super::secret::AdminKey;
use super::transport::status_error;
use super::wire::*;

/// Decodes `body` as each answer the client reads (listings, objects, the count, error
/// bodies of every status it tells apart), runs the checks those answers get, redacts a key
/// from it and reduces a license it may hold to the diff's model. Returns how many decodings
/// succeeded, so a caller can tell that the corpus reaches past the JSON parser.
pub fn decode_answer(body: &[u8]) -> usize {
    const PATH: &str = "/api/v2/isv/00000000-0000-0000-0000-000000000000/fuzz";
    let key = AdminKey::new("sk-fuzz-0123456789");
    let body = key.redact(body.to_vec());
    let mut decoded = 0;
    macro_rules! decode {
        ($ty:ty) => {
            serde_json::from_slice::<$ty>(&body)
                .ok()
                .inspect(|_| decoded += 1)
        };
    }
    if let Some(licenses) = decode!(Vec<LicenseDto>) {
        let catalog = super::catalog::Catalog::default();
        for license in &licenses {
            let _ = checks::license(license);
            let _ = super::convert::current_license(&catalog, license);
            let _ = super::convert::fingerprint(license);
        }
    }
    if let Some(license) = decode!(LicenseDto) {
        let _ = checks::license(&license);
    }
    if let Some(templates) = decode!(Vec<TemplateDto>) {
        for template in &templates {
            let _ = checks::template(template);
        }
    }
    let _ = decode!(Vec<CustomerDto>);
    let _ = decode!(CustomerDto);
    let _ = decode!(Vec<CustomerContactDto>);
    let _ = decode!(Vec<CustomerTypeDto>);
    let _ = decode!(Vec<LicenseTypeDto>);
    let _ = decode!(Vec<ProductDto>);
    let _ = decode!(ProductDetailsDto);
    let _ = decode!(LicenseLazyLoadDto);
    let _ = decode!(Vec<DeviceLicenseAssignmentDto>);
    for status in [400, 401, 404, 409, 418, 500] {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT);
        let error = status_error("POST", PATH, status, &body).to_string();
        assert!(error.starts_with(&format!("POST {PATH}: ")), "{error}");
        assert!(
            !error.chars().any(crate::text::is_hazard),
            "raw control character in {error:?}"
        );
    }
    decoded
}
