//! Azure: the Activity Log's export, Entra ID's, Defender for Cloud and the CIS activity-log
//! alerts, read with plain GETs to Azure Resource Manager.
//!
//! - [`token`]: a service principal's token from the environment, else the Azure CLI's;
//! - [`arm`]: the GETs (bearer token, `nextLink` pages, ARM error answers);
//! - [`activity_log`]: each subscription's diagnostic setting, the retention and the
//!   protection of where it sends the log;
//! - [`entra`]: the tenant's Entra ID diagnostic setting (sign-in and audit logs);
//! - [`defender`]: the Defender for Cloud plans that matter on Standard;
//! - [`alerts`]: the CIS activity-log alerts, enabled, with an action group.

pub mod activity_log;
pub mod alerts;
pub mod arm;
pub mod defender;
pub mod entra;
pub mod token;

use crate::{Check, PostureError};
use trailwatch_recover::ident::Grammar;

/// What `posture azure` checks, and where.
#[derive(Debug, Clone, Default)]
pub struct AzureOptions {
    /// Subscription ids (GUIDs); at least one.
    pub subscriptions: Vec<String>,
    /// Every ARM call goes to this URL instead of `https://management.azure.com`.
    pub endpoint: Option<String>,
}

impl AzureOptions {
    /// Gets a token and runs every Azure check of every subscription.
    pub fn run(&self) -> Result<Vec<Check>, PostureError> {
        if self.subscriptions.is_empty() {
            return Err(PostureError::Credentials(
                "give at least one --subscription".into(),
            ));
        }
        for s in &self.subscriptions {
            if !Grammar::Guid.fits(s) {
                return Err(PostureError::Subscription(s.clone()));
            }
        }
        let endpoint = match self.endpoint.as_deref() {
            None => arm::MANAGEMENT.to_string(),
            Some(e) if e.starts_with("https://") || e.starts_with("http://") => e.to_string(),
            Some(e) => return Err(PostureError::Endpoint(e.to_string())),
        };
        let env = |k: &str| std::env::var(k).ok();
        let authority_http = env("AZURE_AUTHORITY_HOST").is_some_and(|a| a.starts_with("http://"));
        let http = arm::Http::new(authority_http)?;
        let token = token::acquire(&http, &env)?;
        let arm = arm::Arm::new(
            arm::Http::new(endpoint.starts_with("http://"))?,
            &endpoint,
            &token.access_token,
        );
        let mut checks = Vec::new();
        for sub in &self.subscriptions {
            let sub = sub.to_ascii_lowercase();
            checks.extend(activity_log::checks(&arm, &sub));
        }
        // Tenant-wide: once, named by the token's tenant.
        checks.push(entra::check(
            &arm,
            token.tenant.as_deref().unwrap_or("unknown tenant"),
        ));
        for sub in &self.subscriptions {
            checks.push(defender::check(&arm, &sub.to_ascii_lowercase()));
        }
        for sub in &self.subscriptions {
            checks.push(alerts::check(&arm, &sub.to_ascii_lowercase()));
        }
        Ok(checks)
    }
}
