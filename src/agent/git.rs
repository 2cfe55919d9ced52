//! `--git URL`: the manifests from a branch of a git repository, fetched in-process (no git
//! program needed in the image) into a bare repository in the cache directory, and the branch
//! head's tree written out once per commit for the loader to read.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};

use super::Secret;

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

impl GitSource {
    /// Fetches the branch, and writes the manifest directory of its head unless written
    /// already. Blocking: run it off the async threads.
    pub fn fetch(&self) -> anyhow::Result<Fetched> {
        check_relative(&self.path)?;
        // HTTPS asks rustls for the process's provider; an error only means one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let repo_dir = self.cache_dir.join("repository.git");
        let repo = if repo_dir.join("HEAD").exists() {
            gix::open(&repo_dir).with_context(|| {
                format!("cannot open the cached repository {}", repo_dir.display())
            })?
        } else {
            std::fs::create_dir_all(&repo_dir)
                .with_context(|| format!("cannot create {}", repo_dir.display()))?;
            gix::init_bare(&repo_dir)
                .with_context(|| format!("cannot create a repository in {}", repo_dir.display()))?
        };
        let tracking = format!("refs/remotes/origin/{}", self.branch);
        let spec = format!("+refs/heads/{}:{tracking}", self.branch);
        let remote = repo
            .remote_at(self.url.as_str())
            .with_context(|| format!("`{}` is not a git URL", self.url))?
            .with_refspecs([spec.as_str()], gix::remote::Direction::Fetch)
            .context("cannot set up the fetch")?;
        let connection = remote
            .connect(gix::remote::Direction::Fetch)
            .with_context(|| format!("cannot connect to {}", self.url))?;
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
            .with_context(|| format!("cannot fetch {} from {}", self.branch, self.url))?
            .receive(gix::progress::Discard, &AtomicBool::new(false))
            .with_context(|| format!("cannot fetch {} from {}", self.branch, self.url))?;
        let mut reference = repo
            .find_reference(tracking.as_str())
            .with_context(|| format!("{} has no branch `{}`", self.url, self.branch))?;
        let id = reference
            .peel_to_id()
            .context("cannot read the branch head")?
            .detach();
        let revision = id.to_string();
        let trees = self.cache_dir.join("trees");
        let written = trees.join(&revision);
        if !written.exists() {
            let partial = trees.join(format!(".{revision}.partial"));
            let _ = std::fs::remove_dir_all(&partial);
            std::fs::create_dir_all(&partial)
                .with_context(|| format!("cannot create {}", partial.display()))?;
            let tree = repo
                .find_commit(id)
                .context("the branch head is not a commit")?
                .tree()
                .context("cannot read the head's tree")?;
            write_tree(&repo, tree, &partial)?;
            std::fs::rename(&partial, &written)
                .with_context(|| format!("cannot write {}", written.display()))?;
        }
        forget_others(&trees, &revision);
        let dir = written.join(&self.path);
        if !dir.is_dir() {
            bail!(
                "{} at {} has no directory `{}`",
                self.url,
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

/// Writes a tree's files and directories below `dir`. Symbolic links and submodules are left
/// out: a manifest directory needs neither, and a link could point outside it.
fn write_tree(repo: &gix::Repository, tree: gix::Tree<'_>, dir: &Path) -> anyhow::Result<()> {
    for entry in tree.iter() {
        let entry = entry.context("cannot read a tree entry")?;
        let name = entry.filename().to_string();
        // git refuses such names too; one that came anyway must not climb out of `dir`.
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
            bail!("the repository holds a file named `{name}`");
        }
        let path = dir.join(&name);
        let mode = entry.mode();
        if mode.is_tree() {
            std::fs::create_dir(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let subtree = repo.find_tree(entry.oid()).context("cannot read a tree")?;
            write_tree(repo, subtree, &path)?;
        } else if mode.is_blob() {
            let blob = repo.find_blob(entry.oid()).context("cannot read a file")?;
            std::fs::write(&path, &blob.data)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
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
