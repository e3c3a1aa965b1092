//! The horizontal pod autoscaler controller, without metrics: it keeps the target's replicas
//! within `minReplicas`..`maxReplicas` and reports status, saying that no metrics exist.

use serde_json::{Value, json};

use super::{CONTROLLER_MANAGER, Kinds, meta, write_status, writer};
use crate::resources;
use crate::server::Shared;
use crate::store;

fn condition(kind: &str, status: &str, reason: &str, message: &str, since: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": since})
}

pub(super) fn reconcile_all(shared: &Shared, kinds: Kinds) {
    for hpa in shared.store.all(kinds.autoscalers) {
        reconcile(shared, kinds, &hpa);
    }
}

fn reconcile(shared: &Shared, kinds: Kinds, hpa: &Value) {
    let namespace = meta(hpa, "namespace");
    let target_ref = &hpa["spec"]["scaleTargetRef"];
    let Some(target_kind) = target_ref["kind"]
        .as_str()
        .and_then(resources::find_by_name)
        .filter(|r| resources::RESOURCES[*r].scale)
    else {
        return;
    };
    let target_name = target_ref["name"].as_str().unwrap_or_default();
    let Ok(target) = shared.store.get(target_kind, namespace, target_name) else {
        return;
    };
    let min = hpa["spec"]["minReplicas"].as_u64().unwrap_or(1);
    let max = hpa["spec"]["maxReplicas"].as_u64().unwrap_or(min).max(min);
    let current = target["spec"]["replicas"].as_u64().unwrap_or(1);
    let desired = current.clamp(min, max);
    let mut last_scale = hpa.pointer("/status/lastScaleTime").cloned();
    if desired != current {
        let options = writer(CONTROLLER_MANAGER, false);
        if shared
            .store
            .modify(target_kind, namespace, target_name, &options, |o| {
                o["spec"]["replicas"] = json!(desired);
            })
            .is_err()
        {
            return;
        }
        last_scale = Some(json!(store::now()));
    }
    let since = hpa["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap_or_default();
    let mut status = json!({
        "currentReplicas": target.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
        "desiredReplicas": desired,
        "currentMetrics": [],
        "conditions": [
            condition("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale", since),
            condition("ScalingActive", "False", "FailedGetResourceMetric", "the fake API server has no metrics; replicas are only kept within minReplicas and maxReplicas", since),
        ],
    });
    if let Some(time) = last_scale {
        status["lastScaleTime"] = time;
    }
    write_status(shared, kinds.autoscalers, hpa, CONTROLLER_MANAGER, status);
}
