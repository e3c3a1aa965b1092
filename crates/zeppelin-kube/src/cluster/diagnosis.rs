//! Why a rollout failed, in a user's words: each failing sub's pods with their waiting
//! reasons, the pods' recent events, the last log lines of a crashing container, and for a
//! pod held Pending by its volume claims, each claim that is not bound, its storage class
//! and its own events (a `ProvisioningFailed` says why it cannot bind).

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, LogParams};

use crate::cluster::connect::Cluster;
use crate::cluster::pods::{Stores, waiting_reason};

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

/// The claims `pod` mounts, by name.
fn claim_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| Some(v.persistent_volume_claim.as_ref()?.claim_name.clone()))
        .collect()
}

/// The claims of `pods` that are not bound, as the cluster has them now.
async fn unbound_claims(
    cluster: &Cluster,
    namespace: &str,
    pods: &[std::sync::Arc<Pod>],
) -> Vec<PersistentVolumeClaim> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), namespace);
    let mut unbound = Vec::new();
    for name in pods.iter().flat_map(|p| claim_names(p)) {
        if let Ok(Some(claim)) = api.get_opt(&name).await {
            let phase = claim.status.as_ref().and_then(|s| s.phase.as_deref());
            if phase != Some("Bound") {
                unbound.push(claim);
            }
        }
    }
    unbound
}

/// The explanation of each failing sub, `(sub, short reason)`, with evidence from the
/// cluster. Failures to fetch evidence are left out: the rollout failure is what matters.
pub(crate) async fn explain(
    cluster: &Cluster,
    namespace: &str,
    stores: &Stores,
    failures: &[(String, String)],
) -> String {
    let mut text = String::new();
    for (sub, reason) in failures {
        let reason = if reason.is_empty() {
            "it did not become ready"
        } else {
            reason
        };
        let _ = write!(text, "sub `{sub}` did not roll out: {reason}");
        let mut sub_pods = stores.new_pods(sub);
        sub_pods.sort_by_key(|p| p.metadata.name.clone());
        let unbound = unbound_claims(cluster, namespace, &sub_pods).await;
        // The reason may be a bare waiting reason or a sentence that names one; a pod
        // unschedulable for its claims needs storage, not nodes.
        let advice = if unbound.is_empty() {
            reason
                .split(|c: char| !c.is_ascii_alphanumeric())
                .map(advice)
                .find(|a| !a.is_empty())
                .unwrap_or_default()
                .to_owned()
        } else {
            claim_advice(sub)
        };
        if !advice.is_empty() {
            let _ = write!(text, "\n  {advice}");
        }
        for claim in &unbound {
            describe_claim(cluster, namespace, claim, &mut text).await;
        }
        for pod in sub_pods.iter().take(3) {
            describe_pod(cluster, namespace, pod, &mut text).await;
        }
        text.push('\n');
    }
    text.trim_end().to_owned()
}

/// One claim that is not bound: its storage class, size, phase and recent events.
async fn describe_claim(
    cluster: &Cluster,
    namespace: &str,
    claim: &PersistentVolumeClaim,
    text: &mut String,
) {
    let name = claim.metadata.name.clone().unwrap_or_default();
    let spec = claim.spec.as_ref();
    let class = spec
        .and_then(|s| s.storage_class_name.as_deref())
        .map_or_else(
            || "the cluster's default storage class".to_owned(),
            |c| format!("storage class `{c}`"),
        );
    let size = spec
        .and_then(|s| s.resources.as_ref()?.requests.as_ref()?.get("storage"))
        .map(|q| format!(", {}", q.0))
        .unwrap_or_default();
    let phase = claim
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    let _ = write!(
        text,
        "\n  volume claim {name} ({class}{size}) is {phase} and cannot bind"
    );
    write_events(cluster, namespace, &name, text).await;
}

/// The recent events of the object named `name`, oldest first.
async fn write_events(cluster: &Cluster, namespace: &str, name: &str, text: &mut String) {
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), namespace);
    let selector = format!("involvedObject.name={name}");
    if let Ok(list) = events.list(&ListParams::default().fields(&selector)).await {
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
        let recent: Vec<_> = items.iter().rev().take(EVENTS).rev().collect();
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
    write_events(cluster, namespace, &name, text).await;
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
