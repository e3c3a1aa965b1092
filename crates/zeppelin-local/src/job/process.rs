//! One run of a job: its process started as a replica's is (`sh -c RUN` in the app folder,
//! through the launcher, in a process group of its own, with the environment a replica
//! gets), its output captured into `log/<job>.log`, tried again up to `retries` times when
//! it fails, all attempts together bounded by `timeout`. A run that times out or is stopped
//! gets SIGTERM on its whole process group, then SIGKILL after the grace; whatever is left
//! of the group, or carries its marker, is killed and waited for before the run ends.

use std::collections::BTreeMap;
use std::time::Instant;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use zeppelin_core::model::Job;
use zeppelin_core::status::JobRun;
use zeppelin_core::{AppDuration, Sub};

use crate::capture::{Stream, SubLog};
use crate::environment::AppEnv;
use crate::error::Error;
use crate::job::inputs::inputs_of;
use crate::reaper::{Exit, pid_of};
use crate::replica::{DRAIN, LOST, pipe_of, terminate};
use crate::runtime::ReplicaRuntime;
use crate::sweep::{self, GONE_WAIT, MARKER, Marked};

/// Everything one run of a job needs.
pub(crate) struct JobContext {
    pub(crate) job: Job,
    pub(crate) command: String,
    pub(crate) env: BTreeMap<String, String>,
    /// Variables of Zeppelin's own environment that hold secret values: not passed on.
    pub(crate) hidden: Vec<String>,
    /// The hash of the inputs ([`crate::job::inputs`]).
    pub(crate) inputs: String,
    pub(crate) log: SubLog,
}

/// Called with every [`JobEvent`] (the foreground terminal).
pub type OnJobEvent = std::sync::Arc<dyn Fn(&JobEvent<'_>) + Send + Sync>;

impl JobContext {
    /// What one run of `job` runs with, its output going to `log`.
    pub(crate) fn new(job: &Job, env: &AppEnv, log: SubLog) -> Result<Self, Error> {
        let inputs = inputs_of(job, env)?;
        Ok(Self {
            job: job.clone(),
            command: job.run.clone().unwrap_or_default(),
            env: env.for_sub(&job.env),
            hidden: env.hidden.clone(),
            inputs,
            log,
        })
    }
}

/// Told as a run goes, for the foreground terminal.
#[derive(Debug, Clone, Copy)]
pub enum JobEvent<'a> {
    /// A `before` job did not run: its inputs are those of its last success.
    Unchanged { job: &'a str },
    /// A job starts (attempt 1), or starts again after a failed attempt.
    Attempt {
        job: &'a str,
        attempt: u32,
        of: u32,
        /// Why the attempt before failed.
        after: Option<&'a str>,
    },
    /// A run ended.
    Finished { job: &'a str, run: &'a JobRun },
}

/// How one attempt ended.
enum Ending {
    Exited(Exit),
    TimedOut,
    Stopped,
}

/// Runs the job to its end: success, failure after its retries, its timeout, or `stop`.
/// The run's start is `started` (on the caller's clock, as the caller showed it while the
/// run went); its duration is real time.
pub(crate) async fn run(
    runtime: &ReplicaRuntime,
    ctx: &JobContext,
    started: jiff::Timestamp,
    stop: &CancellationToken,
    on_event: &(dyn Fn(&JobEvent<'_>) + Send + Sync),
) -> JobRun {
    let name = ctx.job.name.as_str();
    let real = Instant::now();
    let timeout = ctx.job.timeout.get();
    let deadline = tokio::time::Instant::now() + timeout;
    let of = ctx.job.retries.saturating_add(1);
    let mut attempt = 0;
    let mut after: Option<String> = None;
    let (exit, reason) = loop {
        attempt += 1;
        on_event(&JobEvent::Attempt {
            job: name,
            attempt,
            of,
            after: after.as_deref(),
        });
        let (exit, reason) = match attempt_once(runtime, ctx, deadline, stop).await {
            Ok(Ending::Exited(Exit::Code(0))) => break (Some(0), None),
            Ok(Ending::Exited(exit)) => (
                Some(exit.status()),
                format!("exited with status {}", exit.status()),
            ),
            Ok(Ending::TimedOut) => {
                break (
                    None,
                    Some(format!("timed out after {}", AppDuration::from(timeout))),
                );
            }
            Ok(Ending::Stopped) => break (None, Some("stopped".to_owned())),
            Err(reason) => (None, reason),
        };
        if attempt >= of || stop.is_cancelled() {
            let tried = if attempt > 1 {
                format!(" after {attempt} attempts")
            } else {
                String::new()
            };
            break (exit, Some(format!("{reason}{tried}")));
        }
        after = Some(reason);
    };
    let run = JobRun {
        id: None,
        started,
        duration: Some(real.elapsed()),
        attempts: attempt,
        exit,
        reason,
    };
    on_event(&JobEvent::Finished {
        job: name,
        run: &run,
    });
    run
}

/// One attempt: `Err` when the process could not start.
async fn attempt_once(
    runtime: &ReplicaRuntime,
    ctx: &JobContext,
    deadline: tokio::time::Instant,
    stop: &CancellationToken,
) -> Result<Ending, String> {
    let instance = runtime.next_instance();
    let mut command = runtime.command(&ctx.command);
    for var in &ctx.hidden {
        command.env_remove(var);
    }
    command
        .current_dir(&runtime.paths.dir)
        .envs(&ctx.env)
        .env(MARKER, &instance)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let (mut child, exit) = runtime
        .reaper
        .spawn(command)
        .await
        .map_err(|err| format!("cannot start: {err}"))?;
    let pid = pid_of(&child);
    let mut captures = Vec::with_capacity(2);
    if let Some(out) = child.stdout.take().and_then(|p| pipe_of(p.into())) {
        captures.push(ctx.log.capture(out, 0, Stream::Out));
    }
    if let Some(err) = child.stderr.take().and_then(|p| pipe_of(p.into())) {
        captures.push(ctx.log.capture(err, 0, Stream::Err));
    }
    runtime.record_group(&instance, pid);
    let group = Pid::from_raw(pid);
    let mut exit: oneshot::Receiver<Exit> = exit;
    let ending = tokio::select! {
        status = &mut exit => Ending::Exited(status.unwrap_or(LOST)),
        () = tokio::time::sleep_until(deadline) => Ending::TimedOut,
        () = stop.cancelled() => Ending::Stopped,
    };
    if !matches!(ending, Ending::Exited(_)) {
        terminate(group, exit, Sub::DEFAULT_STOP_TIMEOUT.get(), &runtime.force).await;
    }
    // Whatever is left in the group, and whatever left it, goes too.
    let _ = killpg(group, Signal::SIGKILL);
    let marked = instance.clone();
    let left = tokio::task::spawn_blocking(move || {
        sweep::kill_until_gone(Some(group.as_raw()), Marked::Instance(&marked), GONE_WAIT)
    })
    .await
    .unwrap_or_default();
    if left.is_empty() {
        runtime.forget_group(&instance);
    } else {
        tracing::warn!(job = %ctx.job.name, ?left, "processes outlived SIGKILL");
    }
    for capture in captures {
        let abort = capture.abort_handle();
        if tokio::time::timeout(DRAIN, capture).await.is_err() {
            abort.abort();
        }
    }
    Ok(ending)
}
