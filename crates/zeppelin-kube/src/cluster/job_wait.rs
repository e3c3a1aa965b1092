//! Waiting for one `before` job's Job to finish, by watching it (no polling), and saying
//! why it failed: the Job's reason (`BackoffLimitExceeded`, `DeadlineExceeded`) and the
//! last log lines of its failed pods.

use std::fmt::Write as _;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};

use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, humanize};

/// The label the Job controller puts on each pod it makes.
const JOB_NAME: &str = "batch.kubernetes.io/job-name";
/// Log lines shown per failed pod.
const LOG_LINES: i64 = 10;
/// Failed pods shown: the last tries are the telling ones.
const PODS_SHOWN: usize = 2;

/// Where a `before` job's run stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobProgress {
    /// The job's name in the app file.
    pub job: String,
    /// Its Job, `<job>-<hash>`.
    pub object: String,
    /// Pods running now.
    pub running: i32,
    /// Tries that failed so far.
    pub failed: i32,
    /// Tries allowed: `retries` + 1.
    pub tries: i32,
    /// `Some(true)` once `Complete`, `Some(false)` once `Failed`.
    pub finished: Option<bool>,
}

/// Why a Job did not succeed: its reason in a word (`BackoffLimitExceeded`,
/// `DeadlineExceeded`, or `Timeout` when the deploy's wait ran out first), for the
/// revision, and the error that explains it.
#[derive(Debug)]
pub(crate) struct JobFailure {
    pub reason: String,
    pub error: ClusterError,
}

/// How a finished Job ended.
enum Ended {
    Complete,
    Failed { reason: String, message: String },
}

fn ended(job: &Job) -> Option<Ended> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    conditions
        .iter()
        .filter(|c| c.status == "True")
        .find_map(|c| match c.type_.as_str() {
            "Complete" => Some(Ended::Complete),
            "Failed" => Some(Ended::Failed {
                reason: c.reason.clone().unwrap_or_else(|| "Failed".to_owned()),
                message: c.message.clone().unwrap_or_default(),
            }),
            _ => None,
        })
}

fn progress(job_name: &str, job: &Job) -> JobProgress {
    let status = job.status.clone().unwrap_or_default();
    let backoff = job.spec.as_ref().and_then(|s| s.backoff_limit).unwrap_or(6);
    JobProgress {
        job: job_name.to_owned(),
        object: job.metadata.name.clone().unwrap_or_default(),
        running: status.active.unwrap_or(0),
        failed: status.failed.unwrap_or(0),
        tries: backoff + 1,
        finished: ended(job).map(|e| matches!(e, Ended::Complete)),
    }
}

/// Whether the Job ran to `Complete`, so the same inputs need not run again.
pub(crate) fn completed(job: &Job) -> bool {
    matches!(ended(job), Some(Ended::Complete))
}

/// Whether the Job failed for good (`Failed`), so running its inputs again needs a new Job.
pub(crate) fn failed(job: &Job) -> bool {
    matches!(ended(job), Some(Ended::Failed { .. }))
}

/// Waits for the Job `object` of job `job_name` to finish, for at most `timeout`, calling
/// `on_progress` whenever a count changes. A failure (or the timeout) comes back with its
/// reason and an error that says why, with the last log lines of its failed pods.
pub(crate) async fn wait(
    cluster: &Cluster,
    namespace: &str,
    job_name: &str,
    object: &str,
    timeout: Duration,
    mut on_progress: impl FnMut(&JobProgress),
) -> Result<(), JobFailure> {
    let api: Api<Job> = Api::namespaced(cluster.client.clone(), namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={object}"));
    let mut jobs = Box::pin(watcher(api, config).default_backoff().applied_objects());
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last: Option<JobProgress> = None;
    loop {
        let job = match tokio::time::timeout_at(deadline, jobs.next()).await {
            Err(_) => {
                let mut text = format!(
                    "job `{job_name}` did not finish: timed out after {} waiting for Job {object}",
                    humanize(timeout)
                );
                explain_pods(cluster, namespace, object, &mut text).await;
                return Err(JobFailure {
                    reason: "Timeout".to_owned(),
                    error: ClusterError::RolloutFailed(text),
                });
            }
            Ok(None) => {
                return Err(JobFailure {
                    reason: "WatchEnded".to_owned(),
                    error: ClusterError::RolloutFailed(format!(
                        "the watch on Job {object} ended; `kubectl get job {object} -n {namespace}` shows where job `{job_name}` stands"
                    )),
                });
            }
            // Watch errors are retried with backoff by the stream itself.
            Ok(Some(Err(_))) => continue,
            Ok(Some(Ok(job))) => job,
        };
        let now = progress(job_name, &job);
        if last.as_ref() != Some(&now) {
            on_progress(&now);
            last = Some(now);
        }
        match ended(&job) {
            None => {}
            Some(Ended::Complete) => return Ok(()),
            Some(Ended::Failed { reason, message }) => {
                let mut text = format!("job `{job_name}` failed: {reason}");
                if !message.is_empty() {
                    let _ = write!(text, ": {message}");
                }
                let _ = write!(
                    text,
                    "\n  Job {object}: {} of {} failed",
                    counted(last.as_ref().map_or(0, |p| p.failed), "try"),
                    last.as_ref().map_or(1, |p| p.tries)
                );
                explain_pods(cluster, namespace, object, &mut text).await;
                let _ = write!(
                    text,
                    "\n  its pods and logs are kept for a day (`kubectl logs job/{object} -n {namespace}`); fix the job and deploy again, which runs it again"
                );
                return Err(JobFailure {
                    reason,
                    error: ClusterError::RolloutFailed(text),
                });
            }
        }
    }
}

/// `1 try`, `2 tries`.
fn counted(n: i32, noun: &str) -> String {
    match (n, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "try") => format!("{n} tries"),
        _ => format!("{n} {noun}s"),
    }
}

/// The Job's failed pods (the last few), each with how its container ended and its last
/// log lines. Evidence that cannot be read is left out: the failure is what matters.
async fn explain_pods(cluster: &Cluster, namespace: &str, object: &str, text: &mut String) {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
    let selector = format!("{JOB_NAME}={object}");
    let Ok(list) = pods.list(&ListParams::default().labels(&selector)).await else {
        return;
    };
    let mut items = list.items;
    items.sort_by_key(|p| p.metadata.creation_timestamp.clone().map(|t| t.0));
    let failed: Vec<&Pod> = items
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed"))
        .collect();
    let shown = if failed.is_empty() {
        items.iter().collect::<Vec<_>>()
    } else {
        failed
    };
    for pod in shown.iter().rev().take(PODS_SHOWN).rev() {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let _ = write!(text, "\n  pod {name}");
        let terminated = pod
            .status
            .iter()
            .flat_map(|s| s.container_statuses.iter().flatten())
            .find_map(|c| c.state.as_ref()?.terminated.clone());
        if let Some(t) = terminated {
            let _ = write!(
                text,
                ": {} (exit code {})",
                t.reason.as_deref().unwrap_or("terminated"),
                t.exit_code
            );
        }
        let params = LogParams {
            tail_lines: Some(LOG_LINES),
            ..LogParams::default()
        };
        if let Ok(logs) = pods.logs(&name, &params).await
            && !logs.trim().is_empty()
        {
            let _ = write!(text, "\n    last log lines:");
            for line in logs.lines() {
                let _ = write!(text, "\n      | {line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(status: &serde_json::Value) -> Job {
        serde_json::from_value(json!({
            "metadata": {"name": "migrate-0123456789"},
            "spec": {"backoffLimit": 1, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_job_ends_with_its_complete_or_failed_condition() {
        let running = job(&json!({"active": 1, "failed": 1}));
        assert!(!completed(&running) && !failed(&running));
        let p = progress("migrate", &running);
        assert_eq!((p.running, p.failed, p.tries, p.finished), (1, 1, 2, None));
        let done = job(&json!({"succeeded": 1, "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True"},
            {"type": "Complete", "status": "True"}]}));
        assert!(completed(&done));
        assert_eq!(progress("migrate", &done).finished, Some(true));
        let gave_up = job(&json!({"failed": 2, "conditions": [
            {"type": "FailureTarget", "status": "True"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit"}]}));
        assert!(failed(&gave_up));
        assert!(matches!(
            ended(&gave_up),
            Some(Ended::Failed { reason, .. }) if reason == "BackoffLimitExceeded"
        ));
        assert_eq!(counted(2, "try"), "2 tries");
        assert_eq!(counted(1, "try"), "1 try");
    }
}
