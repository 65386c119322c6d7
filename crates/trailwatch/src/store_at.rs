//! Where the store is, resolved once per command: a local directory, or a store on object
//! storage (`s3://bucket/prefix`, `az://container/prefix`), which commands read and write
//! through its local working copy (trailwatch-remote): readers pull it first, writers take
//! the store's lease, pull, write the copy, push, and give the lease back.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use trailwatch_escape as escape;
use trailwatch_remote::{Protection, PullReport, PushReport, RemoteConfig, StoreUrl, WorkingCopy};
use trailwatch_watch::config::StoreSection;

/// A store location (see the module doc).
pub(crate) enum StoreAt {
    Local(PathBuf),
    Remote {
        config: Box<RemoteConfig>,
        /// The working copy's folder.
        copy: PathBuf,
    },
}

impl StoreAt {
    /// `given` (`--store`, `[store] dir`), else `$TRAILWATCH_STORE`, else `./trailwatch-data`;
    /// a URL is reached with `section`'s keys, its working copy below `state` (`[state] dir`,
    /// default `$XDG_CACHE_HOME/trailwatch`).
    pub fn resolve(
        given: Option<&Path>,
        section: &StoreSection,
        state: Option<&Path>,
    ) -> Result<StoreAt> {
        let dir = trailwatch_store::resolve_dir(given);
        let Some(url) = StoreUrl::parse(&dir.to_string_lossy()) else {
            return Ok(StoreAt::Local(dir));
        };
        let url = url.map_err(|e| anyhow::anyhow!("--store {e}"))?;
        let state = state
            .map(Path::to_path_buf)
            .unwrap_or_else(trailwatch_remote::default_state_dir);
        let copy = trailwatch_remote::working_dir(&state, &url);
        let config = section.remote(url).map_err(anyhow::Error::msg)?;
        Ok(StoreAt::Remote {
            config: Box::new(config),
            copy,
        })
    }

    /// The store as `--store` names it.
    pub fn name(&self) -> String {
        match self {
            StoreAt::Local(d) => d.display().to_string(),
            StoreAt::Remote { config, .. } => config.url.to_string(),
        }
    }

    /// Whether the store is on object storage.
    pub fn is_remote(&self) -> bool {
        matches!(self, StoreAt::Remote { .. })
    }

    /// The store ready to read: a local directory as it is, a remote store pulled into its
    /// working copy (held by this process until the result is dropped).
    pub fn open_read(&self) -> Result<Opened> {
        self.open(false)
    }

    /// The store ready to write: a remote store under its lease, pulled.
    pub fn open_write(&self) -> Result<Opened> {
        self.open(true)
    }

    /// The folder verify checks: a local store itself; for a remote store, a fresh copy of
    /// every object below its prefix ([`trailwatch_remote::mirror`]), removed when the second
    /// value is dropped, beside the working copy.
    pub fn open_verify(&self) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
        let (config, copy) = match self {
            StoreAt::Local(d) => return Ok((d.clone(), None)),
            StoreAt::Remote { config, copy } => (config, copy),
        };
        let url = config.url.to_string();
        let parent = copy.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
        let tmp = tempfile::Builder::new()
            .prefix("verify-")
            .tempdir_in(parent)
            .with_context(|| parent.display().to_string())?;
        let remote = config.build().with_context(|| format!("store {url}"))?;
        let m = trailwatch_remote::mirror(&remote, tmp.path())
            .with_context(|| format!("reading every object of {url}"))?;
        eprintln!(
            "trailwatch: read {} objects ({}) of {url}, {} ledger segments",
            m.objects,
            mb(m.bytes),
            m.segments
        );
        if m.objects == 0 {
            anyhow::bail!("{url}: no store there (no object under the prefix)");
        }
        let public =
            Path::new(trailwatch_ledger::LEDGER_DIR).join(trailwatch_ledger::PUBLIC_KEY_FILE);
        if !tmp.path().join(&public).is_file() {
            anyhow::bail!(
                "{url}: {} is missing: the store's objects cannot be checked without its public key",
                public.display()
            );
        }
        Ok((tmp.path().to_path_buf(), Some(tmp)))
    }

    fn open(&self, write: bool) -> Result<Opened> {
        let (config, copy) = match self {
            StoreAt::Local(d) => {
                return Ok(Opened {
                    dir: d.clone(),
                    copy: None,
                })
            }
            StoreAt::Remote { config, copy } => (config, copy),
        };
        let url = config.url.to_string();
        let remote = config.build().with_context(|| format!("store {url}"))?;
        let (working, report) = if write {
            WorkingCopy::open_write(remote, copy.clone())
        } else {
            WorkingCopy::open_read(remote, copy.clone())
        }
        .with_context(|| format!("store {url}"))?;
        if let Some(prev) = working.lease().and_then(|h| h.took_over.as_ref()) {
            eprintln!(
                "trailwatch: took over the expired lease of {} (expired {})",
                escape::terminal(&prev.owner),
                escape::terminal(&prev.expires)
            );
        }
        // A reader's own copy when another process holds the shared one.
        let dir = working.dir().to_path_buf();
        say_pulled(&url, &dir, &report);
        if !write && !dir.join(trailwatch_ledger::LEDGER_DIR).is_dir() {
            anyhow::bail!("{url}: no store there (create one with trailwatch ingest)");
        }
        let opened = Opened {
            dir,
            copy: Some(working),
        };
        if write {
            match opened.protection() {
                Some(Ok(p)) if p.write_once == Some(false) => eprintln!(
                    "trailwatch: warning: {url}: {}: whoever holds the writer's credentials can delete or overwrite the store's objects",
                    escape::terminal(&p.detail)
                ),
                Some(Err(e)) => eprintln!(
                    "trailwatch: warning: {}",
                    escape::terminal(&format!("{e:#}"))
                ),
                _ => {}
            }
        }
        Ok(opened)
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn say_pulled(url: &str, copy: &Path, r: &PullReport) {
    for p in &r.problems {
        eprintln!("trailwatch: warning: {}", escape::terminal(p));
    }
    eprintln!(
        "trailwatch: pulled {url} into {}: {} files fetched ({}), {} already there, {} removed",
        copy.display(),
        r.fetched,
        mb(r.fetched_bytes),
        r.cached,
        r.removed
    );
}

/// An opened store: its directory (for a remote store, the working copy).
pub(crate) struct Opened {
    dir: PathBuf,
    copy: Option<WorkingCopy>,
}

impl Opened {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// For a remote store, whether its bucket or container keeps what is written, as the
    /// service answers (S3 Object Lock, an Azure immutability policy or legal hold).
    pub fn protection(&self) -> Option<Result<Protection>> {
        let copy = self.copy.as_ref()?;
        let url = copy.remote().url().to_string();
        Some(
            copy.remote()
                .protection()
                .with_context(|| format!("store {url}")),
        )
    }

    /// The remote store's URL, if the store is remote.
    pub fn url(&self) -> Option<String> {
        Some(self.copy.as_ref()?.remote().url().to_string())
    }

    /// Sends a writer's changes to the remote store (nothing for a local one); says what was
    /// sent, and each deletion the storage refused, on stderr.
    pub fn push(&mut self) -> Result<Option<PushReport>> {
        let Some(copy) = self.copy.as_mut() else {
            return Ok(None);
        };
        let url = copy.remote().url().to_string();
        let r = copy.push().with_context(|| format!("pushing to {url}"))?;
        for (rel, why) in &r.kept {
            eprintln!(
                "trailwatch: {url}/{}: deletion refused by the storage, kept (superseded: not read, verify lists it): {}",
                escape::terminal(rel),
                escape::terminal(why)
            );
        }
        eprintln!(
            "trailwatch: pushed to {url}: {} objects ({}){}, {} deleted, {} kept by the storage's lock",
            r.uploaded,
            mb(r.uploaded_bytes),
            r.segment
                .as_deref()
                .map(|s| format!(", ledger segment {}", escape::terminal(s)))
                .unwrap_or_default(),
            r.deleted,
            r.kept.len()
        );
        Ok(Some(r))
    }

    /// Gives a writer's lease back.
    pub fn finish(self) -> Result<()> {
        match self.copy {
            Some(c) => c.finish().context("releasing the store's lease"),
            None => Ok(()),
        }
    }
}
