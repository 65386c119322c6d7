//! Walking a dotted field path through a raw JSON value, the way Sigma expects: arrays are
//! expanded (any element may match), and keys that contain dots themselves (Azure claim URIs)
//! are found too.

use trailwatch_json::{Kind, Raw};
use trailwatch_model::FieldValue;

/// How keys are compared and leaves are read.
#[derive(Clone, Copy)]
pub(crate) struct PathStyle {
    /// Compare keys without regard to ASCII case (Azure).
    pub ignore_case: bool,
    /// Read an object leaf `{"value": …, "localizedValue": …}` as its `value` (Azure REST).
    pub unwrap_value: bool,
}

pub(crate) const AWS: PathStyle = PathStyle {
    ignore_case: false,
    unwrap_value: false,
};
pub(crate) const AZURE: PathStyle = PathStyle {
    ignore_case: true,
    unwrap_value: true,
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
        _ => false,
    }
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
}
