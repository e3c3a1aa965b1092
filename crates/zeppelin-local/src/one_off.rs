//! The environment of a one-off command run as one of the app's subs (`zeppelin exec`), so
//! it sees what a replica of the sub sees: the same [`crate::environment`] resolution of
//! `[conf]`, `.env`, `<SUB>_ADDR`, secret files and the sub's own `env`, never a copy of it.
//!
//! What belongs to one replica (its `PORT`, `ZEPPELIN_REPLICA`, volume folders, the marker
//! `stop` finds its processes by) is left to whoever starts the command.

use std::collections::BTreeMap;
use std::path::Path;

use zeppelin_core::{App, Sub};

use crate::environment::AppEnv;
use crate::error::Error;

/// The variables a replica of a sub starts with, and the ones it must not inherit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubEnv {
    /// Set on the command, over the caller's own environment.
    pub vars: BTreeMap<String, String>,
    /// Removed from the caller's environment: the variables secrets are read from, which a
    /// replica gets as files instead.
    pub hidden: Vec<String>,
}

/// The environment of `sub` (a sub of `app`, or a job as [`zeppelin_core::model::Job::as_sub`]),
/// with its secret files written in `secrets` (made 0700 if missing; nothing is written
/// when the app has no secrets). The caller owns that folder and removes it, so a one-off
/// never rewrites the running app's secret files.
pub fn sub_env(app: &App, sub: &Sub, secrets: &Path) -> Result<SubEnv, Error> {
    let env = AppEnv::resolve_in(app, secrets)?;
    Ok(SubEnv {
        vars: env.for_sub(&sub.env),
        hidden: env.hidden,
    })
}

/// Where `zeppelin exec` makes each run's private folder for its secret files
/// (`<pid>-<random>`): `.zeppelin/exec/`.
pub fn exec_folders(paths: &crate::AppPaths) -> std::path::PathBuf {
    paths.state.join("exec")
}

/// Deletes the secret folders of `zeppelin exec` runs whose process is gone (killed before
/// it could clean up); run by the next `exec`, `stop` and `run`. A folder whose pid is
/// alive (that run, or a process that reused its number) stays. Returns the folders
/// deleted.
pub fn sweep_exec_folders(paths: &crate::AppPaths) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(exec_folders(paths)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.split_once('-'))
                .and_then(|(pid, _)| pid.parse::<i32>().ok());
            pid.is_some_and(|pid| {
                pid > 0
                    && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                        == Err(nix::errno::Errno::ESRCH)
            })
        })
        .map(|entry| entry.path())
        .filter(|path| std::fs::remove_dir_all(path).is_ok())
        .collect()
}
