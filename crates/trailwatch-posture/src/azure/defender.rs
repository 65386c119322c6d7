//! Defender for Cloud: the plans that matter on the Standard tier
//! (`GET /subscriptions/{id}/providers/Microsoft.Security/pricings`).

use super::arm::Arm;
use crate::{Check, Place, Status};
use serde_json::Value;
use trailwatch_model::Severity;
use trailwatch_recover::cmd::Cmd;

pub const ID: &str = "azure.defender.plans";
const TITLE: &str = "Defender for Cloud plans that matter are on Standard";
const API: &str = "2024-01-01";

/// The plans checked (pricing names).
pub const PLANS: [&str; 10] = [
    "VirtualMachines",
    "StorageAccounts",
    "KeyVaults",
    "Arm",
    "SqlServers",
    "SqlServerVirtualMachines",
    "AppServices",
    "Containers",
    "OpenSourceRelationalDatabases",
    "CosmosDbs",
];

/// The subscription's check.
pub fn check(arm: &Arm, sub: &str) -> Check {
    let path = format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings");
    let p = Place {
        account: sub.to_string(),
        region: "global".into(),
        resource: path.clone(),
    };
    let pricings = match arm.list(&path, API) {
        Ok(v) => v,
        Err(e) => return p.unknown(ID, Severity::High, TITLE, &e.to_string()),
    };
    let tier = |plan: &str| {
        pricings.iter().find_map(|v| {
            let name = v.get("name").and_then(Value::as_str)?;
            name.eq_ignore_ascii_case(plan).then(|| {
                v.pointer("/properties/pricingTier")
                    .and_then(Value::as_str)
                    .unwrap_or("no tier")
                    .to_string()
            })
        })
    };
    let mut standard = Vec::new();
    let mut free = Vec::new();
    let mut absent = Vec::new();
    for plan in PLANS {
        match tier(plan) {
            Some(t) if t.eq_ignore_ascii_case("Standard") => standard.push(plan),
            Some(_) => free.push(plan),
            None => absent.push(plan),
        }
    }
    let mut evidence = format!("Standard: {}", list(&standard));
    if !absent.is_empty() {
        evidence.push_str(&format!("; not offered: {}", list(&absent)));
    }
    let Some(first) = free.first() else {
        return p.check(ID, Severity::High, Status::Pass, TITLE, evidence);
    };
    let evidence = format!("Free: {}; {evidence}", list(&free));
    let mut check = p
        .check(ID, Severity::High, Status::Fail, TITLE, evidence)
        .with_fix(
            Cmd::az(&["security", "pricing", "create"])
                .arg("--name", *first)
                .opt("--tier", "Standard")
                .arg("--subscription", sub),
        );
    if free.len() > 1 {
        check = check.with_manual_fix(&format!(
            "the same command with --name {} each",
            free[1..].join(", ")
        ));
    }
    check
}

fn list(plans: &[&str]) -> String {
    if plans.is_empty() {
        "none".into()
    } else {
        plans.join(", ")
    }
}
