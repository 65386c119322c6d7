//! Roles, password hashing (Argon2id), tokens, and the login rate limit.

use crate::error::ConsoleError;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

/// What a user may do. Ordered: each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads alerts, events, reports.
    Viewer,
    /// Also triages: acknowledges, resolves, assigns, comments.
    Responder,
    /// Also manages users and reads the analysts' audit log.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ConsoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "responder" => Ok(Role::Responder),
            "admin" => Ok(Role::Admin),
            other => Err(ConsoleError::UnknownRole(other.to_string())),
        }
    }
}

/// Login failures allowed per user name in [`FAILURE_WINDOW`] before further tries are refused.
pub const MAX_FAILURES_PER_USER: u32 = 5;
/// Login failures allowed per client address in [`FAILURE_WINDOW`].
pub const MAX_FAILURES_PER_IP: u32 = 20;
/// How far back failures count.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

pub fn check_user_name(name: &str) -> Result<(), ConsoleError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(ConsoleError::BadUserName(name.to_string()))
    }
}

pub fn check_password(password: &str) -> Result<(), ConsoleError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ConsoleError::BadPassword("at least 12 characters"));
    }
    if password.len() > 1024 {
        return Err(ConsoleError::BadPassword("at most 1024 bytes"));
    }
    Ok(())
}

/// An Argon2id hash (PHC string, random salt, the crate's default cost: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| ConsoleError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&bytes).map_err(|e| ConsoleError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ConsoleError::Hash(e.to_string()))
}

/// Whether `password` matches `hash`. With no hash (no such user) a dummy hash is checked, so
/// that an unknown name costs the same time as a wrong password.
pub fn verify_password(hash: Option<&str>, password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy =
        DUMMY.get_or_init(|| hash_password("no such user, no such password").unwrap_or_default());
    let (stored, real) = match hash {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

/// 32 random bytes from the operating system, in hex.
pub fn random_token() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| ConsoleError::Random(e.to_string()))?;
    Ok(trailwatch_model::hex::encode(&bytes))
}

/// The SHA-256 of a session token, the only form the database keeps.
pub fn token_hash(token: &str) -> String {
    trailwatch_model::hex::encode(&Sha256::digest(token.as_bytes()))
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
