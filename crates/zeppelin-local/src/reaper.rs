//! Spawning and reaping: every process the supervisor starts goes through [`Reaper::spawn`],
//! and its exit is learnt from `waitpid` on SIGCHLD, by pid — never from a pipe closing.
//!
//! The supervisor is also a child subreaper, so processes that lost their parent (a
//! replica's grandchildren) become its children; the reaper collects their exits too.
//!
//! Processes are started by a few spawner threads that live as long as the supervisor: a
//! spawn waits until the child has executed its program, which under load can take a while,
//! so several spawn side by side; and the launcher's parent-death signal follows the thread
//! that started it, so those threads must never end before their children.

use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, mpsc};

use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::oneshot;

/// Threads starting processes side by side.
const SPAWNERS: usize = 4;

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

/// A started process and the receiver of its exit.
pub(crate) type Spawned = (Child, oneshot::Receiver<Exit>);

type Job = (Command, oneshot::Sender<std::io::Result<Spawned>>);

#[derive(Default)]
struct Children {
    /// Started processes waiting for their exit, by pid.
    waiting: HashMap<i32, oneshot::Sender<Exit>>,
    /// Spawns under way: their pid may exit before it is registered.
    in_flight: usize,
    /// Exits of pids not registered (yet) while spawns were under way.
    unclaimed: HashMap<i32, Exit>,
}

/// The supervisor's children, by pid, waiting for their exit.
pub(crate) struct Reaper {
    children: Arc<Mutex<Children>>,
    jobs: mpsc::Sender<Job>,
}

impl Reaper {
    /// Starts reaping; must run inside the supervisor's runtime before anything is spawned.
    pub(crate) fn start() -> std::io::Result<Arc<Self>> {
        let children = Arc::new(Mutex::new(Children::default()));
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..SPAWNERS {
            let queue = Arc::clone(&queue);
            let children = Arc::clone(&children);
            std::thread::Builder::new()
                .name(format!("spawner-{n}"))
                .spawn(move || spawner(&queue, &children))?;
        }
        let reaper = Arc::new(Self { children, jobs });
        let sigchld = signal(SignalKind::child())?;
        tokio::spawn(Arc::clone(&reaper).reap(sigchld));
        Ok(reaper)
    }

    /// Starts `command`; returns it with a receiver of its exit.
    pub(crate) async fn spawn(&self, command: Command) -> std::io::Result<Spawned> {
        let (tx, rx) = oneshot::channel();
        self.children.lock().expect("children").in_flight += 1;
        if self.jobs.send((command, tx)).is_err() {
            self.children.lock().expect("children").in_flight -= 1;
            return Err(std::io::Error::other("the supervisor is shutting down"));
        }
        rx.await
            .unwrap_or_else(|_| Err(std::io::Error::other("the spawner went away")))
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
        let mut children = self.children.lock().expect("children");
        loop {
            let (pid, exit) = match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid.as_raw(), Exit::Code(code)),
                Ok(WaitStatus::Signaled(pid, signal, _)) => {
                    (pid.as_raw(), Exit::Signal(signal as i32))
                }
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(_) => return,
            };
            if let Some(tx) = children.waiting.remove(&pid) {
                // The replica may have given up waiting (it is being dropped); nothing to tell.
                let _ = tx.send(exit);
            } else if children.in_flight > 0 {
                children.unclaimed.insert(pid, exit);
            }
        }
    }
}

/// One spawner thread: starts processes until the reaper is dropped.
fn spawner(queue: &Mutex<mpsc::Receiver<Job>>, children: &Mutex<Children>) {
    loop {
        let job = queue.lock().expect("spawn queue").recv();
        let Ok((mut command, reply)) = job else {
            return;
        };
        let spawned = command.spawn();
        let mut state = children.lock().expect("children");
        state.in_flight -= 1;
        let result = spawned.map(|child| {
            let (tx, rx) = oneshot::channel();
            let pid = pid_of(&child);
            match state.unclaimed.remove(&pid) {
                Some(exit) => {
                    let _ = tx.send(exit);
                }
                None => {
                    state.waiting.insert(pid, tx);
                }
            }
            (child, rx)
        });
        if state.in_flight == 0 {
            state.unclaimed.clear();
        }
        drop(state);
        // The caller may be gone (shutting down); the process is then reaped like an orphan.
        let _ = reply.send(result);
    }
}

/// A child's pid as the signed type `nix` uses.
pub(crate) fn pid_of(child: &Child) -> i32 {
    i32::try_from(child.id()).expect("pids fit in i32")
}
