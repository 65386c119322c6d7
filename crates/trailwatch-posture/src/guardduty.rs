//! GuardDuty in every region asked for: a detector that is enabled.
//!
//! `ListDetectors` (`GET /detector`), then `GetDetector` (`GET /detector/{id}`) of each, in
//! each region.

use crate::client::Aws;
use crate::{Check, Place, Status};
use serde_json::Value;
use trailwatch_model::Severity;
use trailwatch_recover::cmd::Cmd;

pub const ID: &str = "aws.guardduty.enabled";
const TITLE: &str = "GuardDuty is enabled in the region";

/// The check of each region.
pub fn checks(aws: &Aws, regions: &[String], account: &str) -> Vec<Check> {
    regions
        .iter()
        .map(|r| region_check(aws, r, account))
        .collect()
}

/// The detector ids of the region (`ListDetectors`).
fn detector_ids(aws: &Aws, region: &str) -> Result<Vec<String>, String> {
    let answer = aws
        .rest_json("guardduty", region, "/detector", "guardduty:ListDetectors")
        .map_err(|e| e.to_string())?;
    Ok(answer
        .get("detectorIds")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

fn region_check(aws: &Aws, region: &str, account: &str) -> Check {
    let p = Place {
        account: account.to_string(),
        region: region.to_string(),
        resource: format!("arn:aws:guardduty:{region}:{account}:detector/*"),
    };
    let ids = match detector_ids(aws, region) {
        Ok(ids) => ids,
        Err(e) => return p.unknown(ID, Severity::High, TITLE, &e),
    };
    if ids.is_empty() {
        return p
            .check(
                ID,
                Severity::High,
                Status::Fail,
                TITLE,
                "no detector in the region",
            )
            .with_fix(
                Cmd::aws("guardduty", "create-detector")
                    .flag("--enable")
                    .region(Some(region)),
            );
    }
    let mut disabled = Vec::new();
    for id in &ids {
        // A detector id in a path: only its documented characters.
        if !trailwatch_recover::ident::Grammar::DetectorId.fits(id) {
            return p.unknown(
                ID,
                Severity::High,
                TITLE,
                &format!(
                    "ListDetectors answered {:?}, not a detector id",
                    trailwatch_escape::terminal(id)
                ),
            );
        }
        let path = format!("/detector/{id}");
        match aws.rest_json("guardduty", region, &path, "guardduty:GetDetector") {
            Ok(d) if d.get("status").and_then(Value::as_str) == Some("ENABLED") => {
                return p.check(
                    ID,
                    Severity::High,
                    Status::Pass,
                    TITLE,
                    format!("detector {id} is ENABLED"),
                );
            }
            Ok(d) => disabled.push((
                id.clone(),
                d.get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("no status")
                    .to_string(),
            )),
            Err(e) => return p.unknown(ID, Severity::High, TITLE, &e.to_string()),
        }
    }
    let evidence: Vec<String> = disabled
        .iter()
        .map(|(i, s)| format!("detector {i} is {s}"))
        .collect();
    let check = p.check(ID, Severity::High, Status::Fail, TITLE, evidence.join("; "));
    match disabled.first() {
        Some((first, _)) => check.with_fix(
            Cmd::aws("guardduty", "update-detector")
                .arg("--detector-id", first.clone())
                .flag("--enable")
                .region(Some(region)),
        ),
        None => check,
    }
}
