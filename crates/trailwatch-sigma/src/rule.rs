//! A compiled rule and its metadata.

use crate::correlation::Correlation;
use crate::detection::Detection;
use crate::error::RuleError;
use crate::yaml::{get, get_str, get_str_list, to_json};
use std::path::PathBuf;
use trailwatch_model::{FieldSource, Severity};
use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

/// The level given to rules that do not state one. Sigma has no default; we choose the middle
/// level so that a rule without `level` is neither dropped by a `medium` threshold nor promoted.
pub const DEFAULT_LEVEL: Severity = Severity::Medium;

/// A rule's `logsource`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    pub product: Option<String>,
    pub service: Option<String>,
    pub category: Option<String>,
}

impl LogSource {
    /// Whether events of `product`/`service` are what the rule is written for (ASCII
    /// case-insensitive; a rule without a service applies to every service of its product).
    pub fn applies_to(&self, product: &str, service: &str) -> bool {
        self.product
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(product))
            && self
                .service
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case(service))
    }
}

/// Our `tests:` extension: example events the rule must and must not match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleTests {
    pub positive: Vec<serde_json::Value>,
    pub negative: Vec<serde_json::Value>,
}

/// What a rule does: match single events, or correlate other rules' matches.
#[derive(Debug, Clone)]
pub enum RuleBody {
    Detection(Detection),
    Correlation(Correlation),
}

/// A compiled Sigma rule (detection or correlation) with its metadata.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: Option<String>,
    /// The optional `name` attribute other rules may refer to.
    pub name: Option<String>,
    pub title: String,
    pub description: Option<String>,
    /// `level`, or [`DEFAULT_LEVEL`] when absent.
    pub level: Severity,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub logsource: LogSource,
    pub author: Option<String>,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
    /// The file the rule came from (or the origin name given to `load_str`).
    pub path: PathBuf,
    pub tests: RuleTests,
    pub body: RuleBody,
    /// Set when every correlation that uses this rule has `generate: false` (the default):
    /// its own matches feed the correlation but must not be alerted on.
    pub(crate) suppressed: bool,
}

impl Rule {
    /// Whether this detection rule matches `event` (always `false` for correlation rules).
    pub fn matches<S: FieldSource + ?Sized>(&self, event: &S) -> bool {
        match &self.body {
            RuleBody::Detection(d) => d.matches(event),
            RuleBody::Correlation(_) => false,
        }
    }

    /// Which selections of this detection rule matched `event` and which field tests failed
    /// (`None` for correlation rules).
    pub fn explain<S: FieldSource + ?Sized>(
        &self,
        event: &S,
    ) -> Option<crate::detection::Explanation> {
        match &self.body {
            RuleBody::Detection(d) => Some(d.explain(event)),
            RuleBody::Correlation(_) => None,
        }
    }

    pub fn is_correlation(&self) -> bool {
        matches!(self.body, RuleBody::Correlation(_))
    }

    pub fn correlation(&self) -> Option<&Correlation> {
        match &self.body {
            RuleBody::Correlation(c) => Some(c),
            RuleBody::Detection(_) => None,
        }
    }

    /// `false` when the rule is only a building block of correlations with `generate: false`:
    /// the caller must not alert on its own matches.
    pub fn generates_alerts(&self) -> bool {
        !self.suppressed
    }

    /// A stable key for the rule: its id, else its title.
    pub fn key(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.title)
    }

    /// Compiles one (already merged) rule document.
    pub(crate) fn compile(h: &Hash, path: PathBuf) -> Result<Rule, RuleError> {
        let title = get_str(h, "title").ok_or(RuleError::Missing("title"))?;
        let level = match get(h, "level") {
            None | Some(Yaml::Null) => DEFAULT_LEVEL,
            Some(y) => match crate::yaml::scalar_text(y) {
                Some(t) => t
                    .parse()
                    .map_err(|e: trailwatch_model::ParseSeverityError| {
                        RuleError::InvalidAttribute {
                            attribute: "level",
                            reason: e.to_string(),
                        }
                    })?,
                None => {
                    return Err(RuleError::InvalidAttribute {
                        attribute: "level",
                        reason: "not a scalar".into(),
                    })
                }
            },
        };
        let logsource = match get(h, "logsource") {
            Some(Yaml::Hash(ls)) => LogSource {
                product: get_str(ls, "product"),
                service: get_str(ls, "service"),
                category: get_str(ls, "category"),
            },
            None | Some(Yaml::Null) => LogSource::default(),
            Some(_) => {
                return Err(RuleError::InvalidAttribute {
                    attribute: "logsource",
                    reason: "not a map".into(),
                })
            }
        };
        let tests = match get(h, "tests") {
            None | Some(Yaml::Null) => RuleTests::default(),
            Some(Yaml::Hash(t)) => {
                let list = |key: &str| -> Result<Vec<serde_json::Value>, RuleError> {
                    match get(t, key) {
                        None | Some(Yaml::Null) => Ok(Vec::new()),
                        Some(Yaml::Array(a)) => Ok(a.iter().map(to_json).collect()),
                        Some(_) => Err(RuleError::InvalidAttribute {
                            attribute: "tests",
                            reason: format!("'{key}' must be a list of events"),
                        }),
                    }
                };
                RuleTests {
                    positive: list("positive")?,
                    negative: list("negative")?,
                }
            }
            Some(_) => {
                return Err(RuleError::InvalidAttribute {
                    attribute: "tests",
                    reason: "must be a map with 'positive' and 'negative' lists".into(),
                })
            }
        };
        let body = if let Some(c) = get(h, "correlation") {
            let Yaml::Hash(c) = c else {
                return Err(RuleError::Correlation("'correlation' is not a map".into()));
            };
            RuleBody::Correlation(Correlation::compile(c)?)
        } else if let Some(d) = get(h, "detection") {
            let Yaml::Hash(d) = d else {
                return Err(RuleError::InvalidAttribute {
                    attribute: "detection",
                    reason: "not a map".into(),
                });
            };
            RuleBody::Detection(Detection::compile(d)?)
        } else if get(h, "filter").is_some() {
            return Err(RuleError::Unsupported("Sigma filter (meta) rules".into()));
        } else {
            return Err(RuleError::NoDetection);
        };
        let author = match get(h, "author") {
            Some(Yaml::Array(_)) => Some(get_str_list(h, "author").join(", ")),
            _ => get_str(h, "author"),
        };
        Ok(Rule {
            id: get_str(h, "id"),
            name: get_str(h, "name"),
            title,
            description: get_str(h, "description"),
            level,
            status: get_str(h, "status"),
            tags: get_str_list(h, "tags"),
            logsource,
            author,
            references: get_str_list(h, "references"),
            falsepositives: get_str_list(h, "falsepositives"),
            path,
            tests,
            body,
            suppressed: false,
        })
    }
}
