//! Field access: how a rule reads a value out of an event without knowing its shape.

use std::borrow::Cow;

/// A dotted field name as written in a rule (`userIdentity.sessionContext.attributes.mfaAuthenticated`),
/// split once at rule-compile time so that lookups on the hot path do not split again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    raw: Box<str>,
    segments: Box<[Box<str>]>,
}

impl FieldPath {
    /// Splits `raw` on dots. Keys that themselves contain dots (Azure claim URIs) are found by
    /// [`FieldSource`] implementations, which retry with joined segments.
    pub fn new(raw: &str) -> Self {
        let segments = raw.split('.').map(Box::from).collect();
        FieldPath {
            raw: raw.into(),
            segments,
        }
    }

    /// The field name as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The dot-separated segments.
    pub fn segments(&self) -> &[Box<str>] {
        &self.segments
    }
}

/// One scalar value found at a field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// JSON `null`.
    Null,
    /// JSON `true` / `false`.
    Bool(bool),
    /// A JSON number, as its source text (`42`, `1.5e3`).
    Number(Cow<'a, str>),
    /// A string, unescaped.
    Str(Cow<'a, str>),
    /// An object or array that has no scalar at this path; its raw JSON text. Keyword and
    /// `contains` matches may look inside it; equality never matches it.
    Composite(Cow<'a, str>),
}

impl FieldValue<'_> {
    /// The value as text, the way Sigma compares it (`true`, `42`, the string itself).
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            FieldValue::Null => Cow::Borrowed(""),
            FieldValue::Bool(true) => Cow::Borrowed("true"),
            FieldValue::Bool(false) => Cow::Borrowed("false"),
            FieldValue::Number(n) => Cow::Borrowed(n),
            FieldValue::Str(s) => Cow::Borrowed(s),
            FieldValue::Composite(s) => Cow::Borrowed(s),
        }
    }
}

/// Read access to one event's fields, as Sigma rules name them.
///
/// Implemented by the decoded record types (AWS CloudTrail over its raw JSON; Azure Activity Log
/// with the field aliases that make its three shapes answer the same names). Lookups must not
/// allocate when the value needs no unescaping: rules call this on the hot path.
pub trait FieldSource {
    /// Calls `visit` with every scalar value at `path`. Arrays met on the way (or at the end) are
    /// expanded: each element is visited. `visit` returns `true` to stop early. Returns whether
    /// `visit` asked to stop.
    fn visit_field(&self, path: &FieldPath, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool)
        -> bool;

    /// Whether `path` is present with a non-null value.
    fn field_exists(&self, path: &FieldPath) -> bool {
        let mut found = false;
        self.visit_field(path, &mut |v| {
            found = !matches!(v, FieldValue::Null);
            found
        });
        found
    }

    /// Calls `visit` with every scalar value anywhere in the event (for Sigma keyword searches).
    /// Returns whether `visit` asked to stop.
    fn visit_all_values(&self, visit: &mut dyn FnMut(&FieldValue<'_>) -> bool) -> bool;

    /// The event's time in milliseconds since the Unix epoch (UTC), when it has one.
    fn time_ms(&self) -> Option<i64>;
}
