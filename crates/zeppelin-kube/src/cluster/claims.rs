//! The app's PersistentVolumeClaims: the data of its stateful subs, one claim per volume and
//! replica, made by the StatefulSet controller from the claim templates (which carry the
//! app's ownership labels and the sub's name).
//!
//! Claims are data, so no Zeppelin command deletes one unless the user asked for the data
//! by name: [`Inventory`](crate::Inventory) never lists claims (so prune never selects
//! them), and only [`delete`] here removes them, which only `zeppelin delete --delete-data`
//! calls. Everything else lists them, to say what was kept and how to delete it.

use futures::future::try_join_all;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, DeleteParams, ListParams, Preconditions};

pub use crate::cluster::claim::{Claim, delete_command};
use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, is_not_found, request};
use crate::cluster::gone::{Gone, wait_gone};
use crate::cluster::target::Target;
use crate::render::labels::owner_selector;

/// The app's claims (by its ownership labels), sorted by sub and name.
pub async fn list(cluster: &Cluster, target: &Target) -> Result<Vec<Claim>, ClusterError> {
    let selector = owner_selector(&target.app);
    let mut claims: Vec<Claim> = list_objects(cluster, &target.namespace, Some(&selector))
        .await?
        .iter()
        .map(Claim::from_object)
        .collect();
    claims.sort_by(|a, b| (&a.sub, a.ordinal, &a.name).cmp(&(&b.sub, b.ordinal, &b.name)));
    Ok(claims)
}

/// [`list`] for commands that only report claims (`deploy`, `ps`, `scale`): a user who
/// may not list claims (403) gets none reported rather than a failed command, since the
/// command itself does not need them.
pub async fn list_if_allowed(
    cluster: &Cluster,
    target: &Target,
) -> Result<Vec<Claim>, ClusterError> {
    match list(cluster, target).await {
        Err(ClusterError::Request { source, .. }) if source.code() == Some(403) => Ok(Vec::new()),
        listed => listed,
    }
}

/// The names of every claim in `namespace`, the app's or not: deleting the namespace would
/// delete them all.
pub(crate) async fn in_namespace(
    cluster: &Cluster,
    namespace: &str,
) -> Result<Vec<String>, ClusterError> {
    Ok(list_objects(cluster, namespace, None)
        .await?
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect())
}

async fn list_objects(
    cluster: &Cluster,
    namespace: &str,
    selector: Option<&str>,
) -> Result<Vec<PersistentVolumeClaim>, ClusterError> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), namespace);
    let mut params = ListParams::default();
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    match api.list(&params).await {
        Ok(list) => Ok(list.items),
        // A namespace that is not there holds no claims.
        Err(error) if is_not_found(&error) => Ok(Vec::new()),
        Err(source) => Err(request(format!(
            "list the PersistentVolumeClaims in namespace {namespace}"
        ))(source)),
    }
}

/// Deletes exactly `confirmed` (each only if its uid still matches: a claim made again
/// under the same name meanwhile is kept), and so their data, then waits until each is gone
/// (a claim still mounted by a pod stays until the pod is gone). Returns the names deleted.
///
/// Only `zeppelin delete --delete-data` calls this, with the claims the user confirmed.
pub async fn delete(
    cluster: &Cluster,
    namespace: &str,
    confirmed: &[Claim],
    timeout: std::time::Duration,
) -> Result<Vec<String>, ClusterError> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client.clone(), namespace);
    let deletions = confirmed.iter().map(|claim| {
        let api = api.clone();
        async move {
            let name = claim.name.as_str();
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: Some(claim.uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            let uid = match api.delete(name, &params).await {
                Ok(either) => either.left().and_then(|o| o.metadata.uid),
                // Gone already, or another claim by now: nothing of the confirmed data left
                // to delete, and the other claim is not the user's to lose.
                Err(error) if is_not_found(&error) || is_conflict(&error) => return Ok(None),
                Err(source) => {
                    return Err(request(format!(
                        "delete PersistentVolumeClaim/{name} in namespace {namespace}"
                    ))(source));
                }
            };
            if let Some(uid) = uid {
                let what = Gone {
                    kind: "PersistentVolumeClaim",
                    plural: "persistentvolumeclaims",
                    name,
                    namespace,
                };
                wait_gone(api, &what, &uid, timeout).await?;
            }
            Ok(Some(name.to_owned()))
        }
    });
    Ok(try_join_all(deletions)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Whether a request failed on a precondition (409 Conflict).
fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::render::labels::NAME;

    #[test]
    fn a_claim_knows_its_sub_replica_and_size() {
        let claim: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data-redis-1", "labels": {NAME: "redis"}},
            "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Pending"},
        }))
        .unwrap();
        let claim = Claim::from_object(&claim);
        assert_eq!(claim.sub, "redis");
        assert_eq!(claim.replica.as_deref(), Some("redis-1"));
        assert_eq!(claim.ordinal, Some(1));
        assert_eq!(claim.size.as_deref(), Some("1Gi"));
        assert_eq!(claim.storage_class.as_deref(), Some("fast"));
        assert!(!claim.is_bound());
        let first = Claim {
            name: "data-redis-0".to_owned(),
            replica: Some("redis-0".to_owned()),
            ordinal: Some(0),
            ..claim.clone()
        };
        assert_eq!(
            delete_command("shop", &[first, claim]),
            "kubectl delete pvc -n shop data-redis-0 data-redis-1"
        );
    }
}
