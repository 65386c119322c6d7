//! AWS changes to where data and secrets live: keys scheduled for deletion, secrets deleted or
//! read, bucket protections removed, and the versioning state the restore phase depends on.

use crate::cmd::Cmd;
use crate::plan::{Phase, Step};
use crate::scope::{raw, s};
use serde_json::Value;
use std::collections::BTreeMap;
use trailwatch_model::{Event, Outcome};

fn step(
    e: &Event,
    phase: Phase,
    title: String,
    cmd: Option<Cmd>,
    risk: &str,
    check: Option<Cmd>,
    target: &str,
) -> Step {
    Step::answering(e, phase, title, cmd, risk, check, target)
}

/// The undo of one successful change to keys, secrets or bucket protections (empty when the
/// action is none of those).
pub(crate) fn undo(e: &Event) -> Vec<Step> {
    let v = raw(e);
    let req = v.get("requestParameters").cloned().unwrap_or_default();
    let r = |p: &str| s(&req, p).map(str::to_string);
    let region = e.region.as_deref();
    let mut out = Vec::new();
    match e.action.as_str() {
        "ScheduleKeyDeletion" | "DisableKey" => {
            let Some(k) = r("/keyId") else { return out };
            if e.action == "ScheduleKeyDeletion" {
                out.push(step(e, Phase::Eradicate, format!("Cancel the deletion of KMS key {k} they scheduled (possible only within the waiting period)"),
                    Some(Cmd::aws("kms", "cancel-key-deletion").arg("--key-id", k.clone()).region(region)),
                    "none: a cancelled deletion leaves the key disabled (next step)",
                    Some(Cmd::aws("kms", "describe-key").arg("--key-id", k.clone()).region(region)), &k));
            }
            out.push(step(e, Phase::Eradicate, format!("Re-enable KMS key {k}: data encrypted under it is unreadable while it is disabled"),
                Some(Cmd::aws("kms", "enable-key").arg("--key-id", k.clone()).region(region)),
                "none if the key was enabled before the incident",
                Some(Cmd::aws("kms", "describe-key").arg("--key-id", k.clone()).region(region)), &k));
        }
        "DeleteSecret" => {
            let Some(id) = r("/secretId") else { return out };
            let forced = req
                .get("forceDeleteWithoutRecovery")
                .and_then(Value::as_bool)
                == Some(true);
            let title = if forced {
                format!("Recreate secret {id}: they deleted it without a recovery window, so it cannot be restored (new value from its source)")
            } else {
                format!("Restore secret {id} they deleted (possible within its recovery window)")
            };
            let cmd = (!forced).then(|| {
                Cmd::aws("secretsmanager", "restore-secret")
                    .arg("--secret-id", id.clone())
                    .region(region)
            });
            out.push(step(
                e,
                Phase::Restore,
                title,
                cmd,
                "none: the secret returns with its last value; rotate it after",
                Some(
                    Cmd::aws("secretsmanager", "describe-secret")
                        .arg("--secret-id", id.clone())
                        .region(region),
                ),
                &id,
            ));
        }
        "GetSecretValue" => {
            let Some(id) = r("/secretId") else { return out };
            out.push(step(e, Phase::Eradicate, format!("Rotate secret {id}: the intruder read its value"),
                Some(Cmd::aws("secretsmanager", "rotate-secret").arg("--secret-id", id.clone()).region(region)),
                "works only where rotation is configured; else change the credential at its source and put-secret-value; clients must pick up the new value",
                Some(Cmd::aws("secretsmanager", "describe-secret").arg("--secret-id", id.clone()).region(region)), &id));
        }
        "PutBucketVersioning" => {
            let Some(b) = r("/bucketName") else {
                return out;
            };
            if s(&req, "/VersioningConfiguration/Status") == Some("Suspended") {
                out.push(step(
                    e,
                    Phase::Eradicate,
                    format!("Re-enable versioning of bucket {b} they suspended"),
                    Some(
                        Cmd::aws("s3api", "put-bucket-versioning")
                            .arg("--bucket", b.clone())
                            .opt("--versioning-configuration", "Status=Enabled"),
                    ),
                    "none",
                    Some(Cmd::aws("s3api", "get-bucket-versioning").arg("--bucket", b.clone())),
                    &b,
                ));
            }
        }
        "DeleteBucketPublicAccessBlock"
        | "PutBucketPublicAccessBlock"
        | "DeletePublicAccessBlock"
        | "PutPublicAccessBlock" => {
            let Some(b) = r("/bucketName") else {
                return out;
            };
            let opened = e.action.starts_with("Delete") || req.to_string().contains("false");
            if opened {
                out.push(step(e, Phase::Eradicate, format!("Block public access to bucket {b} again (they removed or weakened the block)"),
                    Some(Cmd::aws("s3api", "put-public-access-block").arg("--bucket", b.clone()).opt("--public-access-block-configuration", "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true")),
                    "a bucket meant to be public (a website) stops being so",
                    Some(Cmd::aws("s3api", "get-public-access-block").arg("--bucket", b.clone())), &b));
            }
        }
        "PutBucketPolicy" | "DeleteBucketPolicy" => {
            let Some(b) = r("/bucketName") else {
                return out;
            };
            let set = req
                .get("bucketPolicy")
                .map(Value::to_string)
                .unwrap_or_else(|| "no policy".into());
            out.push(step(e, Phase::Eradicate, format!("Restore the policy of bucket {b}: they set {set}; put back the earlier policy from IaC"),
                None, "manual: the log carries only the new policy",
                Some(Cmd::aws("s3api", "get-bucket-policy").arg("--bucket", b.clone())), &b));
        }
        "DeleteDBInstance" | "DeleteDBCluster" => {
            let (flag, id) = match (r("/dBInstanceIdentifier"), r("/dBClusterIdentifier")) {
                (Some(i), _) => ("--db-instance-identifier", i),
                (None, Some(c)) => ("--db-cluster-identifier", c),
                _ => return out,
            };
            let list = if flag == "--db-instance-identifier" {
                "describe-db-snapshots"
            } else {
                "describe-db-cluster-snapshots"
            };
            out.push(step(e, Phase::Restore, format!("Recreate database {id} they deleted from its latest snapshot (final snapshot or automated backup)"),
                Some(Cmd::aws("rds", list).arg(flag, id.clone()).region(region)),
                "restores to the snapshot's time: later writes are lost", None, &id));
        }
        "DeleteTable" => {
            let Some(t) = r("/tableName") else { return out };
            out.push(step(
                e,
                Phase::Restore,
                format!("Recreate DynamoDB table {t} they deleted from a backup"),
                Some(
                    Cmd::aws("dynamodb", "list-backups")
                        .arg("--table-name", t.clone())
                        .region(region),
                ),
                "restores to the backup's time",
                None,
                &t,
            ));
        }
        "DeleteVolume" => {
            let Some(vol) = r("/volumeId") else {
                return out;
            };
            out.push(step(
                e,
                Phase::Restore,
                format!("Recreate volume {vol} they deleted from its latest snapshot"),
                Some(
                    Cmd::aws("ec2", "describe-snapshots")
                        .arg("--filters", format!("Name=volume-id,Values={vol}"))
                        .region(region),
                ),
                "restores to the snapshot's time",
                None,
                &vol,
            ));
        }
        _ => {}
    }
    out
}

/// Each bucket's versioning changes in the log (time, `Enabled`/`Suspended`, event id), oldest
/// first: from everyone's events, not only the intruder's.
pub(crate) type Versioning = BTreeMap<String, Vec<(i64, String, String)>>;

pub(crate) fn versioning(events: &[Event]) -> Versioning {
    let mut out: Versioning = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.outcome == Outcome::Success && e.action == "PutBucketVersioning")
    {
        let v = raw(e);
        if let (Some(b), Some(st)) = (
            s(&v, "/requestParameters/bucketName"),
            s(&v, "/requestParameters/VersioningConfiguration/Status"),
        ) {
            out.entry(b.to_string()).or_default().push((
                e.time_ms,
                st.to_string(),
                e.event_id.clone(),
            ));
        }
    }
    out
}

/// What the log says of `bucket`'s versioning at `time_ms`, as a sentence for the plan.
pub(crate) fn versioning_at(v: &Versioning, bucket: &str, time_ms: i64) -> String {
    let last = v
        .get(bucket)
        .and_then(|xs| xs.iter().rev().find(|(t, _, _)| *t <= time_ms));
    match last {
        Some((_, st, id)) if st == "Enabled" => format!("versioning was on (event {id}): restore the version before the incident of each object"),
        Some((_, st, id)) => format!("versioning was {} (event {id}): versions written since then are not kept, restore those objects from backup", st.to_lowercase()),
        None => "the log does not show the bucket's versioning: check it (get-bucket-versioning); if it was off, restore from backup".into(),
    }
}
