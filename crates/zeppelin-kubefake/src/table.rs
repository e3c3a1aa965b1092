//! Server-side printing: the `meta.k8s.io/v1` Table that `kubectl get` asks for, with the
//! columns the real server prints for each kind (READY, UP-TO-DATE, STATUS, RESTARTS...).

mod batch;

use serde_json::{Value, json};

use crate::resources::Resource;

/// True if the `Accept` header asks for a Table.
pub(crate) fn wanted(accept: &str) -> bool {
    accept.contains("as=Table")
}

fn columns(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "Deployment" => &[
            ("Name", "string"),
            ("Ready", "string"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
            ("Age", "string"),
        ],
        "ReplicaSet" => &[
            ("Name", "string"),
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
            ("Age", "string"),
        ],
        "StatefulSet" => &[
            ("Name", "string"),
            ("Ready", "string"),
            ("Age", "string"),
            ("Containers", "string"),
            ("Images", "string"),
        ],
        "Job" => batch::JOB_COLUMNS,
        "CronJob" => batch::CRON_JOB_COLUMNS,
        "ControllerRevision" => &[
            ("Name", "string"),
            ("Controller", "string"),
            ("Revision", "integer"),
            ("Age", "string"),
        ],
        "PersistentVolumeClaim" => &[
            ("Name", "string"),
            ("Status", "string"),
            ("Volume", "string"),
            ("Capacity", "string"),
            ("Access Modes", "string"),
            ("StorageClass", "string"),
            ("VolumeAttributesClass", "string"),
            ("Age", "string"),
            ("VolumeMode", "string"),
        ],
        "Pod" => &[
            ("Name", "string"),
            ("Ready", "string"),
            ("Status", "string"),
            ("Restarts", "string"),
            ("Age", "string"),
            ("IP", "string"),
            ("Node", "string"),
        ],
        "Service" => &[
            ("Name", "string"),
            ("Type", "string"),
            ("Cluster-IP", "string"),
            ("External-IP", "string"),
            ("Port(s)", "string"),
            ("Age", "string"),
        ],
        "Namespace" => &[("Name", "string"), ("Status", "string"), ("Age", "string")],
        "ConfigMap" => &[("Name", "string"), ("Data", "integer"), ("Age", "string")],
        "Secret" => &[
            ("Name", "string"),
            ("Type", "string"),
            ("Data", "integer"),
            ("Age", "string"),
        ],
        "Event" => &[
            ("Last Seen", "string"),
            ("Type", "string"),
            ("Reason", "string"),
            ("Object", "string"),
            ("Message", "string"),
        ],
        "HorizontalPodAutoscaler" => &[
            ("Name", "string"),
            ("Reference", "string"),
            ("MinPods", "integer"),
            ("MaxPods", "integer"),
            ("Replicas", "integer"),
            ("Age", "string"),
        ],
        "PodDisruptionBudget" => &[
            ("Name", "string"),
            ("Min Available", "string"),
            ("Max Unavailable", "string"),
            ("Allowed Disruptions", "integer"),
            ("Age", "string"),
        ],
        "Ingress" => &[
            ("Name", "string"),
            ("Class", "string"),
            ("Hosts", "string"),
            ("Address", "string"),
            ("Ports", "string"),
            ("Age", "string"),
        ],
        _ => &[("Name", "string"), ("Age", "string")],
    }
}

/// `kubectl`'s short ages: `42s`, `3m12s`, `45m`, `5h10m`, `20h`, `3d`.
fn age(timestamp: &Value) -> String {
    let Some(then) = timestamp
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    else {
        return "<unknown>".to_owned();
    };
    let secs = jiff::Timestamp::now().duration_since(then).as_secs().max(0);
    let (m, h) = (secs / 60, secs / 3600);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{m}m{}s", s % 60),
        s if s < 3 * 3600 => format!("{m}m"),
        s if s < 8 * 3600 => format!("{h}h{}m", m % 60),
        s if s < 48 * 3600 => format!("{h}h"),
        _ => format!("{}d", h / 24),
    }
}

/// The unsigned integer at `pointer`; 0 if missing.
pub(crate) fn int(object: &Value, pointer: &str) -> u64 {
    object.pointer(pointer).and_then(Value::as_u64).unwrap_or(0)
}

/// The container names and images of a pod spec, each comma-separated, as the wide
/// columns of workloads show them.
fn container_fields(pod_spec: Option<&Value>) -> [String; 2] {
    let containers = pod_spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    ["/name", "/image"].map(|field| {
        containers
            .iter()
            .map(|c| text(c, field, ""))
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn text(object: &Value, pointer: &str, missing: &str) -> String {
    match object.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => missing.to_owned(),
        Some(other) => other.to_string(),
    }
}

fn pod_status(pod: &Value) -> String {
    let reason = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|c| {
            c.pointer("/state/waiting/reason")
                .or_else(|| c.pointer("/state/terminated/reason"))
                .and_then(Value::as_str)
        });
    match reason {
        Some(reason) => reason.to_owned(),
        None => text(pod, "/status/phase", "Pending"),
    }
}

/// A claim's bound access modes as kubectl abbreviates them (`RWO`, `ROX`, `RWX`, `RWOP`).
fn access_modes(claim: &Value) -> String {
    claim
        .pointer("/status/accessModes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|mode| match mode {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn cells(kind: &str, object: &Value) -> Vec<Value> {
    let name = text(object, "/metadata/name", "");
    let created = age(&object["metadata"]["creationTimestamp"]);
    match kind {
        "Deployment" => {
            let ready = format!(
                "{}/{}",
                int(object, "/status/readyReplicas"),
                int(object, "/spec/replicas")
            );
            vec![
                json!(name),
                json!(ready),
                json!(int(object, "/status/updatedReplicas")),
                json!(int(object, "/status/availableReplicas")),
                json!(created),
            ]
        }
        "StatefulSet" => {
            let ready = format!(
                "{}/{}",
                int(object, "/status/readyReplicas"),
                int(object, "/spec/replicas")
            );
            let [names, images] = container_fields(object.pointer("/spec/template/spec"));
            vec![
                json!(name),
                json!(ready),
                json!(created),
                json!(names),
                json!(images),
            ]
        }
        "Job" => batch::job_cells(object, &name, &created),
        "CronJob" => batch::cron_job_cells(object, &name, &created),
        "ControllerRevision" => {
            let controller = object
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .and_then(|refs| refs.iter().find(|r| r["controller"] == json!(true)))
                .map_or_else(
                    || "<none>".to_owned(),
                    |r| {
                        let group = text(r, "/apiVersion", "")
                            .split_once('/')
                            .map(|(g, _)| format!(".{g}"))
                            .unwrap_or_default();
                        format!(
                            "{}{group}/{}",
                            text(r, "/kind", "").to_lowercase(),
                            text(r, "/name", "")
                        )
                    },
                );
            vec![
                json!(name),
                json!(controller),
                json!(int(object, "/revision")),
                json!(created),
            ]
        }
        "PersistentVolumeClaim" => vec![
            json!(name),
            json!(text(object, "/status/phase", "Pending")),
            json!(text(object, "/spec/volumeName", "")),
            json!(text(object, "/status/capacity/storage", "")),
            json!(access_modes(object)),
            json!(text(object, "/spec/storageClassName", "<unset>")),
            json!(text(object, "/spec/volumeAttributesClassName", "<unset>")),
            json!(created),
            json!(text(object, "/spec/volumeMode", "Filesystem")),
        ],
        "ReplicaSet" => vec![
            json!(name),
            json!(int(object, "/spec/replicas")),
            json!(int(object, "/status/replicas")),
            json!(int(object, "/status/readyReplicas")),
            json!(created),
        ],
        "Pod" => {
            let statuses = object
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let total = object
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let ready = statuses
                .iter()
                .filter(|c| c["ready"] == json!(true))
                .count();
            let restarts: u64 = statuses
                .iter()
                .map(|c| c["restartCount"].as_u64().unwrap_or(0))
                .sum();
            vec![
                json!(name),
                json!(format!("{ready}/{total}")),
                json!(pod_status(object)),
                json!(restarts.to_string()),
                json!(created),
                json!(text(object, "/status/podIP", "<none>")),
                json!(text(object, "/spec/nodeName", "<none>")),
            ]
        }
        "Service" => {
            let ports: Vec<String> = object
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| format!("{}/{}", text(p, "/port", ""), text(p, "/protocol", "TCP")))
                .collect();
            vec![
                json!(name),
                json!(text(object, "/spec/type", "ClusterIP")),
                json!(text(object, "/spec/clusterIP", "<none>")),
                json!("<none>"),
                json!(ports.join(",")),
                json!(created),
            ]
        }
        "Namespace" => vec![
            json!(name),
            json!(text(object, "/status/phase", "Active")),
            json!(created),
        ],
        "ConfigMap" => {
            let data = object["data"].as_object().map_or(0, serde_json::Map::len)
                + object["binaryData"]
                    .as_object()
                    .map_or(0, serde_json::Map::len);
            vec![json!(name), json!(data), json!(created)]
        }
        "Secret" => {
            let data = object["data"].as_object().map_or(0, serde_json::Map::len)
                + object["stringData"]
                    .as_object()
                    .map_or(0, serde_json::Map::len);
            vec![
                json!(name),
                json!(text(object, "/type", "Opaque")),
                json!(data),
                json!(created),
            ]
        }
        "Event" => {
            let involved = format!(
                "{}/{}",
                text(object, "/involvedObject/kind", "").to_lowercase(),
                text(object, "/involvedObject/name", "")
            );
            vec![
                json!(age(&object["lastTimestamp"])),
                json!(text(object, "/type", "")),
                json!(text(object, "/reason", "")),
                json!(involved),
                json!(text(object, "/message", "")),
            ]
        }
        "HorizontalPodAutoscaler" => {
            let reference = format!(
                "{}/{}",
                text(object, "/spec/scaleTargetRef/kind", ""),
                text(object, "/spec/scaleTargetRef/name", "")
            );
            vec![
                json!(name),
                json!(reference),
                json!(int(object, "/spec/minReplicas").max(1)),
                json!(int(object, "/spec/maxReplicas")),
                json!(int(object, "/status/currentReplicas")),
                json!(created),
            ]
        }
        "PodDisruptionBudget" => vec![
            json!(name),
            json!(text(object, "/spec/minAvailable", "N/A")),
            json!(text(object, "/spec/maxUnavailable", "N/A")),
            json!(int(object, "/status/disruptionsAllowed")),
            json!(created),
        ],
        "Ingress" => {
            let hosts: Vec<String> = object
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| text(r, "/host", "*"))
                .collect();
            vec![
                json!(name),
                json!(text(object, "/spec/ingressClassName", "<none>")),
                json!(hosts.join(",")),
                json!(""),
                json!("80"),
                json!(created),
            ]
        }
        _ => vec![json!(name), json!(created)],
    }
}

/// A Table of `objects`; `headers` false leaves out the column definitions, as the real
/// server does for every watch event after the first.
pub(crate) fn table(
    resource: &Resource,
    objects: &[Value],
    resource_version: u64,
    headers: bool,
) -> Value {
    let definitions: Vec<Value> = if headers {
        columns(resource.kind)
            .iter()
            .map(|(name, kind)| {
                let format = if *name == "Name" { "name" } else { "" };
                // Columns after the age are the `-o wide` extras.
                let priority = u8::from(matches!(
                    *name,
                    "IP" | "Node" | "Containers" | "Images" | "Selector" | "VolumeMode"
                ));
                json!({"name": name, "type": kind, "format": format, "description": "", "priority": priority})
            })
            .collect()
    } else {
        Vec::new()
    };
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            json!({
                "cells": cells(resource.kind, o),
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]},
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version.to_string()},
        "columnDefinitions": definitions,
        "rows": rows,
    })
}
