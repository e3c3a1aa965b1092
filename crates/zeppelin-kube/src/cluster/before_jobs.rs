//! A deploy's `before` jobs, read from the manifest alone (a fresh render or a recorded
//! revision): each Job with its inputs hash, the subs it waits for and the workloads it
//! gates, in the order they run; and which of them need not run again.
//!
//! The order follows `App::start_steps`: a job runs once the subs it depends on have
//! rolled out, and a gated workload is applied once every job before it succeeded; ties
//! go by job name.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams};

use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, humanize, is_not_found, request};
use crate::cluster::gone::{Gone, wait_gone};
use crate::cluster::inventory::Inventory;
use crate::cluster::job_wait;
use crate::cluster::revision::{self, Revision};
use crate::cluster::workload::WorkloadKind;
use crate::render::labels;
use crate::render::manifest::{Item, Manifest};

/// One `before` job of a manifest.
#[derive(Debug, Clone)]
pub(crate) struct BeforeJob {
    /// The job's name in the app file.
    pub job: String,
    /// Its Job, `<job>-<hash>`.
    pub object: String,
    /// The subs whose workloads wait for it.
    pub before: Vec<String>,
    /// The subs that must have rolled out before it runs.
    pub depends_on: Vec<String>,
    /// Its `activeDeadlineSeconds`: the job's `timeout`.
    pub deadline: Option<Duration>,
}

fn annotation<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.object["metadata"]["annotations"][key].as_str()
}

fn list(text: Option<&str>) -> Vec<String> {
    text.unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `item` is a `before` job's Job (rather than a CronJob, or a Job a CronJob or
/// `run-job` made).
pub(crate) fn is_before_job(item: &Item) -> bool {
    item.kind() == "Job" && annotation(item, labels::JOB_INPUTS).is_some()
}

/// The manifest's `before` jobs, in the order a deploy runs them.
pub(crate) fn plan(manifest: &Manifest) -> Vec<BeforeJob> {
    let mut jobs: Vec<BeforeJob> = manifest
        .items
        .iter()
        .filter(|item| is_before_job(item))
        .map(|item| BeforeJob {
            job: item.object["metadata"]["labels"][labels::JOB]
                .as_str()
                .unwrap_or_else(|| item.name())
                .to_owned(),
            object: item.name().to_owned(),
            before: list(annotation(item, labels::JOB_BEFORE)),
            depends_on: list(annotation(item, labels::JOB_DEPENDS_ON)),
            deadline: item.object["spec"]["activeDeadlineSeconds"]
                .as_u64()
                .map(Duration::from_secs),
        })
        .collect();
    jobs.sort_by(|a, b| a.job.cmp(&b.job));
    let mut ordered: Vec<BeforeJob> = Vec::with_capacity(jobs.len());
    while !jobs.is_empty() {
        // A job is ready once no job left gates a sub it depends on.
        let ready = jobs.iter().position(|job| {
            !jobs
                .iter()
                .any(|other| other.before.iter().any(|s| job.depends_on.contains(s)))
        });
        // A cycle, which `zeppelin check` refuses: run the rest by name.
        ordered.push(jobs.remove(ready.unwrap_or(0)));
    }
    ordered
}

/// The subs whose workloads wait for a job of `jobs`.
pub(crate) fn gated(jobs: &[BeforeJob]) -> BTreeSet<String> {
    jobs.iter().flat_map(|j| j.before.iter().cloned()).collect()
}

/// Whether `item` is the workload of a sub in `subs`.
pub(crate) fn is_workload_of(item: &Item, subs: &BTreeSet<String>) -> bool {
    WorkloadKind::of(item.kind()).is_some() && subs.contains(item.name())
}

/// Refuses a job whose `timeout` is not shorter than the deploy's wait, before anything is
/// written: the deploy would give up on a job that may still succeed.
pub(crate) fn check_timeouts(
    jobs: &[BeforeJob],
    wait: Option<Duration>,
) -> Result<(), ClusterError> {
    let Some(wait) = wait else {
        return Ok(());
    };
    for job in jobs {
        if let Some(deadline) = job.deadline
            && deadline >= wait
        {
            return Err(ClusterError::JobTimeout {
                job: job.job.clone(),
                timeout: humanize(deadline),
                deploy: humanize(wait),
            });
        }
    }
    Ok(())
}

/// Whether each job must run: not when its Job already completed, nor when a kept revision
/// records that its Job (the same inputs) succeeded and the Job was since deleted. A Job
/// of the same inputs that failed is deleted (with its pods) so that it runs again; those
/// are removed from `before`, the objects the deploy compares with.
pub(crate) async fn to_run(
    cluster: &Cluster,
    namespace: &str,
    jobs: &[BeforeJob],
    revisions: &[Revision],
    before: &mut Inventory,
    dry_run: bool,
    timeout: Duration,
) -> Result<Vec<bool>, ClusterError> {
    let api: Api<Job> = Api::namespaced(cluster.client.clone(), namespace);
    let mut runs = Vec::with_capacity(jobs.len());
    for job in jobs {
        let live = match api.get_opt(&job.object).await {
            Ok(live) => live,
            Err(error) if is_not_found(&error) => None,
            Err(source) => {
                return Err(request(format!(
                    "read Job {} of job `{}` in namespace {namespace}",
                    job.object, job.job
                ))(source));
            }
        };
        let run = match live {
            Some(live) if job_wait::completed(&live) => false,
            Some(live) if job_wait::failed(&live) => {
                if !dry_run {
                    delete_failed(&api, namespace, job, &live, timeout).await?;
                    before
                        .objects
                        .remove(&("Job".to_owned(), job.object.clone()));
                }
                true
            }
            // Running (a deploy cut off while waiting): applying it again changes
            // nothing, and the wait picks it up.
            Some(_) => true,
            None => !revision::job_succeeded(revisions, &job.object),
        };
        runs.push(run);
    }
    Ok(runs)
}

/// Deletes a failed Job and its pods, and waits until it is gone, so the same name can run
/// again.
async fn delete_failed(
    api: &Api<Job>,
    namespace: &str,
    job: &BeforeJob,
    live: &Job,
    timeout: Duration,
) -> Result<(), ClusterError> {
    match api.delete(&job.object, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(error) if is_not_found(&error) => return Ok(()),
        Err(source) => {
            return Err(request(format!(
                "delete the failed Job {} of job `{}`, to run it again",
                job.object, job.job
            ))(source));
        }
    }
    let Some(uid) = live.metadata.uid.as_deref() else {
        return Ok(());
    };
    let what = Gone {
        kind: "Job",
        plural: "jobs",
        name: &job.object,
        namespace,
    };
    wait_gone(api.clone(), &what, uid, timeout).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job(name: &str, hash: &str, before: &str, depends_on: Option<&str>) -> serde_json::Value {
        let mut annotations = json!({
            labels::JOB_INPUTS: hash,
            labels::JOB_BEFORE: before,
        });
        if let Some(deps) = depends_on {
            annotations[labels::JOB_DEPENDS_ON] = json!(deps);
        }
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": format!("{name}-{hash}"), "namespace": "shop",
                            "labels": {labels::JOB: name}, "annotations": annotations},
               "spec": {"activeDeadlineSeconds": 120}})
    }

    #[test]
    fn jobs_run_after_the_jobs_that_gate_what_they_depend_on() {
        let manifest = Manifest::from_values(vec![
            // `seed` depends on `db`, which `migrate` gates: it runs second despite its name.
            job("seed", "bbbbbbbbbb", "api", Some("db")),
            job("migrate", "aaaaaaaaaa", "db", None),
            json!({"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": "cleanup-run-1", "namespace": "shop"}}),
        ])
        .unwrap();
        let jobs = plan(&manifest);
        let order: Vec<&str> = jobs.iter().map(|j| j.object.as_str()).collect();
        assert_eq!(order, ["migrate-aaaaaaaaaa", "seed-bbbbbbbbbb"]);
        assert_eq!(jobs[1].depends_on, ["db"]);
        assert_eq!(jobs[0].deadline, Some(Duration::from_secs(120)));
        assert_eq!(
            gated(&jobs).into_iter().collect::<Vec<_>>(),
            ["api".to_owned(), "db".to_owned()]
        );
    }

    #[test]
    fn a_job_timeout_must_be_shorter_than_the_deploy_wait() {
        let manifest =
            Manifest::from_values(vec![job("migrate", "aaaaaaaaaa", "api", None)]).unwrap();
        let jobs = plan(&manifest);
        assert!(check_timeouts(&jobs, Some(Duration::from_secs(121))).is_ok());
        assert!(check_timeouts(&jobs, None).is_ok());
        let err = check_timeouts(&jobs, Some(Duration::from_secs(120))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "job `migrate` may run for 2m (its `timeout`), which is not shorter than the deploy's --timeout of 2m, so the deploy could give up while the job still runs; lower `timeout` in [job.migrate] or raise --timeout; nothing was applied"
        );
    }
}
