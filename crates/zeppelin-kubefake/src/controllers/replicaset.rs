//! The `ReplicaSet` controller: keeps as many pods as `spec.replicas` asks for and reports how
//! many are ready and available.

use serde_json::{Value, json};

use super::{
    CONTROLLER_MANAGER, Kinds, events, meta, owned_by, owner_reference, write_status, writer,
};
use crate::server::Shared;
use crate::store::{Propagation, name_suffix};

/// True for a pod whose Ready condition is True.
pub(super) fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// True for a pod Ready for at least `min_ready_seconds` (the `minReadySeconds` of its
/// replica set), which is what makes it count as available.
pub(super) fn is_available(pod: &Value, min_ready_seconds: u64) -> bool {
    if min_ready_seconds == 0 {
        return is_ready(pod);
    }
    let since = pod
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| {
            c.iter()
                .find(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .and_then(|c| c["lastTransitionTime"].as_str())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    since.is_some_and(|since| {
        let ready_for = jiff::Timestamp::now().duration_since(since).as_secs();
        ready_for >= i64::try_from(min_ready_seconds).unwrap_or(i64::MAX)
    })
}

pub(super) fn reconcile_all(shared: &Shared, kinds: Kinds) {
    let pods = shared.store.all(kinds.pods);
    for rs in shared.store.all(kinds.replicasets) {
        let owned: Vec<&Value> = pods
            .iter()
            .filter(|p| meta(p, "namespace") == meta(&rs, "namespace") && owned_by(p, &rs))
            .collect();
        reconcile(shared, kinds, &rs, &owned);
    }
}

fn reconcile(shared: &Shared, kinds: Kinds, rs: &Value, pods: &[&Value]) {
    let namespace = meta(rs, "namespace");
    let desired =
        usize::try_from(rs["spec"]["replicas"].as_u64().unwrap_or(1)).unwrap_or(usize::MAX);
    let mut live: Vec<Value> = pods.iter().map(|p| (*p).clone()).collect();
    if live.len() < desired {
        for _ in live.len()..desired {
            let name = format!("{}-{}", meta(rs, "name"), name_suffix(5));
            let template = &rs["spec"]["template"];
            let mut metadata = template
                .get("metadata")
                .cloned()
                .unwrap_or_else(|| json!({}));
            metadata["name"] = json!(name);
            metadata["ownerReferences"] = json!([owner_reference(rs)]);
            let mut pod = json!({"metadata": metadata, "spec": template["spec"]});
            // Scheduled on creation: the one node the kubelet stand-in plays.
            pod["spec"]["nodeName"] = json!("zeppelin-kubefake");
            if let Ok(pod) = shared.store.create_owned(
                kinds.pods,
                namespace,
                pod,
                &writer(CONTROLLER_MANAGER, false),
            ) {
                events::record(
                    shared,
                    kinds,
                    rs,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {name}"),
                    "replicaset-controller",
                );
                live.push(pod);
            }
        }
    } else if live.len() > desired {
        // Not-ready pods go first, then the newest, as the real controller prefers.
        live.sort_by(|a, b| {
            is_ready(a)
                .cmp(&is_ready(b))
                .then_with(|| meta(b, "creationTimestamp").cmp(meta(a, "creationTimestamp")))
        });
        let extra = live.len() - desired;
        for pod in live.drain(..extra) {
            let name = meta(&pod, "name");
            if shared
                .store
                .delete(kinds.pods, namespace, name, Propagation::Cascade, false)
                .is_ok()
            {
                events::record(
                    shared,
                    kinds,
                    rs,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("Deleted pod: {name}"),
                    "replicaset-controller",
                );
            }
        }
    }
    let ready = live.iter().filter(|p| is_ready(p)).count();
    let min_ready = rs["spec"]["minReadySeconds"].as_u64().unwrap_or(0);
    let available = live.iter().filter(|p| is_available(p, min_ready)).count();
    let status = json!({
        "replicas": live.len(),
        "fullyLabeledReplicas": live.len(),
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": rs["metadata"]["generation"],
    });
    write_status(shared, kinds.replicasets, rs, CONTROLLER_MANAGER, status);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready_since(seconds_ago: i64) -> Value {
        let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(seconds_ago);
        let since = since.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        json!({"status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": since}]}})
    }

    #[test]
    fn pods_are_available_once_ready_for_min_ready_seconds() {
        assert!(is_available(&ready_since(0), 0));
        assert!(!is_available(&ready_since(0), 30));
        assert!(is_available(&ready_since(60), 30));
        assert!(!is_available(&json!({"status": {}}), 0));
    }
}
