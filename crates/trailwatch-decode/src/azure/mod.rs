//! Azure Activity Log records in any of their three shapes (REST, resource log, Log Analytics):
//! one field vocabulary for rules, and normalization.
//!
//! Rules name fields the way the community writes them — `operationName`, `category`,
//! `status`, `caller`, `resourceId`, `properties.statusCode`, or the Log Analytics columns
//! `OperationNameValue`, `CategoryValue`, `ResourceProviderValue`, `ActivityStatusValue`,
//! `Caller`, `CallerIpAddress`. Every name is compared without regard to case and answered
//! from whichever shape the record has, so one rule covers all three.

mod names;

pub use names::canonical_operation;

use crate::fields::{self, AZURE};
use crate::time::parse_ms;
use std::borrow::Cow;
use trailwatch_json::{Indexed, Kind, Raw};
use trailwatch_model::{Event, FieldPath, FieldSource, FieldValue, Outcome, Principal, Provider};

/// Which Azure Activity Log shape a record came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AzureShape {
    /// REST API / portal export: nested `operationName.value`, `status.value`, …
    Rest,
    /// Diagnostic-setting export: flat `operationName`, `resultType`, `identity`, …
    ResourceLog,
    /// Log Analytics `AzureActivity` columns: `OperationNameValue`, `ActivityStatusValue`, …
    LogAnalytics,
}

/// Alternative locations of one logical field, tried in order; the first present wins.
struct Alias {
    names: &'static [&'static str],
    paths: &'static [&'static str],
}

/// Where the acting principal's name is, in order: the caller, then the token's claims (Event
/// Hub records have no `caller`): UPN, e-mail, name, and for applications the app id.
const PRINCIPAL_NAME_PATHS: &[&str] = &[
    "caller",
    "Caller",
    "claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
    "claims.upn",
    "claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "claims.email",
    "claims.http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "claims.unique_name",
    "claims.appid",
];

/// Where the acting principal's object id is: the token's `oid` claim (with dashes, as Entra
/// ID logs write it), else the role-assignment evidence's `principalId` (without dashes).
const PRINCIPAL_ID_PATHS: &[&str] = &[
    "claims.http://schemas.microsoft.com/identity/claims/objectidentifier",
    "claims.oid",
    "authorization.evidence.principalId",
];

/// Categories of records the platform writes about itself, never a principal's request.
const PLATFORM_CATEGORIES: &[&str] = &[
    "ServiceHealth",
    "ResourceHealth",
    "Recommendation",
    "Autoscale",
    "Alert",
];

const ALIASES: &[Alias] = &[
    Alias {
        names: &["operationName", "OperationNameValue", "operationNameValue"],
        paths: &["OperationNameValue", "operationName"],
    },
    Alias {
        names: &["category", "CategoryValue"],
        paths: &["CategoryValue", "category"],
    },
    Alias {
        names: &[
            "resourceProviderName",
            "ResourceProviderValue",
            "ResourceProvider",
        ],
        paths: &["ResourceProviderValue", "resourceProviderName"],
    },
    Alias {
        names: &["caller"],
        paths: PRINCIPAL_NAME_PATHS,
    },
    Alias {
        names: &[
            "callerIpAddress",
            "clientIpAddress",
            "httpRequest.clientIpAddress",
        ],
        paths: &[
            "callerIpAddress",
            "httpRequest.clientIpAddress",
            "claims.ipaddr",
            "identity.claims.ipaddr",
        ],
    },
    Alias {
        names: &["resourceId", "_ResourceId"],
        paths: &["resourceId", "_ResourceId"],
    },
    Alias {
        names: &["eventTimestamp", "time", "TimeGenerated"],
        paths: &["eventTimestamp", "time", "TimeGenerated"],
    },
    Alias {
        names: &["resourceGroupName", "resourceGroup"],
        paths: &["resourceGroupName", "resourceGroup"],
    },
    Alias {
        names: &["subStatus", "ActivitySubstatusValue"],
        paths: &["ActivitySubstatusValue", "subStatus", "resultSignature"],
    },
];

/// `status` and `resultType` say the same thing in two vocabularies; rules may use either.
const STATUS_WORDS: &[(&str, &str)] = &[
    ("Succeeded", "Success"),
    ("Failed", "Failure"),
    ("Started", "Start"),
    ("Accepted", "Accept"),
];

/// One Azure Activity Log record, read in place.
#[derive(Clone, Copy)]
pub struct AzureRecord<'a> {
    obj: Indexed<'a>,
    shape: AzureShape,
    time_ms: Option<i64>,
}

impl<'a> AzureRecord<'a> {
    /// Wraps an indexed record of the given shape.
    pub fn new(obj: Indexed<'a>, shape: AzureShape) -> Self {
        let mut rec = AzureRecord {
            obj,
            shape,
            time_ms: None,
        };
        rec.time_ms = rec
            .first_text(&["eventTimestamp", "time", "TimeGenerated"])
            .and_then(|t| parse_ms(&t));
        rec
    }

    pub fn shape(&self) -> AzureShape {
        self.shape
    }

    pub fn raw(&self) -> Raw<'a> {
        self.obj.raw()
    }

    /// The first text found at any of the dotted `paths`.
    fn first_text(&self, paths: &[&str]) -> Option<String> {
        paths.iter().find_map(|p| self.text_at(p))
    }

    fn text_at(&self, path: &str) -> Option<String> {
        let mut out = None;
        self.visit_raw_path(&FieldPath::new(path), &mut |v| {
            if matches!(
                v,
                FieldValue::Str(_) | FieldValue::Number(_) | FieldValue::Bool(_)
            ) {
                out = Some(v.as_text().into_owned());
            }
            out.is_some()
        });
        out.filter(|s| !s.is_empty())
    }

    /// Resolves a path against the record itself, case-insensitively; `authorization.*` and
    /// `claims.*` also answer from under `identity` (the resource-log nesting).
    fn visit_raw_path(
        &self,
        path: &FieldPath,
        visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
    ) -> bool {
        let segs = path.segments();
        let Some(first) = segs.first() else {
            return false;
        };
        if let Some(v) = self.obj.get_ignore_case(first) {
            return fields::visit_path(v, &segs[1..], AZURE, visit);
        }
        if first.eq_ignore_ascii_case("authorization") || first.eq_ignore_ascii_case("claims") {
            if let Some(identity) = self.obj.get_ignore_case("identity") {
                if fields::visit_path(identity, segs, AZURE, visit) {
                    return true;
                }
                // Key Vault's `AuditEvent` records name the token's claims `identity.claim`.
                let singular: Vec<Box<str>> = std::iter::once("claim".into())
                    .chain(segs[1..].iter().cloned())
                    .collect();
                return first.eq_ignore_ascii_case("claims")
                    && fields::visit_path(identity, &singular, AZURE, visit);
            }
        }
        segs.len() > 1 && fields::visit_path(self.obj.raw(), segs, AZURE, visit)
    }

    fn has_path(&self, path: &str) -> bool {
        let mut found = false;
        self.visit_raw_path(&FieldPath::new(path), &mut |v| {
            found = !matches!(v, FieldValue::Null);
            found
        });
        found
    }

    /// The operation in its one spelling ([`canonical_operation`]), e.g.
    /// `Microsoft.Network/networkSecurityGroups/securityRules/write`, whatever the shape.
    pub fn operation(&self) -> Option<String> {
        self.first_text(&["OperationNameValue", "operationName"])
            .map(|op| canonical_operation(&op).into_owned())
    }

    /// Whether the platform, not an identity of the tenant, wrote the record: a health,
    /// advisor, autoscale or alert record; a record naming no caller and no token; or a
    /// caller that is a service's name (`Microsoft.Advisor`, `Azure Backup`) rather than a
    /// UPN, e-mail, object id or app id. Such records are to Azure what AWS service principals
    /// are to CloudTrail: not suspects in correlations, chains and baselines.
    pub fn is_platform_caller(&self) -> bool {
        let category = self.first_text(&["CategoryValue", "category"]);
        if category.as_deref().is_some_and(|c| {
            PLATFORM_CATEGORIES
                .iter()
                .any(|p| p.eq_ignore_ascii_case(c))
        }) {
            return true;
        }
        match self.first_text(PRINCIPAL_NAME_PATHS) {
            None => self.first_text(PRINCIPAL_ID_PATHS).is_none(),
            Some(name) => is_service_name(&name),
        }
    }

    fn status_text(&self) -> Option<String> {
        self.first_text(&[
            "ActivityStatusValue",
            "status",
            "resultType",
            "ActivityStatus",
        ])
    }

    /// The first text of a field as rules name it (every shape answers the same names).
    pub fn text(&self, field: &str) -> Option<String> {
        let mut out = None;
        self.visit_field(&FieldPath::new(field), &mut |v| {
            if matches!(
                v,
                FieldValue::Str(_) | FieldValue::Number(_) | FieldValue::Bool(_)
            ) {
                out = Some(v.as_text().into_owned());
            }
            out.is_some()
        });
        out.filter(|s| !s.is_empty())
    }

    /// Whether the operation succeeded, failed, or is still going (`Started`, `Accepted`).
    pub fn outcome(&self) -> Outcome {
        match self
            .status_text()
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("failed" | "failure") => Outcome::Failure,
            Some("started" | "start" | "accepted" | "accept") => Outcome::Pending,
            _ => Outcome::Success,
        }
    }

    fn provider_of(&self, operation: Option<&str>) -> Option<String> {
        self.first_text(&["ResourceProviderValue", "resourceProviderName"])
            .or_else(|| {
                operation
                    .and_then(|op| op.split('/').next())
                    .map(str::to_string)
            })
    }

    /// The normalized event.
    /// The subscription the record is about: its `subscriptionId`, else the one its resource
    /// id names (diagnostic-setting records have no `subscriptionId`).
    pub fn subscription_id(&self) -> Option<String> {
        self.first_text(&["subscriptionId", "SubscriptionId"])
            .or_else(|| {
                self.first_text(&["resourceId", "_ResourceId"])
                    .as_deref()
                    .and_then(subscription_of)
            })
    }

    /// The resources the record names: its resource id (read without normalizing the rest).
    pub fn resources(&self) -> Vec<String> {
        self.first_text(&["resourceId", "_ResourceId"])
            .into_iter()
            .collect()
    }

    pub fn normalize(&self) -> Event {
        let operation = self.operation();
        let account = self.subscription_id();
        let outcome = self.outcome();
        let error_code = (outcome == Outcome::Failure)
            .then(|| {
                self.first_text(&[
                    "subStatus",
                    "resultSignature",
                    "properties.statusCode",
                    "ActivitySubstatusValue",
                ])
            })
            .flatten();
        let resources = self.resources();
        let event_id = self
            .first_text(&["eventDataId", "EventDataId"])
            .unwrap_or_else(|| crate::reader::content_id(self.raw().bytes()));
        Event {
            time_ms: self.time_ms.unwrap_or(0),
            provider: Provider::Azure,
            account,
            region: self.first_text(&["location", "Location"]),
            principal: self.principal(),
            source_ip: self.first_text(&[
                "callerIpAddress",
                "CallerIpAddress",
                "httpRequest.clientIpAddress",
                "claims.ipaddr",
            ]),
            user_agent: self.first_text(&["properties.userAgent", "httpRequest.userAgent"]),
            service: self.provider_of(operation.as_deref()),
            read_only: operation
                .as_deref()
                .map(|op| op.to_ascii_lowercase().ends_with("/read")),
            action: operation.unwrap_or_default(),
            outcome,
            error_code,
            resources,
            event_id,
            raw: self.raw().text().into_owned(),
        }
    }

    /// The caller's object id (the `oid` claim, or the role-assignment evidence), in the
    /// form Entra ID logs write it ([`canonical_object_id`]).
    pub fn caller_object_id(&self) -> Option<String> {
        self.first_text(PRINCIPAL_ID_PATHS)
            .map(|id| canonical_object_id(&id))
    }

    fn principal(&self) -> Principal {
        Principal {
            kind: self.first_text(&["authorization.evidence.principalType", "claims.idtyp"]),
            id: self.caller_object_id(),
            name: self.first_text(PRINCIPAL_NAME_PATHS),
            access_key: None,
            mfa: self
                .first_text(&[
                    "claims.http://schemas.microsoft.com/claims/authnmethodsreferences",
                    "claims.amr",
                ])
                .map(|amr| amr.to_ascii_lowercase().contains("mfa")),
            session_issuer: None,
            app_id: self.first_text(&["claims.appid", "claims.azp"]),
        }
    }
}

/// An object id as Entra ID logs write it (lower case, with dashes), so that one person has
/// one id in the Activity Log and in sign-ins: `1F2E…F0` (32 hex digits, as role-assignment
/// evidence gives it) becomes `1f2e…-…`. Anything else is kept as it is.
pub fn canonical_object_id(id: &str) -> String {
    match guid(id) {
        Some(u) => trailwatch_model::uuid::format_uuid(&u),
        None => id.to_string(),
    }
}

/// A GUID written with or without dashes, in any case.
fn guid(s: &str) -> Option<[u8; 16]> {
    let dashed = s.len() == 36 && [8, 13, 18, 23].iter().all(|&i| s.as_bytes()[i] == b'-');
    if !(dashed || s.len() == 32) {
        return None;
    }
    let mut hex = s.chars().filter(|c| *c != '-');
    let mut out = [0u8; 16];
    for byte in out.iter_mut() {
        let hi = hex.next()?.to_digit(16)?;
        let lo = hex.next()?.to_digit(16)?;
        *byte = u8::try_from(hi * 16 + lo).ok()?;
    }
    hex.next().is_none().then_some(out)
}

/// Whether a caller is a service's name: not an address, not a GUID (object or app id).
fn is_service_name(caller: &str) -> bool {
    !caller.contains('@') && guid(caller).is_none()
}

/// The subscription an Azure resource id names, in lower case: `/subscriptions/<id>/…` →
/// `<id>`.
pub fn subscription_of(resource_id: &str) -> Option<String> {
    resource_id_part(resource_id, "subscriptions").map(str::to_ascii_lowercase)
}

/// The segment after `/<name>/` in an Azure resource id, `name` in any case, as written:
/// `resource_id_part(id, "resourceGroups")` is the resource group.
pub fn resource_id_part<'a>(resource_id: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("/{}/", name.to_ascii_lowercase());
    // ASCII lower-casing keeps every byte offset, so the offset found applies to the original.
    let at = resource_id.to_ascii_lowercase().find(&key)? + key.len();
    let part = resource_id[at..].split('/').next()?;
    (!part.is_empty()).then_some(part)
}

impl FieldSource for AzureRecord<'_> {
    fn visit_field(
        &self,
        path: &FieldPath,
        visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
    ) -> bool {
        let name = path.as_str();
        if let Some(alias) = ALIASES
            .iter()
            .find(|a| a.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        {
            for p in alias.paths {
                if self.has_path(p) {
                    return self.visit_raw_path(&FieldPath::new(p), visit);
                }
            }
            if alias.names[0] == "resourceProviderName" {
                if let Some(p) = self.provider_of(self.operation().as_deref()) {
                    return visit(&FieldValue::Str(Cow::Owned(p)));
                }
            }
            return false;
        }
        let is_status = [
            "status",
            "resultType",
            "ActivityStatusValue",
            "ActivityStatus",
        ]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name));
        if is_status {
            let Some(s) = self.status_text() else {
                return false;
            };
            if visit(&FieldValue::Str(Cow::Borrowed(&s))) {
                return true;
            }
            let other = STATUS_WORDS.iter().find_map(|(long, short)| {
                if s.eq_ignore_ascii_case(long) {
                    Some(*short)
                } else if s.eq_ignore_ascii_case(short) {
                    Some(*long)
                } else {
                    None
                }
            });
            return other.is_some_and(|o| visit(&FieldValue::Str(Cow::Borrowed(o))));
        }
        if self.visit_raw_path(path, visit) {
            return true;
        }
        // Log Analytics keeps `properties` as `Properties_d`.
        let segs = path.segments();
        if self.shape == AzureShape::LogAnalytics
            && segs.len() > 1
            && segs[0].eq_ignore_ascii_case("properties")
        {
            if let Some(p) = self.obj.get_ignore_case("Properties_d") {
                return fields::visit_path(p, &segs[1..], AZURE, visit);
            }
        }
        false
    }

    fn visit_all_values(&self, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
        fields::visit_all(self.obj.raw(), visit)
    }

    fn time_ms(&self) -> Option<i64> {
        self.time_ms
    }
}

/// Which Azure shape `obj` is, if it is an Azure Activity Log record at all.
pub(crate) fn shape_of(obj: &Indexed<'_>) -> Option<AzureShape> {
    if obj.get_ignore_case("OperationNameValue").is_some() || obj.get("TimeGenerated").is_some() {
        return Some(AzureShape::LogAnalytics);
    }
    let op = obj.get("operationName")?;
    match op.kind() {
        Kind::Object => Some(AzureShape::Rest),
        Kind::String if obj.get("time").is_some() || obj.get("resourceId").is_some() => {
            Some(AzureShape::ResourceLog)
        }
        Kind::String if obj.get("eventTimestamp").is_some() => Some(AzureShape::Rest),
        _ => None,
    }
}
