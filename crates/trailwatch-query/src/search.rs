//! The SQL behind `trailwatch search`: filters on who, what and when, every value quoted.

use crate::query::time_range_sql;

/// The columns `search` returns, in order.
pub const SEARCH_COLUMNS: [&str; 13] = [
    "time",
    "provider",
    "account",
    "region",
    "principal",
    "access_key",
    "source_ip",
    "action",
    "outcome",
    "error_code",
    "resources",
    "event_id",
    "user_agent",
];

/// What `trailwatch search` filters on; every field set narrows the result (they are ANDed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// Matches `principal`, `principal_arn` or `principal_id` exactly.
    pub principal: Option<String>,
    /// Matches `access_key` exactly.
    pub access_key: Option<String>,
    /// Matches `source_ip` exactly.
    pub ip: Option<String>,
    /// A glob over `action`: `*` is any run of characters, `?` one character, everything else
    /// (including `%` and `_`) literal. Case-sensitive.
    pub action: Option<String>,
    /// Matches one element of `resources` exactly.
    pub resource: Option<String>,
    /// Earliest `time`, milliseconds since the epoch, inclusive.
    pub since_ms: Option<i64>,
    /// Latest `time`, milliseconds since the epoch, inclusive.
    pub until_ms: Option<i64>,
    /// At most this many rows (the earliest ones).
    pub limit: Option<usize>,
}

/// The `SELECT` for `filter` over `events`: [`SEARCH_COLUMNS`], ordered by time then event id.
/// Values are quoted with [`sql_string`], so none can end the literal; the time bounds name
/// `dt` too, so only the days in range are read (see [`crate::Query::time_filter_sql`]).
pub fn search(filter: &SearchFilter) -> String {
    let mut conditions = Vec::new();
    if let Some(principal) = &filter.principal {
        let p = sql_string(principal);
        conditions.push(format!(
            "(principal = {p} OR principal_arn = {p} OR principal_id = {p})"
        ));
    }
    if let Some(key) = &filter.access_key {
        conditions.push(format!("access_key = {}", sql_string(key)));
    }
    if let Some(ip) = &filter.ip {
        conditions.push(format!("source_ip = {}", sql_string(ip)));
    }
    if let Some(glob) = &filter.action {
        if glob.contains(['*', '?']) {
            conditions.push(format!(
                "action LIKE {} ESCAPE '\\'",
                sql_string(&glob_to_like(glob))
            ));
        } else {
            conditions.push(format!("action = {}", sql_string(glob)));
        }
    }
    if let Some(resource) = &filter.resource {
        conditions.push(format!("array_has(resources, {})", sql_string(resource)));
    }
    if filter.since_ms.is_some() || filter.until_ms.is_some() {
        conditions.push(time_range_sql(filter.since_ms, filter.until_ms));
    }
    let mut sql = format!("SELECT {} FROM events", SEARCH_COLUMNS.join(", "));
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(" ORDER BY time, event_id");
    if let Some(limit) = filter.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    sql
}

/// `value` as an SQL string literal: in single quotes, each `'` doubled. (DataFusion's
/// dialect gives backslashes no meaning inside such a literal, so nothing else needs escaping.)
pub fn sql_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A glob as a `LIKE` pattern with `\` as the escape character (write `ESCAPE '\'` after it):
/// `*` → `%`, `?` → `_`, and a literal `%`, `_` or `\` escaped with `\`.
pub fn glob_to_like(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 4);
    for c in glob.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sql_string("alice"), "'alice'");
        assert_eq!(sql_string("o'brien"), "'o''brien'");
        assert_eq!(sql_string("'; DROP TABLE x; --"), "'''; DROP TABLE x; --'");
        assert_eq!(sql_string(""), "''");
    }

    #[test]
    fn globs() {
        assert_eq!(glob_to_like("Get*"), "Get%");
        assert_eq!(glob_to_like("Get?bject"), "Get_bject");
        assert_eq!(glob_to_like("100%_off*"), "100\\%\\_off%");
        assert_eq!(glob_to_like("a\\b"), "a\\\\b");
    }

    #[test]
    fn builds_conditions() {
        let sql = search(&SearchFilter {
            principal: Some("o'brien".into()),
            action: Some("Describe*".into()),
            limit: Some(10),
            ..SearchFilter::default()
        });
        assert!(sql.contains("principal = 'o''brien'"), "{sql}");
        assert!(sql.contains("action LIKE 'Describe%' ESCAPE '\\'"), "{sql}");
        assert!(sql.ends_with("ORDER BY time, event_id LIMIT 10"), "{sql}");
        let all = search(&SearchFilter::default());
        assert!(!all.contains("WHERE"), "{all}");
        let exact = search(&SearchFilter {
            action: Some("ConsoleLogin".into()),
            ..SearchFilter::default()
        });
        assert!(exact.contains("action = 'ConsoleLogin'"), "{exact}");
    }
}
