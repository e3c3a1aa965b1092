//! The steps of a deploy with `before` jobs, after everything else was applied: each job
//! in order once the subs it depends on rolled out (or not at all when a Job of the same
//! inputs already succeeded), each gated workload once its jobs succeeded, and the waits
//! between them, all within the deploy's one deadline.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use super::events::{DeployEvent, DeployOptions, DeployReport};
use crate::cluster::apply;
use crate::cluster::before_jobs::BeforeJob;
use crate::cluster::connect::Cluster;
use crate::cluster::error::ClusterError;
use crate::cluster::inventory::Inventory;
use crate::cluster::job_wait;
use crate::cluster::revision;
use crate::cluster::revision::job_runs::{JobOutcome, JobRun};
use crate::cluster::rollout::{self, WaitEvent, WaitOptions, Workload, WorkloadKind};
use crate::cluster::target::Target;
use crate::render::manifest::{Item, Manifest};

/// What a deploy applies after its first step: the `before` jobs (each with whether it
/// runs) and the workloads they gate, compared with the objects `before` the deploy.
pub(super) struct Held {
    pub(super) before: Inventory,
    pub(super) jobs: Vec<(BeforeJob, Option<Item>)>,
    pub(super) workloads: Vec<Item>,
}

/// Applies `items` as one manifest, reporting each object.
async fn apply_items(
    cluster: &Cluster,
    items: Vec<Item>,
    before: &Inventory,
    options: &DeployOptions,
    report: &mut DeployReport,
    on_event: &mut (dyn FnMut(DeployEvent<'_>) + Send),
) -> Result<(), ClusterError> {
    if items.is_empty() {
        return Ok(());
    }
    let applied = apply::apply(cluster, &Manifest { items }, before, options.apply).await?;
    for object in &applied {
        on_event(DeployEvent::Applied(object));
    }
    report.applied.extend(applied);
    Ok(())
}

/// Without waiting: applies the jobs that run, then the workloads they gate.
pub(super) async fn apply_held(
    cluster: &Cluster,
    held: &Held,
    options: &DeployOptions,
    report: &mut DeployReport,
    on_event: &mut (dyn FnMut(DeployEvent<'_>) + Send),
) -> Result<Vec<JobRun>, ClusterError> {
    let mut runs = Vec::new();
    let mut items = Vec::new();
    for (job, item) in &held.jobs {
        let outcome = if let Some(item) = item {
            items.push(item.clone());
            JobOutcome::NotWaited
        } else {
            on_event(DeployEvent::JobUnchanged {
                job: &job.job,
                object: &job.object,
            });
            JobOutcome::AlreadySucceeded
        };
        runs.push(run_of(job, outcome, None));
    }
    apply_items(cluster, items, &held.before, options, report, on_event).await?;
    apply_items(
        cluster,
        held.workloads.clone(),
        &held.before,
        options,
        report,
        on_event,
    )
    .await?;
    Ok(runs)
}

fn run_of(job: &BeforeJob, outcome: JobOutcome, reason: Option<String>) -> JobRun {
    JobRun {
        job: job.job.clone(),
        object: job.object.clone(),
        outcome,
        reason,
    }
}

/// Runs each `before` job in order (once the subs it depends on rolled out) and applies
/// each gated workload once every job before it succeeded; `report.jobs` gets how each
/// job ended, also when one fails.
pub(super) async fn run_jobs(
    cluster: &Cluster,
    target: &Target,
    held: &Held,
    options: &DeployOptions,
    deadline: Instant,
    report: &mut DeployReport,
    on_event: &mut (dyn FnMut(DeployEvent<'_>) + Send),
) -> Result<(), ClusterError> {
    let mut applied: BTreeSet<String> = BTreeSet::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    for (job, item) in &held.jobs {
        let Some(item) = item else {
            on_event(DeployEvent::JobUnchanged {
                job: &job.job,
                object: &job.object,
            });
            report
                .jobs
                .push(run_of(job, JobOutcome::AlreadySucceeded, None));
            done.insert(job.job.clone());
            apply_ready(
                cluster,
                held,
                &done,
                &mut applied,
                options,
                report,
                on_event,
            )
            .await?;
            continue;
        };
        // What it depends on has rolled out (the ungated subs were applied already, the
        // gated ones once their jobs succeeded).
        let deps: Vec<Workload> = job
            .depends_on
            .iter()
            .filter_map(|sub| workload_of(&held.before, &held.workloads, report, sub))
            .collect();
        if !deps.is_empty() {
            wait_rollout(cluster, target, &deps, deadline, on_event).await?;
        }
        apply_items(
            cluster,
            vec![item.clone()],
            &held.before,
            options,
            report,
            on_event,
        )
        .await?;
        let left = deadline.saturating_duration_since(Instant::now());
        let waited = job_wait::wait(
            cluster,
            &target.namespace,
            &job.job,
            &job.object,
            left,
            |p| {
                on_event(DeployEvent::Job(p));
            },
        )
        .await;
        if let Err(failure) = waited {
            report
                .jobs
                .push(run_of(job, JobOutcome::Failed, Some(failure.reason)));
            return Err(failure.error);
        }
        report.jobs.push(run_of(job, JobOutcome::Succeeded, None));
        done.insert(job.job.clone());
        apply_ready(
            cluster,
            held,
            &done,
            &mut applied,
            options,
            report,
            on_event,
        )
        .await?;
    }
    Ok(())
}

/// Applies the gated workloads not applied yet whose jobs have all succeeded (`done`).
async fn apply_ready(
    cluster: &Cluster,
    held: &Held,
    done: &BTreeSet<String>,
    applied: &mut BTreeSet<String>,
    options: &DeployOptions,
    report: &mut DeployReport,
    on_event: &mut (dyn FnMut(DeployEvent<'_>) + Send),
) -> Result<(), ClusterError> {
    let ready: Vec<Item> = held
        .workloads
        .iter()
        .filter(|w| !applied.contains(w.name()))
        .filter(|w| {
            held.jobs
                .iter()
                .filter(|(j, _)| j.before.iter().any(|s| s == w.name()))
                .all(|(j, _)| done.contains(&j.job))
        })
        .cloned()
        .collect();
    applied.extend(ready.iter().map(|w| w.name().to_owned()));
    apply_items(cluster, ready, &held.before, options, report, on_event).await
}

/// The workload of `sub` a job waits for: the one applied, of the kind in the manifest.
fn workload_of(
    before: &Inventory,
    held: &[Item],
    report: &DeployReport,
    sub: &str,
) -> Option<Workload> {
    let kind = report
        .applied
        .iter()
        .find(|a| a.live["metadata"]["name"] == sub && WorkloadKind::of(&a.kind).is_some())
        .map(|a| a.kind.clone())
        .or_else(|| {
            held.iter()
                .find(|i| i.name() == sub)
                .map(|i| i.kind().to_owned())
        })
        .or_else(|| {
            before
                .objects
                .keys()
                .find(|(k, n)| n == sub && WorkloadKind::of(k).is_some())
                .map(|(k, _)| k.clone())
        })?;
    Some(Workload {
        sub: sub.to_owned(),
        kind: WorkloadKind::of(&kind)?,
    })
}

/// Every Deployment and StatefulSet of `manifest`.
pub(super) fn manifest_workloads(manifest: &Manifest) -> Vec<Workload> {
    manifest
        .items
        .iter()
        .filter_map(|item| {
            Some(Workload {
                sub: item.name().to_owned(),
                kind: WorkloadKind::of(item.kind())?,
            })
        })
        .collect()
}

/// Waits until `subs` rolled out, at the latest by `deadline`.
pub(super) async fn wait_rollout(
    cluster: &Cluster,
    target: &Target,
    subs: &[Workload],
    deadline: Instant,
    on_event: &mut (dyn FnMut(DeployEvent<'_>) + Send),
) -> Result<(), ClusterError> {
    let wait = WaitOptions {
        namespace: target.namespace.clone(),
        app: target.app.clone(),
        subs: subs.to_vec(),
        // What is left of the deploy's wait, in whole seconds as `--timeout` is given (the
        // moments since the deadline was set do not shorten a plain rollout's).
        timeout: whole_seconds(deadline.saturating_duration_since(Instant::now())),
    };
    rollout::wait(cluster, &wait, |event| match event {
        WaitEvent::Progress(progress) => on_event(DeployEvent::Progress(progress)),
        WaitEvent::PodReplaced { pod, claims } => {
            on_event(DeployEvent::PodReplaced { pod, claims });
        }
    })
    .await
}

/// `left` rounded up to whole seconds.
fn whole_seconds(left: Duration) -> Duration {
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    Duration::from_secs(secs)
}

/// Records how the `before` jobs ended on the revision the deploy settles on.
pub(super) async fn record_jobs(
    cluster: &Cluster,
    target: &Target,
    report: &DeployReport,
) -> Result<(), ClusterError> {
    let Some(number) = report.revision.filter(|_| !report.jobs.is_empty()) else {
        return Ok(());
    };
    revision::set_jobs(
        cluster,
        &target.namespace,
        &target.app,
        number,
        &report.jobs,
    )
    .await
}
