//! Putting a built site in place so that readers never see a half-written page.
//!
//! A full build is written into a sibling folder and exchanged with the live one in a
//! single atomic rename (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere two renames).
//! An update after an event rewrites only the files whose content changed, each one
//! written aside and renamed over the old (atomic per file), pages first and the lists
//! that link to them last.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Files the project keeps in an output folder that a build must not drop.
const KEEP: &[&str] = &["README.md", ".gitkeep", ".gitignore"];

/// Write `path` atomically: a temporary file beside it, then a rename.
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut f =
        fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(f);
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// Build the whole site beside `out` and swap it in. A file whose content is already
/// live (`unchanged` says so, or it reads the same) is hard-linked instead of written
/// again: less work for the disk, same result.
pub fn publish_all(
    out: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    unchanged: &(dyn Fn(&str, &[u8]) -> bool + Sync),
) -> anyhow::Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let name = out
        .file_name()
        .map_or_else(|| "site".to_owned(), |n| n.to_string_lossy().into_owned());
    let fresh = parent.join(format!(".{name}.new-{}", std::process::id()));
    if fresh.exists() {
        fs::remove_dir_all(&fresh).with_context(|| format!("cannot clear {}", fresh.display()))?;
    }
    let mut dirs: Vec<PathBuf> = files
        .keys()
        .filter_map(|rel| fresh.join(rel).parent().map(Path::to_path_buf))
        .collect();
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
                let fresh = &fresh;
                s.spawn(move || -> anyhow::Result<()> {
                    for (rel, bytes) in part {
                        let live = out.join(rel);
                        let p = fresh.join(rel);
                        if unchanged(rel, bytes) && fs::hard_link(&live, &p).is_ok() {
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
    exchange(&fresh, out)?;
    // `fresh` now holds the previous site.
    fs::remove_dir_all(&fresh)
        .with_context(|| format!("cannot remove the previous site in {}", fresh.display()))
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
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if matches!(err.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
        return swap_by_two_renames(a, b);
    }
    Err(err).with_context(|| format!("cannot swap in the new site at {}", b.display()))
}

#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> anyhow::Result<()> {
    swap_by_two_renames(a, b)
}

/// Where an atomic exchange is not available: old out of the way, new in. Readers may
/// briefly find no site, never a mixed one.
fn swap_by_two_renames(fresh: &Path, out: &Path) -> anyhow::Result<()> {
    let aside: PathBuf = out.with_extension("old-swap");
    fs::rename(out, &aside).with_context(|| format!("cannot move {} aside", out.display()))?;
    fs::rename(fresh, out).with_context(|| format!("cannot put the site in {}", out.display()))?;
    fs::rename(&aside, fresh).with_context(|| format!("cannot move {} back", aside.display()))
}

/// Rewrite the given files in place, each atomically, in the order given.
pub fn publish_some(out: &Path, files: &[(&String, &Vec<u8>)]) -> anyhow::Result<()> {
    for (rel, bytes) in files {
        write_file(&out.join(rel), bytes)?;
    }
    Ok(())
}
