//! Cluster-only settings: the `[kubernetes]` table of the app file.
//!
//! The local runtime ignores all of this; `zeppelin render` and `zeppelin deploy` read it.

use std::collections::BTreeMap;

/// `[kubernetes]`: how the app maps onto a cluster beyond what the subs say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Kubernetes {
    /// Render and apply the Namespace object; `false` when it is managed elsewhere.
    pub create_namespace: bool,
    /// `ingressClassName` of the Ingress.
    pub ingress_class: Option<String>,
    /// TLS for routed hosts.
    pub tls: Option<Tls>,
    /// Pull secrets added to every pod.
    pub image_pull_secrets: Vec<String>,
    /// Extra labels on every object.
    pub labels: BTreeMap<String, String>,
    /// Extra annotations on every object.
    pub annotations: BTreeMap<String, String>,
    /// Where the ingress controller runs, so network policies let it reach routed subs.
    pub ingress_controller: IngressController,
    /// Per-sub cluster overrides, `[kubernetes.sub.NAME]`.
    pub subs: BTreeMap<String, KubeSub>,
}

impl Default for Kubernetes {
    fn default() -> Self {
        Self {
            create_namespace: true,
            ingress_class: None,
            tls: None,
            image_pull_secrets: Vec::new(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            ingress_controller: IngressController::default(),
            subs: BTreeMap::new(),
        }
    }
}

/// TLS for the Ingress: an existing secret, or a cert-manager issuer that makes one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tls {
    /// The Secret holding the certificate; defaults to `<app>-tls`.
    pub secret: Option<String>,
    /// A cert-manager `ClusterIssuer` to request the certificate from.
    pub cluster_issuer: Option<String>,
}

/// Selects the ingress controller's pods for network policies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IngressController {
    pub namespace: String,
    pub pod_labels: BTreeMap<String, String>,
}

impl Default for IngressController {
    fn default() -> Self {
        Self {
            namespace: "ingress-nginx".to_owned(),
            pod_labels: BTreeMap::from([(
                "app.kubernetes.io/name".to_owned(),
                "ingress-nginx".to_owned(),
            )]),
        }
    }
}

/// `[kubernetes.sub.NAME]`: cluster-only overrides for one sub.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct KubeSub {
    /// Explicit loosening of the hardened pod defaults, for images that need it.
    pub security: SecurityOptOuts,
    /// Replicas on the cluster, when different from the sub's `replicas`.
    pub replicas: Option<u32>,
    /// The container's command, instead of the image's entrypoint.
    pub command: Option<Vec<String>>,
    /// Destinations outside the app this sub may reach.
    pub egress: Vec<Egress>,
    /// The `StorageClass` of a stateful sub's claims; the cluster's default when absent.
    pub storage_class: Option<String>,
}

/// One allowed egress destination.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Egress {
    /// An IP block in CIDR notation.
    pub cidr: String,
    /// TCP ports; every port when empty.
    pub ports: Vec<u16>,
}

/// Per-sub opt-outs from the hardened pod defaults (Pod Security Standards `restricted`).
///
/// Every field that differs from its default loosens the pod, so `zeppelin render` warns
/// about it: an image that needs one should be fixed where possible, not silently allowed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecurityOptOuts {
    /// Mount the container's root filesystem read-only (default `true`); `false` for images
    /// that write outside `/tmp`.
    pub read_only_root_filesystem: bool,
    /// The user the container runs as, instead of 10001 (never 0: pods run as non-root).
    pub run_as_user: Option<u32>,
    /// The group the container runs as and owns mounted volumes, instead of 10001.
    pub run_as_group: Option<u32>,
}

impl SecurityOptOuts {
    /// The user and group pods run as unless told otherwise: high enough not to collide
    /// with users on the node.
    pub const DEFAULT_ID: u32 = 10001;
}

impl Default for SecurityOptOuts {
    fn default() -> Self {
        Self {
            read_only_root_filesystem: true,
            run_as_user: None,
            run_as_group: None,
        }
    }
}
