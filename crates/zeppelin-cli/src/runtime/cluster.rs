//! The Kubernetes cluster: what every cluster command does first (a runtime for kube's
//! async client, a checked connection, the app's target and its rendered manifest), and
//! the cluster side of [`super::Runtime`] (status, pod logs, scale and runs of jobs
//! through the API).

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use miette::IntoDiagnostic as _;
use tokio::signal::unix::{SignalKind, signal};
use zeppelin_core::{App, AppStatus};
use zeppelin_kube::claims::{self, Claim};
use zeppelin_kube::deploy::Target;
use zeppelin_kube::pod_logs::LogLine;
use zeppelin_kube::rollout::WorkloadKind;
use zeppelin_kube::run_job::{Outcome, Started};
use zeppelin_kube::{Cluster, ConnectOptions, Manifest, RenderOptions};

use crate::log_lines::PALETTE;
use crate::settings::{GlobalSettings, LogsSettings};

/// Runs a cluster command's future to completion on a runtime of its own.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> miette::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .into_diagnostic()?;
    Ok(runtime.block_on(future))
}

/// Connects to the cluster `--context` (or, without it, the kubeconfig's current context)
/// names.
pub(crate) async fn connect(context: Option<String>) -> miette::Result<Cluster> {
    let options = ConnectOptions {
        context,
        kubeconfig: None,
    };
    tracing::debug!(context = ?options.context, "connecting to the cluster");
    Cluster::connect(&options).await.into_diagnostic()
}

/// The app's name and namespace.
pub(crate) fn target(app: &App) -> Target {
    Target {
        app: app.name.clone(),
        namespace: app.namespace().to_owned(),
    }
}

/// Renders the app with its secret values and the Secret, as a deploy applies it; warnings
/// go to stderr.
pub(crate) fn manifest(app: &App) -> miette::Result<Manifest> {
    let secrets = zeppelin_kube::secrets::resolve(app).into_diagnostic()?;
    let options = RenderOptions {
        secrets: Some(secrets),
        include_secret: true,
    };
    let rendered = zeppelin_kube::render(app, &options).into_diagnostic()?;
    for warning in &rendered.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(Manifest::from_rendered(&rendered))
}

/// The app in the cluster: its Deployments and `StatefulSet`s, their pods and claims.
pub(crate) struct ClusterRuntime {
    app: App,
    target: Target,
    /// `--context`.
    context: Option<String>,
    /// Whether lines printed on stdout may be coloured.
    color: bool,
}

impl ClusterRuntime {
    pub(crate) fn new(app: App, settings: &GlobalSettings) -> Self {
        Self {
            target: target(&app),
            app,
            context: settings.context.clone(),
            color: settings.color && std::io::stdout().is_terminal(),
        }
    }

    pub(crate) fn app(&self) -> &App {
        &self.app
    }

    pub(crate) fn status(&self) -> miette::Result<AppStatus> {
        block_on(async {
            let cluster = connect(self.context.clone()).await?;
            zeppelin_kube::status::app_status(&cluster, &self.target, &self.app.jobs)
                .await
                .into_diagnostic()
        })?
    }

    /// The app's volume claims: the data of its stateful subs, per replica.
    pub(crate) fn claims(&self) -> miette::Result<Vec<Claim>> {
        block_on(async {
            let cluster = connect(self.context.clone()).await?;
            zeppelin_kube::claims::list_if_allowed(&cluster, &self.target)
                .await
                .into_diagnostic()
        })?
    }

    pub(crate) fn nothing_deployed(&self) -> String {
        format!(
            "{} has no Deployments or StatefulSets in namespace {}; `zeppelin deploy` creates them",
            self.app.name, self.target.namespace
        )
    }

    /// Runs job `name` once as a Job made from its deployed template, printing its pods'
    /// lines as they come; the exit code is its last attempt's. Ctrl-C stops the waiting,
    /// not the Job.
    pub(crate) fn run_job(&self, name: &str) -> miette::Result<ExitCode> {
        let job = self.app.job(name).into_diagnostic()?;
        block_on(async {
            let cluster = connect(self.context.clone()).await?;
            let run = zeppelin_kube::run_job::start(&cluster, &self.target, job)
                .await
                .into_diagnostic()?;
            // Caught from here on: once the Job exists, Ctrl-C only stops the waiting.
            let mut interrupt = signal(SignalKind::interrupt()).into_diagnostic()?;
            eprintln!(
                "zeppelin: created Job {} in namespace {} from {}",
                run.name, run.namespace, run.template
            );
            let (sender, receiver) = tokio::sync::mpsc::channel(1024);
            let waiting = async {
                let (outcome, ()) = tokio::join!(
                    zeppelin_kube::run_job::wait(&cluster, &run, sender),
                    print_lines(receiver, |_| self.color.then_some(PALETTE[0]))
                );
                outcome
            };
            tokio::select! {
                outcome = waiting => {
                    let outcome = outcome.into_diagnostic()?;
                    report(&run, &outcome);
                    Ok(ExitCode::from(outcome.exit_status()))
                }
                _ = interrupt.recv() => {
                    eprintln!(
                        "zeppelin: stopped waiting; Job {} keeps running in namespace {}: `zeppelin logs --k8s {} -f` follows it, `kubectl delete job {} -n {}` stops it",
                        run.name, run.namespace, run.job, run.name, run.namespace
                    );
                    Ok(ExitCode::from(crate::job_notes::INTERRUPTED))
                }
            }
        })?
    }

    /// Each Deployment's replica count, refused under an autoscaler.
    pub(crate) fn scale(&self, counts: &BTreeMap<String, u32>) -> miette::Result<()> {
        self.app.check_subs(counts.keys()).into_diagnostic()?;
        block_on(async {
            let cluster = connect(self.context.clone()).await?;
            for (sub, count) in counts {
                let stateful = self
                    .app
                    .subs
                    .get(sub)
                    .is_some_and(zeppelin_core::Sub::is_stateful);
                let kind = if stateful {
                    WorkloadKind::StatefulSet
                } else {
                    WorkloadKind::Deployment
                };
                let kept = zeppelin_kube::scale::scale(&cluster, &self.target, sub, kind, *count)
                    .await
                    .into_diagnostic()?;
                eprintln!(
                    "zeppelin: scaled {sub} to {count} in namespace {}",
                    self.target.namespace
                );
                if !kept.is_empty() {
                    eprintln!(
                        "{sub}'s replicas beyond {count} keep their volume claims: scaling up again gives each replica its own data back"
                    );
                    print_kept_claims(&kept, &self.target.namespace);
                }
            }
            Ok::<_, miette::Report>(())
        })??;
        eprintln!("note: `zeppelin deploy` sets the replicas from zeppelin.toml again");
        Ok(())
    }

    /// Every pod of the subs, prefixed by pod, followed with `-f` (new pods included)
    /// until interrupted.
    pub(crate) fn logs(
        &self,
        settings: &LogsSettings,
        known: &[String],
        color: bool,
    ) -> miette::Result<()> {
        let since_seconds = settings
            .since
            .map(|ago| i64::try_from(ago.as_secs()).unwrap_or(i64::MAX).max(1));
        let (jobs, subs) = settings
            .subs
            .iter()
            .cloned()
            .partition(|name| self.app.jobs.contains_key(name));
        let options = zeppelin_kube::pod_logs::LogOptions {
            subs,
            jobs,
            follow: settings.follow,
            tail: settings.tail.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            since_seconds,
            timestamps: settings.timestamps,
        };
        block_on(async {
            let cluster = connect(self.context.clone()).await?;
            let (sender, receiver) = tokio::sync::mpsc::channel(1024);
            let reader = zeppelin_kube::pod_logs::stream(&cluster, &self.target, &options, sender);
            let printer = print_lines(receiver, |line| {
                color.then(|| {
                    let index = known.iter().position(|s| *s == line.sub).unwrap_or(0);
                    PALETTE[index % PALETTE.len()]
                })
            });
            let (read, ()) = tokio::join!(reader, printer);
            read.into_diagnostic()
        })?
    }
}

/// Prints each line as `POD | TEXT` on stdout, the prefix in the colour `colour` gives,
/// until the sender is gone or stdout's reader is.
async fn print_lines(
    mut receiver: tokio::sync::mpsc::Receiver<LogLine>,
    colour: impl Fn(&LogLine) -> Option<&'static str>,
) {
    let mut out = std::io::stdout().lock();
    while let Some(line) = receiver.recv().await {
        let written = match colour(&line) {
            Some(colour) => writeln!(out, "\x1b[{colour}m{} |\x1b[0m {}", line.pod, line.text),
            None => writeln!(out, "{} | {}", line.pod, line.text),
        };
        if written.and_then(|()| out.flush()).is_err() {
            // The reader went away (`| head`): stop reading.
            return;
        }
    }
}

/// How the run ended, on stderr.
fn report(run: &Started, outcome: &Outcome) {
    let attempts = match outcome.attempts {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    };
    if outcome.succeeded {
        eprintln!("zeppelin: Job {} succeeded ({attempts})", run.name);
        return;
    }
    let why = match (&outcome.reason, &outcome.message) {
        (Some(reason), Some(message)) => format!("{reason}: {message}"),
        (Some(reason), None) => reason.clone(),
        (None, Some(message)) => message.clone(),
        (None, None) => "failed".to_owned(),
    };
    let last = match outcome.exit {
        Some(code) => format!("the last attempt exited with code {code}"),
        None => "the last attempt was stopped before it exited".to_owned(),
    };
    eprintln!(
        "zeppelin: Job {} failed ({attempts}): {why}; {last}",
        run.name
    );
}

/// The claims kept, one a line, and the command that deletes exactly them.
pub(crate) fn print_kept_claims(claims: &[Claim], namespace: &str) {
    eprintln!(
        "kept {} volume claim{} with the data of stateful subs:",
        claims.len(),
        if claims.len() == 1 { "" } else { "s" }
    );
    for claim in claims {
        eprintln!(
            "  {} (sub {}, {}, {})",
            claim.name,
            claim.sub,
            claim.size.as_deref().unwrap_or("size unknown"),
            claim.phase
        );
    }
    eprintln!(
        "to delete that data: {}",
        claims::delete_command(namespace, claims)
    );
}
