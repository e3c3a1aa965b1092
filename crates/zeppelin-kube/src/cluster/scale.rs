//! `zeppelin scale --k8s web=5`: a Deployment's or StatefulSet's replica count through its
//! `scale` subresource, refused for a sub its HorizontalPodAutoscaler owns.
//!
//! The object scaled is of the kind the app file says (a StatefulSet for a stateful sub),
//! never a leftover of the other kind with the same name.
//!
//! The count holds until the next `zeppelin deploy`, which applies the app file's
//! `replicas` again. Scaling a stateful sub down keeps the claims of the replicas removed:
//! scaling up again gives each replica its own data back.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::cluster::apply::FIELD_MANAGER;
use crate::cluster::claims::{self, Claim};
use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, is_not_found, request};
use crate::cluster::target::Target;
use crate::cluster::workload::WorkloadKind;

/// Sets sub `sub`'s replica count to `replicas` on its object of kind `kind`; returns the
/// claims of replicas at or beyond `replicas` (a stateful sub's removed replicas), which
/// are kept.
pub async fn scale(
    cluster: &Cluster,
    target: &Target,
    sub: &str,
    kind: WorkloadKind,
    replicas: u32,
) -> Result<Vec<Claim>, ClusterError> {
    let ns = &target.namespace;
    let autoscalers: Api<HorizontalPodAutoscaler> = Api::namespaced(cluster.client.clone(), ns);
    let autoscaler = match autoscalers.get_opt(sub).await {
        Ok(found) => found,
        // A cluster without autoscaling/v2 has no autoscaler to defer to.
        Err(error) if is_not_found(&error) => None,
        Err(source) => {
            return Err(request(format!(
                "look for an autoscaler of `{sub}` in namespace {ns}"
            ))(source));
        }
    };
    if let Some(hpa) = autoscaler {
        let spec = hpa.spec.unwrap_or_default();
        return Err(ClusterError::Autoscaled {
            sub: sub.to_owned(),
            min: spec.min_replicas.unwrap_or(1),
            max: spec.max_replicas,
        });
    }
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let patch = json!({ "spec": { "replicas": replicas } });
    let patch = Patch::Merge(&patch);
    let action = || format!("scale `{sub}` to {replicas}");
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let stateful_sets: Api<StatefulSet> = Api::namespaced(cluster.client.clone(), ns);
    let scaled = match kind {
        WorkloadKind::Deployment => deployments.patch_scale(sub, &params, &patch).await,
        WorkloadKind::StatefulSet => stateful_sets.patch_scale(sub, &params, &patch).await,
    };
    match scaled {
        Ok(_) => {}
        Err(error) if is_not_found(&error) => {
            let (other, found) = match kind {
                WorkloadKind::Deployment => (
                    stateful_sets.get_opt(sub).await.map(|o| o.is_some()),
                    WorkloadKind::StatefulSet,
                ),
                WorkloadKind::StatefulSet => (
                    deployments.get_opt(sub).await.map(|o| o.is_some()),
                    WorkloadKind::Deployment,
                ),
            };
            let other = other.map_err(request(format!(
                "look for a {} `{sub}` in namespace {ns}",
                found.as_str()
            )))?;
            return Err(if other {
                ClusterError::OtherKind {
                    sub: sub.to_owned(),
                    namespace: ns.clone(),
                    expected: kind.as_str(),
                    found: found.as_str(),
                }
            } else {
                ClusterError::NotDeployed {
                    app: target.app.clone(),
                    sub: sub.to_owned(),
                    namespace: ns.clone(),
                }
            });
        }
        Err(source) => return Err(request(action())(source)),
    }
    if kind == WorkloadKind::Deployment {
        return Ok(Vec::new());
    }
    let mut kept = claims::list_if_allowed(cluster, target).await?;
    kept.retain(|c| c.sub == sub && c.ordinal.is_some_and(|n| n >= replicas));
    Ok(kept)
}
