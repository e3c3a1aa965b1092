//! The supervisor: the subs of one app and their replicas, started in dependency order with
//! health gating, stopped in reverse order, and changed live (stop, restart, scale, apply).
//!
//! [`Supervisor`] is the façade the control socket and [`crate::serve`] call. Its state has
//! one owner ([`state`]: the app, what runs of each sub, behind one lock that is never held
//! across an `.await`), so status can be read at any time. Operations that change what runs
//! are serialized by one async gate, which owns the balancers and the gateway ([`traffic`])
//! they change: two operations interleaving would start, roll or stop the same replicas
//! twice. The operations are built in [`reconcile`] from the steps in [`subs`]; restarts and
//! changed subs are rolled one replica at a time ([`roll`]); [`status`] builds what `ps`
//! prints. Jobs run through [`jobs`] (a `before` job inside the operation that needs it,
//! any job on demand) and [`schedule`] (scheduled jobs at their times); they do not take
//! the gate, and a stop ends them before the subs.

mod jobs;
mod reconcile;
mod roll;
mod schedule;
mod state;
mod status;
mod subs;
mod traffic;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use zeppelin_core::App;
use zeppelin_core::status::{AppStatus, JobRun};

use crate::capture::Echo;
use crate::environment::AppEnv;
use crate::error::Error;
use crate::job::record::Record;
use crate::job::{Clock, OnJobEvent};
use crate::paths::AppPaths;
use crate::reaper::Reaper;
use crate::runtime::ReplicaRuntime;

pub use jobs::JobsRan;
use jobs::{Jobs, Watcher};
pub use reconcile::{Applied, FailedJob, Rolled};
use state::{JobBook, State};
use subs::{Subs, preflight_env};
use traffic::Traffic;

/// Settings of a supervisor that do not come from the app file.
#[derive(Clone, Default)]
pub struct Options {
    /// The `zeppelin` binary, to start replicas through its launcher.
    pub launcher: Option<PathBuf>,
    /// Shown every captured line (the foreground terminal).
    pub echo: Option<Echo>,
    /// How long a sub may take to become healthy when it is started.
    pub start_timeout: Option<Duration>,
    /// Called once, when every sub has become healthy after the start.
    pub on_started: Option<Arc<dyn Fn() + Send + Sync>>,
    /// The gateway's port instead of the app file's `[gateway] port`.
    pub gateway_port: Option<u16>,
    /// The time jobs are scheduled in: the wall clock, or a test's faster one.
    pub clock: Clock,
    /// Told how jobs run (the foreground terminal).
    pub on_job: Option<OnJobEvent>,
    /// Run every `before` job at the start, changed or not (`--rerun-jobs`).
    pub rerun_jobs: bool,
}

/// How long a sub may take to become healthy, unless told otherwise.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);

/// One app's running subs.
pub struct Supervisor {
    /// Shared with the scheduler and the tasks it starts.
    subs: Arc<Subs>,
    /// What runs of jobs share; also shared with the scheduler.
    jobs: Arc<Jobs>,
    /// The operation gate: held for the whole of an operation that changes what runs, and
    /// the owner of the balancers and gateway such operations change.
    ops: tokio::sync::Mutex<Traffic>,
    /// When the supervisor was made, on the jobs' clock: due times from then on count,
    /// those that pass while the app starts included.
    created: jiff::Timestamp,
}

/// The books of `jobs` as kept in `.zeppelin/jobs/` from earlier runs.
fn kept_books<'a>(
    paths: &AppPaths,
    jobs: impl Iterator<Item = &'a String>,
) -> BTreeMap<String, JobBook> {
    jobs.map(|job| {
        let book = JobBook {
            last_run: Record::load(paths, job).last_run,
            ..JobBook::default()
        };
        (job.clone(), book)
    })
    .collect()
}

impl Supervisor {
    /// A supervisor for `app`, with nothing started. Must be created inside a tokio runtime.
    pub fn new(app: App, paths: AppPaths, options: Options) -> Result<Self, Error> {
        let reaper = Reaper::start().map_err(Error::Setup)?;
        let books = kept_books(&paths, app.jobs.keys());
        let created = options.clock.now();
        let runtime = Arc::new(ReplicaRuntime::new(paths, reaper, options.launcher));
        Ok(Self {
            subs: Arc::new(Subs {
                runtime,
                state: Arc::new(State::new(app, options.gateway_port, books)),
                echo: options.echo,
                start_timeout: options.start_timeout.unwrap_or(DEFAULT_START_TIMEOUT),
            }),
            jobs: Arc::new(Jobs {
                clock: options.clock,
                stop: tokio_util::sync::CancellationToken::new(),
                on_event: options.on_job,
                rescheduled: tokio::sync::Notify::new(),
                runs: jobs::Runs::default(),
            }),
            ops: tokio::sync::Mutex::new(Traffic::default()),
            created,
        })
    }

    /// Makes the next stops kill at once instead of waiting for the stop timeout.
    pub fn force(&self) {
        self.subs.runtime.force.cancel();
    }

    /// Starts every sub in dependency order, each once the subs it depends on are healthy
    /// and the `before` jobs gating it succeeded (`rerun_jobs`: each runs even when its
    /// inputs are unchanged). On failure what was started keeps running; the caller stops it.
    pub async fn start(&self, rerun_jobs: bool) -> Result<JobsRan, Error> {
        let mut traffic = self.ops.lock().await;
        reconcile::start(&self.subs, &self.jobs, &mut traffic, rerun_jobs).await
    }

    /// Starts running the scheduled jobs at their times, until the app stops. Due times
    /// that passed while the app started are handled at once: one run, the rest skipped.
    pub fn start_schedules(&self) {
        tokio::spawn(schedule::run(
            Arc::clone(&self.subs),
            Arc::clone(&self.jobs),
            self.created,
        ));
    }

    /// Stops every running job (and the scheduler), then every sub, in reverse dependency
    /// order; `true` when all stopped cleanly. Jobs go first, without waiting for the
    /// operation gate: a start may be waiting for one of them.
    pub async fn stop_all(&self) -> bool {
        self.jobs.stop_all().await;
        let _gate = self.ops.lock().await;
        reconcile::stop_all(&self.subs).await
    }

    /// Runs job `name` of the app now, its output and events also handed to `echo` and
    /// `on_event` (a `run-job` caller's); refused while a run of it goes. Does not wait for
    /// the operation gate: a job runs beside what runs.
    pub async fn run_job(
        &self,
        name: &str,
        echo: Echo,
        on_event: OnJobEvent,
    ) -> Result<JobRun, Error> {
        let app = self.subs.state.app();
        let job = app.job(name)?;
        let env = AppEnv::resolve(&app, &self.subs.runtime.paths)?;
        let watcher = Watcher { echo, on_event };
        self.jobs.run(&self.subs, job, &env, Some(watcher)).await
    }

    /// Stops the named subs (their replicas stay listed as stopped).
    pub async fn stop(&self, subs: &[String]) -> Result<bool, Error> {
        let names = self.subs.state.resolve_subs(subs)?;
        let _gate = self.ops.lock().await;
        Ok(reconcile::stop(&self.subs, &names).await)
    }

    /// `zeppelin stop --delete-data`: stops those of `subs` that run (they stay listed as
    /// stopped) and deletes the data of every one, all while holding the operation gate, so
    /// no start, roll or apply can start a replica on the data meanwhile. A sub of the app
    /// stays stopped until `run -d` or `restart` starts it again, on empty folders. `subs`
    /// may name subs that left the app but kept their data. Returns the subs stopped.
    pub async fn delete_data(&self, subs: &[String]) -> Result<Vec<String>, Error> {
        let _gate = self.ops.lock().await;
        let running = self.subs.state.running();
        let stopped: Vec<String> = self
            .subs
            .state
            .stop_order()
            .into_iter()
            .filter(|s| subs.contains(s) && running.contains(s))
            .collect();
        for sub in &stopped {
            self.subs.stop_sub(sub).await;
        }
        let paths = self.subs.runtime.paths.clone();
        let subs = subs.to_vec();
        tokio::task::spawn_blocking(move || {
            subs.iter()
                .try_for_each(|sub| crate::volumes::delete_sub_data(&paths, sub).map(drop))
        })
        .await
        .expect("deleting data does not panic")?;
        Ok(stopped)
    }

    /// Restarts the named subs one replica at a time: each new replica is ready before the
    /// old one is drained and stopped (a stateful sub's old replica stops first, see
    /// `roll.rs`). Returns the stateful subs rolled.
    /// The `before` jobs gating them run first when their inputs changed (or `rerun_jobs`).
    pub async fn restart(
        &self,
        subs: &[String],
        rerun_jobs: bool,
    ) -> Result<(Vec<Rolled>, JobsRan), Error> {
        let names = self.subs.state.resolve_subs(subs)?;
        let _gate = self.ops.lock().await;
        reconcile::restart(&self.subs, &self.jobs, names, rerun_jobs).await
    }

    /// Sets the number of replicas of subs; new replicas are waited until healthy. A
    /// stateful sub keeps the data of the replicas it stops for when it grows again.
    pub async fn scale(&self, counts: &BTreeMap<String, u32>) -> Result<(), Error> {
        let names: Vec<String> = counts.keys().cloned().collect();
        self.subs.state.resolve_subs(&names)?;
        let _gate = self.ops.lock().await;
        reconcile::scale(&self.subs, counts).await
    }

    /// Makes what runs match `app`: new subs start, changed subs are rolled one replica at
    /// a time (replaced outright when their port changed), subs whose replica count alone
    /// changed are scaled, removed subs stop, the rest is left alone.
    /// `gateway_port` is the new run's `--gateway-port`: the gateway moves when it differs.
    /// A `before` job runs first when its inputs changed (or `rerun_jobs`); when it fails,
    /// the subs it gates (and those depending on them) are left as they were, the rest is
    /// applied, and the report names the failure and what was held back. The scheduler
    /// takes the new schedules.
    pub async fn apply(
        &self,
        app: App,
        gateway_port: Option<u16>,
        rerun_jobs: bool,
    ) -> Result<Applied, Error> {
        let env = preflight_env(&app, &self.subs.runtime.paths)?;
        let mut traffic = self.ops.lock().await;
        let new = self.subs.state.read(|run| -> Vec<String> {
            app.jobs
                .keys()
                .filter(|j| !run.jobs.contains_key(*j))
                .cloned()
                .collect()
        });
        let paths = self.subs.runtime.paths.clone();
        let books = tokio::task::spawn_blocking(move || kept_books(&paths, new.iter()))
            .await
            .expect("reading job records does not panic");
        self.subs.state.add_job_books(books);
        let applied = reconcile::apply(
            &self.subs,
            &self.jobs,
            &mut traffic,
            app,
            &env,
            gateway_port,
            rerun_jobs,
        )
        .await;
        self.jobs.rescheduled.notify_one();
        applied
    }

    /// The app's routes and where each goes, with the gateway's port: what `zeppelin
    /// routes` prints.
    pub fn routes(&self) -> (u16, Vec<crate::gateway::RouteTarget>) {
        self.subs.state.read(|run| {
            let port = run.gateway_port.unwrap_or(run.app.gateway.port);
            (port, crate::gateway::route_targets(&run.app))
        })
    }

    /// What runs now, in the status model `ps` prints, with the size of every stateful
    /// replica's volumes.
    pub async fn status(&self) -> AppStatus {
        let paths = &self.subs.runtime.paths;
        let clock = &self.jobs.clock;
        let mut app = self
            .subs
            .state
            .read(|run| status::app_status(run, paths, clock));
        tokio::task::spawn_blocking(move || {
            status::measure(&mut app);
            app
        })
        .await
        .expect("measuring volumes does not panic")
    }
}
