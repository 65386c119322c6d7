//! Where a store's signing key lives: never in the store. The writer needs it; readers and
//! verify do not.
//!
//! - [`KeySource::Dir`] (the default, [`default_key_dir`]): `<dir>/<store-id>.key`, the store id
//!   being [`trailwatch_ledger::store_id`] of its public key; created with the store.
//! - [`KeySource::File`]: one key file (`[store] signing_key`), created with the store if absent.
//! - [`KeySource::Secret`]: the hex key itself, from the environment variable a configuration
//!   names (`[store] signing_key_env`): no file anywhere.
//!
//! A key file's directory inside the store is refused. A store written before the key moved out
//! holds `_ledger/signing.key`: its writer refuses it ([`StoreError::KeyInStore`]) until
//! [`Store::migrate_key`] moves the key out (see that function for why a command, not a message).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use trailwatch_ledger::{
    fingerprint, generate_signing_key, parse_signing_key, read_key_file, read_public_key, store_id,
    write_key_file, SigningKey, VerifyingKey, LEDGER_DIR, LEGACY_SECRET_KEY_FILE,
};

use crate::store::{lock_file, sync_dir, Store, StoreError};

/// The folder under the user's configuration directory that holds trailwatch's files.
pub const CONFIG_SUBDIR: &str = "trailwatch";

/// Where a store's Ed25519 signing key is kept (see the module doc).
#[derive(Clone)]
pub enum KeySource {
    /// `<dir>/<store-id>.key`.
    Dir(PathBuf),
    /// This key file.
    File(PathBuf),
    /// The key itself (hex of the seed); `from` says where it came from, for messages.
    Secret { from: String, hex: String },
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Dir(d) => f.debug_tuple("Dir").field(d).finish(),
            KeySource::File(p) => f.debug_tuple("File").field(p).finish(),
            KeySource::Secret { from, .. } => write!(f, "Secret({from}, <redacted>)"),
        }
    }
}

/// The user's configuration directory: `$XDG_CONFIG_HOME` (when absolute), else
/// `$HOME/.config`; `None` when neither is set.
pub fn user_config_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
}

/// `<user config dir>/trailwatch/keys`.
pub fn default_key_dir() -> Result<PathBuf, StoreError> {
    user_config_dir()
        .map(|d| d.join(CONFIG_SUBDIR).join("keys"))
        .ok_or_else(|| StoreError::Key {
            location: "the default key directory".into(),
            reason: "neither XDG_CONFIG_HOME nor HOME is set: give [store] signing_key".into(),
        })
}

impl KeySource {
    /// The key source a configuration gives: `file` (`[store] signing_key`), else the secret in
    /// the environment variable `env` (`[store] signing_key_env`; unset is an error), else the
    /// default directory.
    pub fn resolve(file: Option<&Path>, env: Option<&str>) -> Result<KeySource, StoreError> {
        if let Some(f) = file {
            return Ok(KeySource::File(f.to_path_buf()));
        }
        if let Some(name) = env {
            let from = format!("${name}");
            let hex = std::env::var(name).map_err(|_| StoreError::Key {
                location: from.clone(),
                reason: "the environment variable [store] signing_key_env names is not set".into(),
            })?;
            return Ok(KeySource::Secret { from, hex });
        }
        Ok(KeySource::Dir(default_key_dir()?))
    }

    /// Where the key of the store whose public key is `public` is (for messages).
    pub fn location(&self, public: &VerifyingKey) -> String {
        match self {
            KeySource::Dir(d) => d.join(key_file_name(public)).display().to_string(),
            KeySource::File(p) => p.display().to_string(),
            KeySource::Secret { from, .. } => from.clone(),
        }
    }

    /// Where the writer publishes the store's signed heads unless told otherwise: next to the
    /// key (`<dir>/<store-id>.anchors.jsonl`, `<key file>.anchors.jsonl`); for a key held in the
    /// environment, `<user config dir>/trailwatch/anchors/<store-id>.jsonl` (`None` without one).
    pub fn default_anchors(&self, public: &VerifyingKey) -> Option<PathBuf> {
        match self {
            KeySource::Dir(d) => Some(d.join(format!("{}.anchors.jsonl", store_id(public)))),
            KeySource::File(p) => {
                let mut name = p.as_os_str().to_os_string();
                name.push(".anchors.jsonl");
                Some(PathBuf::from(name))
            }
            KeySource::Secret { .. } => user_config_dir().map(|d| {
                d.join(CONFIG_SUBDIR)
                    .join("anchors")
                    .join(format!("{}.jsonl", store_id(public)))
            }),
        }
    }

    /// The key file this source reads for `public`, if it is a file.
    fn path(&self, public: &VerifyingKey) -> Option<PathBuf> {
        match self {
            KeySource::Dir(d) => Some(d.join(key_file_name(public))),
            KeySource::File(p) => Some(p.clone()),
            KeySource::Secret { .. } => None,
        }
    }

    /// The key of an existing store whose public key is `public`.
    pub fn load(&self, public: &VerifyingKey) -> Result<SigningKey, StoreError> {
        let key = match self {
            KeySource::Secret { from, hex } => {
                parse_signing_key(hex).map_err(|reason| StoreError::Key {
                    location: from.clone(),
                    reason,
                })?
            }
            _ => {
                let path = self.path(public).expect("a file source");
                if !path.exists() {
                    return Err(StoreError::Key {
                        location: path.display().to_string(),
                        reason: format!(
                            "no signing key there for the store of key {} (it signs only where its key is; readers and verify need none)",
                            fingerprint(public)
                        ),
                    });
                }
                read_key_file(&path)?
            }
        };
        if key.verifying_key() != *public {
            return Err(StoreError::Key {
                location: self.location(public),
                reason: format!("not the key of this store ({})", fingerprint(public)),
            });
        }
        Ok(key)
    }

    /// The key for a new store: the source's key if it has one (a key file or secret given),
    /// else a new one, written where the source says (mode 0600).
    pub fn load_or_create(&self) -> Result<SigningKey, StoreError> {
        match self {
            KeySource::Secret { from, hex } => {
                parse_signing_key(hex).map_err(|reason| StoreError::Key {
                    location: from.clone(),
                    reason,
                })
            }
            KeySource::File(p) if p.exists() => Ok(read_key_file(p)?),
            KeySource::File(p) => {
                let key = generate_signing_key()?;
                write_key_file(p, &key)?;
                Ok(key)
            }
            KeySource::Dir(d) => {
                let key = generate_signing_key()?;
                write_key_file(&d.join(key_file_name(&key.verifying_key())), &key)?;
                Ok(key)
            }
        }
    }

    /// `Err` when the key would live inside the store directory `store`.
    pub(crate) fn check_outside(&self, store: &Path) -> Result<(), StoreError> {
        let dir = match self {
            KeySource::Dir(d) => d.clone(),
            KeySource::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
            KeySource::Secret { .. } => return Ok(()),
        };
        if is_inside(&dir, store) {
            return Err(StoreError::Key {
                location: dir.display().to_string(),
                reason: format!(
                    "inside the store {}: the key is not the data (whoever can write the store could re-sign it)",
                    store.display()
                ),
            });
        }
        Ok(())
    }
}

/// `<store-id>.key`.
fn key_file_name(public: &VerifyingKey) -> String {
    format!("{}.key", store_id(public))
}

/// Whether `path` (which may not exist yet) is `dir` or under it, compared as absolute,
/// symlink-resolved paths of their nearest existing ancestors.
pub(crate) fn is_inside(path: &Path, dir: &Path) -> bool {
    let resolve = |p: &Path| -> PathBuf {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let mut existing = abs.as_path();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = parent;
                }
                _ => break,
            }
        }
        let mut out = fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
        out.extend(rest.iter().rev());
        out
    };
    resolve(path).starts_with(resolve(dir))
}

/// What [`Store::migrate_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigratedKey {
    /// Where the key is now.
    pub to: String,
    /// Whether a key file was written (`false`: the destination already held this key).
    pub written: bool,
    pub public_key: String,
    pub fingerprint: String,
}

impl Store {
    /// Moves the secret key a store written before the key moved out holds
    /// (`_ledger/signing.key`) to `keys`, then deletes it from the store; under the writer's
    /// lock. The destination must not hold another key (then nothing is changed); a key in the
    /// environment must be that key already. A command rather than a message telling the user
    /// to move the file: it checks the key against `signing.pub`, writes it with mode 0600 where
    /// the writer will look for it, and removes it from the store only once the copy is
    /// durable, so that the store never ends without a usable key. The key was readable by
    /// whoever could read the store until then: pin the public key now and consider the old
    /// signatures only as strong as that exposure allows.
    pub fn migrate_key(dir: &Path, keys: &KeySource) -> Result<MigratedKey, StoreError> {
        Self::check_is_store(dir)?;
        keys.check_outside(dir)?;
        let lock = lock_file(dir)?;
        lock.lock().map_err(StoreError::io(dir))?;
        let legacy = dir.join(LEDGER_DIR).join(LEGACY_SECRET_KEY_FILE);
        if !legacy.exists() {
            return Err(StoreError::Key {
                location: legacy.display().to_string(),
                reason: "no secret key in the store: nothing to move".into(),
            });
        }
        let public = read_public_key(dir)?;
        let text = fs::read_to_string(&legacy).map_err(StoreError::io(&legacy))?;
        let key = parse_signing_key(&text).map_err(|reason| StoreError::Key {
            location: legacy.display().to_string(),
            reason,
        })?;
        if key.verifying_key() != public {
            return Err(StoreError::Key {
                location: legacy.display().to_string(),
                reason: "not the key of signing.pub: not moved (verify the store)".into(),
            });
        }
        let written = match keys.path(&public) {
            Some(path) if path.exists() => {
                keys.load(&public)?;
                false
            }
            Some(path) => {
                write_key_file(&path, &key)?;
                true
            }
            None => {
                keys.load(&public)?;
                false
            }
        };
        fs::remove_file(&legacy).map_err(StoreError::io(&legacy))?;
        sync_dir(&dir.join(LEDGER_DIR))?;
        drop(lock);
        Ok(MigratedKey {
            to: keys.location(&public),
            written,
            public_key: trailwatch_model::hex::encode(public.as_bytes()),
            fingerprint: fingerprint(&public),
        })
    }
}
