//! One person (or application) across the Azure Activity Log and the Microsoft Entra ID logs.
//!
//! The join key is the directory object id, written as Entra writes it: lower case with dashes
//! (Entra `userId` / `initiatedBy.user.id` / `servicePrincipalId`; in the Activity Log the `oid`
//! claim, else the role-assignment evidence's `principalId`, which the resource-log shape
//! writes without dashes — unless that evidence names a group, which is not the caller). When an
//! event carries no object id, the user principal name joins, compared without regard to case.
//! Display names never join: they are not unique.

use crate::scope::raw;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use trailwatch_model::{Event, Provider};

/// The `oid` claim under its two names.
const OID_CLAIMS: [&str; 2] = [
    "http://schemas.microsoft.com/identity/claims/objectidentifier",
    "oid",
];

/// Whether `e` comes from a Microsoft cloud log (the Activity Log or an Entra log).
pub(crate) fn is_microsoft(e: &Event) -> bool {
    matches!(e.provider, Provider::Azure | Provider::Entra)
}

/// A GUID in its canonical form (lower case, dashes), from the 36-character form in any case or
/// the 32 hex digits the Activity Log's evidence writes; `None` for anything else.
pub fn canonical_guid(v: &str) -> Option<String> {
    let v = v.trim();
    let hex: String = match v.len() {
        32 => v.to_string(),
        36 if [8, 13, 18, 23].iter().all(|i| v.as_bytes()[*i] == b'-') => {
            v.chars().filter(|c| *c != '-').collect()
        }
        _ => return None,
    };
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

/// `v[name]` with the name compared without regard to ASCII case; a string holding a JSON
/// object or list (a Log Analytics `dynamic` column exported as text) is parsed.
pub(crate) fn field_ci(v: &Value, name: &str) -> Option<Value> {
    let found = v
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, x)| x)?;
    Some(parse_text(found))
}

/// A string that holds JSON (object or list) parsed; anything else as it is.
pub(crate) fn parse_text(v: &Value) -> Value {
    match v {
        Value::String(t) => {
            let t = t.trim();
            let json_like = (t.starts_with('{') && t.ends_with('}'))
                || (t.starts_with('[') && t.ends_with(']'));
            json_like
                .then(|| serde_json::from_str(t).ok())
                .flatten()
                .unwrap_or_else(|| v.clone())
        }
        _ => v.clone(),
    }
}

/// The token claims of an Activity Log record in any of its shapes.
fn claims(v: &Value) -> Option<Value> {
    field_ci(v, "claims")
        .or_else(|| field_ci(v, "identity").and_then(|i| field_ci(&i, "claims")))
        .or_else(|| field_ci(v, "Claims_d"))
}

/// The directory object id of the one who acted, canonical; `None` for AWS and when the log
/// does not say.
pub fn object_id(e: &Event) -> Option<String> {
    let id = e.principal.id.as_deref();
    match e.provider {
        Provider::Entra => id.and_then(canonical_guid),
        Provider::Azure => {
            let group = e
                .principal
                .kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("Group"));
            if let (false, Some(id)) = (group, id.and_then(canonical_guid)) {
                return Some(id);
            }
            let c = claims(&raw(e))?;
            OID_CLAIMS
                .iter()
                .find_map(|k| field_ci(&c, k))
                .and_then(|x| x.as_str().and_then(canonical_guid))
        }
        Provider::Aws => None,
    }
}

/// The user principal name of the one who acted, lower case (Microsoft logs only; names
/// without `@` are display names or application ids and do not join).
pub fn upn(e: &Event) -> Option<String> {
    if !is_microsoft(e) {
        return None;
    }
    e.principal
        .name
        .as_deref()
        .filter(|n| n.contains('@'))
        .map(str::to_lowercase)
}

/// What joins one event to an identity, computed once per event.
#[derive(Debug, Clone, Default)]
pub(crate) struct Keys {
    pub oid: Option<String>,
    pub upn: Option<String>,
    /// The canonical object ids an Entra audit targets.
    pub targets: Vec<String>,
}

impl Keys {
    pub fn of(e: &Event) -> Keys {
        if !is_microsoft(e) {
            return Keys::default();
        }
        let targets = if e.provider == Provider::Entra {
            e.resources
                .iter()
                .filter_map(|r| canonical_guid(r))
                .collect()
        } else {
            Vec::new()
        };
        Keys {
            oid: object_id(e),
            upn: upn(e),
            targets,
        }
    }
}

/// The identity an investigation follows through the Microsoft logs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CloudIdentity {
    /// Directory object ids, canonical.
    pub object_ids: BTreeSet<String>,
    /// User principal names, lower case.
    pub upns: BTreeSet<String>,
}

impl CloudIdentity {
    pub fn is_empty(&self) -> bool {
        self.object_ids.is_empty() && self.upns.is_empty()
    }

    /// Whether an event with these keys is this identity's: its object id, else (no id in the
    /// event) its user principal name.
    pub(crate) fn holds(&self, k: &Keys) -> bool {
        match &k.oid {
            Some(o) if self.object_ids.contains(o) => true,
            Some(_) if !self.object_ids.is_empty() => false,
            _ => k.upn.as_ref().is_some_and(|u| self.upns.contains(u)),
        }
    }

    /// Adds the keys of an event of this identity; whether anything was new.
    fn learn(&mut self, k: &Keys) -> bool {
        let a = k
            .oid
            .as_ref()
            .is_some_and(|o| self.object_ids.insert(o.clone()));
        let b = k.upn.as_ref().is_some_and(|u| self.upns.insert(u.clone()));
        a || b
    }

    /// The identity the selector `p` names (a UPN, an object id in either form, or the name or
    /// id the events give), grown until it holds every object id and UPN its events show.
    pub(crate) fn of_selector(
        events: &[Event],
        keys: &[Keys],
        p: &str,
        matches: impl Fn(&Event) -> bool,
    ) -> CloudIdentity {
        let mut id = CloudIdentity::default();
        let want = canonical_guid(p);
        if let Some(o) = &want {
            id.object_ids.insert(o.clone());
        }
        if p.contains('@') {
            id.upns.insert(p.to_lowercase());
        }
        for (e, k) in events.iter().zip(keys) {
            if is_microsoft(e) && (matches(e) || (want.is_some() && k.oid == want)) {
                id.learn(k);
            }
        }
        if id.is_empty() {
            return id;
        }
        loop {
            let mut grew = false;
            for k in keys {
                if id.holds(k) {
                    grew |= id.learn(k);
                }
            }
            if !grew {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_take_one_form() {
        let want = "a1b2c3d4-0000-4000-8000-00000000000a";
        assert_eq!(
            canonical_guid("A1B2C3D4-0000-4000-8000-00000000000A").as_deref(),
            Some(want)
        );
        assert_eq!(
            canonical_guid("a1b2c3d400004000800000000000000a").as_deref(),
            Some(want)
        );
        for bad in [
            "a1b2c3d4-0000-4000-8000-00000000000",
            "a1b2c3d40-000-4000-8000-00000000000a",
            "g1b2c3d4-0000-4000-8000-00000000000a",
            "mallory@contoso.example",
            "",
        ] {
            assert_eq!(canonical_guid(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_event_with_another_object_id_is_not_joined_by_its_name() {
        let id = CloudIdentity {
            object_ids: ["a".to_string()].into(),
            upns: ["m@x".to_string()].into(),
        };
        let k = |oid: Option<&str>, upn: Option<&str>| Keys {
            oid: oid.map(str::to_string),
            upn: upn.map(str::to_string),
            targets: Vec::new(),
        };
        assert!(id.holds(&k(Some("a"), None)));
        assert!(id.holds(&k(None, Some("m@x"))));
        assert!(!id.holds(&k(Some("b"), Some("m@x"))));
        assert!(!id.holds(&k(None, Some("n@x"))));
    }
}
