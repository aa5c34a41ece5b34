//! Writing a file so that no reader ever sees half of it: the bytes go to a temporary
//! file beside it, which is then renamed over it. One rule for how durable that is:
//!
//! - [`Durability::Durable`] for what would be lost in a crash (a message written for a
//!   subscriber, the hour of samples in progress, an operator's incident file): the file
//!   is synced before the rename, and its folder after.
//! - [`Durability::Rebuildable`] for what is made again from the journal (the status
//!   site's pages): no sync, since thousands of pages may be written at once.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// How hard a write insists on reaching the disk before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Durable,
    Rebuildable,
}

/// Replace `path` with `bytes` at once, creating its folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    // Hidden, and named for this process: a crash leaves a dot-file, and two processes
    // never write into the same temporary file.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if durability == Durability::Durable {
            f.sync_all()?;
        }
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
        return written;
    }
    if durability == Durability::Durable {
        // The rename itself is durable once the folder is synced; a folder that cannot
        // be opened for that (some file systems) leaves the file written all the same.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/page.html");
        write_atomic(&path, b"first", Durability::Rebuildable).unwrap();
        write_atomic(&path, b"second", Durability::Durable).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let names: Vec<String> = fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["page.html"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("target");
        std::fs::create_dir(&path).unwrap(); // a folder cannot be replaced by a file
        assert!(write_atomic(&path, b"x", Durability::Durable).is_err());
        assert!(path.is_dir());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
