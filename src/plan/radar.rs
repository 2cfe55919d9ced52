//! The expiry radar: the managed licenses a plan leaves active and expiring soon, or expired.
//! It reads only what the plan compared, and takes today's date from its caller.

use jiff::civil::Date;
use serde_json::Value;

use super::parts::is_ignored;
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
        let ignored =
            |path: &str| is_ignored(path, &wanted.ignore) || is_ignored(path, &ctx.ignore_license);
        let after = |path: &str| after_value(wanted, found, path, &ignored);
        // Most licenses never expire, or not soon: they are done after one lookup.
        let Some(date) = after(EXPIRES).and_then(Value::as_str).and_then(parse_date) else {
            continue;
        };
        let days_left = i64::from((date - today).get_days());
        if days_left > i64::from(ctx.expiring_within_days) {
            continue;
        }
        if after(ACTIVE).and_then(Value::as_bool) == Some(false) {
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
    ignored: &dyn Fn(&str) -> bool,
) -> Option<&'a Value> {
    let managed = found.is_none() || !ignored(path);
    if managed && let Some(value) = wanted.fields.get(path) {
        return Some(value);
    }
    let edition_applies = || match found {
        None => true,
        Some(found) => !ignored(EDITION) && wanted.fields.get(EDITION) != found.fields.get(EDITION),
    };
    if let Some(value) = wanted.edition_fields.get(path)
        && edition_applies()
    {
        return Some(value);
    }
    found.and_then(|found| found.fields.get(path))
}

fn warning(license: &DesiredLicense, date: Date, days_left: i64) -> Warning {
    let day = format_date(date);
    let (key, origin) = (&license.key, &license.origin);
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    // One format per warning: a plan may hold thousands of them.
    let (kind, message) = match days_left {
        ..0 => (
            WarningKind::Expired,
            format!(
                "license {key} ({origin}) expired on {day}, {} day{} ago, and stays active",
                -days_left,
                plural(-days_left)
            ),
        ),
        0 => (
            WarningKind::Expiring,
            format!("license {key} ({origin}) expires today, {day}"),
        ),
        _ => (
            WarningKind::Expiring,
            format!(
                "license {key} ({origin}) expires on {day}, in {days_left} day{}",
                plural(days_left)
            ),
        ),
    };
    Warning {
        kind,
        message,
        key: Some(key.clone()),
        date: Some(day),
        days_left: Some(days_left),
    }
}
