//! The console's own state in SQLite: users (Argon2id hashes), sessions and API tokens (only
//! the SHA-256 of each token is stored), failed logins (for rate limiting) and the analysts'
//! audit log.

use crate::auth::{self, Role};
use crate::error::ConsoleError;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'responder', 'admin')),
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    token_hash TEXT PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used  INTEGER
);
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at);
CREATE TABLE IF NOT EXISTS audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    who    TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    ip     TEXT NOT NULL
);
";

/// Where the console keeps its state for the store at `store_dir`: beside the watch state, in
/// `_console/console.sqlite`. The one place that says so.
pub fn console_db_path(store_dir: &Path) -> PathBuf {
    store_dir.join("_console").join("console.sqlite")
}

/// A console user (never with the hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub created_at: String,
}

/// A live session: who, with which role, and the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub role: Role,
    pub csrf: String,
    /// Opened by an API token (`Authorization: Bearer`) rather than a session cookie.
    pub via_token: bool,
    token_hash: String,
}

/// One line of the analysts' audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub who: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

/// How long sessions live: at most `ttl` after login, and `idle` after the last request.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub ttl: Duration,
    pub idle: Duration,
}

/// The console database.
pub struct ConsoleDb {
    conn: Connection,
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn dur_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl ConsoleDb {
    /// Opens (creating if needed, owner-only on Unix) the console database of a store.
    pub fn open(store_dir: &Path) -> Result<ConsoleDb, ConsoleError> {
        let path = console_db_path(store_dir);
        let io = |source| ConsoleError::Io {
            what: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(io)?;
            }
        }
        let conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(ConsoleDb { conn })
    }

    /// Adds a user; the password is hashed with Argon2id here.
    pub fn add_user(&mut self, name: &str, role: Role, password: &str) -> Result<(), ConsoleError> {
        auth::check_user_name(name)?;
        auth::check_password(password)?;
        let hash = auth::hash_password(password)?;
        let done = self.conn.execute(
            "INSERT OR IGNORE INTO users (name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, role.as_str(), hash, ms(SystemTime::now())],
        )?;
        if done == 0 {
            return Err(ConsoleError::UserExists(name.to_string()));
        }
        Ok(())
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>, ConsoleError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, role, created_at FROM users ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, role, at) = row?;
            out.push(User {
                name,
                role: role.parse()?,
                created_at: trailwatch_model::time::format_ms(at),
            });
        }
        Ok(out)
    }

    /// Removes a user, ends their sessions and revokes their API tokens.
    pub fn remove_user(&mut self, name: &str) -> Result<(), ConsoleError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM sessions WHERE user = ?1", [name])?;
        tx.execute("DELETE FROM api_tokens WHERE user = ?1", [name])?;
        let n = tx.execute("DELETE FROM users WHERE name = ?1", [name])?;
        if n == 0 {
            return Err(ConsoleError::NoUser(name.to_string()));
        }
        tx.commit()?;
        Ok(())
    }

    /// Sets a user's password and ends their sessions.
    pub fn set_password(&mut self, name: &str, password: &str) -> Result<(), ConsoleError> {
        auth::check_password(password)?;
        let hash = auth::hash_password(password)?;
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE users SET hash = ?2 WHERE name = ?1",
            params![name, hash],
        )?;
        if n == 0 {
            return Err(ConsoleError::NoUser(name.to_string()));
        }
        tx.execute("DELETE FROM sessions WHERE user = ?1", [name])?;
        tx.commit()?;
        Ok(())
    }

    /// The stored hash and role of a user, for a login.
    pub fn credentials(&self, name: &str) -> Result<Option<(String, Role)>, ConsoleError> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT hash, role FROM users WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(hash, role)| Ok((hash, role.parse()?)))
            .transpose()
    }

    /// Starts a session for `user`; returns the token for the cookie (stored only hashed).
    pub fn create_session(
        &mut self,
        user: &str,
        policy: SessionPolicy,
        now: SystemTime,
    ) -> Result<String, ConsoleError> {
        let token = auth::random_token()?;
        let csrf = auth::random_token()?;
        self.conn.execute(
            "INSERT INTO sessions (token_hash, user, csrf, created_at, last_seen, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            params![
                auth::token_hash(&token),
                user,
                csrf,
                ms(now),
                ms(now).saturating_add(dur_ms(policy.ttl))
            ],
        )?;
        Ok(token)
    }

    /// The live session of a cookie token, its idle clock restarted; expired ones are deleted.
    pub fn session(
        &mut self,
        token: &str,
        policy: SessionPolicy,
        now: SystemTime,
    ) -> Result<Option<Session>, ConsoleError> {
        let now = ms(now);
        self.conn.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen + ?2 <= ?1",
            params![now, dur_ms(policy.idle)],
        )?;
        let hash = auth::token_hash(token);
        let row: Option<(String, String, String)> = self
            .conn
            .query_row(
                "SELECT s.user, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user
                 WHERE s.token_hash = ?1",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((user, role, csrf)) = row else {
            return Ok(None);
        };
        self.conn.execute(
            "UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1",
            params![hash, now],
        )?;
        Ok(Some(Session {
            user,
            role: role.parse()?,
            csrf,
            via_token: false,
            token_hash: hash,
        }))
    }

    /// A new API token for `user` (for scrapers and scripts: sent as `Authorization: Bearer`),
    /// acting with the user's role. Returned once; only its hash is kept.
    pub fn create_token(
        &mut self,
        user: &str,
        label: &str,
        now: SystemTime,
    ) -> Result<String, ConsoleError> {
        let token = format!("twk_{}", auth::random_token()?);
        let n = self.conn.execute(
            "INSERT INTO api_tokens (token_hash, user, label, created_at)
             SELECT ?1, name, ?3, ?4 FROM users WHERE name = ?2",
            params![auth::token_hash(&token), user, label, ms(now)],
        )?;
        if n == 0 {
            return Err(ConsoleError::NoUser(user.to_string()));
        }
        Ok(token)
    }

    /// Revokes every API token of `user`; returns how many there were.
    pub fn revoke_tokens(&mut self, user: &str) -> Result<usize, ConsoleError> {
        Ok(self
            .conn
            .execute("DELETE FROM api_tokens WHERE user = ?1", [user])?)
    }

    /// The user and role an API token acts for (its last use recorded), or `None`.
    pub fn token_session(
        &mut self,
        token: &str,
        now: SystemTime,
    ) -> Result<Option<Session>, ConsoleError> {
        let hash = auth::token_hash(token);
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT t.user, u.role FROM api_tokens t JOIN users u ON u.name = t.user
                 WHERE t.token_hash = ?1",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((user, role)) = row else {
            return Ok(None);
        };
        self.conn.execute(
            "UPDATE api_tokens SET last_used = ?2 WHERE token_hash = ?1",
            params![hash, ms(now)],
        )?;
        Ok(Some(Session {
            user,
            role: role.parse()?,
            // A bearer token is not sent by a browser on its own: no CSRF token is needed.
            csrf: String::new(),
            via_token: true,
            token_hash: String::new(),
        }))
    }

    /// Ends a session server-side: its cookie no longer opens anything.
    pub fn end_session(&mut self, session: &Session) -> Result<(), ConsoleError> {
        self.conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [&session.token_hash],
        )?;
        Ok(())
    }

    /// Records a failed login under `key` (a user name or an address).
    pub fn record_failure(&mut self, key: &str, now: SystemTime) -> Result<(), ConsoleError> {
        self.conn.execute(
            "INSERT INTO login_failures (key, at) VALUES (?1, ?2)",
            params![key, ms(now)],
        )?;
        Ok(())
    }

    /// Failed logins under `key` in the `window` before `now`.
    pub fn failures(
        &self,
        key: &str,
        window: Duration,
        now: SystemTime,
    ) -> Result<u32, ConsoleError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM login_failures WHERE key = ?1 AND at > ?2",
            params![key, ms(now).saturating_sub(dur_ms(window))],
            |r| r.get(0),
        )?)
    }

    /// Forgets the failures under `key` (a user who logged in).
    pub fn clear_failures(&mut self, key: &str) -> Result<(), ConsoleError> {
        self.conn
            .execute("DELETE FROM login_failures WHERE key = ?1", [key])?;
        Ok(())
    }

    /// Appends a line to the audit log.
    pub fn audit(
        &mut self,
        who: &str,
        action: &str,
        target: &str,
        detail: &str,
        ip: &str,
    ) -> Result<(), ConsoleError> {
        self.conn.execute(
            "INSERT INTO audit (at, who, action, target, detail, ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![ms(SystemTime::now()), who, action, target, detail, ip],
        )?;
        Ok(())
    }

    /// The audit log from `since_ms` to `until_ms` (both inclusive), oldest first.
    pub fn audit_between(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<AuditEntry>, ConsoleError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, who, action, target, detail, ip FROM audit WHERE at BETWEEN ?1 AND ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map([since_ms, until_ms], audit_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest `limit` lines of the audit log, newest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, ConsoleError> {
        let mut stmt = self.conn.prepare(
            "SELECT at, who, action, target, detail, ip FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], audit_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn audit_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        at: trailwatch_model::time::format_ms(r.get(0)?),
        who: r.get(1)?,
        action: r.get(2)?,
        target: r.get(3)?,
        detail: r.get(4)?,
        ip: r.get(5)?,
    })
}
