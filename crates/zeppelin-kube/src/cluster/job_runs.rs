//! A run of a job in the cluster: the label and annotations that tie a batch/v1 `Job` to
//! the app file's job, and what a Job and its pods say about how a run went (finished or
//! not, how, the attempts made, the last attempt's exit code). [`run_job`](crate::run_job)
//! waits on these; `ps --k8s` reports them.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;

pub(crate) use crate::render::labels::{JOB, JOB_INPUTS, MANUAL, RUN};

/// How a finished Job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Its `Complete` condition is True.
    Succeeded { at: Option<Timestamp> },
    /// Its `Failed` condition is True, with the controller's reason (`BackoffLimitExceeded`,
    /// `DeadlineExceeded`) and message.
    Failed {
        reason: Option<String>,
        message: Option<String>,
        at: Option<Timestamp>,
    },
}

/// How `job` ended; `None` while it runs.
pub(crate) fn ending(job: &Job) -> Option<Ending> {
    let status = job.status.as_ref()?;
    let conditions = status.conditions.iter().flatten();
    let mut ending = None;
    for condition in conditions.filter(|c| c.status == "True") {
        let at = condition.last_transition_time.as_ref().map(|t| t.0);
        match condition.type_.as_str() {
            "Complete" => {
                let at = status.completion_time.as_ref().map(|t| t.0).or(at);
                return Some(Ending::Succeeded { at });
            }
            "Failed" => {
                ending = Some(Ending::Failed {
                    reason: condition.reason.clone(),
                    message: condition.message.clone(),
                    at,
                });
            }
            _ => {}
        }
    }
    ending
}

/// The pods `job` made: a run's attempts, each a pod with restart policy `Never`.
pub(crate) fn attempts(job: &Job) -> u32 {
    let status = job.status.clone().unwrap_or_default();
    [status.active, status.succeeded, status.failed]
        .into_iter()
        .map(|n| u32::try_from(n.unwrap_or(0)).unwrap_or(0))
        .sum()
}

/// When `job` started: its `startTime`, or when it was made while it waits to start.
pub(crate) fn started(job: &Job) -> Option<Timestamp> {
    job.status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .or(job.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
}

/// The app file's job an object (a Job, a CronJob or a pod) with metadata `meta` belongs
/// to.
pub(crate) fn job_name(meta: &ObjectMeta) -> Option<&str> {
    meta.labels.as_ref()?.get(JOB).map(String::as_str)
}

/// The newest of `jobs`: made last (by creation time, then name, since the cluster keeps
/// whole seconds and the names of scheduled and manual runs end in their time).
pub(crate) fn newest<'a>(jobs: impl IntoIterator<Item = &'a Job>) -> Option<&'a Job> {
    jobs.into_iter().max_by(|a, b| {
        let key = |j: &'a Job| {
            (
                j.metadata.creation_timestamp.as_ref().map(|t| t.0),
                j.metadata.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    })
}

/// Sorts after every finish time: a pod still running is later than any that finished.
const STILL_RUNNING: i64 = i64::MAX;

/// Whether `pod` was made by the Job whose uid is `uid`.
pub(crate) fn made_by(pod: &Pod, uid: &str) -> bool {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "Job" && o.uid == uid)
}

/// The last attempt among `pods`: the one made last; among pods made in the same second,
/// one still running, else the one that finished last.
pub(crate) fn last_attempt<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Option<&'a Pod> {
    pods.into_iter()
        .enumerate()
        .max_by_key(|(order, pod)| {
            let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
            let finished = finished_at(pod).map_or(STILL_RUNNING, Timestamp::as_second);
            (created, finished, *order)
        })
        .map(|(_, pod)| pod)
}

/// When `pod`'s containers finished, if they all did.
fn finished_at(pod: &Pod) -> Option<Timestamp> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    let mut last = None;
    for status in statuses {
        let terminated = status.state.as_ref()?.terminated.as_ref()?;
        let at = terminated.finished_at.as_ref().map(|t| t.0);
        last = last.max(at);
    }
    last.or(Some(Timestamp::UNIX_EPOCH))
}

/// The exit code of `pod`'s container once it has exited: the first non-zero one when a
/// pod has several containers.
pub(crate) fn exit_code(pod: &Pod) -> Option<i32> {
    let codes: Vec<i32> = pod
        .status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .filter_map(|c| Some(c.state.as_ref()?.terminated.as_ref()?.exit_code))
        .collect();
    codes
        .iter()
        .copied()
        .find(|c| *c != 0)
        .or(codes.first().copied())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(name: &str, created: &str, state: &serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "creationTimestamp": created},
            "status": {"containerStatuses": [{
                "name": "job", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                "state": state,
            }]},
        }))
        .unwrap()
    }

    fn exited(code: i32, at: &str) -> serde_json::Value {
        json!({"terminated": {"exitCode": code, "finishedAt": at}})
    }

    #[test]
    fn the_last_attempt_is_the_newest_pod_and_a_running_one_among_equals() {
        let first = pod(
            "m-a",
            "2026-03-01T10:00:00Z",
            &exited(3, "2026-03-01T10:00:00Z"),
        );
        let second = pod(
            "m-b",
            "2026-03-01T10:00:01Z",
            &exited(4, "2026-03-01T10:00:01Z"),
        );
        let running = pod("m-c", "2026-03-01T10:00:01Z", &json!({"running": {}}));
        let pods = [first.clone(), second.clone()];
        assert_eq!(last_attempt(&pods).and_then(exit_code), Some(4));
        let pods = [running.clone(), second, first];
        let last = last_attempt(&pods).unwrap();
        assert_eq!(last.metadata.name.as_deref(), Some("m-c"));
        assert_eq!(exit_code(last), None, "still running: no exit code");
    }

    #[test]
    fn a_job_ends_by_its_complete_or_failed_condition() {
        let job = |conditions: serde_json::Value| -> Job {
            serde_json::from_value(
                json!({"status": {"conditions": conditions, "failed": 2, "active": 1}}),
            )
            .unwrap()
        };
        assert_eq!(ending(&job(json!([]))), None);
        assert_eq!(
            ending(&job(json!([{"type": "FailureTarget", "status": "True"}]))),
            None,
            "an interim condition is not the end"
        );
        let failed = job(
            json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
            "lastTransitionTime": "2026-03-01T10:00:05Z"}]),
        );
        assert_eq!(
            ending(&failed),
            Some(Ending::Failed {
                reason: Some("DeadlineExceeded".to_owned()),
                message: None,
                at: Some("2026-03-01T10:00:05Z".parse().unwrap()),
            })
        );
        assert_eq!(attempts(&failed), 3);
        assert!(matches!(
            ending(&job(json!([{"type": "Complete", "status": "True"}]))),
            Some(Ending::Succeeded { .. })
        ));
    }
}
