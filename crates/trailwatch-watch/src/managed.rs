//! Suppressions admins manage from the console: `<store>/_watch/suppressions.toml`, a file of
//! `[[suppressions]]` entries in the configuration's format and checked the same way
//! (`trailwatch_baseline::parse_suppressions`). The watch applies them with the
//! configuration's own, reads them at start and again at every poll after the file changed;
//! the console writes the file whole, through a temporary file renamed over it, so a reader
//! sees the old list or the new one, never half of one.

use crate::error::WatchError;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use trailwatch_baseline::Suppression;

/// Where the managed suppressions of the store at `store_dir` are: the one place that says so.
pub fn path(store_dir: &Path) -> PathBuf {
    store_dir.join("_watch").join("suppressions.toml")
}

/// The file's modification time, `None` when there is no file.
pub fn stamp(store_dir: &Path) -> Option<SystemTime> {
    std::fs::metadata(path(store_dir))
        .and_then(|m| m.modified())
        .ok()
}

/// The managed suppressions, expired ones included (each says when); none without a file.
pub fn load(store_dir: &Path) -> Result<Vec<Suppression>, WatchError> {
    let p = path(store_dir);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(WatchError::Io {
                what: p.display().to_string(),
                source,
            })
        }
    };
    trailwatch_baseline::parse_suppressions(&text).map_err(|e| WatchError::Config {
        file: p.display().to_string(),
        reason: e.to_string(),
    })
}

/// Replaces the managed suppressions with `list`, each checked first.
pub fn save(store_dir: &Path, list: &[Suppression]) -> Result<(), WatchError> {
    let p = path(store_dir);
    let bad = |reason: String| WatchError::Config {
        file: p.display().to_string(),
        reason,
    };
    for (i, s) in list.iter().enumerate() {
        s.check(i + 1).map_err(|e| bad(e.to_string()))?;
    }
    let text = trailwatch_baseline::write_suppressions(list).map_err(|e| bad(e.to_string()))?;
    let io = |source| WatchError::Io {
        what: p.display().to_string(),
        source,
    };
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = p.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, &p).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rule: &str) -> Suppression {
        Suppression {
            rule: Some(rule.into()),
            principal: Some("arn:aws:iam::1:role/ci-*".into()),
            cidr: None,
            user_agent: None,
            account: None,
            reason: "the CI's \"nightly\" job\nsecond line".into(),
            expires: "2099-12-31".into(),
        }
    }

    #[test]
    fn saved_suppressions_read_back_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(load(dir.path()).expect("none").is_empty());
        assert!(stamp(dir.path()).is_none());
        let list = vec![entry("a"), entry("b")];
        save(dir.path(), &list).expect("save");
        assert_eq!(load(dir.path()).expect("load"), list);
        assert!(stamp(dir.path()).is_some());
        let mut bad = entry("c");
        bad.expires = "someday".into();
        assert!(save(dir.path(), &[bad]).is_err());
        assert_eq!(load(dir.path()).expect("unchanged"), list);
        std::fs::write(path(dir.path()), "[[suppressions]]\nrule = 1\n").expect("write");
        let err = load(dir.path()).expect_err("bad file").to_string();
        assert!(err.contains("suppressions.toml"), "{err}");
    }
}
