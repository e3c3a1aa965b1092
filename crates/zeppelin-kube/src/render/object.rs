//! One rendered object, whatever its kind, the stage a deploy applies it in, and the
//! objects of a whole app as [`render`](super::render()) returns them.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};
use kube::core::{ApiResource, DynamicObject};

use crate::render::error::RenderError;
use crate::render::warning::Warning;

/// The order a deploy applies objects in: everything an object refers to exists before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Namespace,
    ServiceAccount,
    Config,
    Service,
    /// Deployments and StatefulSets: the pods, once what they mount and reach exists.
    Workload,
    PodDisruptionBudget,
    HorizontalPodAutoscaler,
    NetworkPolicy,
    /// Jobs and CronJobs, once everything their pods mount and reach exists (their network
    /// policies too). A deploy runs a `before` job's Job apart, after the rollouts it
    /// depends on and before the workloads it gates (`zeppelin deploy` holds both back).
    Job,
    Ingress,
}

/// A typed Kubernetes object of one of the kinds Zeppelin renders.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Namespace(Namespace),
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    Secret(Secret),
    Service(Service),
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    PodDisruptionBudget(PodDisruptionBudget),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    NetworkPolicy(NetworkPolicy),
    /// A `before` job's run, named by the hash of its inputs.
    Job(Box<Job>),
    /// A scheduled job, or the suspended template of an on-demand one.
    CronJob(Box<CronJob>),
    Ingress(Ingress),
}

/// The objects of one app, in apply order, and what the app file loosened.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Every object, sorted by stage, then kind, then name.
    pub objects: Vec<Object>,
    /// Rules the app file relaxed, and defaults worth knowing; the CLI prints them on stderr.
    pub warnings: Vec<Warning>,
    /// Whether the app has secrets but the Secret object was not rendered.
    pub secrets_left_out: bool,
}

impl Rendered {
    /// The objects grouped by stage, in apply order: a deploy applies one stage after the
    /// other, and the objects within one stage in any order.
    pub fn stages(&self) -> Vec<(Stage, Vec<&Object>)> {
        let mut stages: BTreeMap<Stage, Vec<&Object>> = BTreeMap::new();
        for object in &self.objects {
            stages.entry(object.stage()).or_default().push(object);
        }
        stages.into_iter().collect()
    }
}

/// Calls `$f` with the typed object inside any variant.
macro_rules! each {
    ($object:expr, $o:ident => $f:expr) => {
        match $object {
            Object::Namespace($o) => $f,
            Object::ServiceAccount($o) => $f,
            Object::ConfigMap($o) => $f,
            Object::Secret($o) => $f,
            Object::Service($o) => $f,
            Object::Deployment(boxed) => {
                let $o = &**boxed;
                $f
            }
            Object::StatefulSet(boxed) => {
                let $o = &**boxed;
                $f
            }
            Object::PodDisruptionBudget($o) => $f,
            Object::HorizontalPodAutoscaler($o) => $f,
            Object::NetworkPolicy($o) => $f,
            Object::Job(boxed) => {
                let $o = &**boxed;
                $f
            }
            Object::CronJob(boxed) => {
                let $o = &**boxed;
                $f
            }
            Object::Ingress($o) => $f,
        }
    };
}

fn kind_of<K: Resource>(_: &K) -> (&'static str, &'static str) {
    (K::KIND, K::API_VERSION)
}

fn api_resource_of<K: Resource>(_: &K) -> ApiResource {
    ApiResource {
        group: K::GROUP.to_owned(),
        version: K::VERSION.to_owned(),
        api_version: K::API_VERSION.to_owned(),
        kind: K::KIND.to_owned(),
        plural: K::URL_PATH_SEGMENT.to_owned(),
    }
}

impl Object {
    /// The kind, such as `Deployment`.
    pub fn kind(&self) -> &'static str {
        each!(self, o => kind_of(o).0)
    }

    /// The API version, such as `apps/v1`.
    pub fn api_version(&self) -> &'static str {
        each!(self, o => kind_of(o).1)
    }

    /// Group, version, kind and plural, for a dynamic API client.
    pub fn api_resource(&self) -> ApiResource {
        each!(self, o => api_resource_of(o))
    }

    pub fn metadata(&self) -> &ObjectMeta {
        each!(self, o => o.metadata())
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// The namespace; `None` for the Namespace itself.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// When a deploy applies this object.
    pub fn stage(&self) -> Stage {
        match self {
            Self::Namespace(_) => Stage::Namespace,
            Self::ServiceAccount(_) => Stage::ServiceAccount,
            Self::ConfigMap(_) | Self::Secret(_) => Stage::Config,
            Self::Service(_) => Stage::Service,
            Self::Deployment(_) | Self::StatefulSet(_) => Stage::Workload,
            Self::PodDisruptionBudget(_) => Stage::PodDisruptionBudget,
            Self::HorizontalPodAutoscaler(_) => Stage::HorizontalPodAutoscaler,
            Self::NetworkPolicy(_) => Stage::NetworkPolicy,
            Self::Job(_) | Self::CronJob(_) => Stage::Job,
            Self::Ingress(_) => Stage::Ingress,
        }
    }

    /// The object as JSON, with `apiVersion` and `kind`, ready for a server-side apply.
    pub fn to_json(&self) -> serde_json::Value {
        each!(self, o => serde_json::to_value(o)).expect("Kubernetes objects serialize")
    }

    /// The object as a [`DynamicObject`], for kube's dynamic API.
    pub fn to_dynamic(&self) -> DynamicObject {
        serde_json::from_value(self.to_json())
            .expect("every object has apiVersion, kind and metadata")
    }

    /// `kind/name`, the way kubectl names objects, for messages.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    /// Refuses names and label values Kubernetes would refuse for their length.
    pub(crate) fn check_names(&self) -> Result<(), RenderError> {
        // Names of these kinds become DNS labels (Services, Namespaces) or parts of pod
        // names (Deployments); the others may be DNS subdomains. A StatefulSet's name, with
        // a dash and a 10-character hash, is the `controller-revision-hash` label value of
        // its pods, which may not exceed 63 characters. A Job's name is the `job-name`
        // label of its pods; a CronJob's names its Jobs with an 11-character suffix.
        let limit = match self {
            Self::Namespace(_) | Self::Service(_) | Self::Deployment(_) | Self::Job(_) => 63,
            Self::StatefulSet(_) | Self::CronJob(_) => 52,
            _ => 253,
        };
        let name = self.name();
        if name.len() > limit {
            return Err(RenderError::NameTooLong {
                kind: self.kind(),
                name: name.to_owned(),
                len: name.len(),
                limit,
            });
        }
        for value in self.metadata().labels.iter().flat_map(|l| l.values()) {
            if value.len() > 63 {
                return Err(RenderError::LabelTooLong {
                    kind: self.kind(),
                    name: name.to_owned(),
                    value: value.clone(),
                    len: value.len(),
                });
            }
        }
        Ok(())
    }
}

impl serde::Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        each!(self, o => o.serialize(serializer))
    }
}
