//! The kinds this server knows: one static table that discovery, routing and the store share.
//!
//! Every kind Zeppelin writes or reads back is listed, with the names and verbs `kubectl`
//! needs to map `kubectl get deploy` or a manifest's `apiVersion`/`kind` to a URL.

/// One served resource type (a group, version and plural name), as discovery describes it.
#[derive(Debug)]
pub(crate) struct Resource {
    /// API group; empty for the core group.
    pub(crate) group: &'static str,
    pub(crate) version: &'static str,
    pub(crate) plural: &'static str,
    pub(crate) singular: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) namespaced: bool,
    pub(crate) short_names: &'static [&'static str],
    /// Whether the `status` subresource exists (then writes to the main resource keep status).
    pub(crate) status: bool,
    /// Whether the `scale` subresource exists.
    pub(crate) scale: bool,
}

impl Resource {
    /// `v1` for the core group, `group/version` otherwise.
    pub(crate) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, or `pods` for the core group: the name error messages use.
    pub(crate) fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Whether `metadata.generation` is kept (set to 1, bumped on spec changes), as the
    /// real server does for kinds with a spec, not for config maps, secrets or services.
    pub(crate) fn tracks_generation(&self) -> bool {
        matches!(
            self.kind,
            "Deployment"
                | "ReplicaSet"
                | "StatefulSet"
                | "Job"
                | "CronJob"
                | "Pod"
                | "PodDisruptionBudget"
                | "HorizontalPodAutoscaler"
                | "NetworkPolicy"
                | "Ingress"
        )
    }

    /// `Deployment.apps`, or `Pod`: the qualified kind validation messages use.
    pub(crate) fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_owned()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }
}

const fn kind(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> Resource {
    Resource {
        group,
        version,
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        status: false,
        scale: false,
    }
}

const fn with_status(mut resource: Resource) -> Resource {
    resource.status = true;
    resource
}

const fn with_scale(mut resource: Resource) -> Resource {
    resource.status = true;
    resource.scale = true;
    resource
}

/// Every resource type served, in discovery order.
pub(crate) static RESOURCES: &[Resource] = &[
    with_status(kind(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
    )),
    kind(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
    ),
    kind(
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
    ),
    kind("", "v1", "secrets", "secret", "Secret", true, &[]),
    with_status(kind(
        "",
        "v1",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
    )),
    kind(
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
    ),
    with_status(kind("", "v1", "pods", "pod", "Pod", true, &["po"])),
    kind("", "v1", "events", "event", "Event", true, &["ev"]),
    with_status(kind(
        "",
        "v1",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
    )),
    with_scale(kind(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
    )),
    with_scale(kind(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
    )),
    with_scale(kind(
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
    )),
    kind(
        "apps",
        "v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        true,
        &[],
    ),
    with_status(kind("batch", "v1", "jobs", "job", "Job", true, &[])),
    with_status(kind(
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        &["cj"],
    )),
    with_status(kind(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
        &["pdb"],
    )),
    with_status(kind(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
    )),
    kind(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        true,
        &["netpol"],
    ),
    with_status(kind(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "ingress",
        "Ingress",
        true,
        &["ing"],
    )),
];

/// Index of a resource in [`RESOURCES`]; the store keys objects by it.
pub(crate) type ResourceId = usize;

/// Finds the resource served at `group`/`version` under `plural`.
pub(crate) fn find(group: &str, version: &str, plural: &str) -> Option<ResourceId> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Finds a resource by a name a person would type: `deployments`, `deployment`, `deploy`,
/// `Deployment` or `deployments.apps`.
pub(crate) fn find_by_name(name: &str) -> Option<ResourceId> {
    let lower = name.to_ascii_lowercase();
    RESOURCES.iter().position(|r| {
        r.plural == lower
            || r.singular == lower
            || r.kind.eq_ignore_ascii_case(&lower)
            || r.group_resource() == lower
            || r.short_names.contains(&lower.as_str())
    })
}

/// The served groups, each with its single version, in discovery order.
pub(crate) fn groups() -> Vec<(&'static str, &'static str)> {
    let mut groups: Vec<(&'static str, &'static str)> = Vec::new();
    for resource in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !groups.iter().any(|(g, _)| *g == resource.group) {
            groups.push((resource.group, resource.version));
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_kind_by_every_name_people_type() {
        let deploy = find("apps", "v1", "deployments").unwrap();
        for name in [
            "deployments",
            "deployment",
            "deploy",
            "Deployment",
            "deployments.apps",
        ] {
            assert_eq!(find_by_name(name), Some(deploy), "{name}");
        }
    }

    #[test]
    fn finds_stateful_sets_and_claims_by_their_short_names() {
        assert_eq!(
            find_by_name("sts"),
            find("apps", "v1", "statefulsets"),
            "sts"
        );
        assert_eq!(
            find_by_name("pvc"),
            find("", "v1", "persistentvolumeclaims"),
            "pvc"
        );
        assert!(find_by_name("controllerrevisions").is_some());
    }

    #[test]
    fn lists_each_group_once() {
        let groups = groups();
        assert_eq!(
            groups
                .iter()
                .filter(|(g, _)| *g == "networking.k8s.io")
                .count(),
            1
        );
        assert!(groups.contains(&("autoscaling", "v2")));
    }
}
