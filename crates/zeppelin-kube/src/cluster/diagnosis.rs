//! Why a rollout failed, in a user's words: each failing sub's pods with their waiting
//! reasons, the pods' recent events, and the last log lines of a crashing container.

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{Event, Pod};
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
        // The reason may be a bare waiting reason or a sentence that names one.
        let advice = reason
            .split(|c: char| !c.is_ascii_alphanumeric())
            .map(advice)
            .find(|a| !a.is_empty())
            .unwrap_or_default();
        if !advice.is_empty() {
            let _ = write!(text, "\n  {advice}");
        }
        let mut sub_pods = stores.new_pods(sub);
        sub_pods.sort_by_key(|p| p.metadata.name.clone());
        for pod in sub_pods.iter().take(3) {
            describe_pod(cluster, namespace, pod, &mut text).await;
        }
        text.push('\n');
    }
    text.trim_end().to_owned()
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
