//! The layer table of the documentation, rendered from the layer definitions. The README and the facade's crate
//! documentation hold copies between `<!-- layers -->` markers; a test checks that they match (and rewrites them
//! with `NN_UPDATE_DOCS=1 cargo test -p nn-dsl-macros`).

use crate::args::{usage, Args};
use crate::layers;

/// The Markdown table of every layer kind: how it is written, its arguments, its options and shape rule.
#[cfg_attr(not(test), allow(dead_code))]
pub fn layer_table() -> String {
    let mut out = String::from("| layer | arguments | options (default) | shape |\n|---|---|---|---|\n");
    for kind in layers::all() {
        let mut args = Args::describe(kind.name());
        kind.check(&mut args, &crate::shape::Shape::Unknown);
        let slots = args.slots();
        let doc = kind.doc();
        let defaults: Vec<String> = slots
            .iter()
            .filter(|s| s.positional)
            .filter_map(|s| s.default.as_ref().map(|d| format!("`{}` = {d}", s.name)))
            .collect();
        let mut arguments = doc.arguments.to_string();
        if !defaults.is_empty() {
            arguments = format!("{arguments} ({})", defaults.join(", ")).trim_start().to_string();
        }
        let options: Vec<String> = slots
            .iter()
            .filter(|s| !s.positional)
            .map(|s| format!("`{} = {}`", s.name, s.default.as_deref().unwrap_or("...").trim_matches('`')))
            .collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            usage(kind.name(), slots),
            arguments,
            options.join(", "),
            doc.shape
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::layer_table;
    use std::path::Path;

    const START: &str = "<!-- layers -->";
    const END: &str = "<!-- /layers -->";

    /// The text between the markers of `file` (each line without `prefix`), and the file with it replaced by
    /// `table`.
    fn section(file: &Path, prefix: &str, table: &str) -> (String, String) {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let start = text.find(START).unwrap_or_else(|| panic!("{} has no {START} marker", file.display()));
        let end = text.find(END).unwrap_or_else(|| panic!("{} has no {END} marker", file.display()));
        let body_start = text[start..].find('\n').map(|i| start + i + 1).expect("a line break after the marker");
        let body_end = text[..end].rfind('\n').map(|i| i + 1).expect("a line before the end marker");
        let current: String = text[body_start..body_end]
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix(prefix).unwrap_or(l).trim_end()))
            .collect();
        let wanted: String = table.lines().map(|l| format!("{prefix}{l}\n")).collect();
        let updated = format!("{}{wanted}{}", &text[..body_start], &text[body_end..]);
        (current, updated)
    }

    #[test]
    fn the_layer_tables_of_the_readme_and_the_crate_docs_are_the_definitions() {
        let table = layer_table();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for (file, prefix) in [(root.join("README.md"), ""), (root.join("src/lib.rs"), "//! ")] {
            let (current, updated) = section(&file, prefix, &table);
            if std::env::var_os("NN_UPDATE_DOCS").is_some() {
                std::fs::write(&file, updated).expect("writable");
                continue;
            }
            assert_eq!(
                current,
                table,
                "{}: the layer table differs from the layer definitions; run `NN_UPDATE_DOCS=1 cargo test -p \
                 nn-macros` to rewrite it",
                file.display()
            );
        }
    }
}
