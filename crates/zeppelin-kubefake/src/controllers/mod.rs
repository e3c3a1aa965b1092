//! Simulated controllers: Deployment, `ReplicaSet`, `StatefulSet`, Job, `CronJob`, claim binding, endpoints,
//! namespace, autoscaler (without metrics) and disruption-budget controllers and a kubelet
//! stand-in, run together on a timer while switched on, writing through the same store as
//! clients so watchers see every change.

mod autoscaler;
mod claims;
mod completion;
mod controlled;
mod cronjob;
mod deployment;
mod disruption;
mod endpoints;
mod events;
mod job;
mod kubelet;
mod replicaset;
mod statefulset;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;

use crate::resources::{self, ResourceId};
use crate::server::Shared;
use crate::store::WriteOptions;

/// Resource ids the controllers use.
#[derive(Clone, Copy)]
struct Kinds {
    deployments: ResourceId,
    replicasets: ResourceId,
    statefulsets: ResourceId,
    revisions: ResourceId,
    jobs: ResourceId,
    cron_jobs: ResourceId,
    claims: ResourceId,
    pods: ResourceId,
    events: ResourceId,
    services: ResourceId,
    endpoints: ResourceId,
    namespaces: ResourceId,
    autoscalers: ResourceId,
    budgets: ResourceId,
}

impl Kinds {
    fn new() -> Self {
        let find = |g, p| resources::find(g, "v1", p).expect("controller kinds are served");
        Self {
            deployments: find("apps", "deployments"),
            replicasets: find("apps", "replicasets"),
            statefulsets: find("apps", "statefulsets"),
            revisions: find("apps", "controllerrevisions"),
            jobs: find("batch", "jobs"),
            cron_jobs: find("batch", "cronjobs"),
            claims: find("", "persistentvolumeclaims"),
            pods: find("", "pods"),
            events: find("", "events"),
            services: find("", "services"),
            endpoints: find("", "endpoints"),
            namespaces: find("", "namespaces"),
            autoscalers: resources::find("autoscaling", "v2", "horizontalpodautoscalers")
                .expect("controller kinds are served"),
            budgets: find("policy", "poddisruptionbudgets"),
        }
    }
}

const CONTROLLER_MANAGER: &str = "kube-controller-manager";

fn writer(manager: &str, status: bool) -> WriteOptions<'_> {
    WriteOptions {
        manager,
        subresource: status.then_some("status"),
        dry_run: false,
    }
}

fn meta<'v>(object: &'v Value, field: &str) -> &'v str {
    crate::store::meta_str(object, field).unwrap_or_default()
}

/// Writes `status` to `object` through the status subresource, as `manager`, unless the
/// object already has it. The comparison is made as the store keeps objects, without null
/// fields, so an unchanged status is not rewritten on every tick.
fn write_status(
    shared: &Shared,
    resource: ResourceId,
    object: &Value,
    manager: &str,
    mut status: Value,
) {
    crate::store::drop_nulls(&mut status);
    if object.get("status") == Some(&status) {
        return;
    }
    // An object deleted meanwhile needs no status.
    let _ = shared.store.modify(
        resource,
        meta(object, "namespace"),
        meta(object, "name"),
        &writer(manager, true),
        |o| o["status"] = status,
    );
}

/// True if `object` names `owner` (by uid) as its controller.
fn owned_by(object: &Value, owner: &Value) -> bool {
    let uid = meta(owner, "uid");
    object["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid)))
}

fn owner_reference(owner: &Value) -> Value {
    serde_json::json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Runs the controllers until shutdown.
pub(crate) async fn run(shared: Arc<Shared>) {
    let kinds = Kinds::new();
    let mut kubelet = kubelet::Kubelet::default();
    let mut binder = claims::Binder::default();
    let mut cron_jobs = cronjob::CronJobs::new(shared.config.clock_speed);
    let mut tick = tokio::time::interval(
        shared
            .config
            .controller_interval
            .max(crate::server::MIN_INTERVAL),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if !shared.controllers.load(Ordering::SeqCst) {
            continue;
        }
        deployment::reconcile_all(&shared, kinds);
        replicaset::reconcile_all(&shared, kinds);
        statefulset::reconcile_all(&shared, kinds);
        cron_jobs.reconcile_all(&shared, kinds);
        job::reconcile_all(&shared, kinds);
        binder.reconcile_all(&shared, kinds);
        kubelet.reconcile_all(&shared, kinds);
        endpoints::reconcile_all(&shared, kinds);
        autoscaler::reconcile_all(&shared, kinds);
        disruption::reconcile_all(&shared, kinds);
        for namespace in shared.store.all(kinds.namespaces) {
            if namespace.pointer("/metadata/deletionTimestamp").is_some() {
                shared.store.finish_namespace(meta(&namespace, "name"));
            }
        }
    }
}
