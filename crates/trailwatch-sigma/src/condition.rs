//! The Sigma condition language: a tokenizer and a recursive-descent parser
//! (precedence: `not` > `and` > `or`), resolved against a rule's selection names.

use crate::error::RuleError;

/// A condition resolved to selection indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Sel(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    LParen,
    RParen,
    And,
    Or,
    Not,
    /// `1 of` / `any of`
    AnyOf,
    /// `all of`
    AllOf,
    Them,
    Ident(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, RuleError> {
    let mut cur = String::new();
    let mut start = 0;
    let mut out_raw: Vec<(Option<char>, String, usize)> = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '(' | ')' => {
                if !cur.is_empty() {
                    out_raw.push((None, std::mem::take(&mut cur), start));
                }
                out_raw.push((Some(c), String::new(), i));
            }
            '|' => return Err(RuleError::Unsupported(
                "aggregation expressions ('| count() ...') in conditions; use a correlation rule"
                    .into(),
            )),
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out_raw.push((None, std::mem::take(&mut cur), start));
                }
            }
            c => {
                if cur.is_empty() {
                    start = i;
                }
                cur.push(c);
            }
        }
    }
    if !cur.is_empty() {
        out_raw.push((None, cur, start));
    }
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < out_raw.len() {
        let (paren, word, pos) = &out_raw[i];
        i += 1;
        if let Some(p) = paren {
            tokens.push(if *p == '(' {
                Token::LParen
            } else {
                Token::RParen
            });
            continue;
        }
        let lower = word.to_ascii_lowercase();
        let tok = match lower.as_str() {
            "and" => Token::And,
            "or" => Token::Or,
            "not" => Token::Not,
            "them" => Token::Them,
            "1" | "any" | "all" => {
                let next_is_of =
                    matches!(out_raw.get(i), Some((None, w, _)) if w.eq_ignore_ascii_case("of"));
                if !next_is_of {
                    return Err(RuleError::ConditionSyntax(format!(
                        "expected 'of' after '{word}' at offset {pos}"
                    )));
                }
                i += 1;
                if lower == "all" {
                    Token::AllOf
                } else {
                    Token::AnyOf
                }
            }
            "of" => {
                return Err(RuleError::ConditionSyntax(format!(
                    "unexpected 'of' at offset {pos}"
                )))
            }
            _ => {
                if let Some(bad) = word
                    .chars()
                    .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '*' | '.' | '?')))
                {
                    return Err(RuleError::ConditionSyntax(format!(
                        "unexpected character '{bad}' in '{word}' at offset {pos}"
                    )));
                }
                Token::Ident(word.clone())
            }
        };
        tokens.push(tok);
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    names: &'a [String],
}

/// Parses `text` and resolves identifiers against the rule's selection `names`.
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Node, RuleError> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err(RuleError::ConditionSyntax("empty condition".into()));
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        names,
    };
    let node = p.or_expr(0)?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(RuleError::ConditionSyntax(format!(
            "unexpected {} after the end of the expression",
            describe(t)
        )));
    }
    Ok(node)
}

fn describe(t: &Token) -> String {
    match t {
        Token::LParen => "'('".into(),
        Token::RParen => "')'".into(),
        Token::And => "'and'".into(),
        Token::Or => "'or'".into(),
        Token::Not => "'not'".into(),
        Token::AnyOf => "'1 of'".into(),
        Token::AllOf => "'all of'".into(),
        Token::Them => "'them'".into(),
        Token::Ident(s) => format!("identifier '{s}'"),
    }
}

const MAX_DEPTH: usize = 64;

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or_expr(&mut self, depth: usize) -> Result<Node, RuleError> {
        if depth > MAX_DEPTH {
            return Err(RuleError::ConditionSyntax("nesting too deep".into()));
        }
        let mut items = vec![self.and_expr(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            items.push(self.and_expr(depth)?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn and_expr(&mut self, depth: usize) -> Result<Node, RuleError> {
        let mut items = vec![self.not_expr(depth)?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            items.push(self.not_expr(depth)?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Node::And(items)
        })
    }

    fn not_expr(&mut self, depth: usize) -> Result<Node, RuleError> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            if depth > MAX_DEPTH {
                return Err(RuleError::ConditionSyntax("nesting too deep".into()));
            }
            let inner = self.not_expr(depth + 1)?;
            return Ok(Node::Not(Box::new(inner)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Node, RuleError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(RuleError::ConditionSyntax(
                "unexpected end of condition".into(),
            ));
        };
        self.pos += 1;
        match tok {
            Token::LParen => {
                let inner = self.or_expr(depth + 1)?;
                if self.peek() != Some(&Token::RParen) {
                    return Err(RuleError::ConditionSyntax("missing ')'".into()));
                }
                self.pos += 1;
                Ok(inner)
            }
            Token::AnyOf | Token::AllOf => {
                let sels = match self.peek().cloned() {
                    Some(Token::Them) => {
                        self.pos += 1;
                        let v: Vec<usize> = (0..self.names.len())
                            .filter(|&i| !self.names[i].starts_with('_'))
                            .collect();
                        if v.is_empty() {
                            return Err(RuleError::ConditionSyntax(
                                "'them' but the rule has no selections".into(),
                            ));
                        }
                        v
                    }
                    Some(Token::Ident(pat)) => {
                        self.pos += 1;
                        let v = self.resolve_pattern(&pat);
                        if v.is_empty() {
                            return Err(RuleError::UndefinedIdentifier(pat));
                        }
                        v
                    }
                    other => {
                        return Err(RuleError::ConditionSyntax(format!(
                            "expected an identifier or 'them' after 'of', found {}",
                            other.map_or("the end".to_string(), |t| describe(&t))
                        )))
                    }
                };
                let nodes: Vec<Node> = sels.into_iter().map(Node::Sel).collect();
                Ok(if nodes.len() == 1 {
                    nodes.into_iter().next().unwrap_or(Node::Or(Vec::new()))
                } else if tok == Token::AllOf {
                    Node::And(nodes)
                } else {
                    Node::Or(nodes)
                })
            }
            Token::Ident(name) => {
                if name.contains('*') || name.contains('?') {
                    // A bare wildcard identifier is read as `1 of` (as legacy tools do).
                    let v = self.resolve_pattern(&name);
                    if v.is_empty() {
                        return Err(RuleError::UndefinedIdentifier(name));
                    }
                    return Ok(Node::Or(v.into_iter().map(Node::Sel).collect()));
                }
                match self.names.iter().position(|n| *n == name) {
                    Some(i) => Ok(Node::Sel(i)),
                    None => Err(RuleError::UndefinedIdentifier(name)),
                }
            }
            t => Err(RuleError::ConditionSyntax(format!(
                "unexpected {}",
                describe(&t)
            ))),
        }
    }

    fn resolve_pattern(&self, pat: &str) -> Vec<usize> {
        (0..self.names.len())
            .filter(|&i| glob(pat.as_bytes(), self.names[i].as_bytes()))
            .collect()
    }
}

/// Simple glob over identifier names (`*` any run, `?` one byte).
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn precedence() {
        let n = names(&["a", "b", "c"]);
        // not > and > or
        assert_eq!(
            parse("a or b and not c", &n).ok(),
            Some(Node::Or(vec![
                Node::Sel(0),
                Node::And(vec![Node::Sel(1), Node::Not(Box::new(Node::Sel(2)))])
            ]))
        );
        assert_eq!(
            parse("(a or b) and c", &n).ok(),
            Some(Node::And(vec![
                Node::Or(vec![Node::Sel(0), Node::Sel(1)]),
                Node::Sel(2)
            ]))
        );
    }

    #[test]
    fn quantifiers() {
        let n = names(&["sel_a", "sel_b", "filter", "_hidden"]);
        assert_eq!(
            parse("1 of sel_*", &n).ok(),
            Some(Node::Or(vec![Node::Sel(0), Node::Sel(1)]))
        );
        assert_eq!(
            parse("all of sel_*", &n).ok(),
            Some(Node::And(vec![Node::Sel(0), Node::Sel(1)]))
        );
        assert_eq!(
            parse("any of them", &n).ok(),
            Some(Node::Or(vec![Node::Sel(0), Node::Sel(1), Node::Sel(2)]))
        );
        assert_eq!(parse("1 of filter*", &n).ok(), Some(Node::Sel(2)));
    }

    #[test]
    fn errors() {
        let n = names(&["a"]);
        assert_eq!(
            parse("a and sel2", &n).err(),
            Some(RuleError::UndefinedIdentifier("sel2".into()))
        );
        assert!(matches!(
            parse("a and", &n),
            Err(RuleError::ConditionSyntax(_))
        ));
        assert!(matches!(
            parse("(a", &n),
            Err(RuleError::ConditionSyntax(_))
        ));
        assert!(matches!(
            parse("a)", &n),
            Err(RuleError::ConditionSyntax(_))
        ));
        assert!(matches!(parse("", &n), Err(RuleError::ConditionSyntax(_))));
        assert!(matches!(
            parse("a | count() > 5", &n),
            Err(RuleError::Unsupported(_))
        ));
        assert!(matches!(
            parse("1 of x*", &n),
            Err(RuleError::UndefinedIdentifier(_))
        ));
        assert!(matches!(
            parse("1 a", &n),
            Err(RuleError::ConditionSyntax(_))
        ));
        assert!(parse(&"(".repeat(500), &n).is_err());
        assert!(parse(&"not ".repeat(500), &n).is_err());
    }
}
