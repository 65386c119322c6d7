//! Which alerts a sink takes: a minimum severity and tags every routed alert must carry.

use trailwatch_model::{Alert, Severity};

/// A sink's routing rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Alerts below this severity are not sent to the sink.
    pub min_severity: Severity,
    /// When not empty, an alert must carry every one of these tags (exact, case-sensitive).
    pub required_tags: Vec<String>,
}

impl Default for Route {
    /// Every alert.
    fn default() -> Self {
        Route {
            min_severity: Severity::Informational,
            required_tags: Vec::new(),
        }
    }
}

impl Route {
    /// A route for alerts at `min_severity` or above, whatever their tags.
    pub fn at_least(min_severity: Severity) -> Self {
        Route {
            min_severity,
            required_tags: Vec::new(),
        }
    }

    /// The same route, also requiring `tags`.
    pub fn with_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Whether `alert` goes to the sink.
    pub fn matches(&self, alert: &Alert) -> bool {
        alert.severity >= self.min_severity
            && self
                .required_tags
                .iter()
                .all(|tag| alert.tags.iter().any(|t| t == tag))
    }
}
