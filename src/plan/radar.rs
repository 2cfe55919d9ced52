//! The expiry radar: the managed licenses a plan leaves active and expiring soon, or expired.
//! It reads only what the plan compared, and takes today's date from its caller.

use jiff::civil::Date;
use serde_json::Value;

use super::diff::is_ignored;
use super::{DiffContext, Warning, WarningKind};
use crate::dates::{format_date, parse_date};
use crate::model::{CurrentLicense, DesiredLicense};

const EXPIRES: &str = "expires";
const ACTIVE: &str = "active";
const EDITION: &str = "edition";

/// One warning per license that, as it will be after apply, is active and expires by a date
/// within `ctx.expiring_within_days` days of `ctx.today`, or has expired. Licenses that never
/// expire, or expire a number of days after activation, have no date to warn of.
pub(super) fn expiry_warnings(
    licenses: &[(&DesiredLicense, Option<&CurrentLicense>)],
    ctx: &DiffContext,
) -> Vec<Warning> {
    let Some(today) = ctx.today else {
        return Vec::new();
    };
    if ctx.expiring_within_days == 0 {
        return Vec::new();
    }
    let mut warnings = Vec::new();
    for &(wanted, found) in licenses {
        let ignore: Vec<&str> = wanted
            .ignore
            .iter()
            .chain(&ctx.ignore_license)
            .map(String::as_str)
            .collect();
        let after = |path: &str| after_value(wanted, found, path, &ignore);
        if after(ACTIVE).and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let Some(date) = after(EXPIRES).and_then(Value::as_str).and_then(parse_date) else {
            continue;
        };
        let days_left = i64::from((date - today).get_days());
        if days_left > i64::from(ctx.expiring_within_days) {
            continue;
        }
        warnings.push(warning(wanted, date, days_left));
    }
    warnings
}

/// The value `path` will have after apply: the manifest's, where it writes and manages it; the
/// edition's, where the license is created or changes edition and the edition gives one; else
/// SLASCONE's. A license is active unless something says otherwise.
fn after_value<'a>(
    wanted: &'a DesiredLicense,
    found: Option<&'a CurrentLicense>,
    path: &str,
    ignore: &[&str],
) -> Option<&'a Value> {
    let managed = found.is_none() || !is_ignored(path, ignore);
    if managed && let Some(value) = wanted.fields.get(path) {
        return Some(value);
    }
    let edition_applies = match found {
        None => true,
        Some(found) => {
            !is_ignored(EDITION, ignore) && wanted.fields.get(EDITION) != found.fields.get(EDITION)
        }
    };
    if edition_applies && let Some(value) = wanted.edition_fields.get(path) {
        return Some(value);
    }
    found.and_then(|found| found.fields.get(path))
}

fn warning(license: &DesiredLicense, date: Date, days_left: i64) -> Warning {
    let day = format_date(date);
    let (kind, when) = match days_left {
        ..0 => (
            WarningKind::Expired,
            format!(
                "expired on {day}, {} day{} ago, and stays active",
                -days_left,
                if days_left == -1 { "" } else { "s" }
            ),
        ),
        0 => (WarningKind::Expiring, format!("expires today, {day}")),
        _ => (
            WarningKind::Expiring,
            format!(
                "expires on {day}, in {days_left} day{}",
                if days_left == 1 { "" } else { "s" }
            ),
        ),
    };
    Warning {
        kind,
        message: format!("license {} ({}) {when}", license.key, license.origin),
        key: Some(license.key.clone()),
        date: Some(day),
        days_left: Some(days_left),
    }
}
