//! Where stateful subs keep their data: `.zeppelin/volumes/<sub>/<replica>/<volume>`, one
//! folder per replica and volume, so replica N always finds volume N again.
//!
//! The folders are made (mode 0700, like the tree above them, so other local users cannot
//! read the data) before a replica starts, and handed to it as `<NAME>_DIR`. Nothing in the
//! runtime deletes them: not `stop`, a restart, a crash, `run -d` or `scale` down. Only
//! [`delete_sub_data`] does, which the CLI calls for `zeppelin stop --delete-data SUB` once
//! a person (or `--yes`) confirmed it.
//!
//! Data never goes through a symbolic link: a link where one of these folders should be is
//! refused when a replica starts, is not followed when the data is measured, and only the
//! link itself goes when the data is deleted.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::fstatat;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zeppelin_core::Sub;
use zeppelin_core::status::VolumeStatus;

use crate::dirs;
use crate::error::Error;
use crate::paths::AppPaths;

/// The folder of one volume of one replica.
pub fn replica_dir(paths: &AppPaths, sub: &str, replica: u32, volume: &str) -> PathBuf {
    paths
        .volumes()
        .join(sub)
        .join(replica.to_string())
        .join(volume)
}

/// `<NAME>_DIR` and its folder for every volume of `sub`, for replica `replica`'s
/// environment.
pub(crate) fn env(paths: &AppPaths, sub: &Sub, replica: u32) -> Vec<(String, PathBuf)> {
    sub.volumes
        .values()
        .map(|v| (v.dir_var(), replica_dir(paths, &sub.name, replica, &v.name)))
        .collect()
}

/// What `ps` shows of a replica's volumes, before they are measured ([`measure`]).
pub(crate) fn statuses(paths: &AppPaths, sub: &Sub, replica: u32) -> Vec<VolumeStatus> {
    sub.volumes
        .values()
        .map(|v| VolumeStatus {
            name: v.name.clone(),
            path: replica_dir(paths, &sub.name, replica, &v.name)
                .display()
                .to_string(),
            bytes: None,
            bound: None,
            at_least: false,
        })
        .collect()
}

/// How much `ps` may look at to count the data: past it, the counts so far are shown as
/// "at least", so a huge data folder does not hold `ps` up.
pub(crate) struct Budget {
    entries: usize,
    until: Instant,
}

impl Budget {
    /// What one `ps` may spend on all volumes together.
    pub(crate) fn for_status() -> Self {
        Self::new(MEASURE_ENTRIES, MEASURE_TIME)
    }

    pub(crate) fn new(entries: usize, time: Duration) -> Self {
        Self {
            entries,
            until: Instant::now() + time,
        }
    }

    /// Takes one entry; `false` once the budget is spent.
    fn spend(&mut self) -> bool {
        if self.entries == 0 || Instant::now() >= self.until {
            return false;
        }
        self.entries -= 1;
        true
    }
}

/// Files and folders one `ps` looks at, at most, to count the data.
const MEASURE_ENTRIES: usize = 200_000;
/// How long one `ps` spends counting the data, at most.
const MEASURE_TIME: Duration = Duration::from_secs(2);
/// No time limit, for the size shown before a deletion (a century, which `Instant` adds
/// without overflow).
const UNBOUNDED: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Fills in how many bytes each volume holds, within `budget` (a volume counted only in
/// part is marked `at_least`); a folder that does not exist (yet) has none.
pub(crate) fn measure(volumes: &mut [VolumeStatus], budget: &mut Budget) {
    for volume in volumes {
        let (bytes, complete) = size_within(Path::new(&volume.path), budget);
        volume.bytes = Some(bytes);
        volume.at_least = !complete;
    }
}

/// Makes the folders of every volume of replica `replica` of `sub` that do not exist yet,
/// each only this user can use; existing folders are kept as they are. Each folder is made
/// and opened inside the one above it, never through a link: a symbolic link or a file on
/// the way is an error, since the data would end up somewhere else.
pub(crate) fn prepare(paths: &AppPaths, sub: &Sub, replica: u32) -> Result<(), Error> {
    match std::fs::DirBuilder::new().mode(0o700).create(&paths.state) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(Error::Write {
                path: paths.state.clone(),
                source,
            });
        }
    }
    let state = dirs::open_dir(&paths.state).map_err(|e| dir_error(&paths.state, e, true))?;
    let mut path = paths.state.clone();
    let make = |dir: &OwnedFd, name: &str, path: &mut PathBuf| {
        path.push(name);
        dirs::make_in(dir, name, 0o700).map_err(|e| dir_error(path, e, true))
    };
    let volumes = make(&state, "volumes", &mut path)?;
    let sub_dir = make(&volumes, &sub.name, &mut path)?;
    let replica_dir = make(&sub_dir, &replica.to_string(), &mut path)?;
    for volume in sub.volumes.values() {
        make(&replica_dir, &volume.name, &mut path.clone())?;
    }
    Ok(())
}

/// `.zeppelin/volumes`, each step opened without following a link; `None` when either
/// does not exist. The one way in to the data for reading and deleting it.
fn open_volumes(paths: &AppPaths) -> Result<Option<OwnedFd>, Error> {
    let state = match dirs::open_dir(&paths.state) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(errno) => return Err(dir_error(&paths.state, errno, false)),
    };
    match dirs::open_in(&state, "volumes") {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(errno) => Err(dir_error(&paths.volumes(), errno, false)),
    }
}

/// What failing to open (or make, when `writing`) the folder `path` means.
fn dir_error(path: &Path, errno: Errno, writing: bool) -> Error {
    let path = path.to_path_buf();
    match errno {
        Errno::ELOOP => Error::LinkedData { path },
        Errno::ENOTDIR => Error::Write {
            path,
            source: std::io::Error::new(ErrorKind::NotADirectory, "a file is in the way"),
        },
        errno if writing => Error::Write {
            path,
            source: errno.into(),
        },
        errno => Error::Read {
            path,
            source: errno.into(),
        },
    }
}

/// The data a sub left on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubData {
    /// `.zeppelin/volumes/<sub>`.
    pub path: PathBuf,
    /// The bytes its files hold.
    pub bytes: u64,
}

/// The data of `sub` on disk, if there is any: whatever is at `.zeppelin/volumes/<sub>`
/// (a link placed there counts, with nothing in it, since it is not followed).
pub fn sub_data(paths: &AppPaths, sub: &str) -> Result<Option<SubData>, Error> {
    let path = sub_path(paths, sub)?;
    let Some(volumes) = open_volumes(paths)? else {
        return Ok(None);
    };
    match fstatat(&volumes, sub, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(_) => Ok(Some(SubData {
            bytes: size(&path),
            path,
        })),
        Err(Errno::ENOENT) => Ok(None),
        Err(errno) => Err(Error::Read {
            path,
            source: errno.into(),
        }),
    }
}

/// Deletes the data of `sub`: the folder `.zeppelin/volumes/<sub>` and everything in it,
/// through open folders, never following a link (a link placed there, or at
/// `.zeppelin/volumes`, is not followed; one in the sub's place is removed, not what it
/// points to). Returns whether there was anything to delete. The caller stops the sub's
/// replicas first.
pub fn delete_sub_data(paths: &AppPaths, sub: &str) -> Result<bool, Error> {
    let path = sub_path(paths, sub)?;
    let Some(volumes) = open_volumes(paths)? else {
        return Ok(false);
    };
    dirs::remove_in(&volumes, sub).map_err(|errno| Error::Delete {
        path,
        source: errno.into(),
    })
}

/// The data of a replica that does not run: one scaled down, or of a sub that left the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptReplica {
    pub sub: String,
    pub replica: u32,
    /// `.zeppelin/volumes/<sub>/<replica>`.
    pub path: PathBuf,
    pub bytes: u64,
    /// `bytes` is a lower bound (counting stopped early).
    pub at_least: bool,
}

/// The replica folders under `.zeppelin/volumes` that no running replica uses: those of
/// `sub` from `running[sub]` up, and all of a sub not in `running`; what `ps` lists as kept
/// (as `ps --k8s` lists the claims of replicas that are gone). Links are skipped.
pub fn kept_replicas(paths: &AppPaths, running: &BTreeMap<String, u32>) -> Vec<KeptReplica> {
    let mut budget = Budget::for_status();
    let mut kept = Vec::new();
    if !matches!(open_volumes(paths), Ok(Some(_))) {
        return kept;
    }
    for (sub, sub_dir) in real_subfolders(&paths.volumes()) {
        let from = running.get(&sub).copied().unwrap_or(0);
        let mut replicas: Vec<(u32, PathBuf)> = real_subfolders(&sub_dir)
            .into_iter()
            .filter_map(|(name, dir)| Some((name.parse().ok()?, dir)))
            .filter(|(replica, _)| *replica >= from)
            .collect();
        replicas.sort();
        for (replica, path) in replicas {
            let (bytes, complete) = size_within(&path, &mut budget);
            kept.push(KeptReplica {
                sub: sub.clone(),
                replica,
                path,
                bytes,
                at_least: !complete,
            });
        }
    }
    kept
}

/// The real folders (not links) in `dir`, by name, sorted.
fn real_subfolders(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .collect();
    found.sort();
    found
}

/// `.zeppelin/volumes/<sub>`, for a name that is a sub name: a DNS label cannot climb out
/// of the folder (`..`, `/`).
fn sub_path(paths: &AppPaths, sub: &str) -> Result<PathBuf, Error> {
    match zeppelin_core::names::dns_label_problem(sub) {
        Some(problem) => Err(Error::BadSubName {
            sub: sub.to_owned(),
            problem,
        }),
        None => Ok(paths.volumes().join(sub)),
    }
}

/// The bytes the files under `path` hold (their lengths), without following links: cheap
/// enough for `ps`, and the same on every file system. What cannot be read counts nothing.
pub fn size(path: &Path) -> u64 {
    size_within(path, &mut Budget::new(usize::MAX, UNBOUNDED)).0
}

/// [`size`] within `budget`: the bytes counted, and whether that is all of them.
fn size_within(path: &Path, budget: &mut Budget) -> (u64, bool) {
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(path) = pending.pop() {
        if !budget.spend() {
            return (total, false);
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() {
            total += meta.len();
        } else if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(&path)
        {
            pending.extend(entries.filter_map(Result::ok).map(|e| e.path()));
        }
    }
    (total, true)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn stateful(name: &str) -> Sub {
        let app = zeppelin_core::parse(
            &format!(
                "name = \"t\"\n[sub.{name}]\nrun = \"x\"\nvolumes = {{ data = {{ path = \"/data\" }}, cache-files = {{ path = \"/cache\" }} }}\n"
            ),
            Path::new("/app/zeppelin.toml"),
        )
        .unwrap();
        app.subs[name].clone()
    }

    #[test]
    fn each_replica_gets_a_private_folder_per_volume() {
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths::new(dir.path());
        let db = stateful("db");
        prepare(&paths, &db, 1).unwrap();
        let vars = env(&paths, &db, 1);
        assert_eq!(
            vars,
            vec![
                (
                    "CACHE_FILES_DIR".to_owned(),
                    dir.path().join(".zeppelin/volumes/db/1/cache-files")
                ),
                (
                    "DATA_DIR".to_owned(),
                    dir.path().join(".zeppelin/volumes/db/1/data")
                ),
            ]
        );
        for folder in [
            ".zeppelin",
            ".zeppelin/volumes",
            ".zeppelin/volumes/db",
            ".zeppelin/volumes/db/1",
            ".zeppelin/volumes/db/1/data",
        ] {
            let mode = std::fs::metadata(dir.path().join(folder))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{folder}");
        }
    }

    #[test]
    fn a_link_in_place_of_a_folder_is_refused_and_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("precious"), "keep me").unwrap();
        let paths = AppPaths::new(dir.path());
        std::fs::create_dir_all(paths.volumes()).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), paths.volumes().join("db")).unwrap();
        let err = prepare(&paths, &stateful("db"), 0).unwrap_err();
        assert!(matches!(err, Error::LinkedData { .. }), "{err}");
        let data = sub_data(&paths, "db").unwrap().unwrap();
        assert_eq!(data.bytes, 0, "the link is not followed");
        assert!(delete_sub_data(&paths, "db").unwrap());
        assert!(!paths.volumes().join("db").exists());
        assert!(elsewhere.path().join("precious").exists());
    }

    #[test]
    fn measuring_stops_at_its_budget_and_says_at_least() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..10 {
            std::fs::write(dir.path().join(i.to_string()), "x").unwrap();
        }
        let volume = || VolumeStatus {
            name: "data".into(),
            path: dir.path().display().to_string(),
            bytes: None,
            bound: None,
            at_least: false,
        };
        let mut all = [volume()];
        measure(&mut all, &mut Budget::for_status());
        assert_eq!((all[0].bytes, all[0].at_least), (Some(10), false));
        // The folder itself and five files.
        let mut part = [volume(), volume()];
        measure(&mut part, &mut Budget::new(6, Duration::from_secs(60)));
        assert_eq!((part[0].bytes, part[0].at_least), (Some(5), true));
        assert_eq!(
            (part[1].bytes, part[1].at_least),
            (Some(0), true),
            "the budget is shared"
        );
    }

    #[test]
    fn a_link_at_the_volumes_folder_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(elsewhere.path().join("db/0/data")).unwrap();
        std::fs::write(elsewhere.path().join("db/0/data/precious"), "keep me").unwrap();
        let paths = AppPaths::new(dir.path());
        std::fs::create_dir_all(&paths.state).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), paths.volumes()).unwrap();
        for err in [
            delete_sub_data(&paths, "db").unwrap_err(),
            sub_data(&paths, "db").unwrap_err(),
            prepare(&paths, &stateful("db"), 0).unwrap_err(),
        ] {
            assert!(
                matches!(&err, Error::LinkedData { path } if *path == paths.volumes()),
                "{err}"
            );
        }
        assert!(elsewhere.path().join("db/0/data/precious").exists());
        assert!(!elsewhere.path().join("db/0/cache-files").exists());
    }

    #[test]
    fn deleting_takes_the_whole_sub_and_only_it() {
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths::new(dir.path());
        for sub in ["db", "cache"] {
            prepare(&paths, &stateful(sub), 0).unwrap();
            std::fs::write(replica_dir(&paths, sub, 0, "data").join("f"), "12345").unwrap();
        }
        assert_eq!(sub_data(&paths, "db").unwrap().unwrap().bytes, 5);
        assert!(delete_sub_data(&paths, "db").unwrap());
        assert!(!delete_sub_data(&paths, "db").unwrap(), "nothing left");
        assert_eq!(sub_data(&paths, "db").unwrap(), None);
        assert_eq!(sub_data(&paths, "cache").unwrap().unwrap().bytes, 5);
        for bad in ["..", "a/b", "", "../volumes"] {
            assert!(matches!(
                delete_sub_data(&paths, bad),
                Err(Error::BadSubName { .. })
            ));
        }
    }

    #[test]
    fn kept_replicas_are_those_past_the_running_count_and_of_subs_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths::new(dir.path());
        for replica in 0..3 {
            prepare(&paths, &stateful("db"), replica).unwrap();
        }
        prepare(&paths, &stateful("old"), 0).unwrap();
        std::fs::write(replica_dir(&paths, "db", 2, "data").join("f"), "123").unwrap();
        let running = BTreeMap::from([("db".to_owned(), 2)]);
        let kept: Vec<(String, u32, u64)> = kept_replicas(&paths, &running)
            .into_iter()
            .map(|k| (k.sub, k.replica, k.bytes))
            .collect();
        assert_eq!(kept, [("db".to_owned(), 2, 3), ("old".to_owned(), 0, 0)]);
    }

    #[test]
    fn size_counts_file_bytes_and_skips_links() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("big"), vec![0u8; 10_000]).unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("one"), "1").unwrap();
        std::fs::write(dir.path().join("a/b/three"), "333").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("a/out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("big"), dir.path().join("big")).unwrap();
        assert_eq!(size(dir.path()), 4);
        assert_eq!(size(&dir.path().join("missing")), 0);
    }
}
