//! A stateful sub's StatefulSet: the pod every sub gets (from `workload`), replicas with
//! stable names and ordered starts, and one PersistentVolumeClaim per replica and volume
//! that outlives the pods, the StatefulSet and every deploy.
//!
//! The claims are made by the StatefulSet controller from the claim templates, never
//! rendered as objects, so a deploy never applies, prunes or deletes one; the retention
//! policy keeps them when the StatefulSet is deleted or scaled down, so a later deploy or
//! scale up gives replica N its volume N back.

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use zeppelin_core::{App, Sub};

use crate::render::error::RenderError;
use crate::render::labels::claim_labels;
use crate::render::options::RenderOptions;
use crate::render::pod::{SECRETS_VOLUME, TMP_VOLUME};
use crate::render::service::pods_service_name;
use crate::render::warning::Warning;
use crate::render::workload::{REVISION_HISTORY_LIMIT, Workload, count, replicas, workload};

/// Claims are kept whatever happens to the StatefulSet: only a request that names them
/// deletes data.
const RETAIN: &str = "Retain";

/// A stateful sub's StatefulSet; fails on a volume Kubernetes cannot claim.
pub(crate) fn stateful_set(
    app: &App,
    sub: &Sub,
    options: &RenderOptions,
    warnings: &mut Vec<Warning>,
) -> Result<StatefulSet, RenderError> {
    let claims = claim_templates(app, sub)?;
    let Workload {
        metadata,
        selector,
        template,
    } = workload(app, sub, options, "controller-revision-hash", warnings);
    let replicas = replicas(app, sub);
    if replicas == Some(1) {
        warnings.push(Warning::sub(
            &sub.name,
            "runs a single replica, so it is down while its pod moves to another node; each replica keeps its own data, so add replicas only if the app replicates between them",
        ));
    }
    Ok(StatefulSet {
        metadata,
        spec: Some(StatefulSetSpec {
            replicas: replicas.map(count),
            selector,
            service_name: Some(pods_service_name(&sub.name)),
            // Replica N starts only once replicas 0 to N-1 are ready, as locally.
            pod_management_policy: Some("OrderedReady".to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: None,
            }),
            revision_history_limit: Some(REVISION_HISTORY_LIMIT),
            template,
            volume_claim_templates: Some(claims),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some(RETAIN.to_owned()),
                    when_scaled: Some(RETAIN.to_owned()),
                },
            ),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    })
}

/// One claim template per volume, named after it (replica N of `redis` gets the claim
/// `data-redis-N`): `ReadWriteOnce`, the volume's size, and the sub's storage class when
/// `[kubernetes.sub.NAME] storage_class` names one (else the cluster's default class).
fn claim_templates(app: &App, sub: &Sub) -> Result<Vec<PersistentVolumeClaim>, RenderError> {
    let storage_class = app
        .kubernetes
        .subs
        .get(&sub.name)
        .and_then(|k| k.storage_class.clone());
    sub.volumes
        .values()
        .map(|volume| {
            if [TMP_VOLUME, SECRETS_VOLUME].contains(&volume.name.as_str()) {
                return Err(RenderError::ReservedVolumeName {
                    sub: sub.name.clone(),
                    volume: volume.name.clone(),
                });
            }
            let Some(size) = &volume.size else {
                return Err(RenderError::MissingVolumeSize {
                    sub: sub.name.clone(),
                    volume: volume.name.clone(),
                });
            };
            Ok(PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some(volume.name.clone()),
                    labels: Some(claim_labels(app, &sub.name)),
                    ..ObjectMeta::default()
                },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(
                            [("storage".to_owned(), Quantity(size.as_str().to_owned()))].into(),
                        ),
                        limits: None,
                    }),
                    storage_class_name: storage_class.clone(),
                    ..PersistentVolumeClaimSpec::default()
                }),
                ..PersistentVolumeClaim::default()
            })
        })
        .collect()
}
