//! What the diff cannot compare when SLASCONE answers with it: an `expiration_mode` outside the
//! documented ones, or a date-time that names no real day. Read as something else (an unknown
//! mode as "no expiry", an unreadable start as "no start"), such a field would show as a change
//! the plan then makes, or vanish from `export`; so it is an error naming the object and the
//! field, and the request that brought it.

use super::wire::{LicenseDto, TemplateDto, expiration_mode};
use crate::dates::Zone;

/// `license` as the diff can read it, or what it cannot read.
pub(super) fn license(license: &LicenseDto) -> Result<(), String> {
    let name = match &license.legacy_license_key {
        Some(key) => format!("license {} (legacy_license_key {key:?})", license.id),
        None => format!("license {}", license.id),
    };
    expiry(
        &name,
        license.expiration_mode,
        license.expiration_date_utc.as_deref(),
    )?;
    if let Some(start) = &license.start_date_utc {
        date(&name, "start_date_utc", start)?;
    }
    Ok(())
}

/// An edition (template), whose expiry its licenses take.
pub(super) fn template(template: &TemplateDto) -> Result<(), String> {
    let name = format!("edition {} ({:?})", template.id, template.name);
    expiry(
        &name,
        template.expiration_mode,
        template.expiration_date_utc.as_deref(),
    )
}

fn expiry(name: &str, mode: Option<i32>, date_utc: Option<&str>) -> Result<(), String> {
    match mode {
        None | Some(expiration_mode::NEVER | expiration_mode::DAYS_AFTER_ACTIVATION) => Ok(()),
        Some(expiration_mode::DATE) => match date_utc {
            Some(at) => date(name, "expiration_date_utc", at),
            None => Err(format!(
                "{name}: expiration_mode {} (a date) without an expiration_date_utc",
                expiration_mode::DATE
            )),
        },
        Some(other) => Err(format!(
            "{name}: expiration_mode {other} is none SLASCONE documents ({} never, {} a date, {} days after activation)",
            expiration_mode::NEVER,
            expiration_mode::DATE,
            expiration_mode::DAYS_AFTER_ACTIVATION
        )),
    }
}

/// A date-time naming a real day of a year from 1 on.
fn date(name: &str, field: &str, at: &str) -> Result<(), String> {
    match Zone::utc().day_of(at) {
        Some(day) if day.year() >= 1 => Ok(()),
        _ => Err(format!("{name}: {field} {at:?} is no date")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn unknown_modes_and_impossible_dates_are_named() {
        let license = |mode: Option<i32>, date: Option<&str>, start: Option<&str>| LicenseDto {
            id: Uuid::nil(),
            legacy_license_key: Some("L1".into()),
            expiration_mode: mode,
            expiration_date_utc: date.map(Into::into),
            start_date_utc: start.map(Into::into),
            ..LicenseDto::default()
        };
        assert!(super::license(&license(None, None, None)).is_ok());
        assert!(super::license(&license(Some(1), None, None)).is_ok());
        assert!(super::license(&license(Some(2), Some("2027-12-31T22:59:59Z"), None)).is_ok());
        assert!(super::license(&license(Some(3), None, Some("2027-01-01T00:00:00"))).is_ok());
        let err = super::license(&license(Some(99), None, None)).unwrap_err();
        assert_eq!(
            err,
            "license 00000000-0000-0000-0000-000000000000 (legacy_license_key \"L1\"): expiration_mode 99 is none SLASCONE documents (1 never, 2 a date, 3 days after activation)"
        );
        for bad in [
            "0000-00-00T00:00:00",
            "2027-02-30T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "soon",
        ] {
            let err = super::license(&license(Some(2), Some(bad), None)).unwrap_err();
            assert!(
                err.ends_with(&format!("expiration_date_utc {bad:?} is no date")),
                "{err}"
            );
            let err = super::license(&license(None, None, Some(bad))).unwrap_err();
            assert!(
                err.ends_with(&format!("start_date_utc {bad:?} is no date")),
                "{err}"
            );
        }
        assert!(super::license(&license(Some(2), None, None)).is_err());
    }
}
