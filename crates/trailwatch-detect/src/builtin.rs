//! The built-in rule pack: the Sigma files under the repository's `rules/`, embedded at build
//! time so that the binary detects without any rule directory.

use include_dir::{include_dir, Dir, File};

static RULES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../rules");

/// Every built-in rule file: (path under `rules/`, YAML text).
pub fn files() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    collect(&RULES, &mut out);
    out.sort();
    out
}

fn collect(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static str)>) {
    for f in dir.files() {
        if is_rule(f) {
            if let Some(text) = f.contents_utf8() {
                out.push((format!("builtin:{}", f.path().display()), text));
            }
        }
    }
    for d in dir.dirs() {
        collect(d, out);
    }
}

fn is_rule(f: &File<'_>) -> bool {
    matches!(
        f.path().extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    )
}
