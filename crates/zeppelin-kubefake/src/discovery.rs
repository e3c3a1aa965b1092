//! Discovery documents: `/version`, `/api`, `/apis` and the resource list of each group
//! version, which kubectl and kube-rs read to map kinds to URLs.
//!
//! Clients that ask for aggregated discovery (`apidiscovery.k8s.io/v2`: kubectl 1.32,
//! kube-rs `Discovery::run_aggregated`) get it from `/api` and `/apis`; the others get the
//! legacy `APIGroupList` and per-group-version `APIResourceList`.

use serde_json::{Value, json};

use crate::resources::{self, RESOURCES, Resource};

pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-zeppelin-kubefake",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group(name: &str, version: &str) -> Value {
    let group_version = json!({"groupVersion": format!("{name}/{version}"), "version": version});
    json!({"name": name, "versions": [group_version.clone()], "preferredVersion": group_version})
}

pub(crate) fn group_list() -> Value {
    let groups: Vec<Value> = resources::groups()
        .into_iter()
        .map(|(g, v)| group(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// The `APIGroup` document of one group, if served.
pub(crate) fn api_group(name: &str) -> Option<Value> {
    let (g, v) = resources::groups().into_iter().find(|(g, _)| *g == name)?;
    let mut document = group(g, v);
    document["kind"] = json!("APIGroup");
    document["apiVersion"] = json!("v1");
    Some(document)
}

fn entry(resource: &Resource) -> Vec<Value> {
    // Every kind is served `deletecollection` (DELETE on the collection), so every kind lists it.
    let verbs = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    let in_all = matches!(
        resource.kind,
        "Pod"
            | "Service"
            | "Deployment"
            | "ReplicaSet"
            | "StatefulSet"
            | "Job"
            | "CronJob"
            | "HorizontalPodAutoscaler"
    );
    let categories: &[&str] = if in_all { &["all"] } else { &[] };
    let mut entries = vec![json!({
        "name": resource.plural,
        "categories": categories,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": verbs,
        "shortNames": resource.short_names,
        "storageVersionHash": "",
    })];
    if resource.status {
        entries.push(json!({
            "name": format!("{}/status", resource.plural),
            "singularName": "",
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": ["get", "patch", "update"],
        }));
    }
    if resource.scale {
        entries.push(json!({
            "name": format!("{}/scale", resource.plural),
            "singularName": "",
            "namespaced": resource.namespaced,
            "group": "autoscaling",
            "version": "v1",
            "kind": "Scale",
            "verbs": ["get", "patch", "update"],
        }));
    }
    if resource.kind == "Pod" {
        entries.push(json!({
            "name": "pods/log",
            "singularName": "",
            "namespaced": true,
            "kind": "Pod",
            "verbs": ["get"],
        }));
    }
    entries
}

/// The `APIResourceList` of a group version, if served.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    let entries: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .flat_map(entry)
        .collect();
    if entries.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }))
}

/// The `Accept` value clients send for aggregated discovery, and its response content type.
pub(crate) const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// True if the `Accept` header asks for aggregated discovery (`apidiscovery.k8s.io/v2`).
pub(crate) fn wants_aggregated(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=APIGroupDiscoveryList") && first.contains("v=v2;"))
}

fn aggregated_resource(resource: &Resource) -> Value {
    let kind = |group: &str, version: &str, kind: &str| json!({"group": group, "version": version, "kind": kind});
    let own = kind(resource.group, resource.version, resource.kind);
    let mut subresources = Vec::new();
    if resource.status {
        subresources.push(json!({"subresource": "status", "responseKind": own, "verbs": ["get", "patch", "update"]}));
    }
    if resource.scale {
        subresources.push(json!({"subresource": "scale", "responseKind": kind("autoscaling", "v1", "Scale"), "verbs": ["get", "patch", "update"]}));
    }
    if resource.kind == "Pod" {
        subresources.push(
            json!({"subresource": "log", "responseKind": kind("", "v1", "Pod"), "verbs": ["get"]}),
        );
    }
    let legacy = entry(resource).remove(0);
    json!({
        "resource": resource.plural,
        "responseKind": own,
        "scope": if resource.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": resource.singular,
        "verbs": legacy["verbs"],
        "shortNames": resource.short_names,
        "categories": legacy["categories"],
        "subresources": subresources,
    })
}

/// The aggregated discovery document of `/api` (`core`) or `/apis`.
pub(crate) fn aggregated(core: bool) -> Value {
    let groups: Vec<(&str, &str)> = if core {
        vec![("", "v1")]
    } else {
        resources::groups()
    };
    let items: Vec<Value> = groups
        .into_iter()
        .map(|(group, version)| {
            let resources: Vec<Value> = RESOURCES
                .iter()
                .filter(|r| r.group == group && r.version == version)
                .map(aggregated_resource)
                .collect();
            json!({
                "metadata": {"name": group},
                "versions": [{"version": version, "resources": resources, "freshness": "Current"}],
            })
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}
