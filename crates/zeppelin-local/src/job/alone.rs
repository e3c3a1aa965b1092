//! `zeppelin run-job NAME` while no supervisor runs the app: the job runs in this process,
//! with the environment a replica gets, its output going to `log/<job>.log` and to the
//! caller, its run recorded for `ps` and for the next start (a `before` job that succeeded
//! here does not run again for the same inputs). Ctrl-C, SIGTERM or SIGHUP stop it as
//! `zeppelin stop` would. Should this process be killed with SIGKILL, what the run left is
//! killed by the job's next taker ([`crate::job::leftovers`]).

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use zeppelin_core::App;
use zeppelin_core::status::JobRun;

use crate::capture::{Echo, SubLog};
use crate::environment::AppEnv;
use crate::error::Error;
use crate::job::process::{self, JobContext, OnJobEvent};
use crate::job::record::{Holder, Record, RunLock};
use crate::paths::AppPaths;
use crate::reaper::Reaper;
use crate::runtime::ReplicaRuntime;

/// Runs job `name` of `app` once, here and now; `echo` is shown every line of its output.
/// Refused when the job is already running; a run that was stopped (a signal) ends with
/// reason `stopped`.
pub fn run_alone(
    app: &App,
    name: &str,
    launcher: Option<PathBuf>,
    echo: Echo,
    on_event: &OnJobEvent,
) -> Result<JobRun, Error> {
    let job = app.job(name)?.clone();
    let paths = AppPaths::new(app.dir());
    let lock = RunLock::take(&paths, name, Holder::RunJob)?;
    let env = AppEnv::resolve(app, &paths)?;
    let (log, writer) =
        SubLog::open_joined(name, paths.log_file(name), app.logs.clone(), Some(echo))?;
    let ctx = JobContext::new(&job, &env, log)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Setup)?;
    let run = runtime.block_on(async {
        let reaper = Reaper::start().map_err(Error::Setup)?;
        let host = Arc::new(ReplicaRuntime::alone(paths.clone(), reaper, launcher, name));
        let stop = CancellationToken::new();
        let force = Arc::clone(&host);
        let signals = tokio::spawn(crate::signals::on_signals(stop.clone(), move || {
            force.force.cancel();
        }));
        let run = process::run(&host, &ctx, jiff::Timestamp::now(), &stop, &**on_event).await;
        signals.abort();
        Ok::<_, Error>(run)
    })?;
    let inputs = ctx.inputs.clone();
    drop(ctx);
    let _ = writer.join();
    Record::save_run(&paths, name, &run, &inputs)?;
    drop(lock);
    Ok(run)
}
