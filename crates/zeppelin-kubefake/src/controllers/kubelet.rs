//! A kubelet stand-in: places pods on its one node once every claim they mount is Bound (as
//! the scheduler would; until then they stay Pending and unschedulable), moves them from
//! Pending to Running to Ready after the configured delays, keeps pods whose image carries the pull-failure marker in `ImagePullBackOff` and
//! those whose image carries the crash marker in `CrashLoopBackOff`, runs a Job's pods to
//! completion (see `completion`), writes container logs and records the Events a real kubelet
//! would.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde_json::{Value, json};

use super::completion::{self, Exit};
use super::{Kinds, claims, events, meta, write_status, writer};
use crate::server::Shared;
use crate::store;

const KUBELET: &str = "kubelet";
const SCHEDULER: &str = "default-scheduler";
const NODE: &str = "zeppelin-kubefake";

/// What the kubelet remembers about one pod (by uid).
struct Tracked {
    namespace: String,
    name: String,
    seen: Instant,
    created_at: String,
    running_at: Option<String>,
    ready_at: Option<String>,
    restarts: u64,
    last_crash: Option<String>,
    pod_ip: String,
    container_id: String,
    reported_pull_failure: bool,
    /// How the containers ended, for a pod that runs to completion.
    exit: Option<Exit>,
}

/// The kubelet's memory of pods across ticks.
#[derive(Default)]
pub(super) struct Kubelet {
    pods: HashMap<String, Tracked>,
    /// Pods (by uid) already reported as unschedulable.
    unschedulable: HashSet<String>,
    next_ip: u32,
}

enum Trouble {
    PullFailure(String),
    Crash(String),
}

impl Kubelet {
    pub(super) fn reconcile_all(&mut self, shared: &Shared, kinds: Kinds) {
        let pods = shared.store.all(kinds.pods);
        let live: HashSet<&str> = pods.iter().map(|p| meta(p, "uid")).collect();
        self.pods.retain(|uid, tracked| {
            let present = live.contains(uid.as_str());
            if !present {
                shared.logs.forget(&tracked.namespace, &tracked.name);
            }
            present
        });
        self.unschedulable.retain(|uid| live.contains(uid.as_str()));
        for pod in pods {
            self.reconcile(shared, kinds, &pod);
        }
    }

    fn trouble(shared: &Shared, containers: &[Value]) -> Option<Trouble> {
        let config = &shared.config;
        containers.iter().find_map(|c| {
            let image = c["image"].as_str().unwrap_or_default();
            let name = c["name"].as_str().unwrap_or_default().to_owned();
            if !config.image_pull_failure_marker.is_empty()
                && image.contains(&config.image_pull_failure_marker)
            {
                Some(Trouble::PullFailure(name))
            } else if !config.crash_marker.is_empty() && image.contains(&config.crash_marker) {
                Some(Trouble::Crash(name))
            } else {
                None
            }
        })
    }

    fn reconcile(&mut self, shared: &Shared, kinds: Kinds, pod: &Value) {
        let config = &shared.config;
        let uid = meta(pod, "uid").to_owned();
        let (namespace, name) = (meta(pod, "namespace"), meta(pod, "name"));
        let events = Recorder { shared, kinds, pod };
        let containers: Vec<Value> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !self.pods.contains_key(&uid) {
            if let Some(claim) = unbound_claim(shared, kinds, pod) {
                let report = claim.stuck && self.unschedulable.insert(uid);
                hold(shared, kinds, pod, &claim, report);
                return;
            }
            if pod.pointer("/spec/nodeName").is_none() {
                // A pod deleted meanwhile needs no node.
                let _ = shared.store.modify(
                    kinds.pods,
                    namespace,
                    name,
                    &writer(SCHEDULER, false),
                    |p| p["spec"]["nodeName"] = json!(NODE),
                );
            }
            self.next_ip += 1;
            let message = format!("Successfully assigned {namespace}/{name} to {NODE}");
            events::record(
                shared,
                kinds,
                pod,
                "Normal",
                "Scheduled",
                &message,
                SCHEDULER,
            );
        }
        let next_ip = self.next_ip;
        let tracked = self.pods.entry(uid).or_insert_with(|| Tracked {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            seen: Instant::now(),
            created_at: store::now(),
            running_at: None,
            ready_at: None,
            restarts: 0,
            last_crash: None,
            pod_ip: format!("10.244.{}.{}", next_ip / 250, next_ip % 250 + 1),
            container_id: store::name_suffix(12),
            reported_pull_failure: false,
            exit: None,
        });
        let elapsed = tracked.seen.elapsed();
        let trouble = Self::trouble(shared, &containers);
        if let Some(Trouble::PullFailure(bad)) = &trouble {
            if !tracked.reported_pull_failure {
                tracked.reported_pull_failure = true;
                report_pull_failure(&events, &containers, bad);
            }
        } else if elapsed >= config.pod_start_delay && tracked.running_at.is_none() {
            tracked.running_at = Some(store::now());
            start_containers(&events, &containers);
        }
        let ends = completion::runs_to_completion(pod);
        if let (Some(Trouble::Crash(bad)), Some(_)) = (&trouble, &tracked.running_at)
            && ends
            && completion::never_restarts(pod)
        {
            if tracked.exit.is_none() {
                events.log(
                    bad,
                    &format!("fatal: container {bad} exited with code 1 (simulated crash)"),
                );
                tracked.exit = Some(Exit {
                    code: 1,
                    at: store::now(),
                });
            }
        } else if let (Some(Trouble::Crash(bad)), Some(_)) = (&trouble, &tracked.running_at) {
            let since_start = elapsed.saturating_sub(config.pod_start_delay);
            let interval = config
                .crash_restart_interval
                .max(crate::server::MIN_INTERVAL);
            let crashes = u64::try_from(since_start.as_millis() / interval.as_millis())
                .unwrap_or(u64::MAX)
                + 1;
            while tracked.restarts < crashes {
                tracked.restarts += 1;
                tracked.last_crash = Some(store::now());
                crash(&events, bad, tracked.restarts);
            }
        }
        if tracked.running_at.is_some()
            && trouble.is_none()
            && tracked.ready_at.is_none()
            && elapsed >= config.pod_start_delay + config.pod_ready_delay
        {
            tracked.ready_at = Some(store::now());
        }
        if ends
            && trouble.is_none()
            && tracked.running_at.is_some()
            && tracked.exit.is_none()
            && elapsed >= config.pod_start_delay + config.job_run_time
        {
            for c in &containers {
                let name = c["name"].as_str().unwrap_or_default();
                events.log(
                    name,
                    &format!("zeppelin-kubefake: container {name} completed (exit code 0)"),
                );
            }
            tracked.exit = Some(Exit {
                code: 0,
                at: store::now(),
            });
        }
        let mut status = status(tracked, &containers, trouble.as_ref());
        if let Some(exit) = &tracked.exit {
            completion::finish(&mut status, exit);
        }
        write_status(shared, kinds.pods, pod, KUBELET, status);
    }
}

/// A claim a pod mounts that is not Bound.
struct Unbound {
    /// What the scheduler says about it.
    reason: String,
    /// True when it will not bind by itself: missing, or its provisioning failed.
    stuck: bool,
}

/// The first claim `pod` mounts that is not Bound, if any.
fn unbound_claim(shared: &Shared, kinds: Kinds, pod: &Value) -> Option<Unbound> {
    let namespace = meta(pod, "namespace");
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName")?.as_str())
        .find_map(|name| match shared.store.get(kinds.claims, namespace, name) {
            Err(_) => Some(Unbound {
                reason: format!("persistentvolumeclaim \"{name}\" not found"),
                stuck: true,
            }),
            Ok(claim) if !claims::is_bound(&claim) => Some(Unbound {
                reason: format!(
                    "pod has unbound immediate PersistentVolumeClaims (persistentvolumeclaim \"{name}\" is Pending)"
                ),
                stuck: claims::cannot_provision(shared, &claim),
            }),
            Ok(_) => None,
        })
}

/// Keeps a pod whose claims are not Bound Pending and unschedulable, with a
/// `FailedScheduling` event when `report` is set.
fn hold(shared: &Shared, kinds: Kinds, pod: &Value, claim: &Unbound, report: bool) {
    let message = format!(
        "0/1 nodes are available: {}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        claim.reason
    );
    if report {
        events::record(
            shared,
            kinds,
            pod,
            "Warning",
            "FailedScheduling",
            &message,
            SCHEDULER,
        );
    }
    let status = json!({
        "phase": "Pending",
        "conditions": [{
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastTransitionTime": pod["metadata"]["creationTimestamp"],
        }],
        "qosClass": "BestEffort",
    });
    write_status(shared, kinds.pods, pod, SCHEDULER, status);
}

/// Records the kubelet's events about one pod and writes its containers' logs.
struct Recorder<'a> {
    shared: &'a Shared,
    kinds: Kinds,
    pod: &'a Value,
}

impl Recorder<'_> {
    fn event(&self, kind: &str, reason: &str, message: &str) {
        events::record(
            self.shared,
            self.kinds,
            self.pod,
            kind,
            reason,
            message,
            KUBELET,
        );
    }

    fn log(&self, container: &str, line: &str) {
        self.shared.logs.write(
            meta(self.pod, "namespace"),
            meta(self.pod, "name"),
            container,
            line,
        );
    }
}

fn report_pull_failure(events: &Recorder<'_>, containers: &[Value], bad: &str) {
    let image = containers
        .iter()
        .find(|c| c["name"] == json!(bad))
        .and_then(|c| c["image"].as_str())
        .unwrap_or_default();
    events.event("Normal", "Pulling", &format!("Pulling image \"{image}\""));
    events.event(
        "Warning",
        "Failed",
        &format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"),
    );
    events.event("Warning", "Failed", "Error: ErrImagePull");
    events.event(
        "Normal",
        "BackOff",
        &format!("Back-off pulling image \"{image}\""),
    );
    events.event("Warning", "Failed", "Error: ImagePullBackOff");
}

fn start_containers(events: &Recorder<'_>, containers: &[Value]) {
    for c in containers {
        let (name, image) = (
            c["name"].as_str().unwrap_or_default(),
            c["image"].as_str().unwrap_or_default(),
        );
        events.event(
            "Normal",
            "Pulled",
            &format!("Container image \"{image}\" already present on machine"),
        );
        events.event("Normal", "Created", &format!("Created container: {name}"));
        events.event("Normal", "Started", &format!("Started container {name}"));
        events.log(
            name,
            &format!("zeppelin-kubefake: started container {name} (image {image})"),
        );
    }
}

fn crash(events: &Recorder<'_>, container: &str, attempt: u64) {
    events.log(
        container,
        &format!(
            "fatal: container {container} exited with code 1 (simulated crash, attempt {attempt})"
        ),
    );
    if attempt == 1 {
        let pod = meta(events.pod, "name");
        events.event(
            "Warning",
            "BackOff",
            &format!("Back-off restarting failed container {container} in pod {pod}"),
        );
    }
}

fn condition(kind: &str, ok: bool, since: &str) -> Value {
    json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastTransitionTime": since})
}

fn status(tracked: &Tracked, containers: &[Value], trouble: Option<&Trouble>) -> Value {
    let ready = tracked.ready_at.is_some();
    let running = tracked.running_at.is_some() && !matches!(trouble, Some(Trouble::PullFailure(_)));
    let since = tracked
        .ready_at
        .as_deref()
        .or(tracked.running_at.as_deref())
        .unwrap_or(&tracked.created_at);
    let container_statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            let cname = c["name"].as_str().unwrap_or_default();
            let image = c["image"].as_str().unwrap_or_default();
            let mut entry = json!({
                "name": cname,
                "image": image,
                "imageID": "",
                "ready": ready,
                "restartCount": 0,
                "started": running,
            });
            entry["state"] = match trouble {
                Some(Trouble::PullFailure(bad)) if bad == cname => {
                    json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}})
                }
                Some(Trouble::Crash(bad)) if bad == cname && running => {
                    entry["restartCount"] = json!(tracked.restarts);
                    entry["started"] = json!(false);
                    entry["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": tracked.last_crash}});
                    json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off restarting failed container={cname}")}})
                }
                _ if running => json!({"running": {"startedAt": tracked.running_at}}),
                _ => json!({"waiting": {"reason": "ContainerCreating"}}),
            };
            if running {
                entry["containerID"] = json!(format!("containerd://{}-{cname}", tracked.container_id));
                entry["imageID"] = json!(format!("{image}@sha256:0000"));
            }
            entry
        })
        .collect();
    let mut status = json!({
        "phase": if running { "Running" } else { "Pending" },
        "conditions": [
            condition("PodScheduled", true, &tracked.created_at),
            condition("Initialized", true, &tracked.created_at),
            condition("ContainersReady", ready, since),
            condition("Ready", ready, since),
        ],
        "hostIP": "127.0.0.1",
        "podIP": tracked.pod_ip,
        "podIPs": [{"ip": tracked.pod_ip}],
        "startTime": tracked.created_at,
        "containerStatuses": container_statuses,
        "qosClass": "BestEffort",
    });
    if !running {
        status
            .as_object_mut()
            .expect("built as an object")
            .remove("podIP");
    }
    status
}
