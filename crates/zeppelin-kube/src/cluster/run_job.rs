//! `zeppelin run-job NAME --k8s`: one run of a job now, as a batch/v1 `Job` made from
//! what `deploy` left in the cluster, the way `kubectl create job --from=cronjob/NAME`
//! makes one: from the CronJob `<job>`'s `jobTemplate` for a scheduled or on-demand job,
//! or from the newest deployed `<job>-<hash>` Job's template for a `before` job (from the
//! newest revision's copy once the Job's time to live has removed it). The Job is
//! named `<job>-run-<unix seconds>`, labelled `zeppelin.dev/job: <job>` and annotated
//! `zeppelin.dev/run: manual`. Unlike kubectl's, a run is owned by nothing: a deploy that
//! prunes the CronJob (its job left the app file) or the `<job>-<hash>` Job it was copied
//! from leaves the run and its logs alone, and the CronJob's history limits never count
//! it; its time to live removes it a day after it finished, `zeppelin delete` at once.
//!
//! [`start`] makes the Job; [`wait`] streams every attempt's log lines while watching the
//! Job until it is `Complete` or `Failed`, bounded by its `activeDeadlineSeconds` and a
//! margin, and says how it ended. The caller prints, and decides what Ctrl-C does: the Job
//! runs in the cluster whether anyone waits or not.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::batch::v1::{CronJob, Job as KubeJob, JobSpec};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, LogParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc;
use zeppelin_core::model::Job;

use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, api_code, humanize, request};
use crate::cluster::job_runs::{
    Ending, JOB, JOB_INPUTS, MANUAL, RUN, attempts, ending, exit_code, job_name, last_attempt,
    newest,
};
use crate::cluster::log_follow::Streams;
use crate::cluster::pod_logs::{LogLine, forbidden};
use crate::cluster::revision;
use crate::cluster::target::Target;
use crate::render::labels::owner_selector;

/// Waiting goes on this long past the Job's own deadline, for the controller to fail it
/// and the last pod to stop.
const MARGIN: Duration = Duration::from_secs(60);

/// The labels the Job controller puts on a Job's pod template (and, without labels of its
/// own, on the Job): tied to that one Job, so never copied into another.
const CONTROLLER_LABELS: [&str; 4] = [
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
    "controller-uid",
    "job-name",
];

/// What kubectl marks a Job made from a CronJob with.
const INSTANTIATE: &str = "cronjob.kubernetes.io/instantiate";

/// Why a run could not be started or waited for.
#[derive(Debug, thiserror::Error)]
pub enum RunJobError {
    #[error(
        "job `{job}` is not deployed: namespace {namespace} has no {missing}; run `zeppelin deploy` first, then `zeppelin run-job {job} --k8s`"
    )]
    NotDeployed {
        job: String,
        namespace: String,
        /// What is missing, in Kubernetes' words (`CronJob cleanup`).
        missing: String,
    },
    #[error(
        "Job {name} was deleted before it finished; `kubectl get events -n {namespace}` may say by whom"
    )]
    Deleted { name: String, namespace: String },
    #[error(
        "Job {name} did not finish within {waited}; it keeps running: `zeppelin logs --k8s {job} -f` follows it, `kubectl delete job {name} -n {namespace}` stops it"
    )]
    TimedOut {
        name: String,
        job: String,
        namespace: String,
        waited: String,
    },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// A run that was made and may be waited for.
#[derive(Debug, Clone)]
pub struct Started {
    /// The Job's name, `<job>-run-<unix seconds>`.
    pub name: String,
    pub namespace: String,
    /// The job of the app file it runs.
    pub job: String,
    /// What it was made from (`CronJob cleanup`, `Job migrate-0123456789`).
    pub template: String,
    /// Selects the Job's pods.
    selector: String,
    /// How long to wait for it at most.
    bound: Duration,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub succeeded: bool,
    /// Pods made: 1, plus the retries used.
    pub attempts: u32,
    /// The last attempt's exit code, when it exited (a pod stopped at the deadline did
    /// not).
    pub exit: Option<i32>,
    /// The `Failed` condition's reason (`BackoffLimitExceeded`, `DeadlineExceeded`) and
    /// message.
    pub reason: Option<String>,
    pub message: Option<String>,
}

impl Outcome {
    /// The exit status `run-job` ends with: 0 for a run that succeeded, the last attempt's
    /// exit code for one that failed, 1 when that is unknown.
    pub fn exit_status(&self) -> u8 {
        if self.succeeded {
            return 0;
        }
        self.exit
            .and_then(|code| u8::try_from(code).ok())
            .filter(|code| *code != 0)
            .unwrap_or(1)
    }
}

/// Where a run's Job comes from.
struct Template {
    from: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    spec: JobSpec,
}

/// Makes a Job that runs `job` once, from the template `deploy` left in the cluster.
pub async fn start(cluster: &Cluster, target: &Target, job: &Job) -> Result<Started, RunJobError> {
    let template = if job.runs_before() {
        deployed_job(cluster, target, job).await?
    } else {
        cron_job(cluster, target, job).await?
    };
    let api: Api<KubeJob> = Api::namespaced(cluster.client.clone(), &target.namespace);
    let now = u64::try_from(k8s_openapi::jiff::Timestamp::now().as_second()).unwrap_or(0);
    // Two runs made in the same second: the later one takes the next second's name.
    let mut tries = 0..3;
    let created = loop {
        let seconds = now + tries.next().unwrap_or(0);
        let name = run_name(&job.name, seconds);
        let object = instantiate(&template, &name, &job.name);
        match api.create(&PostParams::default(), &object).await {
            Ok(created) => break created,
            Err(error) if api_code(&error) == Some(409) && !tries.is_empty() => {}
            Err(error) => {
                let action = format!("create Job {name} in namespace {}", target.namespace);
                return Err(request(action)(error).into());
            }
        }
    };
    let name = created.metadata.name.clone().unwrap_or_default();
    let spec = created.spec.clone().unwrap_or_default();
    let selector = match spec.selector.and_then(|s| s.match_labels) {
        Some(labels) if !labels.is_empty() => labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        _ => format!(
            "{}={}",
            CONTROLLER_LABELS[0],
            created.metadata.uid.clone().unwrap_or_default()
        ),
    };
    let deadline = spec
        .active_deadline_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(job.timeout.get(), Duration::from_secs);
    Ok(Started {
        name,
        namespace: target.namespace.clone(),
        job: job.name.clone(),
        template: template.from,
        selector,
        bound: deadline + MARGIN,
    })
}

/// `<job>-run-<unix seconds>`, the job's name cut so the whole stays a valid label value
/// (63 characters), as the Job's name is put in its pods' labels.
fn run_name(job: &str, seconds: u64) -> String {
    let suffix = format!("-run-{seconds}");
    let room = 63 - suffix.len();
    let job = job.get(..room).unwrap_or(job).trim_end_matches('-');
    format!("{job}{suffix}")
}

/// The CronJob of a scheduled or on-demand job.
async fn cron_job(cluster: &Cluster, target: &Target, job: &Job) -> Result<Template, RunJobError> {
    let api: Api<CronJob> = Api::namespaced(cluster.client.clone(), &target.namespace);
    let found = api.get_opt(&job.name).await.map_err(request(format!(
        "read CronJob {} in namespace {}",
        job.name, target.namespace
    )))?;
    let Some(cron_job) = found.filter(|c| job_name(&c.metadata) == Some(job.name.as_str())) else {
        return Err(not_deployed(target, job, format!("CronJob {}", job.name)));
    };
    let template = cron_job.spec.unwrap_or_default().job_template;
    let meta = template.metadata.unwrap_or_default();
    let mut annotations = meta.annotations.unwrap_or_default();
    annotations.insert(INSTANTIATE.to_owned(), MANUAL.to_owned());
    Ok(Template {
        from: format!("CronJob {}", job.name),
        labels: meta.labels.unwrap_or_default(),
        annotations,
        spec: template.spec.unwrap_or_default(),
    })
}

/// The Job `deploy` made for a `before` job (it carries the hash of its inputs): the
/// newest in the cluster or, once a finished one was deleted by its time to live, the one
/// the newest revision (what is deployed) recorded, so a run is always of what was
/// deployed.
async fn deployed_job(
    cluster: &Cluster,
    target: &Target,
    job: &Job,
) -> Result<Template, RunJobError> {
    let api: Api<KubeJob> = Api::namespaced(cluster.client.clone(), &target.namespace);
    let selector = format!("{},{JOB}={}", owner_selector(&target.app), job.name);
    let list = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(request(format!(
            "list the Jobs of job {} in namespace {}",
            job.name, target.namespace
        )))?;
    if let Some(latest) = newest(list.items.iter().filter(|j| is_before_run(j, &job.name))) {
        let from = format!(
            "Job {}",
            latest.metadata.name.as_deref().unwrap_or_default()
        );
        return Ok(before_template(latest, from));
    }
    // The newest revision is what is deployed: an older one's Job is not (anymore).
    let revisions = revision::list(cluster, &target.namespace, &target.app).await?;
    let newest_revision = revisions.last();
    let recorded = newest_revision.and_then(|revision| {
        let found = revision
            .objects
            .iter()
            .filter(|o| o["kind"] == "Job")
            .filter_map(|o| serde_json::from_value::<KubeJob>(o.clone()).ok())
            .find(|j| is_before_run(j, &job.name))?;
        Some((revision.number, found))
    });
    let Some((number, recorded)) = recorded else {
        let revisions = match newest_revision {
            Some(revision) => format!("the newest revision, {}, records none", revision.number),
            None => "no revision records one".to_owned(),
        };
        return Err(not_deployed(
            target,
            job,
            format!(
                "Job {}-<hash> (the before job's run that deploy makes), and {revisions}",
                job.name
            ),
        ));
    };
    let from = format!(
        "Job {} of revision {number} (the Job itself is gone)",
        recorded.metadata.name.as_deref().unwrap_or_default()
    );
    Ok(before_template(&recorded, from))
}

/// Whether `kube_job` is deploy's run of the `before` job `job`.
fn is_before_run(kube_job: &KubeJob, job: &str) -> bool {
    job_name(&kube_job.metadata) == Some(job)
        && kube_job
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(JOB_INPUTS))
}

/// A template made from `deployed`, a `before` job's `<job>-<hash>` Job as the cluster
/// holds it or as a revision recorded it.
fn before_template(deployed: &KubeJob, from: String) -> Template {
    let mut spec = deployed.spec.clone().unwrap_or_default();
    // The controller made the selector, and the labels it matches, for that Job only.
    spec.selector = None;
    spec.manual_selector = None;
    if let Some(labels) = spec
        .template
        .metadata
        .as_mut()
        .and_then(|m| m.labels.as_mut())
    {
        labels.retain(|k, _| !CONTROLLER_LABELS.contains(&k.as_str()));
    }
    let mut labels = deployed.metadata.labels.clone().unwrap_or_default();
    labels.retain(|k, _| !CONTROLLER_LABELS.contains(&k.as_str()));
    let mut annotations = deployed.metadata.annotations.clone().unwrap_or_default();
    // Not a run of those inputs by deploy (so no deploy prunes it); and not kubectl's
    // record of an apply.
    annotations.remove(JOB_INPUTS);
    annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    Template {
        from,
        labels,
        annotations,
        spec,
    }
}

fn not_deployed(target: &Target, job: &Job, missing: String) -> RunJobError {
    RunJobError::NotDeployed {
        job: job.name.clone(),
        namespace: target.namespace.clone(),
        missing,
    }
}

/// The Job `name` made from `template`, marked as a manual run of `job`.
fn instantiate(template: &Template, name: &str, job: &str) -> KubeJob {
    let mut labels = template.labels.clone();
    labels.insert(JOB.to_owned(), job.to_owned());
    let mut annotations = template.annotations.clone();
    annotations.insert(RUN.to_owned(), MANUAL.to_owned());
    let mut spec = template.spec.clone();
    spec.template
        .metadata
        .get_or_insert_with(ObjectMeta::default)
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(JOB.to_owned(), job.to_owned());
    KubeJob {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// Sends every attempt's log lines to `lines` while waiting for the run to finish, then
/// says how it ended.
pub async fn wait(
    cluster: &Cluster,
    run: &Started,
    lines: mpsc::Sender<LogLine>,
) -> Result<Outcome, RunJobError> {
    let jobs: Api<KubeJob> = Api::namespaced(cluster.client.clone(), &run.namespace);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &run.namespace);
    let job_events = watcher(
        jobs,
        watcher::Config::default().fields(&format!("metadata.name={}", run.name)),
    )
    .default_backoff();
    let pod_events = watcher(
        pods.clone(),
        watcher::Config::default().labels(&run.selector),
    )
    .default_backoff()
    .touched_objects();
    let (mut job_events, mut pod_events) = (std::pin::pin!(job_events), std::pin::pin!(pod_events));
    let mut streams = Streams::new(pods.clone(), LogParams::default(), lines);
    // Every pod seen, as last seen: a pod deleted at the deadline is still an attempt.
    let mut seen: BTreeMap<String, Pod> = BTreeMap::new();
    let mut job_seen = false;
    let bound = tokio::time::sleep(run.bound);
    let mut bound = std::pin::pin!(bound);
    let watch_error = |what: &str, error: &watcher::Error| {
        forbidden(error).map(|error| {
            RunJobError::from(request(format!(
                "watch {what} in namespace {}",
                run.namespace
            ))(error))
        })
    };
    let finished = loop {
        tokio::select! {
            () = &mut bound => {
                return Err(RunJobError::TimedOut {
                    name: run.name.clone(),
                    job: run.job.clone(),
                    namespace: run.namespace.clone(),
                    waited: humanize(run.bound),
                });
            }
            error = streams.failed() => return Err(error.into()),
            event = job_events.try_next() => match event {
                Ok(Some(watcher::Event::Apply(job) | watcher::Event::InitApply(job))) => {
                    job_seen = true;
                    if ending(&job).is_some() {
                        break job;
                    }
                }
                Ok(Some(watcher::Event::Delete(_)) | None) => return Err(deleted(run)),
                Ok(Some(watcher::Event::InitDone)) if !job_seen => return Err(deleted(run)),
                Ok(Some(_)) => {}
                Err(error) => {
                    if let Some(error) = watch_error(&format!("Job {}", run.name), &error) {
                        return Err(error);
                    }
                }
            },
            event = pod_events.try_next() => match event {
                Ok(Some(pod)) => {
                    streams.add(&pod);
                    seen.insert(pod.metadata.name.clone().unwrap_or_default(), pod);
                }
                Ok(None) => {}
                Err(error) => {
                    let what = format!("the pods of Job {}", run.name);
                    if let Some(error) = watch_error(&what, &error) {
                        return Err(error);
                    }
                }
            },
        }
    };
    // The pods as they ended, whatever the watch had delivered when the Job finished.
    let mut last = pods
        .list(&ListParams::default().labels(&run.selector))
        .await
        .map_err(request(format!("list the pods of Job {}", run.name)))?
        .items;
    last.sort_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
    streams.catch_up(&last).await?;
    for pod in last {
        seen.insert(pod.metadata.name.clone().unwrap_or_default(), pod);
    }
    Ok(outcome(&finished, seen.values()))
}

fn deleted(run: &Started) -> RunJobError {
    RunJobError::Deleted {
        name: run.name.clone(),
        namespace: run.namespace.clone(),
    }
}

/// How the finished `job` ended, its last attempt among `pods`.
fn outcome<'a>(job: &KubeJob, pods: impl IntoIterator<Item = &'a Pod>) -> Outcome {
    let exit = last_attempt(pods).and_then(exit_code);
    let attempts = attempts(job).max(1);
    match ending(job) {
        Some(Ending::Failed {
            reason, message, ..
        }) => Outcome {
            succeeded: false,
            attempts,
            exit,
            reason,
            message,
        },
        _ => Outcome {
            succeeded: true,
            attempts,
            exit,
            reason: None,
            message: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_named_by_its_job_and_time_within_a_label_value() {
        assert_eq!(run_name("migrate", 1_772_359_200), "migrate-run-1772359200");
        let long = "a".repeat(50) + "-b";
        let name = run_name(&long, 1_772_359_200);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("-run-1772359200"));
        let cut_at_dash = format!("{}-{}", "a".repeat(47), "b".repeat(4));
        assert_eq!(
            run_name(&cut_at_dash, 1_772_359_200),
            format!("{}-run-1772359200", "a".repeat(47)),
            "no double dash where the name was cut"
        );
    }

    #[test]
    fn the_exit_status_is_the_last_attempts_or_one_when_unknown() {
        let outcome = |succeeded, exit| Outcome {
            succeeded,
            attempts: 1,
            exit,
            reason: None,
            message: None,
        };
        assert_eq!(outcome(true, Some(0)).exit_status(), 0);
        assert_eq!(outcome(true, None).exit_status(), 0);
        assert_eq!(outcome(false, Some(3)).exit_status(), 3);
        assert_eq!(
            outcome(false, None).exit_status(),
            1,
            "stopped at the deadline"
        );
        assert_eq!(
            outcome(false, Some(0)).exit_status(),
            1,
            "failed is never 0"
        );
        assert_eq!(outcome(false, Some(300)).exit_status(), 1);
    }

    #[test]
    fn a_manual_run_carries_the_job_label_and_the_run_annotation() {
        let template = Template {
            from: "CronJob cleanup".to_owned(),
            labels: BTreeMap::from([("app.kubernetes.io/name".to_owned(), "cleanup".to_owned())]),
            annotations: BTreeMap::new(),
            spec: JobSpec::default(),
        };
        let job = instantiate(&template, "cleanup-run-1", "cleanup");
        let labels = job.metadata.labels.unwrap();
        assert_eq!(labels[JOB], "cleanup");
        assert_eq!(labels["app.kubernetes.io/name"], "cleanup");
        assert_eq!(job.metadata.annotations.unwrap()[RUN], MANUAL);
        let pod_labels = job.spec.unwrap().template.metadata.unwrap().labels.unwrap();
        assert_eq!(pod_labels[JOB], "cleanup");
    }
}
