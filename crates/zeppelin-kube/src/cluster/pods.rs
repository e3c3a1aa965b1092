//! The app's pods as a rollout sees them: the watched stores of its Deployments,
//! ReplicaSets, StatefulSets and pods, which pods run a sub's current template (as opposed
//! to an earlier rollout's), and why a pod is not ready. `rollout` judges from these, `diagnosis`
//! explains from them, `status` reports the waiting reasons.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::Store;

use crate::cluster::workload::{Workload, WorkloadKind};
use crate::render::labels::NAME;

/// The revision the Deployment controller puts on a Deployment and its ReplicaSets.
const REVISION: &str = "deployment.kubernetes.io/revision";
/// The label the Deployment controller puts on a ReplicaSet and its pods.
const TEMPLATE_HASH: &str = "pod-template-hash";
/// The label the StatefulSet controller puts on a pod: the revision it runs.
const CONTROLLER_REVISION: &str = "controller-revision-hash";

/// What the watches have seen of the app's Deployments, ReplicaSets, StatefulSets and pods.
pub(crate) struct Stores {
    pub deployments: Store<Deployment>,
    pub replica_sets: Store<ReplicaSet>,
    pub stateful_sets: Store<StatefulSet>,
    pub pods: Store<Pod>,
}

impl Stores {
    pub(crate) fn deployment(&self, sub: &str) -> Option<Arc<Deployment>> {
        self.deployments
            .state()
            .into_iter()
            .find(|d| d.metadata.name.as_deref() == Some(sub))
    }

    pub(crate) fn stateful_set(&self, sub: &str) -> Option<Arc<StatefulSet>> {
        self.stateful_sets
            .state()
            .into_iter()
            .find(|s| s.metadata.name.as_deref() == Some(sub))
    }

    /// The pods of `workload` that run its current template: those of the ReplicaSet of the
    /// Deployment's revision, or those of the StatefulSet's update revision; every pod of
    /// the sub if the object of its kind is not there yet. A leftover of the other kind
    /// with the same name (a sub that turned stateful) is not looked at.
    pub(crate) fn new_pods(&self, workload: &Workload) -> Vec<Arc<Pod>> {
        let sub = workload.sub.as_str();
        let (found, label, hash) = match workload.kind {
            WorkloadKind::Deployment => match self.deployment(sub) {
                Some(deployment) => (
                    true,
                    TEMPLATE_HASH,
                    current_template_hash(&deployment, &self.replica_sets.state()),
                ),
                None => (false, TEMPLATE_HASH, None),
            },
            WorkloadKind::StatefulSet => match self.stateful_set(sub) {
                Some(set) => (true, CONTROLLER_REVISION, update_revision(&set)),
                None => (false, CONTROLLER_REVISION, None),
            },
        };
        self.sub_pods(sub)
            .into_iter()
            .filter(|p| !found || runs_template(p, label, hash.as_deref()))
            .collect()
    }

    /// Every pod of `sub`, whatever template it runs.
    pub(crate) fn sub_pods(&self, sub: &str) -> Vec<Arc<Pod>> {
        self.pods
            .state()
            .into_iter()
            .filter(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(NAME))
                    .map(String::as_str)
                    == Some(sub)
            })
            .collect()
    }
}

/// The `pod-template-hash` of the Deployment's current template: the label of the
/// ReplicaSet it owns whose revision is the Deployment's. `None` until the controller has
/// made that ReplicaSet, and until it has seen the Deployment's latest spec (before that,
/// the revision is the previous template's).
fn current_template_hash(
    deployment: &Deployment,
    replica_sets: &[Arc<ReplicaSet>],
) -> Option<String> {
    let observed = deployment
        .status
        .as_ref()
        .and_then(|s| s.observed_generation)
        .unwrap_or(0);
    if observed < deployment.metadata.generation.unwrap_or(0) {
        return None;
    }
    let name = deployment.metadata.name.as_deref()?;
    let revision = deployment.metadata.annotations.as_ref()?.get(REVISION)?;
    replica_sets
        .iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "Deployment" && o.name == name)
        })
        .find(|rs| {
            rs.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                == Some(revision)
        })
        .and_then(|rs| rs.metadata.labels.as_ref()?.get(TEMPLATE_HASH).cloned())
}

/// The StatefulSet's update revision, the one its new pods carry; `None` until the
/// controller has seen its latest spec.
pub(crate) fn update_revision(set: &StatefulSet) -> Option<String> {
    let status = set.status.as_ref()?;
    let observed = status.observed_generation.unwrap_or(0);
    if observed == 0 || observed < set.metadata.generation.unwrap_or(0) {
        return None;
    }
    status.update_revision.clone()
}

/// The StatefulSet revision `pod` runs (its `controller-revision-hash` label).
pub(crate) fn pod_revision(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()?
        .get(CONTROLLER_REVISION)
        .map(String::as_str)
}

/// Whether `pod` runs the template whose hash (under `label`) is `hash`, as opposed to a
/// pod of an earlier rollout.
fn runs_template(pod: &Pod, label: &str, hash: Option<&str>) -> bool {
    hash.is_some()
        && pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(label))
            .map(String::as_str)
            == hash
}

/// The claims `pod` mounts, by name.
pub(crate) fn claim_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| Some(v.persistent_volume_claim.as_ref()?.claim_name.clone()))
        .collect()
}

/// Whether `pod`'s Ready condition is True.
pub(crate) fn is_ready(pod: &Pod) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Why a pod is not ready: a container's waiting reason, or the scheduler's.
pub(crate) fn waiting_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let waiting = status.container_statuses.iter().flatten().find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        waiting.reason.clone()
    });
    waiting.or_else(|| {
        status.conditions.iter().flatten().find_map(|c| {
            (c.type_ == "PodScheduled" && c.status == "False").then(|| {
                c.reason
                    .clone()
                    .unwrap_or_else(|| "Unschedulable".to_owned())
            })
        })
    })
}

/// Whether the scheduler holds `pod` back for its volume claims (none bound yet, or no
/// volume to bind them to), rather than for cpu, memory or nodes.
pub(crate) fn waits_for_claims(pod: &Pod) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .filter(|c| c.type_ == "PodScheduled" && c.status == "False")
        .filter_map(|c| c.message.as_deref())
        .any(|m| m.contains("PersistentVolumeClaim") || m.contains("persistent volumes"))
}
