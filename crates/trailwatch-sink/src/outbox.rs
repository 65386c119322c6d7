//! The durable outbox: alerts and their per-sink deliveries in SQLite.
//!
//! An alert is committed here, with one delivery row per sink that should get it, before any
//! sink is tried. A delivery is marked sent only after its sink reported success, and a failed
//! one is retried after an exponential backoff. Times are stored as milliseconds since the Unix
//! epoch.

use crate::error::OutboxError;
use crate::secret::redact;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use trailwatch_model::Alert;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alerts (
    id          TEXT PRIMARY KEY,
    json        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acked', 'resolved')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    acked_by    TEXT,
    acked_at    INTEGER,
    resolved_by TEXT,
    resolved_at INTEGER
);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id        TEXT NOT NULL REFERENCES alerts(id),
    sink            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT,
    PRIMARY KEY (alert_id, sink)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS alert_notes (
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    at       INTEGER NOT NULL,
    who      TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('comment', 'assign')),
    text     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_notes_alert ON alert_notes (alert_id, at);
CREATE TABLE IF NOT EXISTS incidents (
    key      TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alerts(id)
);
";

/// Values kept per list when an incident's alerts are merged (like the hunt's grouping).
const MERGE_MAX_VALUES: usize = 50;
/// Event ids kept per merged alert (the count stays exact for ids seen).
const MERGE_MAX_EVENT_IDS: usize = 1_000;

/// Where an alert stands with the people handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    Open,
    Acked,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acked => "acked",
            AlertState::Resolved => "resolved",
        }
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertState {
    type Err = OutboxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "open" => Ok(AlertState::Open),
            "acked" | "acknowledged" => Ok(AlertState::Acked),
            "resolved" => Ok(AlertState::Resolved),
            other => Err(OutboxError::UnknownState(other.to_string())),
        }
    }
}

/// Retry delays: `base`, then doubling after every failure, never more than `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    /// 5 s, doubling up to 5 min: a receiver down for ten minutes is retried within 5 minutes
    /// of its return.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay before the next try after `attempts` failed tries (1 = the first failure).
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(32);
        self.base
            .checked_mul(1u32 << doublings.min(31))
            .map_or(self.cap, |d| d.min(self.cap))
    }
}

/// What [`Outbox::enqueue`] did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new alert: stored, with one pending delivery per sink.
    New,
    /// The id was already stored (in the given state): its JSON was refreshed, nothing will be
    /// sent again.
    Known(AlertState),
}

/// An alert with its handling state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub alert: Alert,
    pub state: AlertState,
    pub created_at: SystemTime,
    pub acked_by: Option<String>,
    pub acked_at: Option<SystemTime>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<SystemTime>,
}

/// What a note on an alert is: a comment, or its assignment to someone (the text is who).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    Comment,
    Assign,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Comment => "comment",
            NoteKind::Assign => "assign",
        }
    }
}

/// A comment on an alert, or its assignment, with who wrote it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertNote {
    pub alert_id: String,
    pub at: SystemTime,
    pub who: String,
    pub kind: NoteKind,
    pub text: String,
}

/// One pending delivery whose time has come.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub alert: Alert,
    pub sink: String,
    /// Failed tries so far.
    pub attempts: u32,
}

/// The delivery state of one alert to one sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub alert_id: String,
    pub sink: String,
    pub attempts: u32,
    pub next_attempt_at: SystemTime,
    pub delivered_at: Option<SystemTime>,
    pub last_error: Option<String>,
}

/// The SQLite outbox. One writer at a time: the watcher owns it; the `alerts` commands open it
/// briefly (SQLite's WAL and busy timeout let them share the file).
pub struct Outbox {
    conn: Connection,
    backoff: Backoff,
}

impl Outbox {
    /// Opens (creating if needed) the outbox database at `path`, with the default backoff.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OutboxError> {
        let conn = Connection::open(path.as_ref())?;
        Self::init(conn)
    }

    /// An outbox in memory: for tests and `--dry-run` style runs; nothing survives.
    pub fn open_in_memory() -> Result<Self, OutboxError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, OutboxError> {
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL with synchronous=FULL: a committed enqueue or mark survives a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A scrubbed error's old text is overwritten in the file, not left in a free block.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.execute_batch(SCHEMA)?;
        let mut outbox = Outbox {
            conn,
            backoff: Backoff::default(),
        };
        outbox.redact_stored_errors()?;
        Ok(outbox)
    }

    /// Replaces the process's secrets ([`crate::secret`]) in stored delivery errors: errors
    /// written before a secret was known (by an older version, say) are scrubbed when the
    /// outbox is opened with it known. Returns the number of errors changed.
    pub fn redact_stored_errors(&mut self) -> Result<usize, OutboxError> {
        let stored: Vec<(String, String, String)> = {
            let mut stmt = self.conn.prepare(
                "SELECT alert_id, sink, last_error FROM deliveries WHERE last_error IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let scrubbed: Vec<_> = stored
            .into_iter()
            .filter_map(|(id, sink, error)| match redact(&error) {
                Cow::Owned(clean) => Some((id, sink, error, clean)),
                Cow::Borrowed(_) => None,
            })
            .collect();
        if scrubbed.is_empty() {
            return Ok(0);
        }
        let tx = self.conn.transaction()?;
        for (id, sink, error, clean) in &scrubbed {
            tx.execute(
                "UPDATE deliveries SET last_error = ?4
                 WHERE alert_id = ?1 AND sink = ?2 AND last_error = ?3",
                params![id, sink, error, clean],
            )?;
        }
        tx.commit()?;
        tracing::info!(
            errors = scrubbed.len(),
            "secrets removed from stored delivery errors"
        );
        Ok(scrubbed.len())
    }

    /// The same outbox with another retry schedule.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// Stores `alert` with a pending delivery for each of `sinks`, due at `now`, in one
    /// transaction. An id already stored — open, acked or resolved — gets no new deliveries:
    /// its JSON is refreshed (count, last_seen grow) and nothing is re-sent.
    pub fn enqueue(
        &mut self,
        alert: &Alert,
        sinks: &[&str],
        now: SystemTime,
    ) -> Result<Enqueued, OutboxError> {
        let json = serde_json::to_string(alert).map_err(OutboxError::Encode)?;
        let now_ms = to_ms(now);
        let tx = self.conn.transaction()?;
        let existing: Option<String> = tx
            .query_row("SELECT state FROM alerts WHERE id = ?1", [&alert.id], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(state) = existing {
            tx.execute(
                "UPDATE alerts SET json = ?2, updated_at = ?3 WHERE id = ?1",
                params![alert.id, json, now_ms],
            )?;
            tx.commit()?;
            return Ok(Enqueued::Known(state.parse()?));
        }
        tx.execute(
            "INSERT INTO alerts (id, json, state, created_at, updated_at) VALUES (?1, ?2, 'open', ?3, ?3)",
            params![alert.id, json, now_ms],
        )?;
        for sink in sinks {
            tx.execute(
                "INSERT INTO deliveries (alert_id, sink, next_attempt_at) VALUES (?1, ?2, ?3)",
                params![alert.id, sink, now_ms],
            )?;
        }
        tx.commit()?;
        tracing::debug!(alert = %alert.id, sinks = sinks.len(), "alert enqueued");
        Ok(Enqueued::New)
    }

    /// Stores `alert` as part of the incident `key` (what identifies an incident across runs:
    /// rule, provider, account and principal, say), in one transaction:
    /// - while the incident's alert is open or acknowledged, `alert` is merged into it (event
    ///   ids, count, times, values) and nothing is sent again;
    /// - an alert with `alert.id` already stored is refreshed and not sent again (the same
    ///   detection seen a second time, after a restart for instance);
    /// - otherwise (no incident yet, or the last one resolved) `alert` is a new alert with a
    ///   delivery per sink, and becomes the incident's alert.
    ///
    /// Returns what happened and the id of the incident's alert.
    pub fn enqueue_incident(
        &mut self,
        key: &str,
        alert: &Alert,
        sinks: &[&str],
        now: SystemTime,
    ) -> Result<(Enqueued, String), OutboxError> {
        let now_ms = to_ms(now);
        let tx = self.conn.transaction()?;
        let current: Option<(String, String, String)> = tx
            .query_row(
                "SELECT a.id, a.state, a.json FROM incidents i JOIN alerts a ON a.id = i.alert_id WHERE i.key = ?1",
                [key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        if let Some((id, state, json)) = current {
            let state: AlertState = state.parse()?;
            if state != AlertState::Resolved {
                let mut merged = decode(&id, &json)?;
                merge_alert(&mut merged, alert);
                let json = serde_json::to_string(&merged).map_err(OutboxError::Encode)?;
                tx.execute(
                    "UPDATE alerts SET json = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, json, now_ms],
                )?;
                tx.commit()?;
                return Ok((Enqueued::Known(state), id));
            }
        }
        let existing: Option<(String, String)> = tx
            .query_row(
                "SELECT state, json FROM alerts WHERE id = ?1",
                [&alert.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((state, json)) = existing {
            let mut merged = decode(&alert.id, &json)?;
            merge_alert(&mut merged, alert);
            let json = serde_json::to_string(&merged).map_err(OutboxError::Encode)?;
            tx.execute(
                "UPDATE alerts SET json = ?2, updated_at = ?3 WHERE id = ?1",
                params![alert.id, json, now_ms],
            )?;
            tx.commit()?;
            return Ok((Enqueued::Known(state.parse()?), alert.id.clone()));
        }
        let json = serde_json::to_string(alert).map_err(OutboxError::Encode)?;
        tx.execute(
            "INSERT INTO alerts (id, json, state, created_at, updated_at) VALUES (?1, ?2, 'open', ?3, ?3)",
            params![alert.id, json, now_ms],
        )?;
        for sink in sinks {
            tx.execute(
                "INSERT INTO deliveries (alert_id, sink, next_attempt_at) VALUES (?1, ?2, ?3)",
                params![alert.id, sink, now_ms],
            )?;
        }
        tx.execute(
            "INSERT INTO incidents (key, alert_id) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET alert_id = ?2",
            params![key, alert.id],
        )?;
        tx.commit()?;
        tracing::debug!(alert = %alert.id, sinks = sinks.len(), "incident alert enqueued");
        Ok((Enqueued::New, alert.id.clone()))
    }

    /// Undelivered deliveries whose next try is at or before `now`, oldest first.
    pub fn due(&self, now: SystemTime) -> Result<Vec<DueDelivery>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT a.id, a.json, d.sink, d.attempts FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ?1
             ORDER BY d.next_attempt_at, a.created_at, d.alert_id, d.sink",
        )?;
        let rows = stmt.query_map([to_ms(now)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
            ))
        })?;
        let mut due = Vec::new();
        for row in rows {
            let (id, json, sink, attempts) = row?;
            let alert = decode(&id, &json)?;
            due.push(DueDelivery {
                alert,
                sink,
                attempts,
            });
        }
        Ok(due)
    }

    /// Number of deliveries not yet made, due or not.
    pub fn pending(&self) -> Result<u64, OutboxError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE delivered_at IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Records that `sink` received `alert_id`.
    pub fn mark_sent(
        &mut self,
        alert_id: &str,
        sink: &str,
        now: SystemTime,
    ) -> Result<(), OutboxError> {
        let changed = self.conn.execute(
            "UPDATE deliveries SET delivered_at = ?3, last_error = NULL
             WHERE alert_id = ?1 AND sink = ?2 AND delivered_at IS NULL",
            params![alert_id, sink, to_ms(now)],
        )?;
        if changed == 0 {
            return Err(OutboxError::NotFound(format!(
                "{alert_id} (pending for {sink})"
            )));
        }
        Ok(())
    }

    /// Records a failed try and schedules the next one; returns when it is due. Secrets in
    /// `error` are stored redacted.
    pub fn mark_failed(
        &mut self,
        alert_id: &str,
        sink: &str,
        now: SystemTime,
        error: &str,
    ) -> Result<SystemTime, OutboxError> {
        let tx = self.conn.transaction()?;
        let attempts: Option<u32> = tx
            .query_row(
                "SELECT attempts FROM deliveries WHERE alert_id = ?1 AND sink = ?2 AND delivered_at IS NULL",
                params![alert_id, sink],
                |r| r.get(0),
            )
            .optional()?;
        let attempts = attempts
            .ok_or_else(|| OutboxError::NotFound(format!("{alert_id} (pending for {sink})")))?
            .saturating_add(1);
        let next = now + self.backoff.delay(attempts);
        tx.execute(
            "UPDATE deliveries SET attempts = ?3, next_attempt_at = ?4, last_error = ?5
             WHERE alert_id = ?1 AND sink = ?2",
            params![alert_id, sink, attempts, to_ms(next), redact(error)],
        )?;
        tx.commit()?;
        Ok(next)
    }

    /// The deliveries of one alert, by sink name.
    pub fn deliveries(&self, alert_id: &str) -> Result<Vec<Delivery>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT alert_id, sink, attempts, next_attempt_at, delivered_at, last_error
             FROM deliveries WHERE alert_id = ?1 ORDER BY sink",
        )?;
        let rows = stmt.query_map([alert_id], |r| {
            Ok(Delivery {
                alert_id: r.get(0)?,
                sink: r.get(1)?,
                attempts: r.get(2)?,
                next_attempt_at: from_ms(r.get(3)?),
                delivered_at: r.get::<_, Option<i64>>(4)?.map(from_ms),
                last_error: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Alerts in `state` (every alert when `None`), oldest first.
    pub fn list(&self, state: Option<AlertState>) -> Result<Vec<AlertRecord>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, json, state, created_at, acked_by, acked_at, resolved_by, resolved_at
             FROM alerts WHERE ?1 IS NULL OR state = ?1 ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([state.map(AlertState::as_str)], raw_record)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?.decode()?);
        }
        Ok(out)
    }

    /// One alert with its state.
    pub fn get(&self, id: &str) -> Result<AlertRecord, OutboxError> {
        self.conn
            .query_row(
                "SELECT id, json, state, created_at, acked_by, acked_at, resolved_by, resolved_at
                 FROM alerts WHERE id = ?1",
                [id],
                raw_record,
            )
            .optional()?
            .ok_or_else(|| OutboxError::NotFound(id.to_string()))?
            .decode()
    }

    /// Acknowledges an open alert: `who` is on it.
    pub fn ack(&mut self, id: &str, who: &str, now: SystemTime) -> Result<(), OutboxError> {
        self.transition(id, "ack", &[AlertState::Open], |tx| {
            tx.execute(
                "UPDATE alerts SET state = 'acked', acked_by = ?2, acked_at = ?3, updated_at = ?3 WHERE id = ?1",
                params![id, who, to_ms(now)],
            )
        })
    }

    /// Resolves an open or acknowledged alert.
    pub fn resolve(&mut self, id: &str, who: &str, now: SystemTime) -> Result<(), OutboxError> {
        self.transition(id, "resolve", &[AlertState::Open, AlertState::Acked], |tx| {
            tx.execute(
                "UPDATE alerts SET state = 'resolved', resolved_by = ?2, resolved_at = ?3, updated_at = ?3 WHERE id = ?1",
                params![id, who, to_ms(now)],
            )
        })
    }

    /// Adds a note to an alert: a comment, or an assignment (`text` is the assignee).
    pub fn add_note(
        &mut self,
        id: &str,
        who: &str,
        kind: NoteKind,
        text: &str,
        now: SystemTime,
    ) -> Result<(), OutboxError> {
        let tx = self.conn.transaction()?;
        let known: Option<i64> = tx
            .query_row("SELECT 1 FROM alerts WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        if known.is_none() {
            return Err(OutboxError::NotFound(id.to_string()));
        }
        tx.execute(
            "INSERT INTO alert_notes (alert_id, at, who, kind, text) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, to_ms(now), who, kind.as_str(), text],
        )?;
        tx.execute(
            "UPDATE alerts SET updated_at = ?2 WHERE id = ?1",
            params![id, to_ms(now)],
        )?;
        tx.commit()?;
        tracing::info!(alert = id, note = kind.as_str(), "alert note added");
        Ok(())
    }

    /// The notes of one alert, oldest first.
    pub fn notes(&self, id: &str) -> Result<Vec<AlertNote>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT alert_id, at, who, kind, text FROM alert_notes
             WHERE alert_id = ?1 ORDER BY at, rowid",
        )?;
        let rows = stmt.query_map([id], |r| {
            let kind: String = r.get(3)?;
            Ok(AlertNote {
                alert_id: r.get(0)?,
                at: from_ms(r.get(1)?),
                who: r.get(2)?,
                kind: if kind == "assign" {
                    NoteKind::Assign
                } else {
                    NoteKind::Comment
                },
                text: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Each assigned alert's current assignee (its latest assignment).
    pub fn assignees(&self) -> Result<std::collections::HashMap<String, String>, OutboxError> {
        let mut stmt = self.conn.prepare(
            "SELECT alert_id, text FROM alert_notes WHERE kind = 'assign' ORDER BY at, rowid",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One alert as the people handling it see it, in the one JSON shape of the `alerts`
    /// command and the console: the alert, its state with who and when, its deliveries, its
    /// notes and its assignee. Times are RFC 3339 UTC.
    pub fn record_json(&self, r: &AlertRecord) -> Result<serde_json::Value, OutboxError> {
        let deliveries: Vec<serde_json::Value> = self
            .deliveries(&r.alert.id)?
            .into_iter()
            .map(|d| {
                serde_json::json!({
                    "sink": d.sink, "attempts": d.attempts,
                    "delivered_at": d.delivered_at.map(fmt_time),
                    "last_error": d.last_error,
                })
            })
            .collect();
        let notes = self.notes(&r.alert.id)?;
        let assignee = notes
            .iter()
            .rev()
            .find(|n| n.kind == NoteKind::Assign)
            .map(|n| n.text.clone());
        let notes: Vec<serde_json::Value> = notes
            .into_iter()
            .map(|n| {
                serde_json::json!({
                    "at": fmt_time(n.at), "who": n.who, "kind": n.kind.as_str(), "text": n.text,
                })
            })
            .collect();
        Ok(serde_json::json!({
            "alert": r.alert,
            "state": r.state.as_str(),
            "created_at": fmt_time(r.created_at),
            "acked_by": r.acked_by, "acked_at": r.acked_at.map(fmt_time),
            "resolved_by": r.resolved_by, "resolved_at": r.resolved_at.map(fmt_time),
            "assignee": assignee,
            "deliveries": deliveries,
            "notes": notes,
        }))
    }

    fn transition(
        &mut self,
        id: &str,
        action: &'static str,
        from: &[AlertState],
        apply: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<usize>,
    ) -> Result<(), OutboxError> {
        let tx = self.conn.transaction()?;
        let state: Option<String> = tx
            .query_row("SELECT state FROM alerts WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let state: AlertState = state
            .ok_or_else(|| OutboxError::NotFound(id.to_string()))?
            .parse()?;
        if !from.contains(&state) {
            return Err(OutboxError::InvalidTransition {
                id: id.to_string(),
                state: state.as_str(),
                action,
            });
        }
        apply(&tx)?;
        tx.commit()?;
        tracing::info!(alert = id, action, "alert state changed");
        Ok(())
    }
}

struct RawRecord {
    id: String,
    json: String,
    state: String,
    created_at: i64,
    acked_by: Option<String>,
    acked_at: Option<i64>,
    resolved_by: Option<String>,
    resolved_at: Option<i64>,
}

fn raw_record(r: &Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok(RawRecord {
        id: r.get(0)?,
        json: r.get(1)?,
        state: r.get(2)?,
        created_at: r.get(3)?,
        acked_by: r.get(4)?,
        acked_at: r.get(5)?,
        resolved_by: r.get(6)?,
        resolved_at: r.get(7)?,
    })
}

impl RawRecord {
    fn decode(self) -> Result<AlertRecord, OutboxError> {
        Ok(AlertRecord {
            alert: decode(&self.id, &self.json)?,
            state: self.state.parse()?,
            created_at: from_ms(self.created_at),
            acked_by: self.acked_by,
            acked_at: self.acked_at.map(from_ms),
            resolved_by: self.resolved_by,
            resolved_at: self.resolved_at.map(from_ms),
        })
    }
}

fn decode(id: &str, json: &str) -> Result<Alert, OutboxError> {
    serde_json::from_str(json).map_err(|source| OutboxError::Decode {
        id: id.to_string(),
        source,
    })
}

/// Folds `new` (a later detection of the same incident) into `into`: event ids are united (the
/// count grows by the ids `into` did not hold, and by the firings `new` counted without an
/// id), first and last seen widen, the severity is the higher, value lists are united.
pub fn merge_alert(into: &mut Alert, new: &Alert) {
    let known: std::collections::HashSet<&str> =
        into.event_ids.iter().map(String::as_str).collect();
    let fresh: Vec<String> = new
        .event_ids
        .iter()
        .filter(|id| !known.contains(id.as_str()))
        .cloned()
        .collect();
    let unlisted = new.count.saturating_sub(new.event_ids.len() as u64);
    into.count = into
        .count
        .saturating_add(fresh.len() as u64)
        .saturating_add(unlisted);
    for id in fresh {
        if into.event_ids.len() >= MERGE_MAX_EVENT_IDS {
            break;
        }
        into.event_ids.push(id);
    }
    if new.first_seen < into.first_seen {
        into.first_seen = new.first_seen.clone();
    }
    if new.last_seen > into.last_seen {
        into.last_seen = new.last_seen.clone();
    }
    if new.severity > into.severity {
        into.severity = new.severity;
    }
    if into.region.is_none() {
        into.region = new.region.clone();
    }
    for (list, more) in [
        (&mut into.source_ips, &new.source_ips),
        (&mut into.actions, &new.actions),
        (&mut into.resources, &new.resources),
        (&mut into.tags, &new.tags),
    ] {
        for v in more {
            if list.len() >= MERGE_MAX_VALUES {
                break;
            }
            if !list.contains(v) {
                list.push(v.clone());
            }
        }
    }
}

/// Milliseconds since the epoch; times before it count as the epoch.
fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// RFC 3339 UTC, the way every trailwatch output writes times.
pub fn fmt_time(t: SystemTime) -> String {
    trailwatch_model::time::format_ms(to_ms(t))
}

fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(20),
        };
        let delays: Vec<u64> = (1..=6).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 20, 20]);
        assert_eq!(b.delay(1000), Duration::from_secs(20));
    }

    #[test]
    fn state_names_round_trip() {
        for s in [AlertState::Open, AlertState::Acked, AlertState::Resolved] {
            assert_eq!(s.as_str().parse::<AlertState>().ok(), Some(s));
        }
        assert!("closed".parse::<AlertState>().is_err());
    }
}
