//! What keeps a sub up through disruptions and load: a PodDisruptionBudget when it runs two
//! or more replicas, and a HorizontalPodAutoscaler when it autoscales.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zeppelin_core::{App, Sub};

use crate::render::labels::selector;
use crate::render::service::sub_meta;
use crate::render::warning::Warning;
use crate::render::workload::replicas;

/// At most one replica down at a time from voluntary disruptions (node drains, upgrades).
/// Pods that are not ready anyway may always be evicted, so a broken rollout never blocks a
/// drain.
pub(crate) fn pdb(app: &App, sub: &Sub) -> Option<PodDisruptionBudget> {
    let enough = sub.autoscale.is_some() || replicas(app, sub).is_some_and(|r| r >= 2);
    enough.then(|| PodDisruptionBudget {
        metadata: sub_meta(app, sub),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector(app, &sub.name)),
                match_expressions: None,
            }),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".to_owned()),
            min_available: None,
        }),
        ..PodDisruptionBudget::default()
    })
}

/// Scales a stateless sub's Deployment on average CPU use, as a share of its CPU request.
pub(crate) fn hpa(
    app: &App,
    sub: &Sub,
    warnings: &mut Vec<Warning>,
) -> Option<HorizontalPodAutoscaler> {
    let scale = sub.autoscale?;
    if scale.min < 2 {
        warnings.push(Warning::sub(
            &sub.name,
            format!(
                "autoscales down to {} replica, so it can be down during node maintenance; set `autoscale.min` to 2 or more",
                scale.min
            ),
        ));
    }
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    Some(HorizontalPodAutoscaler {
        metadata: sub_meta(app, sub),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_owned()),
                kind: "Deployment".to_owned(),
                name: sub.name.clone(),
            },
            min_replicas: Some(int(scale.min)),
            max_replicas: int(scale.max),
            metrics: Some(vec![MetricSpec {
                type_: "Resource".to_owned(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".to_owned(),
                    target: MetricTarget {
                        type_: "Utilization".to_owned(),
                        average_utilization: Some(int(scale.cpu_percent)),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            behavior: None,
        }),
        ..HorizontalPodAutoscaler::default()
    })
}
