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
    let target = Target::Api {
        url: sandbox.base_url(),
        isv_id: ISV,
        admin_key: AdminKey::new(KEY),
    };
    let settings = Settings {
        today: Some(jiff::civil::date(2026, 12, 1)),
        ..Settings::default()
    };
    Connection::open(target, &manifests.project, &settings, events)
        .await
        .expect("the sandbox is reachable")
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
