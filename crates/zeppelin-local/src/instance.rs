//! One supervisor per app: a lock in `.zeppelin/` held for the supervisor's whole life.
//!
//! A killed supervisor releases its lock with its death, so a lock that can be taken means
//! whatever is left (socket, pid file, recorded process groups, marked processes) is stale:
//! it is cleaned, and the processes killed, before anything new starts. A held lock is never
//! taken over.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::DirBuilderExt;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::error::Error;
use crate::paths::AppPaths;
use crate::sweep::{self, Marked};

/// The right to run the app's supervisor, released on drop (or death).
pub(crate) struct Instance {
    _lock: Flock<File>,
    paths: AppPaths,
}

impl Instance {
    /// Takes the app's lock, cleans what a killed supervisor left and records our pid.
    pub(crate) fn acquire(paths: &AppPaths, app: &str) -> Result<Self, Error> {
        let lock = match lock(paths)? {
            Ok(lock) => lock,
            Err(pid) => {
                return Err(Error::AlreadyRunning {
                    app: app.to_owned(),
                    pid,
                });
            }
        };
        clean_stale(paths)?;
        let pid_file = paths.pid_file();
        std::fs::write(&pid_file, format!("{}\n", std::process::id())).map_err(|source| {
            Error::Write {
                path: pid_file,
                source,
            }
        })?;
        Ok(Self {
            _lock: lock,
            paths: paths.clone(),
        })
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        for file in [
            &self.paths.socket,
            &self.paths.pid_file(),
            &self.paths.groups(),
        ] {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Tries the lock: `Ok(Err(pid))` when a live supervisor holds it.
fn lock(paths: &AppPaths) -> Result<Result<Flock<File>, String>, Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&paths.state)
        .map_err(|source| Error::Write {
            path: paths.state.clone(),
            source,
        })?;
    let path = paths.lock();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| Error::Write { path, source })?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(Ok(lock)),
        Err((_, Errno::EWOULDBLOCK)) => {
            let pid = std::fs::read_to_string(paths.pid_file()).unwrap_or_default();
            Ok(Err(pid.trim().to_owned()))
        }
        Err((_, errno)) => Err(Error::Setup(errno.into())),
    }
}

/// Kills what a dead supervisor left running, waits (bounded) until it is gone and removes
/// its files; returns how many process groups and processes were found. Processes that
/// outlive SIGKILL (stuck in the kernel, perhaps writing data) are an error naming them:
/// nothing new may start beside them.
fn clean_stale(paths: &AppPaths) -> Result<usize, Error> {
    let recorded: BTreeSet<i32> = std::fs::read_to_string(paths.groups())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    // A recorded group is only killed while it still holds one of the app's processes, so a
    // reused number never hits someone else's group.
    let groups = sweep::live_groups(&recorded, Marked::App(&paths.id));
    for group in &groups {
        let _ = killpg(Pid::from_raw(*group), Signal::SIGKILL);
    }
    let killed = sweep::kill_marked(Marked::App(&paths.id));
    let mut left = sweep::kill_until_gone(None, Marked::App(&paths.id), sweep::GONE_WAIT);
    for group in &groups {
        left.extend(sweep::kill_until_gone(
            Some(*group),
            Marked::App(&paths.id),
            sweep::GONE_WAIT,
        ));
    }
    if !left.is_empty() {
        left.sort_unstable();
        left.dedup();
        return Err(Error::OutlivedKill {
            pids: left
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    for file in [&paths.socket, &paths.pid_file(), &paths.groups()] {
        let _ = std::fs::remove_file(file);
    }
    Ok(groups.len() + killed)
}

/// The app's lock, held by a command that works on the app while no supervisor runs
/// (`zeppelin stop --delete-data`): a supervisor that starts meanwhile (`run`, `run -d`) is
/// refused with our pid until this is dropped.
pub struct Stopped {
    _lock: Flock<File>,
    paths: AppPaths,
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.paths.pid_file());
    }
}

/// When no supervisor runs for the app: kills whatever a killed one left behind, cleans its
/// files and returns the app's lock, held until the [`Stopped`] is dropped, with how many
/// leftover process groups and processes were killed. `None` when a supervisor runs.
pub fn hold_stopped(paths: &AppPaths) -> Result<Option<(Stopped, usize)>, Error> {
    let Ok(lock) = lock(paths)? else {
        return Ok(None);
    };
    let killed = clean_stale(paths)?;
    let pid_file = paths.pid_file();
    std::fs::write(&pid_file, format!("{}\n", std::process::id())).map_err(|source| {
        Error::Write {
            path: pid_file,
            source,
        }
    })?;
    Ok(Some((
        Stopped {
            _lock: lock,
            paths: paths.clone(),
        },
        killed,
    )))
}

/// Whether a supervisor runs the app (holds its lock) now.
pub fn is_running(paths: &AppPaths) -> Result<bool, Error> {
    if !paths.state.exists() {
        return Ok(false);
    }
    Ok(lock(paths)?.is_err())
}

/// When no supervisor runs for the app, kills whatever a killed one left behind and cleans
/// its files. Returns `None` when a supervisor is running (nothing is touched), else how many
/// leftover process groups and processes were killed.
pub fn reap_stale(paths: &AppPaths) -> Result<Option<usize>, Error> {
    if !paths.state.exists() {
        return Ok(Some(0));
    }
    match lock(paths)? {
        Ok(_lock) => Ok(Some(clean_stale(paths)?)),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_supervisor_starts_while_a_stopped_app_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths::new(dir.path());
        let (held, killed) = hold_stopped(&paths).unwrap().expect("nothing runs");
        assert_eq!(killed, 0);
        assert!(is_running(&paths).unwrap());
        let refused = Instance::acquire(&paths, "t").err().expect("refused");
        assert!(
            matches!(&refused, Error::AlreadyRunning { pid, .. } if *pid == std::process::id().to_string()),
            "{refused}"
        );
        drop(held);
        let instance = Instance::acquire(&paths, "t").expect("free again");
        assert!(hold_stopped(&paths).unwrap().is_none(), "a supervisor runs");
        drop(instance);
    }
}
