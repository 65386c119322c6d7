//! The store's Ed25519 key pair as files: the secret key lives outside the store (a key file
//! of its own, mode 0600, or a secret the caller holds), the public key inside it
//! (`_ledger/signing.pub`), and a short fingerprint names the pair.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use trailwatch_model::hex;

use crate::ledger::{io_err, parse_public_key, sync_dir, LedgerError};

/// A fresh signing key from the operating system's randomness.
pub fn generate_signing_key() -> Result<SigningKey, LedgerError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| LedgerError::BadKey {
        path: "<new key>".into(),
        reason: format!("no randomness for a key: {e}"),
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Parses a secret key: hex of the 32-byte Ed25519 seed (surrounding white space ignored).
pub fn parse_signing_key(hex_seed: &str) -> Result<SigningKey, String> {
    hex::decode_array::<32>(hex_seed.trim())
        .map(|seed| SigningKey::from_bytes(&seed))
        .ok_or_else(|| "not a secret key (64 hex digits)".to_string())
}

/// Reads a key file written by [`write_key_file`]. On Unix a file that its group or others
/// may read is refused, as ssh refuses such a key: whoever can read it can sign as the store.
pub fn read_key_file(path: &Path) -> Result<SigningKey, LedgerError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map_err(io_err(path))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(LedgerError::BadKey {
                path: path.to_path_buf(),
                reason: format!(
                    "permissions {:04o} are too open: a signing key must be readable by its owner only (chmod 600)",
                    mode & 0o7777
                ),
            });
        }
    }
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    parse_signing_key(&text).map_err(|reason| LedgerError::BadKey {
        path: path.to_path_buf(),
        reason,
    })
}

/// Writes `key` to a new file at `path` (its directory created, mode 0700, if missing): hex of
/// the seed, mode 0600, fsynced with its directory. Never replaces an existing file.
pub fn write_key_file(path: &Path, key: &SigningKey) -> Result<(), LedgerError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            let mut b = fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(dir).map_err(io_err(dir))?;
        }
    }
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path).map_err(io_err(path))?;
    let text = format!("{}\n", hex::encode(key.as_bytes()));
    file.write_all(text.as_bytes()).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        sync_dir(dir)?;
    }
    Ok(())
}

/// The fingerprint of a public key: `SHA256:` and the hex SHA-256 of its 32 bytes.
pub fn fingerprint(key: &VerifyingKey) -> String {
    format!("SHA256:{}", hex::encode(&Sha256::digest(key.as_bytes())))
}

/// The store id a key pair gives its store: the first 16 hex digits of the fingerprint's hash.
/// The default key file and anchor file of a store are named after it.
pub fn store_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// Whether `value` is written as a public key (64 hex digits) rather than a file's path.
pub fn looks_like_public_key(value: &str) -> bool {
    let v = value.trim();
    v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A public key pinned outside the store, given as hex or as a file holding it (a copy of
/// `signing.pub`): its lower-case hex, checked to be a key. `Err` says why not.
pub fn read_pinned_key(value: &str) -> Result<String, String> {
    let v = value.trim();
    let hex = if looks_like_public_key(v) {
        v.to_string()
    } else {
        fs::read_to_string(v)
            .map_err(|e| format!("{v:?}: neither 64 hex digits nor a readable file ({e})"))?
            .trim()
            .to_string()
    };
    parse_public_key(&hex).map_err(|e| format!("{v}: {e}"))?;
    Ok(hex.to_ascii_lowercase())
}
