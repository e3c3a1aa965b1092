//! The launcher: the first thing every replica runs, before its own command.
//!
//! It asks the kernel to SIGKILL it when the supervisor dies (`PR_SET_PDEATHSIG`), checks the
//! supervisor did not die before that call, starts a session of its own (so it leads its own
//! process group, which stopping the replica signals whole, and the scheduler shares the CPU
//! between replicas as between terminal sessions), then executes `sh -c COMMAND` in its
//! place. Doing this in a process of its own (the `zeppelin` binary run as `zeppelin
//! __launch`) keeps the supervisor free of `unsafe` pre-exec hooks.

use std::convert::Infallible;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;

use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::unistd::{Pid, execvp, getppid, setsid};

/// The argument that makes the `zeppelin` binary act as the launcher.
pub const LAUNCH_ARG: &str = "__launch";

/// Why the launcher could not start a replica's command.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("usage: zeppelin {LAUNCH_ARG} SUPERVISOR_PID PROGRAM [ARGS...]")]
    Usage,
    #[error("the supervisor (pid {0}) exited before the process started")]
    Orphaned(i32),
    #[error("cannot ask to be stopped with the supervisor")]
    Prctl(#[source] nix::Error),
    #[error("cannot start a session of its own")]
    Setsid(#[source] nix::Error),
    #[error("cannot execute the command")]
    Exec(#[source] nix::Error),
}

/// Runs the launcher with the arguments after [`LAUNCH_ARG`]; returns only on failure.
pub fn launch(args: Vec<OsString>) -> Result<Infallible, LaunchError> {
    let mut args = args.into_iter();
    let parent: i32 = args
        .next()
        .and_then(|p| p.into_string().ok())
        .and_then(|p| p.parse().ok())
        .ok_or(LaunchError::Usage)?;
    let argv: Vec<CString> = args
        .map(|a| CString::new(a.into_vec()).map_err(|_| LaunchError::Usage))
        .collect::<Result<_, _>>()?;
    let program = argv.first().ok_or(LaunchError::Usage)?;
    prctl::set_pdeathsig(Signal::SIGKILL).map_err(LaunchError::Prctl)?;
    // The supervisor may have died between our fork and the call above; then nobody would
    // ever send the signal, so stop here.
    if getppid() != Pid::from_raw(parent) {
        return Err(LaunchError::Orphaned(parent));
    }
    setsid().map_err(LaunchError::Setsid)?;
    execvp(program, &argv).map_err(LaunchError::Exec)
}
