//! The normalized event: one shape for AWS CloudTrail, the Azure Activity Log and the
//! Microsoft Entra ID sign-in and audit logs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which cloud an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Aws,
    /// The Azure Activity Log (subscription control plane).
    Azure,
    /// Microsoft Entra ID (formerly Azure AD) sign-in and audit logs: the tenant's identity
    /// plane.
    Entra,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Entra => "entra",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the call did what it asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    /// Azure `Started`/`Accepted` records, whose end record tells the result.
    Pending,
}

/// An event's unique id: CloudTrail `eventID`, Azure `eventDataId`, else a stable hash of the
/// record (hex), so that the same record read twice gets the same id.
pub type EventId = String;

/// Who acted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// `IAMUser`, `AssumedRole`, `Root`, … (AWS); `User`, `ServicePrincipal`, … (Azure).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The principal's stable id (`principalId`, Azure object id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// ARN (AWS) or UPN / app id (Azure): the name people read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// Whether the session was MFA-authenticated, when the record says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa: Option<bool>,
    /// The role behind an assumed-role session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<String>,
    /// The application (client) id acting or signed into (Entra `appId`, Azure `appid`
    /// claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}

impl Principal {
    /// The best single label for the principal: name, else id, else `"unknown"`.
    pub fn label(&self) -> &str {
        self.name
            .as_deref()
            .or(self.id.as_deref())
            .unwrap_or("unknown")
    }
}

/// One audit record, normalized. The raw record stays with it for rules and for evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the Unix epoch, UTC.
    pub time_ms: i64,
    pub provider: Provider,
    /// AWS account id, Azure subscription id or Entra tenant id.
    pub account: Option<String>,
    /// AWS region or Azure location.
    pub region: Option<String>,
    pub principal: Principal,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `iam.amazonaws.com`, `Microsoft.Network`, …
    pub service: Option<String>,
    /// `CreateAccessKey`, `Microsoft.Network/networkSecurityGroups/securityRules/write`, …
    pub action: String,
    /// Whether the call only read state, when known.
    pub read_only: Option<bool>,
    pub outcome: Outcome,
    pub error_code: Option<String>,
    /// ARNs or Azure resource ids the call touched.
    pub resources: Vec<String>,
    pub event_id: EventId,
    /// The record as it was read (for AWS the CloudTrail record itself, unwrapped from any
    /// envelope).
    pub raw: String,
}
