//! The pages: the customer index, a customer's analytics page, its licenses page, and the pages
//! that say a customer is unknown or not named.

use uuid::Uuid;

use super::html::Html;
use crate::remote::wire::{LicenseDto, TemplateDto, Text, expiration_mode};
use crate::sandbox::catalog::{Catalog, Product};
use crate::sandbox::store::Store;

/// Rows the index shows at most; a search narrows the rest.
const INDEX_ROWS: usize = 500;

pub(crate) fn index(catalog: &Catalog, store: &Store, search: &str) -> String {
    let needle = search.trim().to_lowercase();
    let matches = |text: Option<&str>| text.is_some_and(|t| t.to_lowercase().contains(&needle));
    let mut html = Html::page("Customers", search);
    html.element("h1", "Customers");
    let mut found: Vec<_> = store
        .customers()
        .iter()
        .filter(|c| {
            needle.is_empty()
                || matches(c.customer_number.as_deref())
                || matches(c.company_name.as_deref())
        })
        .collect();
    // By number, as people look for them; creation order depends on how a sync ran.
    found.sort_by(|a, b| a.customer_number.cmp(&b.customer_number));
    html.raw("<p class=\"sub\">");
    match (needle.is_empty(), found.len()) {
        (true, 1) => html.raw("1 customer"),
        (true, n) => html.display(n).raw(" customers"),
        (false, 1) => html
            .raw("1 customer matches “")
            .text(search.trim())
            .raw("”"),
        (false, n) => html
            .display(n)
            .raw(" customers match “")
            .text(search.trim())
            .raw("”"),
    };
    if found.len() > INDEX_ROWS {
        html.raw("; the first ")
            .display(INDEX_ROWS)
            .raw(" are shown, search to narrow them down");
    }
    html.raw("</p>\n");
    if found.is_empty() {
        return html.finish();
    }
    html.raw("<table class=\"customers\">\n<thead><tr><th>Customer number</th><th>Name</th>");
    html.raw(
        "<th>Type</th><th>Country</th><th>Licenses</th><th>Pages</th></tr></thead>\n<tbody>\n",
    );
    for customer in found.into_iter().take(INDEX_ROWS) {
        html.raw("<tr><td>");
        optional(&mut html, customer.customer_number.as_deref());
        html.raw("</td><td>");
        optional(&mut html, customer.company_name.as_deref());
        html.raw("</td><td>");
        optional(&mut html, customer_type(catalog, customer).as_deref());
        html.raw("</td><td>");
        optional(&mut html, customer.country.as_deref());
        html.raw("</td><td class=\"num\">");
        html.display(store.license_count(customer.id));
        html.raw("</td><td>");
        match customer
            .customer_number
            .as_deref()
            .filter(|n| !n.is_empty())
        {
            Some(number) => {
                html.customer_link("customeranalytics", number, "Analytics");
                html.raw(" · ");
                html.customer_link("licenses", number, "Licenses");
            }
            None => {
                html.raw("<span class=\"none\">no customer number</span>");
            }
        }
        html.raw("</td></tr>\n");
    }
    html.raw("</tbody>\n</table>\n");
    html.finish()
}

pub(crate) fn no_number() -> String {
    let mut html = Html::page("Which customer?", "");
    html.element("h1", "Which customer?");
    html.raw("<p>This page shows one customer: add <code>?customernumber=</code> and its ");
    html.raw("number, or pick one from <a href=\"/\">the customers</a>.</p>\n");
    html.finish()
}

pub(crate) fn unknown_customer(number: &str) -> String {
    let mut html = Html::page("Unknown customer", number);
    html.element("h1", "Unknown customer");
    html.raw("<p class=\"missing\">No customer has the number <code>");
    html.text(number);
    html.raw("</code>. <a href=\"/\">All customers</a></p>\n");
    html.finish()
}

fn optional(html: &mut Html, value: Option<&str>) {
    match value.filter(|v| !v.is_empty()) {
        Some(value) => html.text(value),
        None => html.raw("<span class=\"none\">not set</span>"),
    };
}

fn customer_type(catalog: &Catalog, customer: &crate::remote::wire::CustomerDto) -> Option<String> {
    let stored = customer.customer_type.as_ref()?;
    catalog
        .customer_type(stored.id)
        .and_then(|t| t.customer_type_name.clone())
        .or_else(|| stored.customer_type_name.clone())
}

/// `<dt>name</dt><dd>value</dd>`.
fn field(html: &mut Html, name: &'static str, value: Option<&str>) {
    html.raw("<dt>").raw(name).raw("</dt><dd>");
    optional(html, value);
    html.raw("</dd>\n");
}

/// The heading of a customer's pages, with the link to the other one.
fn customer_heading(
    html: &mut Html,
    customer: &crate::remote::wire::CustomerDto,
    number: &str,
    other: (&'static str, &'static str),
) {
    html.element(
        "h1",
        customer
            .company_name
            .as_deref()
            .unwrap_or("(no company name)"),
    );
    html.raw("<p class=\"sub\">Customer <code class=\"number\">");
    html.text(number);
    html.raw("</code> · ");
    html.customer_link(other.0, number, other.1);
    html.raw("</p>\n");
}

pub(crate) fn customer(catalog: &Catalog, store: &Store, pos: usize) -> String {
    let customer = store.customer(pos);
    let number = customer.customer_number.clone().unwrap_or_default();
    let title = customer.company_name.as_deref().unwrap_or(&number);
    let mut html = Html::page(title, "");
    customer_heading(
        &mut html,
        customer,
        &number,
        ("licenses", "Licenses in detail"),
    );

    html.element("h2", "Customer");
    html.raw("<dl class=\"fields\">\n");
    field(
        &mut html,
        "Customer number",
        customer.customer_number.as_deref(),
    );
    field(&mut html, "Company name", customer.company_name.as_deref());
    field(
        &mut html,
        "Customer type",
        customer_type(catalog, customer).as_deref(),
    );
    field(&mut html, "E-mail", customer.email.as_deref());
    field(&mut html, "Street", customer.street.as_deref());
    field(&mut html, "Postal code", customer.postalcode.as_deref());
    field(&mut html, "City", customer.city.as_deref());
    field(&mut html, "Country", customer.country.as_deref());
    field(&mut html, "Phone", customer.phone.as_deref());
    field(
        &mut html,
        "Prospect number",
        customer.prospect_number.as_deref(),
    );
    if let (Some(lat), Some(lon)) = (customer.latitude, customer.longitude) {
        field(&mut html, "Location", Some(&format!("{lat}, {lon}")));
    }
    let reseller = customer.reseller_id.map(|id| id.to_string());
    field(&mut html, "Reseller", reseller.as_deref());
    field(&mut html, "Id", Some(&customer.id.to_string()));
    field(&mut html, "Created", customer.created_date_utc.as_deref());
    field(&mut html, "Modified", customer.modified_date_utc.as_deref());
    field(
        &mut html,
        "Last modified by",
        customer.last_modified_by.as_deref(),
    );
    html.raw("</dl>\n");

    html.element("h2", "Contacts");
    let contacts: Vec<_> = store.contacts_of(customer.id).collect();
    if contacts.is_empty() {
        html.raw("<p class=\"none\">No contacts.</p>\n");
    } else {
        html.raw("<table class=\"contacts\">\n<thead><tr><th>Name</th><th>Surname</th>");
        html.raw("<th>E-mail</th><th>Phone</th><th>Mobile</th><th>Language</th>");
        html.raw("<th>Active</th><th>Portal user</th></tr></thead>\n<tbody>\n");
        for contact in contacts {
            html.raw("<tr><td>").text(&contact.name).raw("</td><td>");
            html.text(&contact.surname).raw("</td><td>");
            html.text(&contact.email).raw("</td><td>");
            optional(&mut html, contact.phone.as_deref());
            html.raw("</td><td>");
            optional(&mut html, contact.mobile.as_deref());
            html.raw("</td><td>");
            optional(&mut html, contact.language.as_deref());
            html.raw("</td><td>");
            html.raw(yes_no(contact.is_active.unwrap_or(true)));
            html.raw("</td><td>");
            html.raw(yes_no(contact.is_customer_portal_user.unwrap_or(false)));
            html.raw("</td></tr>\n");
        }
        html.raw("</tbody>\n</table>\n");
    }

    html.element("h2", "Licenses");
    let licenses: Vec<_> = store.licenses_of(customer.id).collect();
    if licenses.is_empty() {
        html.raw("<p class=\"none\">No licenses.</p>\n");
        return html.finish();
    }
    html.raw("<table class=\"licenses\">\n<thead><tr><th>Product</th><th>Edition</th>");
    html.raw("<th>License key</th><th>State</th><th>Expires</th><th>Token limit</th>");
    html.raw("<th>Floating tokens</th><th>User limit</th><th>In use</th></tr></thead>\n<tbody>\n");
    for license in licenses {
        let (product, template) = edition_of(catalog, license);
        html.raw("<tr><td>");
        optional(&mut html, product.map(|p| p.dto.name.as_str()));
        html.raw("</td><td>");
        optional(&mut html, template.map(|t| t.name.as_str()));
        html.raw("</td><td><code>");
        optional(&mut html, license.legacy_license_key.as_deref());
        html.raw("</code></td><td>");
        state(&mut html, license);
        html.raw("</td><td>").text(&expiry(license)).raw("</td>");
        html.raw("<td class=\"num\">").display(license.token_limit);
        html.raw("</td><td class=\"num\">");
        limit(&mut html, license.floating_token_limit);
        html.raw("</td><td class=\"num\">");
        limit(&mut html, license.user_limit);
        html.raw("</td><td>");
        let usage = store.usage(license.id);
        html.display(usage.tokens).raw(" tokens, ");
        html.text(&in_use(usage.users)).raw(" users, ");
        html.text(&in_use(usage.floating_tokens)).raw(" floating");
        html.raw("</td></tr>\n");
    }
    html.raw("</tbody>\n</table>\n");
    html.finish()
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn limit(html: &mut Html, value: Option<i64>) {
    match value {
        Some(value) => html.display(value),
        None => html.raw("<span class=\"none\">none</span>"),
    };
}

fn edition_of<'c>(
    catalog: &'c Catalog,
    license: &LicenseDto,
) -> (Option<&'c Product>, Option<&'c TemplateDto>) {
    let product = catalog.product(license.product_id);
    let template = product.and_then(|p| p.template(license.template_id));
    (product, template)
}

/// Active, inactive, or expired (an active license whose expiration date has passed).
fn state(html: &mut Html, license: &LicenseDto) {
    let expired = license.expiration_mode == Some(expiration_mode::DATE)
        && license
            .expiration_date_utc
            .as_deref()
            .and_then(|d| d.parse::<jiff::Timestamp>().ok())
            .is_some_and(|d| d < jiff::Timestamp::now());
    let class = match license.is_active {
        Some(false) => "inactive",
        _ if expired => "expired",
        _ => "active",
    };
    html.raw("<span class=\"state ")
        .raw(class)
        .raw("\">")
        .raw(class)
        .raw("</span>");
    if license.is_temporary == Some(true) {
        html.raw(" <span class=\"state inactive\">temporary</span>");
    }
}

fn expiry(license: &LicenseDto) -> String {
    let date = license
        .expiration_date_utc
        .as_deref()
        .map(|d| d.get(..10).unwrap_or(d).to_owned());
    match license.expiration_mode {
        Some(expiration_mode::NEVER) => "never".to_owned(),
        Some(expiration_mode::DAYS_AFTER_ACTIVATION) => format!(
            "{} days after activation",
            license.valid_days_count.unwrap_or_default()
        ),
        _ => date.unwrap_or_else(|| "not set".to_owned()),
    }
}

/// SLASCONE's `ConsumptionResetPeriod`.
fn reset_mode(mode: i32, period_days: Option<i32>) -> String {
    match mode {
        0 => "disabled".to_owned(),
        1 => "never".to_owned(),
        2 => match period_days {
            Some(days) => format!("every {days} days"),
            None => "periodically".to_owned(),
        },
        3 => "first day of each month".to_owned(),
        4 => "first day of each quarter".to_owned(),
        5 => "first day of each year".to_owned(),
        other => format!("mode {other}"),
    }
}

/// Where a value comes from: the edition when it equals the edition's, the license otherwise.
fn origin(html: &mut Html, from_edition: Option<bool>) {
    match from_edition {
        Some(true) => html.raw("<span class=\"origin edition\">edition</span>"),
        Some(false) => html.raw("<span class=\"origin license\">set on license</span>"),
        None => html,
    };
}

/// One row of a license's properties: name, value, and where it comes from.
fn property(html: &mut Html, name: &'static str, value: &str, from_edition: Option<bool>) {
    html.raw("<tr><th scope=\"row\">")
        .raw(name)
        .raw("</th><td>");
    if value.is_empty() {
        html.raw("<span class=\"none\">not set</span>");
    } else {
        html.text(value);
    }
    html.raw("</td><td>");
    origin(html, from_edition);
    html.raw("</td></tr>\n");
}

fn number(value: Option<i64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

pub(crate) fn licenses(catalog: &Catalog, store: &Store, pos: usize) -> String {
    let customer = store.customer(pos);
    let number_text = customer.customer_number.clone().unwrap_or_default();
    let title = format!(
        "Licenses of {}",
        customer.company_name.as_deref().unwrap_or(&number_text)
    );
    let mut html = Html::page(&title, "");
    customer_heading(
        &mut html,
        customer,
        &number_text,
        ("customeranalytics", "Customer"),
    );
    let licenses: Vec<_> = store.licenses_of(customer.id).collect();
    if licenses.is_empty() {
        html.raw("<p class=\"none\">No licenses.</p>\n");
        return html.finish();
    }
    for license in licenses {
        license_section(&mut html, catalog, store, license);
    }
    html.finish()
}

fn license_section(html: &mut Html, catalog: &Catalog, store: &Store, license: &LicenseDto) {
    let (product, template) = edition_of(catalog, license);
    html.raw("<section class=\"license\">\n<h2>");
    html.text(product.map_or("(unknown product)", |p| p.dto.name.as_str()));
    html.raw(" · ");
    html.text(template.map_or("(unknown edition)", |t| t.name.as_str()));
    html.raw(" · <code>");
    html.text(license.legacy_license_key.as_deref().unwrap_or("no key"));
    html.raw("</code></h2>\n<p class=\"sub\">");
    state(html, license);
    html.raw("</p>\n");
    let same = |equal: bool| template.map(|_| equal);

    html.raw("<table class=\"properties\">\n<thead><tr><th>Property</th><th>Value</th>");
    html.raw("<th>From</th></tr></thead>\n<tbody>\n");
    let type_name = |id: Option<Uuid>| {
        id.and_then(|id| catalog.license_type(id))
            .and_then(|t| t.name.clone())
            .unwrap_or_default()
    };
    property(html, "Name", license.name.as_deref().unwrap_or(""), None);
    property(
        html,
        "Description",
        license.description.as_deref().unwrap_or(""),
        None,
    );
    property(
        html,
        "License type",
        &type_name(license.license_type_id),
        same(template.is_some_and(|t| t.license_type_id == license.license_type_id)),
    );
    property(
        html,
        "Token limit",
        &license.token_limit.to_string(),
        same(template.is_some_and(|t| t.token_limit == license.token_limit)),
    );
    for (name, value, edition) in [
        (
            "Goodwill token limit",
            license.goodwill_token_limit,
            template.map(|t| t.goodwill_token_limit),
        ),
        (
            "Floating token limit",
            license.floating_token_limit,
            template.map(|t| t.floating_token_limit),
        ),
        (
            "User limit",
            license.user_limit,
            template.map(|t| t.user_limit),
        ),
    ] {
        property(html, name, &number(value), edition.map(|e| e == value));
    }
    property(
        html,
        "Expires",
        &expiry(license),
        same(template.is_some_and(|t| {
            t.expiration_mode == license.expiration_mode
                && t.expiration_date_utc == license.expiration_date_utc
                && Some(t.valid_days_count) == license.valid_days_count
        })),
    );
    property(
        html,
        "Trial days",
        &number(license.trial_days_count),
        same(template.is_some_and(|t| Some(t.trial_days_count) == license.trial_days_count)),
    );
    property(
        html,
        "Start date",
        license.start_date_utc.as_deref().unwrap_or(""),
        None,
    );
    property(
        html,
        "Active",
        yes_no(license.is_active.unwrap_or(true)),
        None,
    );
    property(
        html,
        "Temporary",
        yes_no(license.is_temporary.unwrap_or(false)),
        same(template.is_some_and(|t| Some(t.is_temporary) == license.is_temporary)),
    );
    let release = match license.software_release() {
        None => "no limit".to_owned(),
        Some(id) => product
            .and_then(|p| p.software_release(id))
            .and_then(|r| r.software_release.clone())
            .unwrap_or_else(|| id.to_string()),
    };
    property(html, "Release limitation", &release, None);
    let usage = store.usage(license.id);
    let shown = format!(
        "{} tokens, {} users, {} floating tokens",
        usage.tokens,
        in_use(usage.users),
        in_use(usage.floating_tokens)
    );
    property(html, "In use", &shown, None);
    property(html, "Id", &license.id.to_string(), None);
    property(
        html,
        "Modified",
        license.modified_date_utc.as_deref().unwrap_or(""),
        None,
    );
    html.raw("</tbody>\n</table>\n");
    entries(html, product, template, license);
    html.raw("</section>\n");
}

/// The features, limitations, variables and constrained variables, each marked with where it
/// comes from.
fn entries(
    html: &mut Html,
    product: Option<&Product>,
    template: Option<&TemplateDto>,
    license: &LicenseDto,
) {
    let name = |stored: &Option<Text>, catalog_name: Option<&str>, id: Uuid| {
        stored
            .as_deref()
            .or(catalog_name)
            .map_or_else(|| id.to_string(), str::to_owned)
    };

    html.element("h3", "Features");
    let features = license.license_features.as_deref().unwrap_or_default();
    table_start(html, features.is_empty(), "Feature", "Enabled");
    for f in features {
        let label = name(
            &f.feature_name,
            product
                .and_then(|p| p.feature(f.feature_id))
                .map(|x| x.name.as_str()),
            f.feature_id,
        );
        let edition = template.map(|t| {
            t.features
                .iter()
                .flatten()
                .any(|e| e.feature_id == f.feature_id && e.is_active == f.is_active)
        });
        row(html, &label, yes_no(f.is_active), edition);
    }
    table_end(html, features.is_empty());

    html.element("h3", "Limitations");
    let limitations = license.license_limitations.as_deref().unwrap_or_default();
    html.raw(if limitations.is_empty() {
        "<p class=\"none\">None.</p>\n"
    } else {
        "<table class=\"limitations\">\n<thead><tr><th>Limitation</th><th>Limit</th>\
         <th>Consumption reset</th><th>From</th></tr></thead>\n<tbody>\n"
    });
    for l in limitations {
        let label = name(
            &l.limitation_name,
            product
                .and_then(|p| p.limitation(l.limitation_id))
                .map(|x| x.name.as_str()),
            l.limitation_id,
        );
        let edition = template.map(|t| {
            t.limitations.iter().flatten().any(|e| {
                e.limitation_id == l.limitation_id
                    && e.limit == l.limit
                    && e.consumption_reset_mode == l.consumption_reset_mode
                    && e.consumption_reset_period_days == l.consumption_reset_period_days
            })
        });
        html.raw("<tr><td>")
            .text(&label)
            .raw("</td><td class=\"num\">");
        limit(html, l.limit);
        html.raw("</td><td>");
        html.text(&reset_mode(
            l.consumption_reset_mode,
            l.consumption_reset_period_days,
        ));
        html.raw("</td><td>");
        origin(html, edition);
        html.raw("</td></tr>\n");
    }
    table_end(html, limitations.is_empty());

    html.element("h3", "Variables");
    let variables = license.license_variables.as_deref().unwrap_or_default();
    table_start(html, variables.is_empty(), "Variable", "Value");
    for v in variables {
        let label = name(
            &v.variable_name,
            product
                .and_then(|p| p.variable(v.variable_id))
                .map(|x| x.name.as_str()),
            v.variable_id,
        );
        let edition = template.map(|t| {
            t.variables
                .iter()
                .flatten()
                .any(|e| e.variable_id == v.variable_id && e.value == v.value)
        });
        row(html, &label, v.value.as_deref().unwrap_or(""), edition);
    }
    table_end(html, variables.is_empty());

    html.element("h3", "Constrained variables");
    let constrained = license
        .license_constrained_variables
        .as_deref()
        .unwrap_or_default();
    table_start(html, constrained.is_empty(), "Variable", "Values");
    for v in constrained {
        let label = name(
            &v.variable_name,
            product
                .and_then(|p| p.constrained_variable(v.variable_id))
                .map(|x| x.name.as_str()),
            v.variable_id,
        );
        let edition = template.map(|t| {
            t.constrained_variables
                .iter()
                .flatten()
                .any(|e| e.variable_id == v.variable_id && e.values == v.values)
        });
        let values = v.values.as_deref().unwrap_or_default().join(", ");
        row(html, &label, &values, edition);
    }
    table_end(html, constrained.is_empty());
}

fn table_start(html: &mut Html, empty: bool, name: &'static str, value: &'static str) {
    if empty {
        html.raw("<p class=\"none\">None.</p>\n");
        return;
    }
    html.raw("<table>\n<thead><tr><th>")
        .raw(name)
        .raw("</th><th>")
        .raw(value);
    html.raw("</th><th>From</th></tr></thead>\n<tbody>\n");
}

fn row(html: &mut Html, name: &str, value: &str, edition: Option<bool>) {
    html.raw("<tr><td>")
        .text(name)
        .raw("</td><td>")
        .text(value)
        .raw("</td><td>");
    origin(html, edition);
    html.raw("</td></tr>\n");
}

fn table_end(html: &mut Html, empty: bool) {
    if !empty {
        html.raw("</tbody>\n</table>\n");
    }
}

/// A count SLASCONE may leave unsaid (null), as the pages show it.
fn in_use(count: Option<u32>) -> String {
    count.map_or_else(|| "unknown".to_owned(), |n| n.to_string())
}
