//! `zeppelin deploy` and `zeppelin rollback`: apply through the cluster's API, print what
//! changed and the rollout's progress on stderr, exit non-zero when the rollout fails.

use std::process::ExitCode;

use miette::IntoDiagnostic as _;
use zeppelin_kube::apply::{ApplyOptions, Outcome};
use zeppelin_kube::deploy::{DeployEvent, DeployOptions, DeployReport};
use zeppelin_kube::job_wait::JobProgress;

use crate::progress::RolloutProgress;
use crate::runtime::cluster;
use crate::runtime::cluster::print_kept_claims;
use crate::settings::{DeploySettings, GlobalSettings, RollbackSettings};

/// Prints each event of a deploy as it happens.
fn printer<'p>(
    progress: &'p mut RolloutProgress,
    namespace: &'p str,
    dry_run: bool,
) -> impl FnMut(DeployEvent<'_>) + Send + 'p {
    let suffix = if dry_run { " (server dry run)" } else { "" };
    move |event| match event {
        DeployEvent::Applied(applied) => {
            if applied.outcome != Outcome::Unchanged {
                eprintln!("{} {}{suffix}", applied.object, applied.outcome.as_str());
            }
        }
        DeployEvent::Pruned(object) => eprintln!("{object} pruned{suffix}"),
        DeployEvent::ClaimsKept(claims) => print_kept_claims(claims, namespace),
        DeployEvent::Recorded(Some(number)) => eprintln!("recorded revision {number}"),
        DeployEvent::Recorded(None) => {}
        DeployEvent::Progress(subs) => progress.update(subs),
        DeployEvent::PodReplaced { pod, claims } => {
            progress.finish();
            let kept = match claims {
                [] => String::new(),
                [claim] => format!("; its claim {claim} is kept"),
                _ => format!("; its claims {} are kept", claims.join(", ")),
            };
            eprintln!("deleted pod {pod} stuck on the failed revision{kept}");
        }
        DeployEvent::Job(job) => {
            progress.finish();
            eprintln!("{}", job_line(job));
        }
        DeployEvent::JobUnchanged { job, object } => {
            progress.finish();
            eprintln!("job {job}: {object} already succeeded with the same inputs; not run again");
        }
        DeployEvent::RollingBack(number) => {
            progress.finish();
            eprintln!("the rollout failed; rolling back to revision {number}");
        }
        DeployEvent::SecretDiffers { revision, drift } => eprintln!(
            "warning: secret {} differs from revision {revision}'s: using the current value from {}",
            drift.secret, drift.source
        ),
    }
}

/// One line of a `before` job's progress: `job migrate: migrate-0a1b2c3d4e running (try 1 of 2)`.
fn job_line(job: &JobProgress) -> String {
    let state = match job.finished {
        Some(true) => "completed".to_owned(),
        Some(false) => format!("failed after {} of {} tries", job.failed, job.tries),
        None if job.running > 0 => format!(
            "running (try {} of {})",
            (job.failed + 1).min(job.tries),
            job.tries
        ),
        None if job.failed > 0 => {
            format!("try {} of {} failed; trying again", job.failed, job.tries)
        }
        None => "starting".to_owned(),
    };
    format!("job {}: {} {state}", job.job, job.object)
}

fn summary(report: &DeployReport) -> String {
    format!(
        "{} created, {} configured, {} unchanged, {} pruned",
        report.count(Outcome::Created),
        report.count(Outcome::Configured),
        report.count(Outcome::Unchanged),
        report.pruned.len()
    )
}

pub(crate) fn deploy(args: &DeploySettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let (app, text) = settings.load_cluster_app_and_text()?;
    let manifest = cluster::manifest(&app)?;
    let target = cluster::target(&app);
    let options = DeployOptions {
        apply: ApplyOptions {
            force_conflicts: args.wait.force_conflicts,
            dry_run: args.dry_run,
        },
        wait: args.wait.wait,
        atomic: args.atomic,
        prune: args.prune,
        history: args.history,
        app_hash: zeppelin_kube::revision::app_hash(text.as_bytes()),
    };
    let mut progress = RolloutProgress::new();
    let result = cluster::block_on(async {
        let cluster = cluster::connect(settings.context.clone()).await?;
        eprintln!(
            "deploying {} to namespace {} at {}{}",
            app.name,
            target.namespace,
            cluster.url(),
            if args.dry_run {
                " (server dry run)"
            } else {
                ""
            }
        );
        let mut print = printer(&mut progress, &target.namespace, args.dry_run);
        zeppelin_kube::deploy::deploy(&cluster, &target, &manifest, &options, "deploy", &mut print)
            .await
            .into_diagnostic()
    })?;
    progress.finish();
    let report = result?;
    let outcome = if args.dry_run {
        "server dry run"
    } else if options.wait.is_some() {
        "rolled out"
    } else {
        "applied, not waited for"
    };
    let revision = report
        .revision
        .map(|n| format!(" revision {n}"))
        .unwrap_or_default();
    eprintln!("{}{revision} {outcome}: {}", app.name, summary(&report));
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn rollback(
    args: &RollbackSettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let app = settings.load_cluster_app()?;
    let target = cluster::target(&app);
    let options = DeployOptions {
        apply: ApplyOptions {
            force_conflicts: args.wait.force_conflicts,
            dry_run: false,
        },
        wait: args.wait.wait,
        atomic: false,
        prune: true,
        history: args.history,
        app_hash: String::new(),
    };
    let mut progress = RolloutProgress::new();
    let result = cluster::block_on(async {
        let cluster = cluster::connect(settings.context.clone()).await?;
        let mut print = printer(&mut progress, &target.namespace, false);
        zeppelin_kube::deploy::rollback(
            &cluster,
            &target,
            &app,
            args.revision,
            &options,
            &mut print,
        )
        .await
        .into_diagnostic()
    })?;
    progress.finish();
    let (number, report) = result?;
    eprintln!(
        "{} rolled back to revision {number}: {}",
        app.name,
        summary(&report)
    );
    Ok(ExitCode::SUCCESS)
}
