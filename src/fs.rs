//! Reading input files within a size limit and only when they are regular files, and writing
//! files so that a reader (or a crash) never sees half of one.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: a temporary file beside it, written, flushed and synced,
/// then renamed over the old one, so a killed process leaves either file whole. The temporary
/// file is removed again when anything fails.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temporary(path)?;
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.flush()?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes many files, each atomically as [`write_atomically`] does, with their syncs in flight
/// together instead of one after another (a sync costs milliseconds, minutes for a hundred
/// thousand files in a row; a journaling file system commits syncs that arrive together at
/// once): every file is written and synced under its temporary name by a few threads, then each
/// is renamed into place. Only these files are synced, so the cost does not grow with what else
/// the machine is writing. A crash leaves every file old or new, never torn; the temporary files
/// are removed when anything fails before the renames.
pub fn write_all_atomically(files: &[(&Path, &[u8])]) -> std::io::Result<()> {
    let temporaries = files
        .iter()
        .map(|(path, _)| temporary(path))
        .collect::<std::io::Result<Vec<PathBuf>>>()?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::Mutex::new(None);
    let threads = SYNC_THREADS.min(files.len());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let (Some((_, bytes)), Some(tmp)) = (files.get(index), temporaries.get(index))
                    else {
                        return;
                    };
                    let written = (|| {
                        let mut file = std::fs::File::create(tmp)?;
                        file.write_all(bytes)?;
                        file.sync_all()
                    })();
                    if let Err(err) = written {
                        failed
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(err);
                        // The others stop at their next file.
                        next.store(files.len(), std::sync::atomic::Ordering::Relaxed);
                        return;
                    }
                }
            });
        }
    });
    if let Some(err) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        for tmp in &temporaries {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(err);
    }
    for (tmp, (path, _)) in temporaries.iter().zip(files) {
        std::fs::rename(tmp, path)?;
    }
    Ok(())
}

/// Files [`write_all_atomically`] writes and syncs at once.
const SYNC_THREADS: usize = 16;

/// The temporary name `path` is written under before it is renamed into place.
fn temporary(path: &Path) -> std::io::Result<PathBuf> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(name) = path.file_name() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        ));
    };
    Ok(dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

/// 1 MiB, for stating limits.
pub const MIB: u64 = 1 << 20;

/// The largest saved plan `apply --plan` reads (a plan of 100,000 changes is some 100 MiB).
pub const MAX_PLAN_BYTES: u64 = 1024 * MIB;
/// The largest CSV file `import-csv` reads.
pub const MAX_CSV_BYTES: u64 = 256 * MIB;
/// The largest sandbox catalog or sandbox state file read.
pub const MAX_SANDBOX_BYTES: u64 = 1024 * MIB;
/// The largest CI event file read (GitHub's are a few KiB).
pub const MAX_EVENT_BYTES: u64 = 16 * MIB;

/// Reads an input file whole, if it is a regular file (a symbolic link to one is followed) of at
/// most `limit` bytes. A FIFO, device, socket or directory is refused before it is opened: a
/// FIFO would block the read until someone writes to it, `/dev/zero` never ends. The errors
/// say what the path is instead; the caller names the path.
pub fn read_input(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(not_regular(&metadata));
    }
    if metadata.len() > limit {
        return Err(too_large(limit));
    }
    let file = std::fs::File::open(path)?;
    // The path may have been replaced between the two looks: check what was opened.
    let opened = file.metadata()?;
    if !opened.is_file() {
        return Err(not_regular(&opened));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len().min(limit)).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// [`read_input`] as UTF-8 text.
pub fn read_input_text(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_input(path, limit)?).map_err(|err| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not valid UTF-8 (byte {}); save the file as UTF-8",
                err.utf8_error().valid_up_to()
            ),
        )
    })
}

fn too_large(limit: u64) -> std::io::Error {
    let size = if limit >= MIB && limit.is_multiple_of(MIB) {
        format!("{} MiB", limit / MIB)
    } else {
        format!("{limit} bytes")
    };
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!("larger than {size}, the most this file may hold"),
    )
}

fn not_regular(metadata: &std::fs::Metadata) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("not a regular file but {}", kind(metadata)),
    )
}

/// What a path that is no regular file is, for messages.
pub fn kind(metadata: &std::fs::Metadata) -> &'static str {
    let file_type = metadata.file_type();
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_files_are_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        std::fs::write(&a, "old a").unwrap();
        write_all_atomically(&[(&a, b"new a"), (&b, b"new b")]).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
        // One file cannot be written: none is, and no temporary file is left.
        let nowhere = dir.path().join("missing/c.yaml");
        let err = write_all_atomically(&[(&a, b"newer a"), (&nowhere, b"c")]);
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.yaml", "b.yaml"]);
    }

    #[test]
    fn inputs_are_regular_files_within_their_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, "0123456789").unwrap();
        assert_eq!(read_input(&path, 10).unwrap(), b"0123456789");
        let err = read_input(&path, 9).unwrap_err().to_string();
        assert_eq!(err, "larger than 9 bytes, the most this file may hold");
        let err = read_input(dir.path(), 10).unwrap_err().to_string();
        assert_eq!(err, "not a regular file but a directory");
        #[cfg(unix)]
        {
            let started = std::time::Instant::now();
            let err = read_input(Path::new("/dev/zero"), MIB).unwrap_err();
            assert_eq!(err.to_string(), "not a regular file but a character device");
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            assert!(read_input(&link, MIB).is_err());
            let fifo = dir.path().join("fifo.csv");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|status| status.success()) {
                let err = read_input(&fifo, MIB).unwrap_err();
                assert_eq!(err.to_string(), "not a regular file but a FIFO");
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
            let dangling = dir.path().join("gone.csv");
            std::os::unix::fs::symlink(dir.path().join("nothing"), &dangling).unwrap();
            assert!(read_input(&dangling, MIB).is_err());
        }
    }

    #[test]
    fn replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("no-such-dir/state.json");
        assert!(write_atomically(&missing, b"x").is_err());
        assert!(write_atomically(dir.path(), b"x").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
