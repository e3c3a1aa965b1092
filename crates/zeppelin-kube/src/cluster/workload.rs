//! Which object runs a sub's pods: shared by the wait, the diagnosis and the pod queries.

/// Which controller runs a sub's pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

impl WorkloadKind {
    /// The workload kind of a manifest object's `kind`; `None` for any other object.
    pub fn of(kind: &str) -> Option<Self> {
        match kind {
            "Deployment" => Some(Self::Deployment),
            "StatefulSet" => Some(Self::StatefulSet),
            _ => None,
        }
    }

    /// The Kubernetes kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
        }
    }
}

/// One sub to wait for: its Deployment or StatefulSet, named after it, of the kind the
/// applied manifest has (an object of the other kind with that name is a leftover).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub sub: String,
    pub kind: WorkloadKind,
}
