//! Putting a built site in place so that readers never see a half-written page.
//!
//! A full build is written into a sibling folder and exchanged with the live one in a
//! single atomic rename (Linux `renameat2(RENAME_EXCHANGE)`). Where the live folder
//! cannot be swapped (a mount point, a symbolic link to the served folder, a system
//! without the exchange), the files are replaced one by one instead, each atomically.
//! An update after an event rewrites only the files whose content changed, pages first
//! and the lists that link to them last.
//!
//! forewarn only ever replaces a folder it made: the site folder holds a
//! `.forewarn-site` file listing what forewarn wrote there, and a folder holding other
//! files is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::files::{Durability, write_atomic};
use anyhow::{Context, bail};

/// Marks a folder as a forewarn site and lists the files forewarn wrote in it.
pub const MANIFEST: &str = ".forewarn-site";
/// Files a project keeps in an output folder that a build must not drop.
const KEEP: &[&str] = &["README.md", ".gitkeep", ".gitignore"];

/// Write `path` atomically; pages are made again from the journal, so they are not
/// synced (see [`crate::files`]).
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic(path, bytes, Durability::Rebuildable)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Refuse a folder that holds anything forewarn did not put there.
pub fn check_ownership(out: &Path) -> anyhow::Result<()> {
    let Ok(entries) = fs::read_dir(out) else {
        return Ok(()); // absent (or unreadable, which writing will report)
    };
    if out.join(MANIFEST).is_file() {
        return Ok(());
    }
    let foreign: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !KEEP.contains(&n.as_str()))
        .take(3)
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    bail!(
        "{} holds files forewarn did not make ({}…); a full build replaces the folder's content, so choose an empty folder for the site",
        out.display(),
        foreign.join(", ")
    )
}

fn manifest(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut text = String::from(
        "# Written by forewarn: the files of the status site. Do not put other files here.\n",
    );
    for rel in files.keys() {
        text.push_str(rel);
        text.push('\n');
    }
    text.into_bytes()
}

fn read_manifest(out: &Path) -> BTreeSet<String> {
    fs::read_to_string(out.join(MANIFEST))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Build the whole site and put it in place. A file whose content is already live
/// (`unchanged` says so) is hard-linked instead of written again.
pub fn publish_all(
    out: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    unchanged: &(dyn Fn(&str, &[u8]) -> bool + Sync),
) -> anyhow::Result<()> {
    check_ownership(out)?;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let name = out
        .file_name()
        .map_or_else(|| "site".to_owned(), |n| n.to_string_lossy().into_owned());
    remove_leftovers(parent, &name);

    let is_link = fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        return publish_in_place(out, files);
    }
    let fresh = parent.join(format!(".{name}.new-{}", std::process::id()));
    write_tree(&fresh, out, files, unchanged)?;
    for keep in KEEP {
        let old = out.join(keep);
        if old.is_file() {
            let _ = fs::copy(&old, fresh.join(keep));
        }
    }
    if !out.exists() {
        return fs::rename(&fresh, out)
            .with_context(|| format!("cannot put the site in {}", out.display()));
    }
    match exchange(&fresh, out) {
        Ok(()) => {
            // `fresh` now holds the previous site.
            fs::remove_dir_all(&fresh)
                .with_context(|| format!("cannot remove the previous site in {}", fresh.display()))
        }
        Err(e) => {
            tracing::debug!(error = %e, out = %out.display(), "the site folder cannot be swapped; replacing its files one by one");
            let _ = fs::remove_dir_all(&fresh);
            publish_in_place(out, files)
        }
    }
}

/// Write every file into `dir` (new), linking those unchanged from `live`.
fn write_tree(
    dir: &Path,
    live: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    unchanged: &(dyn Fn(&str, &[u8]) -> bool + Sync),
) -> anyhow::Result<()> {
    let mut dirs: Vec<PathBuf> = files
        .keys()
        .filter_map(|rel| dir.join(rel).parent().map(Path::to_path_buf))
        .collect();
    dirs.push(dir.to_owned());
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let entries: Vec<(&String, &Vec<u8>)> = files.iter().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let chunk = entries.len().div_ceil(threads).max(1);
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = entries
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || -> anyhow::Result<()> {
                    for (rel, bytes) in part {
                        let p = dir.join(rel);
                        if unchanged(rel, bytes) && fs::hard_link(live.join(rel), &p).is_ok() {
                            continue;
                        }
                        fs::write(&p, bytes)
                            .with_context(|| format!("cannot write {}", p.display()))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a writing thread failed"))??;
        }
        Ok(())
    })?;
    fs::write(dir.join(MANIFEST), manifest(files))
        .with_context(|| format!("cannot write {}", dir.join(MANIFEST).display()))
}

/// Replace the live folder's files one by one (each atomically) and remove the files a
/// previous build wrote that this one does not.
fn publish_in_place(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let before = read_manifest(out);
    let mut ordered: Vec<(&String, &Vec<u8>)> = files.iter().collect();
    ordered.sort_by_key(|(k, _)| leaf_first(k));
    for (rel, bytes) in ordered {
        let p = out.join(rel);
        if fs::read(&p).is_ok_and(|old| old == **bytes) {
            continue;
        }
        write_file(&p, bytes)?;
    }
    write_file(&out.join(MANIFEST), &manifest(files))?;
    for gone in before.iter().filter(|rel| !files.contains_key(*rel)) {
        let _ = fs::remove_file(out.join(gone));
    }
    Ok(())
}

/// Sort key putting pages before the lists and indexes that link to them.
pub fn leaf_first(rel: &str) -> (bool, &str) {
    let leaf_page = rel.contains('/') && !rel.starts_with("api/");
    (!leaf_page, rel)
}

/// Sibling folders left by builds that were interrupted.
fn remove_leftovers(parent: &Path, name: &str) {
    let prefix = format!(".{name}.new-");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && e.path().join(MANIFEST).is_file() {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> anyhow::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes()).context("a path holds a NUL byte")?;
    let cb = CString::new(b.as_os_str().as_bytes()).context("a path holds a NUL byte")?;
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot swap in the new site at {}", b.display()))
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, b: &Path) -> anyhow::Result<()> {
    bail!("{}: no atomic folder exchange on this system", b.display())
}

/// Record the files of the site (after an update added some).
pub fn write_manifest<'a>(
    out: &Path,
    files: impl Iterator<Item = &'a String>,
) -> anyhow::Result<()> {
    let mut text = String::from(
        "# Written by forewarn: the files of the status site. Do not put other files here.\n",
    );
    let mut all: Vec<&String> = files.collect();
    all.sort();
    for rel in all {
        text.push_str(rel);
        text.push('\n');
    }
    write_file(&out.join(MANIFEST), text.as_bytes())
}

/// Rewrite the given files in place, each atomically, in the order given.
pub fn publish_some(out: &Path, files: &[(&String, &Vec<u8>)]) -> anyhow::Result<()> {
    for (rel, bytes) in files {
        write_file(&out.join(rel), bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_folder_with_other_files_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("www");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join("forewarn.toml"), "precious").unwrap();
        let err = publish_all(&out, &site(&[("index.html", "x")]), &|_, _| false).unwrap_err();
        assert!(
            err.to_string()
                .contains("holds files forewarn did not make (forewarn.toml"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(out.join("forewarn.toml")).unwrap(),
            "precious"
        );
    }

    #[test]
    fn a_symlinked_folder_is_filled_in_place_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("served");
        fs::create_dir_all(&target).unwrap();
        let out = dir.path().join("site");
        std::os::unix::fs::symlink(&target, &out).unwrap();
        publish_all(
            &out,
            &site(&[("index.html", "one"), ("old.html", "gone soon")]),
            &|_, _| false,
        )
        .unwrap();
        publish_all(&out, &site(&[("index.html", "two")]), &|_, _| false).unwrap();
        assert!(fs::symlink_metadata(&out).unwrap().file_type().is_symlink());
        assert_eq!(
            fs::read_to_string(target.join("index.html")).unwrap(),
            "two"
        );
        assert!(
            !target.join("old.html").exists(),
            "files of the previous build are removed"
        );
    }

    #[test]
    fn leftovers_of_an_interrupted_build_are_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("site");
        let leftover = dir.path().join(".site.new-999999");
        fs::create_dir_all(&leftover).unwrap();
        fs::write(leftover.join(MANIFEST), "").unwrap();
        publish_all(&out, &site(&[("index.html", "x")]), &|_, _| false).unwrap();
        assert!(!leftover.exists());
        assert!(out.join(MANIFEST).is_file());
    }
}
