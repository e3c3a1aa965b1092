//! What a deploy applies: objects as JSON with their API resource and stage, built from a
//! fresh render or read back from a recorded revision.

use kube::core::ApiResource;
use serde_json::Value;

use crate::render::object::{Rendered, Stage};

/// The kinds Zeppelin renders, in apply order: `(kind, group, version, plural, namespaced)`.
///
/// A deploy lists, prunes and deletes exactly these kinds, so PersistentVolumeClaims are
/// never among them: a stateful sub's claims come from its StatefulSet's templates and are
/// deleted only when asked for by name.
pub(crate) const KINDS: [(&str, &str, &str, &str, bool); 13] = [
    ("Namespace", "", "v1", "namespaces", false),
    ("ServiceAccount", "", "v1", "serviceaccounts", true),
    ("ConfigMap", "", "v1", "configmaps", true),
    ("Secret", "", "v1", "secrets", true),
    ("Service", "", "v1", "services", true),
    ("Deployment", "apps", "v1", "deployments", true),
    ("StatefulSet", "apps", "v1", "statefulsets", true),
    (
        "PodDisruptionBudget",
        "policy",
        "v1",
        "poddisruptionbudgets",
        true,
    ),
    (
        "HorizontalPodAutoscaler",
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        true,
    ),
    (
        "NetworkPolicy",
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        true,
    ),
    ("Job", "batch", "v1", "jobs", true),
    ("CronJob", "batch", "v1", "cronjobs", true),
    ("Ingress", "networking.k8s.io", "v1", "ingresses", true),
];

/// The API resource of one of [`KINDS`].
pub(crate) fn resource(kind: &str) -> Option<ApiResource> {
    KINDS
        .iter()
        .find(|(k, ..)| *k == kind)
        .map(|(kind, group, version, plural, _)| ApiResource {
            group: (*group).to_owned(),
            version: (*version).to_owned(),
            api_version: if group.is_empty() {
                (*version).to_owned()
            } else {
                format!("{group}/{version}")
            },
            kind: (*kind).to_owned(),
            plural: (*plural).to_owned(),
        })
}

fn stage_of(kind: &str) -> Option<Stage> {
    Some(match kind {
        "Namespace" => Stage::Namespace,
        "ServiceAccount" => Stage::ServiceAccount,
        "ConfigMap" | "Secret" => Stage::Config,
        "Service" => Stage::Service,
        "Deployment" | "StatefulSet" => Stage::Workload,
        "PodDisruptionBudget" => Stage::PodDisruptionBudget,
        "HorizontalPodAutoscaler" => Stage::HorizontalPodAutoscaler,
        "NetworkPolicy" => Stage::NetworkPolicy,
        "Job" | "CronJob" => Stage::Job,
        "Ingress" => Stage::Ingress,
        _ => return None,
    })
}

/// One object to apply.
#[derive(Debug, Clone)]
pub struct Item {
    pub stage: Stage,
    pub resource: ApiResource,
    /// The object as sent, with `apiVersion`, `kind` and `metadata`.
    pub object: Value,
}

impl Item {
    pub fn kind(&self) -> &str {
        &self.resource.kind
    }

    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// `kind/name`, as kubectl writes it.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }
}

/// Every object of one deploy, sorted by stage.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub items: Vec<Item>,
}

impl Manifest {
    /// The objects of a fresh render.
    pub fn from_rendered(rendered: &Rendered) -> Self {
        Self {
            items: rendered
                .objects
                .iter()
                .map(|object| Item {
                    stage: object.stage(),
                    resource: object.api_resource(),
                    object: object.to_json(),
                })
                .collect(),
        }
    }

    /// The objects of a recorded revision; `None` names an object of a kind Zeppelin does
    /// not render, which only a hand-edited revision has.
    pub(crate) fn from_values(values: Vec<Value>) -> Result<Self, String> {
        let mut items = Vec::with_capacity(values.len());
        for object in values {
            let kind = object["kind"].as_str().unwrap_or_default().to_owned();
            let (Some(stage), Some(resource)) = (stage_of(&kind), resource(&kind)) else {
                return Err(format!("it holds an object of kind `{kind}`"));
            };
            items.push(Item {
                stage,
                resource,
                object,
            });
        }
        items.sort_by_key(|item| item.stage);
        Ok(Self { items })
    }

    /// The objects grouped by stage, in apply order.
    pub fn stages(&self) -> Vec<Vec<&Item>> {
        let mut stages: Vec<Vec<&Item>> = Vec::new();
        let mut last = None;
        for item in &self.items {
            if last != Some(item.stage) {
                stages.push(Vec::new());
                last = Some(item.stage);
            }
            stages.last_mut().expect("a stage was pushed").push(item);
        }
        stages
    }

    /// Whether the manifest holds the object `kind/name`.
    pub fn contains(&self, kind: &str, name: &str) -> bool {
        self.items
            .iter()
            .any(|item| item.kind() == kind && item.name() == name)
    }

    /// The objects as a JSON array, for a revision.
    pub(crate) fn to_values(&self) -> Vec<Value> {
        self.items.iter().map(|item| item.object.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_revision_is_read_back_in_apply_order() {
        let object = |kind: &str, api_version: &str| {
            json!({"apiVersion": api_version, "kind": kind,
                   "metadata": {"name": "x", "namespace": "shop"}})
        };
        let manifest = Manifest::from_values(vec![
            object("Ingress", "networking.k8s.io/v1"),
            object("Deployment", "apps/v1"),
            object("ConfigMap", "v1"),
            object("Secret", "v1"),
        ])
        .unwrap();
        let stages: Vec<Vec<&str>> = manifest
            .stages()
            .iter()
            .map(|stage| stage.iter().map(|item| item.kind()).collect())
            .collect();
        assert_eq!(
            stages,
            vec![
                vec!["ConfigMap", "Secret"],
                vec!["Deployment"],
                vec!["Ingress"]
            ]
        );
        assert_eq!(manifest.items[2].resource.plural, "deployments");
        assert!(manifest.contains("Ingress", "x"));
        let err = Manifest::from_values(vec![object("DaemonSet", "apps/v1")]).unwrap_err();
        assert!(err.contains("DaemonSet"), "{err}");
    }

    #[test]
    fn a_statefulset_is_read_back_with_the_deployments() {
        let manifest = Manifest::from_values(vec![
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                   "metadata": {"name": "redis", "namespace": "guestbook"}}),
            json!({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "redis-pods", "namespace": "guestbook"}}),
        ])
        .unwrap();
        assert_eq!(manifest.items[1].stage, Stage::Workload);
        assert_eq!(manifest.items[1].resource.plural, "statefulsets");
        assert_eq!(manifest.items[1].resource.api_version, "apps/v1");
    }

    #[test]
    fn claims_are_never_a_kind_a_deploy_lists_prunes_or_deletes() {
        assert!(
            KINDS
                .iter()
                .all(|(kind, ..)| *kind != "PersistentVolumeClaim")
        );
        assert!(resource("PersistentVolumeClaim").is_none());
        let err = Manifest::from_values(vec![json!({"apiVersion": "v1",
            "kind": "PersistentVolumeClaim", "metadata": {"name": "data-redis-0"}})])
        .unwrap_err();
        assert!(err.contains("PersistentVolumeClaim"), "{err}");
    }
}
