//! Typed errors: why a rule failed to load or compile.

use std::path::PathBuf;

/// Why one rule (or one file) could not be compiled. The `Display` text is the reason shown to
/// users, e.g. "unknown modifier 'foo' on field 'x'".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("cannot read file: {0}")]
    Io(String),
    #[error("invalid YAML: {0}")]
    Yaml(String),
    #[error("document is not a YAML map")]
    NotAMap,
    #[error("missing required attribute '{0}'")]
    Missing(&'static str),
    #[error("attribute '{attribute}' is invalid: {reason}")]
    InvalidAttribute {
        attribute: &'static str,
        reason: String,
    },
    #[error("document has neither 'detection' nor 'correlation'")]
    NoDetection,
    #[error("selection '{selection}' is invalid: {reason}")]
    InvalidSelection { selection: String, reason: String },
    #[error("unknown modifier '{modifier}' on field '{field}'")]
    UnknownModifier { modifier: String, field: String },
    #[error("invalid value for field '{field}': {reason}")]
    InvalidValue { field: String, reason: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("condition syntax error: {0}")]
    ConditionSyntax(String),
    #[error("condition references undefined identifier '{0}'")]
    UndefinedIdentifier(String),
    #[error("correlation is invalid: {0}")]
    Correlation(String),
    #[error("correlation references unknown rule '{0}'")]
    UnknownRuleReference(String),
    #[error("'action: repeat' without a preceding rule document")]
    RepeatWithoutRule,
}

/// One rule (or file) that failed to load; the others are unaffected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    /// The file (or the origin name given to [`crate::load_str`]).
    pub path: PathBuf,
    /// Index of the YAML document in the file (0-based), when the failure concerns one document.
    pub document: Option<usize>,
    pub title: Option<String>,
    pub id: Option<String>,
    pub error: RuleError,
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(d) = self.document {
            write!(f, " (document {})", d + 1)?;
        }
        if let Some(t) = &self.title {
            write!(f, " [{t}]")?;
        }
        if let Some(i) = &self.id {
            write!(f, " [id {i}]")?;
        }
        write!(f, ": {}", self.error)
    }
}
