//! Commands as words, and quoting them for a shell.
//!
//! Every word that came from the log is quoted when rendered, whatever it holds: quotes, `$(…)`,
//! backticks and newlines stay inert text, and control characters are shown as escapes.

use serde::Serialize;

/// A command line: words, each either fixed text of ours or a value taken from the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Cmd(pub Vec<Word>);

/// One word of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Word {
    /// Text written by trailwatch (`aws`, `iam`, `--user-name`).
    Lit(&'static str),
    /// Anything else: a value from the log or computed from it.
    Val(String),
}

impl Cmd {
    /// `aws <service> <op>` …
    pub fn aws(service: &'static str, op: &'static str) -> Cmd {
        Cmd(vec![Word::Lit("aws"), Word::Lit(service), Word::Lit(op)])
    }

    /// `az <words…>` (each a fixed word of ours) …
    pub fn az(words: &[&'static str]) -> Cmd {
        let mut c = Cmd(vec![Word::Lit("az")]);
        c.0.extend(words.iter().copied().map(Word::Lit));
        c
    }

    /// Adds a flag with a value.
    pub fn arg(mut self, flag: &'static str, value: impl Into<String>) -> Cmd {
        self.0.push(Word::Lit(flag));
        self.0.push(Word::Val(value.into()));
        self
    }

    /// Adds a flag with a fixed value of ours (written unquoted).
    pub fn opt(mut self, flag: &'static str, value: &'static str) -> Cmd {
        self.0.push(Word::Lit(flag));
        self.0.push(Word::Lit(value));
        self
    }

    /// Adds a flag without a value.
    pub fn flag(mut self, flag: &'static str) -> Cmd {
        self.0.push(Word::Lit(flag));
        self
    }

    /// Adds `--region R` when the region is known.
    pub fn region(self, region: Option<&str>) -> Cmd {
        match region {
            Some(r) => self.arg("--region", r),
            None => self,
        }
    }

    /// The command as one shell line, every value single-quoted.
    pub fn shell(&self) -> String {
        let words: Vec<String> = self
            .0
            .iter()
            .map(|w| match w {
                Word::Lit(s) => (*s).to_string(),
                Word::Val(v) => quote(v),
            })
            .collect();
        words.join(" ")
    }
}

/// `s` as one literal bash word (the one policy, [`trailwatch_escape::shell_word`]): single
/// quotes, or `$'…'` with hidden characters shown as escapes.
pub fn quote(s: &str) -> String {
    trailwatch_escape::shell_word(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_hostile_text_inert() {
        assert_eq!(quote("a'b"), "'a'\\''b'");
        assert_eq!(quote("$(id)`x`"), "'$(id)`x`'");
        assert_eq!(quote("a\x1b]8;;x\x07\n"), "$'a\\x1b]8;;x\\x07\\x0a'");
        let c = Cmd::aws("iam", "delete-user").arg("--user-name", "x'; rm -rf /");
        assert_eq!(
            c.shell(),
            "aws iam delete-user --user-name 'x'\\''; rm -rf /'"
        );
    }
}
