//! Small helpers over `yaml_rust2::Yaml`.

use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

/// A scalar's text (`true`, `42`, `1.5`, the string), or `None` for null and collections.
pub(crate) fn scalar_text(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Looks `key` up in a map.
pub(crate) fn get<'a>(h: &'a Hash, key: &str) -> Option<&'a Yaml> {
    h.get(&Yaml::String(key.to_string()))
}

/// A map key as text.
pub(crate) fn key_text(y: &Yaml) -> Option<String> {
    scalar_text(y)
}

/// A string attribute (scalars are stringified; null/absent is `None`).
pub(crate) fn get_str(h: &Hash, key: &str) -> Option<String> {
    get(h, key).and_then(scalar_text)
}

/// A list-of-strings attribute; a single scalar counts as a one-element list.
pub(crate) fn get_str_list(h: &Hash, key: &str) -> Vec<String> {
    match get(h, key) {
        Some(Yaml::Array(a)) => a.iter().filter_map(scalar_text).collect(),
        Some(other) => scalar_text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Converts YAML to JSON (map keys are stringified).
pub(crate) fn to_json(y: &Yaml) -> serde_json::Value {
    use serde_json::Value;
    match y {
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Real(s) => match s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Some(n) => Value::Number(n),
            None => Value::String(s.clone()),
        },
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| (key_text(k).unwrap_or_default(), to_json(v)))
                .collect(),
        ),
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Value::Null,
    }
}

/// Deep-merges `over` onto `base` (maps recursively; anything else is replaced).
pub(crate) fn merge(base: &Yaml, over: &Yaml) -> Yaml {
    match (base, over) {
        (Yaml::Hash(b), Yaml::Hash(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                let merged = match out.get(k) {
                    Some(existing) => merge(existing, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Yaml::Hash(out)
        }
        (_, o) => o.clone(),
    }
}
