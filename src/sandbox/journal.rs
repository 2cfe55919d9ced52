//! The state file: a snapshot of the whole state on its first line, then one line per write
//! committed since (a journal). A write costs one appended line and one fsync, whatever the size
//! of the state; the file is rewritten as a fresh snapshot only when the journal has grown as big
//! as the snapshot (so rewriting costs each write a constant share), and when the sandbox stops.
//!
//! ```text
//! {"customers":[…],"licenses":[…],"contacts":[…],"usage":{…}}
//! {"customer":{…CustomerDto…}}
//! {"license":{…LicenseDto…}}
//! {"contact":{…CustomerContactDto…}}
//! {"usage":{"license_id":"…","tokens":1,"users":0,"floating_tokens":0}}
//! ```
//!
//! A record holds the whole object as stored, so replaying it is "insert, or replace the one with
//! this id". A record is appended in one `write` and ends with a newline; a last line without
//! one that holds a whole record is kept (only its newline is missing, as in a file edited by
//! hand), and one that breaks off is a write that was never answered (the process died while
//! appending) and is dropped with a warning. A snapshot is written beside the file and renamed
//! over it, so it is never torn. The earlier format, the snapshot alone (pretty-printed or not),
//! is a state file without records.
//!
//! What the sandbox would have refused is refused on load too, naming the line (or the
//! snapshot's entry): a license whose customer the state does not hold or whose product the
//! catalog does not, a contact of no customer, the usage of no license, and a customer number
//! another customer holds. Loaded in silence, such a state would answer listings no SLASCONE
//! could.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::EventSink;
use super::catalog::Catalog;
use super::store::{StateFile, Store, Usage};
use crate::remote::wire::{CustomerContactDto, CustomerDto, LicenseDto};

/// The journal is compacted once it is larger than the snapshot, but never below this size, so a
/// small state is not rewritten every few writes.
const MIN_COMPACT_BYTES: u64 = 64 * 1024;

/// One journal line, borrowed from what the store holds.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Entry<'a> {
    Customer(&'a CustomerDto),
    License(&'a LicenseDto),
    Contact(&'a CustomerContactDto),
    Usage(UsageRecord),
}

/// One journal line as read back.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Record {
    Customer(CustomerDto),
    License(LicenseDto),
    Contact(CustomerContactDto),
    Usage(UsageRecord),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsageRecord {
    pub(crate) license_id: Uuid,
    #[serde(default)]
    pub(crate) tokens: u32,
    /// `None`: SLASCONE does not say (the reference allows null).
    #[serde(default = "super::store::none_in_use")]
    pub(crate) users: Option<u32>,
    #[serde(default = "super::store::none_in_use")]
    pub(crate) floating_tokens: Option<u32>,
}

impl UsageRecord {
    pub(crate) fn new(license_id: Uuid, usage: Usage) -> UsageRecord {
        UsageRecord {
            license_id,
            tokens: usage.tokens,
            users: usage.users,
            floating_tokens: usage.floating_tokens,
        }
    }
}

/// A journal line, serialised before the store changes so a change is never kept in memory
/// without a line that can be written.
pub(crate) struct Line(Vec<u8>);

impl Line {
    pub(crate) fn of(entry: &Entry<'_>) -> serde_json::Result<Line> {
        let mut bytes = serde_json::to_vec(entry)?;
        bytes.push(b'\n');
        Ok(Line(bytes))
    }
}

/// Lines taken while the store was locked, in the order the store changed, not yet written.
#[derive(Default)]
struct Staged {
    bytes: Vec<u8>,
    /// Lines staged since the start, this one included.
    seq: u64,
}

struct Writer {
    /// Open for appending; `None` until the first write, and after a failed append.
    file: Option<File>,
    /// The file as loaded ends with a whole line, so the first write may append to it (opened
    /// then, so that a sandbox that only reads never needs write access to it).
    appendable: bool,
    /// The last staged line that is on disk.
    durable: u64,
    journal_bytes: u64,
    snapshot_bytes: u64,
    /// The file holds records or a torn line, so stopping should compact it.
    has_journal: bool,
}

/// The state file of a running sandbox.
pub(crate) struct Journal {
    path: PathBuf,
    /// Where a failed compaction is reported: the write that triggered it succeeded.
    events: EventSink,
    staged: Mutex<Staged>,
    writer: tokio::sync::Mutex<Writer>,
    min_compact_bytes: u64,
}

/// A loaded state file: the state, and the journal its writes go to.
pub(crate) struct Loaded {
    pub(crate) store: Store,
    pub(crate) journal: Journal,
}

impl Journal {
    /// Loads the state file at `path` if it exists (snapshot, then each record replayed) and
    /// opens it for the writes to come. A torn last record is reported through `events`; one
    /// pointing at what neither the state nor `catalog` holds is an error naming its line.
    pub(crate) fn open(
        path: &Path,
        events: &EventSink,
        catalog: &Catalog,
    ) -> anyhow::Result<Loaded> {
        Journal::open_with(path, events, catalog, MIN_COMPACT_BYTES)
    }

    fn open_with(
        path: &Path,
        events: &EventSink,
        catalog: &Catalog,
        min_compact_bytes: u64,
    ) -> anyhow::Result<Loaded> {
        let mut writer = Writer {
            file: None,
            appendable: false,
            durable: 0,
            journal_bytes: 0,
            snapshot_bytes: 0,
            has_journal: false,
        };
        let store = if path.exists() {
            let bytes = crate::fs::read_input(path, crate::fs::MAX_SANDBOX_BYTES)
                .with_context(|| format!("cannot read the state file {}", path.display()))?;
            let replayed = replay(&bytes, catalog)
                .with_context(|| format!("the state file {} is not valid", path.display()))?;
            if let Some(line) = replayed.torn_line {
                events(&format!(
                    "the state file {} ends in an incomplete record (line {line}), a write that \
                     was never answered; it is dropped",
                    path.display()
                ));
            }
            writer.snapshot_bytes = replayed.snapshot_bytes as u64;
            writer.journal_bytes = (bytes.len() - replayed.snapshot_bytes) as u64;
            writer.has_journal = replayed.records > 0 || replayed.torn_line.is_some();
            // Appending is safe only after a whole, newline-terminated file; otherwise the first
            // write rewrites it as a snapshot.
            writer.appendable = replayed.torn_line.is_none() && bytes.ends_with(b"\n");
            replayed.store
        } else {
            Store::default()
        };
        Ok(Loaded {
            store,
            journal: Journal {
                path: path.to_owned(),
                events: events.clone(),
                staged: Mutex::new(Staged::default()),
                writer: tokio::sync::Mutex::new(writer),
                min_compact_bytes,
            },
        })
    }

    /// Queues the line of a change the store has just taken; call it with the store still
    /// locked, so lines queue in the order the store changed. Returns its sequence number.
    pub(crate) fn stage(&self, line: Line) -> u64 {
        let mut staged = self.staged.lock().unwrap_or_else(PoisonError::into_inner);
        staged.bytes.extend_from_slice(&line.0);
        staged.seq += 1;
        staged.seq
    }

    /// Returns once line `seq` is on disk. Lines staged meanwhile share the write and the fsync;
    /// when the journal has outgrown the snapshot, the file is compacted instead.
    pub(crate) async fn flush(
        &self,
        store: &tokio::sync::Mutex<Store>,
        seq: u64,
    ) -> anyhow::Result<()> {
        let mut writer = self.writer.lock().await;
        if writer.durable >= seq {
            return Ok(());
        }
        let file = match writer.file.take() {
            Some(file) => file,
            None if writer.appendable => std::fs::OpenOptions::new()
                .append(true)
                .open(&self.path)
                .with_context(|| format!("cannot open the state file {}", self.path.display()))?,
            None => return self.compact_locked(&mut writer, store).await,
        };
        // From here on, a failed append leaves the file to be rewritten, not appended to.
        writer.appendable = false;
        let (bytes, last) = {
            let mut staged = self.staged.lock().unwrap_or_else(PoisonError::into_inner);
            (std::mem::take(&mut staged.bytes), staged.seq)
        };
        let path = self.path.clone();
        let len = bytes.len() as u64;
        writer.has_journal = true;
        // On failure the file stays taken: what reached the disk may end in part of a line, so
        // the next write rewrites the file from the store, which holds every staged change.
        let file = tokio::task::spawn_blocking(move || {
            let mut file = file;
            file.write_all(&bytes)?;
            file.sync_data()?;
            Ok::<_, std::io::Error>(file)
        })
        .await?
        .with_context(|| format!("cannot append to the state file {}", path.display()))?;
        writer.file = Some(file);
        writer.durable = last;
        writer.journal_bytes += len;
        if writer.journal_bytes > writer.snapshot_bytes.max(self.min_compact_bytes)
            && let Err(err) = self.compact_locked(&mut writer, store).await
        {
            // The write is on disk already; the next write rewrites the file instead.
            (self.events)(&format!("{err:#}"));
        }
        Ok(())
    }

    /// Rewrites the file as one snapshot of the store, if it holds anything else.
    pub(crate) async fn compact(&self, store: &tokio::sync::Mutex<Store>) -> anyhow::Result<()> {
        let mut writer = self.writer.lock().await;
        let staged = !self
            .staged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes
            .is_empty();
        if writer.has_journal || staged {
            self.compact_locked(&mut writer, store).await?;
        }
        Ok(())
    }

    async fn compact_locked(
        &self,
        writer: &mut Writer,
        store: &tokio::sync::Mutex<Store>,
    ) -> anyhow::Result<()> {
        let (mut bytes, taken, seq) = {
            let store = store.lock().await;
            let bytes = store.to_json()?;
            let mut staged = self.staged.lock().unwrap_or_else(PoisonError::into_inner);
            // The snapshot holds every staged change: the store took them before their lines.
            (bytes, std::mem::take(&mut staged.bytes), staged.seq)
        };
        bytes.push(b'\n');
        let len = bytes.len() as u64;
        let path = self.path.clone();
        let written =
            tokio::task::spawn_blocking(move || crate::fs::write_atomically(&path, &bytes)).await?;
        if let Err(err) = written {
            // The file is as it was, so the lines it lacks go back to be appended, ahead of any
            // staged since.
            let mut staged = self.staged.lock().unwrap_or_else(PoisonError::into_inner);
            let later = std::mem::replace(&mut staged.bytes, taken);
            staged.bytes.extend_from_slice(&later);
            return Err(anyhow::Error::new(err).context(format!(
                "cannot write the state file {}",
                self.path.display()
            )));
        }
        // The snapshot is in place; a handle still open appends to the file it replaced.
        *writer = Writer {
            file: None,
            appendable: true,
            durable: seq,
            journal_bytes: 0,
            snapshot_bytes: len,
            has_journal: false,
        };
        let path = self.path.clone();
        let file = tokio::task::spawn_blocking(move || {
            sync_parent(&path)?;
            std::fs::OpenOptions::new().append(true).open(&path)
        })
        .await?
        .with_context(|| format!("cannot write the state file {}", self.path.display()))?;
        writer.file = Some(file);
        Ok(())
    }
}

/// Makes a rename in the directory durable (where the platform allows opening a directory).
fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

struct Replayed {
    store: Store,
    snapshot_bytes: usize,
    records: usize,
    /// The 1-based line of a last record without its newline.
    torn_line: Option<usize>,
}

fn replay(bytes: &[u8], catalog: &Catalog) -> anyhow::Result<Replayed> {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<StateFile>();
    let snapshot = match stream.next() {
        Some(snapshot) => snapshot?,
        None => anyhow::bail!("it is empty"),
    };
    let mut offset = stream.byte_offset();
    // The rest of the snapshot's line belongs to it.
    match bytes[offset..].iter().position(|&b| b == b'\n') {
        Some(end)
            if bytes[offset..offset + end]
                .iter()
                .all(u8::is_ascii_whitespace) =>
        {
            offset += end + 1;
        }
        Some(_) => anyhow::bail!("the snapshot is followed by more on its line"),
        None if bytes[offset..].iter().all(u8::is_ascii_whitespace) => offset = bytes.len(),
        None => anyhow::bail!("the snapshot is followed by more on its line"),
    }
    let snapshot_bytes = offset;
    let mut store = Store::default();
    load_snapshot(&mut store, catalog, snapshot)?;
    let mut line_number = bytes[..offset].iter().filter(|&&b| b == b'\n').count();
    let mut records = 0;
    let mut torn_line = None;
    let mut rest = &bytes[offset..];
    while !rest.is_empty() {
        line_number += 1;
        let (line, last) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let line = &rest[..end];
                rest = &rest[end + 1..];
                (line, false)
            }
            None => (std::mem::take(&mut rest), true),
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: Record = match serde_json::from_slice(line) {
            Ok(record) => record,
            // Broken off: a write that was never answered.
            Err(err) if last && err.is_eof() => {
                torn_line = Some(line_number);
                break;
            }
            Err(err) => {
                return Err(
                    anyhow::Error::new(err).context(format!("line {line_number} is not a record"))
                );
            }
        };
        if let Some(why) = points_at_nothing(&store, catalog, &record) {
            anyhow::bail!("line {line_number}: {why}");
        }
        take(&mut store, record);
        records += 1;
    }
    Ok(Replayed {
        store,
        snapshot_bytes,
        records,
        torn_line,
    })
}

/// The snapshot's objects into `store`, each checked as a record would be; an error names the
/// entry (the snapshot may be the earlier, pretty-printed format, so a line says little).
fn load_snapshot(store: &mut Store, catalog: &Catalog, snapshot: StateFile) -> anyhow::Result<()> {
    let StateFile {
        customers,
        licenses,
        contacts,
        usage,
    } = snapshot;
    let records = (customers.into_iter().map(Record::Customer).enumerate())
        .map(|(n, record)| (("customers", n), record))
        .chain(
            (licenses.into_iter().map(Record::License).enumerate())
                .map(|(n, record)| (("licenses", n), record)),
        )
        .chain(
            (contacts.into_iter().map(Record::Contact).enumerate())
                .map(|(n, record)| (("contacts", n), record)),
        );
    for ((list, n), record) in records {
        if let Some(why) = points_at_nothing(store, catalog, &record) {
            anyhow::bail!("line 1, the snapshot's {list}[{n}]: {why}");
        }
        take(store, record);
    }
    for (license_id, usage) in usage {
        if store.license_index(license_id).is_none() {
            anyhow::bail!(
                "line 1, the snapshot's usage: license {license_id} is not among its licenses"
            );
        }
        store.set_usage(license_id, usage);
    }
    Ok(())
}

/// Why `record` cannot join `store`: what it points at is not there, or its customer number is
/// another customer's. The sandbox refuses each of these writes, so a state file holding one
/// was not written by it alone.
fn points_at_nothing(store: &Store, catalog: &Catalog, record: &Record) -> Option<String> {
    let no_customer = |id: Uuid| store.customer_index(id).is_none();
    match record {
        Record::Customer(customer) => {
            let number = customer
                .customer_number
                .as_deref()
                .filter(|n| !n.is_empty())?;
            let other = store.customer(store.customer_by_number(number)?).id;
            (other != customer.id).then(|| {
                format!(
                    "customer {} has the customer number {number:?} of customer {other}",
                    customer.id
                )
            })
        }
        Record::License(license) if no_customer(license.customer_id) => Some(format!(
            "license {} belongs to customer {}, which the state file does not hold",
            license.id, license.customer_id
        )),
        Record::License(license) if catalog.product(license.product_id).is_none() => Some(format!(
            "license {} is of product {}, which the catalog does not hold",
            license.id, license.product_id
        )),
        Record::License(_) => None,
        Record::Contact(contact) => no_customer(contact.customer_id).then(|| {
            format!(
                "contact {} belongs to customer {}, which the state file does not hold",
                contact.id, contact.customer_id
            )
        }),
        Record::Usage(usage) => store.license_index(usage.license_id).is_none().then(|| {
            format!(
                "usage of license {}, which the state file does not hold",
                usage.license_id
            )
        }),
    }
}

fn take(store: &mut Store, record: Record) {
    match record {
        Record::Customer(customer) => store.upsert_customer(customer),
        Record::License(license) => store.upsert_license(license),
        Record::Contact(contact) => store.upsert_contact(contact),
        Record::Usage(usage) => store.set_usage(
            usage.license_id,
            Usage {
                tokens: usage.tokens,
                users: usage.users,
                floating_tokens: usage.floating_tokens,
            },
        ),
    }
}

#[cfg(test)]
mod tests;
