//! One replica's life, as one tokio task: start the process, probe it, restart it by the
//! sub's policy with backoff, and stop it gracefully (SIGTERM to its group, SIGKILL after the
//! stop timeout) when cancelled.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::net::unix::pipe;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use zeppelin_core::Sub;
use zeppelin_core::model::RestartPolicy;
use zeppelin_core::status::ReplicaState;

use crate::backoff::Backoff;
use crate::balancer::ReadySet;
use crate::capture::{Stream, SubLog};
use crate::probe::probe;
use crate::reaper::{Exit, pid_of};
use crate::runtime::ReplicaRuntime;
use crate::sweep::{self, GONE_WAIT, MARKER, Marked};
use crate::volumes;

/// A replica with no health check counts as healthy once it has run this long.
const SETTLE: Duration = Duration::from_millis(500);
/// While a replica is starting, it is probed at least this often.
const START_PROBE: Duration = Duration::from_millis(100);
/// How long output is still read after a process exited.
pub(crate) const DRAIN: Duration = Duration::from_secs(2);

/// Reported when an exit status was lost (the reaper went away): as if killed.
pub(crate) const LOST: Exit = Exit::Signal(9);

/// What `ps` shows of a replica; written by its task, read by everyone.
#[derive(Debug, Clone)]
pub(crate) struct ReplicaInfo {
    pub(crate) state: ReplicaState,
    pub(crate) ready: bool,
    pub(crate) pid: Option<u32>,
    pub(crate) port: Option<u16>,
    pub(crate) started: Option<Instant>,
    pub(crate) restarts: u32,
    pub(crate) last_exit: Option<i32>,
    pub(crate) reason: Option<String>,
    /// Set once the replica has exited or failed while starting.
    pub(crate) failed_start: bool,
}

/// Everything replicas of one sub share.
#[derive(Clone)]
pub(crate) struct SubContext {
    pub(crate) spec: Sub,
    pub(crate) command: String,
    pub(crate) env: BTreeMap<String, String>,
    /// Variables of Zeppelin's own environment that hold secret values: not passed on.
    pub(crate) hidden: Vec<String>,
    /// Which secret values the replicas were started with.
    pub(crate) secrets_digest: u64,
    pub(crate) log: SubLog,
    /// The sub's ready set, feeding its balancer; shared by every context of the sub.
    pub(crate) ready_set: Arc<ReadySet>,
}

/// A running replica task and what it reports.
pub(crate) struct Replica {
    pub(crate) index: u32,
    pub(crate) info: Arc<Mutex<ReplicaInfo>>,
    cancel: CancellationToken,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<bool>>>,
}

impl Replica {
    /// Starts replica `index` of a sub.
    pub(crate) fn start(runtime: &Arc<ReplicaRuntime>, sub: &Arc<SubContext>, index: u32) -> Self {
        let info = Arc::new(Mutex::new(ReplicaInfo {
            state: ReplicaState::Pending,
            ready: false,
            pid: None,
            port: None,
            started: None,
            restarts: 0,
            last_exit: None,
            reason: None,
            failed_start: false,
        }));
        let cancel = CancellationToken::new();
        let task = tokio::spawn(
            Life {
                runtime: Arc::clone(runtime),
                sub: Arc::clone(sub),
                index,
                serial: runtime.next_serial(),
                info: Arc::clone(&info),
                cancel: cancel.clone(),
            }
            .run(),
        );
        Self {
            index,
            info,
            cancel,
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }

    /// A copy of what the replica reports now.
    pub(crate) fn info(&self) -> ReplicaInfo {
        self.info.lock().expect("replica info").clone()
    }

    /// Whether the replica was told to stop (by `stop`, a roll or a scale down): it will not
    /// run again, so a sub whose replicas were all stopped must be launched anew.
    pub(crate) fn stop_requested(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Stops the replica and waits for it; `true` when it stopped cleanly (or was stopped
    /// already).
    pub(crate) async fn stop(&self) -> bool {
        self.cancel.cancel();
        match self.task.lock().await.take() {
            Some(task) => task.await.unwrap_or(false),
            None => true,
        }
    }
}

/// One run of a replica's process.
struct Process {
    /// Its process group (the process is the group's leader).
    group: Pid,
    exit: oneshot::Receiver<Exit>,
    /// Its `ZEPPELIN_INSTANCE` marker.
    instance: String,
    /// The tasks copying its stdout and stderr into the log.
    captures: Vec<tokio::task::JoinHandle<()>>,
}

/// How one run of the process ended.
enum Ending {
    Exited(Exit),
    Unhealthy(String),
    Cancelled,
}

struct Life {
    runtime: Arc<ReplicaRuntime>,
    sub: Arc<SubContext>,
    index: u32,
    /// Unique to this replica among all the supervisor started: its key in the ready set.
    serial: u64,
    info: Arc<Mutex<ReplicaInfo>>,
    cancel: CancellationToken,
}

impl Life {
    fn update(&self, change: impl FnOnce(&mut ReplicaInfo)) {
        change(&mut self.info.lock().expect("replica info"));
        self.publish();
    }

    /// Tells the balancer and anyone waiting for health what changed.
    fn publish(&self) {
        let info = self.info.lock().expect("replica info").clone();
        let addr = match (info.port, info.state) {
            (
                Some(port),
                ReplicaState::Starting | ReplicaState::Healthy | ReplicaState::Unhealthy,
            ) => Some(std::net::SocketAddr::from(([127, 0, 0, 1], port))),
            _ => None,
        };
        self.sub
            .ready_set
            .report(self.serial, self.index, addr, info.ready);
        self.runtime.changed.send_replace(());
    }

    /// Runs the replica until it is cancelled; returns whether its last stop was clean.
    async fn run(self) -> bool {
        let mut backoff = Backoff::new();
        loop {
            let started = Instant::now();
            let mut process = match self.spawn().await {
                Ok(process) => process,
                Err(reason) => {
                    self.update(|i| {
                        i.state = ReplicaState::Exited;
                        i.reason = Some(reason);
                        i.failed_start = true;
                    });
                    self.cancel.cancelled().await;
                    self.update(|i| i.state = ReplicaState::Stopped);
                    return true;
                }
            };
            let ending = self
                .watch(started, &process.instance, &mut process.exit)
                .await;
            let (failed, reason, exit) = match self.finish(ending, process).await {
                (Ending::Cancelled, clean) => {
                    self.update(|i| {
                        i.state = ReplicaState::Stopped;
                        i.ready = false;
                        i.pid = None;
                        i.started = None;
                    });
                    return clean;
                }
                (Ending::Exited(exit), _) => (
                    exit != Exit::Code(0),
                    format!("exited with status {}", exit.status()),
                    Some(exit.status()),
                ),
                (Ending::Unhealthy(reason), _) => {
                    (true, format!("health check failed: {reason}"), None)
                }
            };
            let restart = match self.sub.spec.restart {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => failed,
                RestartPolicy::Never => false,
            };
            let wait = backoff.after_exit(started.elapsed());
            let crash_looping = backoff.crash_looping();
            self.update(|i| {
                // Finishing its work (exit 0, not restarted) is not a failed start.
                if !i.ready && i.state == ReplicaState::Starting && (failed || restart) {
                    i.failed_start = true;
                }
                i.ready = false;
                i.pid = None;
                i.started = None;
                i.last_exit = exit.or(i.last_exit);
                i.reason = Some(if crash_looping && restart {
                    format!("crash-looping, {reason}")
                } else {
                    reason
                });
                i.state = if restart {
                    ReplicaState::Backoff
                } else {
                    ReplicaState::Exited
                };
            });
            if !restart {
                self.cancel.cancelled().await;
                self.update(|i| i.state = ReplicaState::Stopped);
                return true;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.cancel.cancelled() => {
                    self.update(|i| i.state = ReplicaState::Stopped);
                    return true;
                }
            }
            self.update(|i| i.restarts += 1);
        }
    }

    /// `sh -c COMMAND` as this replica runs it, for its process and its exec health checks:
    /// in the app folder, with the sub's environment, its `PORT`, number and volume folders
    /// (`<NAME>_DIR`), and the marker that lets a stop find everything it started.
    fn command(&self, cmd: &str, port: u16, instance: &str) -> std::process::Command {
        let mut command = self.runtime.command(cmd);
        for var in &self.sub.hidden {
            command.env_remove(var);
        }
        command
            .current_dir(&self.runtime.paths.dir)
            .envs(&self.sub.env)
            .env("PORT", port.to_string())
            .env("ZEPPELIN_REPLICA", self.index.to_string())
            .envs(volumes::env(
                &self.runtime.paths,
                &self.sub.spec,
                self.index,
            ))
            .env(MARKER, instance);
        command
    }

    /// Starts the process through the launcher, in a process group of its own, once its
    /// volume folders exist.
    async fn spawn(&self) -> Result<Process, String> {
        if self.sub.spec.is_stateful() {
            let (sub, index) = (self.sub.spec.name.clone(), self.index);
            let runtime = Arc::clone(&self.runtime);
            let alive = tokio::task::spawn_blocking(move || runtime.still_alive(&sub, index))
                .await
                .unwrap_or_default();
            if !alive.is_empty() {
                let pids: Vec<String> = alive.iter().map(ToString::to_string).collect();
                return Err(format!(
                    "process(es) {} of this replica's previous run outlived SIGKILL (stuck in the kernel?) and may still write its data; not starting another on it",
                    pids.join(", ")
                ));
            }
        }
        volumes::prepare(&self.runtime.paths, &self.sub.spec, self.index)
            .map_err(|err| zeppelin_core::error_chain(&err))?;
        let port = free_port().map_err(|err| format!("cannot find a free port: {err}"))?;
        let instance = self.runtime.next_instance();
        let mut command = self.command(&self.sub.command, port, &instance);
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let (mut child, exit) = self
            .runtime
            .reaper
            .spawn(command)
            .await
            .map_err(|err| format!("cannot start: {err}"))?;
        let pid = pid_of(&child);
        let mut captures = Vec::with_capacity(2);
        if let Some(out) = child.stdout.take().and_then(|p| pipe_of(p.into())) {
            captures.push(self.sub.log.capture(out, self.index, Stream::Out));
        }
        if let Some(err) = child.stderr.take().and_then(|p| pipe_of(p.into())) {
            captures.push(self.sub.log.capture(err, self.index, Stream::Err));
        }
        self.runtime.record_group(&instance, pid);
        self.update(|i| {
            i.state = ReplicaState::Starting;
            i.ready = false;
            i.pid = u32::try_from(pid).ok();
            i.port = Some(port);
            i.started = Some(Instant::now());
            i.reason = None;
        });
        Ok(Process {
            group: Pid::from_raw(pid),
            exit,
            instance,
            captures,
        })
    }

    /// Probes the running process until it exits, fails its health check or is cancelled.
    async fn watch(
        &self,
        started: Instant,
        instance: &str,
        exit: &mut oneshot::Receiver<Exit>,
    ) -> Ending {
        let health = self.sub.spec.health.clone();
        let port = self.info.lock().expect("replica info").port.unwrap_or(0);
        let mut passed = false;
        let mut failures = 0;
        loop {
            let delay = match &health {
                None if passed => Duration::MAX,
                None => SETTLE,
                Some(h) if passed => h.interval.get(),
                Some(h) => h.interval.get().min(START_PROBE),
            };
            tokio::select! {
                status = &mut *exit => return Ending::Exited(status.unwrap_or(LOST)),
                () = self.cancel.cancelled() => return Ending::Cancelled,
                () = sleep(delay) => {}
            }
            let Some(h) = &health else {
                passed = true;
                self.update(|i| {
                    i.state = ReplicaState::Healthy;
                    i.ready = true;
                });
                continue;
            };
            let result = tokio::select! {
                result = probe(&h.check, port, h.timeout.get(), &self.runtime.reaper, |cmd| {
                    self.command(cmd, port, instance)
                }) => result,
                status = &mut *exit => return Ending::Exited(status.unwrap_or(LOST)),
                () = self.cancel.cancelled() => return Ending::Cancelled,
            };
            match result {
                Ok(()) => {
                    failures = 0;
                    passed = true;
                    self.update(|i| {
                        i.state = ReplicaState::Healthy;
                        i.ready = true;
                        i.reason = None;
                    });
                }
                Err(reason) if !passed => self.update(|i| i.reason = Some(reason)),
                Err(_) if started.elapsed() < h.grace.get() => {}
                Err(reason) => {
                    failures += 1;
                    if failures >= h.retries.max(1) {
                        self.update(|i| {
                            i.state = ReplicaState::Unhealthy;
                            i.ready = false;
                        });
                        return Ending::Unhealthy(reason);
                    }
                }
            }
        }
    }

    /// Stops what is left of the process group and collects the output and the exit status.
    async fn finish(&self, ending: Ending, process: Process) -> (Ending, bool) {
        let Process {
            group,
            exit,
            instance,
            captures,
        } = process;
        let stop_timeout = self.sub.spec.stop_timeout.get();
        let (ending, clean) = match ending {
            Ending::Exited(status) => (Ending::Exited(status), true),
            Ending::Cancelled => {
                let port = self.info.lock().expect("replica info").port;
                self.update(|i| {
                    i.state = ReplicaState::Stopping;
                    i.ready = false;
                });
                // Out of rotation now; let the connections it still serves finish first.
                if let Some(port) = port {
                    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                    tokio::select! {
                        _ = self.sub.ready_set.drain(addr, stop_timeout) => {}
                        () = self.runtime.force.cancelled() => {}
                    }
                }
                (
                    Ending::Cancelled,
                    terminate(group, exit, stop_timeout, &self.runtime.force).await,
                )
            }
            Ending::Unhealthy(reason) => {
                terminate(group, exit, stop_timeout, &self.runtime.force).await;
                (Ending::Unhealthy(reason), true)
            }
        };
        // Whatever is left in the group, and whatever left it, goes too, and is waited
        // for: only then is the replica's data free for a replacement.
        let _ = killpg(group, Signal::SIGKILL);
        let marked = instance.clone();
        let left = tokio::task::spawn_blocking(move || {
            sweep::kill_until_gone(Some(group.as_raw()), Marked::Instance(&marked), GONE_WAIT)
        })
        .await
        .unwrap_or_default();
        if left.is_empty() {
            self.runtime.forget_group(&instance);
        } else {
            tracing::warn!(sub = %self.sub.spec.name, replica = self.index, ?left, "processes outlived SIGKILL");
            self.runtime
                .left_behind(&self.sub.spec.name, self.index, group.as_raw(), &instance);
        }
        for capture in captures {
            let abort = capture.abort_handle();
            if tokio::time::timeout(DRAIN, capture).await.is_err() {
                abort.abort();
            }
        }
        (ending, clean)
    }
}

/// SIGTERM to the group, SIGKILL after `timeout` (or at once when forced); `true` when the
/// process exited by itself or by our SIGTERM.
pub(crate) async fn terminate(
    group: Pid,
    exit: oneshot::Receiver<Exit>,
    timeout: Duration,
    force: &CancellationToken,
) -> bool {
    let _ = killpg(group, Signal::SIGTERM);
    let mut exit = exit;
    let status = tokio::select! {
        status = &mut exit => status.ok(),
        () = sleep(timeout) => None,
        () = force.cancelled() => None,
    };
    if let Some(status) = status {
        return clean_stop(status);
    }
    let _ = killpg(group, Signal::SIGKILL);
    // SIGKILL cannot be ignored; the bound only guards against a lost exit.
    let _ = tokio::time::timeout(Duration::from_secs(5), exit).await;
    false
}

/// A stop is clean when the process exited 0, or by (or with 128 + ) our SIGTERM.
fn clean_stop(exit: Exit) -> bool {
    let term = Signal::SIGTERM as i32;
    matches!(exit, Exit::Code(0)) || exit == Exit::Signal(term) || exit == Exit::Code(128 + term)
}

async fn sleep(delay: Duration) {
    if delay == Duration::MAX {
        std::future::pending::<()>().await;
    } else {
        tokio::time::sleep(delay).await;
    }
}

pub(crate) fn pipe_of(fd: OwnedFd) -> Option<pipe::Receiver> {
    pipe::Receiver::from_owned_fd(fd).ok()
}

/// A port nothing listens on now, for a replica's `PORT`.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_sigterm_is_a_clean_stop() {
        assert!(clean_stop(Exit::Code(0)));
        assert!(clean_stop(Exit::Code(143)));
        assert!(clean_stop(Exit::Signal(15)));
        assert!(!clean_stop(Exit::Code(1)));
        assert!(!clean_stop(Exit::Signal(9)));
    }
}
