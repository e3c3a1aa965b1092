//! Folders made, opened and deleted through open directory descriptors, one name at a
//! time and never through a symbolic link (`O_NOFOLLOW`), for the data of stateful subs:
//! checking a path and then using it again by name would let a link planted in between
//! (anywhere along the path) send the data, or its deletion, somewhere else.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, open, openat};
use nix::sys::stat::{Mode, SFlag, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};

/// How folders are opened: for reading their entries, only if a real folder.
fn flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

/// Opens the folder at `path`; the last component must not be a link (`ELOOP` if it is,
/// `ENOTDIR` for a file).
pub(crate) fn open_dir(path: &Path) -> Result<OwnedFd, Errno> {
    open(path, flags(), Mode::empty()).map_err(|errno| match errno {
        Errno::ENOTDIR if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => {
            Errno::ELOOP
        }
        errno => errno,
    })
}

/// Opens folder `name` in `dir` (`ELOOP` for a link, `ENOTDIR` for a file).
pub(crate) fn open_in(dir: impl AsFd, name: &str) -> Result<OwnedFd, Errno> {
    openat(dir.as_fd(), name, flags(), Mode::empty()).map_err(|errno| match errno {
        // With `O_DIRECTORY`, Linux says a link is not a folder: tell the two apart.
        Errno::ENOTDIR if is_link_in(dir.as_fd(), name) => Errno::ELOOP,
        errno => errno,
    })
}

/// Whether `name` in `dir` is a symbolic link.
fn is_link_in(dir: impl AsFd, name: &str) -> bool {
    fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|stat| SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
}

/// Makes folder `name` in `dir` with `mode` unless something is there already, then opens
/// it (so a link or file there is an error from the open, never followed).
pub(crate) fn make_in(dir: impl AsFd, name: &str, mode: u32) -> Result<OwnedFd, Errno> {
    match mkdirat(dir.as_fd(), name, Mode::from_bits_truncate(mode)) {
        Ok(()) | Err(Errno::EEXIST) => open_in(dir, name),
        Err(errno) => Err(errno),
    }
}

/// Removes `name` from `dir`: a folder with everything in it, anything else (a link
/// included) just itself. Returns whether there was anything. Links below are removed,
/// never followed.
pub(crate) fn remove_in(dir: impl AsFd, name: &str) -> Result<bool, Errno> {
    match open_in(dir.as_fd(), name) {
        Ok(sub) => {
            empty(&sub)?;
            drop(sub);
            unlinkat(dir, name, UnlinkatFlags::RemoveDir)?;
            Ok(true)
        }
        Err(Errno::ENOTDIR | Errno::ELOOP) => {
            unlinkat(dir, name, UnlinkatFlags::NoRemoveDir)?;
            Ok(true)
        }
        Err(Errno::ENOENT) => Ok(false),
        Err(errno) => Err(errno),
    }
}

/// Removes everything in the open folder `dir`.
fn empty(dir: &OwnedFd) -> Result<(), Errno> {
    let copy = dir
        .try_clone()
        .map_err(|err| Errno::from_raw(err.raw_os_error().unwrap_or(0)))?;
    let names: Vec<String> = Dir::from_fd(copy)?
        .iter()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str().ok().map(str::to_owned))
        .filter(|name| name != "." && name != "..")
        .collect();
    for name in names {
        remove_in(dir, &name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_tree_removes_links_in_it_and_never_what_they_point_to() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("precious"), "keep me").unwrap();
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/f"), "x").unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), tree.join("a/link")).unwrap();
        let root = open_dir(dir.path()).unwrap();
        assert_eq!(remove_in(&root, "tree"), Ok(true));
        assert!(!tree.exists());
        assert_eq!(remove_in(&root, "tree"), Ok(false));
        assert!(elsewhere.path().join("precious").exists());
    }
}
