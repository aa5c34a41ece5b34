//! The layers of `ARCHITECTURE.md`, held against the code. The table under "Layers,
//! bottom up" is read from the file itself: each row names a top-level module and, in
//! its last column, the modules it may import. A module missing from the table, a cycle
//! among the rows, or a `crate::<module>` path a row does not allow fails this test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The table's rows: module → what it may import (backquoted names in the last column).
fn table() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = text
        .find("## Layers, bottom up")
        .expect("a \"Layers, bottom up\" section");
    let mut rows = BTreeMap::new();
    for line in text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Some(name) = cells
            .first()
            .and_then(|c| c.strip_prefix('`'))
            .and_then(|c| c.strip_suffix('`'))
        else {
            continue; // the header and its rule
        };
        let may: BTreeSet<String> = cells
            .last()
            .expect("a last column")
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        rows.insert(name.to_owned(), may);
    }
    assert!(rows.len() > 5, "the table was not found: {rows:?}");
    rows
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules under `src/` (lib.rs and main.rs aside).
fn modules() -> BTreeSet<String> {
    std::fs::read_dir(root().join("src"))
        .expect("src")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let module = if e.path().is_dir() {
                name
            } else {
                name.strip_suffix(".rs")?.to_owned()
            };
            (module != "lib" && module != "main").then_some(module)
        })
        .collect()
}

/// The modules a path names after `prefix` (`crate::`, `forewarn::`, or `super::` at
/// the top of a module): `prefix name` and every name of `prefix {a, b::c}`.
fn named_after(text: &str, prefix: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = Vec::new();
    for (i, _) in text.match_indices(prefix) {
        // `super::` inside `other_super::` or `crate::` inside `foo_crate::` is not ours.
        if text[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &text[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Names at the group's top level: after `{` and after each `,` at depth 0.
            let mut depth = 0;
            let mut start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start => {
                        names.push(ident(&group[j..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            names.push(ident(rest));
        }
    }
    names
}

/// Every module a top-level module's files name, by top-level module; `main.rs` is
/// listed as `main.rs`, with the library's modules it names as `forewarn::…`.
fn imports(modules: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&file).expect("read");
        let mut names = Vec::new();
        let owner = if top == "main" {
            names.extend(named_after(&text, "forewarn::"));
            "main.rs".to_owned()
        } else if modules.contains(&top) {
            names.extend(named_after(&text, "crate::"));
            // In `src/<m>.rs` or `src/<m>/mod.rs`, `super::` is the crate itself.
            let depth = rel.components().count();
            let is_mod_file = rel.file_name().is_some_and(|f| f == "mod.rs");
            if depth == 1 || (depth == 2 && is_mod_file) {
                names.extend(named_after(&text, "super::"));
            }
            top.clone()
        } else {
            continue; // lib.rs
        };
        for name in names {
            if modules.contains(&name) && name != owner {
                found.entry(owner.clone()).or_default().insert(name);
            }
        }
    }
    found
}

#[test]
fn every_module_has_a_row_and_the_rows_are_layers() {
    let table = table();
    let modules = modules();
    let missing: Vec<&String> = modules.iter().filter(|m| !table.contains_key(*m)).collect();
    assert!(
        missing.is_empty(),
        "modules without a row in ARCHITECTURE.md: {missing:?}"
    );
    let stale: Vec<&String> = table
        .keys()
        .filter(|m| !modules.contains(*m) && m.as_str() != "main.rs")
        .collect();
    assert!(
        stale.is_empty(),
        "rows for modules that are gone: {stale:?}"
    );
    // Layers: peel off, again and again, the modules that import nothing left.
    let mut left: BTreeMap<&String, BTreeSet<&String>> = table
        .iter()
        .map(|(m, may)| (m, may.iter().filter(|x| table.contains_key(*x)).collect()))
        .collect();
    while !left.is_empty() {
        let bottom: Vec<&String> = left
            .iter()
            .filter(|(_, may)| may.iter().all(|x| !left.contains_key(x)))
            .map(|(m, _)| *m)
            .collect();
        assert!(
            !bottom.is_empty(),
            "the table's rows import each other in a circle: {:?}",
            left.keys().collect::<Vec<_>>()
        );
        for m in bottom {
            left.remove(m);
        }
    }
}

#[test]
fn no_module_imports_one_its_row_does_not_allow() {
    let table = table();
    let mut wrong = Vec::new();
    for (module, uses) in imports(&modules()) {
        for used in uses {
            if !table.get(&module).is_some_and(|may| may.contains(&used)) {
                wrong.push(format!("{module} imports {used}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports ARCHITECTURE.md does not allow:\n{}",
        wrong.join("\n")
    );
}
