//! The sandbox's portal pages, fetched from a running sandbox that `apply` filled, read with an
//! HTML parser as a browser would: names, numbers, edition marks, a 404, and hostile values that
//! must stay text. And the same pages in headless Chromium, where it is installed (CI installs it).

use std::path::Path;

use reqwest::StatusCode;
use scraper::{ElementRef, Html, Selector};
use slascone_sync::sandbox::SandboxHandle;

use crate::support;

const SCRIPT_NAME: &str = "<script>alert(1)</script>";
const IMG_CITY: &str = "\"><img src=x onerror=alert(1)>";

const MANIFEST: &str = r#"customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    city: Berlin
    contacts:
      - { email: anna@acme.example, name: Anna, surname: Roth, phone: "+49 30 1" }
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        features: { Reporting: true }
        limitations: { Users: 40 }
      - legacy_license_key: SUB-2
        product: Borealis
        edition: Basic
  - customer_number: "X&1 <b>"
    company_name: "<script>alert(1)</script>"
    customer_type: SMB
    country: Austria
    city: "\"><img src=x onerror=alert(1)>"
    contacts:
      - { email: eve@example.com, name: "<script>alert(1)</script>", surname: "\"><img src=x onerror=alert(1)>" }
    licenses:
      - legacy_license_key: "<script>alert(1)</script>"
        product: Argus
        edition: Enterprise
        variables: { Region: "\"><img src=x onerror=alert(1)>" }
"#;

/// A sandbox holding the manifest above, applied by the binary.
async fn filled() -> (SandboxHandle, tempfile::TempDir) {
    let sandbox = support::sandbox().await;
    let dir = support::project(&sandbox, &[("customers.yaml", MANIFEST)], "");
    support::apply_ok(dir.path()).await;
    (sandbox, dir)
}

/// Fetches a page without any key, and checks that it is a complete, locked-down HTML page.
async fn page(base: &str, path: &str) -> (StatusCode, Html) {
    let response = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    assert_eq!(
        headers["content-type"], "text/html; charset=utf-8",
        "{path}"
    );
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let text = response.text().await.unwrap();
    let html = Html::parse_document(&text);
    assert!(html.errors.is_empty(), "{path}: {:?}\n{text}", html.errors);
    // A page without its doctype would be parsed in quirks mode.
    assert_eq!(format!("{:?}", html.quirks_mode), "NoQuirks", "{path}");
    (status, html)
}

fn select<'a>(html: &'a Html, selector: &str) -> Vec<ElementRef<'a>> {
    html.select(&Selector::parse(selector).unwrap()).collect()
}

fn text(element: &ElementRef<'_>) -> String {
    element.text().collect::<String>().trim().to_owned()
}

fn texts(html: &Html, selector: &str) -> Vec<String> {
    select(html, selector).iter().map(text).collect()
}

/// Nothing a value could have injected: no script, image, frame or event handler anywhere.
fn assert_inert(html: &Html) {
    assert!(select(html, "script, img, iframe, object, embed, svg").is_empty());
    for element in select(html, "*") {
        for (name, _) in element.value().attrs() {
            assert!(
                !name.starts_with("on"),
                "an event handler attribute: {name}"
            );
        }
    }
}

/// The cells of the table row whose first cell is `first`.
fn row(html: &Html, table: &str, first: &str) -> Vec<String> {
    select(html, &format!("{table} tr"))
        .into_iter()
        .map(|tr| {
            select_in(&tr, "th, td")
                .iter()
                .map(text)
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.first().map(String::as_str) == Some(first))
        .unwrap_or_else(|| panic!("no row {first} in {table}"))
}

fn select_in<'a>(element: &ElementRef<'a>, selector: &str) -> Vec<ElementRef<'a>> {
    element
        .select(&Selector::parse(selector).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_lists_customers_and_searches_them() {
    let (sandbox, _dir) = filled().await;
    let base = sandbox.base_url();
    support::clear_requests(&sandbox).await;
    let (status, html) = page(&base, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_inert(&html);
    assert_eq!(texts(&html, "h1"), ["Customers"]);
    assert_eq!(
        row(&html, "table.customers", "K001"),
        [
            "K001",
            "Acme GmbH",
            "Enterprise",
            "Germany",
            "2",
            "Analytics · Licenses"
        ]
    );
    assert_eq!(
        row(&html, "table.customers", "X&1 <b>")[..5],
        ["X&1 <b>", SCRIPT_NAME, "SMB", "Austria", "1"]
    );
    let links: Vec<_> = select(&html, "table.customers a")
        .iter()
        .map(|a| a.value().attr("href").unwrap().to_owned())
        .collect();
    assert!(links.contains(&"/customeranalytics?customernumber=K001".to_owned()));
    assert!(links.contains(&"/licenses?customernumber=X%261%20%3Cb%3E".to_owned()));
    // The search is a GET form: no script needed.
    let form = &select(&html, "form")[0];
    assert_eq!(form.value().attr("method"), Some("get"));
    assert_eq!(select_in(form, "input")[0].value().attr("name"), Some("q"));

    let (_, found) = page(&base, "/?q=acme").await;
    assert_eq!(
        texts(&found, "table.customers tbody td:first-child"),
        ["K001"]
    );
    assert_eq!(
        select(&found, "input[name=q]")[0].value().attr("value"),
        Some("acme")
    );
    let (_, hostile) = page(&base, "/?q=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E").await;
    assert_inert(&hostile);
    assert_eq!(
        select(&hostile, "input[name=q]")[0].value().attr("value"),
        Some(IMG_CITY)
    );
    let (_, none) = page(&base, "/?q=nobody").await;
    assert!(select(&none, "table").is_empty());
    assert_eq!(texts(&none, "p.sub"), ["0 customers match “nobody”"]);
    // The pages are no API requests: not logged, no key asked for.
    assert!(support::requests(&sandbox).await.is_empty());
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_page_shows_fields_contacts_and_licenses() {
    let (sandbox, _dir) = filled().await;
    let base = sandbox.base_url();
    let (status, html) = page(&base, "/customeranalytics?customernumber=K001").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(texts(&html, "h1"), ["Acme GmbH"]);
    let fields: Vec<(String, String)> = texts(&html, "dl.fields dt")
        .into_iter()
        .zip(texts(&html, "dl.fields dd"))
        .collect();
    for expected in [
        ("Customer number", "K001"),
        ("Customer type", "Enterprise"),
        ("City", "Berlin"),
        ("Street", "not set"),
        ("Last modified by", "slascone-sync"),
    ] {
        assert!(
            fields.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {fields:?}"
        );
    }
    assert_eq!(
        row(&html, "table.contacts", "Anna"),
        [
            "Anna",
            "Roth",
            "anna@acme.example",
            "+49 30 1",
            "not set",
            "not set",
            "yes",
            "no"
        ]
    );
    let argus = row(&html, "table.licenses", "Argus");
    assert_eq!(
        argus[..6],
        ["Argus", "Professional", "SUB-1", "active", "never", "10"]
    );
    let borealis = row(&html, "table.licenses", "Borealis");
    assert_eq!(borealis[..3], ["Borealis", "Basic", "SUB-2"]);
    let other = &select(&html, "p.sub a")[0];
    assert_eq!(
        other.value().attr("href"),
        Some("/licenses?customernumber=K001")
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_licenses_page_marks_what_the_edition_gives() {
    let (sandbox, _dir) = filled().await;
    let base = sandbox.base_url();
    let (status, html) = page(&base, "/licenses?customernumber=K001").await;
    assert_eq!(status, StatusCode::OK);
    let sections = select(&html, "section.license");
    assert_eq!(sections.len(), 2);
    // Sections are in creation order, which apply does not fix.
    let argus = sections
        .iter()
        .find(|section| text(&select_in(section, "h2")[0]).starts_with("Argus"))
        .unwrap();
    assert_eq!(
        text(&select_in(argus, "h2")[0]),
        "Argus · Professional · SUB-1"
    );
    let rows: Vec<Vec<String>> = select_in(argus, "tr")
        .iter()
        .map(|tr| select_in(tr, "th, td").iter().map(text).collect())
        .collect();
    let find = |first: &str| {
        rows.iter()
            .find(|cells| cells[0] == first)
            .unwrap_or_else(|| panic!("no row {first}: {rows:?}"))
            .clone()
    };
    assert_eq!(find("Token limit"), ["Token limit", "10", "edition"]);
    assert_eq!(
        find("License type"),
        ["License type", "Commercial", "edition"]
    );
    assert_eq!(find("Export"), ["Export", "yes", "edition"]);
    assert_eq!(find("Reporting"), ["Reporting", "yes", "set on license"]);
    assert_eq!(find("Users"), ["Users", "40", "disabled", "set on license"]);
    assert_eq!(find("Projects"), ["Projects", "100", "disabled", "edition"]);
    assert_eq!(find("Region"), ["Region", "EU", "edition"]);
    assert_eq!(
        find("Release limitation"),
        ["Release limitation", "no limit", ""]
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_are_text_on_every_page() {
    let (sandbox, _dir) = filled().await;
    let base = sandbox.base_url();
    let number = "X%261%20%3Cb%3E";
    let (status, customer) = page(
        &base,
        &format!("/customeranalytics?customernumber={number}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_inert(&customer);
    assert_eq!(texts(&customer, "h1"), [SCRIPT_NAME]);
    assert_eq!(
        texts(&customer, "title"),
        [format!("{SCRIPT_NAME} · SLASCONE sandbox")]
    );
    assert_eq!(texts(&customer, "code.number"), ["X&1 <b>"]);
    let city = texts(&customer, "dl.fields dd");
    assert!(city.contains(&IMG_CITY.to_owned()), "{city:?}");
    assert_eq!(row(&customer, "table.contacts", SCRIPT_NAME)[1], IMG_CITY);
    assert_eq!(row(&customer, "table.licenses", "Argus")[2], SCRIPT_NAME);

    let (status, licenses) = page(&base, &format!("/licenses?customernumber={number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_inert(&licenses);
    assert_eq!(
        texts(&licenses, "section.license h2"),
        [format!("Argus · Enterprise · {SCRIPT_NAME}")]
    );
    assert_eq!(
        row(&licenses, "section.license", "Region"),
        ["Region", IMG_CITY, "set on license"]
    );
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_missing_customer_number_says_so() {
    let (sandbox, _dir) = filled().await;
    let base = sandbox.base_url();
    for path in ["customeranalytics", "licenses"] {
        let (status, html) = page(&base, &format!("/{path}?customernumber=%3Cscript%3EK9")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_inert(&html);
        assert_eq!(texts(&html, "h1"), ["Unknown customer"]);
        assert_eq!(
            texts(&html, "p.missing"),
            ["No customer has the number <script>K9. All customers"]
        );
        let (status, html) = page(&base, &format!("/{path}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(texts(&html, "h1"), ["Which customer?"]);
    }
    // The API keeps its own 404 and key.
    let api = reqwest::get(format!("{base}{}", support::api("/customers")))
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let stylesheet = reqwest::get(format!("{base}/_sandbox/portal.css"))
        .await
        .unwrap();
    assert_eq!(
        stylesheet.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    sandbox.shutdown().await;
}

// ---- headless Chromium ----------------------------------------------------------------------

/// The Chromium binary, if installed. Where the linters are required (CI), a missing one fails.
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|name| {
        std::process::Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("SLASCONE_SYNC_LINTERS").as_deref() != Ok("required"),
            "chromium is not installed (SLASCONE_SYNC_LINTERS=required); .ci/run installs it"
        );
        eprintln!("skipped: chromium is not installed");
    }
    found
}

/// The DOM Chromium renders for `url`.
async fn rendered(chromium: &str, url: &str, profile: &Path) -> Html {
    let mut command = std::process::Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--timeout=60000")
        .arg("--dump-dom")
        .arg(url)
        .stdin(std::process::Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("chromium runs");
    assert!(output.status.success(), "{output:?}");
    Html::parse_document(&String::from_utf8_lossy(&output.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_index_and_a_customer_page() {
    let Some(chromium) = chromium() else {
        return;
    };
    let (sandbox, _dir) = filled().await;
    let base = sandbox.base_url();
    let profile = tempfile::tempdir().unwrap();
    let index = rendered(chromium, &format!("{base}/"), profile.path()).await;
    assert_eq!(texts(&index, "h1"), ["Customers"]);
    assert_eq!(texts(&index, "table.customers tbody tr").len(), 2);
    assert_inert(&index);
    let customer = rendered(
        chromium,
        &format!("{base}/customeranalytics?customernumber=X%261%20%3Cb%3E"),
        profile.path(),
    )
    .await;
    // Had the name run as a script, the DOM would hold a script element and lack the text.
    assert_eq!(texts(&customer, "h1"), [SCRIPT_NAME]);
    assert_eq!(row(&customer, "table.contacts", SCRIPT_NAME)[1], IMG_CITY);
    assert_inert(&customer);
    sandbox.shutdown().await;
}
