//! The catalog file's shape as YAML gives it, with positions for the errors, and the checks that
//! need only the file: unique names, and edition entries that name what their product declares.

use std::collections::{HashMap, HashSet};

use anyhow::bail;
use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CatalogFile {
    #[serde(default)]
    pub(super) customer_types: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) license_types: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) products: Vec<ProductDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProductDef {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) features: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) limitations: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) variables: Vec<Spanned<String>>,
    /// The product's releases a license may be limited to, by version (`3.2`).
    #[serde(default)]
    pub(super) software_releases: Vec<Spanned<String>>,
    /// Name → the values its custom list allows.
    #[serde(default)]
    pub(super) constrained_variables: Option<Spanned<EntryMap<Vec<String>>>>,
    #[serde(default)]
    pub(super) editions: Vec<EditionDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EditionDef {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) token_limit: i64,
    #[serde(default)]
    pub(super) goodwill_token_limit: Option<i64>,
    #[serde(default)]
    pub(super) floating_token_limit: Option<i64>,
    #[serde(default)]
    pub(super) user_limit: Option<i64>,
    #[serde(default)]
    pub(super) license_type: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) expires: Option<Spanned<ExpiresDef>>,
    #[serde(default)]
    pub(super) features: Option<Spanned<EntryMap<bool>>>,
    #[serde(default)]
    pub(super) limitations: Option<Spanned<EntryMap<LimitationDef>>>,
    #[serde(default)]
    pub(super) variables: Option<Spanned<EntryMap<String>>>,
    #[serde(default)]
    pub(super) constrained_variables: Option<Spanned<EntryMap<Vec<String>>>>,
    /// The release (one of the product's `software_releases`) the edition limits licenses to.
    #[serde(default)]
    pub(super) software_release: Option<Spanned<String>>,
    /// Whether the edition's licenses are temporary.
    #[serde(default)]
    pub(super) temporary: bool,
}

/// An edition's limitation: its limit, or its limit and how consumption resets.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum LimitationDef {
    Limit(i64),
    Detailed(DetailedLimitation),
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DetailedLimitation {
    pub(super) limit: i64,
    #[serde(default)]
    pub(super) consumption_reset: Option<ResetDef>,
}

/// `ConsumptionResetPeriod` (0 Disabled, 1 Never, 2 Periodically, 3 FirstDayOfMonth,
/// 4 FirstDayEachQuarter, 5 FirstDayOfYear) and, for a periodic reset, its period in days.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResetDef {
    pub(super) mode: i32,
    #[serde(default)]
    pub(super) period_days: Option<i32>,
}

pub(super) type EntryMap<V> = std::collections::BTreeMap<String, V>;

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ExpiresDef {
    Text(String),
    After(DaysAfter),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DaysAfter {
    pub(super) days_after_activation: i64,
}

pub(super) fn at<T>(file: &str, spanned: &Spanned<T>) -> String {
    format!(
        "{file}:{}:{}",
        spanned.referenced.line(),
        spanned.referenced.column()
    )
}

/// Checks that the names of one list are unique and returns them in order.
pub(super) fn unique_names<'a>(
    file: &str,
    what: &str,
    names: impl IntoIterator<Item = &'a Spanned<String>>,
) -> anyhow::Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for name in names {
        if name.value.trim().is_empty() {
            bail!("{}: a {what} name must not be empty", at(file, name));
        }
        if !seen.insert(name.value.clone()) {
            bail!("{}: duplicate {what} `{}`", at(file, name), name.value);
        }
        out.push(name.value.clone());
    }
    Ok(out)
}

/// Resolves the entries of one edition map against the names its product declares.
pub(super) fn entries<V: Clone>(
    file: &str,
    what: &str,
    product: &str,
    map: Option<&Spanned<EntryMap<V>>>,
    declared: &[String],
) -> anyhow::Result<HashMap<String, V>> {
    let mut out = HashMap::new();
    if let Some(map) = map {
        for (name, value) in &map.value {
            if !declared.contains(name) {
                bail!(
                    "{}: product `{product}` declares no {what} `{name}` (it has: {})",
                    at(file, map),
                    if declared.is_empty() {
                        "none".to_owned()
                    } else {
                        declared.join(", ")
                    }
                );
            }
            out.insert(name.clone(), value.clone());
        }
    }
    Ok(out)
}
