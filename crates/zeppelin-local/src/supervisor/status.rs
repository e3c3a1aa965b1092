//! What runs, in the status model `ps` prints: built from the supervisor's state and what
//! each replica reports, then (outside the state's lock) the size of each stateful
//! replica's volumes.

use zeppelin_core::Sub;
use zeppelin_core::model::Job;
use zeppelin_core::status::{AppStatus, JobState, JobStatus, ReplicaStatus, Runtime, SubStatus};

use crate::job::Clock;
use crate::paths::AppPaths;
use crate::supervisor::state::{AppRun, JobBook, SubRun};
use crate::volumes;

/// The status of every sub with a run, in start order, and of every job of the app (next
/// runs on `clock`); volumes are not measured yet ([`measure`]).
pub(crate) fn app_status(run: &AppRun, paths: &AppPaths, clock: &Clock) -> AppStatus {
    let subs = run
        .app
        .start_order()
        .into_iter()
        .filter_map(|sub| run.subs.get(&sub.name).map(|s| (sub, s)))
        .map(|(sub, s)| sub_status(sub, s, paths))
        .collect();
    AppStatus {
        app: run.app.name.clone(),
        runtime: Runtime::Local,
        subs,
        jobs: run
            .app
            .jobs
            .values()
            .map(|job| job_status(job, run.jobs.get(&job.name), clock))
            .collect(),
        endpoints: Vec::new(),
    }
}

/// A job as `ps` shows it: what triggers it, whether it runs, its last run (here, or kept
/// from before), its next due time and the due times it skipped. A job without `run`
/// cannot run here: it has no next run.
fn job_status(job: &Job, book: Option<&JobBook>, clock: &Clock) -> JobStatus {
    let book = book.cloned().unwrap_or_default();
    let state = match &book.last_run {
        _ if book.running => JobState::Running,
        _ if job.run.is_none() => JobState::NoCommand,
        None => JobState::NotRun,
        Some(run) if run.exit == Some(0) => JobState::Succeeded,
        Some(_) => JobState::Failed,
    };
    JobStatus {
        name: job.name.clone(),
        trigger: job.trigger(),
        schedule: job.schedule.as_ref().map(ToString::to_string),
        state,
        last_run: book.last_run,
        next_run: job
            .schedule
            .as_ref()
            .filter(|_| job.run.is_some())
            .and_then(|s| s.times().ok())
            .and_then(|times| times.next(clock.now())),
        skipped: book.skipped,
    }
}

/// Counts the bytes of every replica's volumes (a walk of their folders: blocking I/O),
/// within one budget so `ps` stays quick: past it, counts are lower bounds.
pub(crate) fn measure(status: &mut AppStatus) {
    let mut budget = volumes::Budget::for_status();
    for sub in &mut status.subs {
        for replica in &mut sub.replicas {
            volumes::measure(&mut replica.volumes, &mut budget);
        }
    }
}

fn sub_status(sub: &Sub, run: &SubRun, paths: &AppPaths) -> SubStatus {
    let replicas: Vec<ReplicaStatus> = run
        .replicas
        .iter()
        .map(|replica| {
            let info = replica.info();
            let running = info.started.is_some();
            ReplicaStatus {
                name: format!("{}.{}", sub.name, replica.index),
                state: info.state,
                ready: info.ready,
                restarts: info.restarts,
                uptime: info.started.map(|s| s.elapsed()),
                pid: info.pid.filter(|_| running),
                port: info.port.filter(|_| running),
                node: None,
                reason: info.reason,
                last_exit: info.last_exit,
                volumes: volumes::statuses(paths, sub, replica.index),
            }
        })
        .collect();
    SubStatus {
        name: sub.name.clone(),
        desired: u32::try_from(run.replicas.len()).unwrap_or(u32::MAX),
        ready: u32::try_from(replicas.iter().filter(|r| r.ready).count()).unwrap_or(u32::MAX),
        updated: None,
        available: None,
        address: sub.port.map(|port| format!("127.0.0.1:{port}")),
        replicas,
    }
}
