//! Microsoft Entra ID (Azure AD) sign-in and audit logs, in each shape they are exported in:
//! one field vocabulary for rules, and normalization.
//!
//! # Shapes
//! - **Diagnostic setting** ([`EntraShape::Diagnostic`]): storage `PT1H.json` lines or Event
//!   Hub `{"records": [...]}`. An envelope (`time`, `category`, `operationName`, `resultType`,
//!   `resultDescription`, `callerIpAddress`, `tenantId`, `location` as a country code,
//!   `identity`, …) around `properties`, the Graph object below. Categories `SignInLogs`,
//!   `NonInteractiveUserSignInLogs`, `ServicePrincipalSignInLogs`,
//!   `ManagedIdentitySignInLogs`, `AuditLogs`.
//! - **Microsoft Graph** ([`EntraShape::Graph`]): `signIn` and `directoryAudit` objects, as
//!   `/auditLogs/signIns` and `/auditLogs/directoryAudits` return them in `{"value": [...]}`:
//!   camelCase (`createdDateTime`, `userPrincipalName`, `status.errorCode`,
//!   `activityDisplayName`, `initiatedBy.user.userPrincipalName`, `targetResources`, …).
//! - **Log Analytics** ([`EntraShape::LogAnalytics`]): rows of the tables `SigninLogs`,
//!   `AADNonInteractiveUserSignInLogs`, `AADServicePrincipalSignInLogs`,
//!   `AADManagedIdentitySignInLogs` and `AuditLogs`: PascalCase columns (`TimeGenerated`,
//!   `UserPrincipalName`, `ResultType`, `ResultDescription`, `Status`, `LocationDetails`,
//!   `OperationName`, `InitiatedBy`, `TargetResources`, …).
//!
//! # Vocabulary
//! Every name is compared without regard to ASCII case and answered from whichever shape the
//! record has, so one rule covers all three:
//! - any Graph name or path (`userPrincipalName`, `deviceDetail.trustType`,
//!   `initiatedBy.user.ipAddress`), which is also the Log Analytics column of the same name
//!   (`UserPrincipalName`, `DeviceDetail.trusttype`, `InitiatedBy.user.ipAddress`) and, in the
//!   diagnostic shape, the same path under `properties` (`properties.userPrincipalName`);
//!   `properties.X` answers `X` in the other two shapes. `LocationDetails` and `location`,
//!   `ConditionalAccessPolicies` and `appliedConditionalAccessPolicies` are the same object;
//! - `ResultType` / `errorCode`: the sign-in's error code (`0` = success);
//! - `ResultDescription` / `failureReason` / `failure_status_reason`: the failure reason (for
//!   audits the `resultReason`);
//! - `Status`: the result as a word (`Success`, `Failure`, or `Interrupted` for the interrupt
//!   codes below; audits: `result`), then the status's `failureReason` and
//!   `additionalDetails` (`MFA denied; user declined the authentication`), or the audit's
//!   `resultReason`; `Status.errorCode` and the like reach inside the object;
//! - `operationName`, `OperationName`, `ActivityDisplayName`, `activity`, `activityType`: the
//!   operation — the audit's `activityDisplayName` (`Add member to role`), or
//!   [`SIGN_IN_OPERATION`] for every sign-in;
//! - `properties.message` (the Sentinel connector's name for the operation): for audits the
//!   operation; for sign-ins the authentication protocol in words (`Device Code`, `ROPC`);
//! - `Category`: the audit's own category (`RoleManagement`, `UserManagement`, …), and the
//!   log's diagnostic category (`SignInLogs`, `AuditLogs`, …); `Type` the Log Analytics table;
//! - `ClientApp` / `clientAppUsed`, `Username` / `upn` (`userPrincipalName`; for audits the
//!   initiating user's), `ipAddress` / `IPAddress` / `callerIpAddress` (for audits the
//!   initiator's), `userId`, `appId` (for audits the initiator's), `Location` (the country
//!   code), `riskEventType` (each of `riskEventTypes_v2` / `riskEventTypes`), `tenantId`;
//! - for audits, `additionalDetails.<key>` answers the `value` of the `additionalDetails`
//!   entry with that `key`, and a modified property's display name
//!   (`ConsentContext.IsAdminConsent`) answers its new value, unquoted.
//!
//! # Normalization
//! Provider [`Provider::Entra`]; account = the tenant id; principal = the user's UPN (sign-ins
//! of service principals and managed identities: the service principal's name, else the
//! application's), id = the user's (or service principal's) object id, `app_id` = the
//! application; for audits the initiator (`initiatedBy.user`, else `initiatedBy.app`). Action =
//! the operation (above); service = the log's category. Outcome: error code `0` is a success;
//! the *interrupts* ([`INTERRUPT_CODES`]: `50074`/`50076` strong authentication required,
//! `50079`/`50072` MFA registration, `50058`, `50097`, `50125`, `50140`, `50199`, `16000`,
//! `16001`, `16003`) are [`Outcome::Pending`] — the password was right but the sign-in is not
//! complete, so they are neither a success nor a failed guess, and the record that follows
//! tells the result; any other code is a failure, with the code as the error code. Audits:
//! `result` `failure` or `timeout` is a failure (error code: the `resultReason`). Region = the
//! country code; resources = the audit's target ids and UPNs; event id = `id`, else a hash of
//! the record.

use crate::aws::push_unique;
use crate::fields::{self, AZURE};
use crate::time::parse_ms;
use std::borrow::Cow;
use trailwatch_json::{Indexed, Kind, Raw};
use trailwatch_model::{Event, FieldPath, FieldSource, FieldValue, Outcome, Principal, Provider};

/// Which export shape an Entra record came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntraShape {
    /// Diagnostic-setting export (storage `PT1H.json`, Event Hub): envelope + `properties`.
    Diagnostic,
    /// Microsoft Graph `signIn` / `directoryAudit` object.
    Graph,
    /// A Log Analytics row (`SigninLogs`, `AuditLogs`, … columns).
    LogAnalytics,
}

/// Which Entra log a record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntraLog {
    /// Interactive user sign-ins.
    SignIns,
    NonInteractiveSignIns,
    ServicePrincipalSignIns,
    ManagedIdentitySignIns,
    /// Directory audits.
    Audit,
}

/// (log, diagnostic category, Log Analytics table)
const LOGS: [(EntraLog, &str, &str); 5] = [
    (EntraLog::SignIns, "SignInLogs", "SigninLogs"),
    (
        EntraLog::NonInteractiveSignIns,
        "NonInteractiveUserSignInLogs",
        "AADNonInteractiveUserSignInLogs",
    ),
    (
        EntraLog::ServicePrincipalSignIns,
        "ServicePrincipalSignInLogs",
        "AADServicePrincipalSignInLogs",
    ),
    (
        EntraLog::ManagedIdentitySignIns,
        "ManagedIdentitySignInLogs",
        "AADManagedIdentitySignInLogs",
    ),
    (EntraLog::Audit, "AuditLogs", "AuditLogs"),
];

impl EntraLog {
    /// The diagnostic-setting category (`SignInLogs`, …, `AuditLogs`).
    pub fn category(self) -> &'static str {
        LOGS.iter()
            .find(|(l, _, _)| *l == self)
            .map_or("", |(_, c, _)| c)
    }

    /// The Log Analytics table (`SigninLogs`, `AADNonInteractiveUserSignInLogs`, …).
    pub fn table(self) -> &'static str {
        LOGS.iter()
            .find(|(l, _, _)| *l == self)
            .map_or("", |(_, _, t)| t)
    }

    /// The log a diagnostic category or a Log Analytics table names (ASCII case ignored).
    pub fn from_name(name: &str) -> Option<EntraLog> {
        LOGS.iter()
            .find(|(_, c, t)| name.eq_ignore_ascii_case(c) || name.eq_ignore_ascii_case(t))
            .map(|(l, _, _)| *l)
    }

    /// Whether it is one of the sign-in logs.
    pub fn is_sign_in(self) -> bool {
        self != EntraLog::Audit
    }
}

/// The operation of every sign-in, whatever its shape (the diagnostic and Log Analytics
/// shapes' `operationName`).
pub const SIGN_IN_OPERATION: &str = "Sign-in activity";

/// Error codes that interrupt a sign-in rather than fail it: strong authentication required
/// (50074, 50076), MFA registration required (50072, 50079), no session for silent sign-in
/// (50058), device authentication required (50097), password change or registration prompt
/// (50125), "keep me signed in" prompt (50140), confirmation prompt (50199), account
/// selection (16000, 16001, 16003).
pub const INTERRUPT_CODES: [&str; 12] = [
    "50074", "50076", "50072", "50079", "50058", "50097", "50125", "50140", "50199", "16000",
    "16001", "16003",
];

fn is_interrupt(code: &str) -> bool {
    INTERRUPT_CODES.contains(&code)
}

/// Names that answer one logical field, and where it is in each shape (dotted paths from the
/// record's top; the first path that holds a value answers).
struct Alias {
    names: &'static [&'static str],
    graph: &'static [&'static str],
    diagnostic: &'static [&'static str],
    log_analytics: &'static [&'static str],
}

const ALIASES: &[Alias] = &[
    Alias {
        names: &["ResultType", "errorCode"],
        graph: &["status.errorCode"],
        diagnostic: &["resultType", "properties.status.errorCode"],
        log_analytics: &["ResultType", "Status.errorCode"],
    },
    Alias {
        names: &[
            "ResultDescription",
            "failureReason",
            "failure_status_reason",
        ],
        graph: &["status.failureReason", "resultReason"],
        diagnostic: &[
            "resultDescription",
            "properties.status.failureReason",
            "properties.resultReason",
        ],
        log_analytics: &["ResultDescription", "Status.failureReason", "ResultReason"],
    },
    Alias {
        names: &["userPrincipalName", "Username", "upn"],
        graph: &["userPrincipalName", "initiatedBy.user.userPrincipalName"],
        diagnostic: &[
            "properties.userPrincipalName",
            "properties.initiatedBy.user.userPrincipalName",
        ],
        log_analytics: &["UserPrincipalName", "InitiatedBy.user.userPrincipalName"],
    },
    Alias {
        names: &[
            "ipAddress",
            "callerIpAddress",
            "clientIpAddress",
            "sourceIPAddress",
        ],
        graph: &["ipAddress", "initiatedBy.user.ipAddress"],
        diagnostic: &[
            "callerIpAddress",
            "properties.ipAddress",
            "properties.initiatedBy.user.ipAddress",
        ],
        log_analytics: &["IPAddress", "InitiatedBy.user.ipAddress"],
    },
    Alias {
        names: &["ClientApp", "clientAppUsed"],
        graph: &["clientAppUsed"],
        diagnostic: &["properties.clientAppUsed"],
        log_analytics: &["ClientAppUsed"],
    },
    Alias {
        names: &["userId"],
        graph: &["userId", "initiatedBy.user.id"],
        diagnostic: &["properties.userId", "properties.initiatedBy.user.id"],
        log_analytics: &["UserId", "InitiatedBy.user.id"],
    },
    Alias {
        names: &["appId"],
        graph: &["appId", "initiatedBy.app.appId"],
        diagnostic: &["properties.appId", "properties.initiatedBy.app.appId"],
        log_analytics: &["AppId", "InitiatedBy.app.appId"],
    },
    Alias {
        names: &["Location", "countryOrRegion", "country"],
        graph: &["location.countryOrRegion"],
        diagnostic: &["location", "properties.location.countryOrRegion"],
        log_analytics: &["Location", "LocationDetails.countryOrRegion"],
    },
    Alias {
        names: &["riskEventType", "riskEventTypes", "riskEventTypes_v2"],
        graph: &["riskEventTypes_v2", "riskEventTypes"],
        diagnostic: &["properties.riskEventTypes_v2", "properties.riskEventTypes"],
        log_analytics: &["RiskEventTypes_V2", "RiskEventTypes"],
    },
    Alias {
        names: &[
            "time",
            "TimeGenerated",
            "createdDateTime",
            "activityDateTime",
        ],
        graph: &["createdDateTime", "activityDateTime"],
        diagnostic: &[
            "properties.createdDateTime",
            "properties.activityDateTime",
            "time",
        ],
        log_analytics: &["CreatedDateTime", "ActivityDateTime", "TimeGenerated"],
    },
    Alias {
        names: &["tenantId", "AADTenantId"],
        graph: &["resourceTenantId", "homeTenantId", "tenantId"],
        diagnostic: &["tenantId", "properties.resourceTenantId"],
        log_analytics: &["AADTenantId", "ResourceTenantId", "HomeTenantId"],
    },
];

/// Names of the operation.
const OPERATION_NAMES: &[&str] = &[
    "operationName",
    "ActivityDisplayName",
    "activity",
    "activityType",
];

/// The same object under its Graph name and its Log Analytics column name.
const SYNONYMS: &[(&str, &str)] = &[
    ("location", "LocationDetails"),
    (
        "appliedConditionalAccessPolicies",
        "ConditionalAccessPolicies",
    ),
];

/// One Entra ID record (a sign-in or a directory audit), read in place.
#[derive(Clone, Copy)]
pub struct EntraRecord<'a> {
    obj: Indexed<'a>,
    shape: EntraShape,
    log: EntraLog,
    time_ms: Option<i64>,
}

impl<'a> EntraRecord<'a> {
    /// Wraps an indexed record of the given shape and log.
    pub fn new(obj: Indexed<'a>, shape: EntraShape, log: EntraLog) -> Self {
        let mut rec = EntraRecord {
            obj,
            shape,
            log,
            time_ms: None,
        };
        rec.time_ms = rec.first_time();
        rec
    }

    /// The first time that reads among the places a time may be (the event's own time first:
    /// `createdDateTime` / `activityDateTime`, then the export's `time` / `TimeGenerated`).
    fn first_time(&self) -> Option<i64> {
        let alias = alias_for("time")?;
        self.alias_paths(alias).iter().find_map(|p| {
            let mut time = None;
            visit_in(self.obj.raw(), FieldPath::new(p).segments(), &mut |v| {
                time = parse_ms(&v.as_text());
                time.is_some()
            });
            time
        })
    }

    pub fn shape(&self) -> EntraShape {
        self.shape
    }

    pub fn log(&self) -> EntraLog {
        self.log
    }

    pub fn raw(&self) -> Raw<'a> {
        self.obj.raw()
    }

    /// When the sign-in or the audited activity happened; `None` when the record says nowhere
    /// (such a record is reported and not read).
    pub fn time_ms(&self) -> Option<i64> {
        self.time_ms
    }

    /// The operation: the audit's activity (`Add member to role`, without surrounding spaces),
    /// or [`SIGN_IN_OPERATION`].
    pub fn operation(&self) -> Cow<'a, str> {
        if self.log.is_sign_in() {
            return Cow::Borrowed(SIGN_IN_OPERATION);
        }
        let paths: &[&str] = match self.shape {
            EntraShape::Graph => &["activityDisplayName"],
            EntraShape::Diagnostic => &["properties.activityDisplayName", "operationName"],
            EntraShape::LogAnalytics => &["ActivityDisplayName", "OperationName"],
        };
        // Trimmed: some activity names end in a space (`… secrets management `).
        paths
            .iter()
            .find_map(|p| self.text_at(p))
            .map_or(Cow::Borrowed(""), |op| Cow::Owned(op.trim().to_string()))
    }

    /// The first non-empty scalar the vocabulary gives for `name` (see the module docs).
    pub fn text(&self, name: &str) -> Option<String> {
        let mut out = None;
        self.visit_field(&FieldPath::new(name), &mut |v| {
            if let FieldValue::Str(_) | FieldValue::Number(_) | FieldValue::Bool(_) = v {
                let t = v.as_text();
                if !t.is_empty() {
                    out = Some(t.into_owned());
                }
            }
            out.is_some()
        });
        out
    }

    /// The first non-empty scalar at a dotted path of the record's own layout.
    fn text_at(&self, path: &str) -> Option<String> {
        let mut out = None;
        let p = FieldPath::new(path);
        visit_in(self.obj.raw(), p.segments(), &mut |v| {
            if let FieldValue::Str(_) | FieldValue::Number(_) | FieldValue::Bool(_) = v {
                let t = v.as_text();
                if !t.is_empty() {
                    out = Some(t.into_owned());
                }
            }
            out.is_some()
        });
        out
    }

    /// The object with the Graph names: the record, or its `properties` (diagnostic shape).
    fn body(&self) -> Option<Raw<'a>> {
        match self.shape {
            EntraShape::Diagnostic => self
                .obj
                .get("properties")
                .filter(|p| p.kind() == Kind::Object),
            _ => Some(self.obj.raw()),
        }
    }

    fn alias_paths(&self, alias: &Alias) -> &'static [&'static str] {
        match self.shape {
            EntraShape::Graph => alias.graph,
            EntraShape::Diagnostic => alias.diagnostic,
            EntraShape::LogAnalytics => alias.log_analytics,
        }
    }

    /// Visits the values of the first of an alias's paths that has any. Returns (found,
    /// stopped).
    fn visit_alias_paths(
        &self,
        alias: &Alias,
        visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
    ) -> (bool, bool) {
        for p in self.alias_paths(alias) {
            let path = FieldPath::new(p);
            let (found, stopped) = visit_found(self.obj.raw(), path.segments(), visit);
            if found {
                return (true, stopped);
            }
        }
        (false, false)
    }

    /// A path as written, from the record's top; in the diagnostic shape also under
    /// `properties`; `properties.X` as `X` in the other shapes; with the Graph and Log
    /// Analytics names of one object taken as one.
    fn visit_generic(
        &self,
        segs: &[Box<str>],
        visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
    ) -> (bool, bool) {
        let root = self.obj.raw();
        let (found, stopped) = visit_found(root, segs, visit);
        if found {
            return (found, stopped);
        }
        let Some(first) = segs.first() else {
            return (false, false);
        };
        let in_properties = first.eq_ignore_ascii_case("properties") && segs.len() > 1;
        let body = self.body();
        if in_properties && self.shape != EntraShape::Diagnostic {
            return self.visit_generic(&segs[1..], visit);
        }
        if self.shape == EntraShape::Diagnostic && !in_properties {
            if let Some(b) = body {
                let (found, stopped) = visit_found(b, segs, visit);
                if found {
                    return (found, stopped);
                }
            }
        }
        let synonym = SYNONYMS.iter().find_map(|(g, la)| {
            if first.eq_ignore_ascii_case(g) {
                Some(*la)
            } else if first.eq_ignore_ascii_case(la) {
                Some(*g)
            } else {
                None
            }
        });
        if let (Some(other), Some(b)) = (synonym, body) {
            let mut renamed: Vec<Box<str>> = segs.to_vec();
            renamed[0] = other.into();
            return visit_found(b, &renamed, visit);
        }
        (false, false)
    }

    /// `Status`: the result as a word, then the reasons (see the module docs).
    fn visit_status(&self, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        let mut words: Vec<String> = Vec::with_capacity(3);
        if self.log.is_sign_in() {
            let (outcome, _) = self.sign_in_outcome();
            words.push(
                match outcome {
                    Outcome::Success => "Success",
                    Outcome::Failure => "Failure",
                    Outcome::Pending => "Interrupted",
                }
                .to_string(),
            );
            words.extend(self.text("status.failureReason"));
            words.extend(self.text("status.additionalDetails"));
        } else {
            words.extend(self.text("result"));
            words.extend(self.text("resultReason"));
        }
        words
            .iter()
            .any(|w| visit(&FieldValue::Str(Cow::Borrowed(w))))
    }

    /// `Category`: the audit's category, then the log's.
    fn visit_category(&self, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        if !self.log.is_sign_in() {
            let own = match self.shape {
                EntraShape::Diagnostic => self.text_at("properties.category"),
                _ => self.text_at("category"),
            };
            if let Some(c) = own {
                if visit(&FieldValue::Str(Cow::Owned(c))) {
                    return true;
                }
            }
        }
        visit(&FieldValue::Str(Cow::Borrowed(self.log.category())))
    }

    /// `properties.message`: the audit's operation, or the sign-in's protocol in words.
    fn visit_message(&self, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        if !self.log.is_sign_in() {
            return visit(&FieldValue::Str(self.operation()));
        }
        let protocol = self
            .text("authenticationProtocol")
            .or_else(|| self.text("originalTransferMethod"));
        let Some(p) = protocol else {
            return false;
        };
        let words = match p.to_ascii_lowercase().as_str() {
            "devicecode" | "devicecodeflow" => "Device Code".to_string(),
            "ropc" => "ROPC".to_string(),
            _ => p,
        };
        visit(&FieldValue::Str(Cow::Owned(words)))
    }

    /// Audits only: `additionalDetails.<key>` and modified properties by display name.
    fn visit_audit_details(
        &self,
        name: &str,
        visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
    ) -> bool {
        let Some(body) = self.body() else {
            return false;
        };
        if let Some((head, key)) = name.split_once('.') {
            if head.eq_ignore_ascii_case("additionalDetails") {
                let details = body.get_ignore_case("additionalDetails");
                for d in details.iter().flat_map(|d| d.elements()) {
                    let k = d.get_ignore_case("key").and_then(|k| k.as_str());
                    if k.is_some_and(|k| k.eq_ignore_ascii_case(key)) {
                        if let Some(v) = d.get_ignore_case("value") {
                            return fields::visit_leaf(v, AZURE, visit);
                        }
                    }
                }
            }
        }
        for target in targets(body) {
            let props = target.get_ignore_case("modifiedProperties");
            for p in props.iter().flat_map(|p| p.elements()) {
                let named = p
                    .get_ignore_case("displayName")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| n.eq_ignore_ascii_case(name));
                if !named {
                    continue;
                }
                if let Some(v) = p.get_ignore_case("newValue").and_then(|v| v.as_str()) {
                    let unquoted = v.trim().trim_matches('"').to_string();
                    if visit(&FieldValue::Str(Cow::Owned(unquoted))) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// (outcome, error code) of a sign-in.
    fn sign_in_outcome(&self) -> (Outcome, Option<String>) {
        match self.text("ResultType") {
            None => (Outcome::Success, None),
            Some(c) if c.trim() == "0" => (Outcome::Success, None),
            Some(c) if is_interrupt(c.trim()) => (Outcome::Pending, Some(c)),
            Some(c) => (Outcome::Failure, Some(c)),
        }
    }

    /// (outcome, error code) of an audit.
    fn audit_outcome(&self) -> (Outcome, Option<String>) {
        let result = self.text("result").map(|r| r.to_ascii_lowercase());
        match result.as_deref() {
            Some("failure" | "timeout") => (Outcome::Failure, self.text("resultReason")),
            _ => (Outcome::Success, None),
        }
    }

    fn principal(&self) -> Principal {
        if !self.log.is_sign_in() {
            return self.initiator();
        }
        let service = matches!(
            self.log,
            EntraLog::ServicePrincipalSignIns | EntraLog::ManagedIdentitySignIns
        );
        let app_id = self.text("appId");
        let (kind, name, id) = if service {
            let kind = if self.log == EntraLog::ManagedIdentitySignIns {
                "ManagedIdentity"
            } else {
                "ServicePrincipal"
            };
            let name = self
                .text("servicePrincipalName")
                .or_else(|| self.text("appDisplayName"))
                .or_else(|| app_id.clone());
            (kind, name, self.text("servicePrincipalId"))
        } else {
            let id = self.text("userId");
            let name = self
                .text("userPrincipalName")
                .or_else(|| self.text("userDisplayName"))
                .or_else(|| id.clone());
            ("User", name, id)
        };
        let mfa = self.text("authenticationRequirement").map(|r| {
            r.eq_ignore_ascii_case("multiFactorAuthentication")
                && self.sign_in_outcome().0 == Outcome::Success
        });
        Principal {
            kind: Some(kind.to_string()),
            id,
            name,
            access_key: None,
            mfa,
            session_issuer: None,
            app_id,
        }
    }

    /// Who an audit says acted: `initiatedBy.user`, else `initiatedBy.app`.
    fn initiator(&self) -> Principal {
        let user_id = self.text("initiatedBy.user.id");
        let user_name = self
            .text("initiatedBy.user.userPrincipalName")
            .or_else(|| self.text("initiatedBy.user.displayName"));
        if user_id.is_some() || user_name.is_some() {
            return Principal {
                kind: Some("User".into()),
                name: user_name.or_else(|| user_id.clone()),
                id: user_id,
                ..Principal::default()
            };
        }
        let app_id = self.text("initiatedBy.app.appId");
        let name = self
            .text("initiatedBy.app.servicePrincipalName")
            .or_else(|| self.text("initiatedBy.app.displayName"))
            .or_else(|| app_id.clone());
        Principal {
            kind: name.as_ref().map(|_| "ServicePrincipal".to_string()),
            id: self.text("initiatedBy.app.servicePrincipalId"),
            name,
            app_id,
            ..Principal::default()
        }
    }

    /// The tenant: `tenantId` (or its Log Analytics and Graph names), else the tenant of the
    /// `/tenants/<id>/providers/Microsoft.aadiam` resource id.
    fn tenant(&self) -> Option<String> {
        self.text("tenantId")
            .or_else(|| {
                self.text_at("resourceId")
                    .or_else(|| self.text_at("ResourceId"))
                    .and_then(|r| tenant_of(&r))
            })
            .map(|t| t.to_ascii_lowercase())
    }

    /// The audit's target resources: their ids and UPNs.
    fn resources(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.log.is_sign_in() {
            return out;
        }
        let Some(body) = self.body() else {
            return out;
        };
        for t in targets(body) {
            for key in ["id", "userPrincipalName"] {
                if let Some(v) = t.get_ignore_case(key).and_then(|v| v.as_str()) {
                    if !v.is_empty() {
                        push_unique(&mut out, v.into_owned());
                    }
                }
            }
        }
        out
    }

    /// The stable event id: `id`, else a hash of the record.
    pub fn event_id(&self) -> String {
        self.text("id")
            .unwrap_or_else(|| crate::reader::content_id(self.raw().bytes()))
    }

    /// The normalized event (see the module docs).
    pub fn normalize(&self) -> Event {
        let (outcome, error_code) = if self.log.is_sign_in() {
            self.sign_in_outcome()
        } else {
            self.audit_outcome()
        };
        let user_agent = if self.log.is_sign_in() {
            self.text("userAgent")
        } else {
            self.text("additionalDetails.User-Agent")
        };
        Event {
            time_ms: self.time_ms.unwrap_or(0),
            provider: Provider::Entra,
            account: self.tenant(),
            region: self.text("Location"),
            principal: self.principal(),
            source_ip: self.text("ipAddress"),
            user_agent,
            service: Some(self.log.category().to_string()),
            action: self.operation().into_owned(),
            read_only: None,
            outcome,
            error_code,
            resources: self.resources(),
            event_id: self.event_id(),
            raw: self.raw().text().into_owned(),
        }
    }
}

/// The elements of the target resources of an audit (also when a Log Analytics export left
/// the column as JSON text, which is then not looked into).
fn targets<'a>(body: Raw<'a>) -> impl Iterator<Item = Raw<'a>> {
    body.get_ignore_case("targetResources")
        .filter(|t| t.kind() == Kind::Array)
        .into_iter()
        .flat_map(|t| t.elements())
}

/// `/tenants/<id>/…` → `<id>`.
fn tenant_of(resource_id: &str) -> Option<String> {
    let lower = resource_id.to_ascii_lowercase();
    let start = lower.find("/tenants/")? + "/tenants/".len();
    let id = resource_id[start..].split('/').next()?;
    (!id.is_empty()).then(|| id.to_string())
}

fn alias_for(name: &str) -> Option<&'static Alias> {
    ALIASES
        .iter()
        .find(|a| a.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
}

/// Visits the values at `segs` below `v`, case-insensitively; a string that holds a JSON
/// list (a Log Analytics `dynamic` column exported as text: `["unfamiliarFeatures"]`) gives
/// each of its elements.
fn visit_in(v: Raw<'_>, segs: &[Box<str>], visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
    fields::visit_path(v, segs, AZURE, &mut |value| match value {
        FieldValue::Str(s) if s.starts_with('[') && s.ends_with(']') => {
            match serde_json::from_str::<Vec<serde_json::Value>>(s) {
                Ok(list) => list.iter().any(|el| match el {
                    serde_json::Value::String(t) => visit(&FieldValue::Str(Cow::Borrowed(t))),
                    other => visit(&FieldValue::Composite(Cow::Owned(other.to_string()))),
                }),
                Err(_) => visit(value),
            }
        }
        _ => visit(value),
    })
}

/// [`visit_in`] without `null`s (a field that is `null` here may have a value at the next
/// place looked at), saying whether any value was there: (found, stopped).
fn visit_found(
    v: Raw<'_>,
    segs: &[Box<str>],
    visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
) -> (bool, bool) {
    let mut found = false;
    let stopped = visit_in(v, segs, &mut |value| {
        if matches!(value, FieldValue::Null) {
            return false;
        }
        found = true;
        visit(value)
    });
    (found, stopped)
}

impl FieldSource for EntraRecord<'_> {
    fn visit_field(
        &self,
        path: &FieldPath,
        visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
    ) -> bool {
        let name = path.as_str();
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("Status") {
            return self.visit_status(visit);
        }
        if is("Category") {
            return self.visit_category(visit);
        }
        if is("Type") && self.obj.get("Type").is_none() {
            return visit(&FieldValue::Str(Cow::Borrowed(self.log.table())));
        }
        if OPERATION_NAMES.iter().any(|n| is(n)) {
            return visit(&FieldValue::Str(self.operation()));
        }
        if let Some(alias) = alias_for(name) {
            let (found, stopped) = self.visit_alias_paths(alias, visit);
            if found {
                return stopped;
            }
        }
        let (found, stopped) = self.visit_generic(path.segments(), visit);
        if found {
            return stopped;
        }
        if is("properties.message") {
            return self.visit_message(visit);
        }
        !self.log.is_sign_in() && self.visit_audit_details(name, visit)
    }

    fn visit_all_values(&self, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        fields::visit_all(self.obj.raw(), visit)
    }

    fn time_ms(&self) -> Option<i64> {
        self.time_ms
    }
}

/// Keys of a Graph `signIn` (one of them with a principal key says it is one).
const GRAPH_SIGN_IN_KEYS: [&str; 6] = [
    "clientAppUsed",
    "conditionalAccessStatus",
    "isInteractive",
    "status",
    "authenticationRequirement",
    "ipAddress",
];

/// Which Entra shape and log `obj` is, if it is an Entra sign-in or audit record at all.
pub(crate) fn classify(obj: &Indexed<'_>) -> Option<(EntraShape, EntraLog)> {
    // Diagnostic export: an Entra category and the Graph object under `properties`.
    if let Some(category) = obj.get("category").filter(|c| c.kind() == Kind::String) {
        let log = category.as_str().and_then(|c| EntraLog::from_name(&c));
        if let (Some(log), Some(_)) = (log, obj.get("properties")) {
            return Some((EntraShape::Diagnostic, log));
        }
    }
    // Log Analytics: the table's name, else its columns.
    if let Some(table) = obj.str("Type") {
        if let Some(log) = EntraLog::from_name(&table) {
            return Some((EntraShape::LogAnalytics, log));
        }
    }
    let any = |keys: &[&str]| keys.iter().any(|k| obj.get(k).is_some());
    if obj.get("ResultType").is_some() && any(&["UserPrincipalName", "AppId", "ServicePrincipalId"])
    {
        let log = obj
            .str("Category")
            .and_then(|c| EntraLog::from_name(&c))
            .filter(|l| l.is_sign_in())
            .unwrap_or(EntraLog::SignIns);
        return Some((EntraShape::LogAnalytics, log));
    }
    if obj.get("ActivityDisplayName").is_some()
        || (obj.get("OperationName").is_some()
            && any(&["InitiatedBy", "TargetResources", "LoggedByService"]))
    {
        return Some((EntraShape::LogAnalytics, EntraLog::Audit));
    }
    // Microsoft Graph objects.
    if obj.get("activityDisplayName").is_some()
        && any(&[
            "initiatedBy",
            "targetResources",
            "loggedByService",
            "activityDateTime",
        ])
    {
        return Some((EntraShape::Graph, EntraLog::Audit));
    }
    let principal = any(&["userPrincipalName", "appId", "servicePrincipalId"]);
    if principal && any(&GRAPH_SIGN_IN_KEYS) && obj.get("riskEventType").is_none() {
        return Some((EntraShape::Graph, graph_sign_in_log(obj)));
    }
    None
}

/// A Graph sign-in's log, from `signInEventTypes` (beta: `interactiveUser`,
/// `nonInteractiveUser`, `servicePrincipal`, `managedIdentity`), else `isInteractive`.
fn graph_sign_in_log(obj: &Indexed<'_>) -> EntraLog {
    let types = obj.get("signInEventTypes");
    for t in types.iter().flat_map(|t| t.elements()) {
        match t.as_str().as_deref() {
            Some("nonInteractiveUser") => return EntraLog::NonInteractiveSignIns,
            Some("servicePrincipal") => return EntraLog::ServicePrincipalSignIns,
            Some("managedIdentity") => return EntraLog::ManagedIdentitySignIns,
            Some("interactiveUser") => return EntraLog::SignIns,
            _ => {}
        }
    }
    match obj.get("isInteractive").and_then(|v| v.as_bool()) {
        Some(false) => EntraLog::NonInteractiveSignIns,
        _ => EntraLog::SignIns,
    }
}
