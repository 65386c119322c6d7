//! The built-in rules are embedded from `rules/` (`include_dir!`), which cargo does not watch on
//! its own: without this, a new or edited rule file would not reach a cached build.
fn main() {
    println!("cargo:rerun-if-changed=../../rules");
}
