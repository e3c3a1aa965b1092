//! A job's objects: a `before` job becomes a Job named by the hash of its inputs
//! (`migrate-<hash>`), which a deploy runs before the workloads it gates and never again
//! while the hash stays; a scheduled job a CronJob; an on-demand job a suspended CronJob,
//! the template `zeppelin run-job --k8s` copies.
//!
//! The pod is a sub's ([`Job::as_sub`] through `workload::hardened_pod`), so it is hardened
//! exactly as a sub's pods are, and runs the job's `run` through `/bin/sh -c` (a job usually
//! shares its image with a sub whose entrypoint serves). A run gets `retries` more tries
//! (`backoffLimit`), all within `timeout` (`activeDeadlineSeconds`), and its Job stays a
//! day after it finished so its logs can be read.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job as KubeJob, JobSpec, JobTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use zeppelin_core::App;
use zeppelin_core::model::Job;

use crate::render::hash;
use crate::render::labels::{self, job_labels};
use crate::render::object::Object;
use crate::render::options::RenderOptions;
use crate::render::warning::Warning;
use crate::render::workload::{HardenedPod, count, hardened_pod};

/// How long a finished Job (and its pods, with their logs) is kept: a day, to read what a
/// migration or a nightly run printed; a deploy prunes a `before` job's older Jobs sooner.
pub(crate) const TTL_AFTER_FINISHED_SECS: i32 = 24 * 60 * 60;

/// How late a scheduled run may still start (the controller was down, or under `Forbid`
/// the previous run was still going); a run later than this is skipped, not run late.
pub(crate) const STARTING_DEADLINE_SECS: i64 = 10 * 60;

/// Finished runs of a CronJob kept for `kubectl get jobs` and their logs.
pub(crate) const SUCCESSFUL_HISTORY: i32 = 3;
pub(crate) const FAILED_HISTORY: i32 = 3;

/// The object a job renders to: a `before` job's Job, or a CronJob.
pub(crate) fn object(
    app: &App,
    job: &Job,
    options: &RenderOptions,
    warnings: &mut Vec<Warning>,
) -> Object {
    let (annotations, spec) = job_spec(app, job, options, warnings);
    let labels = job_labels(app, &job.name);
    if job.runs_before() {
        let template = spec.template.clone();
        let inputs = hash::job_inputs(&template);
        let mut annotations = annotations;
        annotations.extend([
            (labels::JOB_INPUTS.to_owned(), inputs.clone()),
            (labels::JOB_BEFORE.to_owned(), job.before.join(",")),
        ]);
        if !job.depends_on.is_empty() {
            annotations.insert(labels::JOB_DEPENDS_ON.to_owned(), job.depends_on.join(","));
        }
        return Object::Job(Box::new(KubeJob {
            metadata: meta(app, format!("{}-{inputs}", job.name), labels, annotations),
            spec: Some(spec),
            status: None,
        }));
    }
    let (schedule, time_zone, suspend) = match &job.schedule {
        Some(schedule) => (schedule.cron.clone(), schedule.timezone.clone(), false),
        // Never due by itself: `zeppelin run-job --k8s` makes a Job from its template. The
        // schedule is required by the API and never reached while suspended.
        None => ("0 0 1 1 *".to_owned(), None, true),
    };
    Object::CronJob(Box::new(CronJob {
        metadata: meta(app, job.name.clone(), labels.clone(), annotations),
        spec: Some(CronJobSpec {
            schedule,
            time_zone,
            suspend: Some(suspend),
            concurrency_policy: Some("Forbid".to_owned()),
            starting_deadline_seconds: Some(STARTING_DEADLINE_SECS),
            successful_jobs_history_limit: Some(SUCCESSFUL_HISTORY),
            failed_jobs_history_limit: Some(FAILED_HISTORY),
            job_template: JobTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(spec),
            },
        }),
        status: None,
    }))
}

fn meta(
    app: &App,
    name: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(app.namespace().to_owned()),
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..ObjectMeta::default()
    }
}

/// What one run of the job is, for a Job or a CronJob's template: one pod that is never
/// restarted in place, `retries` more tries, `timeout` for them all; and the annotations
/// of the object that holds it.
fn job_spec(
    app: &App,
    job: &Job,
    options: &RenderOptions,
    warnings: &mut Vec<Warning>,
) -> (BTreeMap<String, String>, JobSpec) {
    let mut said = Vec::new();
    let HardenedPod {
        annotations,
        mut template,
    } = hardened_pod(
        app,
        &job.as_sub(),
        job_labels(app, &job.name),
        options,
        false,
        &mut said,
    );
    // The pod is built as a sub's; what it says is about the job.
    warnings.extend(said.into_iter().map(|w| Warning {
        sub: None,
        message: format!("job `{}`: {}", job.name, w.message),
    }));
    if let Some(spec) = template.spec.as_mut() {
        spec.restart_policy = Some("Never".to_owned());
        if let (Some(run), Some(container)) = (&job.run, spec.containers.first_mut()) {
            // Kubernetes expands `$(VAR)` in a command; `$$` keeps a literal `$`.
            container.command = Some(vec![
                "/bin/sh".to_owned(),
                "-c".to_owned(),
                run.replace('$', "$$"),
            ]);
        }
    }
    let deadline = i64::try_from(job.timeout.ceil_secs())
        .unwrap_or(i64::MAX)
        .max(1);
    (
        annotations,
        JobSpec {
            backoff_limit: Some(count(job.retries)),
            active_deadline_seconds: Some(deadline),
            ttl_seconds_after_finished: Some(TTL_AFTER_FINISHED_SECS),
            template,
            ..JobSpec::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::error::RenderError;

    const APP: &str = r#"
name = "shop"
[conf]
LOG_LEVEL = "info"
[sub.db]
image = "db:1"
port = 5432
[sub.api]
image = "api:1"
port = 8080
[job.migrate]
run = "migrate $(whoami)"
image = "api:1"
depends_on = ["db"]
before = ["api"]
timeout = "90s"
retries = 2
[job.cleanup]
run = "cleanup"
image = "api:1"
schedule = "0 3 * * *"
timezone = "Europe/Berlin"
[job.reindex]
image = "api:1"
"#;

    fn app(text: &str) -> App {
        zeppelin_core::parse(text, std::path::Path::new("zeppelin.toml")).unwrap()
    }

    fn render(text: &str, name: &str) -> Object {
        let app = app(text);
        object(
            &app,
            &app.jobs[name],
            &RenderOptions::default(),
            &mut Vec::new(),
        )
    }

    #[test]
    fn a_before_job_is_a_job_named_by_the_hash_of_its_inputs() {
        let Object::Job(job) = render(APP, "migrate") else {
            panic!("not a Job");
        };
        let annotations = job.metadata.annotations.clone().unwrap();
        let hash = &annotations[labels::JOB_INPUTS];
        assert_eq!(
            job.metadata.name.as_deref(),
            Some(&*format!("migrate-{hash}"))
        );
        assert_eq!(hash.len(), hash::JOB_INPUTS_LEN);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(annotations[labels::JOB_BEFORE], "api");
        assert_eq!(annotations[labels::JOB_DEPENDS_ON], "db");
        assert_eq!(
            job.metadata.labels.as_ref().unwrap()[labels::JOB],
            "migrate"
        );
        let spec = job.spec.unwrap();
        assert_eq!(spec.backoff_limit, Some(2));
        assert_eq!(spec.active_deadline_seconds, Some(90));
        assert_eq!(
            spec.ttl_seconds_after_finished,
            Some(TTL_AFTER_FINISHED_SECS)
        );
        let pod = spec.template.spec.unwrap();
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        assert_eq!(pod.automount_service_account_token, Some(false));
        let command = pod.containers[0].command.clone().unwrap();
        assert_eq!(command, ["/bin/sh", "-c", "migrate $$(whoami)"]);
        let labels = spec.template.metadata.unwrap().labels.unwrap();
        assert_eq!(labels[labels::JOB], "migrate");
    }

    #[test]
    fn the_hash_follows_what_the_job_runs_and_the_conf_it_sees() {
        let name = |text: &str| render(text, "migrate").name().to_owned();
        let base = name(APP);
        assert_eq!(base, name(APP));
        assert_ne!(
            base,
            name(&APP.replace("migrate $(whoami)", "migrate --all"))
        );
        assert_ne!(base, name(&APP.replace("\"info\"", "\"debug\"")));
        // How often and how long it may try is not what it runs.
        assert_eq!(base, name(&APP.replace("retries = 2", "retries = 3")));
    }

    #[test]
    fn scheduled_and_on_demand_jobs_are_cron_jobs() {
        let Object::CronJob(cron) = render(APP, "cleanup") else {
            panic!("not a CronJob");
        };
        let spec = cron.spec.unwrap();
        assert_eq!(cron.metadata.name.as_deref(), Some("cleanup"));
        assert_eq!(spec.schedule, "0 3 * * *");
        assert_eq!(spec.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
        assert_eq!(spec.suspend, Some(false));
        assert_eq!(spec.starting_deadline_seconds, Some(STARTING_DEADLINE_SECS));
        let Object::CronJob(on_demand) = render(APP, "reindex") else {
            panic!("not a CronJob");
        };
        let spec = on_demand.spec.unwrap();
        assert_eq!(spec.suspend, Some(true));
        // Without `run`, the image's own entrypoint runs.
        let pod = spec.job_template.spec.unwrap().template.spec.unwrap();
        assert_eq!(pod.containers[0].command, None);
    }

    #[test]
    fn a_job_without_an_image_cannot_be_rendered() {
        let app = app(&APP.replace(
            "[job.reindex]\nimage = \"api:1\"",
            "[job.reindex]\nrun = \"x\"",
        ));
        let err = crate::render(&app, &RenderOptions::default()).unwrap_err();
        assert!(matches!(&err, RenderError::JobMissingImage { job } if job == "reindex"));
        assert_eq!(
            err.to_string(),
            "job `reindex` has no image, which Kubernetes needs; add `image = \"registry/name:tag\"` to [job.reindex]"
        );
    }
}
