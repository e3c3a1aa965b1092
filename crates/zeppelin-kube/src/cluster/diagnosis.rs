//! Why a rollout failed, in a user's words: each failing sub's pods with their waiting
//! reasons, the pods' recent events, the last log lines of a crashing container, and each
//! of their claims that is not bound, its storage class and its own events.
//!
//! A claim is blamed (storage advice, "cannot bind") only when the scheduler says the pod
//! waits for its claims or the claim has a `ProvisioningFailed` event: with a
//! `WaitForFirstConsumer` storage class, a claim stays Pending until its pod is scheduled,
//! so a pod unschedulable for cpu or memory leaves it Pending without storage being at fault.

use std::fmt::Write as _;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, LogParams};

use crate::cluster::claims::Claim;
use crate::cluster::connect::Cluster;
use crate::cluster::pods::{Stores, claim_names, waiting_reason, waits_for_claims};
use crate::cluster::workload::Workload;

/// Log lines shown for a crashing container.
const LOG_LINES: i64 = 10;
/// Events shown per pod.
const EVENTS: usize = 5;

fn waiting_message(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    status
        .container_statuses
        .iter()
        .flatten()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.message.clone())
        .or_else(|| {
            status.conditions.iter().flatten().find_map(|c| {
                (c.type_ == "PodScheduled" && c.status == "False")
                    .then(|| c.message.clone())
                    .flatten()
            })
        })
}

/// In plain words, what a waiting reason means and what to do about it.
fn advice(reason: &str) -> &'static str {
    match reason {
        "ErrImagePull" | "ImagePullBackOff" => {
            "the image cannot be pulled: check the image name and tag in zeppelin.toml, and that the cluster may pull from its registry"
        }
        "InvalidImageName" => "the image name is not valid: fix `image` in zeppelin.toml",
        "CrashLoopBackOff" => {
            "the container keeps exiting right after it starts: its last log lines are below"
        }
        "CreateContainerConfigError" | "CreateContainerError" => {
            "the container cannot be created from its spec: a ConfigMap, Secret or volume it needs may be missing"
        }
        "Unschedulable" => "no node can run the pod: ask for less cpu or memory, or add nodes",
        _ => "",
    }
}

/// What to do about claims that do not bind, in plain words.
fn claim_advice(sub: &str) -> String {
    format!(
        "its pods wait for volume claims that are not bound: the storage class may not exist or have no provisioner, or the cluster has no capacity left; \
         set `storage_class` under [kubernetes.sub.{sub}] in zeppelin.toml to one `kubectl get storageclass` lists (or leave it out for the cluster's default)"
    )
}

/// A claim of a failing sub's pods that is not bound, with its recent events.
struct Unbound {
    claim: Claim,
    events: Vec<Event>,
    /// Whether storage is at fault (see [`blames_claim`]).
    blamed: bool,
}

/// The claims of `pods` that are not bound, as the cluster has them now.
async fn unbound_claims(cluster: &Cluster, namespace: &str, pods: &[Arc<Pod>]) -> Vec<Unbound> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), namespace);
    let mut unbound = Vec::new();
    for name in pods.iter().flat_map(|p| claim_names(p)) {
        if let Ok(Some(object)) = api.get_opt(&name).await {
            let claim = Claim::from_object(&object);
            if !claim.is_bound() {
                let events = events_of(cluster, namespace, &name).await;
                let blamed = blames_claim(&name, pods, &events);
                unbound.push(Unbound {
                    claim,
                    events,
                    blamed,
                });
            }
        }
    }
    unbound
}

/// Whether the claim `name` (not bound) is why its pod does not run: the scheduler says a
/// pod mounting it waits for its claims, or the claim failed to provision.
fn blames_claim(name: &str, pods: &[Arc<Pod>], claim_events: &[Event]) -> bool {
    let provisioning_failed = claim_events
        .iter()
        .any(|e| e.reason.as_deref() == Some("ProvisioningFailed"));
    provisioning_failed
        || pods
            .iter()
            .filter(|p| claim_names(p).iter().any(|c| c == name))
            .any(|p| waits_for_claims(p))
}

/// The explanation of each failing sub, `(sub, short reason)`, with evidence from the
/// cluster. Failures to fetch evidence are left out: the rollout failure is what matters.
pub(crate) async fn explain(
    cluster: &Cluster,
    namespace: &str,
    stores: &Stores,
    failures: &[(Workload, String)],
) -> String {
    let mut text = String::new();
    for (workload, reason) in failures {
        let sub = &workload.sub;
        let reason = if reason.is_empty() {
            "it did not become ready"
        } else {
            reason
        };
        let _ = write!(text, "sub `{sub}` did not roll out: {reason}");
        let mut sub_pods = stores.new_pods(workload);
        sub_pods.sort_by_key(|p| p.metadata.name.clone());
        let unbound = unbound_claims(cluster, namespace, &sub_pods).await;
        // The reason may be a bare waiting reason or a sentence that names one; a pod
        // unschedulable for its claims needs storage, not nodes.
        let advice = if unbound.iter().any(|u| u.blamed) {
            claim_advice(sub)
        } else {
            reason
                .split(|c: char| !c.is_ascii_alphanumeric())
                .map(advice)
                .find(|a| !a.is_empty())
                .unwrap_or_default()
                .to_owned()
        };
        if !advice.is_empty() {
            let _ = write!(text, "\n  {advice}");
        }
        for claim in &unbound {
            let _ = write!(text, "\n  {}", claim_line(&claim.claim, claim.blamed));
            write_event_list(&claim.events, &mut text);
        }
        for pod in sub_pods.iter().take(3) {
            describe_pod(cluster, namespace, pod, &mut text).await;
        }
        text.push('\n');
    }
    text.trim_end().to_owned()
}

/// One claim that is not bound: its storage class, size, phase, and whether it is why its
/// pod does not run.
fn claim_line(claim: &Claim, blamed: bool) -> String {
    let class = claim.storage_class.as_deref().map_or_else(
        || "the cluster's default storage class".to_owned(),
        |c| format!("storage class `{c}`"),
    );
    let size = claim
        .size
        .as_deref()
        .map(|s| format!(", {s}"))
        .unwrap_or_default();
    let state = if blamed {
        format!("is {} and cannot bind", claim.phase)
    } else {
        "is not bound yet (waits for its pod to be scheduled)".to_owned()
    };
    format!("volume claim {} ({class}{size}) {state}", claim.name)
}

/// The events of the object named `name`, oldest first; none when they cannot be read.
async fn events_of(cluster: &Cluster, namespace: &str, name: &str) -> Vec<Event> {
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), namespace);
    let selector = format!("involvedObject.name={name}");
    let Ok(list) = events.list(&ListParams::default().fields(&selector)).await else {
        return Vec::new();
    };
    let mut items = list.items;
    // Timestamps have whole seconds; within one second, the resource version (which
    // grows with every write) keeps the order the events happened in.
    items.sort_by_key(|e| {
        (
            e.last_timestamp.clone().map(|t| t.0),
            e.metadata
                .resource_version
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok()),
        )
    });
    items
}

/// The recent ones of `events` (oldest first).
fn write_event_list(events: &[Event], text: &mut String) {
    let recent = &events[events.len().saturating_sub(EVENTS)..];
    if !recent.is_empty() {
        let _ = write!(text, "\n    recent events:");
    }
    for event in recent {
        let _ = write!(
            text,
            "\n      {}: {}",
            event.reason.as_deref().unwrap_or("-"),
            event.message.as_deref().unwrap_or_default().trim()
        );
    }
}

async fn describe_pod(cluster: &Cluster, namespace: &str, pod: &Pod, text: &mut String) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let restarts: i32 = pod
        .status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .map(|c| c.restart_count)
        .sum();
    let _ = write!(text, "\n  pod {name}");
    match (waiting_reason(pod), waiting_message(pod)) {
        (Some(reason), Some(message)) => {
            let _ = write!(text, ": {reason}: {message}");
        }
        (Some(reason), None) => {
            let _ = write!(text, ": {reason}");
        }
        _ => {}
    }
    if restarts > 0 {
        let _ = write!(text, " ({restarts} restarts)");
    }
    write_event_list(&events_of(cluster, namespace, &name).await, text);
    let crashing = pod
        .status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .find(|c| {
            c.restart_count > 0
                || c.last_state
                    .as_ref()
                    .is_some_and(|s| s.terminated.is_some())
        });
    if let Some(container) = crashing {
        let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), namespace);
        let mut params = LogParams {
            container: Some(container.name.clone()),
            tail_lines: Some(LOG_LINES),
            previous: true,
            ..LogParams::default()
        };
        let mut logs = pods.logs(&name, &params).await;
        if logs.as_ref().map_or(true, String::is_empty) {
            params.previous = false;
            logs = pods.logs(&name, &params).await;
        }
        if let Ok(logs) = logs
            && !logs.trim().is_empty()
        {
            let _ = write!(
                text,
                "\n    last log lines of container {}:",
                container.name
            );
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

    fn pod(message: &str) -> Arc<Pod> {
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": "db-0"},
                "spec": {"containers": [], "volumes": [
                    {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]},
                "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled",
                    "status": "False", "reason": "Unschedulable", "message": message}]},
            }))
            .unwrap(),
        )
    }

    fn event(reason: &str) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": "e"}, "involvedObject": {"name": "data-db-0"},
            "reason": reason, "message": "m"}))
        .unwrap()
    }

    fn claim() -> Claim {
        Claim::from_object(
            &serde_json::from_value(json!({
                "metadata": {"name": "data-db-0"},
                "spec": {"storageClassName": "wait-for-pod",
                         "resources": {"requests": {"storage": "1Gi"}}},
                "status": {"phase": "Pending"},
            }))
            .unwrap(),
        )
    }

    #[test]
    fn a_claim_waiting_for_its_pod_to_be_scheduled_is_not_blamed() {
        let cpu = pod("0/3 nodes are available: 3 Insufficient cpu.");
        assert!(!blames_claim(
            "data-db-0",
            std::slice::from_ref(&cpu),
            &[event("WaitForFirstConsumer")]
        ));
        assert_eq!(
            claim_line(&claim(), false),
            "volume claim data-db-0 (storage class `wait-for-pod`, 1Gi) is not bound yet (waits for its pod to be scheduled)"
        );
        // Storage is at fault when the scheduler says so, or provisioning failed.
        let waits =
            pod("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.");
        assert!(blames_claim("data-db-0", std::slice::from_ref(&waits), &[]));
        assert!(!blames_claim("data-other-0", &[waits], &[]));
        assert!(blames_claim(
            "data-db-0",
            &[cpu],
            &[event("ProvisioningFailed")]
        ));
        assert_eq!(
            claim_line(&claim(), true),
            "volume claim data-db-0 (storage class `wait-for-pod`, 1Gi) is Pending and cannot bind"
        );
    }
}
