//! Checks of the cloud side's logging set-up, through the clouds' own APIs (or, for AWS
//! without API access, from the trail's records of the calls that set it up).
//!
//! This crate owns one job: asking a cloud account how its audit logging is configured and
//! saying, check by check, whether that meets what audit-logging guidance (the clouds' own,
//! CIS, PCI DSS) asks for. A trail that was created single-region, or a log bucket that was
//! public from day one, never shows in the trail's records; it shows here.
//!
//! - [`creds`]: AWS credentials and region from the usual places (environment, shared
//!   `credentials`/`config` files and their profiles, instance and container roles);
//! - [`client`]: plain signed API calls (SigV4 by `object_store`'s signer, sent with its HTTP
//!   client): the JSON protocol (CloudTrail, CloudWatch Logs), REST (S3's XML, GuardDuty's
//!   JSON) and the query protocol (STS, CloudWatch);
//! - [`cloudtrail`] and [`s3`]: what each trail and each trail's bucket is, and the checks on
//!   it ([`selectors`] reads event selectors, [`lifecycle`] a bucket's lifecycle rules);
//! - [`guardduty`]: an enabled GuardDuty detector in every region asked for;
//! - [`cloudwatch`]: the CIS section 4 metric filters and alarms on each trail's log group;
//! - [`organizations`]: with `--organization`, an organization trail recording every account;
//! - [`azure`]: Azure (`posture azure`): each subscription's Activity Log export, retention and
//!   storage account, Entra ID's sign-in and audit log export, Defender for Cloud plans and the
//!   CIS activity-log alerts, read with bearer-token GETs to Azure Resource Manager;
//! - [`fromlogs`]: the same AWS checks read from the trail's own records of the calls that
//!   set the configuration (`posture aws --logs`), for when there is no API access;
//! - [`render`]: JSON lines, JSON, Markdown and a dry-run shell script of the fixes.
//!
//! Every check ends `pass`, `fail` or `unknown`: a call that is denied or fails makes the
//! checks needing its answer `unknown`, with the reason, never a silent pass. A failed check's
//! fix is the exact AWS (or Azure) CLI command, built from the recovery plan's command words
//! ([`trailwatch_recover::cmd::Cmd`]) so that every identifier is checked against its
//! grammar ([`trailwatch_recover::ident::first_unfit`]) and quoted as the plan quotes it.
//! It reads configuration only: nothing here changes the account.

pub mod azure;
pub mod client;
pub mod cloudtrail;
pub mod cloudwatch;
pub mod creds;
pub mod fromlogs;
pub mod guardduty;
pub mod lifecycle;
pub mod organizations;
pub mod render;
pub mod s3;
pub mod selectors;

use serde::Serialize;
use trailwatch_model::Severity;
use trailwatch_recover::cmd::Cmd;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// The answer needed could not be read (a call denied or failed): `evidence` says why.
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }
}

/// One check of one resource: the JSON-lines contract, field for field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id (`aws.cloudtrail.multi_region`).
    pub id: &'static str,
    pub status: Status,
    pub severity: Severity,
    pub account: String,
    pub region: String,
    /// The trail's ARN, the bucket's name, or what was looked at.
    pub resource: String,
    pub title: String,
    /// What was read that decided the status (or why it could not be read).
    pub evidence: String,
    /// For a failed check, the AWS or Azure CLI command that fixes it (values shell-quoted);
    /// `None` when no single command does (its evidence says what is needed) or a value did
    /// not fit its grammar (the evidence says which).
    pub fix: Option<String>,
}

/// Where a check is: account, region, resource.
#[derive(Debug, Clone)]
pub struct Place {
    pub account: String,
    pub region: String,
    pub resource: String,
}

impl Place {
    /// A check here.
    pub fn check(
        &self,
        id: &'static str,
        severity: Severity,
        status: Status,
        title: impl Into<String>,
        evidence: impl Into<String>,
    ) -> Check {
        Check {
            id,
            status,
            severity,
            account: self.account.clone(),
            region: self.region.clone(),
            resource: self.resource.clone(),
            title: title.into(),
            evidence: evidence.into(),
            fix: None,
        }
    }

    /// `unknown`, because `reason`.
    pub fn unknown(
        &self,
        id: &'static str,
        severity: Severity,
        title: &str,
        reason: &str,
    ) -> Check {
        self.check(
            id,
            severity,
            Status::Unknown,
            title,
            format!("not checked: {reason}"),
        )
    }
}

impl Check {
    /// Attaches `cmd` as the fix of a failed check when every value fits its flag's grammar;
    /// otherwise says in the evidence why there is none. Passing and unknown checks get none.
    pub fn with_fix(mut self, cmd: Cmd) -> Check {
        if self.status != Status::Fail {
            return self;
        }
        match trailwatch_recover::ident::first_unfit(&cmd) {
            None => self.fix = Some(cmd.shell()),
            Some(why) => {
                self.evidence = format!("{}; fix not generated: {why}", self.evidence);
            }
        }
        self
    }

    /// A failed check's evidence, with what a fix needs when no single command makes it.
    pub fn with_manual_fix(mut self, what: &str) -> Check {
        if self.status == Status::Fail {
            self.evidence = format!("{}; to fix: {what}", self.evidence);
        }
        self
    }
}

/// What can stop a posture run before any check (a check's own failure is `unknown`).
#[derive(Debug, thiserror::Error)]
pub enum PostureError {
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("{file}: {reason}")]
    ConfigFile { file: String, reason: String },
    #[error("--endpoint {0:?}: give an http:// or https:// URL")]
    Endpoint(String),
    #[error("--subscription {0:?} is not a subscription id (a GUID)")]
    Subscription(String),
    #[error("--region {0:?} is not an AWS region")]
    Region(String),
    #[error("HTTP client: {0}")]
    Http(String),
}

/// What `posture aws` checks, and where.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Regions whose trails are checked (and which must be covered by one); empty: the
    /// profile's or environment's region, else us-east-1.
    pub regions: Vec<String>,
    /// A profile of the shared config and credentials files.
    pub profile: Option<String>,
    /// Every call goes to this URL (an emulator such as moto's server, or a VPC endpoint).
    pub endpoint: Option<String>,
    /// Also check that an organization trail records every account (run from the
    /// organization's management account or a delegated administrator).
    pub organization: bool,
}

impl AwsOptions {
    /// Resolves credentials and region and runs every AWS check.
    pub fn run(&self) -> Result<Vec<Check>, PostureError> {
        let env = |k: &str| std::env::var(k).ok();
        let resolved = creds::resolve(self.profile.as_deref(), &env)?;
        let regions = if self.regions.is_empty() {
            vec![resolved
                .region
                .clone()
                .unwrap_or_else(|| "us-east-1".to_string())]
        } else {
            self.regions.clone()
        };
        for r in &regions {
            if !trailwatch_recover::ident::Grammar::AwsRegion.fits(r) {
                return Err(PostureError::Region(r.clone()));
            }
        }
        let endpoint = self.endpoint.as_deref();
        let mut aws = client::Aws::new(resolved.credentials, endpoint)?;
        for role in &resolved.assume {
            let credential = aws.assume_role(&regions[0], role).map_err(|e| {
                PostureError::Credentials(format!("assuming {}: {e}", role.role_arn))
            })?;
            let provider = object_store::StaticCredentialProvider::new(credential);
            aws = client::Aws::new(std::sync::Arc::new(provider), endpoint)?;
        }
        // The account of region-wide checks (trails name their own in their ARNs): the
        // caller's, else the first trail's.
        let caller = aws.account(&regions[0]).ok();
        let (trails, mut checks) =
            cloudtrail::gather(&aws, &regions, caller.as_deref().unwrap_or("unknown"));
        let account = caller
            .or_else(|| trails.first().map(|t| t.account.clone()))
            .unwrap_or_else(|| "unknown".to_string());
        let now_ms = chrono::Utc::now().timestamp_millis();
        checks.extend(cloudtrail::checks(&trails, &regions, &account, now_ms));
        checks.extend(s3::checks(&aws, &trails));
        checks.extend(guardduty::checks(&aws, &regions, &account));
        checks.extend(cloudwatch::checks(&aws, &trails));
        if self.organization {
            checks.push(organizations::check(&aws, &trails, &account));
        }
        Ok(checks)
    }
}
