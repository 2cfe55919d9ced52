//! The engine as a library, without the binary: load, connect, plan, check, apply, and a saved
//! plan's recheck, against the sandbox over loopback, with every stage heard as an event.

use std::sync::{Arc, Mutex};

use slascone_sync::apply::Status;
use slascone_sync::engine::{
    self, AdminKey, Connection, Event, Events, Keep, Planned, Planning, Rule, Safety, SavedPlan,
    Settings, Target, UsageReads,
};
use slascone_sync::manifest::Manifests;
use slascone_sync::remote::wire::DataExchangeUpdateCustomerDto;
use slascone_sync::sandbox::SandboxHandle;

use crate::support::{self, ISV, KEY};

const MANIFEST: &str = "customers:
  - customer_number: K001
    company_name: Acme GmbH
    customer_type: Enterprise
    country: Germany
    licenses:
      - legacy_license_key: SUB-1
        product: Argus
        edition: Professional
        token_limit: 25
";

/// Events as the names of their kinds, in the order they came.
fn recorder() -> (Events, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let events: Events = {
        let seen = Arc::clone(&seen);
        Arc::new(move |event: &Event<'_>| {
            let name = format!("{event:?}");
            let kind = name
                .split([' ', '(', '{'])
                .next()
                .unwrap_or_default()
                .to_owned();
            seen.lock().unwrap().push(kind);
        })
    };
    (events, seen)
}

fn load(dir: &std::path::Path, events: &Events) -> Manifests {
    engine::load(dir, None, events).unwrap_or_else(|problems| panic!("{problems}"))
}

async fn connect(sandbox: &SandboxHandle, manifests: &Manifests, events: &Events) -> Connection {
    open(sandbox.base_url(), KEY, &manifests.project, events).await
}

async fn make_plan(
    connection: &Connection,
    manifests: Manifests,
    keep: Keep,
    events: &Events,
) -> Planned {
    match engine::plan(connection, manifests, keep, UsageReads::Read, events)
        .await
        .expect("the read succeeds")
    {
        Planning::Planned(planned) => *planned,
        Planning::Problems(problems) => panic!("{problems}"),
    }
}

#[tokio::test]
async fn plan_check_and_apply_through_the_engine() {
    let sandbox = support::sandbox().await;
    let dir = support::project(&sandbox, &[("acme.yaml", MANIFEST)], "");
    let (events, seen) = recorder();
    let manifests = load(dir.path(), &events);
    let project = manifests.project.clone();
    let connection = connect(&sandbox, &manifests, &events).await;

    let planned = make_plan(&connection, manifests, Keep::WireObjects, &events).await;
    assert_eq!(planned.plan.summary.create, 2);
    // The rules are data: a ceiling of one change refuses, naming the rule and the count.
    let tight = Safety {
        max_changes: 1,
        ..Safety::of(&project)
    };
    let refusals = engine::check(&planned.plan, tight);
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].rule, Rule::MaxChanges { max: 1, planned: 2 });
    assert!(engine::check(&planned.plan, Safety::of(&project)).is_empty());

    let report = engine::apply(&connection, planned.ready(), &events).await;
    assert!(!report.is_partial(), "{report:?}");
    assert!(
        report
            .results
            .iter()
            .all(|entry| entry.status == Status::Created)
    );
    let again = make_plan(
        &connection,
        load(dir.path(), &events),
        Keep::Nothing,
        &events,
    )
    .await;
    assert!(again.plan.is_empty(), "{:?}", again.plan.changes);
    connection.close().await;

    let seen = seen.lock().unwrap().clone();
    let first = |kind: &str| seen.iter().position(|k| k == kind);
    for kind in [
        "Loaded", "Reading", "Read", "Compared", "Applying", "Applied", "Sent",
    ] {
        assert!(first(kind).is_some(), "no {kind} event in {seen:?}");
    }
    assert!(first("Loaded") < first("Reading") && first("Compared") < first("Applying"));
    assert_eq!(seen.iter().filter(|k| *k == "Applied").count(), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_saved_plan_is_refused_when_slascone_changed_or_the_target_differs() {
    let sandbox = support::sandbox().await;
    let dir = support::project(&sandbox, &[("acme.yaml", MANIFEST)], "");
    let events = engine::no_events();
    let connection = connect(&sandbox, &load(dir.path(), &events), &events).await;
    let first = make_plan(
        &connection,
        load(dir.path(), &events),
        Keep::WireObjects,
        &events,
    )
    .await;
    engine::apply(&connection, first.ready(), &events).await;

    // A change to plan and save, then a portal edit of the same customer.
    let edited = MANIFEST.replace("company_name: Acme GmbH", "company_name: Acme AG");
    support::write_files(dir.path(), &[("acme.yaml", &edited)]);
    let manifests = load(dir.path(), &events);
    let project = manifests.project.clone();
    let saved = make_plan(&connection, manifests, Keep::Nothing, &events)
        .await
        .plan;
    assert_eq!(saved.summary.update, 1);
    let bytes = serde_json::to_vec(&saved).unwrap();
    let read = engine::read_saved_plan(&bytes, "plan.json", jiff::civil::date(2026, 12, 1))
        .expect("a saved plan reads back");

    match engine::recheck_saved(&connection, read.clone(), &project)
        .await
        .unwrap()
    {
        SavedPlan::Current(ready) => assert_eq!(ready.plan.change_count(), 1),
        SavedPlan::Refused(refusal) => panic!("{refusal:?}"),
    }
    support::client(&sandbox)
        .update_customer_by_number(&DataExchangeUpdateCustomerDto {
            customer_number: "K001".into(),
            city: Some("Hamburg".into()),
            ..DataExchangeUpdateCustomerDto::default()
        })
        .await
        .unwrap();
    match engine::recheck_saved(&connection, read.clone(), &project)
        .await
        .unwrap()
    {
        SavedPlan::Refused(refusal) => {
            assert_eq!(refusal.rule, Rule::Stale);
            assert_eq!(refusal.stale, ["customer K001 changed"]);
        }
        SavedPlan::Current(_) => panic!("a plan of a changed customer was accepted"),
    }
    let mut elsewhere = read;
    elsewhere.target.api_url = "https://api.example".into();
    match engine::recheck_saved(&connection, elsewhere, &project)
        .await
        .unwrap()
    {
        SavedPlan::Refused(refusal) => {
            assert!(
                matches!(refusal.rule, Rule::OtherTarget { .. }),
                "{refusal:?}"
            )
        }
        SavedPlan::Current(_) => panic!("a plan for another target was accepted"),
    }
    connection.close().await;
    sandbox.shutdown().await;
}

/// A manifest of `n` customers with one license each.
fn many_customers(n: usize) -> String {
    let mut yaml = String::from("customers:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - customer_number: K{i:05}\n    company_name: Customer {i} GmbH\n    customer_type: Enterprise\n    country: Germany\n    licenses:\n      - legacy_license_key: SUB-{i:05}\n        product: Argus\n        edition: Professional\n        token_limit: {}\n",
            i % 50 + 1
        ));
    }
    yaml
}

/// Every event in full, in the order they came.
fn full_recorder() -> (Events, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let events: Events = {
        let seen = Arc::clone(&seen);
        Arc::new(move |event: &Event<'_>| seen.lock().unwrap().push(format!("{event:?}")))
    };
    (events, seen)
}

/// A connection to `url` with `key`, every request heard as an event.
async fn open(
    url: String,
    key: &str,
    project: &slascone_sync::manifest::Project,
    events: &Events,
) -> Connection {
    let target = Target::Api {
        url,
        isv_id: ISV,
        admin_key: AdminKey::new(key),
    };
    let settings = Settings {
        today: Some(jiff::civil::date(2026, 12, 1)),
        log_requests: true,
        ..Settings::default()
    };
    Connection::open(target, project, &settings, events)
        .await
        .expect("the sandbox is reachable")
}

/// The manifests of `dir` loaded and planned as `plan` does, reading SLASCONE meanwhile.
async fn load_and_plan(
    connection: &Connection,
    dir: &std::path::Path,
    events: &Events,
) -> anyhow::Result<Planning> {
    engine::load_and_plan(
        connection,
        dir,
        None,
        Keep::Nothing,
        UsageReads::Read,
        events,
    )
    .await
}

/// SLASCONE is read while the manifests load: requests are answered before loading ends, and
/// the read still counts every request it sent, as the plan made after loading does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_needs_no_manifest_is_read_while_the_manifests_load() {
    let sandbox = support::sandbox().await;
    let manifest = many_customers(2_000);
    let dir = support::project(&sandbox, &[("many.yaml", &manifest)], "");
    let project = slascone_sync::manifest::project(dir.path(), None).expect("the project is sound");

    let (events, seen) = full_recorder();
    let connection = open(sandbox.base_url(), KEY, &project, &events).await;
    let planning = load_and_plan(&connection, dir.path(), &events)
        .await
        .expect("the read succeeds");
    let overlapped = match planning {
        Planning::Planned(planned) => planned,
        Planning::Problems(problems) => panic!("{problems}"),
    };
    assert_eq!(overlapped.plan.summary.create, 4_000);
    let seen = seen.lock().unwrap().clone();
    let loaded = seen.iter().position(|e| e.starts_with("Loaded")).unwrap();
    let first_request = seen.iter().position(|e| e.starts_with("Request")).unwrap();
    assert!(
        first_request < loaded,
        "no request was answered before the manifests were loaded: {:?}",
        &seen[..loaded + 1]
    );
    let read_requests = |seen: &[String]| -> u64 {
        let read = seen.iter().find(|e| e.starts_with("Read {")).unwrap();
        let count = read.split("requests: ").nth(1).unwrap();
        count.split([',', ' ']).next().unwrap().parse().unwrap()
    };
    let sent = seen.iter().filter(|e| e.starts_with("Request")).count() as u64;
    assert_eq!(read_requests(&seen), sent);

    // The same plan, made after loading, reads and plans the same.
    let (events, seen) = full_recorder();
    let manifests = load(dir.path(), &events);
    let sequential = make_plan(&connection, manifests, Keep::Nothing, &events).await;
    assert_eq!(read_requests(&seen.lock().unwrap()), sent);
    assert_eq!(
        serde_json::to_value(&sequential.plan).unwrap(),
        serde_json::to_value(&overlapped.plan).unwrap()
    );
    connection.close().await;
    sandbox.shutdown().await;
}

/// The manifests' problems come first: a read that fails while they load is not what is
/// reported, and a read that fails for sound manifests is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifests_problems_come_before_a_failed_read() {
    let sandbox = support::sandbox().await;
    // Long enough to load that the refused read has failed before loading ends.
    let broken = many_customers(2_000).replace("company_name: Customer 1999", "company_nam: X");
    let dir = support::project(&sandbox, &[("broken.yaml", &broken)], "");
    let project = slascone_sync::manifest::project(dir.path(), None).expect("the project is sound");
    let (events, seen) = full_recorder();
    let connection = open(sandbox.base_url(), "not-the-admin-key", &project, &events).await;
    let planning = load_and_plan(&connection, dir.path(), &events)
        .await
        .expect("the manifests' problems, not the failed read");
    let Planning::Problems(problems) = planning else {
        panic!("the manifest has a problem");
    };
    assert!(
        problems.to_string().contains("unknown field `company_nam`"),
        "{problems}"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|e| e.starts_with("Request") && e.contains("401")),
        "the read was refused before loading ended: {seen:?}"
    );

    support::write_files(dir.path(), &[("broken.yaml", MANIFEST)]);
    let err = load_and_plan(&connection, dir.path(), &engine::no_events())
        .await
        .err()
        .expect("sound manifests and a failed read are an error");
    assert!(err.to_string().contains("401"), "{err}");
    connection.close().await;
    sandbox.shutdown().await;
}
