//! Defaulting and validation the real API server does on write, for the fields Zeppelin and
//! its tests look at: Deployment strategy and deadlines, Service cluster IPs and ports, name
//! rules, selectors that must match their template.

mod batch;

use serde_json::{Value, json};

use crate::api_error::{ApiError, Cause};
use crate::resources::Resource;

fn set_default(object: &mut Value, pointer: &str, value: Value) {
    if object.pointer(pointer).is_some_and(|v| !v.is_null()) {
        return;
    }
    let mut current = object;
    for part in pointer.trim_start_matches('/').split('/') {
        if !current.is_object() {
            *current = json!({});
        }
        current = current
            .as_object_mut()
            .expect("made an object above")
            .entry(crate::json_patch::unescape(part))
            .or_insert(Value::Null);
    }
    *current = value;
}

fn default_pod_spec(spec: &mut Value) {
    for list in ["containers", "initContainers"] {
        for container in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let image = container["image"].as_str().unwrap_or_default().to_owned();
            let tag = image.rsplit('/').next().unwrap_or_default();
            let policy = if !tag.contains(':') || tag.ends_with(":latest") {
                "Always"
            } else {
                "IfNotPresent"
            };
            set_default(container, "/imagePullPolicy", json!(policy));
            set_default(
                container,
                "/terminationMessagePath",
                json!("/dev/termination-log"),
            );
            for port in container
                .get_mut("ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                set_default(port, "/protocol", json!("TCP"));
            }
        }
    }
    set_default(spec, "/restartPolicy", json!("Always"));
    set_default(spec, "/dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "/terminationGracePeriodSeconds", json!(30));
    set_default(spec, "/schedulerName", json!("default-scheduler"));
}

fn default_stateful_set(object: &mut Value) {
    set_default(object, "/spec/replicas", json!(1));
    set_default(object, "/spec/podManagementPolicy", json!("OrderedReady"));
    set_default(object, "/spec/revisionHistoryLimit", json!(10));
    set_default(object, "/spec/updateStrategy/type", json!("RollingUpdate"));
    if object.pointer("/spec/updateStrategy/type") == Some(&json!("RollingUpdate")) {
        set_default(
            object,
            "/spec/updateStrategy/rollingUpdate/partition",
            json!(0),
        );
    }
    for when in ["whenDeleted", "whenScaled"] {
        set_default(
            object,
            &format!("/spec/persistentVolumeClaimRetentionPolicy/{when}"),
            json!("Retain"),
        );
    }
    if let Some(spec) = object.pointer_mut("/spec/template/spec") {
        default_pod_spec(spec);
    }
    for claim in object
        .pointer_mut("/spec/volumeClaimTemplates")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        set_default(claim, "/apiVersion", json!("v1"));
        set_default(claim, "/kind", json!("PersistentVolumeClaim"));
        set_default(claim, "/spec/volumeMode", json!("Filesystem"));
        set_default(claim, "/status/phase", json!("Pending"));
    }
}

/// Fills in the defaults the real server would, before the object is stored.
pub(crate) fn apply_defaults(
    resource: &Resource,
    object: &mut Value,
    cluster_ip: impl FnOnce() -> String,
) {
    match resource.kind {
        "Deployment" => {
            set_default(object, "/spec/replicas", json!(1));
            set_default(object, "/spec/revisionHistoryLimit", json!(10));
            set_default(object, "/spec/progressDeadlineSeconds", json!(600));
            set_default(object, "/spec/strategy/type", json!("RollingUpdate"));
            if object.pointer("/spec/strategy/type") == Some(&json!("RollingUpdate")) {
                set_default(
                    object,
                    "/spec/strategy/rollingUpdate/maxSurge",
                    json!("25%"),
                );
                set_default(
                    object,
                    "/spec/strategy/rollingUpdate/maxUnavailable",
                    json!("25%"),
                );
            }
            if let Some(spec) = object.pointer_mut("/spec/template/spec") {
                default_pod_spec(spec);
            }
        }
        "ReplicaSet" => {
            set_default(object, "/spec/replicas", json!(1));
            if let Some(spec) = object.pointer_mut("/spec/template/spec") {
                default_pod_spec(spec);
            }
        }
        "StatefulSet" => default_stateful_set(object),
        "Job" => batch::default_job(object),
        "CronJob" => batch::default_cron_job(object),
        "PersistentVolumeClaim" => {
            // What the DefaultStorageClass admission plugin of a cluster with a default class
            // (kind's and minikube's `standard`) fills in.
            set_default(object, "/spec/storageClassName", json!("standard"));
            set_default(object, "/spec/volumeMode", json!("Filesystem"));
        }
        "Pod" => {
            if let Some(spec) = object.get_mut("spec") {
                default_pod_spec(spec);
            }
        }
        "Service" => {
            set_default(object, "/spec/type", json!("ClusterIP"));
            set_default(object, "/spec/sessionAffinity", json!("None"));
            if object.pointer("/spec/clusterIP").is_none() {
                let ip = cluster_ip();
                set_default(object, "/spec/clusterIP", json!(ip));
                set_default(object, "/spec/clusterIPs", json!([ip]));
            }
            for port in object
                .pointer_mut("/spec/ports")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                set_default(port, "/protocol", json!("TCP"));
                if let Some(number) = port.get("port").cloned() {
                    set_default(port, "/targetPort", number);
                }
            }
        }
        "Secret" => {
            set_default(object, "/type", json!("Opaque"));
            if let Some(Value::Object(plain)) =
                object.as_object_mut().and_then(|o| o.remove("stringData"))
            {
                for (key, value) in plain {
                    let encoded =
                        crate::base64::encode(value.as_str().unwrap_or_default().as_bytes());
                    set_default(object, "/data", json!({}));
                    object["data"][key] = json!(encoded);
                }
            }
        }
        "Namespace" => {
            let name = object
                .pointer("/metadata/name")
                .cloned()
                .unwrap_or_default();
            set_default(
                object,
                "/metadata/labels/kubernetes.io~1metadata.name",
                name,
            );
        }
        _ => {}
    }
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}

fn invalid(field: &str, value: &Value, why: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("Invalid value: {value}: {why}"),
        field: field.to_owned(),
    }
}

fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired",
        message: "Required value".to_owned(),
        field: field.to_owned(),
    }
}

/// The `StatefulSet` spec fields an update may change; the real server forbids the others
/// (`pkg/apis/apps/validation`, `ValidateStatefulSetUpdate`), above all the claim templates.
/// Older servers forbid `revisionHistoryLimit` too and leave it out of the message.
const STATEFUL_SET_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

fn check_stateful_set_update(object: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let fixed = |o: &Value| {
        let mut spec = o.get("spec").cloned().unwrap_or_else(|| json!({}));
        if let Some(map) = spec.as_object_mut() {
            map.retain(|k, _| !STATEFUL_SET_MUTABLE.contains(&k.as_str()));
        }
        spec
    };
    if fixed(object) != fixed(old) {
        causes.push(Cause {
            reason: "FieldValueForbidden",
            message: "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden".to_owned(),
            field: "spec".to_owned(),
        });
    }
}

fn check_claim_spec(spec: Option<&Value>, prefix: &str, causes: &mut Vec<Cause>) {
    if spec
        .and_then(|s| s.get("accessModes"))
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        causes.push(Cause {
            reason: "FieldValueRequired",
            message: "Required value: at least 1 access mode is required".to_owned(),
            field: format!("{prefix}.accessModes"),
        });
    }
    if spec
        .and_then(|s| s.pointer("/resources/requests/storage"))
        .is_none()
    {
        causes.push(required(&format!("{prefix}.resources[storage]")));
    }
}

fn check_pod_spec(spec: Option<&Value>, prefix: &str, causes: &mut Vec<Cause>) {
    let containers = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    match containers {
        Some(list) if !list.is_empty() => {
            for (i, c) in list.iter().enumerate() {
                if c.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    causes.push(required(&format!("{prefix}.containers[{i}].name")));
                }
                if c.get("image")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    causes.push(required(&format!("{prefix}.containers[{i}].image")));
                }
            }
        }
        _ => causes.push(required(&format!("{prefix}.containers"))),
    }
}

/// Checks an object about to be stored; `old` is the stored version on updates.
pub(crate) fn validate(
    resource: &Resource,
    object: &Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut causes = Vec::new();
    let label_only = matches!(resource.kind, "Namespace" | "Service");
    let name_ok = if label_only {
        is_dns_label(name)
    } else {
        is_dns_subdomain(name)
    };
    if !name_ok {
        let rule = if label_only {
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        } else {
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        };
        causes.push(invalid("metadata.name", &json!(name), rule));
    }
    match resource.kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" => {
            let selector = object.pointer("/spec/selector");
            let template_labels = object
                .pointer("/spec/template/metadata/labels")
                .cloned()
                .unwrap_or(json!({}));
            match selector {
                None => causes.push(required("spec.selector")),
                Some(selector) => {
                    let probe = json!({"metadata": {"labels": template_labels}});
                    let parsed = crate::selector::LabelSelector::from_object(selector);
                    if parsed.is_empty() {
                        // ReplicaSets share the Deployment's wording on a real server.
                        let kind = if resource.kind == "StatefulSet" {
                            "statefulset"
                        } else {
                            "deployment"
                        };
                        causes.push(invalid(
                            "spec.selector",
                            selector,
                            &format!("empty selector is invalid for {kind}"),
                        ));
                    } else if !parsed.matches(&probe) {
                        causes.push(invalid(
                            "spec.template.metadata.labels",
                            &template_labels,
                            "`selector` does not match template `labels`",
                        ));
                    }
                    if let Some(old_selector) = old.and_then(|o| o.pointer("/spec/selector"))
                        && old_selector != selector
                    {
                        causes.push(invalid("spec.selector", selector, "field is immutable"));
                    }
                }
            }
            check_pod_spec(
                object.pointer("/spec/template/spec"),
                "spec.template.spec",
                &mut causes,
            );
            if resource.kind == "StatefulSet" {
                for (i, claim) in object
                    .pointer("/spec/volumeClaimTemplates")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let prefix = format!("spec.volumeClaimTemplates[{i}]");
                    if claim
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .is_none_or(|n| !is_dns_label(n))
                    {
                        causes.push(required(&format!("{prefix}.metadata.name")));
                    }
                    check_claim_spec(claim.get("spec"), &format!("{prefix}.spec"), &mut causes);
                }
                if let Some(old) = old {
                    check_stateful_set_update(object, old, &mut causes);
                }
            }
        }
        "PersistentVolumeClaim" => check_claim_spec(object.get("spec"), "spec", &mut causes),
        "Job" => batch::check_job(object, old, &mut causes),
        "CronJob" => batch::check_cron_job(object, &mut causes),
        "Pod" => check_pod_spec(object.get("spec"), "spec", &mut causes),
        "Service" => {
            for (i, port) in object
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if !port.get("port").is_some_and(Value::is_u64) {
                    causes.push(required(&format!("spec.ports[{i}].port")));
                }
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(resource, name, causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{RESOURCES, find};

    #[test]
    fn deployment_gets_the_real_defaults() {
        let resource = &RESOURCES[find("apps", "v1", "deployments").unwrap()];
        let mut object = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "nginx:1", "ports": [{"containerPort": 80}]}]}}}});
        apply_defaults(resource, &mut object, String::new);
        assert_eq!(object["spec"]["replicas"], 1);
        assert_eq!(
            object["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
            "25%"
        );
        assert_eq!(
            object.pointer("/spec/template/spec/containers/0/ports/0/protocol"),
            Some(&json!("TCP"))
        );
        assert_eq!(
            object.pointer("/spec/template/spec/containers/0/imagePullPolicy"),
            Some(&json!("IfNotPresent"))
        );
    }

    #[test]
    fn stateful_set_gets_the_real_defaults_and_keeps_its_claim_templates() {
        let resource = &RESOURCES[find("apps", "v1", "statefulsets").unwrap()];
        let mut object = json!({
            "metadata": {"name": "db"},
            "spec": {
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "redis:7.4"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
            }
        });
        apply_defaults(resource, &mut object, String::new);
        let spec = &object["spec"];
        assert_eq!(spec["podManagementPolicy"], "OrderedReady");
        assert_eq!(spec["updateStrategy"]["rollingUpdate"]["partition"], 0);
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(
            spec["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(
            spec["volumeClaimTemplates"][0]["kind"],
            "PersistentVolumeClaim"
        );
        validate(resource, &object, None).unwrap();

        let mut scaled = object.clone();
        scaled["spec"]["replicas"] = json!(3);
        validate(resource, &scaled, Some(&object)).unwrap();
        let mut bigger = object.clone();
        bigger["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] =
            json!("2Gi");
        let error = validate(resource, &bigger, Some(&object)).unwrap_err();
        assert_eq!(error.causes[0].reason, "FieldValueForbidden");
    }

    #[test]
    fn claims_need_an_access_mode_and_a_size() {
        let resource = &RESOURCES[find("", "v1", "persistentvolumeclaims").unwrap()];
        let object = json!({"metadata": {"name": "data"}, "spec": {}});
        let error = validate(resource, &object, None).unwrap_err();
        let fields: Vec<&str> = error.causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["spec.accessModes", "spec.resources[storage]"]);
    }

    #[test]
    fn secret_string_data_becomes_base64_data() {
        let resource = &RESOURCES[find("", "v1", "secrets").unwrap()];
        let mut object = json!({"stringData": {"a": "hunter2", "b": "", "c": "ab"}});
        apply_defaults(resource, &mut object, String::new);
        assert_eq!(
            object,
            json!({"type": "Opaque", "data": {"a": "aHVudGVyMg==", "b": "", "c": "YWI="}})
        );
    }

    #[test]
    fn rejects_bad_names_and_selectors() {
        let resource = &RESOURCES[find("apps", "v1", "deployments").unwrap()];
        let object = json!({
            "metadata": {"name": "Bad_Name"},
            "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}}}
        });
        let error = validate(resource, &object, None).unwrap_err();
        assert_eq!(error.code, 422);
        let fields: Vec<&str> = error.causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["metadata.name", "spec.template.metadata.labels"]);
    }
}
