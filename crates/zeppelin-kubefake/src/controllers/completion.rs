//! Pods that run to completion, as a Job's do: their container exits after the configured run
//! time (with 0, or with 1 when its image carries the crash marker) and the pod ends
//! Succeeded or Failed with the container's terminated state, as a kubelet reports it. With
//! restart policy `OnFailure` a crashing container is restarted in place instead (the
//! kubelet's crash loop), which the Job controller counts against the back-off limit.

use serde_json::{Value, json};

/// How a pod's container ended, and when.
pub(super) struct Exit {
    pub(super) code: u8,
    pub(super) at: String,
}

/// True for a Job's pod (owned by a Job) whose restart policy lets it finish.
pub(super) fn runs_to_completion(pod: &Value) -> bool {
    let owned_by_job = pod
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| r["kind"] == "Job"));
    owned_by_job && restart_policy(pod) != "Always"
}

/// True for a pod whose failed container is not restarted.
pub(super) fn never_restarts(pod: &Value) -> bool {
    restart_policy(pod) == "Never"
}

fn restart_policy(pod: &Value) -> &str {
    pod.pointer("/spec/restartPolicy")
        .and_then(Value::as_str)
        .unwrap_or("Always")
}

/// Turns the status of a running pod into that of a pod whose containers ended with `exit`.
pub(super) fn finish(status: &mut Value, exit: &Exit) {
    let succeeded = exit.code == 0;
    status["phase"] = json!(if succeeded { "Succeeded" } else { "Failed" });
    let reason = if succeeded {
        "PodCompleted"
    } else {
        "PodFailed"
    };
    for condition in status["conditions"].as_array_mut().into_iter().flatten() {
        if matches!(
            condition["type"].as_str(),
            Some("Ready" | "ContainersReady")
        ) {
            *condition = json!({
                "type": condition["type"],
                "status": "False",
                "reason": reason,
                "lastTransitionTime": exit.at,
            });
        }
    }
    for container in status["containerStatuses"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        let started = container
            .pointer("/state/running/startedAt")
            .or_else(|| container.pointer("/lastState/terminated/finishedAt"))
            .cloned()
            .unwrap_or_else(|| json!(exit.at));
        container["ready"] = json!(false);
        container["started"] = json!(false);
        container["state"] = json!({"terminated": {
            "exitCode": exit.code,
            "reason": if succeeded { "Completed" } else { "Error" },
            "startedAt": started,
            "finishedAt": exit.at,
            "containerID": container["containerID"],
        }});
        if let Some(map) = container.as_object_mut() {
            map.remove("lastState");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_jobs_pods_that_may_end_run_to_completion() {
        let job_pod = |policy: &str| json!({"metadata": {"ownerReferences": [{"kind": "Job", "name": "migrate"}]}, "spec": {"restartPolicy": policy}});
        assert!(runs_to_completion(&job_pod("Never")));
        assert!(runs_to_completion(&job_pod("OnFailure")));
        assert!(!runs_to_completion(&job_pod("Always")));
        let bare = json!({"spec": {"restartPolicy": "Never"}});
        assert!(!runs_to_completion(&bare));
    }

    #[test]
    fn a_finished_pod_reports_its_exit_code() {
        let mut status = json!({
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "m", "ready": true, "containerID": "containerd://x", "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}],
        });
        finish(
            &mut status,
            &Exit {
                code: 1,
                at: "2026-01-01T00:00:02Z".to_owned(),
            },
        );
        assert_eq!(status["phase"], "Failed");
        assert_eq!(status["conditions"][0]["reason"], "PodFailed");
        assert_eq!(status["conditions"][1]["status"], "True");
        let terminated = &status["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(terminated["exitCode"], 1);
        assert_eq!(terminated["reason"], "Error");
        assert_eq!(terminated["startedAt"], "2026-01-01T00:00:00Z");
    }
}
