//! `zeppelin deploy` and `zeppelin rollback`: apply, prune, record a revision, wait, and
//! with `atomic` roll back to the last revision that rolled out when waiting fails.
//!
//! Progress comes back through a callback of [`DeployEvent`]s; printing is the CLI's job.
//!
//! `before` jobs (planned by `before_jobs`, run by `steps`) split a deploy in steps: everything but
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

use std::time::Duration;

use tokio::time::Instant;

use crate::cluster::apply::{self, ApplyOptions};
use crate::cluster::before_jobs::{self, BeforeJob};
use crate::cluster::claims::{self, Claim};
use crate::cluster::connect::Cluster;
use crate::cluster::error::ClusterError;
use crate::cluster::immutable;
use crate::cluster::inventory::Inventory;
use crate::cluster::prune::prune;
use crate::cluster::revision::sealed::{self, CurrentSecret};
use crate::cluster::revision::{self, NewRevision, Revision, RevisionStatus};
use crate::render::labels::owner_selector;
use crate::render::manifest::Manifest;
use crate::render::secrets::{self, SecretError};
use zeppelin_core::App;

/// Re-exported where callers of [`deploy`] have always found it; every cluster command
/// takes one.
pub use crate::cluster::target::Target;
pub use events::{DeployEvent, DeployOptions, DeployReport};

mod events;
mod steps;

use steps::{Held, apply_held, manifest_workloads, record_jobs, run_jobs, wait_rollout};

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
    let (mut report, number, revisions, held) = Box::pin(apply_and_record(
        cluster, target, manifest, &jobs, options, cause, on_event,
    ))
    .await?;
    let Some(timeout) = waits else {
        if !options.apply.dry_run {
            // Not waited for: the jobs and then the workloads they gate are applied at once.
            report.jobs = apply_held(cluster, &held, options, &mut report, on_event).await?;
            record_jobs(cluster, target, &report).await?;
        }
        return Ok(report);
    };
    let deadline = Instant::now() + timeout;
    let mut waited = run_jobs(
        cluster,
        target,
        &held,
        options,
        deadline,
        &mut report,
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
    record_jobs(cluster, target, &report).await?;
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
    let mut revisions = revision::list(cluster, &target.namespace, &target.app).await?;
    let wait = options.wait.unwrap_or(Duration::from_secs(60));
    let runs = Box::pin(before_jobs::to_run(
        cluster,
        &target.namespace,
        jobs,
        &revisions,
        &mut before,
        options.apply.dry_run,
        wait,
    ))
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
