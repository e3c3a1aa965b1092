//! `zeppelin diff`: what a deploy would change, object by object, computed by the server
//! itself (a server-side dry-run apply) and compared with the live objects.
//!
//! Secret values never appear: each is replaced by a short digest, so a changed value shows
//! as a changed line without being printed.

use futures::future::try_join_all;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Cluster;
use crate::apply::FIELD_MANAGER;
use crate::cluster_error::{ApiCause, ClusterError, request};
use crate::deploy::Target;
use crate::hash::hex;
use crate::inventory::Inventory;
use crate::labels::owner_selector;
use crate::manifest::{Item, Manifest};

/// How one object would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Not in the cluster yet; the YAML it would be created with.
    Create(String),
    /// A unified diff of the live object against the applied one.
    Update(String),
    Unchanged,
    /// In the cluster with the app's labels, but no longer rendered: a deploy prunes it.
    Prune,
}

/// One object's change.
#[derive(Debug, Clone)]
pub struct ObjectDiff {
    /// `kind/name`.
    pub object: String,
    pub change: Change,
}

/// Compares `manifest` with the cluster.
pub async fn diff(
    cluster: &Cluster,
    target: &Target,
    manifest: &Manifest,
) -> Result<Vec<ObjectDiff>, ClusterError> {
    cluster.check_apis(manifest).await?;
    let before = Inventory::list(cluster, &target.namespace, &owner_selector(&target.app)).await?;
    let namespace_missing = manifest.items.iter().any(|i| i.kind() == "Namespace")
        && !before.objects.keys().any(|(kind, _)| kind == "Namespace");
    let diffs = manifest
        .items
        .iter()
        .map(|item| diff_one(cluster, item, namespace_missing));
    let mut diffs = try_join_all(diffs).await?;
    for (kind, name) in before.objects.keys() {
        if kind != "Namespace" && !manifest.contains(kind, name) {
            diffs.push(ObjectDiff {
                object: format!("{kind}/{name}"),
                change: Change::Prune,
            });
        }
    }
    Ok(diffs)
}

async fn diff_one(
    cluster: &Cluster,
    item: &Item,
    namespace_missing: bool,
) -> Result<ObjectDiff, ClusterError> {
    let object = item.display_name();
    let api: Api<DynamicObject> = match item.object["metadata"]["namespace"].as_str() {
        Some(namespace) => Api::namespaced_with(cluster.client.clone(), namespace, &item.resource),
        None => Api::all_with(cluster.client.clone(), &item.resource),
    };
    let live = if namespace_missing && item.is_namespaced() {
        None
    } else {
        api.get_opt(item.name())
            .await
            .map_err(request(format!("read the live {object}")))?
    };
    let Some(live) = live else {
        // A dry run in a namespace that does not exist yet would fail; the object as
        // rendered is what would be created.
        return Ok(ObjectDiff {
            object,
            change: Change::Create(yaml(&clean(item.object.clone()))),
        });
    };
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.dry_run = true;
    let applied = api
        .patch(item.name(), &params, &Patch::Apply(&item.object))
        .await
        .map_err(|source| ClusterError::Apply {
            object: object.clone(),
            source: ApiCause(source),
        })?;
    let old = yaml(&clean(
        serde_json::to_value(live).expect("objects serialize"),
    ));
    let new = yaml(&clean(
        serde_json::to_value(applied).expect("objects serialize"),
    ));
    let change = if old == new {
        Change::Unchanged
    } else {
        Change::Update(
            similar::TextDiff::from_lines(&old, &new)
                .unified_diff()
                .context_radius(3)
                .header("live", "deploy")
                .to_string(),
        )
    };
    Ok(ObjectDiff { object, change })
}

/// Removes what the server maintains on its own, and hides Secret values.
pub(crate) fn clean(mut object: Value) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            meta.remove(key);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove("deployment.kubernetes.io/revision");
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if object["kind"] == "Secret"
        && let Some(data) = object.get_mut("data").and_then(Value::as_object_mut)
    {
        for value in data.values_mut() {
            let digest = hex(&Sha256::digest(
                value.as_str().unwrap_or_default().as_bytes(),
            ));
            *value = Value::String(format!("(hidden, sha256 {})", &digest[..12]));
        }
    }
    object
}

fn yaml(object: &Value) -> String {
    serde_yaml_ng::to_string(object).expect("JSON values serialize as YAML")
}
