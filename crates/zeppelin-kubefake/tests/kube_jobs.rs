//! kube-rs against the fake API server's Job and `CronJob` controllers: Jobs that complete,
//! fail after their back-off limit with their pods' logs, run past their deadline, expire
//! after their TTL or are deleted with their pods; `CronJobs` that create Jobs on a sped-up
//! schedule, skip times while a Job runs under Forbid, and trim their history.

mod fixtures;

use std::time::Duration;

use fixtures::{LIMIT, client};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};
use zeppelin_kubefake::{Config, FakeApiServer};

/// A Job `name` running `image` with restart policy `policy`, merged with `spec`.
fn job(name: &str, image: &str, policy: &str, spec: &Value) -> Job {
    let mut object = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"restartPolicy": policy, "containers": [{"name": "task", "image": image}]}}}
    });
    for (key, value) in spec.as_object().unwrap() {
        object["spec"][key] = value.clone();
    }
    serde_json::from_value(object).unwrap()
}

/// A server started with `config` and the Job `migrate` created on it (see [`job`]): the
/// server, the Job as created, and the Jobs and Pods of the `default` namespace.
async fn migrate(
    config: Config,
    image: &str,
    policy: &str,
    spec: &Value,
) -> (FakeApiServer, Job, Api<Job>, Api<Pod>) {
    let server = FakeApiServer::start(config).await.unwrap();
    let client = client(&server).await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let created = jobs
        .create(&PostParams::default(), &job("migrate", image, policy, spec))
        .await
        .unwrap();
    (server, created, jobs, pods)
}

/// How the first container of `pod` ended.
fn terminated(pod: &Pod) -> ContainerStateTerminated {
    pod.status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .state
        .as_ref()
        .unwrap()
        .terminated
        .clone()
        .unwrap()
}

/// A `CronJob` `name` on `schedule` whose Jobs run `image`, merged with `spec`.
fn cron_job(name: &str, schedule: &str, image: &str, spec: &Value) -> CronJob {
    let mut object = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {"metadata": {"labels": {"app": name}}, "spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "task", "image": image}]
            }}}}
        }
    });
    for (key, value) in spec.as_object().unwrap() {
        object["spec"][key] = value.clone();
    }
    serde_json::from_value(object).unwrap()
}

fn condition_types(job: &Job) -> Vec<(String, String)> {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .map(|c| (c.type_.clone(), c.reason.clone().unwrap_or_default()))
        .collect()
}

fn has(job: &Job, kind: &str) -> bool {
    condition_types(job).iter().any(|(t, _)| t == kind)
}

/// Waits until the Job `name` has the condition `kind` (`Complete`, `Failed`).
async fn finished(jobs: &Api<Job>, name: &str, kind: &'static str) -> Job {
    let done = move |job: Option<&Job>| job.is_some_and(|j| has(j, "Complete") || has(j, "Failed"));
    let job = tokio::time::timeout(LIMIT, await_condition(jobs.clone(), name, done))
        .await
        .unwrap_or_else(|_| panic!("the Job {name} did not finish in time"))
        .unwrap()
        .unwrap();
    assert!(
        has(&job, kind),
        "{name} ended otherwise: {:?}",
        condition_types(&job)
    );
    job
}

async fn pods_of(pods: &Api<Pod>, job: &str) -> Vec<Pod> {
    let selector = format!("batch.kubernetes.io/job-name={job}");
    pods.list(&ListParams::default().labels(&selector))
        .await
        .unwrap()
        .items
}

/// Waits (bounded) until `check` holds for the server's objects of `kind`.
async fn wait_for(
    server: &FakeApiServer,
    kind: &str,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) {
    let waited = tokio::time::timeout(LIMIT, async {
        while !check(&server.objects(kind)) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting for {what}");
}

/// Events with `reason` about the object `name`.
fn events(server: &FakeApiServer, name: &str, reason: &str) -> Vec<Value> {
    server
        .objects("events")
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == name && e["reason"] == reason)
        .collect()
}

#[tokio::test]
async fn a_job_runs_its_completions_in_parallel_and_completes() {
    let spec = json!({"completions": 3, "parallelism": 2});
    let (server, created, jobs, pods) = migrate(Config::default(), "shop:1", "Never", &spec).await;
    let uid = created.uid().unwrap();
    let created_spec = created.spec.unwrap();
    assert_eq!(created_spec.backoff_limit, Some(6));
    assert_eq!(created_spec.completion_mode.as_deref(), Some("NonIndexed"));
    assert_eq!(
        created_spec.selector.unwrap().match_labels.unwrap()["batch.kubernetes.io/controller-uid"],
        uid
    );
    let labels = created_spec.template.metadata.unwrap().labels.unwrap();
    for (key, value) in [
        ("batch.kubernetes.io/job-name", "migrate"),
        ("job-name", "migrate"),
        ("batch.kubernetes.io/controller-uid", uid.as_str()),
        ("controller-uid", uid.as_str()),
    ] {
        assert_eq!(labels[key], value, "{key}");
    }
    assert_eq!(created.metadata.labels.unwrap(), labels);

    let done = finished(&jobs, "migrate", "Complete").await;
    let status = done.status.clone().unwrap();
    assert_eq!(
        (status.succeeded, status.failed, status.active),
        (Some(3), None, None)
    );
    assert_eq!((status.ready, status.terminating), (Some(0), Some(0)));
    assert!(status.start_time.is_some() && status.completion_time.is_some());
    assert_eq!(
        condition_types(&done),
        [
            (
                "SuccessCriteriaMet".to_owned(),
                "CompletionsReached".to_owned()
            ),
            ("Complete".to_owned(), "CompletionsReached".to_owned())
        ]
    );
    let ran = pods_of(&pods, "migrate").await;
    assert_eq!(ran.len(), 3, "one pod per completion");
    for pod in &ran {
        let name = pod.name_any();
        assert_eq!(pod.owner_references()[0].kind, "Job");
        assert!(pod.finalizers().is_empty(), "{name} is still tracked");
        let status = pod.status.as_ref().unwrap();
        assert_eq!(status.phase.as_deref(), Some("Succeeded"), "{name}");
        let terminated = terminated(pod);
        assert_eq!(
            (terminated.exit_code, terminated.reason.as_deref()),
            (0, Some("Completed"))
        );
        let log = pods.logs(&name, &LogParams::default()).await.unwrap();
        assert!(
            log.contains("container task completed (exit code 0)"),
            "{log}"
        );
    }
    assert_eq!(events(&server, "migrate", "SuccessfulCreate").len(), 3);
    assert_eq!(events(&server, "migrate", "Completed").len(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_crashing_job_fails_after_its_backoff_limit_with_its_pods_logs() {
    let spec = json!({"backoffLimit": 2});
    let (server, _, jobs, pods) =
        migrate(Config::default(), "shop-crashloop:1", "Never", &spec).await;
    let done = finished(&jobs, "migrate", "Failed").await;
    let status = done.status.clone().unwrap();
    assert_eq!(
        (status.failed, status.succeeded, status.active),
        (Some(3), None, None)
    );
    assert!(status.completion_time.is_none());
    let reason = "BackoffLimitExceeded".to_owned();
    assert_eq!(
        condition_types(&done),
        [
            ("FailureTarget".to_owned(), reason.clone()),
            ("Failed".to_owned(), reason)
        ]
    );
    let ran = pods_of(&pods, "migrate").await;
    assert_eq!(ran.len(), 3, "backoffLimit + 1 pods");
    for pod in &ran {
        let status = pod.status.as_ref().unwrap();
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        let container = &status.container_statuses.as_ref().unwrap()[0];
        let terminated = terminated(pod);
        assert_eq!(
            (terminated.exit_code, terminated.reason.as_deref()),
            (1, Some("Error"))
        );
        assert_eq!(container.restart_count, 0);
        let log = pods
            .logs(&pod.name_any(), &LogParams::default())
            .await
            .unwrap();
        assert!(log.contains("exited with code 1"), "{log}");
    }
    let warnings = events(&server, "migrate", "BackoffLimitExceeded");
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0]["message"],
        "Job has reached the specified backoff limit"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_job_restarting_on_failure_fails_once_its_containers_restarted_enough() {
    let config = Config {
        crash_restart_interval: Duration::from_millis(100),
        ..Config::default()
    };
    let spec = json!({"backoffLimit": 3});
    let (server, _, jobs, _) = migrate(config, "shop-crashloop:1", "OnFailure", &spec).await;
    let done = finished(&jobs, "migrate", "Failed").await;
    assert_eq!(done.status.unwrap().failed, Some(1), "the one pod, deleted");
    assert_eq!(
        events(&server, "migrate", "SuccessfulCreate").len(),
        1,
        "restarts happen in place"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_job_past_its_deadline_fails_and_its_pods_are_deleted() {
    // The image never pulls, so the pod would wait for ever.
    let spec = json!({"activeDeadlineSeconds": 1});
    let (server, _, jobs, pods) =
        migrate(Config::default(), "shop:does-not-exist", "Never", &spec).await;
    let done = finished(&jobs, "migrate", "Failed").await;
    assert_eq!(done.status.clone().unwrap().failed, Some(1));
    let failed = condition_types(&done);
    assert_eq!(
        failed[1],
        ("Failed".to_owned(), "DeadlineExceeded".to_owned())
    );
    assert!(pods_of(&pods, "migrate").await.is_empty());
    let warnings = events(&server, "migrate", "DeadlineExceeded");
    assert_eq!(
        warnings[0]["message"],
        "Job was active longer than specified deadline"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_finished_job_is_deleted_with_its_pods_after_its_ttl() {
    let spec = json!({"ttlSecondsAfterFinished": 1});
    let (server, _, jobs, _) = migrate(Config::default(), "shop:1", "Never", &spec).await;
    let gone = |job: Option<&Job>| job.is_none();
    let deleted = tokio::time::timeout(LIMIT, await_condition(jobs.clone(), "migrate", gone)).await;
    assert!(deleted.is_ok(), "the Job outlived its TTL");
    assert!(
        events(&server, "migrate", "Completed").len() == 1,
        "it completed before it went"
    );
    assert!(server.objects("pods").is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn deleting_a_running_job_deletes_its_pods() {
    let spec = json!({"parallelism": 2, "completions": 4});
    let (server, _, jobs, _) =
        migrate(Config::default(), "shop:does-not-exist", "Never", &spec).await;
    wait_for(&server, "pods", "two pods", |pods| pods.len() == 2).await;
    let running = jobs.get("migrate").await.unwrap();
    assert_eq!(running.status.unwrap().active, Some(2));
    jobs.delete("migrate", &DeleteParams::background())
        .await
        .unwrap();
    wait_for(&server, "pods", "no pods", <[Value]>::is_empty).await;
    assert!(server.objects("jobs").is_empty());
    server.shutdown().await;
}

/// A server whose `CronJob` clock runs a minute per second, with the `CronJob` `tick` created
/// on it to run every minute (see [`cron_job`]): the server, the `CronJob` as created, and
/// the `CronJobs` of the `default` namespace.
async fn ticking(image: &str, spec: &Value) -> (FakeApiServer, CronJob, Api<CronJob>) {
    let config = Config {
        clock_speed: 60.0,
        ..Config::default()
    };
    let server = FakeApiServer::start(config).await.unwrap();
    let crons: Api<CronJob> = Api::namespaced(client(&server).await, "default");
    let created = crons
        .create(
            &PostParams::default(),
            &cron_job("tick", "* * * * *", image, spec),
        )
        .await
        .unwrap();
    (server, created, crons)
}

#[tokio::test]
async fn a_cron_job_creates_jobs_on_schedule_and_trims_its_history() {
    let spec = json!({"successfulJobsHistoryLimit": 2, "timeZone": "Europe/Berlin"});
    let (server, created, crons) = ticking("shop:1", &spec).await;
    let created_spec = created.spec.unwrap();
    assert_eq!(created_spec.concurrency_policy.as_deref(), Some("Allow"));
    assert_eq!(created_spec.failed_jobs_history_limit, Some(1));
    // Four runs, and older successes deleted to keep two.
    wait_for(&server, "events", "four runs and a trim", |events| {
        let about = |reason: &str| {
            events
                .iter()
                .filter(|e| e["involvedObject"]["name"] == "tick" && e["reason"] == reason)
                .count()
        };
        about("SuccessfulCreate") >= 4 && about("SuccessfulDelete") >= 1
    })
    .await;
    let complete = |jobs: &[Value]| {
        jobs.iter()
            .filter(|j| {
                j["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Complete"))
            })
            .count()
    };
    wait_for(&server, "jobs", "two complete Jobs kept", |jobs| {
        complete(jobs) == 2
    })
    .await;
    let jobs = server.objects("jobs");
    for job in &jobs {
        let name = job["metadata"]["name"].as_str().unwrap();
        let minute: i64 = name.strip_prefix("tick-").unwrap().parse().unwrap();
        let scheduled =
            job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
                .as_str()
                .unwrap();
        let at: jiff::Timestamp = scheduled.parse().unwrap();
        assert_eq!(at.as_second(), minute * 60, "{name} runs at {scheduled}");
        assert!(
            scheduled.ends_with("+01:00") || scheduled.ends_with("+02:00"),
            "{scheduled}"
        );
        assert_eq!(job["metadata"]["labels"]["app"], "tick");
        assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    }
    let cron = crons.get("tick").await.unwrap();
    let status = cron.status.unwrap();
    assert!(status.last_schedule_time.is_some());
    assert!(status.last_successful_time.is_some());
    assert!(!events(&server, "tick", "SawCompletedJob").is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn forbid_skips_schedules_while_a_job_runs_and_suspend_stops_them() {
    let spec = json!({"concurrencyPolicy": "Forbid"});
    // Its pods never pull their image, so the first Job runs for ever.
    let (server, _, crons) = ticking("shop:does-not-exist", &spec).await;
    wait_for(&server, "events", "two skipped runs", |_| {
        events(&server, "tick", "JobAlreadyActive").len() >= 2
    })
    .await;
    assert_eq!(server.objects("jobs").len(), 1, "one Job at a time");
    let cron = crons.get("tick").await.unwrap();
    let active = cron.status.unwrap().active.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].kind.as_deref(), Some("Job"));
    server.shutdown().await;

    let spec = json!({"suspend": true});
    let (server, _, _) = ticking("shop:1", &spec).await;
    // Three scheduled minutes pass.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(server.objects("jobs").is_empty(), "a suspended CronJob ran");
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_jobs_and_schedules_are_refused_naming_the_field() {
    let server = FakeApiServer::start(Config::default()).await.unwrap();
    let client = client(&server).await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), "default");
    let crons: Api<CronJob> = Api::namespaced(client, "default");
    let always = job("migrate", "shop:1", "Always", &json!({}));
    let (code, _, message) = fixtures::status_of(
        jobs.create(&PostParams::default(), &always)
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 422);
    assert!(
        message.contains(r#"spec.template.spec.restartPolicy: Unsupported value: "Always""#),
        "{message}"
    );
    let bad = cron_job("tick", "0 25 * * *", "shop:1", &json!({}));
    let (code, _, message) = fixtures::status_of(
        crons
            .create(&PostParams::default(), &bad)
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 422);
    assert!(message.contains("spec.schedule"), "{message}");
    let zone = cron_job(
        "tick",
        "0 3 * * *",
        "shop:1",
        &json!({"timeZone": "Mars/Olympus"}),
    );
    let (_, _, message) = fixtures::status_of(
        crons
            .create(&PostParams::default(), &zone)
            .await
            .unwrap_err(),
    );
    assert!(
        message.contains("unknown time zone Mars/Olympus"),
        "{message}"
    );

    jobs.create(
        &PostParams::default(),
        &job("migrate", "shop:1", "Never", &json!({})),
    )
    .await
    .unwrap();
    let changed = json!({"spec": {"template": {"spec": {"containers": [{"name": "task", "image": "shop:2"}]}}}});
    let (code, _, message) = fixtures::status_of(
        jobs.patch(
            "migrate",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Strategic(changed),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 422);
    assert!(
        message.contains("spec.template: Invalid value"),
        "{message}"
    );
    assert!(message.contains("field is immutable"), "{message}");
    server.shutdown().await;
}

#[tokio::test]
async fn replace_deletes_the_running_job_for_the_next_one() {
    let spec = json!({"concurrencyPolicy": "Replace"});
    let (server, _, _) = ticking("shop:does-not-exist", &spec).await;
    wait_for(&server, "events", "a replaced Job", |_| {
        !events(&server, "tick", "SuccessfulDelete").is_empty()
    })
    .await;
    let deleted = events(&server, "tick", "SuccessfulDelete");
    let gone = deleted[0]["message"]
        .as_str()
        .unwrap()
        .strip_prefix("Deleted job ")
        .unwrap();
    assert!(
        server.object("jobs", "default", gone).is_none(),
        "{gone} is still there"
    );
    assert!(
        server.objects("jobs").len() <= 1,
        "Replace ran Jobs side by side"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_time_past_the_starting_deadline_is_missed_not_run() {
    // With no second of grace, the controller is always too late.
    let spec = json!({"startingDeadlineSeconds": 0});
    let (server, _, crons) = ticking("shop:1", &spec).await;
    wait_for(&server, "events", "a missed time", |_| {
        !events(&server, "tick", "MissSchedule").is_empty()
    })
    .await;
    let missed = events(&server, "tick", "MissSchedule");
    assert_eq!(missed[0]["type"], "Warning");
    let message = missed[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Missed scheduled time to start a job: "),
        "{message}"
    );
    assert!(server.objects("jobs").is_empty());
    let cron = crons.get("tick").await.unwrap();
    assert!(cron.status.unwrap().last_schedule_time.is_none());
    server.shutdown().await;
}
