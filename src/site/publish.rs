//! Putting a built site in place so that readers never see a half-written page.
//!
//! A first build is written into a sibling folder and renamed into place. Later builds
//! replace only the files whose content changed, each atomically (written aside, then
//! renamed over the old one), pages before the lists that link to them, and remove the
//! files no longer made. The manifest records a digest of every file, so a rebuild by
//! another process (`forewarn build` over a live site, a daemon restarting) writes
//! only what changed without reading the site back.
//!
//! forewarn only ever replaces a folder it made: the site folder holds a
//! `.forewarn-site` file listing what forewarn wrote there, and a folder holding other
//! files is refused.

use std::collections::BTreeMap;
use std::fs;
use std::hash::{Hash, Hasher};
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

/// A file's digest as the manifest records it. It only tells a file from its last
/// version: should the standard library change its hash, every file is written once.
pub fn digest(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The digest of each file of a site, by path under its root.
pub type Digests = BTreeMap<String, u64>;

const MANIFEST_HEAD: &str =
    "# Written by forewarn: the files of the status site. Do not put other files here.\n";

fn manifest(digests: &Digests) -> Vec<u8> {
    manifest_of(digests.iter().map(|(rel, d)| (rel.as_str(), Some(*d))))
}

/// Manifest text: one file a line, with its digest when it is known.
fn manifest_of<'a>(files: impl Iterator<Item = (&'a str, Option<u64>)>) -> Vec<u8> {
    let mut text = String::from(MANIFEST_HEAD);
    for (rel, d) in files {
        text.push_str(rel);
        if let Some(d) = d {
            text.push('\t');
            text.push_str(&format!("{d:016x}"));
        }
        text.push('\n');
    }
    text.into_bytes()
}

/// The manifest's size and modification time: another process that builds the same
/// folder changes them.
pub fn manifest_stamp(out: &Path) -> Option<(u64, std::time::SystemTime)> {
    let m = fs::metadata(out.join(MANIFEST)).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// The files a previous build recorded, with their digests (`None` from a manifest
/// of an older version, which listed names only).
fn read_manifest(out: &Path) -> BTreeMap<String, Option<u64>> {
    fs::read_to_string(out.join(MANIFEST))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| match l.split_once('\t') {
            Some((rel, d)) => (rel.to_owned(), u64::from_str_radix(d, 16).ok()),
            None => (l.to_owned(), None),
        })
        .collect()
}

/// Build the whole site and put it in place; returns the digest of every file.
pub fn publish_all(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<Digests> {
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
    let digests: Digests = files.iter().map(|(k, v)| (k.clone(), digest(v))).collect();

    if fs::symlink_metadata(out).is_err() {
        // A first build: write it aside and rename it into place, whole.
        let fresh = parent.join(format!(".{name}.new-{}", std::process::id()));
        let all: Vec<(&String, &Vec<u8>)> = files.iter().collect();
        create_dirs(&fresh, files.keys())?;
        write_all(&fresh, &all, |p, bytes| {
            fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))
        })?;
        fs::write(fresh.join(MANIFEST), manifest(&digests))
            .with_context(|| format!("cannot write {}", fresh.join(MANIFEST).display()))?;
        fs::rename(&fresh, out)
            .with_context(|| format!("cannot put the site in {}", out.display()))?;
        return Ok(digests);
    }
    publish_in_place(out, files, &digests)?;
    Ok(digests)
}

/// Create the folders the files go in.
fn create_dirs<'a>(root: &Path, rels: impl Iterator<Item = &'a String>) -> anyhow::Result<()> {
    let mut dirs: Vec<PathBuf> = rels
        .filter_map(|rel| root.join(rel).parent().map(Path::to_path_buf))
        .collect();
    dirs.push(root.to_owned());
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    Ok(())
}

/// Write files under `root`, one after another: most go in one folder, and writers
/// on several threads only queue for that folder's lock (measured: slower).
fn write_all(
    root: &Path,
    files: &[(&String, &Vec<u8>)],
    write: impl Fn(&Path, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for (rel, bytes) in files {
        write(&root.join(rel), bytes)?;
    }
    Ok(())
}

/// Bring a live site up to date: write the files that differ from what its manifest
/// records (or that are missing), pages before the lists linking to them, then remove
/// the files no longer made.
fn publish_in_place(
    out: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    digests: &Digests,
) -> anyhow::Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let before = read_manifest(out);
    let changed: Vec<(&String, &Vec<u8>)> = files
        .iter()
        .filter(|(rel, _)| {
            let same = before.get(*rel).copied().flatten() == digests.get(*rel).copied();
            !same || fs::symlink_metadata(out.join(rel)).is_err()
        })
        .collect();
    let gone: Vec<&String> = before
        .keys()
        .filter(|rel| !files.contains_key(*rel))
        .collect();
    if changed.is_empty() && gone.is_empty() {
        return write_file(&out.join(MANIFEST), &manifest(digests));
    }
    // Until every file is in place the manifest lists old and new names, and no digest
    // for a file about to change: an interrupted build leaves nothing unlisted, and
    // nothing listed as already up to date.
    let mut interim: BTreeMap<&str, Option<u64>> =
        before.iter().map(|(rel, d)| (rel.as_str(), *d)).collect();
    for (rel, d) in digests {
        interim.entry(rel.as_str()).or_insert(Some(*d));
    }
    for (rel, _) in &changed {
        interim.insert(rel.as_str(), None);
    }
    write_file(&out.join(MANIFEST), &manifest_of(interim.into_iter()))?;
    create_dirs(out, changed.iter().map(|(rel, _)| *rel))?;
    let (pages, lists): (Vec<_>, Vec<_>) =
        changed.into_iter().partition(|(rel, _)| !leaf_first(rel).0);
    write_all(out, &pages, write_file)?;
    write_all(out, &lists, write_file)?;
    // A file that cannot be removed stays listed, to be removed by a later build.
    let mut kept: Vec<(&str, Option<u64>)> = Vec::new();
    for rel in gone {
        match fs::remove_file(out.join(rel)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %out.join(rel).display(), error = %e, "cannot remove a page the site no longer has");
                kept.push((rel.as_str(), None));
            }
        }
    }
    let all = digests
        .iter()
        .map(|(rel, d)| (rel.as_str(), Some(*d)))
        .chain(kept);
    let mut all: Vec<(&str, Option<u64>)> = all.collect();
    all.sort();
    write_file(&out.join(MANIFEST), &manifest_of(all.into_iter()))
}

/// Sort key putting pages before the lists and indexes that link to them.
pub fn leaf_first(rel: &str) -> (bool, &str) {
    // The shared stylesheet goes with the pages: they link to it.
    let stylesheet = rel.starts_with("style-") && rel.ends_with(".css");
    let leaf_page = (rel.contains('/') && !rel.starts_with("api/")) || stylesheet;
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

/// Record the files of the site and their digests (after an update).
pub fn write_manifest(out: &Path, digests: &Digests) -> anyhow::Result<()> {
    write_file(&out.join(MANIFEST), &manifest(digests))
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
        let err = publish_all(&out, &site(&[("index.html", "x")])).unwrap_err();
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
        )
        .unwrap();
        publish_all(&out, &site(&[("index.html", "two")])).unwrap();
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
        publish_all(&out, &site(&[("index.html", "x")])).unwrap();
        assert!(!leftover.exists());
        assert!(out.join(MANIFEST).is_file());
    }

    #[test]
    fn a_manifest_of_names_only_is_read_and_every_file_written_once() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("site");
        publish_all(
            &out,
            &site(&[("index.html", "x"), ("old.html", "gone soon")]),
        )
        .unwrap();
        // The manifest an older version wrote: names, no digests.
        fs::write(out.join(MANIFEST), "# old\nindex.html\nold.html\n").unwrap();
        let inode = || fs::metadata(out.join("index.html")).unwrap().ino();
        let before = inode();
        publish_all(&out, &site(&[("index.html", "x")])).unwrap();
        assert_ne!(
            inode(),
            before,
            "without a digest the file is written again"
        );
        assert!(
            !out.join("old.html").exists(),
            "old names are still removed"
        );
        let listed = read_manifest(&out);
        assert_eq!(listed.len(), 1);
        assert_eq!(listed["index.html"], Some(digest(b"x")));
        let again = inode();
        publish_all(&out, &site(&[("index.html", "x")])).unwrap();
        assert_eq!(
            inode(),
            again,
            "with its digest an unchanged file is left alone"
        );
    }
}
