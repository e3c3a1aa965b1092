//! Waiting for Deployments and StatefulSets to roll out, by watching them and their pods
//! (no polling).
//!
//! A Deployment is done exactly when `kubectl rollout status` says so: the controller has
//! observed the latest generation, every replica is updated, no old replica is left, and
//! every updated replica is available. A StatefulSet likewise: the latest generation
//! observed, every replica updated and ready, no replica beyond the count left, and (for a
//! rolling update) the current revision caught up with the update revision.
//! `ProgressDeadlineExceeded` is a failure, and so is a pod of the new template stuck where
//! waiting longer cannot help (its image cannot be pulled, its container keeps crashing);
//! the `diagnosis` module then says why, down to a volume claim that cannot bind.
//!
//! Each sub is judged by the object of the kind the applied manifest has for it, so a
//! leftover Deployment of a sub that turned stateful (deployed with `--no-prune`) does not
//! stand in for its StatefulSet.
//!
//! A StatefulSet with the default `OrderedReady` policy never replaces a pod that is not
//! Ready, so after a broken template it would wait forever for the broken pod, whatever
//! template is applied next (Kubernetes' "forced rollback"). The wait deletes such a pod
//! once the controller has seen the new template, and the controller recreates it from
//! that template with the same volume claims.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};

use crate::cluster::connect::Cluster;
use crate::cluster::diagnosis;
use crate::cluster::error::{ApiCause, ClusterError, humanize, is_not_found, request};
use crate::cluster::pods::{
    Stores, claim_names, is_ready, pod_revision, update_revision, waiting_reason, waits_for_claims,
};
pub use crate::cluster::workload::{Workload, WorkloadKind};
use crate::render::labels::owner_selector;

/// Waiting reasons no amount of waiting fixes.
const HOPELESS: [&str; 5] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// What each of the wait's watches watches, in the order of its stores.
const WATCHED: [&str; 4] = ["Deployments", "pods", "ReplicaSets", "StatefulSets"];

/// Restarts after which a crash-looping container fails the rollout.
const CRASH_RESTARTS: i32 = 2;

/// Where one sub's rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubProgress {
    pub sub: String,
    pub desired: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    pub done: bool,
    /// What it waits for, in kubectl's words, or a pod's waiting reason.
    pub waiting_for: Option<String>,
}

/// What to wait for.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    pub namespace: String,
    pub app: String,
    /// The Deployments and StatefulSets to wait for.
    pub subs: Vec<Workload>,
    pub timeout: Duration,
}

impl WaitOptions {
    /// The workload of `sub`; a Deployment for a sub not in the options (never asked).
    fn workload(&self, sub: &str) -> Workload {
        self.subs
            .iter()
            .find(|w| w.sub == sub)
            .cloned()
            .unwrap_or_else(|| Workload {
                sub: sub.to_owned(),
                kind: WorkloadKind::Deployment,
            })
    }
}

/// What the wait tells its caller.
#[derive(Debug)]
pub enum WaitEvent<'a> {
    /// Where each sub stands, whenever a count or reason changes.
    Progress(&'a [SubProgress]),
    /// A StatefulSet's pod stuck on an earlier revision was deleted, so its controller
    /// recreates it from the new template; its claims (named) are kept.
    PodReplaced { pod: &'a str, claims: &'a [String] },
}

enum Verdict {
    Progress(Vec<SubProgress>),
    Done(Vec<SubProgress>),
    Failed(Vec<(Workload, String)>),
}

/// Waits until every sub in `options` has rolled out, calling `on_event` whenever a count
/// or reason changes, or a stuck pod is replaced.
pub async fn wait(
    cluster: &Cluster,
    options: &WaitOptions,
    mut on_event: impl FnMut(WaitEvent<'_>),
) -> Result<(), ClusterError> {
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &options.namespace);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &options.namespace);
    let pod_api = pods.clone();
    let replica_sets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), &options.namespace);
    let stateful_sets: Api<StatefulSet> =
        Api::namespaced(cluster.client.clone(), &options.namespace);
    let selector = owner_selector(&options.app);
    let (deployment_store, deployment_writer) = reflector::store();
    let (pod_store, pod_writer) = reflector::store();
    let (replica_set_store, replica_set_writer) = reflector::store();
    let (stateful_set_store, stateful_set_writer) = reflector::store();
    let deployment_events = reflector::reflector(
        deployment_writer,
        watcher(deployments, watcher::Config::default().labels(&selector)),
    )
    .default_backoff()
    .map(|event| (0, event.map(|e| matches!(e, watcher::Event::InitDone))));
    let pod_events = reflector::reflector(
        pod_writer,
        watcher(pods, watcher::Config::default().labels(&selector)),
    )
    .default_backoff()
    .map(|event| (1, event.map(|e| matches!(e, watcher::Event::InitDone))));
    let replica_set_events = reflector::reflector(
        replica_set_writer,
        watcher(replica_sets, watcher::Config::default().labels(&selector)),
    )
    .default_backoff()
    .map(|event| (2, event.map(|e| matches!(e, watcher::Event::InitDone))));
    let stateful_set_events = reflector::reflector(
        stateful_set_writer,
        watcher(stateful_sets, watcher::Config::default().labels(&selector)),
    )
    .default_backoff()
    .map(|event| (3, event.map(|e| matches!(e, watcher::Event::InitDone))));
    let mut events = Box::pin(futures::stream::select(
        futures::stream::select(deployment_events, stateful_set_events),
        futures::stream::select(pod_events, replica_set_events),
    ));
    let stores = Stores {
        deployments: deployment_store,
        replica_sets: replica_set_store,
        stateful_sets: stateful_set_store,
        pods: pod_store,
    };
    // Whether each watch has listed what exists, so the stores are complete.
    let mut listed = [false; WATCHED.len()];
    // The last error of each watch; the stream retries them with backoff.
    let mut errors: [Option<watcher::Error>; WATCHED.len()] = Default::default();
    let deadline = tokio::time::Instant::now() + options.timeout;
    let mut last: Vec<SubProgress> = Vec::new();
    // The uids of the stuck pods deleted so far: no longer judged, never deleted twice.
    let mut replaced: BTreeSet<String> = BTreeSet::new();
    loop {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Err(_) => {
                if let Some(which) = (0..WATCHED.len()).find(|&w| !listed[w]) {
                    return Err(unwatched(options, WATCHED[which], errors[which].take()));
                }
                let mut waiting: Vec<String> = last
                    .iter()
                    .filter(|p| !p.done)
                    .map(|p| p.sub.clone())
                    .collect();
                if waiting.is_empty() {
                    waiting = options.subs.iter().map(|w| w.sub.clone()).collect();
                }
                let failures: Vec<(Workload, String)> = last
                    .iter()
                    .filter(|p| !p.done)
                    .map(|p| {
                        let waiting = p.waiting_for.as_ref();
                        let reason = waiting.map(|w| format!("still waiting for {w}"));
                        (options.workload(&p.sub), reason.unwrap_or_default())
                    })
                    .collect();
                let text =
                    diagnosis::explain(cluster, &options.namespace, &stores, &failures).await;
                return Err(ClusterError::RolloutFailed(format!(
                    "timed out after {} waiting for {}\n{text}",
                    humanize(options.timeout),
                    waiting.join(", ")
                )));
            }
            Ok(None) => {
                return Err(ClusterError::RolloutFailed(
                    "the watch on the cluster ended; `zeppelin ps --k8s` shows where the rollout stands".to_owned(),
                ));
            }
            // Watch errors are retried with backoff by the stream itself.
            Ok(Some((which, Err(error)))) => errors[which] = Some(error),
            Ok(Some((which, Ok(init_done)))) => listed[which] |= init_done,
        }
        if !listed.iter().all(|l| *l) {
            continue;
        }
        for pod in stuck_pods(options, &stores, &replaced) {
            let name = pod.metadata.name.clone().unwrap_or_default();
            match pod_api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                // Gone already (the controller got there first): nothing to replace.
                Err(error) if is_not_found(&error) => {}
                Err(source) => {
                    return Err(request(format!(
                        "delete pod {name} in namespace {}, stuck on an earlier revision of its StatefulSet",
                        options.namespace
                    ))(source));
                }
            }
            replaced.extend(pod.metadata.uid.clone());
            on_event(WaitEvent::PodReplaced {
                pod: &name,
                claims: &claim_names(&pod),
            });
        }
        match judge(options, &stores, &replaced) {
            Verdict::Progress(progress) => {
                if progress != last {
                    on_event(WaitEvent::Progress(&progress));
                    last = progress;
                }
            }
            Verdict::Done(progress) => {
                if progress != last {
                    on_event(WaitEvent::Progress(&progress));
                }
                return Ok(());
            }
            Verdict::Failed(failures) => {
                let text =
                    diagnosis::explain(cluster, &options.namespace, &stores, &failures).await;
                return Err(ClusterError::RolloutFailed(text));
            }
        }
    }
}

/// The error of a watch that never finished listing what it watches.
fn unwatched(options: &WaitOptions, what: &str, error: Option<watcher::Error>) -> ClusterError {
    let action = format!(
        "watch the {what} of {} in namespace {} (the listing did not finish in {})",
        options.app,
        options.namespace,
        humanize(options.timeout)
    );
    let source = match error {
        Some(
            watcher::Error::InitialListFailed(e)
            | watcher::Error::WatchStartFailed(e)
            | watcher::Error::WatchFailed(e),
        ) => e,
        Some(watcher::Error::WatchError(status)) => kube::Error::Api(status),
        Some(watcher::Error::NoResourceVersion) => {
            return ClusterError::RolloutFailed(format!(
                "cannot {action}: the cluster gave no resourceVersion to watch from"
            ));
        }
        None => return ClusterError::RolloutFailed(format!("cannot {action}")),
    };
    ClusterError::Request {
        action,
        source: ApiCause(source),
    }
}

/// The pods of the StatefulSets in `options` that are not Ready and run a revision older
/// than the update revision the controller computed from the latest spec: with
/// `OrderedReady` the controller waits for them to become Ready before replacing them,
/// which a broken template never does. Pods being deleted, and those in `replaced`, are
/// left alone.
fn stuck_pods(
    options: &WaitOptions,
    stores: &Stores,
    replaced: &BTreeSet<String>,
) -> Vec<Arc<Pod>> {
    let mut stuck = Vec::new();
    for workload in &options.subs {
        if workload.kind != WorkloadKind::StatefulSet {
            continue;
        }
        let Some(update) = stores
            .stateful_set(&workload.sub)
            .and_then(|set| update_revision(&set))
        else {
            continue;
        };
        stuck.extend(stores.sub_pods(&workload.sub).into_iter().filter(|pod| {
            pod.metadata.deletion_timestamp.is_none()
                && !pod
                    .metadata
                    .uid
                    .as_ref()
                    .is_some_and(|u| replaced.contains(u))
                && !is_ready(pod)
                && pod_revision(pod).is_some_and(|r| r != update)
        }));
    }
    stuck
}

/// The pods whose waiting reasons count against `workload`: those of a Deployment's
/// current template; every pod of a StatefulSet once its controller has seen the latest
/// spec (its pods on an earlier revision that are not Ready are replaced, so one still
/// crash-looping is one the controller will not get past), but for those in `replaced`
/// and those being deleted.
fn judged_pods(workload: &Workload, stores: &Stores, replaced: &BTreeSet<String>) -> Vec<Arc<Pod>> {
    let pods = match workload.kind {
        WorkloadKind::StatefulSet
            if stores
                .stateful_set(&workload.sub)
                .and_then(|set| update_revision(&set))
                .is_some() =>
        {
            stores.sub_pods(&workload.sub)
        }
        _ => stores.new_pods(workload),
    };
    pods.into_iter()
        .filter(|pod| {
            pod.metadata.deletion_timestamp.is_none()
                && !pod
                    .metadata
                    .uid
                    .as_ref()
                    .is_some_and(|u| replaced.contains(u))
        })
        .collect()
}

fn judge(options: &WaitOptions, stores: &Stores, replaced: &BTreeSet<String>) -> Verdict {
    let mut progress = Vec::new();
    let mut failures = Vec::new();
    for workload in &options.subs {
        let sub = &workload.sub;
        let state = match workload.kind {
            WorkloadKind::Deployment => stores
                .deployment(sub)
                .map(|deployment| rollout_state(sub, &deployment)),
            WorkloadKind::StatefulSet => stores
                .stateful_set(sub)
                .map(|set| Ok(stateful_state(sub, &set))),
        };
        let Some(mut state) = state else {
            progress.push(SubProgress {
                sub: sub.clone(),
                desired: 0,
                updated: 0,
                ready: 0,
                available: 0,
                done: false,
                waiting_for: Some(format!("its {} to appear", workload.kind.as_str())),
            });
            continue;
        };
        if let Err(reason) = &state {
            failures.push((workload.clone(), reason.clone()));
            continue;
        }
        for pod in judged_pods(workload, stores, replaced) {
            if let Some(reason) = hopeless(&pod) {
                failures.push((workload.clone(), reason));
                break;
            }
            if let Some(reason) = waiting_reason(&pod)
                && let Ok(p) = &mut state
                && !p.done
            {
                p.waiting_for = Some(if waits_for_claims(&pod) {
                    "its volume claims to bind".to_owned()
                } else {
                    format!("a pod in {reason}")
                });
            }
        }
        if let Ok(p) = state {
            progress.push(p);
        }
    }
    if !failures.is_empty() {
        return Verdict::Failed(failures);
    }
    if progress.iter().all(|p| p.done) {
        Verdict::Done(progress)
    } else {
        Verdict::Progress(progress)
    }
}

/// kubectl's rollout status for one Deployment; `Err` when its progress deadline passed.
fn rollout_state(sub: &str, deployment: &Deployment) -> Result<SubProgress, String> {
    let spec = deployment.spec.as_ref();
    let status = deployment.status.clone().unwrap_or_default();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let mut progress = SubProgress {
        sub: sub.to_owned(),
        desired,
        updated,
        ready: status.ready_replicas.unwrap_or(0),
        available,
        done: false,
        waiting_for: None,
    };
    let generation = deployment.metadata.generation.unwrap_or(0);
    if status.observed_generation.unwrap_or(0) < generation {
        progress.waiting_for = Some("the controller to see the new spec".to_owned());
        return Ok(progress);
    }
    if let Some(condition) = status.conditions.iter().flatten().find(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    }) {
        return Err(format!(
            "its progress deadline passed ({})",
            condition
                .message
                .as_deref()
                .unwrap_or("ProgressDeadlineExceeded")
        ));
    }
    progress.waiting_for = if updated < desired {
        Some(format!(
            "{} to be updated",
            counted(desired - updated, "more replica")
        ))
    } else if replicas > updated {
        Some(format!(
            "{} to terminate",
            counted(replicas - updated, "old replica")
        ))
    } else if available < updated {
        Some(format!(
            "{} to become available",
            counted(updated - available, "more updated replica")
        ))
    } else {
        None
    };
    progress.done = progress.waiting_for.is_none();
    Ok(progress)
}

/// kubectl's rollout status for one StatefulSet, a little stricter: replicas beyond the
/// count (a scale-down in progress) are waited for too.
fn stateful_state(sub: &str, set: &StatefulSet) -> SubProgress {
    let spec = set.spec.as_ref();
    let status = set.status.clone().unwrap_or_default();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let mut progress = SubProgress {
        sub: sub.to_owned(),
        desired,
        updated,
        ready,
        available: status.available_replicas.unwrap_or(0),
        done: false,
        waiting_for: None,
    };
    // Like kubectl, an absent (or zero) observedGeneration is not an observed spec.
    let generation = set.metadata.generation.unwrap_or(0);
    let observed = status.observed_generation.unwrap_or(0);
    if observed == 0 || observed < generation {
        progress.waiting_for = Some("the controller to see the new spec".to_owned());
        return progress;
    }
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    let rolling = strategy
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
        == "RollingUpdate";
    let partition = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    let to_update = if rolling { desired - partition } else { 0 };
    progress.waiting_for = if ready < desired {
        Some(format!(
            "{} to be ready",
            counted(desired - ready, "more replica")
        ))
    } else if status.replicas > desired {
        Some(format!(
            "{} to terminate",
            replicas(status.replicas - desired)
        ))
    } else if updated < to_update {
        Some(format!(
            "{} to be updated",
            counted(to_update - updated, "more replica")
        ))
    } else if rolling && partition == 0 && status.current_revision != status.update_revision {
        Some("the rolling update to complete".to_owned())
    } else {
        None
    };
    progress.done = progress.waiting_for.is_none();
    progress
}

/// `1 replica`, `2 replicas`.
fn replicas(n: i32) -> String {
    counted(n, "replica")
}

/// `n` and `noun`, plural unless `n` is 1.
fn counted(n: i32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Why a pod of the new template will not start however long one waits.
fn hopeless(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|c| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref()?;
        let crashing = reason == "CrashLoopBackOff" && c.restart_count >= CRASH_RESTARTS;
        (HOPELESS.contains(&reason) || crashing).then(|| reason.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use kube::runtime::reflector::Store;
    use serde_json::json;

    use super::*;

    fn deployment(generation: i64, status: &serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": 3, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    fn waiting_for(d: &Deployment) -> Option<String> {
        rollout_state("web", d).unwrap().waiting_for
    }

    #[test]
    fn done_only_when_kubectl_would_say_so() {
        let done = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
                          "readyReplicas": 3, "availableReplicas": 3});
        assert!(rollout_state("web", &deployment(2, &done)).unwrap().done);
        // The controller has not seen the latest spec yet.
        assert_eq!(
            waiting_for(&deployment(3, &done)).as_deref(),
            Some("the controller to see the new spec")
        );
        let updating = json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 2,
                              "availableReplicas": 3});
        assert_eq!(
            waiting_for(&deployment(2, &updating)).as_deref(),
            Some("1 more replica to be updated")
        );
        let old_left = json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3,
                              "availableReplicas": 3});
        assert_eq!(
            waiting_for(&deployment(2, &old_left)).as_deref(),
            Some("1 old replica to terminate")
        );
        let unavailable = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
                                 "availableReplicas": 1});
        assert_eq!(
            waiting_for(&deployment(2, &unavailable)).as_deref(),
            Some("2 more updated replicas to become available")
        );
    }

    fn stateful_set(generation: i64, status: &serde_json::Value) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": {"name": "db", "generation": generation},
            "spec": {"replicas": 2, "selector": {}, "serviceName": "db", "template": {},
                     "updateStrategy": {"type": "RollingUpdate"}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_stateful_set_is_done_when_every_replica_runs_the_update_revision() {
        let waiting =
            |status: serde_json::Value| stateful_state("db", &stateful_set(2, &status)).waiting_for;
        let done = json!({"observedGeneration": 2, "replicas": 2, "readyReplicas": 2,
            "updatedReplicas": 2, "currentRevision": "db-2", "updateRevision": "db-2"});
        assert!(stateful_state("db", &stateful_set(2, &done)).done);
        assert_eq!(
            stateful_state("db", &stateful_set(3, &done))
                .waiting_for
                .as_deref(),
            Some("the controller to see the new spec")
        );
        let pending = json!({"observedGeneration": 2, "replicas": 1, "readyReplicas": 0,
            "currentRevision": "db-2", "updateRevision": "db-2"});
        assert_eq!(
            waiting(pending).as_deref(),
            Some("2 more replicas to be ready")
        );
        // Not yet seen by the controller at all: no observedGeneration.
        let unobserved = json!({"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2,
            "currentRevision": "db-2", "updateRevision": "db-2"});
        assert_eq!(
            waiting(unobserved).as_deref(),
            Some("the controller to see the new spec")
        );
        let rolling = json!({"observedGeneration": 2, "replicas": 2, "readyReplicas": 2,
            "updatedReplicas": 1, "currentRevision": "db-1", "updateRevision": "db-2"});
        assert_eq!(
            waiting(rolling).as_deref(),
            Some("1 more replica to be updated")
        );
        let catching_up = json!({"observedGeneration": 2, "replicas": 2, "readyReplicas": 2,
            "updatedReplicas": 2, "currentRevision": "db-1", "updateRevision": "db-2"});
        assert_eq!(
            waiting(catching_up).as_deref(),
            Some("the rolling update to complete")
        );
        let shrinking = json!({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
            "updatedReplicas": 3, "currentRevision": "db-2", "updateRevision": "db-2"});
        assert_eq!(
            waiting(shrinking).as_deref(),
            Some("1 replica to terminate")
        );
        let shrinking_more = json!({"observedGeneration": 2, "replicas": 4, "readyReplicas": 4,
            "updatedReplicas": 4, "currentRevision": "db-2", "updateRevision": "db-2"});
        assert_eq!(
            waiting(shrinking_more).as_deref(),
            Some("2 replicas to terminate")
        );
    }

    #[test]
    fn a_passed_progress_deadline_is_a_failure() {
        let status = json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 1,
            "conditions": [{"type": "Progressing", "status": "False",
                            "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet \"web-1\" has timed out progressing."}]});
        let err = rollout_state("web", &deployment(1, &status)).unwrap_err();
        assert!(err.contains("has timed out progressing"), "{err}");
    }

    fn store<K>(objects: &[serde_json::Value]) -> Store<K>
    where
        K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + 'static,
    {
        let (store, mut writer) = reflector::store();
        for object in objects {
            let object: K = serde_json::from_value(object.clone()).unwrap();
            writer.apply_watcher_event(&watcher::Event::Apply(object));
        }
        store
    }

    #[test]
    fn pods_of_an_earlier_template_do_not_fail_a_rollout() {
        // Revision 1 (hash `old`) crash-loops; revision 2 (hash `new`) has the same images
        // and config hash but a fixed command, and its pod is still starting.
        let rs = |hash: &str, revision: &str| {
            json!({"metadata": {"name": format!("api-{hash}"),
                "labels": {"pod-template-hash": hash},
                "annotations": {"deployment.kubernetes.io/revision": revision},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "api", "uid": "1", "controller": true}]}})
        };
        let pod = |name: &str, hash: &str, reason: &str, restarts: i32| {
            json!({"metadata": {"name": name,
                    "labels": {"app.kubernetes.io/name": "api", "pod-template-hash": hash}},
                "status": {"containerStatuses": [{
                    "name": "api", "image": "api:1", "imageID": "", "ready": false,
                    "restartCount": restarts, "state": {"waiting": {"reason": reason}}}]}})
        };
        let stores = Stores {
            deployments: store(&[json!({
                "metadata": {"name": "api", "generation": 2,
                             "annotations": {"deployment.kubernetes.io/revision": "2"}},
                "spec": {"replicas": 1, "selector": {}, "template": {}},
                "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1},
            })]),
            replica_sets: store(&[rs("old", "1"), rs("new", "2")]),
            stateful_sets: store(&[]),
            pods: store(&[
                pod("api-old-1", "old", "CrashLoopBackOff", 5),
                pod("api-new-1", "new", "ContainerCreating", 0),
            ]),
        };
        let options = WaitOptions {
            namespace: "ns".to_owned(),
            app: "app".to_owned(),
            subs: vec![Workload {
                sub: "api".to_owned(),
                kind: WorkloadKind::Deployment,
            }],
            timeout: Duration::from_secs(1),
        };
        let Verdict::Progress(progress) = judge(&options, &stores, &BTreeSet::new()) else {
            panic!("a pod of revision 1 failed the rollout of revision 2");
        };
        assert_eq!(
            progress[0].waiting_for.as_deref(),
            Some("a pod in ContainerCreating")
        );
        let new: Vec<_> = stores
            .new_pods(&options.subs[0])
            .iter()
            .map(|p| p.metadata.name.clone())
            .collect();
        assert_eq!(new, [Some("api-new-1".to_owned())]);

        // A spec the controller has not seen yet (a rollback re-applying revision 1's
        // template): the annotated revision is still the previous one, so no pod is new.
        let unseen = Stores {
            deployments: store(&[json!({
                "metadata": {"name": "api", "generation": 3,
                             "annotations": {"deployment.kubernetes.io/revision": "1"}},
                "spec": {"replicas": 1, "selector": {}, "template": {}},
                "status": {"observedGeneration": 2},
            })]),
            replica_sets: store(&[rs("old", "1"), rs("new", "2")]),
            stateful_sets: store(&[]),
            pods: store(&[pod("api-old-1", "old", "CrashLoopBackOff", 5)]),
        };
        assert!(unseen.new_pods(&options.subs[0]).is_empty());
        assert!(matches!(
            judge(&options, &unseen, &BTreeSet::new()),
            Verdict::Progress(_)
        ));
    }

    #[test]
    fn a_watch_that_never_listed_is_named_with_its_last_error() {
        let options = WaitOptions {
            namespace: "ns".to_owned(),
            app: "shop".to_owned(),
            subs: vec![Workload {
                sub: "api".to_owned(),
                kind: WorkloadKind::Deployment,
            }],
            timeout: Duration::from_secs(300),
        };
        let status: kube::core::Status = serde_json::from_value(json!({
            "status": "Failure", "message": "pods is forbidden", "reason": "Forbidden",
            "code": 403}))
        .unwrap();
        let error = unwatched(
            &options,
            "pods",
            Some(watcher::Error::WatchError(Box::new(status))),
        );
        assert_eq!(
            error.to_string(),
            "cannot watch the pods of shop in namespace ns (the listing did not finish in 5m)"
        );
        let source = std::error::Error::source(&error).unwrap().to_string();
        assert_eq!(source, "pods is forbidden (403)");
        let silent = unwatched(&options, "ReplicaSets", None).to_string();
        assert!(silent.contains("ReplicaSets of shop"), "{silent}");
    }

    #[test]
    fn only_reasons_waiting_cannot_fix_fail_a_rollout() {
        let pod = |reason: &str, restarts: i32| -> Pod {
            serde_json::from_value(json!({
                "metadata": {"name": "web-1"},
                "status": {"containerStatuses": [{
                    "name": "web", "image": "web:1", "imageID": "", "ready": false,
                    "restartCount": restarts,
                    "state": {"waiting": {"reason": reason}}}]}
            }))
            .unwrap()
        };
        assert_eq!(
            hopeless(&pod("ImagePullBackOff", 0)).as_deref(),
            Some("ImagePullBackOff")
        );
        assert_eq!(hopeless(&pod("ContainerCreating", 0)), None);
        assert_eq!(hopeless(&pod("CrashLoopBackOff", 1)), None);
        assert_eq!(
            hopeless(&pod("CrashLoopBackOff", CRASH_RESTARTS)).as_deref(),
            Some("CrashLoopBackOff")
        );
    }
}
