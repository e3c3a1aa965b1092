//! How the supervisor runs jobs: one run at a time per job (its lock and its book in the
//! state), each in a task of its own so a stop always finds and ends it; `before` jobs run
//! inside an operation (start, apply, restart) only when their inputs changed since their
//! last success, or when asked to (`--rerun-jobs`).

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use zeppelin_core::model::Job;
use zeppelin_core::status::JobRun;

use crate::capture::{Echo, SubLog};
use crate::environment::AppEnv;
use crate::error::Error;
use crate::job::clock::Clock;
use crate::job::inputs::inputs_of;
use crate::job::process::{self, JobContext, JobEvent, OnJobEvent};
use crate::job::record::{Holder, Record, RunLock};
use crate::supervisor::subs::Subs;

/// What the supervisor's jobs share.
pub(crate) struct Jobs {
    pub(crate) clock: Clock,
    /// Cancelled when the app stops: every run stops, and so does the scheduler.
    pub(crate) stop: CancellationToken,
    pub(crate) on_event: Option<OnJobEvent>,
    /// Poked when the app file was applied, so the scheduler reads the schedules again.
    pub(crate) rescheduled: Notify,
    /// The runs going, for the stop to wait for.
    pub(crate) runs: Runs,
}

/// The task of every run, and the gate that keeps a run from starting once the stop began:
/// a run starts (or is refused) and the stop begins each under the gate, so the stop
/// waits for every run that started and none starts after it.
#[derive(Default)]
pub(crate) struct Runs {
    gate: std::sync::Mutex<()>,
    tasks: TaskTracker,
}

/// The `before` jobs an operation ran, and those it did not run because their inputs were
/// those of their last success.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JobsRan {
    pub ran: Vec<String>,
    pub unchanged: Vec<String>,
}

/// Whoever waits on one run besides the supervisor's own terminal (a `run-job` caller):
/// shown each line of its output and each of its events.
pub(crate) struct Watcher {
    pub(crate) echo: Echo,
    pub(crate) on_event: OnJobEvent,
}

impl Jobs {
    /// Runs `job` now with the app's environment `env`, also shown to `watcher`. Refused
    /// when a run of it goes (here, or alone in another command), and once the app stops.
    pub(crate) async fn run(
        &self,
        subs: &Subs,
        job: &Job,
        env: &AppEnv,
        watcher: Option<Watcher>,
    ) -> Result<JobRun, Error> {
        self.refuse_when_stopping(&job.name)?;
        let (paths, name) = (subs.runtime.paths.clone(), job.name.clone());
        let lock =
            tokio::task::spawn_blocking(move || RunLock::take(&paths, &name, Holder::Supervisor))
                .await
                .map_err(|_| {
                    Error::Setup(std::io::Error::other("taking a job's lock panicked"))
                })??;
        self.run_locked(subs, job, env, watcher, lock).await
    }

    fn refuse_when_stopping(&self, job: &str) -> Result<(), Error> {
        if self.stop.is_cancelled() {
            return Err(Error::Stopping {
                job: job.to_owned(),
            });
        }
        Ok(())
    }

    /// [`Self::run`] once the job's lock is held.
    async fn run_locked(
        &self,
        subs: &Subs,
        job: &Job,
        env: &AppEnv,
        watcher: Option<Watcher>,
        lock: RunLock,
    ) -> Result<JobRun, Error> {
        let paths = &subs.runtime.paths;
        let (tee, watched) = watcher.map(|w| (w.echo, w.on_event)).unzip();
        let echo: Option<Echo> = match (subs.echo.clone(), tee) {
            (Some(shown), Some(tee)) => Some(Arc::new(move |line: &crate::LogLine<'_>| {
                shown(line);
                tee(line);
            })),
            (shown, tee) => shown.or(tee),
        };
        let on_event: Option<OnJobEvent> = match (self.on_event.clone(), watched) {
            (Some(told), Some(watched)) => Some(Arc::new(move |event: &JobEvent<'_>| {
                told(event);
                watched(event);
            })),
            (told, watched) => told.or(watched),
        };
        let app_logs = subs.state.read(|run| run.app.logs.clone());
        let (log, writer) =
            SubLog::open_joined(&job.name, paths.log_file(&job.name), app_logs, echo)?;
        let ctx = JobContext::new(job, env, log)?;
        let runtime = Arc::clone(&subs.runtime);
        let state = Arc::clone(&subs.state);
        let stop = self.stop.clone();
        // A task of its own: an operation that gives up waiting (the start, on Ctrl-C) does
        // not leave the process unwatched; the stop ends it, and waits for it.
        let gate = self.runs.gate.lock().expect("job runs gate");
        self.refuse_when_stopping(&job.name)?;
        let started = self.clock.now();
        subs.state.job_started(&job.name, started);
        subs.runtime.changed.send_replace(());
        let task = self.runs.tasks.spawn(async move {
            let silent = |_: &JobEvent<'_>| {};
            let told: &(dyn Fn(&JobEvent<'_>) + Send + Sync) = match &on_event {
                Some(on_event) => &**on_event,
                None => &silent,
            };
            let run = process::run(&runtime, &ctx, started, &stop, told).await;
            let name = ctx.job.name.clone();
            let inputs = ctx.inputs.clone();
            drop(ctx);
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
            if let Err(error) = Record::save_run(&runtime.paths, &name, &run, &inputs) {
                tracing::warn!(job = %name, error = %zeppelin_core::error_chain(&error), "cannot record a job's run");
            }
            state.job_finished(&name, run.clone());
            runtime.changed.send_replace(());
            drop(lock);
            run
        });
        drop(gate);
        task.await
            .map_err(|_| Error::Setup(std::io::Error::other("a job's task ended abnormally")))
    }

    /// Runs the `before` job `job` when its inputs changed since its last success, or
    /// `force`; `Ok(true)` when it ran (and succeeded). A failure is an error saying what
    /// became of the subs it gates (`consequence`).
    pub(crate) async fn run_before(
        &self,
        subs: &Subs,
        job: &Job,
        env: &AppEnv,
        force: bool,
        consequence: &str,
    ) -> Result<bool, Error> {
        let inputs = inputs_of(job, env)?;
        let paths = &subs.runtime.paths;
        let unchanged = || {
            let last = Record::load(paths, &job.name);
            !force && last.succeeded_inputs.as_deref() == Some(inputs.as_str())
        };
        let told_unchanged = || {
            if let Some(on_event) = &self.on_event {
                on_event(&JobEvent::Unchanged { job: &job.name });
            }
            Ok(false)
        };
        if unchanged() {
            return told_unchanged();
        }
        self.refuse_when_stopping(&job.name)?;
        // A run going elsewhere (`run-job`, the scheduler) is waited for, as long as the job
        // may run; it may have just done what this run would.
        let lock = RunLock::wait(
            paths,
            &job.name,
            Holder::Supervisor,
            job.timeout.get(),
            &self.stop,
        )
        .await?;
        if unchanged() {
            return told_unchanged();
        }
        let run = self.run_locked(subs, job, env, None, lock).await?;
        if run.exit == Some(0) {
            return Ok(true);
        }
        Err(Error::JobFailed {
            job: job.name.clone(),
            reason: run.reason.unwrap_or_else(|| "it failed".to_owned()),
            consequence: format!(
                "the subs it gates ({}) {consequence}",
                job.before.join(", ")
            ),
        })
    }

    /// Stops every running job (gracefully, or at once once forced), refuses every new
    /// run, and waits, bounded, until every run's task ended (its processes gone, its run
    /// recorded).
    pub(crate) async fn stop_all(&self) {
        {
            let _gate = self.runs.gate.lock().expect("job runs gate");
            self.stop.cancel();
            self.runs.tasks.close();
        }
        let bound = zeppelin_core::Sub::DEFAULT_STOP_TIMEOUT.get() + crate::sweep::GONE_WAIT * 2;
        let _ = tokio::time::timeout(bound, self.runs.tasks.wait()).await;
    }
}

/// Records `ran` (or not) of `job` in `report`.
pub(crate) fn note(report: &mut JobsRan, job: &Job, ran: bool) {
    if ran {
        report.ran.push(job.name.clone());
    } else {
        report.unchanged.push(job.name.clone());
    }
}
