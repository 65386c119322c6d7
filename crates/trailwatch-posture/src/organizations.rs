//! With `--organization`: an organization trail records every account of the organization.
//!
//! Run from the management account (or a delegated administrator): `DescribeOrganization` and
//! `ListAccounts` (Organizations, JSON protocol) say which organization and which accounts; an
//! organization trail (`IsOrganizationTrail`) that is multi-region and logging records all of
//! them, the accounts that join later included.

use crate::client::Aws;
use crate::cloudtrail::Trail;
use crate::{Check, Place, Status};
use serde_json::{json, Value};
use trailwatch_model::Severity;
use trailwatch_recover::cmd::Cmd;

pub const ID: &str = "aws.organizations.trail_covers_all_accounts";
const TITLE: &str = "an organization trail, multi-region and logging, records every account";
const TARGET: &str = "AWSOrganizationsV20161128";
/// Organizations answers in us-east-1 (the global endpoint's region).
const REGION: &str = "us-east-1";

/// The active accounts of the organization (`ListAccounts`, every page).
fn accounts(aws: &Aws) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10_000 {
        let mut body = json!({});
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let answer = aws
            .json_call("organizations", REGION, TARGET, "ListAccounts", &body)
            .map_err(|e| e.to_string())?;
        for a in answer
            .get("Accounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if a.get("Status").and_then(Value::as_str) == Some("ACTIVE") {
                if let Some(id) = a.get("Id").and_then(Value::as_str) {
                    out.push(id.to_string());
                }
            }
        }
        match answer.get("NextToken").and_then(Value::as_str) {
            Some(t) if token.as_deref() != Some(t) => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
    Err("ListAccounts: more than 10000 pages".into())
}

/// The organization's check.
pub fn check(aws: &Aws, trails: &[Trail], account: &str) -> Check {
    let org = aws
        .json_call(
            "organizations",
            REGION,
            TARGET,
            "DescribeOrganization",
            &json!({}),
        )
        .ok()
        .and_then(|v| {
            v.pointer("/Organization/Arn")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let p = Place {
        account: account.to_string(),
        region: REGION.to_string(),
        resource: org.unwrap_or_else(|| format!("organization of {account}")),
    };
    let accounts = match accounts(aws) {
        Ok(a) => a,
        Err(e) => return p.unknown(ID, Severity::High, TITLE, &e),
    };
    let logging = |t: &Trail| {
        t.status
            .as_ref()
            .is_ok_and(|s| s.get("IsLogging").and_then(Value::as_bool) == Some(true))
    };
    let covering: Vec<&Trail> = trails
        .iter()
        .filter(|t| t.organization && t.multi_region && logging(t))
        .collect();
    if let Some(t) = covering.first() {
        return p.check(
            ID,
            Severity::High,
            Status::Pass,
            TITLE,
            format!("{} records the {} active accounts", t.arn, accounts.len()),
        );
    }
    let org_trails: Vec<&str> = trails
        .iter()
        .filter(|t| t.organization)
        .map(|t| t.arn.as_str())
        .collect();
    let evidence = if org_trails.is_empty() {
        format!("no organization trail; {} active accounts", accounts.len())
    } else {
        format!(
            "organization trails not multi-region and logging: {}; {} active accounts",
            org_trails.join(", "),
            accounts.len()
        )
    };
    let check = p.check(ID, Severity::High, Status::Fail, TITLE, evidence);
    // A multi-region, logging trail of this account can become the organization's.
    match trails
        .iter()
        .find(|t| t.account == account && t.multi_region && logging(t))
    {
        Some(t) => check.with_fix(
            Cmd::aws("cloudtrail", "update-trail")
                .arg("--name", t.name.clone())
                .flag("--is-organization-trail")
                .region(Some(&t.home_region)),
        ),
        None => check.with_manual_fix(
            "a multi-region trail in the management account, logging, then aws cloudtrail update-trail --name <trail> --is-organization-trail",
        ),
    }
}
