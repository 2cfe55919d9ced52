//! The sandbox server, spoken to over real HTTP on 127.0.0.1 with plain reqwest.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use slascone_sync::cli::PatchSemantics;
use slascone_sync::sandbox::{self, Catalog, SandboxConfig, SandboxHandle};
use uuid::Uuid;

const ISV: &str = "2af5fe02-6207-4214-946e-b00ac5309f53";
const KEY: &str = "test-admin-key-5c1e0b";

fn catalog_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/catalog.yaml")
}

fn config() -> SandboxConfig {
    let catalog = Catalog::load(&catalog_path()).expect("the fixture catalog loads");
    SandboxConfig::new(ISV.parse().unwrap(), KEY, catalog)
}

/// A running sandbox and a client for it.
struct Sandbox {
    handle: SandboxHandle,
    client: reqwest::Client,
}

/// One answer, read whole.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text))
    }

    /// Asserts a 409 with the given error id.
    fn assert_error(&self, id: i64) {
        assert_eq!(self.status, StatusCode::CONFLICT, "{}", self.text);
        assert_eq!(self.json()["id"], json!(id), "{}", self.text);
        assert!(self.json()["message"].is_string(), "{}", self.text);
    }

    /// Asserts a 400 ProblemDetails.
    fn assert_problem(&self) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.text);
        let body = self.json();
        for field in ["type", "title", "detail"] {
            assert!(body[field].is_string(), "{field} missing: {}", self.text);
        }
        assert_eq!(body["status"], json!(400));
    }
}

impl Sandbox {
    async fn start(config: SandboxConfig) -> Sandbox {
        let handle = sandbox::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("the sandbox starts");
        Sandbox {
            handle,
            client: reqwest::Client::new(),
        }
    }

    async fn default() -> Sandbox {
        Sandbox::start(config()).await
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/api/v2/isv/{ISV}/{rest}", self.handle.base_url())
    }

    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        Answer {
            status,
            headers,
            text,
        }
    }

    async fn send(&self, method: Method, rest: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .client
            .request(method, self.url(rest))
            .header("AdminKey", KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Sandbox::read(request.send().await.expect("the sandbox answers")).await
    }

    async fn get(&self, rest: &str) -> Answer {
        self.send(Method::GET, rest, None).await
    }

    async fn post(&self, rest: &str, body: Value) -> Answer {
        self.send(Method::POST, rest, Some(body)).await
    }

    async fn patch(&self, rest: &str, body: Value) -> Answer {
        self.send(Method::PATCH, rest, Some(body)).await
    }

    /// GET that must succeed with a JSON body.
    async fn get_ok(&self, rest: &str) -> Value {
        let answer = self.get(rest).await;
        assert_eq!(answer.status, StatusCode::OK, "GET {rest}: {}", answer.text);
        answer.json()
    }

    async fn post_ok(&self, rest: &str, body: Value) -> Value {
        let answer = self.post(rest, body).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "POST {rest}: {}",
            answer.text
        );
        answer.json()
    }

    async fn patch_ok(&self, rest: &str, body: Value) -> Value {
        let answer = self.patch(rest, body).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "PATCH {rest}: {}",
            answer.text
        );
        answer.json()
    }

    async fn request_log(&self) -> Vec<Value> {
        let url = format!("{}/_sandbox/requests", self.handle.base_url());
        let answer = Sandbox::read(self.client.get(url).send().await.unwrap()).await;
        assert_eq!(answer.status, StatusCode::OK);
        match answer.json() {
            Value::Array(entries) => entries,
            other => panic!("the log is not an array: {other}"),
        }
    }

    /// The catalog's ids by name, read through the API.
    async fn ids(&self) -> Ids {
        let mut ids = Ids::default();
        for t in self.get_ok("customers/types").await.as_array().unwrap() {
            ids.insert(
                format!(
                    "customer_type:{}",
                    t["customer_type_name"].as_str().unwrap()
                ),
                &t["id"],
            );
        }
        for t in self.get_ok("licenses/types").await.as_array().unwrap() {
            ids.insert(
                format!("license_type:{}", t["name"].as_str().unwrap()),
                &t["id"],
            );
        }
        for p in self.get_ok("products").await.as_array().unwrap() {
            let product = p["name"].as_str().unwrap().to_owned();
            ids.insert(format!("product:{product}"), &p["id"]);
            let detail = self
                .get_ok(&format!("products/{}/detail", p["id"].as_str().unwrap()))
                .await;
            for kind in ["features", "limitations", "variables"] {
                for entry in detail[kind].as_array().unwrap() {
                    let name = entry["name"].as_str().unwrap();
                    ids.insert(format!("{kind}:{product}/{name}"), &entry["id"]);
                }
            }
            for release in detail["software_release_limitations"].as_array().unwrap() {
                let version = release["software_release"].as_str().unwrap();
                assert_eq!(release["product_id"], p["id"]);
                ids.insert(format!("release:{product}/{version}"), &release["id"]);
            }
            let templates = self
                .get_ok(&format!(
                    "templates?product_id={}",
                    p["id"].as_str().unwrap()
                ))
                .await;
            for t in templates.as_array().unwrap() {
                let name = t["name"].as_str().unwrap();
                ids.insert(format!("edition:{product}/{name}"), &t["id"]);
            }
        }
        ids
    }

    /// Creates a customer through `POST /customers` and returns its id.
    async fn customer(&self, number: &str) -> String {
        let created = self
            .post_ok(
                "customers",
                json!({"company_name": format!("Company {number}"), "customer_number": number}),
            )
            .await;
        created["id"].as_str().unwrap().to_owned()
    }

    async fn stop(self) {
        self.handle.shutdown().await;
    }
}

#[derive(Default)]
struct Ids(std::collections::HashMap<String, String>);

impl Ids {
    fn insert(&mut self, key: String, id: &Value) {
        self.0.insert(key, id.as_str().unwrap().to_owned());
    }

    fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("no catalog id for {key}"))
    }
}

/// Finds the entry whose `id_field` is `id` in a license's entry list.
fn entry<'a>(license: &'a Value, list: &str, id_field: &str, id: &str) -> &'a Value {
    license[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} missing: {license}"))
        .iter()
        .find(|e| e[id_field] == json!(id))
        .unwrap_or_else(|| panic!("no {id} in {list}: {license}"))
}

#[tokio::test]
async fn catalog_endpoints_serve_the_catalog_with_stable_ids() {
    let sb = Sandbox::default().await;
    let types = sb.get_ok("customers/types").await;
    assert_eq!(types.as_array().unwrap().len(), 2);
    assert_eq!(types[0]["customer_type_name"], "Enterprise");
    let license_types = sb.get_ok("licenses/types").await;
    assert_eq!(license_types[1]["name"], "Trial");
    let products = sb.get_ok("products").await;
    assert_eq!(products.as_array().unwrap().len(), 2);
    assert_eq!(products[0]["name"], "Argus");

    let ids = sb.ids().await;
    let argus = ids.get("product:Argus");
    let detail = sb.get_ok(&format!("products/{argus}/detail")).await;
    assert_eq!(detail["features"].as_array().unwrap().len(), 3);
    assert_eq!(detail["limitations"][0]["name"], "Users");
    assert_eq!(detail["variables"][0]["product_id"], json!(argus));

    let templates = sb.get_ok(&format!("templates?product_id={argus}")).await;
    let pro = &templates[0];
    assert_eq!(pro["name"], "Professional");
    assert_eq!(pro["token_limit"], 10);
    assert_eq!(pro["goodwill_token_limit"], 2);
    assert_eq!(pro["expiration_mode"], 1);
    assert_eq!(
        pro["license_type_id"],
        json!(ids.get("license_type:Commercial"))
    );
    assert_eq!(pro["features"].as_array().unwrap().len(), 3);
    let export = entry(
        pro,
        "features",
        "feature_id",
        ids.get("features:Argus/Export"),
    );
    assert_eq!(export["feature_name"], "Export");
    assert_eq!(export["is_active"], true);
    let users = entry(
        pro,
        "limitations",
        "limitation_id",
        ids.get("limitations:Argus/Users"),
    );
    assert_eq!(
        (users["limitation_name"].clone(), users["limit"].clone()),
        (json!("Users"), json!(25))
    );
    let region = entry(
        pro,
        "variables",
        "variable_id",
        ids.get("variables:Argus/Region"),
    );
    assert_eq!(region["value"], "EU");
    assert_eq!(templates[1]["expiration_mode"], 3);
    assert_eq!(templates[1]["valid_days_count"], 30);
    let all = sb.get_ok("templates").await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let hermes = sb
        .get_ok(&format!(
            "templates?product_id={}",
            ids.get("product:Hermes")
        ))
        .await;
    assert_eq!(hermes[0]["expiration_mode"], 2);
    // Noon UTC: the same calendar day in every project time zone from UTC-11 to UTC+11.
    assert_eq!(hermes[0]["expiration_date_utc"], "2027-12-31T12:00:00Z");

    sb.get(&format!("products/{}/detail", Uuid::new_v4()))
        .await
        .assert_error(3000);

    // A second sandbox on the same catalog serves the same ids.
    let other = Sandbox::default().await;
    assert_eq!(other.ids().await.0, ids.0);
    sb.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn requests_without_the_right_admin_key_are_unauthorized() {
    let sb = Sandbox::default().await;
    let url = sb.url("customers");
    let missing = Sandbox::read(sb.client.get(&url).send().await.unwrap()).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    let wrong = Sandbox::read(
        sb.client
            .get(&url)
            .header("AdminKey", "not-the-key-91ab")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(!wrong.text.contains("not-the-key-91ab"), "{}", wrong.text);
    assert!(!wrong.text.contains(KEY), "{}", wrong.text);

    // The right key for another ISV is not enough.
    let other_isv = format!(
        "{}/api/v2/isv/{}/customers",
        sb.handle.base_url(),
        Uuid::new_v4()
    );
    let answer = Sandbox::read(
        sb.client
            .get(other_isv)
            .header("AdminKey", KEY)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(!answer.text.contains(KEY));

    assert_eq!(sb.get("customers").await.status, StatusCode::OK);
    sb.stop().await;
}

#[tokio::test]
async fn malformed_bodies_and_missing_required_fields_are_400_problem_details() {
    let sb = Sandbox::default().await;
    let malformed = Sandbox::read(
        sb.client
            .post(sb.url("customers"))
            .header("AdminKey", KEY)
            .header("Content-Type", "application/json")
            .body("{\"company_name\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    malformed.assert_problem();

    let missing = sb
        .post(
            "data_exchange/customers",
            json!({"customer_number": "K1", "customer_type": "SMB", "country": "Austria"}),
        )
        .await;
    missing.assert_problem();
    assert!(
        missing.json()["detail"]
            .as_str()
            .unwrap()
            .contains("customer_name")
    );

    sb.post("licenses/filtered", json!({"page": 0}))
        .await
        .assert_problem();
    sb.post("licenses/filtered", json!({"page_size": 0}))
        .await
        .assert_problem();
    sb.post("licenses", json!({"token_limit": 1}))
        .await
        .assert_problem();
    sb.patch("customers", json!({"company_name": "no id"}))
        .await
        .assert_problem();
    assert!(sb.get_ok("customers").await.as_array().unwrap().is_empty());
    sb.stop().await;
}

#[tokio::test]
async fn customers_are_created_read_and_found() {
    let sb = Sandbox::default().await;
    let ids = sb.ids().await;
    let enterprise = ids.get("customer_type:Enterprise");
    let created = Sandbox::read(
        sb.client
            .post(sb.url("customers"))
            .header("AdminKey", KEY)
            .header("LastModifiedBy", "slascone-sync-test")
            .json(&json!({
                "id": Uuid::nil(),
                "company_name": "Acme GmbH",
                "customer_number": "K001",
                "customer_type": {"id": enterprise},
                "country": "germany",
                "email": "it@acme.example",
                "postalcode": "1010"
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let created = created.json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_ne!(id, Uuid::nil().to_string());
    assert_eq!(created["customer_type"]["customer_type_name"], "Enterprise");
    assert_eq!(created["country"], "Germany");
    assert_eq!(created["last_modified_by"], "slascone-sync-test");
    let stamp = created["created_date_utc"].as_str().unwrap();
    assert!(
        stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{stamp}"
    );
    assert_eq!(created["modified_date_utc"], created["created_date_utc"]);

    assert_eq!(sb.get_ok(&format!("customers/{id}")).await, created);
    assert_eq!(
        sb.get_ok("customers/by_number?customer_number=K001").await,
        created
    );

    let own_id = Uuid::new_v4().to_string();
    let second = sb
        .post_ok(
            "customers",
            json!({"id": own_id, "company_name": "Beta AG", "customer_number": "K002"}),
        )
        .await;
    assert_eq!(second["id"], json!(own_id));
    assert_eq!(second["last_modified_by"], "api-key");
    sb.post("customers", json!({"id": own_id, "company_name": "Gamma"}))
        .await
        .assert_error(4001);

    let all = sb.get_ok("customers").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let filtered = sb.get_ok("customers?name=acme").await;
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    assert_eq!(filtered[0]["customer_number"], "K001");

    let unknown = sb.get(&format!("customers/{}", Uuid::new_v4())).await;
    assert_eq!(unknown.status, StatusCode::NO_CONTENT);
    assert!(unknown.text.is_empty());
    let unknown = sb.get("customers/by_number?customer_number=NOPE").await;
    assert_eq!(unknown.status, StatusCode::NO_CONTENT);
    sb.stop().await;
}

#[tokio::test]
async fn customer_writes_report_business_errors() {
    let sb = Sandbox::default().await;
    let id = sb.customer("K001").await;
    sb.post(
        "customers",
        json!({"company_name": "Other", "customer_number": "K001"}),
    )
    .await
    .assert_error(4002);
    sb.post(
        "customers",
        json!({"company_name": "Other", "country": "Atlantis"}),
    )
    .await
    .assert_error(9000);
    sb.post(
        "customers",
        json!({"company_name": "Other", "customer_type": {"id": Uuid::new_v4()}}),
    )
    .await
    .assert_error(9001);
    sb.post("customers", json!({"company_name": "  "}))
        .await
        .assert_error(9002);
    sb.post("customers", json!({"customer_number": "K009"}))
        .await
        .assert_error(9002);
    sb.patch(
        "customers",
        json!({"id": Uuid::new_v4(), "company_name": "Ghost"}),
    )
    .await
    .assert_error(4000);
    let second = sb.customer("K002").await;
    sb.patch(
        "customers",
        json!({"id": second, "company_name": "Company K002", "customer_number": "K001"}),
    )
    .await
    .assert_error(4002);
    sb.patch("customers", json!({"id": id, "country": "Narnia"}))
        .await
        .assert_error(9000);
    // Nothing of the refused writes was stored.
    assert_eq!(sb.get_ok("customers").await.as_array().unwrap().len(), 2);
    let first = sb.get_ok(&format!("customers/{id}")).await;
    assert!(first.get("country").is_none_or(Value::is_null), "{first}");
    sb.stop().await;
}

#[tokio::test]
async fn customer_patch_merges_by_default() {
    let sb = Sandbox::default().await;
    let created = sb
        .post_ok(
            "customers",
            json!({"company_name": "Acme", "customer_number": "K1", "email": "a@acme.example", "city": "Graz"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let patched = sb
        .patch_ok(
            "customers",
            json!({"id": id, "city": "Wien", "created_date_utc": "2000-01-01T00:00:00.000Z"}),
        )
        .await;
    assert_eq!(patched["city"], "Wien");
    assert_eq!(patched["email"], "a@acme.example");
    assert_eq!(patched["company_name"], "Acme");
    assert_eq!(patched["created_date_utc"], created["created_date_utc"]);
    assert_eq!(sb.get_ok(&format!("customers/{id}")).await, patched);
    // The number index follows a renumbering.
    sb.patch_ok("customers", json!({"id": id, "customer_number": "K2"}))
        .await;
    let by_new = sb.get_ok("customers/by_number?customer_number=K2").await;
    assert_eq!(by_new["id"], json!(id));
    let by_old = sb.get("customers/by_number?customer_number=K1").await;
    assert_eq!(by_old.status, StatusCode::NO_CONTENT);
    sb.stop().await;
}

#[tokio::test]
async fn customer_patch_replace_clears_absent_fields() {
    let mut config = config();
    config.patch_semantics = PatchSemantics::Replace;
    let sb = Sandbox::start(config).await;
    let created = sb
        .post_ok(
            "customers",
            json!({"company_name": "Acme", "customer_number": "K1", "email": "a@acme.example", "city": "Graz"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let patched = sb
        .patch_ok(
            "customers",
            json!({"id": id, "company_name": "Acme", "city": "Wien"}),
        )
        .await;
    assert_eq!(patched["city"], "Wien");
    assert!(patched.get("email").is_none_or(Value::is_null), "{patched}");
    assert!(
        patched.get("customer_number").is_none_or(Value::is_null),
        "{patched}"
    );
    assert_eq!(patched["created_date_utc"], created["created_date_utc"]);
    // Leaving out the company name clears it, which the name rule refuses.
    sb.patch("customers", json!({"id": id, "city": "Linz"}))
        .await
        .assert_error(9002);
    sb.stop().await;
}

#[tokio::test]
async fn data_exchange_customers_are_keyed_by_number_and_patched_by_merge() {
    let mut config = config();
    // data_exchange PATCH merges whatever the admin PATCH does.
    config.patch_semantics = PatchSemantics::Replace;
    let sb = Sandbox::start(config).await;
    let created = sb
        .post_ok(
            "data_exchange/customers",
            json!({
                "customer_number": "K100",
                "customer_name": "Delta GmbH",
                "customer_type": "SMB",
                "country": "Austria",
                "zip": "1010",
                "city": "Wien",
                "email": "office@delta.example"
            }),
        )
        .await;
    assert_eq!(created["company_name"], "Delta GmbH");
    assert_eq!(created["postalcode"], "1010");
    assert_eq!(created["customer_type"]["customer_type_name"], "SMB");
    assert_eq!(created["country"], "Austria");
    assert!(Uuid::parse_str(created["id"].as_str().unwrap()).is_ok());

    let base = json!({"customer_number": "K101", "customer_name": "X", "customer_type": "SMB", "country": "Austria"});
    let with = |key: &str, value: &str| {
        let mut body = base.clone();
        body[key] = json!(value);
        body
    };
    sb.post("data_exchange/customers", with("customer_name", ""))
        .await
        .assert_error(9002);
    sb.post("data_exchange/customers", with("customer_type", "Gold"))
        .await
        .assert_error(9001);
    sb.post("data_exchange/customers", with("country", "Mordor"))
        .await
        .assert_error(9000);
    sb.post("data_exchange/customers", with("customer_number", "K100"))
        .await
        .assert_error(4002);

    let patched = sb
        .patch_ok(
            "data_exchange/customers",
            json!({"customer_number": "K100", "city": "Graz", "zip": "8010"}),
        )
        .await;
    assert_eq!(patched["city"], "Graz");
    assert_eq!(patched["postalcode"], "8010");
    assert_eq!(patched["company_name"], "Delta GmbH");
    assert_eq!(patched["email"], "office@delta.example");
    assert_eq!(patched["customer_type"]["customer_type_name"], "SMB");
    assert_eq!(patched["id"], created["id"]);
    let renamed = sb
        .patch_ok(
            "data_exchange/customers",
            json!({"customer_number": "K100", "customer_name": "Delta AG", "customer_type": "Enterprise", "country": "switzerland"}),
        )
        .await;
    assert_eq!(renamed["company_name"], "Delta AG");
    assert_eq!(renamed["customer_type"]["customer_type_name"], "Enterprise");
    assert_eq!(renamed["country"], "Switzerland");
    assert_eq!(renamed["city"], "Graz");

    sb.patch(
        "data_exchange/customers",
        json!({"customer_number": "K999", "city": "X"}),
    )
    .await
    .assert_error(4000);
    sb.patch(
        "data_exchange/customers",
        json!({"customer_number": "K100", "country": "Oz"}),
    )
    .await
    .assert_error(9000);
    sb.patch(
        "data_exchange/customers",
        json!({"customer_number": "K100", "customer_type": "Gold"}),
    )
    .await
    .assert_error(9001);
    sb.patch(
        "data_exchange/customers",
        json!({"customer_number": "K100", "customer_name": ""}),
    )
    .await
    .assert_error(9002);
    sb.patch("data_exchange/customers", json!({"city": "X"}))
        .await
        .assert_problem();
    sb.stop().await;
}

#[tokio::test]
async fn licenses_take_their_edition_and_listed_entries_override_it() {
    let sb = Sandbox::default().await;
    let ids = sb.ids().await;
    let customer = sb.customer("K1").await;
    let argus = ids.get("product:Argus");
    let pro = ids.get("edition:Argus/Professional");

    let plain = sb
        .post_ok(
            "licenses",
            json!({"customer_id": customer, "product_id": argus, "template_id": pro, "legacy_license_key": "SUB-1"}),
        )
        .await;
    assert!(Uuid::parse_str(plain["id"].as_str().unwrap()).is_ok());
    assert_eq!(plain["token_limit"], 10);
    assert_eq!(plain["goodwill_token_limit"], 2);
    assert_eq!(
        plain["license_type_id"],
        json!(ids.get("license_type:Commercial"))
    );
    assert_eq!(plain["expiration_mode"], 1);
    assert_eq!(plain["is_active"], true);
    assert_eq!(plain["license_features"].as_array().unwrap().len(), 3);
    let export = entry(
        &plain,
        "license_features",
        "feature_id",
        ids.get("features:Argus/Export"),
    );
    assert_eq!(export["is_active"], true);
    assert_eq!(export["feature_name"], "Export");
    assert_eq!(export["product_id"], json!(argus));
    let reporting = entry(
        &plain,
        "license_features",
        "feature_id",
        ids.get("features:Argus/Reporting"),
    );
    assert_eq!(reporting["is_active"], false);
    let users = entry(
        &plain,
        "license_limitations",
        "limitation_id",
        ids.get("limitations:Argus/Users"),
    );
    assert_eq!(users["limit"], 25);
    assert_eq!(users["limitation_name"], "Users");
    let region = entry(
        &plain,
        "license_variables",
        "variable_id",
        ids.get("variables:Argus/Region"),
    );
    assert_eq!(region["value"], "EU");
    assert_eq!(region["variable_name"], "Region");
    assert!(plain["created_date_utc"].is_string());
    assert_eq!(
        sb.get_ok(&format!("licenses/{}", plain["id"].as_str().unwrap()))
            .await,
        plain
    );

    let own_id = Uuid::new_v4().to_string();
    let explicit = sb
        .post_ok(
            "licenses",
            json!({
                "id": own_id,
                "customer_id": customer, "product_id": argus, "template_id": pro,
                "token_limit": 3, "is_active": false,
                "license_features": [{"product_id": argus, "feature_id": ids.get("features:Argus/Reporting"), "is_active": true}],
                "license_limitations": [{"product_id": argus, "limitation_id": ids.get("limitations:Argus/Users"), "limit": 50}],
                "license_variables": [{"product_id": argus, "variable_id": ids.get("variables:Argus/Tier"), "value": "gold"}]
            }),
        )
        .await;
    assert_eq!(explicit["id"], json!(own_id));
    assert_eq!(explicit["token_limit"], 3);
    assert_eq!(explicit["is_active"], false);
    let reporting = entry(
        &explicit,
        "license_features",
        "feature_id",
        ids.get("features:Argus/Reporting"),
    );
    assert_eq!(reporting["is_active"], true);
    assert_eq!(reporting["feature_name"], "Reporting");
    let export = entry(
        &explicit,
        "license_features",
        "feature_id",
        ids.get("features:Argus/Export"),
    );
    assert_eq!(export["is_active"], true);
    let users = entry(
        &explicit,
        "license_limitations",
        "limitation_id",
        ids.get("limitations:Argus/Users"),
    );
    assert_eq!(users["limit"], 50);
    let projects = entry(
        &explicit,
        "license_limitations",
        "limitation_id",
        ids.get("limitations:Argus/Projects"),
    );
    assert_eq!(projects["limit"], 100);
    let tier = entry(
        &explicit,
        "license_variables",
        "variable_id",
        ids.get("variables:Argus/Tier"),
    );
    assert_eq!(tier["value"], "gold");
    assert_eq!(tier["variable_name"], "Tier");
    let region = entry(
        &explicit,
        "license_variables",
        "variable_id",
        ids.get("variables:Argus/Region"),
    );
    assert_eq!(region["value"], "EU");

    sb.post(
        "licenses",
        json!({"id": own_id, "customer_id": customer, "product_id": argus, "template_id": pro}),
    )
    .await
    .assert_error(1006);
    sb.stop().await;
}

#[tokio::test]
async fn license_writes_report_business_errors() {
    let sb = Sandbox::default().await;
    let ids = sb.ids().await;
    let customer = sb.customer("K1").await;
    let argus = ids.get("product:Argus");
    let pro = ids.get("edition:Argus/Professional");
    let hermes_edition = ids.get("edition:Hermes/Standard");
    let base = json!({"customer_id": customer, "product_id": argus, "template_id": pro, "legacy_license_key": "SUB-1"});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    sb.post_ok("licenses", base.clone()).await;

    let cases = [
        (with("customer_id", json!(Uuid::new_v4())), 4000),
        (with("product_id", json!(Uuid::new_v4())), 3000),
        (with("template_id", json!(hermes_edition)), 8001),
        (with("license_type_id", json!(Uuid::new_v4())), 2009),
        (
            with(
                "license_features",
                json!([{"product_id": argus, "feature_id": ids.get("features:Hermes/Sync"), "is_active": true}]),
            ),
            3001,
        ),
        (
            with(
                "license_variables",
                json!([{"product_id": argus, "variable_id": Uuid::new_v4(), "value": "x"}]),
            ),
            3002,
        ),
        (
            with(
                "license_limitations",
                json!([{"product_id": argus, "limitation_id": Uuid::new_v4(), "limit": 1}]),
            ),
            3003,
        ),
        (
            with("software_release_limitation_id", json!(Uuid::new_v4())),
            1004,
        ),
        (
            with(
                "software_release_limitation_id",
                json!(ids.get("release:Hermes/1.0")),
            ),
            1004,
        ),
        (base.clone(), 1005),
    ];
    for (body, id) in cases {
        sb.post("licenses", body).await.assert_error(id);
    }
    // The same legacy key is fine for another product.
    sb.post_ok(
        "licenses",
        json!({"customer_id": customer, "product_id": ids.get("product:Hermes"), "template_id": hermes_edition, "legacy_license_key": "SUB-1"}),
    )
    .await;

    let first = sb
        .post_ok(
            "licenses/filtered/detailed",
            json!({"page_size": 10, "product_filter": argus}),
        )
        .await;
    assert_eq!(first.as_array().unwrap().len(), 1);
    let id = first[0]["id"].as_str().unwrap();
    sb.patch("licenses", with("id", json!(Uuid::new_v4())))
        .await
        .assert_error(1001);
    sb.get(&format!("licenses/{}", Uuid::new_v4()))
        .await
        .assert_error(1001);
    let second = sb
        .post_ok("licenses", with("legacy_license_key", json!("SUB-2")))
        .await;
    let mut clash = second.clone();
    clash["legacy_license_key"] = json!("SUB-1");
    sb.patch("licenses", clash).await.assert_error(1005);
    let mut bad_feature = first[0].clone();
    bad_feature["license_features"][0]["feature_id"] = json!(Uuid::new_v4());
    sb.patch("licenses", bad_feature).await.assert_error(3001);
    assert_eq!(
        sb.get_ok(&format!("licenses/{id}")).await["legacy_license_key"],
        "SUB-1"
    );
    let limited = sb
        .post_ok(
            "licenses",
            with("legacy_license_key", json!("SUB-R"))
                .as_object()
                .cloned()
                .map(|mut body| {
                    body.insert(
                        "software_release_limitation_id".into(),
                        json!(ids.get("release:Argus/3.1")),
                    );
                    Value::Object(body)
                })
                .unwrap(),
        )
        .await;
    assert_eq!(
        limited["software_release_limitation_id"],
        json!(ids.get("release:Argus/3.1"))
    );
    sb.stop().await;
}

#[tokio::test]
async fn license_patch_follows_the_patch_semantics_and_the_template_flag() {
    for semantics in [PatchSemantics::Merge, PatchSemantics::Replace] {
        let mut config = config();
        config.patch_semantics = semantics;
        let sb = Sandbox::start(config).await;
        let ids = sb.ids().await;
        let customer = sb.customer("K1").await;
        let argus = ids.get("product:Argus");
        let pro = ids.get("edition:Argus/Professional");
        let created = sb
            .post_ok(
                "licenses",
                json!({"customer_id": customer, "product_id": argus, "template_id": pro,
                       "legacy_license_key": "SUB-1", "description": "first", "token_limit": 7}),
            )
            .await;
        let id = created["id"].as_str().unwrap();
        let patched = sb
            .patch_ok(
                "licenses?apply_template_properties=false",
                json!({"id": id, "customer_id": customer, "product_id": argus, "template_id": pro, "token_limit": 8}),
            )
            .await;
        assert_eq!(patched["token_limit"], 8);
        assert_eq!(patched["created_date_utc"], created["created_date_utc"]);
        match semantics {
            PatchSemantics::Merge => {
                assert_eq!(patched["description"], "first");
                assert_eq!(patched["legacy_license_key"], "SUB-1");
                assert_eq!(patched["license_features"], created["license_features"]);
                assert_eq!(patched["goodwill_token_limit"], 2);
            }
            PatchSemantics::Replace => {
                assert!(
                    patched.get("description").is_none_or(Value::is_null),
                    "{patched}"
                );
                assert!(patched.get("legacy_license_key").is_none_or(Value::is_null));
                assert_eq!(patched["license_features"], json!([]));
                assert_eq!(patched["license_limitations"], json!([]));
                assert_eq!(patched["license_variables"], json!([]));
                assert!(
                    patched
                        .get("goodwill_token_limit")
                        .is_none_or(Value::is_null)
                );
            }
        }
        assert_eq!(sb.get_ok(&format!("licenses/{id}")).await, patched);

        // Moving to another edition with the template flag takes what the body leaves out from
        // the new edition.
        let trial = ids.get("edition:Argus/Trial");
        let moved = sb
            .patch_ok(
                "licenses?apply_template_properties=true",
                json!({"id": id, "customer_id": customer, "product_id": argus, "template_id": trial, "token_limit": 4}),
            )
            .await;
        assert_eq!(moved["template_id"], json!(trial));
        assert_eq!(moved["token_limit"], 4);
        assert_eq!(moved["expiration_mode"], 3);
        assert_eq!(moved["valid_days_count"], 30);
        assert_eq!(
            moved["license_type_id"],
            json!(ids.get("license_type:Trial"))
        );
        let features = moved["license_features"].as_array().unwrap();
        assert_eq!(features.len(), 1, "{moved}");
        assert_eq!(features[0]["feature_name"], "Export");
        assert_eq!(features[0]["is_active"], false);
        assert_eq!(moved["license_limitations"], json!([]));
        sb.stop().await;
    }
}

/// Creates `count` licenses of Argus/Professional, keys `L000`, `L001`, ..., spread over two
/// customers.
async fn seed_licenses(sb: &Sandbox, ids: &Ids, count: usize) -> (String, String) {
    let first = sb.customer("K1").await;
    let second = sb.customer("K2").await;
    for i in 0..count {
        let customer = if i % 3 == 0 { &second } else { &first };
        sb.post_ok(
            "licenses",
            json!({"customer_id": customer, "product_id": ids.get("product:Argus"),
                   "template_id": ids.get("edition:Argus/Professional"),
                   "legacy_license_key": format!("L{i:03}")}),
        )
        .await;
    }
    (first, second)
}

fn keys(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["legacy_license_key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn license_listings_page_from_zero_by_default() {
    let sb = Sandbox::default().await;
    let ids = sb.ids().await;
    let (first, second) = seed_licenses(&sb, &ids, 7).await;
    sb.post_ok(
        "licenses",
        json!({"customer_id": first, "product_id": ids.get("product:Hermes"),
               "template_id": ids.get("edition:Hermes/Standard"), "legacy_license_key": "H1"}),
    )
    .await;
    let argus = ids.get("product:Argus");

    let page0 = sb
        .post_ok(
            "licenses/filtered",
            json!({"page": 0, "page_size": 3, "product_filter": argus}),
        )
        .await;
    assert_eq!(page0["max_count"], 7);
    assert_eq!(page0["customer_count"], 2);
    assert_eq!(keys(&page0["licenses"]), ["L000", "L001", "L002"]);
    let row = &page0["licenses"][0];
    assert_eq!(row["customer_id"], json!(second));
    assert_eq!(
        row["template_id"],
        json!(ids.get("edition:Argus/Professional"))
    );
    let page2 = sb
        .post_ok(
            "licenses/filtered",
            json!({"page": 2, "page_size": 3, "product_filter": argus}),
        )
        .await;
    assert_eq!(keys(&page2["licenses"]), ["L006"]);
    let beyond = sb
        .post_ok(
            "licenses/filtered",
            json!({"page": 3, "page_size": 3, "product_filter": argus}),
        )
        .await;
    assert_eq!(keys(&beyond["licenses"]), Vec::<String>::new());
    assert_eq!(beyond["max_count"], 7);

    let detailed = sb
        .post_ok(
            "licenses/filtered/detailed",
            json!({"page": 1, "page_size": 3, "product_filter": argus}),
        )
        .await;
    assert_eq!(keys(&detailed), ["L003", "L004", "L005"]);
    assert_eq!(detailed[0]["license_features"].as_array().unwrap().len(), 3);

    let all = sb
        .post_ok("licenses/filtered", json!({"page_size": 100}))
        .await;
    assert_eq!(all["max_count"], 8);
    assert_eq!(all["customer_count"], 2);
    let zero = Uuid::nil();
    let unfiltered = sb
        .post_ok(
            "licenses/filtered",
            json!({"page_size": 100, "product_filter": zero, "customer_filter": zero}),
        )
        .await;
    assert_eq!(unfiltered["max_count"], 8);
    let of_second = sb
        .post_ok(
            "licenses/filtered",
            json!({"page_size": 100, "customer_filter": second}),
        )
        .await;
    assert_eq!(keys(&of_second["licenses"]), ["L000", "L003", "L006"]);
    assert_eq!(of_second["customer_count"], 1);
    let both = sb
        .post_ok("licenses/filtered", json!({"page_size": 100, "customer_filter": first, "product_filter": ids.get("product:Hermes")}))
        .await;
    assert_eq!(keys(&both["licenses"]), ["H1"]);
    let search = sb
        .post_ok(
            "licenses/filtered",
            json!({"page_size": 100, "key_search": "l00"}),
        )
        .await;
    assert_eq!(search["max_count"], 7);
    let by_id = sb
        .post_ok(
            "licenses/filtered/detailed",
            json!({"page_size": 100, "key_search": row["id"]}),
        )
        .await;
    assert_eq!(keys(&by_id), ["L000"]);
    sb.stop().await;
}

#[tokio::test]
async fn license_listings_cap_the_page_size() {
    let sb = Sandbox::default().await;
    let ids = sb.ids().await;
    let count = sandbox::MAX_PAGE_SIZE + 1;
    seed_licenses(&sb, &ids, count).await;
    let page = sb
        .post_ok("licenses/filtered", json!({"page_size": 5000}))
        .await;
    assert_eq!(
        page["licenses"].as_array().unwrap().len(),
        sandbox::MAX_PAGE_SIZE
    );
    assert_eq!(page["max_count"], json!(count));
    let second = sb
        .post_ok(
            "licenses/filtered/detailed",
            json!({"page": 1, "page_size": 5000}),
        )
        .await;
    assert_eq!(keys(&second), [format!("L{}", sandbox::MAX_PAGE_SIZE)]);
    sb.stop().await;
}

#[tokio::test]
async fn license_listings_can_page_from_one() {
    let mut config = config();
    config.page_base = 1;
    let sb = Sandbox::start(config).await;
    let ids = sb.ids().await;
    seed_licenses(&sb, &ids, 5).await;
    let page = |n: i64| json!({"page": n, "page_size": 2});
    let page1 = sb.post_ok("licenses/filtered", page(1)).await;
    assert_eq!(keys(&page1["licenses"]), ["L000", "L001"]);
    assert_eq!(page1["max_count"], 5);
    let page0 = sb.post_ok("licenses/filtered", page(0)).await;
    assert_eq!(page0, page1);
    let page3 = sb.post_ok("licenses/filtered/detailed", page(3)).await;
    assert_eq!(keys(&page3), ["L004"]);
    let unnumbered = sb
        .post_ok("licenses/filtered", json!({"page_size": 2}))
        .await;
    assert_eq!(unnumbered, page1);
    sb.stop().await;
}

#[tokio::test]
async fn fail_rate_answers_500_or_503_without_applying_the_write() {
    let mut config = config();
    config.fail_rate = 0.5;
    let sb = Sandbox::start(config).await;
    let mut applied = 0;
    let mut failed = 0;
    for i in 0..40 {
        let answer = sb
            .post(
                "customers",
                json!({"company_name": "X", "customer_number": format!("F{i}")}),
            )
            .await;
        match answer.status {
            StatusCode::OK => applied += 1,
            StatusCode::INTERNAL_SERVER_ERROR | StatusCode::SERVICE_UNAVAILABLE => failed += 1,
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    assert!(
        applied > 0 && failed > 0,
        "{applied} applied, {failed} failed"
    );
    let mut listed = None;
    for _ in 0..100 {
        let answer = sb.get("customers").await;
        if answer.status == StatusCode::OK {
            listed = Some(answer.json());
            break;
        }
    }
    let listed = listed.expect("one of 100 reads gets through");
    assert_eq!(listed.as_array().unwrap().len(), applied);
    let log = sb.request_log().await;
    let logged_failures = log
        .iter()
        .filter(|e| e["status"] == 500 || e["status"] == 503)
        .count();
    assert!(logged_failures >= failed);
    sb.stop().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let mut config = config();
    config.rate_limit = 3;
    let sb = Sandbox::start(config).await;
    let mut limited = Vec::new();
    let mut passed = 0;
    let started = Instant::now();
    for _ in 0..20 {
        let answer = sb.get("products").await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            limited.push(answer);
        } else {
            assert_eq!(answer.status, StatusCode::OK);
            passed += 1;
        }
    }
    // At most 3 per one-second window; the loop touches at most elapsed + 2 windows, since the
    // first one may have begun before it.
    let windows = started.elapsed().as_secs() + 2;
    assert!(
        passed <= 3 * windows,
        "{passed} passed in {windows} windows"
    );
    assert!(!limited.is_empty());
    let retry_after = limited[0].headers["retry-after"].to_str().unwrap();
    assert!(retry_after.parse::<u64>().unwrap() >= 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(sb.get("products").await.status, StatusCode::OK);
    let log = sb.request_log().await;
    assert_eq!(
        log.iter().filter(|e| e["status"] == 429).count(),
        limited.len()
    );
    sb.stop().await;
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let mut config = config();
    config.latency = Duration::from_millis(150);
    let sb = Sandbox::start(config).await;
    let started = Instant::now();
    sb.get_ok("products").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    sb.stop().await;
}

#[tokio::test]
async fn drop_after_commit_applies_the_write_and_closes_the_connection() {
    let mut config = config();
    config.drop_after_commit = 1.0;
    let sb = Sandbox::start(config).await;
    let sent = sb
        .client
        .post(sb.url("customers"))
        .header("AdminKey", KEY)
        .json(&json!({"company_name": "Dropped", "customer_number": "D1"}))
        .send()
        .await;
    let err = sent.expect_err("the connection closes without an answer");
    assert!(err.status().is_none(), "{err}");
    // Reads are not dropped, and the write was applied.
    let stored = sb.get_ok("customers/by_number?customer_number=D1").await;
    assert_eq!(stored["company_name"], "Dropped");
    // Listings are POSTs, but not writes.
    sb.post_ok("licenses/filtered", json!({"page_size": 1}))
        .await;
    // A refused write is answered: nothing was committed.
    sb.post(
        "customers",
        json!({"company_name": "Again", "customer_number": "D1"}),
    )
    .await
    .assert_error(4002);
    let log = sb.request_log().await;
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["dropped"], true);
    assert!(log[1].get("dropped").is_none());
    sb.stop().await;
}

#[tokio::test]
async fn request_log_lists_api_requests_in_order_and_can_be_cleared() {
    let sb = Sandbox::default().await;
    sb.get_ok("products").await;
    sb.get("customers/by_number?customer_number=K1").await;
    sb.post("customers", json!({"company_name": ""})).await;
    let unauthorized = sb.client.get(sb.url("products")).send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    let log = sb.request_log().await;
    let path = format!("/api/v2/isv/{ISV}");
    assert_eq!(
        log,
        vec![
            // One request after another: each was alone in flight.
            json!({"method": "GET", "path": format!("{path}/products"), "status": 200, "concurrent": 1}),
            json!({"method": "GET", "path": format!("{path}/customers/by_number"), "query": "customer_number=K1", "status": 204, "concurrent": 1}),
            json!({"method": "POST", "path": format!("{path}/customers"), "status": 409, "concurrent": 1}),
            json!({"method": "GET", "path": format!("{path}/products"), "status": 401, "concurrent": 1}),
        ]
    );
    let url = format!("{}/_sandbox/requests", sb.handle.base_url());
    let cleared = sb.client.delete(&url).send().await.unwrap();
    assert!(cleared.status().is_success());
    assert!(sb.request_log().await.is_empty());
    sb.stop().await;
}

fn read_state(path: &Path) -> Value {
    crate::support::read_state(path)
}

#[tokio::test]
async fn state_file_is_written_on_every_write_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut first_config = config();
    first_config.state_file = Some(state.clone());
    let sb = Sandbox::start(first_config).await;
    let ids = sb.ids().await;
    assert!(!state.exists(), "reads do not write the state");

    let customer = sb.customer("K1").await;
    assert_eq!(read_state(&state)["customers"].as_array().unwrap().len(), 1);
    let license = sb
        .post_ok(
            "licenses",
            json!({"customer_id": customer, "product_id": ids.get("product:Argus"),
                   "template_id": ids.get("edition:Argus/Professional"), "legacy_license_key": "SUB-1"}),
        )
        .await;
    assert_eq!(read_state(&state)["licenses"].as_array().unwrap().len(), 1);
    sb.patch_ok(
        "data_exchange/customers",
        json!({"customer_number": "K1", "city": "Graz"}),
    )
    .await;
    assert_eq!(read_state(&state)["customers"][0]["city"], "Graz");
    let customer_before = sb.get_ok(&format!("customers/{customer}")).await;
    sb.stop().await;
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "no temporary file is left behind");

    let mut second_config = config();
    second_config.state_file = Some(state.clone());
    let restarted = Sandbox::start(second_config).await;
    assert_eq!(restarted.ids().await.0, ids.0);
    assert_eq!(
        restarted.get_ok(&format!("customers/{customer}")).await,
        customer_before
    );
    let id = license["id"].as_str().unwrap();
    assert_eq!(restarted.get_ok(&format!("licenses/{id}")).await, license);
    // The indexes are rebuilt too.
    restarted
        .post(
            "customers",
            json!({"company_name": "Dup", "customer_number": "K1"}),
        )
        .await
        .assert_error(4002);
    let listed = restarted
        .post_ok(
            "licenses/filtered",
            json!({"page_size": 10, "key_search": "SUB-1"}),
        )
        .await;
    assert_eq!(listed["max_count"], 1);
    restarted.stop().await;
}

#[tokio::test]
async fn concurrent_writes_are_all_in_the_state_file_when_answered() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut config = config();
    config.state_file = Some(state.clone());
    let sb = Sandbox::start(config).await;
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..16 {
        let request = sb
            .client
            .post(sb.url("data_exchange/customers"))
            .header("AdminKey", KEY)
            .json(
                &json!({"customer_number": format!("C{i}"), "customer_name": "X",
                          "customer_type": "SMB", "country": "Greece"}),
            );
        writes.spawn(async move { request.send().await.unwrap().status() });
    }
    while let Some(status) = writes.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    let saved = read_state(&state);
    let mut numbers: Vec<_> = saved["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    let mut expected: Vec<_> = (0..16).map(|i| format!("C{i}")).collect();
    expected.sort();
    assert_eq!(numbers, expected);
    sb.stop().await;
}

/// The sandbox binary started on a free port with `flags`, and the first line it printed.
fn sandbox_binary(flags: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_slascone-sync"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--isv-id", ISV])
        .args(["--admin-key", KEY])
        .args(flags)
        .arg("--catalog")
        .arg(catalog_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("a first line");
    (child, line)
}

#[test]
fn the_sandbox_command_serves_until_killed() {
    let (mut child, line) = sandbox_binary(&[]);
    let result = std::panic::catch_unwind(|| {
        let base = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let url = format!("{base}/api/v2/isv/{ISV}/products");
            let ok = client
                .get(&url)
                .header("AdminKey", KEY)
                .send()
                .await
                .unwrap();
            assert_eq!(ok.status(), StatusCode::OK);
            let products: Value = ok.json().await.unwrap();
            assert_eq!(products[0]["name"], "Argus");
            let denied = client.get(&url).send().await.unwrap();
            assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
        });
    });
    child.kill().expect("the sandbox can be killed");
    child.wait().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// The assignments' own paging flags reach the server: with `--assignments-page-base 1
/// --assignments-page-zero 400`, page 0 of an assignments listing is refused as such (before the
/// license is looked up), while without them it is read (and the unknown license named).
#[test]
fn the_assignments_page_flags_reach_the_sandbox() {
    let answer = |flags: &[&str]| -> StatusCode {
        let (mut child, line) = sandbox_binary(flags);
        let base = line
            .trim_end()
            .strip_prefix("listening on ")
            .map(str::to_owned);
        let status = base.map(|base| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                reqwest::Client::new()
                    .get(format!(
                        "{base}/api/v2/isv/{ISV}/licenses/{}/assignments?page=0&page_size=10",
                        uuid::Uuid::nil()
                    ))
                    .header("AdminKey", KEY)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        });
        child.kill().expect("the sandbox can be killed");
        child.wait().unwrap();
        status.unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
    };
    assert_eq!(
        answer(&[
            "--assignments-page-base",
            "1",
            "--assignments-page-zero",
            "400"
        ]),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(answer(&[]), StatusCode::CONFLICT);
}

#[cfg(unix)]
#[test]
fn the_sandbox_command_exits_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slascone-sync"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--isv-id", ISV])
        .args([
            "--admin-key",
            KEY,
            "--page-base",
            "1",
            "--patch-semantics",
            "replace",
        ])
        .arg("--catalog")
        .arg(catalog_path())
        .arg("--state")
        .arg(dir.path().join("state.json"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("a first line");
    assert!(
        line.starts_with("listening on http://127.0.0.1:"),
        "{line:?}"
    );
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn the_sandbox_command_names_the_position_of_a_catalog_error() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.yaml");
    std::fs::write(
        &catalog,
        "products:\n  - name: Argus\n    features: [Export]\n    editions:\n      - name: Pro\n        features: { Import: true }\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_slascone-sync"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--isv-id", ISV])
        .args(["--admin-key", KEY])
        .arg("--catalog")
        .arg(&catalog)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:6:", catalog.display())),
        "{stderr}"
    );
    assert!(stderr.contains("Import"), "{stderr}");
    assert!(!stderr.contains(KEY));
}

#[tokio::test]
async fn contacts_belong_to_a_customer_and_are_checked() {
    let sb = Sandbox::default().await;
    let customer = sb.customer("K1").await;
    let contacts = format!("customers/{customer}/contacts");
    let anna = json!({"name": "Anna", "surname": "Roth", "email": "anna@acme.example"});
    let created = sb.post_ok(&contacts, anna.clone()).await;
    assert_eq!(created["customer_id"], json!(customer));
    assert_eq!(created["is_active"], true, "a new contact is active");
    assert_eq!(created["is_customer_portal_user"], false);
    assert!(Uuid::parse_str(created["id"].as_str().unwrap()).is_ok());
    let listed = sb.get_ok(&contacts).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let with = |key: &str, value: Value| {
        let mut body = anna.clone();
        body[key] = value;
        body
    };
    // One contact per address and customer, whatever its case (guessed id 4003).
    sb.post(&contacts, with("email", json!("ANNA@acme.example")))
        .await
        .assert_error(4003);
    sb.post(&contacts, with("email", json!("anna.acme.example")))
        .await
        .assert_error(1012);
    sb.post(&contacts, with("name", json!("")))
        .await
        .assert_problem();
    sb.post(
        &contacts,
        json!({"surname": "Roth", "email": "x@acme.example"}),
    )
    .await
    .assert_problem();
    sb.post(
        &format!("customers/{}/contacts", Uuid::new_v4()),
        anna.clone(),
    )
    .await
    .assert_error(4000);
    sb.get(&format!("customers/{}/contacts", Uuid::new_v4()))
        .await
        .assert_error(4000);

    let mut moved = created.clone();
    moved["surname"] = json!("Ross");
    let patched = sb.patch(&contacts, moved).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.json()["surname"], "Ross");
    sb.patch(&contacts, with("id", json!(Uuid::new_v4())))
        .await
        .assert_error(4004);

    // By number: the address (in any case) finds the contact; optional fields left out keep
    // their value; a new address adds a contact.
    sb.patch(&contacts, {
        let mut phone = patched.json();
        phone["phone"] = json!("+49 1");
        phone
    })
    .await;
    let put = |email: &str| {
        json!({"customer_number": "K1", "contact_name": "Anna", "contact_surname": "Roth",
               "email": email, "is_customer_portal_user": true})
    };
    let updated = sb
        .send(
            Method::PUT,
            "data_exchange/customers/contacts",
            Some(put("Anna@Acme.example")),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    let updated = updated.json();
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(
        (
            &updated["surname"],
            &updated["phone"],
            &updated["is_customer_portal_user"]
        ),
        (&json!("Roth"), &json!("+49 1"), &json!(true))
    );
    sb.send(
        Method::PUT,
        "data_exchange/customers/contacts",
        Some(put("ben@acme.example")),
    )
    .await;
    assert_eq!(sb.get_ok(&contacts).await.as_array().unwrap().len(), 2);
    let unknown = json!({"customer_number": "K9", "contact_name": "A", "contact_surname": "B",
                         "email": "a@b.example"});
    sb.send(
        Method::PUT,
        "data_exchange/customers/contacts",
        Some(unknown),
    )
    .await
    .assert_error(4000);
    sb.stop().await;
}

/// The sandbox binary's resident memory grows by at most 64 MiB under 3,000 unauthenticated
/// requests of 60 KB each (180 MB, every one logged): its request log is a bounded window.
#[cfg(target_os = "linux")]
#[test]
fn unauthenticated_requests_of_60_kb_grow_the_binary_by_at_most_64_mib() {
    use std::io::{Read, Write};

    let (mut child, line) = sandbox_binary(&[]);
    let pid = child.id();
    let resident = || -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    let result = std::panic::catch_unwind(|| {
        let addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        let request = format!(
            "GET /api/v2/isv/{ISV}/{} HTTP/1.1\r\nHost: sandbox\r\n\r\n",
            "a".repeat(60_000)
        );
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        let ask = |stream: &mut std::net::TcpStream| {
            stream.write_all(request.as_bytes()).unwrap();
            let mut answer = Vec::new();
            let mut buf = [0u8; 16 * 1024];
            // The head, then as much body as it announces.
            loop {
                let n = stream.read(&mut buf).unwrap();
                assert!(n > 0, "the connection closed");
                answer.extend_from_slice(&buf[..n]);
                let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
                assert!(head.starts_with("http/1.1 401"), "{head}");
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                if answer.len() >= end + 4 + length {
                    break;
                }
            }
        };
        ask(&mut stream);
        let before = resident();
        for _ in 0..3_000 {
            ask(&mut stream);
        }
        let after = resident();
        let growth = after.saturating_sub(before);
        assert!(
            growth <= 64 * 1024 * 1024,
            "grew by {} MiB ({before} → {after} bytes)",
            growth / (1024 * 1024)
        );
    });
    child.kill().expect("the sandbox can be killed");
    child.wait().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
