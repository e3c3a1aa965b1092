//! The jobs part of `ps --k8s`: for each job of the app file, what triggers it (from the
//! file), how its newest run went (from the newest Job carrying its label, and that Job's
//! pods) and, while its CronJob runs, its schedule and when it is next due, both from the
//! deployed CronJob (the file may have changed since the deploy; the cluster runs what was
//! deployed). Built from one list of each kind, so `ps` costs the same however many jobs
//! and runs there are.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job as KubeJob};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use zeppelin_core::model::{Job, JobSchedule};
use zeppelin_core::status::{JobRun, JobState, JobStatus};

use crate::cluster::job_runs::{
    Ending, attempts, ending, exit_code, job_name, last_attempt, made_by, newest, started,
};

/// The status of each of `jobs` (the app file's), from the app's Jobs, CronJobs and pods
/// as listed at `now`. A job whose CronJob does not run by itself shows the file's
/// schedule, if any, and no next run.
pub(crate) fn job_statuses(
    jobs: &BTreeMap<String, Job>,
    kube_jobs: &[KubeJob],
    cron_jobs: &[CronJob],
    pods: &[Pod],
    now: Timestamp,
) -> Vec<JobStatus> {
    jobs.values()
        .map(|job| {
            let runs = kube_jobs
                .iter()
                .filter(|k| job_name(&k.metadata) == Some(job.name.as_str()));
            let (state, last_run) = match newest(runs) {
                Some(run) => (state(run), last_run(run, pods)),
                None => (JobState::NotRun, None),
            };
            let deployed = running_schedule(job, cron_jobs);
            let schedule = deployed
                .as_ref()
                .or(job.schedule.as_ref())
                .map(ToString::to_string);
            JobStatus {
                name: job.name.clone(),
                trigger: job.trigger(),
                schedule,
                state,
                last_run,
                next_run: deployed.and_then(|s| s.times().ok()?.next(now)),
                skipped: 0,
            }
        })
        .collect()
}

fn state(run: &KubeJob) -> JobState {
    match ending(run) {
        Some(Ending::Succeeded { .. }) => JobState::Succeeded,
        Some(Ending::Failed { .. }) => JobState::Failed,
        None => JobState::Running,
    }
}

/// One run, its attempts and the last attempt's exit code (when its pod is still there).
fn last_run(run: &KubeJob, pods: &[Pod]) -> Option<JobRun> {
    let started = started(run)?;
    let (ended, reason) = match ending(run) {
        Some(Ending::Succeeded { at }) => (at, None),
        Some(Ending::Failed { reason, at, .. }) => (at, reason),
        None => (None, None),
    };
    let uid = run.metadata.uid.as_deref().unwrap_or_default();
    let last = last_attempt(pods.iter().filter(|p| made_by(p, uid)));
    Some(JobRun {
        id: run.metadata.name.clone(),
        started,
        duration: ended.and_then(|end| Duration::try_from(end.duration_since(started)).ok()),
        attempts: attempts(run).max(1),
        exit: last.and_then(exit_code),
        reason,
    })
}

/// The schedule and time zone of `job`'s deployed CronJob, when it runs by itself: none
/// when it is not deployed or is suspended (an on-demand job's is), as nothing runs it then.
fn running_schedule(job: &Job, cron_jobs: &[CronJob]) -> Option<JobSchedule> {
    let cron_job = cron_jobs
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(job.name.as_str()))?;
    let spec = cron_job.spec.as_ref()?;
    if spec.suspend == Some(true) {
        return None;
    }
    Some(JobSchedule {
        cron: spec.schedule.clone(),
        timezone: spec.time_zone.clone(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use zeppelin_core::status::JobTrigger;

    use super::*;

    fn app_jobs() -> BTreeMap<String, Job> {
        let app = zeppelin_core::parse(
            r#"
name = "shop"
[sub.api]
image = "api:1"
port = 8080
[job.migrate]
image = "api:1"
before = ["api"]
[job.cleanup]
image = "api:1"
schedule = "0 3 * * *"
timezone = "Europe/Berlin"
[job.report]
image = "api:1"
"#,
            std::path::Path::new("zeppelin.toml"),
        )
        .unwrap();
        app.jobs
    }

    fn kube_job(name: &str, job: &str, created: &str, status: &serde_json::Value) -> KubeJob {
        serde_json::from_value(json!({
            "metadata": {"name": name, "uid": format!("uid-{name}"), "creationTimestamp": created,
                         "labels": {"zeppelin.dev/job": job}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn each_job_shows_its_newest_run_and_a_running_schedule_its_next_time() {
        let jobs = [
            kube_job(
                "migrate-0123456789",
                "migrate",
                "2026-03-01T09:00:00Z",
                &json!({"startTime": "2026-03-01T09:00:00Z", "succeeded": 1,
                       "completionTime": "2026-03-01T09:00:04Z",
                       "conditions": [{"type": "Complete", "status": "True"}]}),
            ),
            kube_job(
                "migrate-run-1772359200",
                "migrate",
                "2026-03-01T10:00:00Z",
                &json!({"startTime": "2026-03-01T10:00:00Z", "failed": 2,
                       "conditions": [{"type": "Failed", "status": "True",
                                       "reason": "BackoffLimitExceeded",
                                       "lastTransitionTime": "2026-03-01T10:00:09Z"}]}),
            ),
            kube_job(
                "cleanup-29540000",
                "cleanup",
                "2026-03-01T10:01:00Z",
                &json!({"startTime": "2026-03-01T10:01:00Z", "active": 1}),
            ),
        ];
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "migrate-run-1772359200-abcde",
                         "creationTimestamp": "2026-03-01T10:00:05Z",
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                                              "name": "migrate-run-1772359200",
                                              "uid": "uid-migrate-run-1772359200"}]},
            "status": {"containerStatuses": [{"name": "migrate", "image": "i", "imageID": "",
                "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 3}}}]},
        }))
        .unwrap();
        let cron_jobs: Vec<CronJob> = vec![
            serde_json::from_value(json!({"metadata": {"name": "cleanup"},
                "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Berlin",
                         "jobTemplate": {}}}))
            .unwrap(),
            serde_json::from_value(json!({"metadata": {"name": "report"},
                "spec": {"schedule": "0 0 1 1 *", "suspend": true, "jobTemplate": {}}}))
            .unwrap(),
        ];
        let now: Timestamp = "2026-03-01T10:02:00Z".parse().unwrap();
        let statuses = job_statuses(&app_jobs(), &jobs, &cron_jobs, &[pod], now);
        let names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["cleanup", "migrate", "report"]);

        let [cleanup, migrate, report] = &statuses[..] else {
            unreachable!()
        };
        assert_eq!(cleanup.trigger, JobTrigger::Schedule);
        assert_eq!(cleanup.schedule.as_deref(), Some("0 3 * * * Europe/Berlin"));
        assert_eq!(cleanup.state, JobState::Running);
        let run = cleanup.last_run.as_ref().unwrap();
        assert_eq!((run.duration, run.attempts, run.exit), (None, 1, None));
        assert_eq!(
            cleanup.next_run,
            Some("2026-03-02T02:00:00Z".parse().unwrap()),
            "03:00 in Berlin"
        );

        assert_eq!(migrate.trigger, JobTrigger::Before);
        assert_eq!(
            migrate.state,
            JobState::Failed,
            "the manual run is the newest"
        );
        let run = migrate.last_run.as_ref().unwrap();
        assert_eq!(run.id.as_deref(), Some("migrate-run-1772359200"));
        assert_eq!(run.duration, Some(Duration::from_secs(9)));
        assert_eq!(run.attempts, 2);
        assert_eq!(run.exit, Some(3));
        assert_eq!(run.reason.as_deref(), Some("BackoffLimitExceeded"));
        assert_eq!(migrate.next_run, None);

        assert_eq!(report.trigger, JobTrigger::OnDemand);
        assert_eq!((report.state, &report.last_run), (JobState::NotRun, &None));
        assert_eq!(report.next_run, None);
    }

    #[test]
    fn the_schedule_and_next_run_are_the_deployed_cron_jobs_not_the_files() {
        let now: Timestamp = "2026-03-01T10:02:00Z".parse().unwrap();
        let cron_jobs: Vec<CronJob> = vec![
            // Deployed at 04:30 UTC; the file now says 03:00 in Berlin.
            serde_json::from_value(json!({"metadata": {"name": "cleanup"},
                "spec": {"schedule": "30 4 * * *", "suspend": false, "jobTemplate": {}}}))
            .unwrap(),
            // Deployed on a schedule; the file now runs it on demand.
            serde_json::from_value(json!({"metadata": {"name": "report"},
                "spec": {"schedule": "0 12 * * *", "timeZone": "America/New_York",
                         "jobTemplate": {}}}))
            .unwrap(),
        ];
        let statuses = job_statuses(&app_jobs(), &[], &cron_jobs, &[], now);
        let [cleanup, _, report] = &statuses[..] else {
            unreachable!()
        };
        assert_eq!(cleanup.trigger, JobTrigger::Schedule);
        assert_eq!(cleanup.schedule.as_deref(), Some("30 4 * * *"));
        assert_eq!(
            cleanup.next_run,
            Some("2026-03-02T04:30:00Z".parse().unwrap())
        );
        assert_eq!(report.trigger, JobTrigger::OnDemand, "the file's trigger");
        assert_eq!(
            report.schedule.as_deref(),
            Some("0 12 * * * America/New_York")
        );
        assert_eq!(
            report.next_run,
            Some("2026-03-01T17:00:00Z".parse().unwrap()),
            "noon in New York"
        );
    }

    #[test]
    fn a_scheduled_job_not_deployed_or_suspended_has_no_next_run() {
        let now: Timestamp = "2026-03-01T10:02:00Z".parse().unwrap();
        let suspended: CronJob = serde_json::from_value(json!({"metadata": {"name": "cleanup"},
            "spec": {"schedule": "0 3 * * *", "suspend": true, "jobTemplate": {}}}))
        .unwrap();
        for cron_jobs in [vec![], vec![suspended]] {
            let statuses = job_statuses(&app_jobs(), &[], &cron_jobs, &[], now);
            assert_eq!(statuses[0].name, "cleanup");
            assert_eq!(statuses[0].next_run, None);
            assert_eq!(
                statuses[0].schedule.as_deref(),
                Some("0 3 * * * Europe/Berlin"),
                "the file's, as nothing runs it"
            );
            assert_eq!(statuses[0].state, JobState::NotRun);
        }
    }
}
