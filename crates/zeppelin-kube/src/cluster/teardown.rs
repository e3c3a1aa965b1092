//! `zeppelin delete`: every object of the app (by its ownership labels), its revisions,
//! and its Namespace when Zeppelin created it; then waits until they are gone.
//!
//! The app's PersistentVolumeClaims are its data: they are kept and listed unless the user
//! asked for the data to go (`--delete-data`), and a Namespace that still holds claims
//! (the app's or anyone's) is kept too, since deleting a Namespace deletes its claims.

use std::time::Duration;

use futures::future::try_join_all;
use kube::api::{Api, DeleteParams, DynamicObject};

use crate::cluster::claims::{self, Claim};
use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, is_not_found, request};
use crate::cluster::gone::{Gone, wait_gone};
use crate::cluster::inventory::Inventory;
use crate::cluster::revision;
use crate::cluster::target::Target;
use crate::render::labels::owner_selector;
use crate::render::manifest::{KINDS, resource};

/// What to delete besides the app's objects.
#[derive(Debug, Clone)]
pub struct DeleteOptions {
    /// How long to wait for each object to be gone.
    pub timeout: Duration,
    /// The claims to delete with their data: exactly those the user was shown and
    /// confirmed (`--delete-data`), by name and uid. Any other claim is kept, including
    /// one that appeared after the user confirmed.
    pub delete_claims: Vec<Claim>,
}

/// What a delete did.
#[derive(Debug, Clone, Default)]
pub struct Deleted {
    /// The `kind/name`s deleted, claims included.
    pub objects: Vec<String>,
    /// The app's claims left in place: their data is kept.
    pub kept_claims: Vec<Claim>,
    /// The Namespace Zeppelin created, kept because these claims are still in it.
    pub kept_namespace: Option<(String, Vec<String>)>,
}

/// Deletes the app as `options` say.
pub async fn delete(
    cluster: &Cluster,
    target: &Target,
    options: &DeleteOptions,
) -> Result<Deleted, ClusterError> {
    let inventory =
        Inventory::list(cluster, &target.namespace, &owner_selector(&target.app)).await?;
    let (namespaces, objects): (Vec<_>, Vec<_>) = inventory
        .objects
        .keys()
        .partition(|(kind, _)| kind == "Namespace");
    // The workloads go first, so no pod mounts a claim when the claims or the Namespace go.
    let mut deleted = try_join_all(
        objects
            .iter()
            .map(|(kind, name)| delete_object(cluster, target, kind, name, options.timeout)),
    )
    .await?;
    if !options.delete_claims.is_empty() {
        let claims = claims::delete(
            cluster,
            &target.namespace,
            &options.delete_claims,
            options.timeout,
        )
        .await?;
        deleted.extend(
            claims
                .into_iter()
                .map(|name| format!("PersistentVolumeClaim/{name}")),
        );
    }
    let kept_claims = claims::list(cluster, target).await?;
    let mut kept_namespace = None;
    for (kind, name) in namespaces {
        let left = claims::in_namespace(cluster, name).await?;
        if left.is_empty() {
            deleted.push(delete_object(cluster, target, kind, name, options.timeout).await?);
        } else {
            kept_namespace = Some((name.clone(), left));
        }
    }
    // Only now: a delete that failed part way keeps the history, so the app can still be
    // rolled back or deleted again.
    revision::delete_all(cluster, &target.namespace, &target.app).await?;
    Ok(Deleted {
        objects: deleted,
        kept_claims,
        kept_namespace,
    })
}

/// Deletes one object of the inventory in the foreground and waits until it is gone.
async fn delete_object(
    cluster: &Cluster,
    target: &Target,
    kind: &str,
    name: &str,
    timeout: Duration,
) -> Result<String, ClusterError> {
    let namespaced = KINDS
        .iter()
        .any(|(k, .., namespaced)| *k == kind && *namespaced);
    let ar = resource(kind).expect("the inventory lists known kinds only");
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(cluster.client.clone(), &target.namespace, &ar)
    } else {
        Api::all_with(cluster.client.clone(), &ar)
    };
    let uid = match api.delete(name, &DeleteParams::foreground()).await {
        Ok(either) => either.left().and_then(|o| o.metadata.uid),
        Err(error) if is_not_found(&error) => None,
        Err(source) => return Err(request(format!("delete {kind}/{name}"))(source)),
    };
    if let Some(uid) = uid {
        let what = Gone {
            kind,
            plural: &ar.plural,
            name,
            namespace: &target.namespace,
        };
        wait_gone(api, &what, &uid, timeout).await?;
    }
    Ok(format!("{kind}/{name}"))
}
