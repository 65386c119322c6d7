//! Walking a dotted field path through a raw JSON value, the way Sigma expects: arrays are
//! expanded (any element may match), and keys that contain dots themselves (Azure claim URIs)
//! are found too. For Azure, a path may also continue into a string that holds JSON text (the
//! Activity Log's `properties.requestbody` / `properties.responseBody`, Log Analytics'
//! `Properties` column): `properties.requestbody.properties.sourceAddressPrefix`.

use trailwatch_json::{Kind, Raw};
use trailwatch_model::FieldValue;

/// How keys are compared and leaves are read.
#[derive(Clone, Copy)]
pub(crate) struct PathStyle {
    /// Compare keys without regard to ASCII case (Azure).
    pub ignore_case: bool,
    /// Read an object leaf `{"value": …, "localizedValue": …}` as its `value` (Azure REST).
    pub unwrap_value: bool,
    /// When a path continues past a string holding a JSON object or array, read on inside
    /// it (Azure request and response bodies). The string itself stays a plain leaf.
    pub json_in_strings: bool,
}

pub(crate) const AWS: PathStyle = PathStyle {
    ignore_case: false,
    unwrap_value: false,
    json_in_strings: false,
};
pub(crate) const AZURE: PathStyle = PathStyle {
    ignore_case: true,
    unwrap_value: true,
    json_in_strings: true,
};

/// The scalar(s) of a leaf value.
pub(crate) fn visit_leaf(
    v: Raw<'_>,
    style: PathStyle,
    visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
) -> bool {
    match v.kind() {
        Kind::String => match v.as_str() {
            Some(s) => visit(&FieldValue::Str(s)),
            None => false,
        },
        Kind::Number => visit(&FieldValue::Number(v.text())),
        Kind::Bool => visit(&FieldValue::Bool(v.as_bool().unwrap_or(false))),
        Kind::Null => visit(&FieldValue::Null),
        Kind::Array => {
            for el in v.elements() {
                if visit_leaf(el, style, visit) {
                    return true;
                }
            }
            false
        }
        Kind::Object => {
            if style.unwrap_value {
                if let Some(inner) = v.get_ignore_case("value") {
                    if inner.kind() != Kind::Object {
                        return visit_leaf(inner, style, visit);
                    }
                }
            }
            visit(&FieldValue::Composite(v.text()))
        }
        // Bare words (a relaxed-JSON file's unquoted value) read as text.
        Kind::Invalid => !v.bytes().is_empty() && visit(&FieldValue::Str(v.text())),
    }
}

fn key_matches(key: &trailwatch_json::Key<'_>, seg: &str, style: PathStyle) -> bool {
    if style.ignore_case {
        key.eq_ignore_case(seg)
    } else {
        key.is(seg)
    }
}

/// If `key` (which contains a dot) spells the first few segments joined by dots, how many.
fn dotted_key_span(key: &str, segs: &[Box<str>], style: PathStyle) -> Option<usize> {
    let mut rest = key;
    for (i, seg) in segs.iter().enumerate() {
        let head = rest.get(..seg.len())?;
        let same = if style.ignore_case {
            head.eq_ignore_ascii_case(seg)
        } else {
            head == &**seg
        };
        if !same {
            return None;
        }
        rest = &rest[seg.len()..];
        if rest.is_empty() {
            return (i > 0).then_some(i + 1);
        }
        rest = rest.strip_prefix('.')?;
    }
    None
}

/// Visits every scalar at `segs` below `v`. Returns whether `visit` asked to stop.
pub(crate) fn visit_path(
    v: Raw<'_>,
    segs: &[Box<str>],
    style: PathStyle,
    visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
) -> bool {
    let Some(first) = segs.first() else {
        return visit_leaf(v, style, visit);
    };
    match v.kind() {
        Kind::Array => {
            for el in v.elements() {
                if visit_path(el, segs, style, visit) {
                    return true;
                }
            }
            false
        }
        Kind::Object => {
            // The key itself, as in nearly every record: stop scanning once found.
            if let Some((_, val)) = v.entries().find(|(k, _)| key_matches(k, first, style)) {
                return visit_path(val, &segs[1..], style, visit);
            }
            // Else a key that has dots in it may spell several segments (Azure claim URIs).
            if segs.len() > 1 {
                for (k, val) in v.entries() {
                    if k.raw().contains(&b'.') {
                        if let Some(n) = dotted_key_span(&k.decode(), segs, style) {
                            if visit_path(val, &segs[n..], style, visit) {
                                return true;
                            }
                        }
                    }
                }
            }
            false
        }
        Kind::String if style.json_in_strings => visit_json_text(v, segs, style, visit),
        _ => false,
    }
}

/// Whether a JSON string value's text starts (after whitespace) with `{` or `[`, judged on
/// its raw bytes so that no other string is ever decoded.
fn holds_json_container(v: Raw<'_>) -> bool {
    let body = v.bytes().get(1..).unwrap_or_default();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            // An escaped whitespace character (`\n`, `\r`, `\t`) before the JSON.
            b'\\' if matches!(body.get(i + 1), Some(b'n' | b'r' | b't')) => i += 2,
            b'{' | b'[' => return true,
            _ => return false,
        }
    }
    false
}

/// Continues the path `segs` inside the JSON text a string holds; text that is not JSON has
/// no sub-fields (it is read as leniently as a record: what parses before the first
/// malformed byte is found).
fn visit_json_text(
    v: Raw<'_>,
    segs: &[Box<str>],
    style: PathStyle,
    visit: &mut dyn FnMut(&FieldValue<'_>) -> bool,
) -> bool {
    if !holds_json_container(v) {
        return false;
    }
    let Some(text) = v.as_str() else {
        return false;
    };
    let inner = Raw::new(text.as_bytes());
    if !matches!(inner.kind(), Kind::Object | Kind::Array) {
        return false;
    }
    visit_path(inner, segs, style, visit)
}

/// Visits every scalar anywhere below `v` (keyword search).
pub(crate) fn visit_all(v: Raw<'_>, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool {
    match v.kind() {
        Kind::Object => v.entries().any(|(_, val)| visit_all(val, visit)),
        Kind::Array => v.elements().any(|el| visit_all(el, visit)),
        _ => visit_leaf(v, AWS, visit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailwatch_model::FieldPath;

    fn values(doc: &str, path: &str, style: PathStyle) -> Vec<String> {
        let mut out = Vec::new();
        let p = FieldPath::new(path);
        visit_path(Raw::new(doc.as_bytes()), p.segments(), style, &mut |v| {
            out.push(v.as_text().into_owned());
            false
        });
        out
    }

    #[test]
    fn expands_arrays_and_dotted_keys() {
        let doc = r#"{"a":{"items":[{"c":"1"},{"c":2},{"d":3}]},"claims":{"http://x.y/z":"u"},"n":{"value":"V"}}"#;
        assert_eq!(values(doc, "a.items.c", AWS), ["1", "2"]);
        assert_eq!(values(doc, "claims.http://x.y/z", AWS), ["u"]);
        assert_eq!(values(doc, "A.ITEMS.C", AZURE), ["1", "2"]);
        assert!(values(doc, "A.ITEMS.C", AWS).is_empty());
        assert_eq!(values(doc, "n", AZURE), ["V"]);
        assert_eq!(values(doc, "n", AWS), [r#"{"value":"V"}"#]);
        assert!(values(doc, "a.items.c.deeper", AWS).is_empty());
    }

    /// An Activity Log `properties` object whose bodies are JSON text, as Azure writes them.
    const BODIES: &str = r#"{"properties":{"statusCode":"Created","requestbody":"{\"properties\":{\"protocol\":\"Tcp\",\"sourceAddressPrefix\":\"*\",\"destinationPortRanges\":[\"22\",\"3389\"],\"access\":\"Allow\"}}","responseBody":"{\"Id\":\"a1\",\"Properties\":{\"RoleDefinitionId\":\"/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635\",\"Scope\":\"/subscriptions/s1\"}}","message":"{not json at all","list":"[{\"k\":\"x\"},{\"k\":\"y\"}]","nested":"{\"inner\":\"{\\\"deep\\\":\\\"d\\\"}\"}","padded":"\n  {\"p\":1}","plain":"hello"}}"#;

    #[test]
    fn azure_paths_continue_into_json_text() {
        assert_eq!(
            values(
                BODIES,
                "properties.requestbody.properties.sourceAddressPrefix",
                AZURE
            ),
            ["*"]
        );
        assert_eq!(
            values(
                BODIES,
                "properties.requestbody.properties.destinationPortRanges",
                AZURE
            ),
            ["22", "3389"]
        );
        // Keys are compared without regard to case inside the body too.
        assert_eq!(
            values(BODIES, "properties.responseBody.properties.roleDefinitionId", AZURE),
            ["/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"]
        );
        assert_eq!(values(BODIES, "PROPERTIES.RESPONSEBODY.id", AZURE), ["a1"]);
        // Arrays inside the text expand; text inside text is read too.
        assert_eq!(values(BODIES, "properties.list.k", AZURE), ["x", "y"]);
        assert_eq!(values(BODIES, "properties.nested.inner.deep", AZURE), ["d"]);
        assert_eq!(values(BODIES, "properties.padded.p", AZURE), ["1"]);
    }

    #[test]
    fn a_body_string_is_still_its_own_value() {
        let whole = values(BODIES, "properties.requestbody", AZURE);
        assert_eq!(whole.len(), 1);
        assert!(whole[0].starts_with(r#"{"properties":{"protocol":"Tcp""#));
        assert!(whole[0].contains(r#""sourceAddressPrefix":"*""#));
    }

    #[test]
    fn text_that_is_not_json_has_no_sub_fields() {
        assert!(values(BODIES, "properties.message.not", AZURE).is_empty());
        assert!(values(BODIES, "properties.plain.length", AZURE).is_empty());
        assert!(values(BODIES, "properties.statusCode.x", AZURE).is_empty());
        assert!(values(r#"{"s":"{\"a\":}"}"#, "s.a", AZURE).is_empty());
        assert!(values(r#"{"s":"["}"#, "s.a", AZURE).is_empty());
        assert!(values(r#"{"s":""}"#, "s.a", AZURE).is_empty());
        assert!(values(r#"{"s":"\\"}"#, "s.a", AZURE).is_empty());
    }

    #[test]
    fn only_the_azure_style_reads_inside_strings() {
        assert!(values(
            BODIES,
            "properties.requestbody.properties.sourceAddressPrefix",
            AWS
        )
        .is_empty());
    }
}
