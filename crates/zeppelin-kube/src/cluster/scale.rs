//! `zeppelin scale --k8s web=5`: a Deployment's replica count through its `scale`
//! subresource, refused for a sub its HorizontalPodAutoscaler owns.
//!
//! The count holds until the next `zeppelin deploy`, which applies the app file's
//! `replicas` again.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::cluster::apply::FIELD_MANAGER;
use crate::cluster::connect::Cluster;
use crate::cluster::error::{ClusterError, is_not_found, request};
use crate::cluster::target::Target;

/// Sets sub `sub`'s replica count to `replicas`.
pub async fn scale(
    cluster: &Cluster,
    target: &Target,
    sub: &str,
    replicas: u32,
) -> Result<(), ClusterError> {
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
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns);
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let patch = json!({ "spec": { "replicas": replicas } });
    match deployments
        .patch_scale(sub, &params, &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if is_not_found(&error) => Err(ClusterError::NotDeployed {
            app: target.app.clone(),
            sub: sub.to_owned(),
            namespace: ns.clone(),
        }),
        Err(source) => Err(request(format!("scale `{sub}` to {replicas}"))(source)),
    }
}
