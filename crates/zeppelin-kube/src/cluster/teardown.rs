//! `zeppelin delete`: every object of the app (by its ownership labels), its revisions,
//! and its Namespace when Zeppelin created it; then waits until they are gone.

use std::time::Duration;

use futures::future::try_join_all;
use kube::api::{Api, DeleteParams, DynamicObject};
use kube::runtime::wait::{await_condition, conditions};

use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, humanize, is_not_found, request};
use crate::cluster::inventory::Inventory;
use crate::cluster::revision;
use crate::cluster::target::Target;
use crate::render::labels::owner_selector;
use crate::render::manifest::{KINDS, resource};

/// Deletes the app; returns the `kind/name`s deleted.
pub async fn delete(
    cluster: &Cluster,
    target: &Target,
    timeout: Duration,
) -> Result<Vec<String>, ClusterError> {
    let inventory =
        Inventory::list(cluster, &target.namespace, &owner_selector(&target.app)).await?;
    let deletions = inventory
        .objects
        .iter()
        .map(|((kind, name), _)| async move {
            let namespaced = KINDS
                .iter()
                .any(|(k, .., namespaced)| k == kind && *namespaced);
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
                let gone = await_condition(api, name, conditions::is_deleted(&uid));
                match tokio::time::timeout(timeout, gone).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(source)) => {
                        return Err(ClusterError::Watch {
                            object: format!("{kind}/{name}"),
                            source,
                        });
                    }
                    Err(_) => {
                        return Err(ClusterError::StillThere {
                            object: format!("{kind}/{name}"),
                            timeout: humanize(timeout),
                            plural: ar.plural.clone(),
                            name: name.clone(),
                            namespace: target.namespace.clone(),
                        });
                    }
                }
            }
            Ok(format!("{kind}/{name}"))
        });
    let deleted = try_join_all(deletions).await?;
    // Only now: a delete that failed part way keeps the history, so the app can still be
    // rolled back or deleted again.
    revision::delete_all(cluster, &target.namespace, &target.app).await?;
    Ok(deleted)
}
