//! Removing what the app no longer has: objects that carry its ownership labels in its
//! namespace but are not in the manifest just applied. Objects without the labels, or of
//! another app, are never listed and so never touched; the Namespace is left to `delete`.
//! A `before` job's older Jobs (`<job>-<older hash>`) go with their pods (background
//! propagation); the Jobs of a CronJob or of `run-job` are not pruned.

use futures::future::try_join_all;
use kube::api::{Api, DeleteParams, DynamicObject};

use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, is_not_found, request};
use crate::cluster::inventory::Inventory;
use crate::render::manifest::{Manifest, resource};

/// Deletes the objects of `before` that `manifest` no longer has; returns their
/// `kind/name`s. With `dry_run`, only says what it would delete.
pub async fn prune(
    cluster: &Cluster,
    namespace: &str,
    before: &Inventory,
    manifest: &Manifest,
    dry_run: bool,
) -> Result<Vec<String>, ClusterError> {
    let stale: Vec<(&str, &str)> = before
        .prunable()
        .filter(|(kind, name)| !manifest.contains(kind, name))
        .collect();
    let params = DeleteParams {
        dry_run,
        ..DeleteParams::background()
    };
    let deletions = stale.iter().map(|(kind, name)| {
        let params = &params;
        async move {
            let ar = resource(kind).expect("the inventory lists known kinds only");
            let api: Api<DynamicObject> =
                Api::namespaced_with(cluster.client.clone(), namespace, &ar);
            match api.delete(name, params).await {
                Ok(_) => Ok(format!("{kind}/{name}")),
                Err(error) if is_not_found(&error) => Ok(format!("{kind}/{name}")),
                Err(source) => Err(request(format!(
                    "delete {kind}/{name}, which the app no longer has (`--no-prune` keeps it)"
                ))(source)),
            }
        }
    });
    try_join_all(deletions).await
}
