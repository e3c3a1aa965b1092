//! Finding an app's processes through `/proc`, by the `ZEPPELIN_INSTANCE` marker every
//! replica (and everything it starts) inherits in its environment.
//!
//! Process groups catch a replica's children; the marker also catches those that left the
//! group with `setsid`, and those left behind by a supervisor that was killed.

use std::collections::BTreeSet;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The variable that marks a replica's processes: `<app id>-<instance number>`.
pub(crate) const MARKER: &str = "ZEPPELIN_INSTANCE";

/// Which marked processes to find.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Marked<'a> {
    /// Every process of the app with this id.
    App(&'a str),
    /// The processes of one replica instance (`<app id>-<n>`).
    Instance(&'a str),
}

impl Marked<'_> {
    fn matches(self, value: &[u8]) -> bool {
        match self {
            Self::App(id) => value
                .strip_prefix(id.as_bytes())
                .is_some_and(|rest| rest.starts_with(b"-")),
            Self::Instance(instance) => value == instance.as_bytes(),
        }
    }
}

/// SIGKILLs every process that carries the marker (never this process); returns how many.
pub(crate) fn kill_marked(which: Marked<'_>) -> usize {
    let me = std::process::id().cast_signed();
    let mut killed = 0;
    for pid in processes() {
        if pid == me || !carries(pid, which) {
            continue;
        }
        if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
            killed += 1;
        }
    }
    killed
}

/// The process groups among `groups` that still hold a marked process.
pub(crate) fn live_groups(groups: &BTreeSet<i32>, which: Marked<'_>) -> BTreeSet<i32> {
    processes()
        .filter(|&pid| carries(pid, which))
        .filter_map(|pid| nix::unistd::getpgid(Some(Pid::from_raw(pid))).ok())
        .map(Pid::as_raw)
        .filter(|pgid| groups.contains(pgid))
        .collect()
}

fn processes() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
}

fn carries(pid: i32, which: Marked<'_>) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let prefix = format!("{MARKER}=");
    environ
        .split(|&b| b == 0)
        .filter_map(|var| var.strip_prefix(prefix.as_bytes()))
        .any(|value| which.matches(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_match_their_app_and_instance_only() {
        assert!(Marked::App("abc").matches(b"abc-7"));
        assert!(!Marked::App("abc").matches(b"abcd-7"));
        assert!(Marked::Instance("abc-7").matches(b"abc-7"));
        assert!(!Marked::Instance("abc-7").matches(b"abc-70"));
    }
}
