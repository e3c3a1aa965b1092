//! The endpoints controller: an Endpoints object per Service with a selector, listing the
//! IPs of the matching pods, ready ones under `addresses` and the rest under
//! `notReadyAddresses`.

use serde_json::{Value, json};

use super::{CONTROLLER_MANAGER, Kinds, meta, writer};
use crate::selector::LabelSelector;
use crate::server::Shared;
use crate::store::Propagation;

const MANAGED_BY: &str = "endpoints.kubernetes.io/managed-by";

fn address(pod: &Value) -> Value {
    json!({
        "ip": pod["status"]["podIP"],
        "targetRef": {"kind": "Pod", "namespace": pod["metadata"]["namespace"], "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]},
    })
}

fn subsets(service: &Value, pods: &[Value]) -> Value {
    let selector = service
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_default();
    let selector = LabelSelector::from_object(&json!({"matchLabels": selector}));
    let selected: Vec<&Value> = pods
        .iter()
        .filter(|p| meta(p, "namespace") == meta(service, "namespace"))
        .filter(|p| selector.matches(p) && p.pointer("/status/podIP").is_some())
        .collect();
    if selected.is_empty() {
        return json!([]);
    }
    let ports: Vec<Value> = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = p.get("targetPort").filter(|t| t.is_u64()).unwrap_or(&p["port"]);
            let mut entry = json!({"port": port, "protocol": p.get("protocol").cloned().unwrap_or(json!("TCP"))});
            if let Some(name) = p.get("name") {
                entry["name"] = name.clone();
            }
            entry
        })
        .collect();
    let (ready, not_ready): (Vec<&Value>, Vec<&Value>) = selected
        .into_iter()
        .partition(|p| super::replicaset::is_ready(p));
    let mut subset = json!({"ports": ports});
    if !ready.is_empty() {
        subset["addresses"] = ready.into_iter().map(address).collect();
    }
    if !not_ready.is_empty() {
        subset["notReadyAddresses"] = not_ready.into_iter().map(address).collect();
    }
    json!([subset])
}

pub(super) fn reconcile_all(shared: &Shared, kinds: Kinds) {
    let services = shared.store.all(kinds.services);
    let pods = shared.store.all(kinds.pods);
    let existing = shared.store.all(kinds.endpoints);
    for service in services.iter().filter(|s| {
        s.pointer("/spec/selector")
            .is_some_and(|sel| !sel.as_object().is_none_or(serde_json::Map::is_empty))
    }) {
        let (namespace, name) = (meta(service, "namespace"), meta(service, "name"));
        let wanted = subsets(service, &pods);
        let current = existing
            .iter()
            .find(|e| meta(e, "namespace") == namespace && meta(e, "name") == name);
        let options = writer(CONTROLLER_MANAGER, false);
        // Writes racing a deletion of the Service or its namespace are dropped; the next tick
        // sees the new state.
        match current {
            Some(current) if current.get("subsets").unwrap_or(&json!([])) == &wanted => {}
            Some(_) => {
                let _ = shared
                    .store
                    .modify(kinds.endpoints, namespace, name, &options, |e| {
                        e["subsets"] = wanted;
                    });
            }
            None => {
                let endpoints = json!({"metadata": {"name": name, "labels": {MANAGED_BY: "endpoint-controller"}}, "subsets": wanted});
                let _ = shared
                    .store
                    .create(kinds.endpoints, namespace, endpoints, &options);
            }
        }
    }
    for stale in existing.iter().filter(|e| {
        e.pointer("/metadata/labels")
            .and_then(|l| l.get(MANAGED_BY))
            .is_some()
    }) {
        let (namespace, name) = (meta(stale, "namespace"), meta(stale, "name"));
        if !services
            .iter()
            .any(|s| meta(s, "namespace") == namespace && meta(s, "name") == name)
        {
            let _ = shared.store.delete(
                kinds.endpoints,
                namespace,
                name,
                Propagation::Cascade,
                false,
            );
        }
    }
}
