//! The `detection` block: selections compiled into field tests, and the condition tree over them.

use crate::condition::{self, Node};
use crate::error::RuleError;
use crate::pattern::{relation, relation_ci, SigmaStr, StrKind, StrMatch};
use crate::yaml::{key_text, scalar_text};
use base64::Engine as _;
use ipnet::IpNet;
use std::net::IpAddr;
use trailwatch_model::{FieldPath, FieldSource, FieldValue};
use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

/// A compiled `detection` block (opaque; evaluate it through [`crate::Rule::matches`]).
#[derive(Debug, Clone)]
pub struct Detection {
    selections: Vec<Selection>,
    root: Node,
    /// Selection names, in the order of `selections` (for [`Detection::explain`]).
    names: Vec<String>,
    /// The condition as written.
    condition: String,
}

/// How one selection of a detection fared on an event ([`crate::Rule::explain`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionOutcome {
    pub name: String,
    pub matched: bool,
    /// Each field test: (alternative, `field|modifiers`, matched, the event's values there).
    pub items: Vec<ItemOutcome>,
}

/// One field test of a selection on an event.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemOutcome {
    /// For a list of maps (alternatives), which map; 0 otherwise.
    pub alternative: usize,
    /// The key as written in the rule (`requestParameters.policyArn|endswith`).
    pub label: String,
    pub matched: bool,
    /// The event's values at the field (at most 3, as text); empty when absent.
    pub values: Vec<String>,
}

/// Why a detection rule matched an event or not.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub matched: bool,
    pub condition: String,
    pub selections: Vec<SelectionOutcome>,
}

#[derive(Debug, Clone)]
enum Selection {
    /// A map: every item must hold.
    All(Vec<Item>),
    /// A list: any element must hold.
    Any(Vec<Selection>),
}

/// One `field|modifiers: values` entry (or a keyword search when `field` is `None`).
#[derive(Debug, Clone)]
struct Item {
    field: Option<FieldPath>,
    test: Test,
    /// The key as written (`field|modifiers`), for explanations.
    label: Box<str>,
}

#[derive(Debug, Clone)]
enum Test {
    Exists(bool),
    /// Every group must match (one group unless `|all`).
    Groups(Vec<Group>),
}

/// Alternatives, any of which may match.
#[derive(Debug, Clone, Default)]
struct Group {
    /// `null` among the values: the field absent or null matches.
    null: bool,
    matchers: Vec<Matcher>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone)]
enum Matcher {
    Str(StrMatch),
    Cidr(IpNet),
    Num(NumOp, f64),
    FieldRef {
        other: FieldPath,
        kind: StrKind,
        cased: bool,
    },
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

impl Detection {
    pub(crate) fn matches<S: FieldSource + ?Sized>(&self, src: &S) -> bool {
        self.eval(&self.root, src)
    }

    /// Every selection's result and each field test's, on `src`.
    pub(crate) fn explain<S: FieldSource + ?Sized>(&self, src: &S) -> Explanation {
        let mut selections = Vec::with_capacity(self.selections.len());
        for (sel, name) in self.selections.iter().zip(&self.names) {
            let mut items = Vec::new();
            let alts: Vec<&Selection> = match sel {
                Selection::Any(v) => v.iter().collect(),
                all => vec![all],
            };
            for (alternative, alt) in alts.into_iter().enumerate() {
                if let Selection::All(list) = alt {
                    for item in list {
                        let mut values = Vec::new();
                        if let Some(path) = &item.field {
                            src.visit_field(path, &mut |v| {
                                values.push(v.as_text().chars().take(200).collect());
                                values.len() >= 3
                            });
                        }
                        items.push(ItemOutcome {
                            alternative,
                            label: item.label.to_string(),
                            matched: item.eval(src),
                            values,
                        });
                    }
                }
            }
            selections.push(SelectionOutcome {
                name: name.clone(),
                matched: sel.eval(src),
                items,
            });
        }
        Explanation {
            matched: self.matches(src),
            condition: self.condition.clone(),
            selections,
        }
    }

    fn eval<S: FieldSource + ?Sized>(&self, node: &Node, src: &S) -> bool {
        match node {
            Node::And(v) => v.iter().all(|n| self.eval(n, src)),
            Node::Or(v) => v.iter().any(|n| self.eval(n, src)),
            Node::Not(n) => !self.eval(n, src),
            Node::Sel(i) => self.selections.get(*i).is_some_and(|s| s.eval(src)),
        }
    }

    /// The lowercase literals the index field must equal for the rule to match, or `None` when
    /// the condition does not require that (see [`crate::RuleSet`]).
    pub(crate) fn index_keys(&self, fields: &[String]) -> Option<Vec<String>> {
        self.node_keys(&self.root, fields)
    }

    fn node_keys(&self, node: &Node, fields: &[String]) -> Option<Vec<String>> {
        match node {
            Node::Sel(i) => self.selections.get(*i)?.keys(fields),
            Node::Not(_) => None,
            Node::And(v) => v
                .iter()
                .filter_map(|n| self.node_keys(n, fields))
                .reduce(intersect),
            Node::Or(v) => {
                let mut acc = Vec::new();
                for n in v {
                    acc.extend(self.node_keys(n, fields)?);
                }
                acc.sort();
                acc.dedup();
                Some(acc)
            }
        }
    }

    fn node_cost(&self, node: &Node) -> u32 {
        match node {
            Node::And(v) | Node::Or(v) => v.iter().map(|n| self.node_cost(n)).sum(),
            Node::Not(n) => self.node_cost(n),
            Node::Sel(i) => self.selections.get(*i).map_or(0, Selection::cost),
        }
    }

    /// Sorts AND/OR operands cheapest first (evaluation is pure, so order is free).
    fn order(&self, node: &mut Node) {
        match node {
            Node::And(v) | Node::Or(v) => {
                for n in v.iter_mut() {
                    self.order(n);
                }
                v.sort_by_cached_key(|n| self.node_cost(n));
            }
            Node::Not(n) => self.order(n),
            Node::Sel(_) => {}
        }
    }
}

fn intersect(a: Vec<String>, b: Vec<String>) -> Vec<String> {
    a.into_iter().filter(|x| b.contains(x)).collect()
}

impl Selection {
    fn eval<S: FieldSource + ?Sized>(&self, src: &S) -> bool {
        match self {
            Selection::All(items) => items.iter().all(|i| i.eval(src)),
            Selection::Any(sels) => sels.iter().any(|s| s.eval(src)),
        }
    }

    fn cost(&self) -> u32 {
        match self {
            Selection::All(items) => items.iter().map(Item::cost).sum(),
            Selection::Any(sels) => sels.iter().map(Selection::cost).sum(),
        }
    }

    fn keys(&self, fields: &[String]) -> Option<Vec<String>> {
        match self {
            Selection::All(items) => items
                .iter()
                .filter_map(|i| i.keys(fields))
                .reduce(intersect),
            Selection::Any(sels) => {
                let mut acc = Vec::new();
                for s in sels {
                    acc.extend(s.keys(fields)?);
                }
                acc.sort();
                acc.dedup();
                Some(acc)
            }
        }
    }
}

impl Item {
    fn eval<S: FieldSource + ?Sized>(&self, src: &S) -> bool {
        match (&self.test, &self.field) {
            (Test::Exists(want), Some(path)) => src.field_exists(path) == *want,
            (Test::Exists(_), None) => false,
            (Test::Groups(groups), field) => groups.iter().all(|g| g.eval(field.as_ref(), src)),
        }
    }

    fn cost(&self) -> u32 {
        let base = match &self.test {
            Test::Exists(_) => 1,
            Test::Groups(g) => g
                .iter()
                .map(|g| g.matchers.iter().map(Matcher::cost).sum::<u32>() + u32::from(g.null))
                .sum(),
        };
        if self.field.is_none() {
            base.saturating_mul(20)
        } else {
            base
        }
    }

    /// The exact lowercase literals this item requires of an index field.
    fn keys(&self, fields: &[String]) -> Option<Vec<String>> {
        let path = self.field.as_ref()?;
        if !fields.iter().any(|f| f.eq_ignore_ascii_case(path.as_str())) {
            return None;
        }
        let Test::Groups(groups) = &self.test else {
            return None;
        };
        // With `|all` every group must match: any one fully literal group constrains.
        groups.iter().find_map(|g| {
            if g.null || g.matchers.is_empty() {
                return None;
            }
            let mut out = Vec::with_capacity(g.matchers.len());
            for m in &g.matchers {
                let Matcher::Str(s) = m else { return None };
                let lit = s.exact_literal()?;
                // Index lookups fold ASCII only; a non-ASCII literal could match values
                // that fold differently, so such rules stay unindexed.
                if !lit.is_ascii() {
                    return None;
                }
                out.push(lit.into_owned());
            }
            out.sort();
            out.dedup();
            Some(out)
        })
    }
}

impl Group {
    fn eval<S: FieldSource + ?Sized>(&self, field: Option<&FieldPath>, src: &S) -> bool {
        match field {
            Some(path) => {
                if self.null && !src.field_exists(path) {
                    return true;
                }
                if self.matchers.is_empty() {
                    return false;
                }
                src.visit_field(path, &mut |v| {
                    self.matchers.iter().any(|m| m.matches(v, src))
                })
            }
            None => {
                if self.matchers.is_empty() {
                    return false;
                }
                src.visit_all_values(&mut |v| self.matchers.iter().any(|m| m.matches(v, src)))
            }
        }
    }
}

impl Matcher {
    fn matches<S: FieldSource + ?Sized>(&self, v: &FieldValue<'_>, src: &S) -> bool {
        match self {
            Matcher::Str(m) => match v {
                FieldValue::Null => false,
                FieldValue::Composite(t) => m.applies_to_composite() && m.is_match(t),
                FieldValue::Bool(_) | FieldValue::Number(_) | FieldValue::Str(_) => {
                    m.is_match(&v.as_text())
                }
            },
            Matcher::Cidr(net) => match v {
                FieldValue::Str(s) => s.trim().parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
                _ => false,
            },
            Matcher::Num(op, n) => match v {
                FieldValue::Number(s) | FieldValue::Str(s) => {
                    s.trim().parse::<f64>().is_ok_and(|x| match op {
                        NumOp::Gt => x > *n,
                        NumOp::Gte => x >= *n,
                        NumOp::Lt => x < *n,
                        NumOp::Lte => x <= *n,
                    })
                }
                _ => false,
            },
            Matcher::FieldRef { other, kind, cased } => {
                if matches!(v, FieldValue::Null | FieldValue::Composite(_)) {
                    return false;
                }
                let mine = v.as_text();
                src.visit_field(other, &mut |o| {
                    if matches!(o, FieldValue::Null | FieldValue::Composite(_)) {
                        return false;
                    }
                    let theirs = o.as_text();
                    if *cased {
                        relation(*kind, &mine, &theirs)
                    } else {
                        relation_ci(*kind, &mine, &theirs)
                    }
                })
            }
        }
    }

    fn cost(&self) -> u32 {
        match self {
            Matcher::Str(s) => s.cost(),
            Matcher::Cidr(_) => 5,
            Matcher::Num(..) => 4,
            Matcher::FieldRef { .. } => 10,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------

impl Detection {
    pub(crate) fn compile(det: &Hash) -> Result<Detection, RuleError> {
        let mut names = Vec::new();
        let mut selections = Vec::new();
        let mut condition = None;
        for (k, v) in det {
            let Some(name) = key_text(k) else {
                return Err(RuleError::InvalidAttribute {
                    attribute: "detection",
                    reason: "a key is not a string".into(),
                });
            };
            match name.as_str() {
                "condition" => condition = Some(v),
                // Legacy aggregation window; aggregations themselves are rejected by the parser.
                "timeframe" => {}
                _ => {
                    let sel = compile_selection(&name, v)?;
                    names.push(name);
                    selections.push(sel);
                }
            }
        }
        let Some(condition) = condition else {
            return Err(RuleError::Missing("detection.condition"));
        };
        let root = match condition {
            Yaml::String(s) => condition::parse(s, &names)?,
            Yaml::Array(list) => {
                let mut nodes = Vec::with_capacity(list.len());
                for c in list {
                    let Yaml::String(s) = c else {
                        return Err(RuleError::ConditionSyntax(
                            "a condition list must hold strings".into(),
                        ));
                    };
                    nodes.push(condition::parse(s, &names)?);
                }
                match nodes.len() {
                    0 => return Err(RuleError::ConditionSyntax("empty condition list".into())),
                    1 => nodes.swap_remove(0),
                    _ => Node::Or(nodes),
                }
            }
            _ => {
                return Err(RuleError::ConditionSyntax(
                    "condition must be a string or a list of strings".into(),
                ))
            }
        };
        let condition = match condition {
            Yaml::String(s) => s.clone(),
            Yaml::Array(list) => list
                .iter()
                .filter_map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            _ => String::new(),
        };
        let mut d = Detection {
            selections,
            root,
            names,
            condition,
        };
        let mut root = d.root.clone();
        d.order(&mut root);
        d.root = root;
        Ok(d)
    }
}

fn sel_err(name: &str, reason: impl Into<String>) -> RuleError {
    RuleError::InvalidSelection {
        selection: name.to_string(),
        reason: reason.into(),
    }
}

fn compile_selection(name: &str, v: &Yaml) -> Result<Selection, RuleError> {
    match v {
        Yaml::Hash(h) => compile_map(name, h),
        Yaml::Array(list) => {
            if list.is_empty() {
                return Err(sel_err(name, "empty list"));
            }
            // Plain scalars form one keyword item; maps are alternatives.
            let mut alts = Vec::new();
            let mut keywords = Vec::new();
            for e in list {
                match e {
                    Yaml::Hash(h) => alts.push(compile_map(name, h)?),
                    Yaml::Array(_) => return Err(sel_err(name, "nested lists are not allowed")),
                    Yaml::Null => return Err(sel_err(name, "null keyword")),
                    other => keywords.push(other.clone()),
                }
            }
            if !keywords.is_empty() {
                alts.push(Selection::All(vec![compile_item(
                    None,
                    &[],
                    &Yaml::Array(keywords),
                )?]));
            }
            Ok(if alts.len() == 1 {
                alts.swap_remove(0)
            } else {
                Selection::Any(alts)
            })
        }
        Yaml::Null => Err(sel_err(name, "empty selection")),
        scalar => Ok(Selection::All(vec![compile_item(None, &[], scalar)?])),
    }
}

fn compile_map(name: &str, h: &Hash) -> Result<Selection, RuleError> {
    if h.is_empty() {
        return Err(sel_err(name, "empty map"));
    }
    let mut items = Vec::with_capacity(h.len());
    for (k, v) in h {
        let Some(key) = key_text(k) else {
            return Err(sel_err(name, "a field name is not a string"));
        };
        let mut parts = key.split('|');
        let field = parts.next().unwrap_or_default();
        let mods: Vec<&str> = parts.collect();
        let path = if field.is_empty() {
            None
        } else {
            Some(FieldPath::new(field))
        };
        let mut item = compile_item(path, &mods, v)?;
        item.label = key.as_str().into();
        items.push(item);
    }
    items.sort_by_cached_key(Item::cost);
    Ok(Selection::All(items))
}

/// Value transforms, applied in the order written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Transform {
    Utf16Le,
    Utf16Be,
    /// UTF-16 little endian with a byte-order mark.
    Utf16Bom,
    Base64,
    Base64Offset,
    Windash,
}

#[derive(Debug, Default)]
struct Mods {
    pos: Option<StrKind>,
    all: bool,
    exists: bool,
    cased: bool,
    re: bool,
    re_flags: String,
    cidr: bool,
    num: Option<NumOp>,
    fieldref: bool,
    transforms: Vec<Transform>,
}

fn parse_mods(field: &str, mods: &[&str]) -> Result<Mods, RuleError> {
    let mut m = Mods::default();
    for &raw in mods {
        let md = raw.trim();
        match md.to_ascii_lowercase().as_str() {
            "contains" => m.pos = Some(StrKind::Contains),
            "startswith" => m.pos = Some(StrKind::Prefix),
            "endswith" => m.pos = Some(StrKind::Suffix),
            "all" => m.all = true,
            "exists" => m.exists = true,
            "cased" => m.cased = true,
            "re" => m.re = true,
            "i" | "ignorecase" => m.re_flags.push('i'),
            "m" | "multiline" => m.re_flags.push('m'),
            "s" | "dotall" => m.re_flags.push('s'),
            "cidr" => m.cidr = true,
            "base64" => m.transforms.push(Transform::Base64),
            "base64offset" => m.transforms.push(Transform::Base64Offset),
            "wide" | "utf16le" => m.transforms.push(Transform::Utf16Le),
            "utf16be" => m.transforms.push(Transform::Utf16Be),
            "utf16" => m.transforms.push(Transform::Utf16Bom),
            "windash" => m.transforms.push(Transform::Windash),
            "gt" => m.num = Some(NumOp::Gt),
            "gte" => m.num = Some(NumOp::Gte),
            "lt" => m.num = Some(NumOp::Lt),
            "lte" => m.num = Some(NumOp::Lte),
            "fieldref" => m.fieldref = true,
            "expand" => {
                return Err(RuleError::Unsupported(format!(
                    "modifier 'expand' on field '{field}' needs placeholder values, and no placeholder configuration exists"
                )))
            }
            _ => {
                return Err(RuleError::UnknownModifier {
                    modifier: md.to_string(),
                    field: field.to_string(),
                })
            }
        }
    }
    let value_kinds = [
        m.exists,
        m.re,
        m.cidr,
        m.num.is_some(),
        m.fieldref && m.pos.is_none(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let bad = |why: &str| {
        Err(RuleError::InvalidValue {
            field: field.to_string(),
            reason: why.to_string(),
        })
    };
    if value_kinds > 1 {
        return bad(
            "conflicting modifiers (only one of exists, re, cidr, gt/gte/lt/lte, fieldref)",
        );
    }
    if !m.re_flags.is_empty() && !m.re {
        return bad("regex flags i/m/s need the 're' modifier");
    }
    if (m.re || m.cidr || m.num.is_some() || m.exists)
        && (m.pos.is_some() || !m.transforms.is_empty())
    {
        return bad(
            "re, cidr, exists and numeric modifiers cannot be combined with string modifiers",
        );
    }
    if m.fieldref && !m.transforms.is_empty() {
        return bad("fieldref cannot be combined with encoding modifiers");
    }
    Ok(m)
}

fn compile_item(field: Option<FieldPath>, mods: &[&str], v: &Yaml) -> Result<Item, RuleError> {
    let fname = field
        .as_ref()
        .map_or("<keywords>", |f| f.as_str())
        .to_string();
    let m = parse_mods(&fname, mods)?;
    let invalid = |reason: String| RuleError::InvalidValue {
        field: fname.clone(),
        reason,
    };
    if m.exists {
        if field.is_none() {
            return Err(invalid("'exists' needs a field name".into()));
        }
        let want = match v {
            Yaml::Boolean(b) => *b,
            Yaml::String(s) if s.eq_ignore_ascii_case("true") => true,
            Yaml::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => return Err(invalid("'exists' takes true or false".into())),
        };
        return Ok(Item {
            label: fname.as_str().into(),
            field,
            test: Test::Exists(want),
        });
    }
    if m.fieldref && field.is_none() {
        return Err(invalid("'fieldref' needs a field name".into()));
    }
    let values: Vec<&Yaml> = match v {
        Yaml::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    if values.is_empty() {
        return Err(invalid("empty value list".into()));
    }
    // Keywords (no field) are substring searches unless a position is given.
    let default_pos = if field.is_none() && !m.re && !m.cidr && m.num.is_none() {
        Some(StrKind::Contains)
    } else {
        None
    };
    let mut groups: Vec<Group> = Vec::new();
    for val in values {
        let mut g = Group::default();
        match val {
            Yaml::Null => {
                if field.is_none() {
                    return Err(invalid("null is not a keyword".into()));
                }
                g.null = true;
            }
            Yaml::Hash(_) | Yaml::Array(_) => {
                return Err(invalid("values must be scalars".into()));
            }
            Yaml::BadValue | Yaml::Alias(_) => return Err(invalid("unreadable value".into())),
            scalar => {
                let text = scalar_text(scalar).unwrap_or_default();
                let is_string = matches!(scalar, Yaml::String(_));
                compile_value(&m, default_pos, &text, is_string, &mut g.matchers)
                    .map_err(invalid)?;
            }
        }
        groups.push(g);
    }
    if !m.all {
        let mut merged = Group::default();
        for g in groups {
            merged.null |= g.null;
            merged.matchers.extend(g.matchers);
        }
        merged.matchers.sort_by_cached_key(Matcher::cost);
        groups = vec![merged];
    }
    Ok(Item {
        label: fname.as_str().into(),
        field,
        test: Test::Groups(groups),
    })
}

/// Compiles one rule value into its alternatives.
fn compile_value(
    m: &Mods,
    default_pos: Option<StrKind>,
    text: &str,
    is_string: bool,
    out: &mut Vec<Matcher>,
) -> Result<(), String> {
    if m.re {
        let mut pat = String::new();
        if !m.re_flags.is_empty() {
            pat.push_str("(?");
            pat.push_str(&m.re_flags);
            pat.push(')');
        }
        pat.push_str(text);
        let re = regex::RegexBuilder::new(&pat)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| format!("invalid regular expression: {e}"))?;
        out.push(Matcher::Str(StrMatch::Re(re)));
        return Ok(());
    }
    if m.cidr {
        let t = text.trim();
        let net = t
            .parse::<IpNet>()
            .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| format!("'{t}' is not a CIDR network"))?;
        out.push(Matcher::Cidr(net.trunc()));
        return Ok(());
    }
    if let Some(op) = m.num {
        let n = text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("'{text}' is not a number"))?;
        out.push(Matcher::Num(op, n));
        return Ok(());
    }
    if m.fieldref {
        out.push(Matcher::FieldRef {
            other: FieldPath::new(text),
            kind: m.pos.unwrap_or(StrKind::Exact),
            cased: m.cased,
        });
        return Ok(());
    }
    // A string value: wildcards, then transforms in order, then the position.
    let mut alts: Vec<SigmaStr> = vec![if is_string {
        SigmaStr::parse(text)
    } else {
        SigmaStr::literal(text)
    }];
    let mut bytes: Option<Vec<Vec<u8>>> = None;
    for t in &m.transforms {
        match t {
            Transform::Windash => {
                if bytes.is_some() {
                    return Err("windash must come before encoding modifiers".into());
                }
                alts = alts.iter().flat_map(windash_variants).collect();
            }
            Transform::Utf16Le | Transform::Utf16Be | Transform::Utf16Bom => {
                if bytes.is_some() {
                    return Err("utf16 encoding applied twice".into());
                }
                let mut enc = Vec::with_capacity(alts.len());
                for a in &alts {
                    let s = a
                        .as_plain()
                        .ok_or("wildcards cannot be combined with encoding modifiers")?;
                    enc.push(utf16(&s, *t));
                }
                bytes = Some(enc);
            }
            Transform::Base64 | Transform::Base64Offset => {
                let inputs: Vec<Vec<u8>> = match bytes.take() {
                    Some(b) => b,
                    None => {
                        let mut v = Vec::with_capacity(alts.len());
                        for a in &alts {
                            v.push(
                                a.as_plain()
                                    .ok_or("wildcards cannot be combined with base64")?
                                    .into_bytes(),
                            );
                        }
                        v
                    }
                };
                alts = inputs
                    .iter()
                    .flat_map(|b| {
                        if *t == Transform::Base64 {
                            vec![base64::engine::general_purpose::STANDARD.encode(b)]
                        } else {
                            base64_offsets(b)
                        }
                    })
                    .map(|s| SigmaStr::literal(&s))
                    .collect();
            }
        }
    }
    if let Some(b) = bytes {
        // UTF-16 without base64: match the decoded code units as text if they form valid UTF-8.
        alts = b
            .into_iter()
            .map(|b| {
                String::from_utf8(b)
                    .map(|s| SigmaStr::literal(&s))
                    .map_err(|_| "utf16 encoding without base64 yields non-text bytes".to_string())
            })
            .collect::<Result<_, _>>()?;
    }
    let pos = m.pos.or(default_pos);
    for mut a in alts {
        match pos {
            Some(StrKind::Contains) => {
                a.prepend_star();
                a.append_star();
            }
            Some(StrKind::Prefix) => a.append_star(),
            Some(StrKind::Suffix) => a.prepend_star(),
            Some(StrKind::Exact) | None => {}
        }
        let sm = a
            .compile(m.cased)
            .map_err(|e| format!("cannot compile wildcard pattern: {e}"))?;
        out.push(Matcher::Str(sm));
    }
    Ok(())
}

fn utf16(s: &str, t: Transform) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2 + 2);
    if t == Transform::Utf16Bom {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for u in s.encode_utf16() {
        if t == Transform::Utf16Be {
            out.extend_from_slice(&u.to_be_bytes());
        } else {
            out.extend_from_slice(&u.to_le_bytes());
        }
    }
    out
}

/// The three base64 forms of `b` as it may appear at any offset inside a longer encoded text
/// (the Sigma `base64offset` modifier).
fn base64_offsets(b: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    let mut out = Vec::with_capacity(3);
    for i in 0..3 {
        let mut padded = vec![b' '; i];
        padded.extend_from_slice(b);
        let enc = base64::engine::general_purpose::STANDARD.encode(&padded);
        let trim = END_TRIM[(b.len() + i) % 3];
        let end = enc.len().saturating_sub(trim);
        let start = START[i];
        if start < end {
            out.push(enc[start..end].to_string());
        }
    }
    out.dedup();
    out
}

/// Windows command-line dash variants: a `-` or `/` that starts a word is replaced (everywhere
/// at once) by each of `-`, `/`, en dash, em dash and horizontal bar.
fn windash_variants(s: &SigmaStr) -> Vec<SigmaStr> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    DASHES
        .iter()
        .map(|&d| {
            s.map_literals(|lit| {
                let chars: Vec<char> = lit.chars().collect();
                let mut out = String::with_capacity(lit.len());
                for (i, &c) in chars.iter().enumerate() {
                    let prev_word = i > 0 && is_word(chars[i - 1]);
                    let next_word = chars.get(i + 1).is_some_and(|&n| is_word(n));
                    if (c == '-' || c == '/') && !prev_word && next_word {
                        out.push(d);
                    } else {
                        out.push(c);
                    }
                }
                out
            })
        })
        .fold(Vec::new(), |mut acc, v| {
            if !acc.contains(&v) {
                acc.push(v);
            }
            acc
        })
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64offset_matches_pysigma() {
        // Values from the Sigma specification's example ("/bin/bash" style strings).
        let v = base64_offsets(b"/bin/bash");
        assert_eq!(v, vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]);
    }

    #[test]
    fn windash_expands() {
        let v = windash_variants(&SigmaStr::parse("-exec bypass"));
        assert_eq!(v.len(), 5);
        assert!(v.contains(&SigmaStr::parse("/exec bypass")));
        // A dash inside a word is left alone.
        let v = windash_variants(&SigmaStr::parse("a-b"));
        assert_eq!(v.len(), 1);
    }
}
