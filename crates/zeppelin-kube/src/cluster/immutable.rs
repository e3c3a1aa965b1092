//! What Kubernetes never changes on an existing StatefulSet: its volume claim templates
//! (each volume's size, storage class and access modes, and which volumes there are), its
//! headless Service's name, its selector and its pod management policy. The API server
//! refuses an update that touches them, and the claims the StatefulSet already made keep
//! their size and storage class whatever the templates say.
//!
//! A deploy compares the StatefulSets it is about to apply with the ones in the cluster
//! before it applies anything, so such a change is refused up front, explained in a user's
//! words with the ways forward, instead of failing halfway through an apply.

use serde_json::Value;
use zeppelin_core::Quantity;

use crate::cluster::claims;
use crate::cluster::connect::Cluster;
use crate::cluster::error::ClusterError;
pub use crate::cluster::fixed::{Change, FixedChanges};
use crate::cluster::inventory::Inventory;
use crate::cluster::target::Target;
use crate::render::manifest::Manifest;

/// Refuses `manifest` when one of its StatefulSets changes what the cluster's copy cannot
/// change, before anything is applied.
pub(crate) async fn check(
    cluster: &Cluster,
    target: &Target,
    before: &Inventory,
    manifest: &Manifest,
) -> Result<(), ClusterError> {
    let mut refused = Vec::new();
    for item in manifest.items.iter().filter(|i| i.kind() == "StatefulSet") {
        let key = ("StatefulSet".to_owned(), item.name().to_owned());
        let Some(live) = before.objects.get(&key) else {
            continue;
        };
        let changes = changes(&live.content, &item.object);
        if !changes.is_empty() {
            refused.push((item.name().to_owned(), changes));
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    let claims = claims::list_if_allowed(cluster, target).await?;
    Err(ClusterError::FixedFields(
        refused
            .into_iter()
            .map(|(sub, changes)| FixedChanges {
                claims: claims.iter().filter(|c| c.sub == sub).cloned().collect(),
                namespace: target.namespace.clone(),
                sub,
                changes,
            })
            .collect(),
    ))
}

/// What `new` changes of the fixed parts of the StatefulSet `old` (as the server keeps it,
/// with its defaults).
pub(crate) fn changes(old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    let old_templates = templates(old);
    let new_templates = templates(new);
    for (volume, new) in &new_templates {
        let Some((_, old)) = old_templates.iter().find(|(name, _)| name == volume) else {
            changes.push(Change::Added {
                volume: volume.clone(),
            });
            continue;
        };
        let size = |t: &Value| text(t.pointer("/spec/resources/requests/storage"));
        let (from, to) = (size(old), size(new));
        if !same_quantity(&from, &to) {
            let grown = match (Quantity::parse(&from), Quantity::parse(&to)) {
                (Ok(from), Ok(to)) => to.value() > from.value(),
                _ => false,
            };
            changes.push(Change::Size {
                volume: volume.clone(),
                from,
                to,
                grown,
            });
        }
        let class = |t: &Value| {
            t.pointer("/spec/storageClassName")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if class(old) != class(new) {
            changes.push(Change::StorageClass {
                volume: volume.clone(),
                from: class(old),
                to: class(new),
            });
        }
        for (what, pointer) in [
            ("access modes", "/spec/accessModes"),
            ("claim labels", "/metadata/labels"),
        ] {
            let (from, to) = (old.pointer(pointer), new.pointer(pointer));
            if from != to {
                changes.push(Change::Other {
                    what: format!("volume `{volume}`'s {what}"),
                    from: text(from),
                    to: text(to),
                });
            }
        }
    }
    for (volume, _) in &old_templates {
        if !new_templates.iter().any(|(name, _)| name == volume) {
            changes.push(Change::Removed {
                volume: volume.clone(),
            });
        }
    }
    for (what, pointer) in [
        ("headless service name", "/spec/serviceName"),
        ("selector", "/spec/selector"),
        ("pod management policy", "/spec/podManagementPolicy"),
    ] {
        let (from, to) = (old.pointer(pointer), new.pointer(pointer));
        // A field the app leaves out keeps the server's default.
        if to.is_some() && from != to {
            changes.push(Change::Other {
                what: what.to_owned(),
                from: text(from),
                to: text(to),
            });
        }
    }
    changes
}

/// The claim templates by name.
fn templates(set: &Value) -> Vec<(String, &Value)> {
    set.pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| (text(t.pointer("/metadata/name")), t))
        .collect()
}

/// Whether two quantities are the same amount (`1Gi` and `1024Mi` are).
fn same_quantity(a: &str, b: &str) -> bool {
    match (Quantity::parse(a), Quantity::parse(b)) {
        (Ok(a), Ok(b)) => (a.value() - b.value()).abs() < f64::EPSILON * a.value().max(1.0),
        _ => a == b,
    }
}

/// A JSON value as a user reads it: a string without quotes, `(none)` for nothing.
fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cluster::claim::Claim;

    fn set(templates: &Value, service: &str) -> Value {
        json!({"spec": {
            "serviceName": service,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "redis"}},
            "podManagementPolicy": "OrderedReady",
            "replicas": 1,
            "volumeClaimTemplates": templates,
        }})
    }

    fn template(name: &str, size: &str, class: Option<&str>) -> Value {
        let mut spec =
            json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}});
        if let Some(class) = class {
            spec["storageClassName"] = json!(class);
        }
        json!({"metadata": {"name": name}, "spec": spec})
    }

    #[test]
    fn the_same_templates_change_nothing_whatever_the_server_added() {
        let mut live = set(&json!([template("data", "1Gi", None)]), "redis-pods");
        // What a real server adds to a stored template, and a quantity it normalized.
        live["spec"]["volumeClaimTemplates"][0]["apiVersion"] = json!("v1");
        live["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] = json!("Filesystem");
        live["spec"]["volumeClaimTemplates"][0]["status"] = json!({"phase": "Pending"});
        live["spec"]["revisionHistoryLimit"] = json!(10);
        let rendered = set(&json!([template("data", "1024Mi", None)]), "redis-pods");
        assert_eq!(changes(&live, &rendered), []);
        // Replicas and the pod template may change.
        let mut scaled = rendered.clone();
        scaled["spec"]["replicas"] = json!(3);
        scaled["spec"]["template"] = json!({"spec": {"containers": []}});
        assert_eq!(changes(&live, &scaled), []);
    }

    #[test]
    fn sizes_classes_volumes_and_the_service_name_are_fixed() {
        let live = set(
            &json!([template("data", "1Gi", None), template("logs", "1Gi", None)]),
            "redis-pods",
        );
        let rendered = set(
            &json!([
                template("data", "2Gi", Some("fast")),
                template("cache", "1Gi", None)
            ]),
            "redis-peers",
        );
        let said: Vec<String> = changes(&live, &rendered)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            said,
            [
                "volume `data`: size 1Gi → 2Gi",
                "volume `data`: storage class (the cluster's default) → `fast`",
                "volume `cache` added",
                "volume `logs` removed",
                "headless service name: redis-pods → redis-peers",
            ]
        );
    }

    #[test]
    fn the_refusal_names_the_claims_and_the_ways_forward() {
        let claim = |name: &str| Claim {
            name: name.to_owned(),
            uid: format!("uid-{name}"),
            sub: "redis".to_owned(),
            replica: None,
            ordinal: None,
            phase: "Bound".to_owned(),
            storage_class: None,
            size: Some("1Gi".to_owned()),
        };
        let refused = FixedChanges {
            sub: "redis".to_owned(),
            namespace: "guestbook".to_owned(),
            changes: vec![
                Change::Size {
                    volume: "data".to_owned(),
                    from: "1Gi".to_owned(),
                    to: "2Gi".to_owned(),
                    grown: true,
                },
                Change::Size {
                    volume: "logs".to_owned(),
                    from: "2Gi".to_owned(),
                    to: "1Gi".to_owned(),
                    grown: false,
                },
            ],
            claims: vec![claim("data-redis-0"), claim("data-redis-1")],
        };
        let text = refused.to_string();
        for line in [
            "sub `redis` changes what Kubernetes never changes on an existing StatefulSet, so nothing was applied:",
            "  volume `data`: size 1Gi → 2Gi",
            "    kubectl patch pvc -n guestbook data-redis-0 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}'",
            "    kubectl patch pvc -n guestbook data-redis-1 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}'",
            "- the claims of `logs` keep 2Gi: a claim never shrinks, so only the claims of new replicas would get 1Gi",
            "    kubectl delete statefulset -n guestbook redis --cascade=orphan",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
    }
}
