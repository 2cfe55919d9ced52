use std::sync::Arc;

use super::*;

fn customer(number: &str, city: &str) -> CustomerDto {
    CustomerDto {
        id: Uuid::new_v5(&Uuid::nil(), number.as_bytes()),
        customer_number: Some(number.to_owned()),
        city: Some(city.to_owned()),
        ..CustomerDto::default()
    }
}

fn license(customer: Uuid, key: &str) -> LicenseDto {
    LicenseDto {
        id: Uuid::new_v5(&Uuid::nil(), key.as_bytes()),
        customer_id: customer,
        product_id: Uuid::from_u128(7),
        legacy_license_key: Some(key.into()),
        ..LicenseDto::default()
    }
}

/// Collects what the journal reports.
fn events() -> (EventSink, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let events: EventSink = Arc::new(move |event| sink.lock().unwrap().push(event.to_owned()));
    (events, seen)
}

/// Opens the state file, as `Journal::open` does but with `min_compact_bytes`.
fn open(path: &Path, min_compact_bytes: u64) -> (tokio::sync::Mutex<Store>, Journal) {
    let (events, _) = events();
    let loaded = Journal::open_with(path, &events, min_compact_bytes).unwrap();
    (tokio::sync::Mutex::new(loaded.store), loaded.journal)
}

/// What the endpoints do: change the store and stage the line under its lock, then flush.
async fn write(store: &tokio::sync::Mutex<Store>, journal: &Journal, customer: CustomerDto) {
    let line = Line::of(&Entry::Customer(&customer)).unwrap();
    let seq = {
        let mut store = store.lock().await;
        store.upsert_customer(customer);
        journal.stage(line)
    };
    journal.flush(store, seq).await.unwrap();
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn cities(store: &Store) -> Vec<(String, String)> {
    store
        .customers()
        .iter()
        .map(|c| (c.customer_number.clone().unwrap(), c.city.clone().unwrap()))
        .collect()
}

#[tokio::test]
async fn writes_append_one_line_each_and_replay_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (store, journal) = open(&path, MIN_COMPACT_BYTES);
    write(&store, &journal, customer("K1", "Graz")).await;
    // The first write creates the file as a snapshot that already holds it.
    assert_eq!(lines(&path).len(), 1);
    write(&store, &journal, customer("K2", "Linz")).await;
    write(&store, &journal, customer("K1", "Wien")).await;
    let text = lines(&path);
    assert_eq!(text.len(), 3, "{text:?}");
    assert!(text[1].starts_with(r#"{"customer":{"#), "{}", text[1]);

    let (again, _) = open(&path, MIN_COMPACT_BYTES);
    let again = again.into_inner();
    assert_eq!(
        cities(&again),
        [("K1".into(), "Wien".into()), ("K2".into(), "Linz".into())]
    );
    assert_eq!(again.customer_by_number("K2"), Some(1));
}

#[tokio::test]
async fn licenses_contacts_and_usage_replay_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (store, journal) = open(&path, MIN_COMPACT_BYTES);
    let owner = customer("K1", "Graz");
    write(&store, &journal, owner.clone()).await;
    let lic = license(owner.id, "KEY-1");
    let contact = CustomerContactDto {
        id: Uuid::from_u128(9),
        customer_id: owner.id,
        name: "Anna".into(),
        surname: "Roth".into(),
        email: "anna@example.com".into(),
        ..CustomerContactDto::default()
    };
    let usage = Usage {
        tokens: 3,
        users: Some(2),
        floating_tokens: Some(1),
    };
    let lines = [
        Line::of(&Entry::License(&lic)).unwrap(),
        Line::of(&Entry::Contact(&contact)).unwrap(),
        Line::of(&Entry::Usage(UsageRecord::new(lic.id, usage))).unwrap(),
    ];
    let mut last = 0;
    {
        let mut locked = store.lock().await;
        locked.upsert_license(lic.clone());
        locked.upsert_contact(contact.clone());
        locked.set_usage(lic.id, usage);
        for line in lines {
            last = journal.stage(line);
        }
    }
    journal.flush(&store, last).await.unwrap();

    let (again, _) = open(&path, MIN_COMPACT_BYTES);
    let again = again.into_inner();
    assert_eq!(again.license(0), &lic);
    assert_eq!(again.license_by_key(lic.product_id, "KEY-1"), Some(0));
    assert_eq!(again.contacts_of(owner.id).collect::<Vec<_>>(), [&contact]);
    assert_eq!(again.usage(lic.id), usage);
}

#[tokio::test]
async fn a_torn_last_record_is_dropped_with_a_warning_and_rewritten_away() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (store, journal) = open(&path, MIN_COMPACT_BYTES);
    write(&store, &journal, customer("K1", "Graz")).await;
    write(&store, &journal, customer("K2", "Linz")).await;
    drop(journal);
    // A process killed while appending: part of a line, no newline.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(br#"{"customer":{"id":"0000"#).unwrap();
    drop(file);

    let (events, seen) = events();
    let loaded = Journal::open(&path, &events).unwrap();
    assert_eq!(loaded.store.customers().len(), 2);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].contains("incomplete record (line 3)") && seen[0].contains("dropped"),
        "{}",
        seen[0]
    );
    // The next write must not land after the torn bytes: it rewrites the file first.
    let store = tokio::sync::Mutex::new(loaded.store);
    write(&store, &loaded.journal, customer("K3", "Wels")).await;
    let (again, _) = open(&path, MIN_COMPACT_BYTES);
    assert_eq!(again.into_inner().customers().len(), 3);
    assert!(std::fs::read(&path).unwrap().ends_with(b"\n"));
}

#[tokio::test]
async fn a_bad_record_before_the_last_is_an_error_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(
        &path,
        "{\"customers\":[]}\n{\"customer\":{\"id\":\"not-a-uuid\"}}\n{\"usage\":{\"license_id\":\"00000000-0000-0000-0000-000000000001\"}}\n",
    )
    .unwrap();
    let (events, _) = events();
    let err = Journal::open(&path, &events).err().unwrap();
    let message = format!("{err:#}");
    assert!(
        message.contains("state.json is not valid") && message.contains("line 2 is not a record"),
        "{message}"
    );
}

#[tokio::test]
async fn the_old_single_document_format_loads_and_is_left_alone_without_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let old = serde_json::to_string_pretty(&serde_json::json!({
        "customers": [customer("K1", "Graz")],
        "licenses": [],
    }))
    .unwrap();
    // Written by earlier versions: one document, no newline at the end.
    std::fs::write(&path, &old).unwrap();
    let (store, journal) = open(&path, MIN_COMPACT_BYTES);
    assert_eq!(cities(&*store.lock().await), [("K1".into(), "Graz".into())]);
    journal.compact(&store).await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), old);

    // Its first write turns it into a snapshot line, which records can follow.
    write(&store, &journal, customer("K2", "Linz")).await;
    write(&store, &journal, customer("K3", "Wels")).await;
    assert_eq!(lines(&path).len(), 2);
    let (again, _) = open(&path, MIN_COMPACT_BYTES);
    assert_eq!(again.into_inner().customers().len(), 3);
}

#[tokio::test]
async fn the_journal_is_compacted_once_it_outgrows_the_snapshot_and_on_stop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (store, journal) = open(&path, 0);
    write(&store, &journal, customer("K1", "Graz")).await;
    // One customer's snapshot is about as big as one record, so every second write compacts.
    let mut longest = 0;
    for i in 0..20 {
        write(&store, &journal, customer("K1", &format!("City {i}"))).await;
        longest = longest.max(lines(&path).len());
        assert!(
            std::fs::read(&path).unwrap().len() < 600,
            "not compacted after write {i}"
        );
    }
    assert!(longest >= 2, "records are appended between compactions");
    journal.compact(&store).await.unwrap();
    assert_eq!(lines(&path).len(), 1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let (again, _) = open(&path, 0);
    assert_eq!(
        cities(&again.into_inner()),
        [("K1".into(), "City 19".into())]
    );
}

#[tokio::test]
async fn concurrent_writes_share_appends_and_all_survive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (store, journal) = open(&path, MIN_COMPACT_BYTES);
    let shared = Arc::new((store, journal));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let shared = shared.clone();
        tasks.spawn(async move {
            let (store, journal) = &*shared;
            write(store, journal, customer(&format!("C{i}"), "X")).await;
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let (again, _) = open(&path, MIN_COMPACT_BYTES);
    assert_eq!(again.into_inner().customers().len(), 50);
}

#[tokio::test]
async fn a_failed_compaction_fails_no_write_that_is_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (events, seen) = events();
    let loaded = Journal::open_with(&path, &events, 0).unwrap();
    let (store, journal) = (tokio::sync::Mutex::new(loaded.store), loaded.journal);
    write(&store, &journal, customer("K1", "Graz")).await;
    // A directory where the snapshot's temporary file goes: rewriting the file fails.
    let blocker = dir
        .path()
        .join(format!(".state.json.tmp-{}", std::process::id()));
    std::fs::create_dir(&blocker).unwrap();
    // Each write succeeds, though the journal soon outgrows the snapshot and cannot be compacted.
    for city in ["Linz", "Wien", "Enns"] {
        write(&store, &journal, customer("K2", city)).await;
    }
    let seen_now = seen.lock().unwrap().clone();
    assert!(!seen_now.is_empty(), "no compaction was tried");
    assert!(
        seen_now[0].contains("cannot write the state file"),
        "{}",
        seen_now[0]
    );
    let (again, _) = open(&path, 0);
    assert_eq!(
        cities(&again.into_inner()),
        [("K1".into(), "Graz".into()), ("K2".into(), "Enns".into())]
    );

    // Once the file can be written again, the next write rewrites it whole.
    std::fs::remove_dir(&blocker).unwrap();
    write(&store, &journal, customer("K3", "Wels")).await;
    assert_eq!(lines(&path).len(), 1);
    let (again, _) = open(&path, 0);
    assert_eq!(again.into_inner().customers().len(), 3);
}
