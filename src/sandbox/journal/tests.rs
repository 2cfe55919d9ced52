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
        product_id: argus(),
        legacy_license_key: Some(key.into()),
        ..LicenseDto::default()
    }
}

/// A catalog of one product, Argus, which the licenses here are of.
fn catalog() -> Catalog {
    Catalog::from_yaml_str("products:\n  - name: Argus\n", "catalog.yaml").unwrap()
}

fn argus() -> Uuid {
    catalog().products[0].dto.id
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
    let loaded = Journal::open_with(path, &events, &catalog(), min_compact_bytes).unwrap();
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
    let loaded = Journal::open(&path, &events, &catalog()).unwrap();
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
    let err = Journal::open(&path, &events, &catalog()).err().unwrap();
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
    let loaded = Journal::open_with(&path, &events, &catalog(), 0).unwrap();
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

#[tokio::test]
async fn a_whole_last_record_without_its_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (store, journal) = open(&path, MIN_COMPACT_BYTES);
    write(&store, &journal, customer("K1", "Graz")).await;
    drop(journal);
    // The last record whole, only its newline missing (as a hand-edited file often ends).
    let mut line = Line::of(&Entry::Customer(&customer("K2", "Linz")))
        .unwrap()
        .0;
    assert_eq!(line.pop(), Some(b'\n'));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(&line).unwrap();
    drop(file);

    let (events, seen) = events();
    let loaded = Journal::open(&path, &events, &catalog()).unwrap();
    assert_eq!(
        cities(&loaded.store),
        [("K1".into(), "Graz".into()), ("K2".into(), "Linz".into())]
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    // The next write does not run on into that line: it rewrites the file first.
    let store = tokio::sync::Mutex::new(loaded.store);
    write(&store, &loaded.journal, customer("K3", "Wels")).await;
    let (again, _) = open(&path, MIN_COMPACT_BYTES);
    assert_eq!(again.into_inner().customers().len(), 3);
    assert!(std::fs::read(&path).unwrap().ends_with(b"\n"));
}

/// Records the sandbox would have refused refuse to load, each naming its line: a license of a
/// customer the state does not hold or of a product the catalog does not, a contact or usage
/// of nothing, a customer number another customer holds. In the snapshot, the entry is named.
#[test]
fn records_that_point_at_nothing_refuse_to_load_naming_the_line() {
    let owner = customer("K1", "Graz");
    let stranger = Uuid::from_u128(99);
    let mut orphan = license(stranger, "KEY-1");
    orphan.customer_id = stranger;
    let mut unknown_product = license(owner.id, "KEY-2");
    unknown_product.product_id = stranger;
    let twin = CustomerDto {
        id: Uuid::from_u128(5),
        ..customer("K1", "Linz")
    };
    let contact = CustomerContactDto {
        id: Uuid::from_u128(9),
        customer_id: stranger,
        name: "Anna".into(),
        surname: "Roth".into(),
        email: "anna@example.com".into(),
        ..CustomerContactDto::default()
    };
    let usage = UsageRecord::new(stranger, Usage::default());
    let line = |entry: Entry<'_>| String::from_utf8(Line::of(&entry).unwrap().0).unwrap();
    let snapshot = |json: serde_json::Value| format!("{json}\n");
    let owner_line = line(Entry::Customer(&owner));
    let cases = [
        (
            format!("{{}}\n{owner_line}{}", line(Entry::License(&orphan))),
            format!(
                "line 3: license {} belongs to customer {stranger}, which the state file does not hold",
                orphan.id
            ),
        ),
        (
            format!(
                "{{}}\n{owner_line}{}",
                line(Entry::License(&unknown_product))
            ),
            format!(
                "line 3: license {} is of product {stranger}, which the catalog does not hold",
                unknown_product.id
            ),
        ),
        (
            format!("{{}}\n{owner_line}{}", line(Entry::Customer(&twin))),
            format!(
                "line 3: customer {} has the customer number \"K1\" of customer {}",
                twin.id, owner.id
            ),
        ),
        (
            format!("{{}}\n{}", line(Entry::Contact(&contact))),
            format!(
                "line 2: contact {} belongs to customer {stranger}, which the state file does not hold",
                contact.id
            ),
        ),
        (
            // The last line, without its newline: whole, so checked like the others.
            format!("{{}}\n{}", line(Entry::Usage(usage)).trim_end()),
            format!("line 2: usage of license {stranger}, which the state file does not hold"),
        ),
        (
            snapshot(serde_json::json!({"customers": [owner, twin]})),
            format!(
                "line 1, the snapshot's customers[1]: customer {} has the customer number \"K1\" of customer {}",
                twin.id, owner.id
            ),
        ),
        (
            snapshot(serde_json::json!({"customers": [owner], "licenses": [orphan]})),
            format!(
                "line 1, the snapshot's licenses[0]: license {} belongs to customer {stranger}, which the state file does not hold",
                orphan.id
            ),
        ),
        (
            snapshot(serde_json::json!({"usage": {stranger.to_string(): {"tokens": 1}}})),
            format!("line 1, the snapshot's usage: license {stranger} is not among its licenses"),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (events, _) = events();
    for (text, expected) in cases {
        std::fs::write(&path, &text).unwrap();
        let err = Journal::open(&path, &events, &catalog()).err().unwrap();
        let message = format!("{err:#}");
        assert_eq!(
            message,
            format!("the state file {} is not valid: {expected}", path.display()),
            "{text}"
        );
        // Nothing was rewritten.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}
