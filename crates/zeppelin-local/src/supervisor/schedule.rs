//! The scheduler: runs each scheduled job at the times of its schedule, on the jobs'
//! [`Clock`](crate::job::Clock), never two runs of a job at once: a due time while a run
//! still goes is skipped and counted (`ps` shows it), and so are all but one of several
//! due times at once (those while the app started, or while the machine slept). It reads the schedules again whenever
//! the app file is applied, and ends when the app stops.

use std::sync::Arc;

use zeppelin_core::model::Job;
use zeppelin_core::schedule::Schedule;

use crate::environment::AppEnv;
use crate::job::clock::decide;
use crate::supervisor::jobs::Jobs;
use crate::supervisor::subs::Subs;

/// Runs the schedules of the app until it stops, counting due times from `since` (when the
/// app started: those that passed while it started get one run at once, the rest are
/// counted as skipped).
pub(super) async fn run(subs: Arc<Subs>, jobs: Arc<Jobs>, mut since: jiff::Timestamp) {
    let clock = jobs.clock.clone();
    loop {
        let app = subs.state.app();
        let schedules: Vec<(Job, Schedule)> = app
            .jobs
            .values()
            // A job without `run` cannot run here; `run` said so at the start.
            .filter(|job| job.run.is_some())
            .filter_map(|job| Some((job.clone(), job.schedule.as_ref()?.times().ok()?)))
            .collect();
        let wait = schedules
            .iter()
            .filter_map(|(_, schedule)| schedule.next(since))
            .min()
            .map(|next| clock.until(next));
        tokio::select! {
            () = sleep(wait) => {}
            () = jobs.rescheduled.notified() => continue,
            () = jobs.stop.cancelled() => return,
        }
        let now = clock.now();
        for (job, schedule) in &schedules {
            let decision = decide(schedule, since, now, subs.state.job_running(&job.name));
            if decision.skipped > 0 {
                tracing::info!(job = %job.name, skipped = decision.skipped, "due while a run still goes: skipped");
                subs.state.job_skipped(&job.name, decision.skipped);
                subs.runtime.changed.send_replace(());
            }
            if decision.run {
                tokio::spawn(run_now(Arc::clone(&subs), Arc::clone(&jobs), job.clone()));
            }
        }
        since = now;
    }
}

/// One scheduled run; why it could not start goes to the supervisor's diagnostics.
async fn run_now(subs: Arc<Subs>, jobs: Arc<Jobs>, job: Job) {
    let app = subs.state.app();
    let result = match AppEnv::resolve(&app, &subs.runtime.paths) {
        Ok(env) => jobs.run(&subs, &job, &env, None).await.map(drop),
        Err(err) => Err(err),
    };
    if let Err(error) = result {
        tracing::warn!(job = %job.name, error = %zeppelin_core::error_chain(&error), "a scheduled run did not start");
    }
}

async fn sleep(wait: Option<std::time::Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}
