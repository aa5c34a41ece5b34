//! The layers of `ARCHITECTURE.md`, held against the code: a top-level module may import
//! only the modules its row allows. The arrows that run the wrong way today are listed
//! by name below; a new one fails this test, and removing one means removing it here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What each top-level module may import (besides itself), bottom up.
const ALLOWED: &[(&str, &[&str])] = &[
    ("vocab", &[]),
    ("files", &[]),
    ("config", &["vocab", "files"]),
    ("journal", &["vocab", "files"]),
    ("status", &["vocab", "files", "journal", "config"]),
    ("probe", &["vocab", "config"]),
    ("rollup", &["vocab", "files", "probe"]),
    ("present", &["vocab", "config", "status"]),
    (
        "site",
        &[
            "vocab", "files", "config", "journal", "status", "rollup", "present",
        ],
    ),
    (
        "notify",
        &["vocab", "files", "config", "journal", "status", "present"],
    ),
    ("serve", &["vocab", "notify"]),
    (
        "monitor",
        &[
            "vocab", "files", "config", "journal", "status", "probe", "rollup", "present", "site",
            "notify",
        ],
    ),
    (
        "commands",
        &[
            "vocab", "files", "config", "journal", "status", "probe", "rollup", "present", "site",
            "notify", "monitor", "serve",
        ],
    ),
    (
        "demo",
        &[
            "vocab", "files", "config", "journal", "status", "probe", "rollup", "present", "site",
            "notify", "monitor", "serve", "commands",
        ],
    ),
];

/// Arrows known to run the wrong way, to be removed rather than added to:
/// (importer, imported).
const KNOWN: &[(&str, &str)] = &[
    // The daemon starts the HTTP front and answers its asks.
    ("monitor", "serve"),
];

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

/// Every `crate::<module>` a module's files name, by top-level module.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: BTreeSet<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
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
        if !modules.contains(top.as_str()) {
            continue; // lib.rs, main.rs
        }
        let text = std::fs::read_to_string(&file).expect("read");
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if modules.contains(name.as_str()) && name != top {
                found.entry(top.clone()).or_default().insert(name);
            }
        }
    }
    found
}

#[test]
fn no_module_imports_one_its_layer_may_not() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    let mut seen_known = BTreeSet::new();
    for (module, uses) in imports() {
        for used in uses {
            let ok = allowed
                .get(module.as_str())
                .is_some_and(|a| a.contains(&used.as_str()));
            if ok {
                continue;
            }
            if KNOWN.contains(&(module.as_str(), used.as_str())) {
                seen_known.insert((module.clone(), used));
                continue;
            }
            wrong.push(format!("{module} imports {used}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports ARCHITECTURE.md does not allow:\n{}",
        wrong.join("\n")
    );
    let gone: Vec<String> = KNOWN
        .iter()
        .filter(|(a, b)| !seen_known.contains(&(a.to_string(), b.to_string())))
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    assert!(
        gone.is_empty(),
        "these known wrong-way arrows are gone: remove them from KNOWN and ARCHITECTURE.md: {gone:?}"
    );
}
