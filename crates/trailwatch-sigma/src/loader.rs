//! Loading rule files: multi-document YAML, the legacy `action: global/reset/repeat` collection
//! style, and the link step that resolves correlation references.

use crate::error::{LoadFailure, RuleError};
use crate::rule::{Rule, RuleBody};
use crate::yaml::{get_str, merge};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaml_rust2::{Yaml, YamlLoader};

/// Product/service pairs trailwatch has events for: CloudTrail, the Azure Activity Log and
/// the Microsoft Entra ID logs ([`crate::ruleset::ENTRA_SERVICES`]).
pub const SUPPORTED_SOURCES: [(&str, &str); 6] = [
    ("aws", "cloudtrail"),
    ("azure", "activitylogs"),
    ("azure", "signinlogs"),
    ("azure", "auditlogs"),
    ("azure", "riskdetection"),
    ("azure", "pim"),
];

/// Accumulates rules from several places (a built-in pack, user directories), then links
/// correlations across all of them in [`Loader::finish`].
#[derive(Debug, Default)]
pub struct Loader {
    rules: Vec<Rule>,
    failures: Vec<LoadFailure>,
}

/// The outcome of loading: the compiled rules and every rule or file that failed.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub rules: Vec<Arc<Rule>>,
    pub failures: Vec<LoadFailure>,
}

/// Loads every `*.yml` / `*.yaml` under `path`, recursively.
pub fn load_dir(path: impl AsRef<Path>) -> LoadReport {
    let mut l = Loader::new();
    l.load_dir(path);
    l.finish()
}

/// Loads rules from text (e.g. an embedded pack); `origin` names it in failures.
pub fn load_str(text: &str, origin: &str) -> LoadReport {
    let mut l = Loader::new();
    l.load_str(text, origin);
    l.finish()
}

const MAX_DIR_DEPTH: usize = 32;

impl Loader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every `*.yml` / `*.yaml` under `path` (files in sorted order, so that results are
    /// reproducible). Unreadable directories and files become failures.
    pub fn load_dir(&mut self, path: impl AsRef<Path>) {
        let mut files = Vec::new();
        self.collect(path.as_ref(), 0, &mut files);
        files.sort();
        self.load_files(&files);
    }

    /// Loads `files` on every core (a rule pack of a thousand files takes a tenth of a second
    /// on one, in front of every hunt), keeping their order in the result: each file is
    /// independent (its `global`/`repeat` state ends with it), and the chunks are joined in
    /// order.
    fn load_files(&mut self, files: &[PathBuf]) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if threads <= 1 || files.len() < 64 {
            files.iter().for_each(|f| self.load_file(f));
            return;
        }
        let chunk = files.len().div_ceil(threads);
        let parts: Vec<Loader> = std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut l = Loader::new();
                        part.iter().for_each(|f| l.load_file(f));
                        l
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for part in parts {
            self.rules.extend(part.rules);
            self.failures.extend(part.failures);
        }
    }

    fn collect(&mut self, dir: &Path, depth: usize, files: &mut Vec<PathBuf>) {
        if depth > MAX_DIR_DEPTH {
            self.fail_file(dir, RuleError::Io("directory nesting too deep".into()));
            return;
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.fail_file(dir, RuleError::Io(e.to_string()));
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.fail_file(dir, RuleError::Io(e.to_string()));
                    continue;
                }
            };
            let p = entry.path();
            // Follows symlinks to files, not to directories (no loops).
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                self.collect(&p, depth + 1, files);
            } else if is_rule_file(&p) && (ft.is_file() || p.is_file()) {
                files.push(p);
            }
        }
    }

    /// Loads one file.
    pub fn load_file(&mut self, path: &Path) {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.load_text(&text, path),
                Err(_) => self.fail_file(path, RuleError::Io("file is not UTF-8".into())),
            },
            Err(e) => self.fail_file(path, RuleError::Io(e.to_string())),
        }
    }

    /// Loads rules from text; `origin` names it in failures and in [`Rule::path`].
    pub fn load_str(&mut self, text: &str, origin: &str) {
        self.load_text(text, Path::new(origin));
    }

    fn fail_file(&mut self, path: &Path, error: RuleError) {
        tracing::debug!(path = %path.display(), %error, "sigma file failed");
        self.failures.push(LoadFailure {
            path: path.to_path_buf(),
            document: None,
            title: None,
            id: None,
            error,
        });
    }

    fn load_text(&mut self, text: &str, path: &Path) {
        let docs: Vec<Result<Yaml, RuleError>> = match YamlLoader::load_from_str(text) {
            Ok(d) => d.into_iter().map(Ok).collect(),
            // One broken document should not take its neighbours down: retry one by one.
            Err(whole) => {
                let parts = split_documents(text);
                if parts.len() <= 1 {
                    self.fail_file(path, RuleError::Yaml(whole.to_string()));
                    return;
                }
                parts
                    .iter()
                    .flat_map(|p| match YamlLoader::load_from_str(p) {
                        Ok(d) => d.into_iter().map(Ok).collect::<Vec<_>>(),
                        Err(e) => vec![Err(RuleError::Yaml(e.to_string()))],
                    })
                    .collect()
            }
        };
        let mut global: Option<Yaml> = None;
        let mut last: Option<Yaml> = None;
        for (i, doc) in docs.into_iter().enumerate() {
            let fail = |this: &mut Self, doc: Option<&Yaml>, error: RuleError| {
                let h = doc.and_then(Yaml::as_hash);
                tracing::debug!(path = %path.display(), document = i, %error, "sigma rule failed");
                this.failures.push(LoadFailure {
                    path: path.to_path_buf(),
                    document: Some(i),
                    title: h.and_then(|h| get_str(h, "title")),
                    id: h.and_then(|h| get_str(h, "id")),
                    error,
                });
            };
            let doc = match doc {
                Ok(Yaml::Null) => continue,
                Ok(d @ Yaml::Hash(_)) => d,
                Ok(_) => {
                    fail(self, None, RuleError::NotAMap);
                    continue;
                }
                Err(e) => {
                    fail(self, None, e);
                    continue;
                }
            };
            let (action, body) = split_action(&doc);
            let merged = match action.as_deref() {
                Some("global") => {
                    global = Some(body);
                    continue;
                }
                Some("reset") => {
                    global = None;
                    continue;
                }
                Some("repeat") => match &last {
                    Some(prev) => merge(prev, &body),
                    None => {
                        fail(self, Some(&doc), RuleError::RepeatWithoutRule);
                        continue;
                    }
                },
                None => match &global {
                    Some(g) => merge(g, &body),
                    None => body,
                },
                Some(other) => {
                    fail(
                        self,
                        Some(&doc),
                        RuleError::InvalidAttribute {
                            attribute: "action",
                            reason: format!("unknown action '{other}'"),
                        },
                    );
                    continue;
                }
            };
            last = Some(merged.clone());
            let Some(h) = merged.as_hash() else {
                fail(self, Some(&merged), RuleError::NotAMap);
                continue;
            };
            match Rule::compile(h, path.to_path_buf()) {
                Ok(r) => self.rules.push(r),
                Err(e) => fail(self, Some(&merged), e),
            }
        }
    }

    /// Resolves correlation references (by `name`, then `id`, then `title`; rules of the same
    /// file first), drops correlations that cannot be resolved or form cycles, and marks the
    /// rules whose matches only feed `generate: false` correlations.
    pub fn finish(self) -> LoadReport {
        let Loader {
            mut rules,
            mut failures,
        } = self;
        // Resolve until no correlation is dropped (dropping one may break others).
        loop {
            let mut dropped = Vec::new();
            let resolved: Vec<Option<Vec<usize>>> = (0..rules.len())
                .map(|i| {
                    let c = rules[i].correlation()?;
                    let mut out = Vec::with_capacity(c.rules.len());
                    for r in &c.rules {
                        match resolve(&rules, i, r) {
                            Some(j) => out.push(j),
                            None => {
                                dropped.push((i, RuleError::UnknownRuleReference(r.clone())));
                                return None;
                            }
                        }
                    }
                    Some(out)
                })
                .collect();
            if dropped.is_empty() {
                // Cycles.
                let cyclic = find_cycles(&resolved);
                if cyclic.is_empty() {
                    for (i, r) in resolved.into_iter().enumerate() {
                        if let (Some(r), RuleBody::Correlation(c)) = (r, &mut rules[i].body) {
                            c.resolved = r;
                        }
                    }
                    break;
                }
                dropped = cyclic
                    .into_iter()
                    .map(|i| {
                        (
                            i,
                            RuleError::Correlation(
                                "correlation references form a cycle".to_string(),
                            ),
                        )
                    })
                    .collect();
            }
            dropped.sort_by_key(|(i, _)| std::cmp::Reverse(*i));
            dropped.dedup_by_key(|(i, _)| *i);
            for (i, error) in dropped {
                let r = rules.remove(i);
                failures.push(LoadFailure {
                    path: r.path.clone(),
                    document: None,
                    title: Some(r.title.clone()),
                    id: r.id.clone(),
                    error,
                });
            }
        }
        // Suppression: referenced, and no referencing correlation generates.
        let mut referenced = vec![false; rules.len()];
        let mut generated = vec![false; rules.len()];
        for r in &rules {
            if let Some(c) = r.correlation() {
                for &j in &c.resolved {
                    referenced[j] = true;
                    generated[j] |= c.generate;
                }
            }
        }
        for (i, r) in rules.iter_mut().enumerate() {
            r.suppressed = referenced[i] && !generated[i];
        }
        LoadReport {
            rules: rules.into_iter().map(Arc::new).collect(),
            failures,
        }
    }
}

fn resolve(rules: &[Rule], me: usize, reference: &str) -> Option<usize> {
    let same_file = |j: usize| rules[j].path == rules[me].path;
    let by = |pred: &dyn Fn(&Rule) -> bool, local: bool| {
        (0..rules.len()).find(|&j| j != me && (!local || same_file(j)) && pred(&rules[j]))
    };
    let name = |r: &Rule| r.name.as_deref() == Some(reference);
    let id = |r: &Rule| r.id.as_deref() == Some(reference);
    let title = |r: &Rule| r.title == reference;
    by(&name, true)
        .or_else(|| by(&id, true))
        .or_else(|| by(&title, true))
        .or_else(|| by(&name, false))
        .or_else(|| by(&id, false))
        .or_else(|| by(&title, false))
}

/// Indices of correlations that take part in a reference cycle.
fn find_cycles(edges: &[Option<Vec<usize>>]) -> Vec<usize> {
    // 0 = unvisited, 1 = on stack, 2 = done
    fn visit(i: usize, edges: &[Option<Vec<usize>>], st: &mut [u8], out: &mut Vec<usize>) {
        st[i] = 1;
        if let Some(Some(next)) = edges.get(i) {
            for &j in next {
                match st.get(j) {
                    Some(0) => visit(j, edges, st, out),
                    Some(1) => out.push(i),
                    _ => {}
                }
            }
        }
        st[i] = 2;
    }
    let mut st = vec![0u8; edges.len()];
    let mut out = Vec::new();
    for i in 0..edges.len() {
        if st[i] == 0 {
            visit(i, edges, &mut st, &mut out);
        }
    }
    out
}

fn is_rule_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Splits YAML text at `---` document markers (used only to isolate a broken document).
fn split_documents(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            out.push(String::new());
        }
        if let Some(cur) = out.last_mut() {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    out
}

/// Removes the `action` key, returning its value.
fn split_action(doc: &Yaml) -> (Option<String>, Yaml) {
    match doc {
        Yaml::Hash(h) => {
            let key = Yaml::String("action".into());
            match h.get(&key) {
                Some(a) => {
                    let mut h = h.clone();
                    h.remove(&key);
                    (
                        Some(
                            crate::yaml::scalar_text(a)
                                .unwrap_or_default()
                                .to_ascii_lowercase(),
                        ),
                        Yaml::Hash(h),
                    )
                }
                None => (None, doc.clone()),
            }
        }
        _ => (None, doc.clone()),
    }
}

impl LoadReport {
    /// Rules whose events `product`/`service` supply: detection rules by their logsource,
    /// correlation rules when every detection rule they (transitively) use is routed there.
    pub fn routed_to<'a>(
        &'a self,
        product: &'a str,
        service: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Arc<Rule>)> + 'a {
        self.rules
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.routes(*i, product, service, 0))
    }

    /// [`LoadReport::routed_to`] for a source whose events several services' rules are
    /// written for: detection rules of any of `services`, correlation rules whose every
    /// detection rule is one of those.
    pub fn routed_to_any<'a, S: AsRef<str>>(
        &'a self,
        product: &'a str,
        services: &'a [S],
    ) -> impl Iterator<Item = (usize, &'a Arc<Rule>)> + 'a {
        self.rules
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.routes_any(*i, product, services, 0))
    }

    pub(crate) fn routes(&self, i: usize, product: &str, service: &str, depth: usize) -> bool {
        self.routes_any(i, product, &[service], depth)
    }

    fn routes_any<S: AsRef<str>>(
        &self,
        i: usize,
        product: &str,
        services: &[S],
        depth: usize,
    ) -> bool {
        let Some(r) = self.rules.get(i) else {
            return false;
        };
        match &r.body {
            RuleBody::Detection(_) => services
                .iter()
                .any(|s| r.logsource.applies_to(product, s.as_ref())),
            RuleBody::Correlation(c) => {
                depth < 64
                    && !c.resolved.is_empty()
                    && c.resolved
                        .iter()
                        .all(|&j| self.routes_any(j, product, services, depth + 1))
            }
        }
    }

    /// Compiled rules that none of `sources` would evaluate (for the load summary).
    pub fn unrouted(&self, sources: &[(&str, &str)]) -> Vec<&Arc<Rule>> {
        (0..self.rules.len())
            .filter(|&i| !sources.iter().any(|(p, s)| self.routes(i, p, s, 0)))
            .filter_map(|i| self.rules.get(i))
            .collect()
    }

    /// The rule with this id or name, else the first with this title.
    pub fn find(&self, reference: &str) -> Option<&Arc<Rule>> {
        self.rules
            .iter()
            .find(|r| r.id.as_deref() == Some(reference) || r.name.as_deref() == Some(reference))
            .or_else(|| self.rules.iter().find(|r| r.title == reference))
    }
}
