//! The Job controller: runs `parallelism` pods at a time from the template until
//! `completions` of them succeeded (or, without `completions`, until one succeeded and none
//! is left running), and fails the Job once more pods failed than `backoffLimit` allows (with
//! `OnFailure`, once their containers restarted that often) or it ran past
//! `activeDeadlineSeconds`. Finished pods are counted once, through the
//! `batch.kubernetes.io/job-tracking` finalizer the pods carry until counted, as on a real
//! cluster. Like a 1.31+ server it adds `SuccessCriteriaMet` before `Complete` and
//! `FailureTarget` before `Failed`. A finished Job with `ttlSecondsAfterFinished` is deleted
//! with its pods once that time has passed.
//!
//! Failed pods are replaced at once, without the real controller's growing back-off delay,
//! so tests of `backoffLimit` take seconds.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::controlled::Controlled;
use super::replicaset::is_ready;
use super::{CONTROLLER_MANAGER, Kinds, meta, owned_by, owner_reference, write_status, writer};
use crate::server::Shared;
use crate::store::{self, Propagation, name_suffix};
use crate::table::int;

const COMPONENT: &str = "job-controller";
const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

pub(super) fn reconcile_all(shared: &Shared, kinds: Kinds) {
    let pods = shared.store.all(kinds.pods);
    for job in shared.store.all(kinds.jobs) {
        let owned: Vec<&Value> = pods
            .iter()
            .filter(|p| meta(p, "namespace") == meta(&job, "namespace") && owned_by(p, &job))
            .collect();
        Job(Controlled {
            shared,
            kinds,
            object: &job,
            component: COMPONENT,
        })
        .reconcile(&owned);
    }
}

/// True if `object` has a condition of `kind` with status True.
pub(super) fn has_condition(object: &Value, kind: &str) -> bool {
    condition(object, kind).is_some()
}

fn condition<'v>(object: &'v Value, kind: &str) -> Option<&'v Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
}

/// True for a Job that is Complete or Failed.
pub(super) fn is_finished(job: &Value) -> bool {
    has_condition(job, "Complete") || has_condition(job, "Failed")
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("Pending")
}

fn is_active(pod: &Value) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed")
}

fn has_finalizer(pod: &Value) -> bool {
    pod.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|f| f == TRACKING_FINALIZER))
}

fn timestamp(object: &Value, pointer: &str) -> Option<Timestamp> {
    object.pointer(pointer)?.as_str()?.parse().ok()
}

fn seconds(object: &Value, pointer: &str) -> Option<SignedDuration> {
    object
        .pointer(pointer)
        .and_then(Value::as_i64)
        .map(SignedDuration::from_secs)
}

/// How a Job ends: the interim and final condition types, with their reason and message.
struct Ending {
    interim: &'static str,
    last: &'static str,
    reason: String,
    message: String,
}

impl Ending {
    fn completed() -> Self {
        Self::success(
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        )
    }

    fn success(reason: &str, message: &str) -> Self {
        Self {
            interim: "SuccessCriteriaMet",
            last: "Complete",
            reason: reason.to_owned(),
            message: message.to_owned(),
        }
    }

    fn failure(reason: &str, message: &str) -> Self {
        Self {
            interim: "FailureTarget",
            last: "Failed",
            reason: reason.to_owned(),
            message: message.to_owned(),
        }
    }

    /// The ending an interim condition (written earlier) announced.
    fn announced(job: &Value) -> Option<Self> {
        let text = |c: &Value, field: &str| c[field].as_str().unwrap_or_default().to_owned();
        if let Some(c) = condition(job, "SuccessCriteriaMet") {
            return Some(Self::success(&text(c, "reason"), &text(c, "message")));
        }
        let c = condition(job, "FailureTarget")?;
        Some(Self::failure(&text(c, "reason"), &text(c, "message")))
    }
}

/// One Job being reconciled.
struct Job<'a>(Controlled<'a>);

impl<'a> std::ops::Deref for Job<'a> {
    type Target = Controlled<'a>;

    fn deref(&self) -> &Controlled<'a> {
        &self.0
    }
}

impl Job<'_> {
    fn reconcile(&self, pods: &[&Value]) {
        if is_finished(self.object) {
            self.expire();
            return;
        }
        let job = self.object;
        let mut status = job.get("status").cloned().unwrap_or_else(|| json!({}));
        let suspended = job.pointer("/spec/suspend") == Some(&json!(true));
        if status.get("startTime").is_none() && !suspended {
            status["startTime"] = json!(store::now());
        }
        // Pods that finished since the last count still carry the finalizer.
        let newly_finished: Vec<&Value> = pods
            .iter()
            .copied()
            .filter(|p| !is_active(p) && has_finalizer(p))
            .collect();
        let succeeded = int(&status, "/succeeded")
            + newly_finished
                .iter()
                .filter(|p| phase(p) == "Succeeded")
                .count() as u64;
        let mut failed = int(&status, "/failed")
            + newly_finished
                .iter()
                .filter(|p| phase(p) == "Failed")
                .count() as u64;
        let mut active: Vec<Value> = pods
            .iter()
            .filter(|p| is_active(p))
            .map(|p| (*p).clone())
            .collect();
        let ending = if let Some(announced) = Ending::announced(job) {
            Some(announced)
        } else if failed > int(job, "/spec/backoffLimit") || self.past_restart_limit(&active) {
            Some(Ending::failure(
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            ))
        } else if self.past_deadline(&status, suspended) {
            Some(Ending::failure(
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            ))
        } else {
            None
        };
        let ending = match ending {
            Some(ending) => {
                // Pods still running when a Job fails count as failed.
                if ending.last == "Failed" {
                    failed += active.len() as u64;
                }
                self.delete_pods(&active);
                active.clear();
                Some(ending)
            }
            None if suspended => {
                self.delete_pods(&active);
                active.clear();
                None
            }
            None => {
                let wanted = self.wanted_active(succeeded, active.len());
                if active.len() > wanted {
                    let extra = active.split_off(wanted);
                    self.delete_pods(&extra);
                }
                for _ in active.len()..wanted {
                    active.extend(self.create_pod());
                }
                let done = match job.pointer("/spec/completions").and_then(Value::as_u64) {
                    Some(completions) => succeeded >= completions,
                    None => succeeded > 0,
                };
                (done && active.is_empty()).then(Ending::completed)
            }
        };
        let ready = active.iter().filter(|p| is_ready(p)).count();
        let count = |n: u64| if n == 0 { Value::Null } else { json!(n) };
        status["active"] = count(active.len() as u64);
        status["succeeded"] = count(succeeded);
        status["failed"] = count(failed);
        status["ready"] = json!(ready);
        status["terminating"] = json!(0);
        status["uncountedTerminatedPods"] = json!({});
        let mut conditions = status["conditions"].as_array().cloned().unwrap_or_default();
        set_suspended(
            &mut conditions,
            suspended && ending.is_none(),
            &self.object["status"],
        );
        if let Some(ending) = &ending {
            let now = store::now();
            let made = |kind: &str| {
                json!({"type": kind, "status": "True", "reason": ending.reason, "message": ending.message,
                       "lastProbeTime": now, "lastTransitionTime": now})
            };
            if !conditions.iter().any(|c| c["type"] == ending.interim) {
                conditions.push(made(ending.interim));
            }
            conditions.push(made(ending.last));
            if ending.last == "Complete" {
                status["completionTime"] = json!(now);
            }
        }
        status["conditions"] = if conditions.is_empty() {
            Value::Null
        } else {
            json!(conditions)
        };
        write_status(
            self.shared,
            self.kinds.jobs,
            job,
            CONTROLLER_MANAGER,
            status,
        );
        for pod in newly_finished {
            self.release(pod);
        }
        match ending {
            Some(ending) if ending.last == "Complete" => {
                self.event("Normal", "Completed", "Job completed");
            }
            Some(ending) => self.event("Warning", &ending.reason, &ending.message),
            None => {}
        }
    }

    /// With restart policy `OnFailure`, failures are container restarts in running pods.
    fn past_restart_limit(&self, active: &[Value]) -> bool {
        if self.object.pointer("/spec/template/spec/restartPolicy") != Some(&json!("OnFailure")) {
            return false;
        }
        let restarts: u64 = active
            .iter()
            .flat_map(|p| {
                p.pointer("/status/containerStatuses")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|c| c["restartCount"].as_u64().unwrap_or(0))
            .sum();
        match int(self.object, "/spec/backoffLimit") {
            0 => restarts > 0,
            limit => restarts >= limit,
        }
    }

    fn past_deadline(&self, status: &Value, suspended: bool) -> bool {
        let (Some(deadline), Some(start)) = (
            seconds(self.object, "/spec/activeDeadlineSeconds"),
            timestamp(status, "/startTime"),
        ) else {
            return false;
        };
        !suspended && Timestamp::now().duration_since(start) >= deadline
    }

    /// Pods that should be running: `parallelism`, but no more than completions remain; none
    /// more once a Job without completions has a success.
    fn wanted_active(&self, succeeded: u64, active: usize) -> usize {
        let parallelism = int(self.object, "/spec/parallelism");
        let wanted = match self
            .object
            .pointer("/spec/completions")
            .and_then(Value::as_u64)
        {
            Some(completions) => completions.saturating_sub(succeeded).min(parallelism),
            None if succeeded > 0 => return active,
            None => parallelism,
        };
        usize::try_from(wanted).unwrap_or(usize::MAX)
    }

    fn create_pod(&self) -> Option<Value> {
        let job = self.object;
        let name = meta(job, "name");
        let template = &job["spec"]["template"];
        let mut metadata = template
            .get("metadata")
            .cloned()
            .unwrap_or_else(|| json!({}));
        metadata["name"] = json!(format!("{name}-{}", name_suffix(5)));
        metadata["generateName"] = json!(format!("{name}-"));
        metadata["ownerReferences"] = json!([owner_reference(job)]);
        metadata["finalizers"] = json!([TRACKING_FINALIZER]);
        let pod = json!({"metadata": metadata, "spec": template["spec"]});
        let created = self
            .shared
            .store
            .create_owned(
                self.kinds.pods,
                self.namespace(),
                pod,
                &writer(CONTROLLER_MANAGER, false),
            )
            .ok()?;
        self.event(
            "Normal",
            "SuccessfulCreate",
            &format!("Created pod: {}", meta(&created, "name")),
        );
        Some(created)
    }

    fn delete_pods(&self, pods: &[Value]) {
        for pod in pods {
            let name = meta(pod, "name");
            let deleted = self.shared.store.delete(
                self.kinds.pods,
                self.namespace(),
                name,
                Propagation::Cascade,
                false,
            );
            if deleted.is_ok() {
                self.event(
                    "Normal",
                    "SuccessfulDelete",
                    &format!("Deleted pod: {name}"),
                );
            }
        }
    }

    /// Removes the tracking finalizer from a pod now counted in the Job's status.
    fn release(&self, pod: &Value) {
        // A pod deleted meanwhile needs no release.
        let _ = self.shared.store.modify(
            self.kinds.pods,
            self.namespace(),
            meta(pod, "name"),
            &writer(CONTROLLER_MANAGER, false),
            |p| {
                if let Some(list) = p["metadata"]["finalizers"].as_array_mut() {
                    list.retain(|f| f != TRACKING_FINALIZER);
                }
                if p["metadata"]["finalizers"]
                    .as_array()
                    .is_some_and(Vec::is_empty)
                {
                    p["metadata"]
                        .as_object_mut()
                        .expect("objects have metadata")
                        .remove("finalizers");
                }
            },
        );
    }

    /// Deletes a finished Job, and its pods, once `ttlSecondsAfterFinished` has passed.
    fn expire(&self) {
        let job = self.object;
        let Some(ttl) = seconds(job, "/spec/ttlSecondsAfterFinished") else {
            return;
        };
        let finished_at = timestamp(job, "/status/completionTime").or_else(|| {
            condition(job, "Failed")
                .and_then(|c| c["lastTransitionTime"].as_str())
                .and_then(|t| t.parse().ok())
        });
        if finished_at.is_some_and(|at| Timestamp::now().duration_since(at) >= ttl) {
            // A Job deleted meanwhile is gone either way.
            let _ = self.shared.store.delete(
                self.kinds.jobs,
                self.namespace(),
                meta(job, "name"),
                Propagation::Cascade,
                false,
            );
        }
    }
}

/// Keeps the `Suspended` condition in step with `spec.suspend`, as the real controller does
/// (True while suspended; False once resumed after having been suspended).
fn set_suspended(conditions: &mut Vec<Value>, suspended: bool, old_status: &Value) {
    let was = old_status
        .pointer("/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Suspended"))
        .is_some_and(|c| c["status"] == "True");
    if suspended == was {
        return;
    }
    let now = store::now();
    let (status, reason, message) = if suspended {
        ("True", "JobSuspended", "Job suspended")
    } else {
        ("False", "JobResumed", "Job resumed")
    };
    conditions.retain(|c| c["type"] != "Suspended");
    conditions.push(
        json!({"type": "Suspended", "status": status, "reason": reason, "message": message,
                           "lastProbeTime": now, "lastTransitionTime": now}),
    );
}
