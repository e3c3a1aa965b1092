//! What is kept of each job under `.zeppelin/jobs/`: `<job>.json`, the last run and the
//! inputs hash of the last success (read by `ps` and by the next `run` to decide whether a
//! `before` job must run again), and `<job>.lock`, held for as long as a run goes, so a
//! job never runs twice at once, whether in the supervisor or alone (`run-job`): whoever
//! takes it first kills what a dead alone run left ([`crate::job::leftovers`]).

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use zeppelin_core::status::JobRun;

use crate::error::Error;
use crate::paths::AppPaths;

/// The kept state of one job.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Record {
    /// The inputs hash of the last run that succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) succeeded_inputs: Option<String>,
    /// The last run, whatever its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_run: Option<JobRun>,
}

pub(crate) fn folder(paths: &AppPaths) -> PathBuf {
    paths.state.join("jobs")
}

fn file(paths: &AppPaths, job: &str) -> PathBuf {
    folder(paths).join(format!("{job}.json"))
}

impl Record {
    /// The record of `job`; empty when it never ran here (or its record is unreadable).
    pub(crate) fn load(paths: &AppPaths, job: &str) -> Self {
        std::fs::read(file(paths, job))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Records `run` (with `inputs`, when it succeeded); written whole, so a reader sees the
    /// old record or the new one.
    pub(crate) fn save_run(
        paths: &AppPaths,
        job: &str,
        run: &JobRun,
        inputs: &str,
    ) -> Result<(), Error> {
        let mut record = Self::load(paths, job);
        if run.exit == Some(0) {
            record.succeeded_inputs = Some(inputs.to_owned());
        }
        record.last_run = Some(run.clone());
        let path = file(paths, job);
        let write = || -> std::io::Result<()> {
            create_folder(paths)?;
            let partial = path.with_extension("partial");
            std::fs::write(&partial, serde_json::to_vec_pretty(&record)?)?;
            std::fs::rename(&partial, &path)
        };
        write().map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })
    }
}

fn lock_file(paths: &AppPaths, job: &str) -> PathBuf {
    folder(paths).join(format!("{job}.lock"))
}

fn create_folder(paths: &AppPaths) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder(paths))
}

/// Who holds a job's lock, written into it for whoever is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    /// A `zeppelin run-job` that runs the job alone (no supervisor runs the app).
    RunJob,
    /// The app's supervisor.
    Supervisor,
}

impl Holder {
    fn word(self) -> &'static str {
        match self {
            Self::RunJob => "run-job",
            Self::Supervisor => "supervisor",
        }
    }
}

/// The right to run a job, held for the run; released on drop (or death).
pub(crate) struct RunLock {
    lock: Flock<File>,
    /// Whether we wrote our name in it (then it is wiped on release, so a later reader never
    /// takes a finished holder for a live one).
    named: bool,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if self.named {
            let _ = self.lock.set_len(0);
        }
    }
}

/// How often [`RunLock::wait`] tries the lock again.
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(100);

impl RunLock {
    /// Takes the job's lock as `holder`, then kills what a dead alone run of the job left
    /// running (see [`crate::job::leftovers`]); `JobRunning` (naming the holder) when a run
    /// goes. Blocking.
    pub(crate) fn take(paths: &AppPaths, job: &str, holder: Holder) -> Result<Self, Error> {
        let lock = Self::lock_only(paths, job, Some(holder))?;
        crate::job::leftovers::sweep(paths, job)?;
        Ok(lock)
    }

    /// [`Self::take`], waiting while another run holds the lock, at most `bound` and never
    /// once `stop` is cancelled (then `JobRunning` again).
    pub(crate) async fn wait(
        paths: &AppPaths,
        job: &str,
        holder: Holder,
        bound: std::time::Duration,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Result<Self, Error> {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let (paths, name) = (paths.clone(), job.to_owned());
            let taken = tokio::task::spawn_blocking(move || Self::take(&paths, &name, holder))
                .await
                .map_err(|_| Error::Setup(std::io::Error::other("taking a job's lock panicked")))?;
            match taken {
                Err(Error::JobRunning { .. })
                    if tokio::time::Instant::now() < deadline && !stop.is_cancelled() =>
                {
                    tokio::select! {
                        () = tokio::time::sleep(WAIT_STEP) => {}
                        () = stop.cancelled() => {}
                    }
                }
                other => return other,
            }
        }
    }

    /// The lock alone, without looking for leftovers nor saying who holds it: `None` while
    /// a run holds it.
    pub(crate) fn try_lock(paths: &AppPaths, job: &str) -> Result<Option<Self>, Error> {
        match Self::lock_only(paths, job, None) {
            Ok(lock) => Ok(Some(lock)),
            Err(Error::JobRunning { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The pid of the `zeppelin run-job` that holds `job`'s lock, as it wrote it (the
    /// caller checks that the lock is held), while that process is a `run-job` still.
    pub(crate) fn run_job_pid(paths: &AppPaths, job: &str) -> Option<i32> {
        let text = std::fs::read_to_string(lock_file(paths, job)).ok()?;
        let pid: i32 = match text.split_once(' ') {
            Some((pid, by)) if by == Holder::RunJob.word() => pid.parse().ok()?,
            _ => return None,
        };
        let command = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        command
            .split(|&b| b == 0)
            .any(|arg| arg == b"run-job")
            .then_some(pid)
    }

    fn lock_only(paths: &AppPaths, job: &str, holder: Option<Holder>) -> Result<Self, Error> {
        let path = lock_file(paths, job);
        let io = |source| Error::Write {
            path: path.clone(),
            source,
        };
        create_folder(paths).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut lock) => {
                if let Some(holder) = holder {
                    let _ = lock.set_len(0);
                    let _ = write!(lock, "{} {}", std::process::id(), holder.word());
                }
                Ok(Self {
                    lock,
                    named: holder.is_some(),
                })
            }
            Err((_, Errno::EWOULDBLOCK)) => {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let mut words = text.split_whitespace();
                let pid = words.next().unwrap_or("?").to_owned();
                let by = match words.next() {
                    Some("run-job") => format!("a `zeppelin run-job` (pid {pid})"),
                    _ => format!("the app's supervisor (pid {pid})"),
                };
                Err(Error::JobRunning {
                    job: job.to_owned(),
                    by,
                })
            }
            Err((_, errno)) => Err(io(errno.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_keeps_its_inputs_and_a_failure_keeps_the_last_success() {
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths::new(dir.path());
        assert_eq!(Record::load(&paths, "migrate"), Record::default());
        let run = |exit| JobRun {
            id: None,
            started: "2026-12-02T10:00:00Z".parse().unwrap(),
            duration: Some(std::time::Duration::from_secs(2)),
            attempts: 1,
            exit: Some(exit),
            reason: None,
        };
        Record::save_run(&paths, "migrate", &run(0), "aaa").unwrap();
        Record::save_run(&paths, "migrate", &run(3), "bbb").unwrap();
        let record = Record::load(&paths, "migrate");
        assert_eq!(record.succeeded_inputs.as_deref(), Some("aaa"));
        assert_eq!(record.last_run, Some(run(3)));
    }

    #[test]
    fn a_job_runs_once_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths::new(dir.path());
        let held = RunLock::take(&paths, "migrate", Holder::RunJob).unwrap();
        let refused = RunLock::take(&paths, "migrate", Holder::Supervisor)
            .err()
            .expect("refused");
        let by = format!("a `zeppelin run-job` (pid {})", std::process::id());
        assert!(
            matches!(&refused, Error::JobRunning { by: holder, .. } if *holder == by),
            "{refused}"
        );
        assert!(RunLock::take(&paths, "other", Holder::Supervisor).is_ok());
        drop(held);
        assert!(RunLock::take(&paths, "migrate", Holder::Supervisor).is_ok());
    }
}
