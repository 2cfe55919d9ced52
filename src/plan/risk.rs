//! Risk grading: how much harm each change can do to a customer who relies on the license, and
//! why. Pure: it reads the change's before and after values, and today's date for expiries.

use jiff::civil::Date;
use serde_json::Value;

use super::{Action, Change, Plan, Risk};
use crate::dates::parse_date;
use crate::model::fields::{Limit, limit_of};
use crate::model::{Kind, display_value, entry_of};

/// Customer fields a customer sees change.
const VISIBLE_CUSTOMER_FIELDS: [&str; 3] = ["company_name", "country", "customer_type"];

/// Grades every change of `plan`.
pub fn grade_plan(plan: &mut Plan, today: Option<Date>) {
    for change in &mut plan.changes {
        grade(change, today);
    }
}

/// Sets `risk` and `risk_reasons` of one change: the highest risk of its reasons, high ones
/// first. Creates are low: nothing a customer relies on exists yet.
pub fn grade(change: &mut Change, today: Option<Date>) {
    let mut reasons: Vec<(Risk, String)> = Vec::new();
    if change.action == Action::Update {
        for field in &change.fields {
            if let Some(reason) = reason(
                change.kind(),
                &field.path,
                &field.before,
                &field.after,
                today,
            ) {
                reasons.push(reason);
            }
        }
    }
    if change.kind() == Kind::Contact
        && let Some(field) = change.fields.iter().find(|f| f.path == "portal_user")
        && field.after == true
        && field.before != true
    {
        reasons.push((
            Risk::Medium,
            "becomes a portal user, which may send an invitation e-mail".to_owned(),
        ));
    }
    // Stable: reasons keep the order of the fields within each level.
    reasons.sort_by_key(|(risk, _)| std::cmp::Reverse(*risk));
    change.risk = reasons.first().map_or(Risk::Low, |(risk, _)| *risk);
    change.risk_reasons = reasons.into_iter().map(|(_, reason)| reason).collect();
}

/// What a license's holders use now: `None` where it was not asked for, what was counted where
/// it was read, and why not where it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// Tokens assigned to devices (`GET /licenses/{id}/assignments`).
    pub tokens: Option<Result<InUse, String>>,
    /// Named users (`active_users` of the light listing).
    pub users: Option<Result<InUse, String>>,
    /// Floating tokens in use (`active_floating_tokens` of the light listing).
    pub floating_tokens: Option<Result<InUse, String>>,
}

/// What a usage read counted: all of it, or what it saw of a listing it could not show it read
/// in full, which is a floor and not the use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InUse {
    Exactly(i64),
    AtLeast(i64),
}

impl Usage {
    /// What was read for `limit`, where SLASCONE tells what is in use behind it.
    fn of(&self, limit: Limit) -> Option<&Option<Result<InUse, String>>> {
        match limit {
            Limit::Tokens => Some(&self.tokens),
            Limit::Users => Some(&self.users),
            Limit::FloatingTokens => Some(&self.floating_tokens),
            Limit::Unread => None,
        }
    }
}

/// The limits a change lowers that a usage read can weigh, by field path: those the field table
/// says SLASCONE tells the use of.
pub fn lowered_limits(change: &Change) -> Vec<(&str, Limit)> {
    if change.kind() != Kind::License || change.action != Action::Update {
        return Vec::new();
    }
    change
        .fields
        .iter()
        .filter(|field| lowered(&field.before, &field.after))
        .filter_map(|field| {
            let limit = limit_of(&field.path).filter(|limit| limit.in_use().is_some())?;
            Some((field.path.as_str(), limit))
        })
        .collect()
}

/// Adds to a change's reasons how each limit it lowers compares with what is in use.
pub fn add_usage(change: &mut Change, usage: &Usage) {
    let mut reasons = Vec::new();
    for field in &change.fields {
        let Some(limit) = limit_of(&field.path) else {
            continue;
        };
        let (Some(in_use), Some(what)) = (usage.of(limit), limit.in_use()) else {
            continue;
        };
        if !lowered(&field.before, &field.after) {
            continue;
        }
        let (Some(in_use), Some(before), Some(after)) =
            (in_use, field.before.as_i64(), field.after.as_i64())
        else {
            continue;
        };
        let in_use = match in_use {
            Ok(InUse::Exactly(in_use)) => *in_use,
            // A floor, said as one: what was not seen may be in use, so there is no room to
            // speak of, only what is over for certain.
            Ok(InUse::AtLeast(seen)) => {
                let path = &field.path;
                reasons.push(if *seen > after {
                    format!(
                        "at least {seen} of {before} {what} (the listing may be incomplete); the \
                         new {path} {after} leaves at least {} over",
                        seen - after
                    )
                } else {
                    format!(
                        "at least {seen} of {before} {what} (the listing may be incomplete); \
                         whether the new {path} {after} leaves room is not known"
                    )
                });
                continue;
            }
            // Said, never dropped: a reviewer would take silence for room to spare.
            Err(why) => {
                reasons.push(format!("usage not read: {what}: {why}"));
                continue;
            }
        };
        reasons.push(if in_use > after {
            format!(
                "{in_use} of {before} {what}; the new {} {after} leaves {} over",
                field.path,
                in_use - after
            )
        } else {
            format!(
                "{in_use} of {before} {what}; the new {} {after} leaves room for {}",
                field.path,
                after - in_use
            )
        });
    }
    change.risk_reasons.extend(reasons);
}

/// Whether a count goes down from `before` to `after` (both numbers).
fn lowered(before: &Value, after: &Value) -> bool {
    matches!((before.as_i64(), after.as_i64()), (Some(before), Some(after)) if after < before)
}

/// Why changing `path` of an existing object from `before` to `after` is risky, if it is.
fn reason(
    kind: Kind,
    path: &str,
    before: &Value,
    after: &Value,
    today: Option<Date>,
) -> Option<(Risk, String)> {
    let shown = || format!("{} → {}", display_value(before), display_value(after));
    match kind {
        Kind::Customer => VISIBLE_CUSTOMER_FIELDS
            .contains(&path)
            .then(|| (Risk::Medium, format!("{path} changed: {}", shown()))),
        Kind::Contact => None,
        Kind::License => license_reason(path, before, after, today, shown),
    }
}

fn license_reason(
    path: &str,
    before: &Value,
    after: &Value,
    today: Option<Date>,
    shown: impl Fn() -> String,
) -> Option<(Risk, String)> {
    match path {
        "active" if before != &Value::Bool(false) && after == &Value::Bool(false) => {
            Some((Risk::High, "license deactivated".to_owned()))
        }
        "edition" => Some((Risk::High, format!("edition changed: {}", shown()))),
        crate::model::fields::OWNER => Some((
            Risk::High,
            format!("moved to another customer: {}", shown()),
        )),
        "license_type" => Some((Risk::Medium, format!("license type changed: {}", shown()))),
        "expires" => expiry_reason(before, after, today, shown),
        // Which fields are limits is the field table's to say.
        limit if limit_of(limit).is_some() && lowered(before, after) => {
            Some((Risk::High, format!("{limit} lowered: {}", shown())))
        }
        _ => match entry_of(path) {
            Some(("limitations", name)) if lowered(before, after) => Some((
                Risk::High,
                format!("limitation {name} lowered: {}", shown()),
            )),
            Some(("features", name))
                if before == &Value::Bool(true) && after == &Value::Bool(false) =>
            {
                Some((Risk::High, format!("feature {name} switched off")))
            }
            _ => None,
        },
    }
}

/// An expiry moved earlier or into the past is high; one that changes form (a date, `never`,
/// days after activation) is medium.
fn expiry_reason(
    before: &Value,
    after: &Value,
    today: Option<Date>,
    shown: impl Fn() -> String,
) -> Option<(Risk, String)> {
    let date = |value: &Value| value.as_str().and_then(parse_date);
    match (date(before), date(after)) {
        (_, Some(after)) if today.is_some_and(|today| after < today) => {
            Some((Risk::High, format!("expires in the past: {}", shown())))
        }
        (Some(before), Some(after)) if after < before => {
            Some((Risk::High, format!("expires earlier: {}", shown())))
        }
        (Some(_), Some(_)) => None,
        // From `never` to a date: the license now ends.
        (None, Some(_)) if before == "never" => {
            Some((Risk::High, format!("expires earlier: {}", shown())))
        }
        _ if before.is_null() => None,
        _ => Some((Risk::Medium, format!("expiry changes form: {}", shown()))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::FieldChange;
    use crate::plan::tests::bare_change;

    fn change(kind: Kind, action: Action, path: &str, before: Value, after: Value) -> Change {
        bare_change(kind, action, "Argus", &[(path, before, after)])
    }

    fn graded(kind: Kind, path: &str, before: Value, after: Value) -> (Risk, Vec<String>) {
        let mut change = change(kind, Action::Update, path, before, after);
        grade(&mut change, Some(jiff::civil::date(2026, 11, 28)));
        (change.risk, change.risk_reasons)
    }

    #[test]
    fn every_rule_grades_as_documented() {
        use Kind::{Contact, Customer, License};
        let high = Risk::High;
        let medium = Risk::Medium;
        let low = Risk::Low;
        let cases: Vec<(Kind, &str, Value, Value, Risk, &str)> = vec![
            (
                License,
                "active",
                json!(true),
                json!(false),
                high,
                "license deactivated",
            ),
            (License, "active", json!(false), json!(true), low, ""),
            (
                License,
                "token_limit",
                json!(25),
                json!(10),
                high,
                "token_limit lowered: 25 → 10",
            ),
            (License, "token_limit", json!(10), json!(25), low, ""),
            (
                License,
                "floating_token_limit",
                json!(5),
                json!(4),
                high,
                "floating_token_limit lowered: 5 → 4",
            ),
            (
                License,
                "goodwill_token_limit",
                json!(2),
                json!(0),
                high,
                "goodwill_token_limit lowered: 2 → 0",
            ),
            (
                License,
                "user_limit",
                json!(25),
                json!(2),
                high,
                "user_limit lowered: 25 → 2",
            ),
            (
                License,
                "limitations.Users",
                json!(50),
                json!(40),
                high,
                "limitation Users lowered: 50 → 40",
            ),
            (License, "limitations.Users", json!(40), json!(50), low, ""),
            (
                License,
                "features.Export",
                json!(true),
                json!(false),
                high,
                "feature Export switched off",
            ),
            (
                License,
                "features.Export",
                json!(false),
                json!(true),
                low,
                "",
            ),
            (
                License,
                "edition",
                json!("Enterprise"),
                json!("Professional"),
                high,
                "edition changed: \"Enterprise\" → \"Professional\"",
            ),
            (
                License,
                "customer",
                json!("K1"),
                json!("K2"),
                high,
                "moved to another customer: \"K1\" → \"K2\"",
            ),
            (
                License,
                "expires",
                json!("2027-12-31"),
                json!("2027-06-30"),
                high,
                "expires earlier: \"2027-12-31\" → \"2027-06-30\"",
            ),
            (
                License,
                "expires",
                json!("2027-06-30"),
                json!("2027-12-31"),
                low,
                "",
            ),
            (
                License,
                "expires",
                json!("2025-01-01"),
                json!("2026-01-01"),
                high,
                "expires in the past: \"2025-01-01\" → \"2026-01-01\"",
            ),
            (
                License,
                "expires",
                json!("never"),
                json!("2028-01-01"),
                high,
                "expires earlier: \"never\" → \"2028-01-01\"",
            ),
            (
                License,
                "expires",
                json!("2028-01-01"),
                json!("never"),
                medium,
                "expiry changes form: \"2028-01-01\" → \"never\"",
            ),
            (
                License,
                "expires",
                json!("never"),
                json!({"days_after_activation": 30}),
                medium,
                "expiry changes form: \"never\" → { days_after_activation: 30 }",
            ),
            (
                License,
                "license_type",
                json!("Trial"),
                json!("Commercial"),
                medium,
                "license type changed: \"Trial\" → \"Commercial\"",
            ),
            (
                License,
                "variables.Region",
                json!("EU"),
                json!("US"),
                low,
                "",
            ),
            (
                Customer,
                "company_name",
                json!("Acme"),
                json!("Acme AG"),
                medium,
                "company_name changed: \"Acme\" → \"Acme AG\"",
            ),
            (
                Customer,
                "country",
                json!("Austria"),
                json!("Germany"),
                medium,
                "country changed: \"Austria\" → \"Germany\"",
            ),
            (
                Customer,
                "customer_type",
                json!("SMB"),
                json!("Enterprise"),
                medium,
                "customer_type changed: \"SMB\" → \"Enterprise\"",
            ),
            (Customer, "city", json!("Graz"), json!("Wien"), low, ""),
            (
                Contact,
                "portal_user",
                json!(false),
                json!(true),
                medium,
                "becomes a portal user, which may send an invitation e-mail",
            ),
            (Contact, "phone", json!("1"), json!("2"), low, ""),
        ];
        for (kind, path, before, after, risk, reason) in cases {
            let (got, reasons) = graded(kind, path, before.clone(), after.clone());
            assert_eq!(got, risk, "{kind} {path}: {before} → {after}");
            let expected: Vec<&str> = if reason.is_empty() {
                vec![]
            } else {
                vec![reason]
            };
            assert_eq!(reasons, expected, "{kind} {path}");
        }
    }

    #[test]
    fn creates_are_low_except_an_invited_portal_user() {
        let mut create = change(
            Kind::License,
            Action::Create,
            "active",
            Value::Null,
            json!(false),
        );
        grade(&mut create, None);
        assert_eq!(create.risk, Risk::Low);
        let mut invite = change(
            Kind::Contact,
            Action::Create,
            "portal_user",
            Value::Null,
            json!(true),
        );
        grade(&mut invite, None);
        assert_eq!(invite.risk, Risk::Medium);
    }

    #[test]
    fn usage_is_weighed_against_each_lowered_limit() {
        let mut change = change(
            Kind::License,
            Action::Update,
            "token_limit",
            json!(25),
            json!(10),
        );
        change.fields.push(FieldChange {
            path: "user_limit".into(),
            before: json!(50),
            after: json!(40),
            source: None,
        });
        assert_eq!(
            lowered_limits(&change),
            [("token_limit", Limit::Tokens), ("user_limit", Limit::Users)]
        );
        grade(&mut change, None);
        add_usage(
            &mut change,
            &Usage {
                tokens: Some(Ok(InUse::Exactly(14))),
                users: Some(Ok(InUse::Exactly(3))),
                floating_tokens: None,
            },
        );
        assert_eq!(
            change.risk_reasons,
            [
                "token_limit lowered: 25 → 10",
                "user_limit lowered: 50 → 40",
                "14 of 25 tokens in use (assignments); the new token_limit 10 leaves 4 over",
                "3 of 50 named users (active_users); the new user_limit 40 leaves room for 37",
            ]
        );
        let mut unread = change_with(json!(25), json!(10));
        add_usage(
            &mut unread,
            &Usage {
                tokens: Some(Err("GET /licenses/x/assignments: HTTP 500".into())),
                ..Usage::default()
            },
        );
        assert_eq!(
            unread.risk_reasons,
            ["usage not read: tokens in use (assignments): GET /licenses/x/assignments: HTTP 500"]
        );
        // A floor is never room to spare: over for certain, or not known.
        for (seen, reason) in [
            (
                14,
                "at least 14 of 25 tokens in use (assignments) (the listing may be incomplete); \
                 the new token_limit 10 leaves at least 4 over",
            ),
            (
                3,
                "at least 3 of 25 tokens in use (assignments) (the listing may be incomplete); \
                 whether the new token_limit 10 leaves room is not known",
            ),
        ] {
            let mut floor = change_with(json!(25), json!(10));
            grade(&mut floor, None);
            add_usage(
                &mut floor,
                &Usage {
                    tokens: Some(Ok(InUse::AtLeast(seen))),
                    ..Usage::default()
                },
            );
            assert_eq!(floor.risk, Risk::High);
            assert_eq!(floor.risk_reasons, ["token_limit lowered: 25 → 10", reason]);
        }
        let raised = change_with(json!(10), json!(25));
        assert!(lowered_limits(&raised).is_empty());
    }

    fn change_with(before: Value, after: Value) -> Change {
        change(Kind::License, Action::Update, "token_limit", before, after)
    }

    #[test]
    fn the_highest_reason_decides_and_comes_first() {
        let mut change = change(
            Kind::License,
            Action::Update,
            "license_type",
            json!("Trial"),
            json!("Commercial"),
        );
        change.fields.push(FieldChange {
            path: "token_limit".into(),
            before: json!(5),
            after: json!(1),
            source: None,
        });
        grade(&mut change, None);
        assert_eq!(change.risk, Risk::High);
        assert_eq!(
            change.risk_reasons,
            [
                "token_limit lowered: 5 → 1",
                "license type changed: \"Trial\" → \"Commercial\""
            ]
        );
    }

    /// Which fields are limits is declared once, in the field table: every one of them, lowered,
    /// is graded high risk, and none of the others is.
    #[test]
    fn every_limit_of_the_field_table_is_graded_when_lowered() {
        use crate::model::fields::LICENSE;
        let counts = LICENSE
            .fields
            .iter()
            .filter(|field| field.ty == crate::model::fields::Type::Count);
        let mut limits = Vec::new();
        for field in counts {
            let mut change = change(
                Kind::License,
                Action::Update,
                field.name,
                json!(25),
                json!(10),
            );
            grade(&mut change, None);
            assert_eq!(
                change.risk == Risk::High,
                field.limit.is_some(),
                "{}: {:?}",
                field.name,
                change.risk_reasons
            );
            if field.limit.is_some() {
                limits.push(field.name);
            }
        }
        assert_eq!(
            limits,
            [
                "token_limit",
                "goodwill_token_limit",
                "floating_token_limit",
                "user_limit"
            ]
        );
    }
}
