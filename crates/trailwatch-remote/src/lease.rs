//! One writer at a time: the lease object `<prefix>/_lease`.
//!
//! A writer creates it with a conditional create (S3 `If-None-Match: *`, Azure
//! `If-None-Match: *`), holding its owner id and an expiry. A second writer's create fails; it
//! reads the lease and is refused with the holder and the expiry, unless the lease has expired
//! (a writer that died), which it takes over with a conditional update naming the ETag it read
//! — of two writers taking over at once only one succeeds. The holder deletes it when done
//! (on a versioned bucket a delete marker: the lease is never under Object Lock).

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use object_store::{PutMode, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::remote::Remote;
use crate::RemoteError;

/// The lease's path inside the store.
pub const LEASE: &str = "_lease";

/// What the lease object holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseBody {
    /// `host:pid:nanoseconds`, unique per writing run.
    pub owner: String,
    pub acquired: String,
    pub expires: String,
}

/// A lease this process holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub body: LeaseBody,
    /// The holder whose expired lease was taken over, if any.
    pub took_over: Option<LeaseBody>,
    /// The lease object's version as written: a renewal is a conditional update naming it.
    version: UpdateVersion,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn new_body(minutes: u32) -> LeaseBody {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into());
    let now = Utc::now();
    LeaseBody {
        owner: format!(
            "{}:{}:{}",
            host.trim(),
            std::process::id(),
            now.timestamp_nanos_opt().unwrap_or_default()
        ),
        acquired: rfc3339(now),
        expires: rfc3339(now + chrono::Duration::minutes(i64::from(minutes))),
    }
}

fn encode(body: &LeaseBody) -> Result<Bytes, RemoteError> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| RemoteError::Config(format!("lease: {e}")))
}

/// Whether `body` has expired at `now` (an unreadable expiry counts as expired: the object
/// is not a lease trailwatch wrote).
fn expired(body: &LeaseBody, now: DateTime<Utc>) -> bool {
    DateTime::parse_from_rfc3339(&body.expires).map_or(true, |t| t.with_timezone(&Utc) <= now)
}

/// Takes the store's lease, or says who holds it until when.
pub fn acquire(remote: &Remote) -> Result<Held, RemoteError> {
    let mine = new_body(remote.lease_minutes);
    let fail = |e: object_store::Error| remote.fail(LEASE, "taking the lease", e);
    for _ in 0..3 {
        match remote.put_mode(LEASE, encode(&mine)?, PutMode::Create) {
            Ok(put) => {
                return Ok(Held {
                    body: mine,
                    took_over: None,
                    version: put.into(),
                })
            }
            Err(object_store::Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(fail(e)),
        }
        let Some((bytes, version)) = remote.get_versioned(LEASE)? else {
            continue; // released in between: create again
        };
        let theirs: Option<LeaseBody> = serde_json::from_slice(&bytes).ok();
        if let Some(t) = &theirs {
            if !expired(t, Utc::now()) {
                return Err(RemoteError::Leased {
                    url: remote.url().to_string(),
                    holder: t.owner.clone(),
                    since: t.acquired.clone(),
                    expires: t.expires.clone(),
                });
            }
        }
        match remote.put_mode(LEASE, encode(&mine)?, PutMode::Update(version)) {
            Ok(put) => {
                return Ok(Held {
                    body: mine,
                    took_over: theirs,
                    version: put.into(),
                })
            }
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => {}
            Err(e) => return Err(fail(e)),
        }
    }
    Err(remote.fail(
        LEASE,
        "taking the lease",
        "another writer took it at the same time three times",
    ))
}

/// Extends `held` by the lease's minutes from now once half of it has gone by (a writer that
/// runs for long, the watch),
/// with a conditional update naming the version it wrote: a lease another writer took over
/// after it expired is not taken back, and the error says who holds it.
pub fn renew(remote: &Remote, held: &mut Held) -> Result<(), RemoteError> {
    let now = Utc::now();
    // Renewed once half of it is gone, not at every call (a watch polls every few seconds).
    let half = chrono::Duration::seconds(i64::from(remote.lease_minutes) * 30);
    if !expired(&held.body, now + half) {
        return Ok(());
    }
    let mut body = held.body.clone();
    body.expires = rfc3339(now + chrono::Duration::minutes(i64::from(remote.lease_minutes)));
    match remote.put_mode(LEASE, encode(&body)?, PutMode::Update(held.version.clone())) {
        Ok(put) => {
            held.body = body;
            held.version = put.into();
            Ok(())
        }
        Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. }) => {
            let theirs = remote
                .get_versioned(LEASE)?
                .and_then(|(b, _)| serde_json::from_slice::<LeaseBody>(&b).ok());
            Err(match theirs {
                Some(t) => RemoteError::Leased {
                    url: remote.url().to_string(),
                    holder: t.owner,
                    since: t.acquired,
                    expires: t.expires,
                },
                None => remote.fail(LEASE, "renewing the lease", "the lease is gone"),
            })
        }
        Err(e) => Err(remote.fail(LEASE, "renewing the lease", e)),
    }
}

/// Gives the lease back if it is still `held`'s (an expired lease another writer took over
/// is theirs now, and left alone).
pub fn release(remote: &Remote, held: &Held) -> Result<(), RemoteError> {
    let Some((bytes, _)) = remote.get_versioned(LEASE)? else {
        return Ok(());
    };
    match serde_json::from_slice::<LeaseBody>(&bytes) {
        Ok(b) if b.owner == held.body.owner => remote.delete_current(LEASE),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_read_from_the_lease() {
        let b = new_body(5);
        let now = Utc::now();
        assert!(!expired(&b, now));
        assert!(expired(&b, now + chrono::Duration::minutes(6)));
        let garbled = LeaseBody {
            expires: "soon".into(),
            ..b
        };
        assert!(expired(&garbled, now));
    }
}
