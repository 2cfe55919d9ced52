//! The API client against the sandbox over real HTTP: every call, every error path, retries,
//! both PATCH semantics, both page bases, and persistence.

use std::time::Duration;

use axum::Router;
use axum::routing::post;
use slascone_sync::cli::PatchSemantics;
use slascone_sync::remote::ApiError;
use slascone_sync::remote::wire::ServerStamped;
use slascone_sync::remote::wire::*;
use uuid::Uuid;

use crate::support::{self, ISV, KEY, api};

fn add_customer(number: &str) -> DataExchangeAddCustomerDto {
    DataExchangeAddCustomerDto {
        customer_number: number.into(),
        customer_name: format!("Company {number}"),
        customer_type: "Enterprise".into(),
        country: "Germany".into(),
        city: Some("Berlin".into()),
        ..DataExchangeAddCustomerDto::default()
    }
}

struct Argus {
    product: ProductDto,
    detail: ProductDetailsDto,
    editions: Vec<TemplateDto>,
}

async fn argus(client: &slascone_sync::remote::Client) -> Argus {
    let products = client.products().await.unwrap();
    let product = products.into_iter().find(|p| p.name == "Argus").unwrap();
    let detail = client.product_detail(product.id).await.unwrap();
    let editions = client.templates(product.id).await.unwrap();
    Argus {
        product,
        detail,
        editions,
    }
}

fn new_license(argus: &Argus, customer_id: Uuid, legacy: &str) -> LicenseDto {
    let professional = argus
        .editions
        .iter()
        .find(|e| e.name == "Professional")
        .unwrap();
    LicenseDto {
        customer_id,
        product_id: argus.product.id,
        template_id: professional.id,
        legacy_license_key: Some(legacy.into()),
        token_limit: 10,
        is_active: Some(true),
        expiration_mode: Some(expiration_mode::NEVER),
        ..LicenseDto::default()
    }
}

#[tokio::test]
async fn reads_the_catalog() {
    let sandbox = support::sandbox().await;
    let client = support::client(&sandbox);
    let types = client.customer_types().await.unwrap();
    let mut names: Vec<_> = types
        .iter()
        .filter_map(|t| t.customer_type_name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["Enterprise", "SMB"]);
    let license_types = client.license_types().await.unwrap();
    assert_eq!(license_types.len(), 2);
    let argus = argus(&client).await;
    let features: Vec<_> = argus
        .detail
        .features
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(features.len(), 3);
    assert!(features.contains(&"Export".to_string()));
    assert_eq!(argus.editions.len(), 2);
    let professional = argus
        .editions
        .iter()
        .find(|e| e.name == "Professional")
        .unwrap();
    assert_eq!(professional.token_limit, 10);
    let users = professional
        .limitations
        .as_ref()
        .unwrap()
        .iter()
        .find(|l| l.limitation_name.as_deref() == Some("Users"))
        .unwrap();
    assert_eq!(users.limit, Some(25));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn customers_in_both_families() {
    let sandbox = support::sandbox().await;
    let client = support::client(&sandbox);

    // By customer number (data_exchange).
    let created = client
        .create_customer_by_number(&add_customer("K001"))
        .await
        .unwrap()
        .expect("an answer with a body");
    assert_eq!(created.company_name.as_deref(), Some("Company K001"));
    assert_eq!(created.postalcode, None);
    let update = DataExchangeUpdateCustomerDto {
        customer_number: "K001".into(),
        zip: Some("10115".into()),
        ..DataExchangeUpdateCustomerDto::default()
    };
    let updated = client
        .update_customer_by_number(&update)
        .await
        .unwrap()
        .expect("an answer with a body");
    assert_eq!(updated.postalcode.as_deref(), Some("10115"));
    assert_eq!(
        updated.city.as_deref(),
        Some("Berlin"),
        "data_exchange PATCH merges"
    );
    assert_eq!(updated.last_modified_by.as_deref(), Some("slascone-sync"));

    // By id.
    let types = client.customer_types().await.unwrap();
    let id = Uuid::from_u128(42);
    let customer = CustomerDto {
        id,
        company_name: Some("Globex".into()),
        customer_type: Some(types[0].clone()),
        country: Some("Austria".into()),
        ..CustomerDto::default()
    };
    assert_eq!(
        client
            .create_customer(&customer)
            .await
            .unwrap()
            .expect("an answer with a body")
            .id,
        id,
        "a given id is kept"
    );
    let mut changed = client.get_customer(id).await.unwrap().unwrap();
    changed.email = Some("it@globex.example".into());
    changed.clear_server_fields();
    client
        .update_customer(&changed)
        .await
        .unwrap()
        .expect("an answer with a body");

    let by_number = client
        .get_customer_by_number("K001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_number.id, created.id);
    assert!(
        client
            .get_customer_by_number("K404")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        client
            .get_customer(Uuid::from_u128(404))
            .await
            .unwrap()
            .is_none()
    );
    let all = client.list_customers().await.unwrap();
    assert_eq!(all.len(), 2);
    let globex = all.iter().find(|c| c.id == id).unwrap();
    assert_eq!(globex.email.as_deref(), Some("it@globex.example"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn business_errors_carry_slascone_ids() {
    let sandbox = support::sandbox().await;
    let client = support::client(&sandbox);
    client
        .create_customer_by_number(&add_customer("K001"))
        .await
        .unwrap()
        .expect("an answer with a body");

    let cases = [
        (add_customer("K001"), 4002),
        (
            DataExchangeAddCustomerDto {
                country: "Atlantis".into(),
                ..add_customer("K002")
            },
            9000,
        ),
        (
            DataExchangeAddCustomerDto {
                customer_type: "Galactic".into(),
                ..add_customer("K003")
            },
            9001,
        ),
        (
            DataExchangeAddCustomerDto {
                customer_name: String::new(),
                ..add_customer("K004")
            },
            9002,
        ),
    ];
    for (body, expected) in cases {
        let err = client.create_customer_by_number(&body).await.unwrap_err();
        assert_eq!(err.business_id(), Some(expected), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("SLASCONE error {expected}")),
            "{text}"
        );
        assert!(
            text.contains("POST /api/v2/isv/"),
            "names the request: {text}"
        );
    }
    let unknown = DataExchangeUpdateCustomerDto {
        customer_number: "K404".into(),
        city: Some("Nowhere".into()),
        ..DataExchangeUpdateCustomerDto::default()
    };
    let err = client
        .update_customer_by_number(&unknown)
        .await
        .unwrap_err();
    assert_eq!(err.business_id(), Some(4000));

    let argus = argus(&client).await;
    let customer = client
        .get_customer_by_number("K001")
        .await
        .unwrap()
        .unwrap();
    client
        .create_license(&new_license(&argus, customer.id, "SUB-1"))
        .await
        .unwrap()
        .expect("an answer with a body");
    let err = client
        .create_license(&new_license(&argus, customer.id, "SUB-1"))
        .await
        .unwrap_err();
    assert_eq!(err.business_id(), Some(1005));
    let err = client
        .create_license(&new_license(&argus, Uuid::from_u128(404), "SUB-2"))
        .await
        .unwrap_err();
    assert_eq!(err.business_id(), Some(4000));
    let mut no_edition = new_license(&argus, customer.id, "SUB-3");
    no_edition.template_id = Uuid::from_u128(404);
    let err = client.create_license(&no_edition).await.unwrap_err();
    assert_eq!(err.business_id(), Some(8001));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_rejected_key_is_never_echoed() {
    let sandbox = support::sandbox().await;
    let wrong = "sk-wrong-0c1d2e3f-also-secret";
    let client = support::client_for(&sandbox.base_url(), wrong);
    let err = client.list_customers().await.unwrap_err();
    assert!(
        matches!(err, ApiError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(text.contains("admin key was rejected"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(KEY), "{text}");
    sandbox.shutdown().await;
}

/// The right key sent for another ISV is told apart from a wrong key: the fix is isv_id, not
/// the key.
#[tokio::test]
async fn the_key_of_one_isv_sent_for_another_says_which() {
    let sandbox = support::sandbox().await;
    let other = "11111111-2222-4333-8444-555555555555";
    let dir = support::project(&sandbox, &[], "");
    let plan = support::cli(&["plan", "--isv-id", other], dir.path()).await;
    assert_eq!(support::code(&plan), 1);
    let stderr = support::stderr(&plan);
    assert!(
        stderr.contains(&format!(
            "the admin key was rejected (HTTP 401): the AdminKey belongs to ISV {}, not to the \
             ISV this request names; check isv_id",
            support::ISV
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(KEY), "{stderr}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn licenses_created_listed_and_updated() {
    let sandbox = support::sandbox().await;
    let client = support::client(&sandbox);
    let customer = client
        .create_customer_by_number(&add_customer("K001"))
        .await
        .unwrap()
        .expect("an answer with a body");
    let argus = argus(&client).await;

    // Edition-based: no features, limitations or variables gives the edition's.
    let created = client
        .create_license(&new_license(&argus, customer.id, "SUB-1"))
        .await
        .unwrap()
        .expect("an answer with a body");
    assert_ne!(created.id, Uuid::nil(), "an id is generated");
    let limits: Vec<_> = created
        .license_limitations
        .iter()
        .flatten()
        .map(|l| (l.limitation_name.clone().unwrap(), l.limit))
        .collect();
    assert!(limits.contains(&("Users".into(), Some(25))), "{limits:?}");

    let mut license = client.get_license(created.id).await.unwrap().unwrap();
    license.token_limit = 30;
    license.clear_server_fields();
    let updated = client
        .update_license(&license, false)
        .await
        .unwrap()
        .expect("an answer with a body");
    assert_eq!(updated.token_limit, 30);
    assert!(
        client
            .get_license(Uuid::from_u128(404))
            .await
            .unwrap()
            .is_none()
    );

    let found = client
        .find_licenses(argus.product.id, "SUB-1")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, created.id);
    sandbox.shutdown().await;
}

async fn seed_licenses(client: &slascone_sync::remote::Client, count: usize) -> (Argus, Vec<Uuid>) {
    let customer = client
        .create_customer_by_number(&add_customer("K001"))
        .await
        .unwrap()
        .expect("an answer with a body");
    let argus = argus(client).await;
    let mut ids = Vec::new();
    for n in 0..count {
        let license = new_license(&argus, customer.id, &format!("SUB-{n}"));
        ids.push(
            client
                .create_license(&license)
                .await
                .unwrap()
                .expect("an answer with a body")
                .id,
        );
    }
    ids.sort();
    (argus, ids)
}

/// A fresh client (it has not learnt the page base) with these paging settings.
fn paging_client(
    sandbox: &slascone_sync::sandbox::SandboxHandle,
    page_size: i64,
    max_in_flight: usize,
) -> slascone_sync::remote::Client {
    let mut config = slascone_sync::remote::ClientConfig::new(
        sandbox.base_url(),
        ISV,
        slascone_sync::remote::AdminKey::new(KEY),
    );
    config.page_size = page_size;
    config.max_in_flight = max_in_flight;
    slascone_sync::remote::Client::new(config).unwrap()
}

#[tokio::test]
async fn paging_reads_every_license_with_either_page_base() {
    for (base, max_in_flight) in [(0u8, 8), (1, 8), (0, 1), (1, 1)] {
        let mut config = support::config();
        config.page_base = base;
        let sandbox = support::start(config).await;
        let seeding = support::client(&sandbox);
        let (argus, ids) = seed_licenses(&seeding, 7).await;
        // A fresh client knows nothing about the page base.
        let client = paging_client(&sandbox, 3, max_in_flight);
        support::clear_requests(&sandbox).await;
        let mut listed: Vec<Uuid> = client
            .list_licenses(argus.product.id)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect();
        listed.sort();
        assert_eq!(listed, ids, "page base {base}");
        let pages = support::requests(&sandbox)
            .await
            .into_iter()
            .filter(|r| r.path.ends_with("/licenses/filtered/detailed"))
            .count();
        // 7 licenses in pages of 3: 3 pages, plus page 0 read twice where pages start at 1.
        assert_eq!(pages, 3 + usize::from(base), "page base {base}");
        sandbox.shutdown().await;
    }
}

/// A 1-based server whose page 0 is empty or refused is listed in full from page 1, and the
/// client starts its next listing there.
#[tokio::test]
async fn a_one_based_server_whose_page_zero_is_empty_or_refused_is_listed_in_full() {
    use slascone_sync::sandbox::PageZero;
    for page_zero in [PageZero::Empty, PageZero::BadRequest, PageZero::NotFound] {
        let mut config = support::config();
        config.page_base = 1;
        config.page_zero = page_zero;
        let sandbox = support::start(config).await;
        let (argus, ids) = seed_licenses(&support::client(&sandbox), 7).await;
        let client = paging_client(&sandbox, 3, 4);
        support::clear_requests(&sandbox).await;
        for round in 0..2 {
            let mut listed: Vec<Uuid> = client
                .list_licenses(argus.product.id)
                .await
                .unwrap_or_else(|err| panic!("{page_zero:?}: {err}"))
                .into_iter()
                .map(|l| l.id)
                .collect();
            listed.sort();
            assert_eq!(listed, ids, "{page_zero:?}");
            let log = support::requests(&sandbox).await;
            let pages: Vec<u16> = log
                .iter()
                .filter(|r| r.path.ends_with("/licenses/filtered/detailed"))
                .map(|r| r.status)
                .collect();
            let expected: &[u16] = match (round, page_zero) {
                (0, PageZero::Empty) => &[200, 200, 200, 200],
                (0, PageZero::BadRequest) => &[400, 200, 200, 200],
                (0, _) => &[404, 200, 200, 200],
                // Learnt: the second listing starts at page 1.
                _ => &[200, 200, 200],
            };
            assert_eq!(pages, expected, "{page_zero:?}, listing {round}: {log:?}");
            support::clear_requests(&sandbox).await;
        }
        sandbox.shutdown().await;
    }
}

/// The usage reads follow the server's pages: the light listing finds a license on any page,
/// and the assignments are read until a short page. The assignments listing finds out for
/// itself where its pages start (whatever the license listing learned): from page 0 on the first
/// read, from page 1 on the next once it has shown that.
#[tokio::test]
async fn usage_reads_follow_the_pages_of_the_server() {
    use slascone_sync::sandbox::PageZero;
    for (page_zero, listed_first) in [
        (PageZero::Empty, false),
        (PageZero::Empty, true),
        (PageZero::Same, false),
        (PageZero::BadRequest, false),
    ] {
        let case = format!("{page_zero:?}, listed first: {listed_first}");
        let mut config = support::config();
        config.page_base = 1;
        config.page_zero = page_zero;
        config.max_page_size = 3;
        let sandbox = support::start(config).await;
        let seeding = support::client(&sandbox);
        let (argus, ids) = seed_licenses(&seeding, 8).await;
        let customer = seeding
            .get_license(ids[0])
            .await
            .unwrap()
            .unwrap()
            .customer_id;
        for (n, id) in ids.iter().enumerate() {
            set_usage(&sandbox, *id, serde_json::json!({"tokens": 7, "users": n})).await;
        }
        let client = paging_client(&sandbox, 500, 4);
        if listed_first {
            client.list_licenses(argus.product.id).await.unwrap();
        }
        for (n, id) in ids.iter().enumerate() {
            let row = client
                .license_tree(argus.product.id, customer, *id)
                .await
                .unwrap_or_else(|err| panic!("{case}: {err}"))
                .unwrap_or_else(|| panic!("{case}: license {n} not found"));
            assert_eq!(row.active_users, Some(n as i64), "{case}");
        }
        for (read, first) in [(0, 0), (1, 1)] {
            support::clear_requests(&sandbox).await;
            let tokens = client
                .license_assignments(ids[read])
                .await
                .unwrap_or_else(|err| panic!("{case}: {err}"));
            assert_eq!(tokens.rows.len(), 7, "{case}");
            assert!(tokens.complete, "{case}");
            assert!(tokens.rows.iter().all(|token| token.activated), "{case}");
            let queries: Vec<String> = support::requests(&sandbox)
                .await
                .into_iter()
                .map(|r| r.query.unwrap_or_default())
                .collect();
            // Pages 1 to 3 (the last short of the 3 rows the others held), after page 0 on the
            // first read: page 2 follows a page 1 that repeats page 0, to tell whether the
            // server ignores `page`.
            let expected: Vec<String> = (first..=3)
                .map(|page| format!("page={page}&page_size=500"))
                .collect();
            assert_eq!(queries, expected, "{case}, read {read}");
        }
        sandbox.shutdown().await;
    }
}

/// `PUT /_sandbox/usage/{id}` with `usage`.
async fn set_usage(
    sandbox: &slascone_sync::sandbox::SandboxHandle,
    id: Uuid,
    usage: serde_json::Value,
) {
    let answer = reqwest::Client::new()
        .put(format!("{}/_sandbox/usage/{id}", sandbox.base_url()))
        .json(&usage)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
}

/// An assignments read ends at an empty page 0 once the assignments listing has shown that its
/// pages start at 0 (what the license listing showed does not count), and at a page shorter
/// than the longest this listing has answered (it was not cut by a cap): one request instead of
/// two, for each of up to `warnings.max_usage_reads` licenses of a plan. A page no shorter than
/// that may have been cut, and the next one tells.
#[tokio::test]
async fn what_the_assignments_listing_showed_spares_usage_reads_a_request() {
    let sandbox = support::start(support::config()).await;
    let seeding = support::client(&sandbox);
    let (argus, ids) = seed_licenses(&seeding, 8).await;
    set_usage(&sandbox, ids[1], serde_json::json!({"tokens": 2})).await;
    set_usage(&sandbox, ids[2], serde_json::json!({"tokens": 1})).await;
    set_usage(&sandbox, ids[3], serde_json::json!({"tokens": 4})).await;
    for listed_first in [false, true] {
        let client = paging_client(&sandbox, 3, 4);
        if listed_first {
            client.list_licenses(argus.product.id).await.unwrap();
        }
        let mut shown_from_zero = false;
        for (id, tokens) in [
            (ids[0], 0),
            (ids[1], 2),
            (ids[2], 1),
            (ids[3], 4),
            (ids[0], 0),
        ] {
            support::clear_requests(&sandbox).await;
            let read = client.license_assignments(id).await.unwrap();
            assert_eq!(read.rows.len(), tokens);
            assert!(read.complete);
            let queries: Vec<String> = support::requests(&sandbox)
                .await
                .into_iter()
                .map(|r| r.query.unwrap_or_default())
                .collect();
            let expected: &[&str] = match (tokens, shown_from_zero) {
                // Shorter than the 2 of an earlier page: not cut.
                (1, _) => &["page=0&page_size=3"],
                (0, true) => &["page=0&page_size=3"],
                // An empty page 0, or one that may have been cut: page 1 tells (for the 4
                // tokens, it brings the fourth and shows that pages start at 0).
                _ => &["page=0&page_size=3", "page=1&page_size=3"],
            };
            shown_from_zero |= tokens == 4;
            assert_eq!(
                queries, expected,
                "listed first: {listed_first}, {tokens} tokens"
            );
        }
    }
    sandbox.shutdown().await;
}

/// The assignments listing may cap its pages lower than the license listing and number them
/// otherwise: after a license listing that showed it honours a page of 20 rows, 24 tokens
/// behind an assignments cap of 10 are still counted in full, each way of numbering pages.
#[tokio::test]
async fn assignments_behind_their_own_cap_and_numbering_are_counted_in_full() {
    use slascone_sync::sandbox::PageZero;
    for (licenses_base, base, zero) in [
        (0, 0, PageZero::Same),
        (0, 1, PageZero::Same),
        (0, 1, PageZero::Empty),
        (0, 1, PageZero::BadRequest),
        (1, 0, PageZero::Same),
        (1, 1, PageZero::Same),
    ] {
        let case = format!("licenses from {licenses_base}, assignments from {base}, {zero:?}");
        let mut config = support::config();
        config.page_base = licenses_base;
        config.assignments_page_base = Some(base);
        config.assignments_page_zero = Some(zero);
        config.assignments_max_page_size = Some(10);
        let sandbox = support::start(config).await;
        let (argus, ids) = seed_licenses(&support::client(&sandbox), 25).await;
        set_usage(&sandbox, ids[0], serde_json::json!({"tokens": 24})).await;
        set_usage(&sandbox, ids[1], serde_json::json!({"tokens": 20})).await;
        let client = paging_client(&sandbox, 20, 4);
        client.list_licenses(argus.product.id).await.unwrap();
        for (id, tokens) in [(ids[0], 24), (ids[1], 20), (ids[0], 24)] {
            let read = client
                .license_assignments(id)
                .await
                .unwrap_or_else(|err| panic!("{case}: {err}"));
            assert_eq!((read.rows.len(), read.complete), (tokens, true), "{case}");
        }
        sandbox.shutdown().await;
    }
}

/// A server that caps the page size: the client follows the pages it gets.
#[tokio::test]
async fn a_capped_page_size_is_followed() {
    let mut config = support::config();
    config.max_page_size = 2;
    let sandbox = support::start(config).await;
    let (argus, ids) = seed_licenses(&support::client(&sandbox), 7).await;
    let client = paging_client(&sandbox, 500, 4);
    support::clear_requests(&sandbox).await;
    let listed = client.list_licenses(argus.product.id).await.unwrap();
    let mut listed: Vec<Uuid> = listed.into_iter().map(|l| l.id).collect();
    listed.sort();
    assert_eq!(listed, ids);
    let log = support::requests(&sandbox).await;
    // The count and four pages of at most two.
    assert_eq!(log.len(), 1 + 4, "{log:?}");
    sandbox.shutdown().await;
}

/// SLASCONE's clients document 204 for empty customer listings and for customer writes.
#[tokio::test]
async fn answers_without_a_body_are_empty_listings_and_applied_writes() {
    use slascone_sync::sandbox::EmptyAnswer;
    let mut config = support::config();
    config.empty_listing = EmptyAnswer::NoContent;
    config.write_answer = EmptyAnswer::NoContent;
    let sandbox = support::start(config).await;
    let client = support::client(&sandbox);
    assert!(client.list_customers().await.unwrap().is_empty());
    let argus = argus(&client).await;
    assert!(
        client
            .list_licenses(argus.product.id)
            .await
            .unwrap()
            .is_empty()
    );
    let created = client
        .create_customer_by_number(&add_customer("K001"))
        .await
        .unwrap();
    assert_eq!(created, None, "applied, answered without a body");
    let stored = client
        .get_customer_by_number("K001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.company_name.as_deref(), Some("Company K001"));
    let license = new_license(&argus, stored.id, "SUB-1");
    assert_eq!(client.create_license(&license).await.unwrap(), None);
    assert_eq!(
        client.list_licenses(argus.product.id).await.unwrap().len(),
        1
    );
    let log = support::requests(&sandbox).await;
    let empty: Vec<&str> = log
        .iter()
        .filter(|r| r.status == 204)
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        empty,
        [
            support::api("/customers"),
            support::api("/licenses/filtered"),
            support::api("/data_exchange/customers"),
            support::api("/licenses"),
        ]
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn pages_after_the_first_are_read_together_within_the_in_flight_limit() {
    for max_in_flight in [1, 3] {
        let mut config = support::config();
        // Long enough that requests sent together are certainly in flight together.
        config.latency = std::time::Duration::from_millis(150);
        let sandbox = support::start(config).await;
        let (argus, ids) = seed_licenses(&support::client(&sandbox), 10).await;
        let client = paging_client(&sandbox, 2, max_in_flight);
        support::clear_requests(&sandbox).await;
        let listed = client.list_licenses(argus.product.id).await.unwrap();
        assert_eq!(listed.len(), ids.len());
        let log = support::requests(&sandbox).await;
        let pages: Vec<usize> = log
            .iter()
            .filter(|r| r.path.ends_with("/licenses/filtered/detailed"))
            .map(|r| r.concurrent)
            .collect();
        // The count, the first page alone, then the four other pages.
        assert_eq!(log.len(), 1 + 5, "{log:?}");
        assert_eq!(pages[0], 1, "the first page is read alone: {log:?}");
        let most = log.iter().map(|r| r.concurrent).max().unwrap();
        assert_eq!(most, max_in_flight, "{log:?}");
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn licenses_reduced_page_by_page_equal_the_reduced_listing() {
    use slascone_sync::current::{self, Scope};
    let sandbox = support::sandbox().await;
    let (argus, _) = seed_licenses(&support::client(&sandbox), 9).await;
    let client = paging_client(&sandbox, 2, 3);
    let products = [argus.product.name.clone()].into();
    let remote = current::fetch(&client, &products, 4, Scope::Everything)
        .await
        .unwrap();
    let streamed = current::fetch_current_licenses(&client, &remote.catalog, &products, 4)
        .await
        .unwrap();
    assert_eq!(streamed.len(), 9);
    assert_eq!(streamed, current::current_state(&remote).licenses);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_empty_product_costs_only_the_count() {
    let sandbox = support::sandbox().await;
    let client = support::client(&sandbox);
    let argus = argus(&client).await;
    support::clear_requests(&sandbox).await;
    assert!(
        client
            .list_licenses(argus.product.id)
            .await
            .unwrap()
            .is_empty()
    );
    let log = support::requests(&sandbox).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].path.ends_with("/licenses/filtered"));
    sandbox.shutdown().await;
}

/// A server whose count disagrees with its pages: the client must refuse the partial list.
#[tokio::test]
async fn a_listing_that_does_not_add_up_is_an_error() {
    let product = Uuid::from_u128(7);
    let license = serde_json::json!([{
        "id": Uuid::from_u128(1), "customer_id": Uuid::from_u128(2), "product_id": product,
        "template_id": Uuid::from_u128(3), "token_limit": 1
    }]);
    let router = Router::new()
        .route(
            &api("/licenses/filtered"),
            post(|| async {
                axum::Json(serde_json::json!({"licenses": [], "max_count": 5, "customer_count": 1}))
            }),
        )
        .route(
            &api("/licenses/filtered/detailed"),
            post(move || {
                let license = license.clone();
                async move { axum::Json(license) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = support::client_for(&format!("http://{addr}"), KEY);
    let err = client.list_licenses(product).await.unwrap_err();
    assert!(matches!(err, ApiError::Incomplete { .. }), "{err:?}");
    assert!(err.to_string().contains("SLASCONE counts 5"), "{err}");
}

#[tokio::test]
async fn retries_ride_out_server_errors() {
    let mut config = support::config();
    config.fail_rate = 0.4;
    let sandbox = support::start(config).await;
    let client = support::client(&sandbox);
    for _ in 0..20 {
        client.list_customers().await.unwrap();
    }
    let log = support::requests(&sandbox).await;
    let failed = log
        .iter()
        .filter(|r| r.status == 500 || r.status == 503)
        .count();
    assert!(failed > 0, "some requests failed and were retried: {log:?}");
    assert_eq!(log.iter().filter(|r| r.status == 200).count(), 20);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn rate_limits_are_waited_out() {
    let mut config = support::config();
    config.rate_limit = 5;
    let sandbox = support::start(config).await;
    let client = support::client(&sandbox);
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let client = client.clone();
        tasks.spawn(async move { client.customer_types().await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let log = support::requests(&sandbox).await;
    assert!(
        log.iter().any(|r| r.status == 429),
        "the limit was hit: {log:?}"
    );
    assert_eq!(log.iter().filter(|r| r.status == 200).count(), 12);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was honoured"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn whole_object_patches_keep_everything_under_replace_semantics() {
    let mut config = support::config();
    config.patch_semantics = PatchSemantics::Replace;
    let sandbox = support::start(config).await;
    let client = support::client(&sandbox);
    let customer = client
        .create_customer_by_number(&add_customer("K001"))
        .await
        .unwrap()
        .expect("an answer with a body");
    let argus = argus(&client).await;
    let created = client
        .create_license(&new_license(&argus, customer.id, "SUB-1"))
        .await
        .unwrap()
        .expect("an answer with a body");

    // The whole object with one field changed: nothing else may be lost.
    let mut license = client.get_license(created.id).await.unwrap().unwrap();
    license.token_limit = 11;
    license.clear_server_fields();
    client
        .update_license(&license, false)
        .await
        .unwrap()
        .expect("an answer with a body");
    let after = client.get_license(created.id).await.unwrap().unwrap();
    assert_eq!(after.token_limit, 11);
    assert_eq!(after.license_limitations, created.license_limitations);
    assert_eq!(after.legacy_license_key.as_deref(), Some("SUB-1"));

    // A partial body, by contrast, does lose fields on this server: the semantics is real.
    let partial = LicenseDto {
        id: created.id,
        customer_id: customer.id,
        product_id: argus.product.id,
        template_id: created.template_id,
        token_limit: 12,
        ..LicenseDto::default()
    };
    client
        .update_license(&partial, false)
        .await
        .unwrap()
        .expect("an answer with a body");
    let cleared = client.get_license(created.id).await.unwrap().unwrap();
    assert_eq!(cleared.legacy_license_key, None);

    let mut whole = client.get_customer(customer.id).await.unwrap().unwrap();
    whole.phone = Some("+49 1".into());
    whole.clear_server_fields();
    client
        .update_customer(&whole)
        .await
        .unwrap()
        .expect("an answer with a body");
    let after = client.get_customer(customer.id).await.unwrap().unwrap();
    assert_eq!(after.city.as_deref(), Some("Berlin"));
    assert_eq!(after.phone.as_deref(), Some("+49 1"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn merge_semantics_keeps_fields_left_out() {
    let sandbox = support::sandbox().await;
    let client = support::client(&sandbox);
    let customer = client
        .create_customer_by_number(&add_customer("K001"))
        .await
        .unwrap()
        .expect("an answer with a body");
    let partial = CustomerDto {
        id: customer.id,
        phone: Some("+49 2".into()),
        ..CustomerDto::default()
    };
    client
        .update_customer(&partial)
        .await
        .unwrap()
        .expect("an answer with a body");
    let after = client.get_customer(customer.id).await.unwrap().unwrap();
    assert_eq!(after.city.as_deref(), Some("Berlin"));
    assert_eq!(after.company_name.as_deref(), Some("Company K001"));
    assert_eq!(after.phone.as_deref(), Some("+49 2"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut config = support::config();
    config.state_file = Some(state.clone());
    let sandbox = support::start(config.clone()).await;
    let client = support::client(&sandbox);
    let customer = client
        .create_customer_by_number(&add_customer("K001"))
        .await
        .unwrap()
        .expect("an answer with a body");
    let argus = argus(&client).await;
    let license = client
        .create_license(&new_license(&argus, customer.id, "SUB-1"))
        .await
        .unwrap()
        .expect("an answer with a body");
    sandbox.shutdown().await;

    let restarted = support::start(config).await;
    let client = support::client(&restarted);
    let again = client
        .get_customer_by_number("K001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, customer.id);
    assert_eq!(
        client
            .get_license(license.id)
            .await
            .unwrap()
            .unwrap()
            .legacy_license_key
            .as_deref(),
        Some("SUB-1")
    );
    restarted.shutdown().await;
}

#[tokio::test]
async fn connection_errors_name_the_request() {
    // Bind and drop a listener: nothing listens on that port any more.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let client = support::client_for(&format!("http://{addr}"), KEY);
    let err = client.list_customers().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("GET {}", api("/customers"))),
        "{text}"
    );
    assert!(text.contains("connection failed"), "{text}");
    assert!(!text.contains(KEY));
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept connections and hold them open without a word.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = slascone_sync::remote::ClientConfig::new(
        format!("http://{addr}"),
        ISV,
        slascone_sync::remote::AdminKey::new(KEY),
    );
    config.request_timeout = Duration::from_millis(300);
    config.retry.max_retries = 1;
    config.retry.min_delay = Duration::from_millis(10);
    let client = slascone_sync::remote::Client::new(config).unwrap();
    let started = std::time::Instant::now();
    let err = client.products().await.unwrap_err();
    assert!(matches!(err, ApiError::Timeout { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("GET {}", api("/products")))
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_dropped_create_is_ambiguous_yet_applied() {
    let mut config = support::config();
    config.drop_after_commit = 1.0;
    let sandbox = support::start(config).await;
    let client = support::client(&sandbox);
    let err = client
        .create_customer_by_number(&add_customer("K001"))
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");
    let creates = support::writes(&support::requests(&sandbox).await).len();
    assert_eq!(creates, 1, "a create is not resent blindly");
    assert!(
        client
            .get_customer_by_number("K001")
            .await
            .unwrap()
            .is_some()
    );
    sandbox.shutdown().await;
}

/// The rows a stand-in's assignments listing answers for a page.
type PageRows = fn(i64) -> std::ops::Range<u128>;

/// A stand-in SLASCONE whose assignments listing answers page `p` with the rows `rows(p)` (ids
/// 0, 1, …), whatever the page size asked.
async fn assignments_server(rows: PageRows) -> String {
    use axum::extract::Query;
    use std::collections::HashMap;
    let app = Router::new().fallback(
        move |Query(query): Query<HashMap<String, String>>| async move {
            let page: i64 = query["page"].parse().unwrap();
            let rows: Vec<serde_json::Value> = rows(page)
                .map(|n| serde_json::json!({"id": Uuid::from_u128(n + 1), "activated": true}))
                .collect();
            axum::Json(rows)
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// An assignments listing that cannot be shown whole is read as incomplete, never as all there
/// is: one that ignores `page`, and one whose pages overlap (the listing moved while it was
/// read, so rows may have moved past the reader too). One that pages properly is complete.
#[tokio::test]
async fn an_assignments_listing_that_repeats_or_moves_is_read_as_incomplete() {
    let cases: [(&str, PageRows, usize, bool); 4] = [
        ("ignores page", |_| 0..3, 3, false),
        (
            "pages overlap",
            |page| (page as u128 * 2)..(page as u128 * 2 + 3),
            5,
            false,
        ),
        (
            "pages of 3, 7 rows",
            |page| (page as u128 * 3)..(page as u128 * 3 + 3).min(7),
            7,
            true,
        ),
        (
            "from 1, page 0 like page 1, 5 rows",
            |page| {
                let page = page.max(1) as u128 - 1;
                (page * 3).min(5)..(page * 3 + 3).min(5)
            },
            5,
            true,
        ),
    ];
    for (name, rows, count, complete) in cases {
        let url = assignments_server(rows).await;
        let mut config = slascone_sync::remote::ClientConfig::new(
            url,
            ISV,
            slascone_sync::remote::AdminKey::new(KEY),
        );
        config.page_size = 3;
        let client = slascone_sync::remote::Client::new(config).unwrap();
        let read = client
            .license_assignments(Uuid::from_u128(42))
            .await
            .unwrap();
        assert_eq!(
            (read.rows.len(), read.complete),
            (count, complete),
            "{name}"
        );
    }
}
