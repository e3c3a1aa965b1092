//! `zeppelin run-job NAME` while no supervisor runs the app: the job runs in this process,
//! with the environment a replica gets, its output going to `log/<job>.log` and to the
//! caller, its run recorded for `ps` and for the next start (a `before` job that succeeded
//! here does not run again for the same inputs). Ctrl-C, SIGTERM or SIGHUP stop it as
//! `zeppelin stop` would.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use zeppelin_core::App;
use zeppelin_core::status::JobRun;

use crate::capture::{Echo, SubLog};
use crate::environment::AppEnv;
use crate::error::Error;
use crate::job::process::{self, JobContext, OnJobEvent};
use crate::job::record::{Record, RunLock};
use crate::paths::AppPaths;
use crate::reaper::Reaper;
use crate::runtime::ReplicaRuntime;

/// Runs job `name` of `app` once, here and now; `echo` is shown every line of its output.
/// Refused when the job is already running.
pub fn run_alone(
    app: &App,
    name: &str,
    launcher: Option<PathBuf>,
    echo: Echo,
    on_event: &OnJobEvent,
) -> Result<JobRun, Error> {
    let job = app.job(name)?.clone();
    let paths = AppPaths::new(app.dir());
    let lock = RunLock::take(&paths, name)?;
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
        let host = Arc::new(ReplicaRuntime::alone(paths.clone(), reaper, launcher));
        let stop = CancellationToken::new();
        let signals = tokio::spawn(stop_on_signals(stop.clone(), Arc::clone(&host)));
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

/// First signal: stop the run gracefully; any further one: kill it at once.
async fn stop_on_signals(stop: CancellationToken, host: Arc<ReplicaRuntime>) {
    let streams = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ]
    .map(signal);
    let [Ok(mut int), Ok(mut term), Ok(mut hup)] = streams else {
        return;
    };
    loop {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        if stop.is_cancelled() {
            host.force.cancel();
        } else {
            stop.cancel();
        }
    }
}
