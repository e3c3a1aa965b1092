//! Network policies: every pod of the app is denied all traffic in and out, then allowed
//! exactly what the app file says it needs.
//!
//! - `<app>-default-deny`: no ingress, no egress for every pod of the app.
//! - `<app>-dns`: egress to the cluster DNS (`k8s-app: kube-dns` in `kube-system`).
//! - `<sub>`, one per sub: ingress from the subs that `depends_on` it, and from the ingress
//!   controller when a route points at it, on its port; egress to the subs it `depends_on`,
//!   on their ports, and to the `[kubernetes.sub.NAME] egress` blocks. A stateful sub with
//!   two or more replicas also lets its replicas reach each other on its port, both ways:
//!   each replica keeps its own data, so replicas that share it (replication, peers) must
//!   talk. A job that `depends_on` a sub counts among its dependents.
//! - `<job>`, one per job: no ingress (a job serves nothing); egress to the subs it
//!   `depends_on`, on their ports (and to the cluster DNS, through `<app>-dns`).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zeppelin_core::model::Job;
use zeppelin_core::{App, Sub};

use crate::render::app_wide::meta;
use crate::render::labels::{annotations, app_pod_selector, job_labels, selector};
use crate::render::service::sub_meta;
use crate::render::workload::replicas;

/// The label every namespace carries with its own name (set by the API server).
const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

pub(crate) fn policies(app: &App) -> Vec<NetworkPolicy> {
    let mut policies = vec![default_deny(app), dns(app)];
    policies.extend(app.subs.values().map(|sub| sub_policy(app, sub)));
    policies.extend(app.jobs.values().map(|job| job_policy(app, job)));
    policies
}

/// A job's pods reach the subs it depends on, and nothing reaches them.
fn job_policy(app: &App, job: &Job) -> NetworkPolicy {
    let egress = egress_to(app, &job.depends_on);
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(job.name.clone()),
            namespace: Some(app.namespace().to_owned()),
            labels: Some(job_labels(app, &job.name)),
            annotations: annotations(app),
            ..ObjectMeta::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(matching(selector(app, &job.name))),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: None,
            egress: (!egress.is_empty()).then_some(egress),
        }),
    }
}

/// Egress to each of `deps` that has a port, on that port.
fn egress_to(app: &App, deps: &[String]) -> Vec<NetworkPolicyEgressRule> {
    deps.iter()
        .filter_map(|dep| {
            let port = app.subs.get(dep)?.port?;
            Some(NetworkPolicyEgressRule {
                to: Some(vec![pods(selector(app, dep))]),
                ports: Some(vec![tcp(port)]),
            })
        })
        .collect()
}

fn default_deny(app: &App) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta(app, format!("{}-default-deny", app.name)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(matching(app_pod_selector(app))),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: None,
            egress: None,
        }),
    }
}

fn dns(app: &App) -> NetworkPolicy {
    let port = |protocol: &str| NetworkPolicyPort {
        port: Some(IntOrString::Int(53)),
        protocol: Some(protocol.to_owned()),
        end_port: None,
    };
    NetworkPolicy {
        metadata: meta(app, format!("{}-dns", app.name)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(matching(app_pod_selector(app))),
            policy_types: Some(vec!["Egress".to_owned()]),
            egress: Some(vec![NetworkPolicyEgressRule {
                to: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(matching(BTreeMap::from([(
                        NAMESPACE_NAME.to_owned(),
                        "kube-system".to_owned(),
                    )]))),
                    pod_selector: Some(matching(BTreeMap::from([(
                        "k8s-app".to_owned(),
                        "kube-dns".to_owned(),
                    )]))),
                    ip_block: None,
                }]),
                ports: Some(vec![port("UDP"), port("TCP")]),
            }]),
            ingress: None,
        }),
    }
}

fn sub_policy(app: &App, sub: &Sub) -> NetworkPolicy {
    let mut ingress = Vec::new();
    let peers = sub
        .port
        .filter(|_| sub.is_stateful() && replicas(app, sub).is_some_and(|n| n >= 2));
    if let Some(port) = sub.port {
        let subs = app
            .subs
            .values()
            .filter(|other| other.depends_on.contains(&sub.name))
            .map(|other| &other.name);
        let jobs = app
            .jobs
            .values()
            .filter(|job| job.depends_on.contains(&sub.name))
            .map(|job| &job.name);
        let dependents: Vec<NetworkPolicyPeer> = subs
            .chain(jobs)
            .map(|name| pods(selector(app, name)))
            .collect();
        if !dependents.is_empty() {
            ingress.push(NetworkPolicyIngressRule {
                from: Some(dependents),
                ports: Some(vec![tcp(port)]),
            });
        }
        if app.routes.iter().any(|route| route.sub == sub.name) {
            let controller = &app.kubernetes.ingress_controller;
            ingress.push(NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(matching(BTreeMap::from([(
                        NAMESPACE_NAME.to_owned(),
                        controller.namespace.clone(),
                    )]))),
                    pod_selector: Some(matching(controller.pod_labels.clone())),
                    ip_block: None,
                }]),
                ports: Some(vec![tcp(port)]),
            });
        }
    }
    if let Some(port) = peers {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![pods(selector(app, &sub.name))]),
            ports: Some(vec![tcp(port)]),
        });
    }
    let mut egress = egress_to(app, &sub.depends_on);
    if let Some(port) = peers {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![pods(selector(app, &sub.name))]),
            ports: Some(vec![tcp(port)]),
        });
    }
    if let Some(kube) = app.kubernetes.subs.get(&sub.name) {
        egress.extend(kube.egress.iter().map(|e| NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                ip_block: Some(IPBlock {
                    cidr: e.cidr.clone(),
                    except: None,
                }),
                ..NetworkPolicyPeer::default()
            }]),
            ports: (!e.ports.is_empty()).then(|| e.ports.iter().copied().map(tcp).collect()),
        }));
    }
    NetworkPolicy {
        metadata: sub_meta(app, sub),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(matching(selector(app, &sub.name))),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: (!ingress.is_empty()).then_some(ingress),
            egress: (!egress.is_empty()).then_some(egress),
        }),
    }
}

fn matching(labels: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels),
        match_expressions: None,
    }
}

/// Pods of this namespace with these labels.
fn pods(labels: BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(matching(labels)),
        ..NetworkPolicyPeer::default()
    }
}

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".to_owned()),
        end_port: None,
    }
}
