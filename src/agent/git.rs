//! `--git URL`: the manifests from a branch of a git repository, fetched in-process (no git
//! program needed in the image) into a bare repository in the cache directory, and the branch
//! head's tree written out once per commit for the loader to read.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};

use super::Secret;
use crate::manifest::MAX_FILE_BYTES;

/// Where the manifests come from.
#[derive(Debug, Clone)]
pub struct GitSource {
    /// `https://…` or `file://…`.
    pub url: String,
    pub branch: String,
    /// The manifest directory inside the repository (`.` for its root).
    pub path: PathBuf,
    /// The bare repository and the written trees live here.
    pub cache_dir: PathBuf,
    /// Sent as the password of HTTPS requests (with the user `x-access-token`).
    pub token: Option<Secret>,
}

/// The branch head as fetched: where its manifest directory is written, and its commit id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub dir: PathBuf,
    pub revision: String,
}

/// The most files and directories the manifest directory of a commit may hold: a thousand
/// times what 100,000 customers take in the benchmarks' layout, far below what a small
/// repository can name by referring to one tree many times.
pub const MAX_ENTRIES: usize = 100_000;
/// The most bytes the files of the manifest directory may hold together: five times the
/// manifests of 100,000 customers, and below what the loader could hold in memory anyway.
pub const MAX_TREE_BYTES: u64 = 256 * crate::fs::MIB;
/// The largest object the fetch inflates. Indexing a received pack holds each object whole
/// once, wherever in the repository it is; GitHub refuses files above 100 MB.
pub const MAX_OBJECT_BYTES: u64 = 128 * crate::fs::MIB;

impl GitSource {
    /// Refuses a URL that would let anyone on the network choose the manifests (plain `http`
    /// off loopback, `git://`) or that is none, and a `--path` leaving the repository: at
    /// start, before any connection.
    pub fn check(&self) -> anyhow::Result<()> {
        check_url(&self.url)?;
        check_relative(&self.path)
    }

    /// The URL as messages show it: without its user name and password.
    pub fn shown_url(&self) -> String {
        without_credentials(&self.url)
    }

    /// Fetches the branch, and writes the manifest directory of its head unless written
    /// already. Blocking: run it off the async threads.
    pub fn fetch(&self) -> anyhow::Result<Fetched> {
        self.check()?;
        let url = self.shown_url();
        // HTTPS asks rustls for the process's provider; an error only means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let repo_dir = self.cache_dir.join("repository.git");
        if !repo_dir.join("HEAD").exists() {
            std::fs::create_dir_all(&repo_dir)
                .with_context(|| format!("cannot create {}", repo_dir.display()))?;
            gix::init_bare(&repo_dir)
                .with_context(|| format!("cannot create a repository in {}", repo_dir.display()))?;
        }
        let options = gix::open::Options::default()
            .config_overrides([format!("gitoxide.objects.allocLimit={MAX_OBJECT_BYTES}")]);
        let repo = gix::open_opts(&repo_dir, options)
            .with_context(|| format!("cannot open the cached repository {}", repo_dir.display()))?;
        let tracking = format!("refs/remotes/origin/{}", self.branch);
        let spec = format!("+refs/heads/{}:{tracking}", self.branch);
        let remote = repo
            .remote_at(self.url.as_str())
            .with_context(|| format!("`{url}` is not a git URL"))?
            .with_refspecs([spec.as_str()], gix::remote::Direction::Fetch)
            .context("cannot set up the fetch")?;
        let connection = remote
            .connect(gix::remote::Direction::Fetch)
            .with_context(|| format!("cannot connect to {url}"))?;
        let connection = match &self.token {
            Some(token) => {
                let password = token.expose().to_owned();
                connection.with_credentials(move |action| match action {
                    gix::credentials::helper::Action::Get(context) => {
                        Ok(Some(gix::credentials::protocol::Outcome {
                            identity: gix::sec::identity::Account {
                                username: "x-access-token".to_owned(),
                                password: password.clone(),
                                oauth_refresh_token: None,
                            },
                            next: context.into(),
                        }))
                    }
                    _ => Ok(None),
                })
            }
            None => connection,
        };
        connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .with_context(|| format!("cannot fetch {} from {url}", self.branch))?
            .receive(gix::progress::Discard, &AtomicBool::new(false))
            .with_context(|| {
                format!(
                    "cannot fetch {} from {url} (no object may be larger than {} MiB)",
                    self.branch,
                    MAX_OBJECT_BYTES / crate::fs::MIB
                )
            })?;
        let mut reference = repo
            .find_reference(tracking.as_str())
            .with_context(|| format!("{url} has no branch `{}`", self.branch))?;
        let id = reference
            .peel_to_id()
            .context("cannot read the branch head")?
            .detach();
        let revision = id.to_string();
        let trees = self.cache_dir.join("trees");
        let written = trees.join(&revision);
        let dir = written.join(&self.path);
        if !written.exists() {
            let root = repo
                .find_commit(id)
                .context("the branch head is not a commit")?
                .tree()
                .context("cannot read the head's tree")?;
            let no_directory = || {
                anyhow::anyhow!(
                    "{url} at {} has no directory `{}`",
                    short(&revision),
                    self.path.display()
                )
            };
            let inside: PathBuf = self
                .path
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            let tree = if inside.as_os_str().is_empty() {
                root
            } else {
                let entry = root
                    .lookup_entry_by_path(&inside)
                    .context("cannot read the head's tree")?
                    .filter(|entry| entry.mode().is_tree())
                    .ok_or_else(no_directory)?;
                repo.find_tree(entry.oid()).context("cannot read a tree")?
            };
            let listing = list(&repo, tree, &inside)
                .map_err(|refused| anyhow::anyhow!("{url} at {}: {refused}", short(&revision)))?;
            let partial = trees.join(format!(".{revision}.partial"));
            let _ = std::fs::remove_dir_all(&partial);
            let target = partial.join(&self.path);
            std::fs::create_dir_all(&target)
                .with_context(|| format!("cannot create {}", target.display()))?;
            write(&repo, &listing, &target)?;
            std::fs::rename(&partial, &written)
                .with_context(|| format!("cannot write {}", written.display()))?;
        }
        forget_others(&trees, &revision);
        if !dir.is_dir() {
            bail!(
                "{url} at {} has no directory `{}`",
                short(&revision),
                self.path.display()
            );
        }
        Ok(Fetched { dir, revision })
    }
}

/// A commit id as people write it.
pub fn short(revision: &str) -> &str {
    revision.get(..12).unwrap_or(revision)
}

/// `--path` stays inside the repository.
fn check_relative(path: &Path) -> anyhow::Result<()> {
    let inside = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        bail!(
            "--path must be a directory inside the repository, not `{}`",
            path.display()
        );
    }
    Ok(())
}

/// `https://` and `file://`, and plain `http://` only to loopback (the rule `api_url` follows):
/// whoever is on the path of plain `http` or `git://` chooses what an applying agent writes with
/// the admin key.
fn check_url(url: &str) -> anyhow::Result<()> {
    let shown = without_credentials(url);
    let parsed = url::Url::parse(url).map_err(|err| {
        anyhow::anyhow!("--git `{shown}` is not a URL ({err}); give an https:// or file:// URL")
    })?;
    match parsed.scheme() {
        "https" | "file" => Ok(()),
        "http" if crate::remote::client::is_loopback(&parsed) => Ok(()),
        "http" => bail!(
            "--git `{shown}` uses plain http; only https:// and file:// are allowed (plain http only for loopback addresses): anyone on the way could choose the manifests"
        ),
        other => bail!(
            "--git `{shown}` uses `{other}:`; only https:// and file:// are allowed: anyone on the way could choose the manifests"
        ),
    }
}

/// `url` with the user name and password of its authority replaced by `<redacted>`. Works on
/// the text as given, so that a URL the parser refuses is shown without them too.
pub fn without_credentials(url: &str) -> String {
    let Some(after) = url.find("://").map(|at| at + 3) else {
        return url.to_owned();
    };
    let authority = url[after..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |end| after + end);
    match url[after..authority].rfind('@') {
        Some(at) => format!("{}<redacted>{}", &url[..after], &url[after + at..]),
        None => url.to_owned(),
    }
}

/// What the manifest directory of a commit holds, as it will be written: directories before
/// what they hold.
#[derive(Debug, Default)]
struct Listing {
    dirs: Vec<PathBuf>,
    files: Vec<(PathBuf, gix::ObjectId)>,
}

/// Lists the tree of the manifest directory `path` (inside the repository) from the objects'
/// headers alone, so that no blob is read before it is known to fit. Every entry that cannot be
/// written (a link, a submodule, a file above the limit, a name that would climb out) is named;
/// past [`MAX_ENTRIES`] or [`MAX_TREE_BYTES`] the listing stops.
fn list(repo: &gix::Repository, tree: gix::Tree<'_>, path: &Path) -> Result<Listing, String> {
    const NAMED: usize = 20;
    let shown = |relative: &Path| {
        crate::text::shown(&path.join(relative).display().to_string()).into_owned()
    };
    let place = if path.as_os_str().is_empty() {
        "the repository".to_owned()
    } else {
        format!("`{}`", crate::text::shown(&path.display().to_string()))
    };
    let mut listing = Listing::default();
    let mut refused = Vec::new();
    let mut bytes = 0u64;
    let mut pending = vec![(PathBuf::new(), tree.id)];
    while let Some((dir, id)) = pending.pop() {
        let tree = repo
            .find_tree(id)
            .map_err(|err| format!("cannot read the tree of `{}`: {err}", shown(&dir)))?;
        for entry in tree.iter() {
            let entry = entry.map_err(|err| format!("cannot read a tree entry: {err}"))?;
            let name = entry.filename().to_string();
            let relative = dir.join(&name);
            // git refuses such names too; one that came anyway must not climb out of the
            // directory written.
            if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
                refused.push(format!("{}: a name no file may have", shown(&relative)));
                continue;
            }
            if listing.dirs.len() + listing.files.len() >= MAX_ENTRIES {
                return Err(format!(
                    "{place} holds more than {MAX_ENTRIES} files and directories, the most the agent writes"
                ));
            }
            let mode = entry.mode();
            if mode.is_tree() {
                listing.dirs.push(relative.clone());
                pending.push((relative, entry.oid().to_owned()));
            } else if mode.is_link() {
                refused.push(format!(
                    "{}: a symbolic link; the agent writes no links from a repository, commit the file itself",
                    shown(&relative)
                ));
            } else if mode.is_commit() {
                refused.push(format!(
                    "{}: a submodule; the agent fetches no submodules, commit its files instead",
                    shown(&relative)
                ));
            } else {
                let size = repo
                    .find_header(entry.oid())
                    .map_err(|err| format!("cannot read `{}`: {err}", shown(&relative)))?
                    .size();
                if size > MAX_FILE_BYTES {
                    refused.push(format!(
                        "{}: {} MiB, larger than {} MiB, the most a manifest file may hold",
                        shown(&relative),
                        size.div_ceil(crate::fs::MIB),
                        MAX_FILE_BYTES / crate::fs::MIB
                    ));
                    continue;
                }
                bytes += size;
                if bytes > MAX_TREE_BYTES {
                    return Err(format!(
                        "the files of {place} hold more than {} MiB together, the most the agent writes",
                        MAX_TREE_BYTES / crate::fs::MIB
                    ));
                }
                listing.files.push((relative, entry.oid().to_owned()));
            }
        }
    }
    if refused.is_empty() {
        return Ok(listing);
    }
    refused.sort();
    let more = refused.len().saturating_sub(NAMED);
    refused.truncate(NAMED);
    if more > 0 {
        refused.push(format!("and {more} more"));
    }
    Err(format!(
        "{place} holds what the agent does not write:\n  {}",
        refused.join("\n  ")
    ))
}

/// Writes what [`list`] found below `dir`, one blob in memory at a time (each within
/// [`MAX_FILE_BYTES`]).
fn write(repo: &gix::Repository, listing: &Listing, dir: &Path) -> anyhow::Result<()> {
    for relative in &listing.dirs {
        let path = dir.join(relative);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
    }
    for (relative, id) in &listing.files {
        let path = dir.join(relative);
        let blob = repo
            .find_blob(*id)
            .with_context(|| format!("cannot read {}", relative.display()))?;
        std::fs::write(&path, &blob.data)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Removes the trees written for other commits: only the head's is read again.
fn forget_others(trees: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(trees) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name() != keep {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_credentials() {
        for (url, shown) in [
            (
                "https://ghp_token@github.com/acme/licensing.git",
                "https://<redacted>@github.com/acme/licensing.git",
            ),
            (
                "https://ci:p%40ss@host/a@b?c@d",
                "https://<redacted>@host/a@b?c@d",
            ),
            ("https://ci:p@ss@host/x", "https://<redacted>@host/x"),
            (
                "file:///srv/git/licensing.git",
                "file:///srv/git/licensing.git",
            ),
            ("git@github.com:acme/x.git", "git@github.com:acme/x.git"),
        ] {
            assert_eq!(without_credentials(url), shown, "{url}");
        }
    }

    #[test]
    fn only_https_file_and_loopback_http_are_taken() {
        for url in [
            "https://github.com/acme/licensing.git",
            "file:///srv/git/licensing.git",
            "http://127.0.0.1:3000/licensing.git",
            "http://[::1]:3000/licensing.git",
            "http://localhost/licensing.git",
        ] {
            assert!(check_url(url).is_ok(), "{url}");
        }
        for url in [
            "http://github.com/acme/licensing.git",
            "http://localhost.example.com/licensing.git",
            "git://127.0.0.1/licensing.git",
            "ssh://git@github.com/acme/licensing.git",
            "git@github.com:acme/licensing.git",
            "licensing.git",
        ] {
            assert!(check_url(url).is_err(), "{url}");
        }
    }
}
