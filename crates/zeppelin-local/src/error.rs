//! Everything that can go wrong in the local runtime, with the sub, file or port involved.

use std::path::PathBuf;

/// A local runtime failure; the CLI prints it with its causes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot delete {}", .path.display())]
    Delete {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is a symbolic link; data is kept only in real folders under .zeppelin/volumes, so remove the link (what it points to is not touched)",
        .path.display()
    )]
    LinkedData { path: PathBuf },
    #[error("{sub:?} is not a sub name ({problem}), so it has no data to delete")]
    BadSubName { sub: String, problem: String },
    #[error(
        "secret {secret} reads environment variable {var}, which is not set; set it and run again"
    )]
    SecretEnv { secret: String, var: String },
    #[error("secret {secret} cannot be read from {}; create the file or change secrets.{secret}", .path.display())]
    SecretFile {
        secret: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sub {sub:?} cannot write its log {}; check the log folder's permissions", .path.display())]
    LogFile {
        sub: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sub {sub:?} has no `run` command, so it cannot run locally; add sub.{sub}.run")]
    NoCommand { sub: String },
    #[error(transparent)]
    Balancer(#[from] crate::balancer::BindError),
    #[error(transparent)]
    Gateway(#[from] crate::gateway::BindError),
    #[error("cannot start a replica of sub {sub:?}")]
    Spawn {
        sub: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "replica {replica} of sub {sub:?} did not become healthy on the new version: {reason}; {outcome}"
    )]
    RollFailed {
        sub: String,
        replica: u32,
        reason: String,
        outcome: String,
    },
    #[error("job {job:?} has no `run` command, so it cannot run locally; add job.{job}.run")]
    JobNoCommand { job: String },
    #[error(
        "job {job:?} is already running in {by}; wait for it to end, or follow it with `zeppelin logs {job} -f`"
    )]
    JobRunning {
        job: String,
        /// Who runs it: a `zeppelin run-job` or the app's supervisor, with its pid.
        by: String,
    },
    #[error("job {job:?} was not started: the app is stopping")]
    Stopping { job: String },
    #[error(
        "process(es) {pids} of job {job:?} left by a `zeppelin run-job` that was killed outlived SIGKILL (stuck in the kernel?); the job was not started, try again once they are gone"
    )]
    JobOutlivedKill { job: String, pids: String },
    #[error("job {job:?} failed: {reason}; {consequence}")]
    JobFailed {
        job: String,
        reason: String,
        /// What became of the subs it gates.
        consequence: String,
    },
    /// A `before` job failed the background supervisor's start; `message` says how.
    #[error("{message}")]
    StartJobFailed { job: String, message: String },
    #[error(transparent)]
    UnknownJob(#[from] zeppelin_core::model::UnknownJob),
    #[error("sub {sub:?} did not become healthy: {reason}")]
    Unhealthy { sub: String, reason: String },
    #[error("app {app} is already running (supervisor pid {pid}); stop it with `zeppelin stop`")]
    AlreadyRunning { app: String, pid: String },
    #[error(
        "process(es) {pids} of a supervisor that was killed outlived SIGKILL (stuck in the kernel?) and may still write the app's data; nothing was started or deleted, try again once they are gone"
    )]
    OutlivedKill { pids: String },
    #[error("app {app} is not running; start it with `zeppelin run`")]
    NotRunning { app: String },
    #[error(
        "the app's supervisor went away while job {job:?} ran (it was killed, or crashed); its output so far is in {}, and `zeppelin ps` shows whether the app still runs",
        .log.display()
    )]
    SupervisorLost { job: String, log: PathBuf },
    #[error("cannot set up the supervisor")]
    Setup(#[source] std::io::Error),
    #[error("cannot talk to the supervisor at {}", .socket.display())]
    Control {
        socket: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the supervisor refused the request: {0}")]
    Refused(String),
    #[error("the background supervisor could not start the app: {0}")]
    StartFailed(String),
    #[error(transparent)]
    UnknownSub(#[from] zeppelin_core::model::UnknownSub),
    #[error("cannot load the app file")]
    Load(#[source] Box<zeppelin_core::LoadError>),
}
