//! Spawning and reaping: every process the supervisor starts goes through [`Reaper::spawn`],
//! and its exit is learnt from `waitpid` on SIGCHLD, by pid — never from a pipe closing.
//!
//! The supervisor is also a child subreaper, so processes that lost their parent (a
//! replica's grandchildren) become its children; the reaper collects their exits too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::oneshot;

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The status a shell would report: the code, or 128 + the signal.
    pub(crate) fn status(self) -> i32 {
        match self {
            Self::Code(code) => code,
            Self::Signal(signal) => 128 + signal,
        }
    }
}

/// The supervisor's children, by pid, waiting for their exit.
pub(crate) struct Reaper {
    waiting: Mutex<HashMap<i32, oneshot::Sender<Exit>>>,
}

impl Reaper {
    /// Starts reaping; must run inside the supervisor's runtime before anything is spawned.
    pub(crate) fn start() -> std::io::Result<Arc<Self>> {
        let reaper = Arc::new(Self {
            waiting: Mutex::new(HashMap::new()),
        });
        let sigchld = signal(SignalKind::child())?;
        tokio::spawn(Arc::clone(&reaper).reap(sigchld));
        Ok(reaper)
    }

    /// Spawns `command` and returns its pid and a receiver of its exit. The pid is registered
    /// before the reaper can see it exit.
    pub(crate) fn spawn(
        &self,
        command: &mut std::process::Command,
    ) -> std::io::Result<(std::process::Child, oneshot::Receiver<Exit>)> {
        let mut waiting = self.waiting.lock().expect("reaper lock");
        let child = command.spawn()?;
        let (tx, rx) = oneshot::channel();
        waiting.insert(pid_of(&child), tx);
        Ok((child, rx))
    }

    async fn reap(self: Arc<Self>, mut sigchld: Signal) {
        loop {
            self.collect();
            if sigchld.recv().await.is_none() {
                return;
            }
        }
    }

    /// Collects every exited child: registered ones are reported, inherited orphans dropped.
    fn collect(&self) {
        let mut waiting = self.waiting.lock().expect("reaper lock");
        loop {
            let (pid, exit) = match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, Exit::Code(code)),
                Ok(WaitStatus::Signaled(pid, signal, _)) => (pid, Exit::Signal(signal as i32)),
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(_) => return,
            };
            if let Some(tx) = waiting.remove(&pid.as_raw()) {
                // The replica may have given up waiting (it is being dropped); nothing to tell.
                let _ = tx.send(exit);
            }
        }
    }
}

/// A child's pid as the signed type `nix` uses.
pub(crate) fn pid_of(child: &std::process::Child) -> i32 {
    i32::try_from(child.id()).expect("pids fit in i32")
}
