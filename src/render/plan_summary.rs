//! The grouped summary a large plan opens with: how many objects of each kind, action and
//! product change, and for updates how each field moves ("2,000 licenses of Argus updated:
//! token_limit lowered (2,000)"), so a reviewer sees the shape of a plan before its details.

use serde_json::Value;

use crate::dates::parse_date;
use crate::model::Kind;
use crate::plan::{Action, Change, FieldChange, Plan};

/// Field movements named per group; the rest are counted.
const MOVES_SHOWN: usize = 10;

/// Changes of one kind, action and product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    pub kind: Kind,
    pub action: Action,
    pub product: Option<String>,
    pub count: usize,
    /// Updates: each field movement (`token_limit lowered`) and how many changes make it, most
    /// frequent first.
    pub moves: Vec<(String, usize)>,
}

impl Group {
    /// `2,000 licenses of Argus updated: token_limit lowered (2,000), name changed (3)`.
    pub fn describe(&self) -> String {
        let noun = match (self.kind, self.count) {
            (Kind::Customer, 1) => "customer",
            (Kind::Customer, _) => "customers",
            (Kind::License, 1) => "license",
            (Kind::License, _) => "licenses",
            (Kind::Contact, 1) => "contact",
            (Kind::Contact, _) => "contacts",
        };
        let of = self
            .product
            .as_ref()
            .map(|product| format!(" of {product}"))
            .unwrap_or_default();
        let done = match self.action {
            Action::Create => "created",
            Action::Update => "updated",
        };
        let mut line = format!("{} {noun}{of} {done}", thousands(self.count));
        if !self.moves.is_empty() {
            let mut moves: Vec<String> = self
                .moves
                .iter()
                .take(MOVES_SHOWN)
                .map(|(what, n)| format!("{what} ({})", thousands(*n)))
                .collect();
            let rest = self.moves.len().saturating_sub(MOVES_SHOWN);
            if rest > 0 {
                moves.push(format!("and {rest} more"));
            }
            line.push_str(": ");
            line.push_str(&moves.join(", "));
        }
        line
    }
}

/// The plan's changes grouped by kind, action and product, in the plan's order of kinds
/// (customers, licenses, contacts), creates before updates, products by name.
pub(crate) fn groups(plan: &Plan) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for change in &plan.changes {
        let product = change.identity.product().map(str::to_owned);
        let at = match groups.iter().position(|g| {
            g.kind == change.kind() && g.action == change.action && g.product == product
        }) {
            Some(at) => at,
            None => {
                groups.push(Group {
                    kind: change.kind(),
                    action: change.action,
                    product,
                    count: 0,
                    moves: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let group = &mut groups[at];
        group.count += 1;
        if change.action == Action::Update {
            add_moves(&mut group.moves, change);
        }
    }
    for group in &mut groups {
        // Stable: equally frequent movements keep the order they were first met in.
        group.moves.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    }
    groups.sort_by(|a, b| {
        (kind_order(a.kind), a.action == Action::Update, &a.product).cmp(&(
            kind_order(b.kind),
            b.action == Action::Update,
            &b.product,
        ))
    });
    groups
}

fn kind_order(kind: Kind) -> u8 {
    match kind {
        Kind::Customer => 0,
        Kind::License => 1,
        Kind::Contact => 2,
    }
}

fn add_moves(moves: &mut Vec<(String, usize)>, change: &Change) {
    for field in &change.fields {
        let what = format!("{} {}", field.path, movement(field));
        match moves.iter_mut().find(|(known, _)| *known == what) {
            Some((_, n)) => *n += 1,
            None => moves.push((what, 1)),
        }
    }
}

/// How a field's value moves: `lowered`, `raised`, `switched off`, `moved earlier`, …
fn movement(field: &FieldChange) -> &'static str {
    match (&field.before, &field.after) {
        (Value::Null, _) => "set",
        (_, Value::Null) => "cleared",
        (Value::Bool(true), Value::Bool(false)) => "switched off",
        (Value::Bool(false), Value::Bool(true)) => "switched on",
        (Value::Number(before), Value::Number(after)) => {
            match before.as_f64().partial_cmp(&after.as_f64()) {
                Some(std::cmp::Ordering::Greater) => "lowered",
                Some(std::cmp::Ordering::Less) => "raised",
                _ => "changed",
            }
        }
        (Value::String(before), Value::String(after)) => {
            match (parse_date(before), parse_date(after)) {
                (Some(before), Some(after)) if after < before => "moved earlier",
                (Some(before), Some(after)) if after > before => "moved later",
                _ => "changed",
            }
        }
        _ => "changed",
    }
}

/// `2000` as `2,000`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::tests::{ctx, remote, state};

    fn change(
        kind: Kind,
        action: Action,
        product: &str,
        fields: &[(&str, Value, Value)],
    ) -> Change {
        crate::plan::tests::bare_change(kind, action, product, fields)
    }

    #[test]
    fn changes_group_by_kind_action_and_product_with_field_movements() {
        use Action::{Create, Update};
        use Kind::{Contact, Customer, License};
        let mut plan = crate::plan::diff(&state(vec![], vec![]), &remote(vec![], vec![]), &ctx());
        let lowered = ("token_limit", json!(25), json!(10));
        let raised = ("token_limit", json!(10), json!(25));
        let off = ("features.Export", json!(true), json!(false));
        let earlier = ("expires", json!("2027-12-31"), json!("2027-06-30"));
        let later = ("expires", json!("2027-06-30"), json!("2027-12-31"));
        let set = ("name", Value::Null, json!("Gold"));
        plan.changes = vec![
            change(Customer, Create, "", &[]),
            change(Customer, Create, "", &[]),
            change(Customer, Update, "", &[("city", json!("A"), json!("B"))]),
            change(License, Create, "Borealis", &[]),
            change(License, Update, "Argus", &[lowered.clone(), off.clone()]),
            change(License, Update, "Argus", &[lowered.clone(), earlier]),
            change(License, Update, "Argus", &[raised, later, set]),
            change(License, Create, "Argus", &[]),
            change(Contact, Update, "", &[("phone", json!("1"), Value::Null)]),
        ];
        let lines: Vec<String> = groups(&plan).iter().map(Group::describe).collect();
        assert_eq!(
            lines,
            [
                "2 customers created",
                "1 customer updated: city changed (1)",
                "1 license of Argus created",
                "1 license of Borealis created",
                "3 licenses of Argus updated: token_limit lowered (2), features.Export switched \
                 off (1), expires moved earlier (1), token_limit raised (1), expires moved later \
                 (1), name set (1)",
                "1 contact updated: phone cleared (1)",
            ]
        );
    }

    #[test]
    fn counts_read_with_thousands_separators() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (65_536, "65,536"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), text);
        }
    }
}
