//! What a `zeppelin run-job` that ran a job alone (no supervisor) and was killed with
//! SIGKILL left running. Its processes carry a marker of their own,
//! `<app id>~<job>~alone-<n>` (no supervisor's sweep of the app's `<app id>-<n>` takes them
//! for its leftovers), and the process groups it led are in `.zeppelin/jobs/<job>.groups`.
//! Whoever takes the job's lock next (the next run, `zeppelin stop`, a starting supervisor)
//! kills them first, so a job never runs twice at once and nothing escapes a stop; and
//! `zeppelin stop` asks a live one to stop its job ([`stop_alone_runs`]).

use std::collections::BTreeSet;
use std::path::PathBuf;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::error::Error;
use crate::job::record::{RunLock, folder};
use crate::paths::AppPaths;
use crate::sweep::{self, GONE_WAIT, Marked};

/// What the markers of job `job`'s alone runs start with.
pub(crate) fn marker_prefix(paths: &AppPaths, job: &str) -> String {
    format!("{}~{job}~alone", paths.id)
}

/// Where an alone run of `job` records the process groups it leads.
pub(crate) fn groups_file(paths: &AppPaths, job: &str) -> PathBuf {
    folder(paths).join(format!("{job}.groups"))
}

/// Kills every process an alone run of `job` left and waits (bounded) until they are gone;
/// the caller holds the job's lock, so no live run owns them. Processes that outlive
/// SIGKILL are an error naming them. Returns how many groups and processes were found.
/// Blocking.
pub(crate) fn sweep(paths: &AppPaths, job: &str) -> Result<usize, Error> {
    let prefix = marker_prefix(paths, job);
    let file = groups_file(paths, job);
    let recorded: BTreeSet<i32> = std::fs::read_to_string(&file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    // A recorded group is only killed while it still holds one of the run's processes, so
    // a reused number never hits someone else's group.
    let groups = sweep::live_groups(&recorded, Marked::App(&prefix));
    for group in &groups {
        let _ = killpg(Pid::from_raw(*group), Signal::SIGKILL);
    }
    let killed = sweep::kill_marked(Marked::App(&prefix));
    let mut left = sweep::kill_until_gone(None, Marked::App(&prefix), GONE_WAIT);
    for group in &groups {
        left.extend(sweep::kill_until_gone(
            Some(*group),
            Marked::App(&prefix),
            GONE_WAIT,
        ));
    }
    if !left.is_empty() {
        left.sort_unstable();
        left.dedup();
        return Err(Error::JobOutlivedKill {
            job: job.to_owned(),
            pids: left
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let _ = std::fs::remove_file(&file);
    Ok(groups.len() + killed)
}

/// Sweeps the leftovers of every one of `jobs` that no run holds now (`zeppelin stop`, a
/// starting supervisor); returns how many groups and processes were found. Blocking.
pub fn sweep_idle<'a>(
    paths: &AppPaths,
    jobs: impl IntoIterator<Item = &'a str>,
) -> Result<usize, Error> {
    let mut found = 0;
    for job in jobs {
        if let Some(_lock) = RunLock::try_lock(paths, job)? {
            found += sweep(paths, job)?;
        }
    }
    Ok(found)
}

/// How long `zeppelin stop` waits for a `zeppelin run-job` to stop its job: the job's stop
/// timeout, then its killing.
const ALONE_STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// `zeppelin stop`: asks each `zeppelin run-job` that runs one of `jobs` alone to stop it
/// (SIGTERM, which stops the job as Ctrl-C does) and waits, bounded, until it let go of
/// the job; returns the jobs and the pids asked. Blocking.
pub fn stop_alone_runs<'a>(
    paths: &AppPaths,
    jobs: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<(String, i32)>, Error> {
    let mut asked = Vec::new();
    for job in jobs {
        if RunLock::try_lock(paths, job)?.is_some() {
            continue;
        }
        if let Some(pid) = RunLock::run_job_pid(paths, job) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
            asked.push((job.to_owned(), pid));
        }
    }
    let deadline = std::time::Instant::now() + ALONE_STOP_WAIT;
    for (job, _) in &asked {
        while RunLock::try_lock(paths, job)?.is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    Ok(asked)
}
