//! `zeppelin ps --k8s`: the app's Deployments, StatefulSets, pods and Ingress addresses in
//! the same status model the local runtime reports, and its jobs' runs (`job_status`). A
//! stateful sub's replica lists its volumes: the claim each mounts and, once bound, the
//! claim's capacity (the full list of claims, kept ones included, comes from
//! [`claims::list`](crate::claims::list)).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job as KubeJob};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use zeppelin_core::Quantity;
use zeppelin_core::model::Job;
use zeppelin_core::status::{
    AppStatus, ReplicaState, ReplicaStatus, Runtime, SubStatus, VolumeStatus,
};

use crate::cluster::claims::{self, Claim};
use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, request};
use crate::cluster::job_runs::job_name;
use crate::cluster::job_status::job_statuses;
use crate::cluster::pods::waiting_reason;
use crate::cluster::target::Target;
use crate::render::labels::NAME;
use crate::render::labels::owner_selector;

/// The app's status as the cluster sees it now; `jobs` are the app file's (Jobs and
/// CronJobs are listed only when it has some).
pub async fn app_status(
    cluster: &Cluster,
    target: &Target,
    jobs: &BTreeMap<String, Job>,
) -> Result<AppStatus, ClusterError> {
    let ns = &target.namespace;
    let selector = owner_selector(&target.app);
    let params = ListParams::default().labels(&selector);
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let ingresses: Api<Ingress> = Api::namespaced(cluster.client.clone(), ns);
    let stateful_sets: Api<StatefulSet> = Api::namespaced(cluster.client.clone(), ns);
    let kube_jobs: Api<KubeJob> = Api::namespaced(cluster.client.clone(), ns);
    let cron_jobs: Api<CronJob> = Api::namespaced(cluster.client.clone(), ns);
    let lists = futures::join!(
        deployments.list(&params),
        stateful_sets.list(&params),
        pods.list(&params),
        ingresses.list(&params),
        claims::list_if_allowed(cluster, target),
        list_if(!jobs.is_empty(), &kube_jobs, &params),
        // Any job's: what runs on a schedule is what was deployed, whatever the file says.
        list_if(!jobs.is_empty(), &cron_jobs, &params),
    );
    let (deployments, stateful_sets, pods, ingresses, claims, kube_jobs, cron_jobs) = lists;
    let action = |what: &str| format!("list the {what} of {} in namespace {ns}", target.app);
    let deployments = deployments.map_err(request(action("Deployments")))?;
    let stateful_sets = stateful_sets.map_err(request(action("StatefulSets")))?;
    let pods = pods.map_err(request(action("pods")))?;
    let ingresses = ingresses.map_err(request(action("Ingresses")))?;
    let claims = claims?;
    let kube_jobs = kube_jobs.map_err(request(action("Jobs")))?;
    let cron_jobs = cron_jobs.map_err(request(action("CronJobs")))?;
    let mut by_sub: BTreeMap<String, Vec<ReplicaStatus>> = BTreeMap::new();
    // A job's pods are its runs' attempts, reported with the job.
    for pod in pods
        .items
        .iter()
        .filter(|p| job_name(&p.metadata).is_none())
    {
        let Some(sub) = pod.metadata.labels.as_ref().and_then(|l| l.get(NAME)) else {
            continue;
        };
        let mut replica = replica(pod);
        replica.volumes = volumes(pod, &claims);
        by_sub.entry(sub.clone()).or_default().push(replica);
    }
    let count = |n: Option<i32>| u32::try_from(n.unwrap_or(0)).unwrap_or(0);
    let mut subs = Vec::new();
    // Deployments and StatefulSets report their rollout in the same fields.
    let deployments = deployments.items.iter().map(|d| {
        let status = d.status.clone().unwrap_or_default();
        let counts = [
            status.ready_replicas,
            status.updated_replicas,
            status.available_replicas,
        ];
        (
            &d.metadata,
            d.spec.as_ref().map(|s| (&s.template, s.replicas)),
            counts,
        )
    });
    let stateful_sets = stateful_sets.items.iter().map(|set| {
        let status = set.status.clone().unwrap_or_default();
        let counts = [
            status.ready_replicas,
            status.updated_replicas,
            status.available_replicas,
        ];
        (
            &set.metadata,
            set.spec.as_ref().map(|s| (&s.template, s.replicas)),
            counts,
        )
    });
    for (meta, spec, [ready, updated, available]) in deployments.chain(stateful_sets) {
        let name = meta.name.clone().unwrap_or_default();
        subs.push(SubStatus {
            address: service_address(&name, spec.map(|(template, _)| template)),
            desired: count(spec.and_then(|(_, replicas)| replicas)),
            ready: count(ready),
            updated: Some(count(updated)),
            available: Some(count(available)),
            replicas: replicas_of(&mut by_sub, &name),
            name,
        });
    }
    subs.sort_by(|a, b| a.name.cmp(&b.name));
    let endpoints = ingresses.items.iter().flat_map(ingress_addresses).collect();
    Ok(AppStatus {
        app: target.app.clone(),
        runtime: Runtime::Kubernetes,
        subs,
        jobs: job_statuses(
            jobs,
            &kube_jobs,
            &cron_jobs,
            &pods.items,
            k8s_openapi::jiff::Timestamp::now(),
        ),
        endpoints,
    })
}

/// The objects of `api` that `params` selects when `wanted`, else none (and no request).
async fn list_if<K>(wanted: bool, api: &Api<K>, params: &ListParams) -> Result<Vec<K>, kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if !wanted {
        return Ok(Vec::new());
    }
    Ok(api.list(params).await?.items)
}

/// The pods of sub `name`, sorted by name.
fn replicas_of(
    by_sub: &mut BTreeMap<String, Vec<ReplicaStatus>>,
    name: &str,
) -> Vec<ReplicaStatus> {
    let mut replicas = by_sub.remove(name).unwrap_or_default();
    replicas.sort_by(|a, b| a.name.cmp(&b.name));
    replicas
}

/// `sub:port`, the address other subs use, when the sub's container has a port.
fn service_address(name: &str, template: Option<&PodTemplateSpec>) -> Option<String> {
    let port = template?
        .spec
        .as_ref()?
        .containers
        .first()?
        .ports
        .as_ref()?
        .first()?
        .container_port;
    Some(format!("{name}:{port}"))
}

/// `http(s)://host/path → address` for each rule of an Ingress.
fn ingress_addresses(ingress: &Ingress) -> Vec<String> {
    let addresses: Vec<String> = ingress
        .status
        .iter()
        .filter_map(|s| s.load_balancer.as_ref())
        .flat_map(|lb| lb.ingress.iter().flatten())
        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
        .collect();
    let spec = ingress.spec.clone().unwrap_or_default();
    let scheme = if spec.tls.as_ref().is_some_and(|t| !t.is_empty()) {
        "https"
    } else {
        "http"
    };
    let mut out = Vec::new();
    for rule in spec.rules.iter().flatten() {
        let host = rule.host.clone().unwrap_or_else(|| "*".to_owned());
        for path in rule.http.iter().flat_map(|h| &h.paths) {
            let path = path.path.clone().unwrap_or_else(|| "/".to_owned());
            let via = if addresses.is_empty() {
                " (no address yet)".to_owned()
            } else {
                format!(" ({})", addresses.join(", "))
            };
            out.push(format!("{scheme}://{host}{path}{via}"));
        }
    }
    out
}

/// One pod as a replica.
fn replica(pod: &Pod) -> ReplicaStatus {
    let status = pod.status.clone().unwrap_or_default();
    let containers = status.container_statuses.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let restarts = containers
        .iter()
        .map(|c| u32::try_from(c.restart_count).unwrap_or(0))
        .sum();
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let reason = waiting_reason(pod);
    let running = status.phase.as_deref() == Some("Running");
    let state = match status.phase.as_deref() {
        _ if terminating => ReplicaState::Stopping,
        _ if reason.as_deref() == Some("CrashLoopBackOff") => ReplicaState::Backoff,
        Some("Running") if ready => ReplicaState::Healthy,
        Some("Running") => ReplicaState::Starting,
        Some("Succeeded" | "Failed") => ReplicaState::Exited,
        _ => ReplicaState::Pending,
    };
    let last_exit = containers.iter().find_map(|c| {
        c.last_state
            .as_ref()?
            .terminated
            .as_ref()
            .map(|t| t.exit_code)
    });
    let uptime = status
        .start_time
        .as_ref()
        .filter(|_| running)
        .and_then(|t| {
            let age = jiff_age(&t.0);
            (age >= 0.0).then(|| std::time::Duration::from_secs_f64(age))
        });
    ReplicaStatus {
        name: pod.metadata.name.clone().unwrap_or_default(),
        state,
        ready,
        restarts,
        uptime,
        pid: None,
        port: None,
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        reason,
        last_exit,
        volumes: Vec::new(),
    }
}

/// The volumes of a stateful sub's pod: each claim it mounts (the StatefulSet controller
/// names the pod's volume after the claim template, that is after the app file's volume),
/// with the capacity of the volume bound to it.
fn volumes(pod: &Pod, claims: &[Claim]) -> Vec<VolumeStatus> {
    let mounted = pod
        .spec
        .iter()
        .flat_map(|spec| spec.volumes.iter().flatten())
        .filter_map(|v| Some((&v.name, &v.persistent_volume_claim.as_ref()?.claim_name)));
    mounted
        .map(|(name, claim_name)| {
            // A user who may not list claims still sees which claim each volume is.
            let claim = claims.iter().find(|c| &c.name == claim_name);
            VolumeStatus {
                name: name.clone(),
                path: claim_name.clone(),
                bytes: claim
                    .filter(|c| c.is_bound())
                    .and_then(|c| Quantity::parse(c.size.as_deref()?).ok())
                    .map(|q| bytes(q.value())),
                bound: claim.map(Claim::is_bound),
                at_least: false,
            }
        })
        .collect()
}

/// A whole number of bytes from a quantity's value.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn bytes(value: f64) -> u64 {
    // Capacities are whole, non-negative byte counts; `as` saturates anything else.
    value.round() as u64
}

fn jiff_age(time: &k8s_openapi::jiff::Timestamp) -> f64 {
    k8s_openapi::jiff::Timestamp::now()
        .duration_since(*time)
        .as_secs_f64()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claim(name: &str, phase: &str, size: &str) -> Claim {
        Claim {
            name: name.to_owned(),
            uid: format!("uid-{name}"),
            sub: "redis".to_owned(),
            replica: None,
            ordinal: None,
            phase: phase.to_owned(),
            storage_class: None,
            size: Some(size.to_owned()),
        }
    }

    #[test]
    fn a_stateful_replica_lists_its_claims_with_the_bound_capacity() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "redis-0"},
            "spec": {"containers": [], "volumes": [
                {"name": "tmp", "emptyDir": {}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-redis-0"}},
                {"name": "logs", "persistentVolumeClaim": {"claimName": "logs-redis-0"}},
                {"name": "cache", "persistentVolumeClaim": {"claimName": "cache-redis-0"}},
            ]},
        }))
        .unwrap();
        let claims = [
            claim("data-redis-0", "Bound", "1Gi"),
            claim("logs-redis-0", "Pending", "2Gi"),
        ];
        let volume = |name: &str, path: &str, bytes, bound| VolumeStatus {
            name: name.to_owned(),
            path: path.to_owned(),
            bytes,
            bound,
            at_least: false,
        };
        assert_eq!(
            volumes(&pod, &claims),
            [
                volume("data", "data-redis-0", Some(1_073_741_824), Some(true)),
                // Not bound: no capacity yet, whatever the claim asked for.
                volume("logs", "logs-redis-0", None, Some(false)),
                // Not listed (claims may not be listable): the claim's name still shows.
                volume("cache", "cache-redis-0", None, None),
            ]
        );
    }
}
