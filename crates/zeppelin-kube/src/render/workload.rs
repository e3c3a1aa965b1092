//! A sub's workload: what its Deployment (and a stateful sub's StatefulSet, in `stateful`)
//! is made of — replicas, spread over nodes and zones, the config hash, the hardened pod
//! from `pod` — and the Deployment itself, with rolling updates without downtime.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Affinity, LocalObjectReference, PodAffinityTerm, PodAntiAffinity, PodSpec, PodTemplateSpec,
    TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use zeppelin_core::{App, Sub};

use crate::render::hash;
use crate::render::labels::{self, selector, sub_labels};
use crate::render::options::RenderOptions;
use crate::render::pod::{container, opt_outs, pod_security, security, termination_grace, volumes};
use crate::render::warning::{Skips, Warning};

/// Replicas of a stateless sub that says nothing: two, so one node going away never takes
/// it down.
pub(crate) const DEFAULT_REPLICAS: u32 = 2;

/// Replicas on the cluster: `[kubernetes.sub.NAME] replicas`, else the sub's `replicas`,
/// else [`DEFAULT_REPLICAS`] for a stateless sub and one for a stateful sub (whose replicas
/// each keep their own data, so a second one is not more of the same); `None` when an
/// autoscaler owns the count.
pub(crate) fn replicas(app: &App, sub: &Sub) -> Option<u32> {
    if sub.autoscale.is_some() {
        return None;
    }
    Some(
        app.kubernetes
            .subs
            .get(&sub.name)
            .and_then(|k| k.replicas)
            .or(sub.replicas)
            .unwrap_or(if sub.is_stateful() {
                1
            } else {
                DEFAULT_REPLICAS
            }),
    )
}

/// What a sub's Deployment and StatefulSet share: the object's metadata (with the
/// opt-outs and scanner skips it carries), the pod selector and the pod template.
pub(crate) struct Workload {
    pub(crate) metadata: ObjectMeta,
    pub(crate) selector: LabelSelector,
    pub(crate) template: PodTemplateSpec,
}

/// The parts of a sub's workload. `revision_label` is the label its controller puts on the
/// pods of one revision (`pod-template-hash`, `controller-revision-hash`), so that zone
/// spreading counts the pods of the revision rolling out apart from the old ones.
pub(crate) fn workload(
    app: &App,
    sub: &Sub,
    options: &RenderOptions,
    revision_label: &str,
    warnings: &mut Vec<Warning>,
) -> Workload {
    let HardenedPod {
        annotations,
        mut template,
    } = hardened_pod(
        app,
        sub,
        sub_labels(app, &sub.name),
        options,
        true,
        warnings,
    );
    let selector_labels = selector(app, sub.name.as_str());
    if let Some(spec) = template.spec.as_mut() {
        spec.affinity = Some(anti_affinity(&selector_labels));
        spec.topology_spread_constraints = Some(vec![TopologySpreadConstraint {
            max_skew: 1,
            topology_key: "topology.kubernetes.io/zone".to_owned(),
            when_unsatisfiable: "ScheduleAnyway".to_owned(),
            label_selector: Some(LabelSelector {
                match_labels: Some(selector_labels.clone()),
                match_expressions: None,
            }),
            match_label_keys: Some(vec![revision_label.to_owned()]),
            ..TopologySpreadConstraint::default()
        }]);
    }
    Workload {
        metadata: ObjectMeta {
            name: Some(sub.name.clone()),
            namespace: Some(app.namespace().to_owned()),
            labels: Some(sub_labels(app, &sub.name)),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        },
        selector: LabelSelector {
            match_labels: Some(selector_labels),
            match_expressions: None,
        },
        template,
    }
}

/// A pod as every sub and job runs it, and the annotations of the object that makes it.
pub(crate) struct HardenedPod {
    /// The object's annotations: `[kubernetes] annotations`, the opt-outs, the secrets
    /// given as variables and a scanner skip for each check the app file decided.
    pub(crate) annotations: BTreeMap<String, String>,
    /// The pod template, with `labels` and the config hash.
    pub(crate) template: PodTemplateSpec,
}

/// The hardened pod of `sub` (or of a job, through [`zeppelin_core::Job::as_sub`]): the
/// container from `pod` under the Pod Security Standards `restricted` profile, the app's
/// service account without a token, `/tmp` and the secret files, and the config hash that
/// rolls the pods when the conf or secrets they use change. `serves` says whether scanners
/// expect probes on it: a sub's pods serve, a job's run to completion (and scanners leave
/// Jobs and CronJobs out of the probe checks).
pub(crate) fn hardened_pod(
    app: &App,
    sub: &Sub,
    labels: BTreeMap<String, String>,
    options: &RenderOptions,
    serves: bool,
    warnings: &mut Vec<Warning>,
) -> HardenedPod {
    let mut skips = Skips::new(&sub.name);
    image_skips(sub.image.as_deref().unwrap_or_default(), &mut skips);
    if serves && sub.health.is_none() && sub.port.is_none() {
        skips.skip(
            &["CKV_K8S_8", "CKV_K8S_9"],
            "the sub has no port and no `health`, so there is nothing to probe; add `health = { exec = \"...\" }`",
        );
    }
    let container = container(app, sub, &mut skips);
    let security = security(app, sub);
    let mut annotations = app.kubernetes.annotations.clone();
    let opt_outs = opt_outs(app, sub);
    if !opt_outs.is_empty() {
        let fields: Vec<&str> = opt_outs.iter().map(|(f, _)| f.as_str()).collect();
        annotations.insert(labels::SECURITY_OPT_OUTS.to_owned(), fields.join(","));
        for (field, check) in &opt_outs {
            let reason = format!(
                "the app file opts out of a hardened default: {}",
                field.replace('=', " ")
            );
            match check {
                Some(check) => skips.skip(&[check], &reason),
                None => skips.warn(reason),
            }
        }
    }
    let exposed: Vec<&str> = app
        .secrets
        .iter()
        .filter(|(_, s)| s.expose_env)
        .map(|(n, _)| n.as_str())
        .collect();
    if !exposed.is_empty() {
        annotations.insert(labels::SECRETS_AS_ENV.to_owned(), exposed.join(","));
    }
    annotations.extend(skips.annotations());
    warnings.extend(skips.into_warnings());

    let mut template_annotations = BTreeMap::from([
        (
            labels::CONFIG_HASH.to_owned(),
            hash::config_hash(app, sub, options),
        ),
        (
            "kubectl.kubernetes.io/default-container".to_owned(),
            sub.name.clone(),
        ),
    ]);
    template_annotations.extend(app.kubernetes.annotations.clone());
    HardenedPod {
        annotations,
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                annotations: Some(template_annotations),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                service_account_name: Some(app.name.clone()),
                automount_service_account_token: Some(false),
                enable_service_links: Some(false),
                security_context: Some(pod_security(&security)),
                containers: vec![container],
                volumes: Some(volumes(app)),
                termination_grace_period_seconds: Some(termination_grace(sub)),
                image_pull_secrets: (!app.kubernetes.image_pull_secrets.is_empty()).then(|| {
                    app.kubernetes
                        .image_pull_secrets
                        .iter()
                        .map(|name| LocalObjectReference { name: name.clone() })
                        .collect()
                }),
                ..PodSpec::default()
            }),
        },
    }
}

/// A stateless sub's Deployment.
pub(crate) fn deployment(
    app: &App,
    sub: &Sub,
    options: &RenderOptions,
    warnings: &mut Vec<Warning>,
) -> Deployment {
    let Workload {
        metadata,
        selector,
        template,
    } = workload(app, sub, options, "pod-template-hash", warnings);
    let replicas = replicas(app, sub);
    if replicas == Some(1) {
        warnings.push(Warning::sub(
            &sub.name,
            "runs a single replica, so it is down during node maintenance; set `replicas = 2` or more",
        ));
    }
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: replicas.map(count),
            selector,
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::String("25%".to_owned())),
                }),
            }),
            revision_history_limit: Some(REVISION_HISTORY_LIMIT),
            template,
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// Old revisions a workload's controller keeps (ReplicaSets, ControllerRevisions).
pub(crate) const REVISION_HISTORY_LIMIT: i32 = 10;

/// A replica count as the API takes it.
pub(crate) fn count(replicas: u32) -> i32 {
    i32::try_from(replicas).unwrap_or(i32::MAX)
}

/// Scanner checks an image reference decides: a tag instead of a digest, or no fixed tag.
fn image_skips(image: &str, skips: &mut Skips) {
    if labels::image_has_digest(image) {
        return;
    }
    skips.skip(
        &["CKV_K8S_43"],
        &format!("image `{image}` is given by tag, not digest, so the same tag may later pull different code; pin it as `name@sha256:...`"),
    );
    match labels::image_tag(image) {
        None | Some("latest") => skips.skip(
            &["CKV_K8S_14"],
            &format!("image `{image}` has no fixed tag; give a version tag or a digest"),
        ),
        Some(_) => {}
    }
}

/// Prefers nodes that do not run a replica of the same sub yet.
fn anti_affinity(selector: &BTreeMap<String, String>) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        topology_key: "kubernetes.io/hostname".to_owned(),
                        label_selector: Some(LabelSelector {
                            match_labels: Some(selector.clone()),
                            match_expressions: None,
                        }),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}
