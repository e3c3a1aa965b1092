//! The Deployment controller: one `ReplicaSet` per pod-template hash, rolling updates within
//! `maxSurge`/`maxUnavailable` (or Recreate), and the status and conditions `kubectl rollout
//! status` reads, including `ProgressDeadlineExceeded`.

use serde_json::{Map, Value, json};

use super::{
    CONTROLLER_MANAGER, Kinds, events, meta, owned_by, owner_reference, write_status, writer,
};
use crate::server::Shared;
use crate::store;
use crate::table::int as replicas;

const REVISION: &str = "deployment.kubernetes.io/revision";

/// True for values a typed object leaves out: `null`, `{}` and `[]`.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.values().all(is_empty),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Serializes with sorted keys and without empty fields, so templates that differ only in
/// key order or in `resources: {}` hash equally.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().filter(|k| !is_empty(&map[*k])).collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// The `pod-template-hash` of a template: FNV-1a, spelled with Kubernetes' safe alphabet.
pub(super) fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u32 = 0x811c_9dc5;
    for byte in canonical(template).bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// Resolves an int-or-percent against `total`, rounding percentages up or down.
fn resolve(value: Option<&Value>, total: u64, default_percent: u64, round_up: bool) -> u64 {
    let percent = |p: u64| {
        if round_up {
            (total * p).div_ceil(100)
        } else {
            total * p / 100
        }
    };
    match value {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s
            .trim_end_matches('%')
            .parse()
            .map_or(percent(default_percent), percent),
        _ => percent(default_percent),
    }
}

fn revision(rs: &Value) -> u64 {
    rs.pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

pub(super) fn reconcile_all(shared: &Shared, kinds: Kinds) {
    for deployment in shared.store.all(kinds.deployments) {
        reconcile(shared, kinds, &deployment);
    }
}

fn owned_sets(shared: &Shared, kinds: Kinds, deployment: &Value) -> Vec<Value> {
    let mut sets: Vec<Value> = shared
        .store
        .all(kinds.replicasets)
        .into_iter()
        .filter(|rs| {
            meta(rs, "namespace") == meta(deployment, "namespace") && owned_by(rs, deployment)
        })
        .collect();
    sets.sort_by_key(revision);
    sets
}

fn scale(shared: &Shared, kinds: Kinds, deployment: &Value, rs: &Value, to: u64) -> bool {
    let from = replicas(rs, "/spec/replicas");
    if from == to {
        return false;
    }
    let desired = replicas(deployment, "/spec/replicas");
    let changed = shared.store.modify(
        kinds.replicasets,
        meta(rs, "namespace"),
        meta(rs, "name"),
        &writer(CONTROLLER_MANAGER, false),
        |o| {
            o["spec"]["replicas"] = json!(to);
            o["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
                json!(desired.to_string());
        },
    );
    if changed.is_ok() {
        let direction = if to > from { "up" } else { "down" };
        let message = format!(
            "Scaled {direction} replica set {} from {from} to {to}",
            meta(rs, "name")
        );
        events::record(
            shared,
            kinds,
            deployment,
            "Normal",
            "ScalingReplicaSet",
            &message,
            "deployment-controller",
        );
    }
    changed.is_ok()
}

/// Finds or makes the `ReplicaSet` for the current template; true if it made or revived one.
fn new_replica_set(
    shared: &Shared,
    kinds: Kinds,
    deployment: &Value,
    sets: &[Value],
    hash: &str,
) -> (Option<Value>, bool) {
    let namespace = meta(deployment, "namespace");
    let max_revision = sets.iter().map(revision).max().unwrap_or(0);
    if let Some(rs) = sets.iter().find(|rs| {
        rs.pointer("/metadata/labels/pod-template-hash")
            .and_then(Value::as_str)
            == Some(hash)
    }) {
        if revision(rs) == max_revision {
            return (Some(rs.clone()), false);
        }
        // A rollback to an older template makes its ReplicaSet the newest revision again.
        let revived = shared.store.modify(
            kinds.replicasets,
            namespace,
            meta(rs, "name"),
            &writer(CONTROLLER_MANAGER, false),
            |o| {
                o["metadata"]["annotations"][REVISION] = json!((max_revision + 1).to_string());
            },
        );
        return (revived.ok(), true);
    }
    let mut template = deployment["spec"]["template"].clone();
    template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let name = format!("{}-{hash}", meta(deployment, "name"));
    let desired = replicas(deployment, "/spec/replicas");
    let rs = json!({
        "metadata": {
            "name": name,
            "labels": template["metadata"]["labels"],
            "annotations": {
                REVISION: (max_revision + 1).to_string(),
                "deployment.kubernetes.io/desired-replicas": desired.to_string(),
            },
            "ownerReferences": [owner_reference(deployment)],
        },
        "spec": {
            "replicas": 0,
            "minReadySeconds": deployment["spec"].get("minReadySeconds").cloned().unwrap_or(json!(0)),
            "selector": selector,
            "template": template,
        },
    });
    let created = shared.store.create_owned(
        kinds.replicasets,
        namespace,
        rs,
        &writer(CONTROLLER_MANAGER, false),
    );
    (created.ok(), true)
}

fn reconcile(shared: &Shared, kinds: Kinds, deployment: &Value) {
    let sets = owned_sets(shared, kinds, deployment);
    let hash = template_hash(&deployment["spec"]["template"]);
    let (Some(new_rs), mut progressed) = new_replica_set(shared, kinds, deployment, &sets, &hash)
    else {
        return;
    };
    let olds: Vec<&Value> = sets
        .iter()
        .filter(|rs| meta(rs, "name") != meta(&new_rs, "name"))
        .collect();
    mark_revision(shared, kinds, deployment, &new_rs);
    let desired = replicas(deployment, "/spec/replicas");
    let surge_value = deployment.pointer("/spec/strategy/rollingUpdate/maxSurge");
    let unavailable_value = deployment.pointer("/spec/strategy/rollingUpdate/maxUnavailable");
    let max_surge = resolve(surge_value, desired, 25, true);
    let mut max_unavailable = resolve(unavailable_value, desired, 25, false);
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let paused = deployment["spec"]["paused"] == json!(true);
    if !paused {
        if deployment.pointer("/spec/strategy/type") == Some(&json!("Recreate")) {
            for old in &olds {
                progressed |= scale(shared, kinds, deployment, old, 0);
            }
            if olds.iter().all(|rs| replicas(rs, "/status/replicas") == 0) {
                progressed |= scale(shared, kinds, deployment, &new_rs, desired);
            }
        } else {
            progressed |= roll(
                shared,
                kinds,
                deployment,
                &new_rs,
                &olds,
                desired,
                max_surge,
                max_unavailable,
            );
        }
    }
    update_status(
        shared,
        kinds,
        deployment,
        &hash,
        desired,
        max_unavailable,
        progressed,
    );
}

/// Copies the new replica set's revision onto the Deployment, as the real controller does
/// (rollback tooling reads it there).
fn mark_revision(shared: &Shared, kinds: Kinds, deployment: &Value, new_rs: &Value) {
    let revision = new_rs
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .cloned();
    let current = deployment
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION));
    if let Some(revision) = revision.filter(|r| Some(r) != current) {
        let (namespace, name) = (meta(deployment, "namespace"), meta(deployment, "name"));
        // A Deployment deleted meanwhile needs no revision.
        let _ = shared.store.modify(
            kinds.deployments,
            namespace,
            name,
            &writer(CONTROLLER_MANAGER, false),
            |o| {
                o["metadata"]["annotations"][REVISION] = revision;
            },
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn roll(
    shared: &Shared,
    kinds: Kinds,
    deployment: &Value,
    new_rs: &Value,
    olds: &[&Value],
    desired: u64,
    max_surge: u64,
    max_unavailable: u64,
) -> bool {
    let mut progressed = false;
    let total_spec: u64 = olds
        .iter()
        .map(|rs| replicas(rs, "/spec/replicas"))
        .sum::<u64>()
        + replicas(new_rs, "/spec/replicas");
    let new_spec = replicas(new_rs, "/spec/replicas");
    if new_spec > desired {
        progressed |= scale(shared, kinds, deployment, new_rs, desired);
    } else if new_spec < desired && total_spec < desired + max_surge {
        let target = desired.min(new_spec + desired + max_surge - total_spec);
        progressed |= scale(shared, kinds, deployment, new_rs, target);
    }
    let all_pods: u64 = olds
        .iter()
        .map(|rs| replicas(rs, "/status/replicas"))
        .sum::<u64>()
        + replicas(new_rs, "/status/replicas");
    let min_available = desired.saturating_sub(max_unavailable);
    let new_unavailable = new_spec.saturating_sub(replicas(new_rs, "/status/availableReplicas"));
    let Some(mut budget) = all_pods
        .checked_sub(min_available + new_unavailable)
        .filter(|b| *b > 0)
    else {
        return progressed;
    };
    let mut remaining: Vec<(Value, u64)> = olds
        .iter()
        .map(|rs| ((*rs).clone(), replicas(rs, "/spec/replicas")))
        .collect();
    // First the old pods that are not available anyway, then available ones down to the floor.
    for (rs, spec) in &mut remaining {
        let unhealthy = spec
            .saturating_sub(replicas(rs, "/status/availableReplicas"))
            .min(budget);
        if unhealthy > 0 {
            *spec -= unhealthy;
            budget -= unhealthy;
        }
    }
    let available: u64 = olds
        .iter()
        .map(|rs| replicas(rs, "/status/availableReplicas"))
        .sum::<u64>()
        + replicas(new_rs, "/status/availableReplicas");
    let mut healthy_budget = available.saturating_sub(min_available);
    for (_, spec) in &mut remaining {
        let step = (*spec).min(healthy_budget);
        *spec -= step;
        healthy_budget -= step;
    }
    for (rs, spec) in &remaining {
        progressed |= scale(shared, kinds, deployment, rs, *spec);
    }
    progressed
}

fn condition(kind: &str, status: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message, "lastUpdateTime": now, "lastTransitionTime": now})
}

/// Keeps `lastTransitionTime` when the status word did not change, and `lastUpdateTime` when
/// nothing about the condition did.
fn carry_times(mut fresh: Value, old: Option<&Value>) -> Value {
    if let Some(old) = old
        && old["status"] == fresh["status"]
    {
        fresh["lastTransitionTime"] = old["lastTransitionTime"].clone();
        if old["reason"] == fresh["reason"] && old["message"] == fresh["message"] {
            fresh["lastUpdateTime"] = old["lastUpdateTime"].clone();
        }
    }
    fresh
}

fn deadline_passed(condition: &Value, seconds: u64) -> bool {
    let Some(updated) = condition["lastUpdateTime"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    else {
        return false;
    };
    let elapsed = jiff::Timestamp::now().duration_since(updated);
    elapsed.as_secs() >= i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// Replica counts over a Deployment's replica sets, from their status.
struct Counts {
    total: u64,
    updated: u64,
    ready: u64,
    available: u64,
}

impl Counts {
    /// True if the rollout made progress since `old` (a Deployment status).
    fn moved_since(&self, old: &Value) -> bool {
        let old_replicas =
            replicas(old, "/replicas").saturating_sub(replicas(old, "/updatedReplicas"));
        self.updated > replicas(old, "/updatedReplicas")
            || self.ready > replicas(old, "/readyReplicas")
            || self.available > replicas(old, "/availableReplicas")
            || self.total.saturating_sub(self.updated) < old_replicas
    }
}

/// The `Progressing` condition: done, progressing, or past its deadline without progress.
fn progressing(
    previous: Option<&Value>,
    complete: bool,
    moved: bool,
    deadline: Option<u64>,
    new_name: &str,
    now: &str,
) -> Value {
    if complete {
        let message = format!("ReplicaSet \"{new_name}\" has successfully progressed.");
        return carry_times(
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &message,
                now,
            ),
            previous,
        );
    }
    if moved || previous.is_none() {
        let message = format!("ReplicaSet \"{new_name}\" is progressing.");
        let mut fresh = condition("Progressing", "True", "ReplicaSetUpdated", &message, now);
        if let Some(old) = previous.filter(|o| o["status"] == "True") {
            fresh["lastTransitionTime"] = old["lastTransitionTime"].clone();
        }
        return fresh;
    }
    let old = previous.cloned().unwrap_or(Value::Null);
    match deadline {
        Some(seconds)
            if old["reason"] != "ProgressDeadlineExceeded" && deadline_passed(&old, seconds) =>
        {
            let message = format!("ReplicaSet \"{new_name}\" has timed out progressing.");
            condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &message,
                now,
            )
        }
        _ => old,
    }
}

fn update_status(
    shared: &Shared,
    kinds: Kinds,
    deployment: &Value,
    hash: &str,
    desired: u64,
    max_unavailable: u64,
    progressed: bool,
) {
    let sets = owned_sets(shared, kinds, deployment);
    let sum = |pointer: &str| sets.iter().map(|rs| replicas(rs, pointer)).sum::<u64>();
    let new_rs = sets.iter().find(|rs| {
        rs.pointer("/metadata/labels/pod-template-hash")
            .and_then(Value::as_str)
            == Some(hash)
    });
    let counts = Counts {
        total: sum("/status/replicas"),
        updated: new_rs.map_or(0, |rs| replicas(rs, "/status/replicas")),
        ready: sum("/status/readyReplicas"),
        available: sum("/status/availableReplicas"),
    };
    let old_status = deployment
        .get("status")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let old_conditions: Vec<Value> = old_status["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |kind: &str| old_conditions.iter().find(|c| c["type"] == kind);
    let now = store::now();

    let available = if counts.available >= desired.saturating_sub(max_unavailable) {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            &now,
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            &now,
        )
    };
    let complete =
        counts.updated == desired && counts.total == desired && counts.available == desired;
    let moved = progressed || counts.moved_since(&old_status);
    let deadline = deployment
        .pointer("/spec/progressDeadlineSeconds")
        .and_then(Value::as_u64);
    let new_name = new_rs.map(|rs| meta(rs, "name")).unwrap_or_default();
    let conditions = [
        carry_times(available, find("Available")),
        progressing(
            find("Progressing"),
            complete,
            moved,
            deadline,
            new_name,
            &now,
        ),
    ];
    let mut status = Map::new();
    status.insert(
        "observedGeneration".to_owned(),
        deployment["metadata"]["generation"].clone(),
    );
    for (field, value) in [
        ("replicas", counts.total),
        ("updatedReplicas", counts.updated),
        ("readyReplicas", counts.ready),
        ("availableReplicas", counts.available),
        (
            "unavailableReplicas",
            desired.saturating_sub(counts.available),
        ),
    ] {
        if value > 0 {
            status.insert(field.to_owned(), json!(value));
        }
    }
    status.insert("conditions".to_owned(), json!(conditions));
    let status = Value::Object(status);
    write_status(
        shared,
        kinds.deployments,
        deployment,
        CONTROLLER_MANAGER,
        status,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hash_ignores_key_order_and_uses_the_safe_alphabet() {
        let a = json!({"metadata": {"labels": {"app": "web", "tier": "x"}}, "spec": {"containers": []}});
        let b = json!({"spec": {"containers": [], "resources": {}}, "metadata": {"labels": {"tier": "x", "app": "web"}}});
        assert_eq!(template_hash(&a), template_hash(&b));
        assert!(
            template_hash(&a)
                .chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
        );
        assert_ne!(template_hash(&a), template_hash(&json!({})));
    }

    #[test]
    fn resolves_counts_and_percentages() {
        assert_eq!(resolve(Some(&json!("25%")), 3, 25, true), 1);
        assert_eq!(resolve(Some(&json!("25%")), 3, 25, false), 0);
        assert_eq!(resolve(Some(&json!(2)), 3, 25, false), 2);
        assert_eq!(resolve(None, 4, 25, false), 1);
    }
}
