//! Finding an app's processes through `/proc`, by the `ZEPPELIN_INSTANCE` marker every
//! replica (and everything it starts) inherits in its environment.
//!
//! Process groups catch a replica's children; the marker also catches those that left the
//! group with `setsid`, and those left behind by a supervisor that was killed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

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

/// How long a stop waits, after SIGKILL, for the processes to be gone: one stuck in the
/// kernel (an `fsync` on a slow disk) dies only when it leaves it, and may write until then.
pub(crate) const GONE_WAIT: Duration = Duration::from_secs(5);

/// SIGKILLs the processes of process group `group` and those that carry the marker (never
/// this process) until none is left, or `bound` has passed; returns the pids still alive
/// then (zombies count as gone: they no longer run). Blocking.
pub(crate) fn kill_until_gone(group: Option<i32>, which: Marked<'_>, bound: Duration) -> Vec<i32> {
    let deadline = Instant::now() + bound;
    loop {
        let left = remaining(group, which);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        for &pid in &left {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The live processes (not zombies, never this one) in process group `group` or carrying
/// the marker.
pub(crate) fn remaining(group: Option<i32>, which: Marked<'_>) -> Vec<i32> {
    let me = std::process::id().cast_signed();
    processes()
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            let Some((state, pgrp)) = stat(pid) else {
                return false;
            };
            !matches!(state, 'Z' | 'X') && (group == Some(pgrp) || carries(pid, which))
        })
        .collect()
}

/// A process's state letter and process group, from `/proc/<pid>/stat`.
fn stat(pid: i32) -> Option<(char, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields start after the last.
    let mut fields = text.get(text.rfind(')')? + 2..)?.split(' ');
    let state = fields.next()?.chars().next()?;
    let _parent = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some((state, group))
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
    use std::os::unix::process::CommandExt as _;

    use super::*;

    #[test]
    fn a_killed_group_and_marked_process_are_waited_until_gone() {
        let marker = format!("sweep-test-{}", std::process::id());
        let mut leader = std::process::Command::new("sh")
            .args(["-c", "sleep 100 & sleep 100; wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let mut marked = std::process::Command::new("sleep")
            .arg("100")
            .env(MARKER, format!("{marker}-1"))
            .spawn()
            .unwrap();
        let group = i32::try_from(leader.id()).unwrap();
        let found = |pid: u32| {
            std::iter::repeat_with(|| remaining(Some(group), Marked::App(&marker)))
                .take(500)
                .inspect(|_| std::thread::sleep(Duration::from_millis(10)))
                .any(|left| left.contains(&i32::try_from(pid).unwrap()))
        };
        assert!(found(leader.id()), "the group's leader is found");
        assert!(found(marked.id()), "the marked process is found");
        let left = kill_until_gone(Some(group), Marked::App(&marker), GONE_WAIT);
        assert_eq!(left, Vec::<i32>::new());
        // Not reaped yet, so zombies: they no longer run and count as gone.
        assert!(remaining(Some(group), Marked::App(&marker)).is_empty());
        assert!(leader.wait().is_ok() && marked.wait().is_ok());
    }

    #[test]
    fn markers_match_their_app_and_instance_only() {
        assert!(Marked::App("abc").matches(b"abc-7"));
        assert!(!Marked::App("abc").matches(b"abcd-7"));
        assert!(Marked::Instance("abc-7").matches(b"abc-7"));
        assert!(!Marked::Instance("abc-7").matches(b"abc-70"));
    }
}
