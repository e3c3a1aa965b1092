//! What every replica task needs from the supervisor that started it: the app's paths, the
//! reaper that spawns and reaps its processes, the launcher command, serial numbers, the
//! record of process groups, the token that makes stops forceful and the notifier of state
//! changes.
//!
//! The supervisor creates one [`ReplicaRuntime`] and hands it to every [`crate::replica`]
//! task it starts, so replicas never reach back into the supervisor.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::groups::GroupRecord;
use crate::launch::LAUNCH_ARG;
use crate::paths::AppPaths;
use crate::reaper::Reaper;
use crate::sweep::{self, Marked};

/// What every replica task of one supervisor shares.
pub(crate) struct ReplicaRuntime {
    pub(crate) paths: AppPaths,
    pub(crate) reaper: Arc<Reaper>,
    /// The `zeppelin` binary, run as the launcher; `None` runs `sh` directly.
    launcher: Option<PathBuf>,
    next: AtomicU64,
    /// Cancelled on a second Ctrl-C: stops no longer wait for the stop timeout.
    pub(crate) force: CancellationToken,
    /// Bumped whenever a replica's state changes.
    pub(crate) changed: watch::Sender<()>,
    /// Process groups of running replicas, by instance; mirrored in `.zeppelin/groups`
    /// (for a job run alone, in `.zeppelin/jobs/<job>.groups`).
    groups: GroupRecord,
    /// What every marker starts with: the app's id, so a new supervisor finds what a killed
    /// one left (for a job run alone, a prefix of its own, see [`crate::job::leftovers`]).
    marker_prefix: String,
    /// Replicas (sub, index) whose last run left processes that outlived SIGKILL: the
    /// process group and marker to look for before a replacement may use their data.
    left_behind: Mutex<BTreeMap<(String, u32), (i32, String)>>,
}

impl ReplicaRuntime {
    /// The runtime for the replicas of the app at `paths`. Must be called inside a tokio
    /// runtime (the process-group record gets a task of its own).
    pub(crate) fn new(paths: AppPaths, reaper: Arc<Reaper>, launcher: Option<PathBuf>) -> Self {
        let groups = paths.groups();
        let prefix = paths.id.clone();
        Self::with(paths, reaper, launcher, groups, prefix)
    }

    /// The runtime of job `job` run alone, by a command while no supervisor runs the app:
    /// its processes are recorded and marked as that job's alone run, so a supervisor
    /// started meanwhile leaves them alone and the job's next taker finds them
    /// ([`crate::job::leftovers`]). Must be called inside a tokio runtime.
    pub(crate) fn alone(
        paths: AppPaths,
        reaper: Arc<Reaper>,
        launcher: Option<PathBuf>,
        job: &str,
    ) -> Self {
        let groups = crate::job::leftovers::groups_file(&paths, job);
        let prefix = crate::job::leftovers::marker_prefix(&paths, job);
        Self::with(paths, reaper, launcher, groups, prefix)
    }

    fn with(
        paths: AppPaths,
        reaper: Arc<Reaper>,
        launcher: Option<PathBuf>,
        groups: PathBuf,
        marker_prefix: String,
    ) -> Self {
        let (changed, _) = watch::channel(());
        Self {
            marker_prefix,
            paths,
            reaper,
            launcher,
            next: AtomicU64::new(0),
            force: CancellationToken::new(),
            changed,
            groups: GroupRecord::start(groups),
            left_behind: Mutex::new(BTreeMap::new()),
        }
    }

    /// `sh -c COMMAND` as the leader of a process group of its own: through the launcher
    /// (which also gives it a session of its own) when there is one.
    pub(crate) fn command(&self, command: &str) -> std::process::Command {
        let mut cmd = match &self.launcher {
            Some(launcher) => {
                let mut cmd = std::process::Command::new(launcher);
                cmd.arg(LAUNCH_ARG)
                    .arg(std::process::id().to_string())
                    .arg("sh");
                cmd
            }
            None => {
                let mut cmd = std::process::Command::new("sh");
                std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
                cmd
            }
        };
        cmd.arg("-c").arg(command);
        cmd
    }

    /// A number no other replica of this supervisor has.
    pub(crate) fn next_serial(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// A new marker value for one run of one replica.
    pub(crate) fn next_instance(&self) -> String {
        format!(
            "{}-{}",
            self.marker_prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Records the process group that replica run `instance` leads.
    pub(crate) fn record_group(&self, instance: &str, group: i32) {
        self.groups.record(instance, group);
    }

    /// Notes that replica `index` of `sub` left processes of run `instance` (group `group`)
    /// that outlived SIGKILL.
    pub(crate) fn left_behind(&self, sub: &str, index: u32, group: i32, instance: &str) {
        self.left_behind
            .lock()
            .expect("left behind")
            .insert((sub.to_owned(), index), (group, instance.to_owned()));
    }

    /// The processes a previous run of replica `index` of `sub` left that are still alive
    /// (killed again, and waited for a moment); once none is, the note goes. Blocking.
    pub(crate) fn still_alive(&self, sub: &str, index: u32) -> Vec<i32> {
        let key = (sub.to_owned(), index);
        let Some((group, instance)) = self
            .left_behind
            .lock()
            .expect("left behind")
            .get(&key)
            .cloned()
        else {
            return Vec::new();
        };
        let alive =
            sweep::kill_until_gone(Some(group), Marked::Instance(&instance), sweep::GONE_WAIT);
        if alive.is_empty() {
            self.left_behind.lock().expect("left behind").remove(&key);
            self.forget_group(&instance);
        }
        alive
    }

    /// Forgets the process group of replica run `instance`, once it is gone.
    pub(crate) fn forget_group(&self, instance: &str) {
        self.groups.forget(instance);
    }
}
