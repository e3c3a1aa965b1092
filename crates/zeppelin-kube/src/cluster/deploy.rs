//! `zeppelin deploy` and `zeppelin rollback`: apply, prune, record a revision, wait, and
//! with `atomic` roll back to the last revision that rolled out when waiting fails.
//!
//! Progress comes back through a callback of [`DeployEvent`]s; printing is the CLI's job.
//!
//! `before` jobs ([`crate::cluster::before_jobs`]) split a deploy in steps: everything but
//! their Jobs and the workloads they gate is applied first; then each job, in start order,
//! once the subs it depends on rolled out, unless a Job of the same inputs already
//! succeeded; each gated workload once its jobs succeeded; then the rollout is waited for
//! as before. A failed job fails the deploy (and `atomic` rolls back) with the gated
//! workloads left as they were. The revision records how each job ended.
//!
//! A rollback applies the revision's objects with secret values read now (a revision holds
//! only their hashes) and tells which differ from the revision's.
//!
//! Neither ever deletes a PersistentVolumeClaim: when a stateful sub leaves the app (or a
//! rollback goes back to before it), its StatefulSet is pruned and its claims are reported
//! as kept, with the command that would delete them.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use crate::cluster::apply::{self, Applied, ApplyOptions, Outcome};
use crate::cluster::before_jobs::{self, BeforeJob};
use crate::cluster::claims::{self, Claim};
use crate::cluster::connect::Cluster;
use crate::cluster::error::ClusterError;
use crate::cluster::immutable;
use crate::cluster::inventory::Inventory;
use crate::cluster::job_wait::{self, JobProgress};
use crate::cluster::prune::prune;
use crate::cluster::revision::job_runs::{JobOutcome, JobRun};
use crate::cluster::revision::sealed::{self, CurrentSecret, SecretDrift};
use crate::cluster::revision::{self, NewRevision, Revision, RevisionStatus};
use crate::cluster::rollout::{self, SubProgress, WaitEvent, WaitOptions, Workload, WorkloadKind};
use crate::render::labels::owner_selector;
use crate::render::manifest::{Item, Manifest};
use crate::render::secrets::{self, SecretError};
use zeppelin_core::App;

/// Re-exported where callers of [`deploy`] have always found it; every cluster command
/// takes one.
pub use crate::cluster::target::Target;

/// How to deploy.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub apply: ApplyOptions,
    /// Wait this long for the rollout; `None` with `--no-wait`.
    pub wait: Option<Duration>,
    /// Roll back to the last revision that rolled out when the rollout fails.
    pub atomic: bool,
    /// Delete the app's objects it no longer has.
    pub prune: bool,
    /// Revisions kept in the cluster.
    pub history: usize,
    /// SHA-256 of the app file, recorded with the revision.
    pub app_hash: String,
}

/// Something worth telling the user while a deploy runs.
#[derive(Debug)]
pub enum DeployEvent<'a> {
    Applied(&'a Applied),
    Pruned(&'a str),
    /// Claims of subs that have no StatefulSet in the app any more: their data is kept.
    ClaimsKept(&'a [Claim]),
    /// A revision was recorded; `None` when nothing changed since the last one.
    Recorded(Option<u64>),
    Progress(&'a [SubProgress]),
    /// A StatefulSet's pod stuck (not Ready) on the failed revision was deleted so its
    /// controller recreates it from the applied template; its claims are kept.
    PodReplaced {
        pod: &'a str,
        claims: &'a [String],
    },
    /// A `before` job's run moved on.
    Job(&'a JobProgress),
    /// A `before` job is not run: its Job with the same inputs already succeeded.
    JobUnchanged {
        job: &'a str,
        object: &'a str,
    },
    /// The rollout failed and `atomic` rolls back to this revision.
    RollingBack(u64),
    /// A secret's value now differs from the one revision `revision` recorded the hash of;
    /// the rollback applies the value read now.
    SecretDiffers {
        revision: u64,
        drift: &'a SecretDrift,
    },
}

/// What a deploy did.
#[derive(Debug, Clone, Default)]
pub struct DeployReport {
    pub applied: Vec<Applied>,
    pub pruned: Vec<String>,
    /// Claims of subs the app no longer has as stateful: kept, never deleted by a deploy.
    pub kept_claims: Vec<Claim>,
    pub revision: Option<u64>,
    /// The `before` jobs, and how each ended.
    pub jobs: Vec<JobRun>,
}

impl DeployReport {
    /// How many objects an apply created, changed, or left as they were.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.applied.iter().filter(|a| a.outcome == outcome).count()
    }
}

/// Applies `manifest` for `target` and waits as `options` say.
pub async fn deploy(
    cluster: &Cluster,
    target: &Target,
    manifest: &Manifest,
    options: &DeployOptions,
    cause: &str,
    on_event: &mut (dyn FnMut(DeployEvent<'_>) + Send),
) -> Result<DeployReport, ClusterError> {
    cluster.check_apis(manifest).await?;
    let jobs = before_jobs::plan(manifest);
    let waits = options.wait.filter(|_| !options.apply.dry_run);
    before_jobs::check_timeouts(&jobs, options.wait)?;
    let (mut report, number, revisions, held) =
        apply_and_record(cluster, target, manifest, &jobs, options, cause, on_event).await?;
    let Some(timeout) = waits else {
        if !options.apply.dry_run {
            // Not waited for: the jobs and then the workloads they gate are applied at once.
            let runs = apply_held(cluster, &held, options, &mut report, on_event).await?;
            record_jobs(cluster, target, &report, runs).await?;
        }
        return Ok(report);
    };
    let deadline = Instant::now() + timeout;
    let mut runs = Vec::new();
    let mut waited = run_jobs(
        cluster,
        target,
        &held,
        options,
        deadline,
        &mut report,
        &mut runs,
        on_event,
    )
    .await;
    if waited.is_ok() {
        waited = wait_rollout(
            cluster,
            target,
            &manifest_workloads(manifest),
            deadline,
            on_event,
        )
        .await;
    }
    if !runs.is_empty() {
        report.jobs.clone_from(&runs);
        record_jobs(cluster, target, &report, runs).await?;
    }
    match waited {
        Ok(()) => {
            if let Some(number) = number {
                mark_deployed(cluster, target, &revisions, number).await?;
            }
            Ok(report)
        }
        Err(failure) => {
            // The revision that failed to roll out: the new one, or the current one when
            // nothing changed.
            let failed = number.or(report.revision);
            if let Some(failed) = failed {
                revision::set_status(
                    cluster,
                    &target.namespace,
                    &target.app,
                    failed,
                    RevisionStatus::Failed,
                )
                .await?;
            }
            if !options.atomic {
                return Err(failure);
            }
            // Only `failed` changed status since the list was read, and it is left out.
            let Some(good) = last_good(&revisions, failed) else {
                return Err(ClusterError::NotRolledBack(Box::new(failure)));
            };
            on_event(DeployEvent::RollingBack(good.number));
            let values = sealed::values_of(&manifest.to_values());
            let (previous, drift) = good.manifest(&target.app, |name| {
                let value = values
                    .get(name)
                    .ok_or_else(|| ClusterError::SecretUndeclared {
                        revision: good.number,
                        secret: name.to_owned(),
                    })?;
                Ok::<_, ClusterError>(CurrentSecret {
                    value: value.clone(),
                    source: "this deploy".to_owned(),
                })
            })?;
            for drift in &drift {
                on_event(DeployEvent::SecretDiffers {
                    revision: good.number,
                    drift,
                });
            }
            let rollback_options = DeployOptions {
                atomic: false,
                app_hash: good.app_hash.clone(),
                apply: ApplyOptions {
                    force_conflicts: true,
                    ..options.apply
                },
                ..options.clone()
            };
            let cause = format!("rollback to {}", good.number);
            let rolled_back = Box::pin(deploy(
                cluster,
                target,
                &previous,
                &rollback_options,
                &cause,
                on_event,
            ))
            .await;
            match rolled_back {
                Ok(_) => Err(ClusterError::RolledBack {
                    revision: good.number,
                    source: Box::new(failure),
                }),
                Err(rollback) => Err(ClusterError::RollbackFailed {
                    revision: good.number,
                    rollout: Box::new(failure),
                    rollback: Box::new(rollback),
                }),
            }
        }
    }
}

/// What a deploy applies after its first step: the `before` jobs (each with whether it
/// runs) and the workloads they gate, compared with the objects `before` the deploy.
struct Held {
    before: Inventory,
    jobs: Vec<(BeforeJob, Option<Item>)>,
    workloads: Vec<Item>,
}

#[allow(clippy::too_many_lines)]
async fn apply_and_record(
    cluster: &Cluster,
    target: &Target,
    manifest: &Manifest,
    jobs: &[BeforeJob],
    options: &DeployOptions,
    cause: &str,
    on_event: &mut (dyn FnMut(DeployEvent<'_>) + Send),
) -> Result<(DeployReport, Option<u64>, Vec<Revision>, Held), ClusterError> {
    let mut before =
        Inventory::list(cluster, &target.namespace, &owner_selector(&target.app)).await?;
    immutable::check(cluster, target, &before, manifest).await?;
    let mut revisions = if options.apply.dry_run {
        Vec::new()
    } else {
        revision::list(cluster, &target.namespace, &target.app).await?
    };
    let wait = options.wait.unwrap_or(Duration::from_secs(60));
    let runs = before_jobs::to_run(
        cluster,
        &target.namespace,
        jobs,
        &revisions,
        &mut before,
        options.apply.dry_run,
        wait,
    )
    .await?;
    let gated = before_jobs::gated(jobs);
    let item = |name: &str| {
        manifest
            .items
            .iter()
            .find(|i| i.kind() == "Job" && i.name() == name)
            .cloned()
    };
    let held = Held {
        jobs: jobs
            .iter()
            .zip(&runs)
            .map(|(job, run)| (job.clone(), run.then(|| item(&job.object)).flatten()))
            .collect(),
        workloads: manifest
            .items
            .iter()
            .filter(|i| before_jobs::is_workload_of(i, &gated))
            .cloned()
            .collect(),
        before,
    };
    // A dry run shows every object at once, as a deploy would apply it; a deploy holds the
    // jobs and the workloads they gate back.
    let first = Manifest {
        items: manifest
            .items
            .iter()
            .filter(|i| {
                if before_jobs::is_before_job(i) {
                    options.apply.dry_run
                        && held
                            .jobs
                            .iter()
                            .any(|(j, run)| j.object == i.name() && run.is_some())
                } else {
                    options.apply.dry_run || !before_jobs::is_workload_of(i, &gated)
                }
            })
            .cloned()
            .collect(),
    };
    let before = &held.before;
    let applied = apply::apply(cluster, &first, before, options.apply).await?;
    for object in &applied {
        on_event(DeployEvent::Applied(object));
    }
    let pruned = if options.prune {
        prune(
            cluster,
            &target.namespace,
            before,
            manifest,
            options.apply.dry_run,
        )
        .await?
    } else {
        Vec::new()
    };
    for object in &pruned {
        on_event(DeployEvent::Pruned(object));
    }
    let kept_claims = orphaned_claims(cluster, target, manifest).await?;
    if !kept_claims.is_empty() {
        on_event(DeployEvent::ClaimsKept(&kept_claims));
    }
    let mut report = DeployReport {
        applied,
        pruned,
        kept_claims,
        revision: None,
        jobs: Vec::new(),
    };
    if options.apply.dry_run {
        return Ok((report, None, Vec::new(), held));
    }
    let hash = revision::objects_hash(manifest);
    let unchanged = revisions
        .last()
        .is_some_and(|last| last.holds(manifest, &hash) && last.status != RevisionStatus::Failed);
    let number = if unchanged {
        None
    } else {
        let status = if options.wait.is_some() {
            RevisionStatus::Failed
        } else {
            RevisionStatus::Applied
        };
        let new = NewRevision {
            manifest,
            objects_hash: hash,
            app_hash: options.app_hash.clone(),
            // Recorded as failed until the rollout is seen to finish, so a deploy cut
            // off while waiting never looks like a good one to roll back to.
            status,
            cause: cause.to_owned(),
        };
        Some(
            revision::record(
                cluster,
                &target.namespace,
                &target.app,
                &new,
                options.history,
                &mut revisions,
            )
            .await?,
        )
    };
    report.revision = number.or(revisions.last().map(|r| r.number));
    on_event(DeployEvent::Recorded(number));
    // The revision whose status the wait settles: the new one, or an unchanged one that
    // was applied without waiting.
    let settles = number.or_else(|| {
        revisions
            .last()
            .filter(|last| unchanged && last.status == RevisionStatus::Applied)
            .map(|last| last.number)
    });
    Ok((
        report,
        settles.filter(|_| options.wait.is_some()),
        revisions,
        held,
    ))
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
async fn apply_held(
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
/// each gated workload once every job before it succeeded; `runs` gets how each job ended,
/// also when one fails.
#[allow(clippy::too_many_arguments)]
async fn run_jobs(
    cluster: &Cluster,
    target: &Target,
    held: &Held,
    options: &DeployOptions,
    deadline: Instant,
    report: &mut DeployReport,
    runs: &mut Vec<JobRun>,
    on_event: &mut (dyn FnMut(DeployEvent<'_>) + Send),
) -> Result<(), ClusterError> {
    let all: Vec<Item> = held.workloads.clone();
    let mut applied: BTreeSet<String> = BTreeSet::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    for (job, item) in &held.jobs {
        // What it depends on has rolled out (the ungated subs were applied already).
        let deps: Vec<Workload> = job
            .depends_on
            .iter()
            .filter_map(|sub| workload_of(&held.before, &all, report, sub))
            .collect();
        if !deps.is_empty() {
            wait_rollout(cluster, target, &deps, deadline, on_event).await?;
        }
        let Some(item) = item else {
            on_event(DeployEvent::JobUnchanged {
                job: &job.job,
                object: &job.object,
            });
            runs.push(run_of(job, JobOutcome::AlreadySucceeded, None));
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
            let reason = match &failure {
                ClusterError::RolloutFailed(text) => text
                    .strip_prefix(&format!("job `{}` failed: ", job.job))
                    .and_then(|rest| rest.split([':', '\n']).next())
                    .map(str::to_owned),
                _ => None,
            };
            runs.push(run_of(job, JobOutcome::Failed, reason));
            return Err(failure);
        }
        runs.push(run_of(job, JobOutcome::Succeeded, None));
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
fn manifest_workloads(manifest: &Manifest) -> Vec<Workload> {
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
async fn wait_rollout(
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
        timeout: deadline.saturating_duration_since(Instant::now()),
    };
    rollout::wait(cluster, &wait, |event| match event {
        WaitEvent::Progress(progress) => on_event(DeployEvent::Progress(progress)),
        WaitEvent::PodReplaced { pod, claims } => {
            on_event(DeployEvent::PodReplaced { pod, claims });
        }
    })
    .await
}

/// Records how the `before` jobs ended on the revision the deploy settles on.
async fn record_jobs(
    cluster: &Cluster,
    target: &Target,
    report: &DeployReport,
    runs: Vec<JobRun>,
) -> Result<(), ClusterError> {
    let Some(number) = report.revision.filter(|_| !runs.is_empty()) else {
        return Ok(());
    };
    revision::set_jobs(cluster, &target.namespace, &target.app, number, &runs).await
}

/// The app's claims whose sub has no StatefulSet in `manifest`: a sub removed from the
/// file, made stateless, or not yet there in the revision rolled back to.
async fn orphaned_claims(
    cluster: &Cluster,
    target: &Target,
    manifest: &Manifest,
) -> Result<Vec<Claim>, ClusterError> {
    let mut claims = claims::list_if_allowed(cluster, target).await?;
    claims.retain(|claim| !manifest.contains("StatefulSet", &claim.sub));
    Ok(claims)
}

/// Marks revision `number` deployed and the one deployed before it (in `revisions`, the
/// kept ones) superseded.
async fn mark_deployed(
    cluster: &Cluster,
    target: &Target,
    revisions: &[Revision],
    number: u64,
) -> Result<(), ClusterError> {
    for old in revisions {
        if old.number != number && old.status == RevisionStatus::Deployed {
            revision::set_status(
                cluster,
                &target.namespace,
                &target.app,
                old.number,
                RevisionStatus::Superseded,
            )
            .await?;
        }
    }
    revision::set_status(
        cluster,
        &target.namespace,
        &target.app,
        number,
        RevisionStatus::Deployed,
    )
    .await
}

/// The newest revision, other than `failed`, whose rollout was seen to finish.
fn last_good(revisions: &[Revision], failed: Option<u64>) -> Option<&Revision> {
    revisions.iter().rev().find(|r| {
        Some(r.number) != failed
            && matches!(
                r.status,
                RevisionStatus::Deployed | RevisionStatus::Superseded
            )
    })
}

/// Re-applies revision `number` (by default the last good one before the current) and
/// waits as `options` say; the rollback is recorded as a revision of its own.
///
/// Its secrets are read from their sources in `app` (the app file now) before anything is
/// applied: a secret with no value now stops the rollback.
pub async fn rollback(
    cluster: &Cluster,
    target: &Target,
    app: &App,
    number: Option<u64>,
    options: &DeployOptions,
    on_event: &mut (dyn FnMut(DeployEvent<'_>) + Send),
) -> Result<(u64, DeployReport), ClusterError> {
    let revisions = revision::list(cluster, &target.namespace, &target.app).await?;
    let chosen = match number {
        Some(number) => revisions
            .iter()
            .find(|r| r.number == number)
            .ok_or_else(|| ClusterError::NoSuchRevision {
                app: target.app.clone(),
                revision: number,
            })?,
        None => last_good(&revisions, revisions.last().map(|r| r.number)).ok_or_else(|| {
            ClusterError::NothingToRollBack {
                app: target.app.clone(),
            }
        })?,
    };
    let (manifest, drift) = chosen.manifest(&target.app, current_secret(app, chosen.number))?;
    for drift in &drift {
        on_event(DeployEvent::SecretDiffers {
            revision: chosen.number,
            drift,
        });
    }
    let options = DeployOptions {
        app_hash: chosen.app_hash.clone(),
        ..options.clone()
    };
    let cause = format!("rollback to {}", chosen.number);
    let report = deploy(cluster, target, &manifest, &options, &cause, on_event).await?;
    Ok((chosen.number, report))
}

/// Reads a secret that a rollback to `revision` needs from its source in `app`, now.
fn current_secret(
    app: &App,
    revision: u64,
) -> impl FnMut(&str) -> Result<CurrentSecret, ClusterError> + '_ {
    move |name| {
        let secret = app
            .secrets
            .get(name)
            .ok_or_else(|| ClusterError::SecretUndeclared {
                revision,
                secret: name.to_owned(),
            })?;
        let value = secrets::resolve_one(app, name, &secret.source, |var| std::env::var_os(var))
            .map_err(|source| match source {
                SecretError::EnvMissing { var, .. } => ClusterError::SecretEnvUnset {
                    revision,
                    secret: name.to_owned(),
                    var,
                },
                source @ SecretError::File { .. } => ClusterError::SecretUnavailable {
                    revision,
                    secret: name.to_owned(),
                    source,
                },
            })?;
        Ok(CurrentSecret {
            value,
            source: secrets::describe(&secret.source),
        })
    }
}
