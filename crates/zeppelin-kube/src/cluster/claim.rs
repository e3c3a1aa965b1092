//! One PersistentVolumeClaim as Zeppelin reports it: plain data, so errors and reports can
//! carry claims without depending on the code that lists or deletes them.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;

use crate::render::labels::NAME;

/// One claim of the app, as `ps`, `scale`, `deploy` and `delete` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub name: String,
    /// The claim object's uid: a claim deleted and made again under the same name is
    /// another claim, with other data.
    pub uid: String,
    /// The sub whose StatefulSet made it.
    pub sub: String,
    /// The pod that mounts it (`redis-0`), from the ordinal the claim's name ends with.
    pub replica: Option<String>,
    /// The replica ordinal the claim belongs to.
    pub ordinal: Option<u32>,
    /// `Bound`, `Pending` or `Lost`.
    pub phase: String,
    /// The storage class asked for; `None` means the cluster's default.
    pub storage_class: Option<String>,
    /// The capacity of a bound claim, or the size asked for.
    pub size: Option<String>,
}

impl Claim {
    pub(crate) fn from_object(claim: &PersistentVolumeClaim) -> Self {
        let name = claim.metadata.name.clone().unwrap_or_default();
        let sub = claim
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(NAME))
            .cloned()
            .unwrap_or_default();
        let ordinal = name
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse::<u32>().ok());
        let status = claim.status.as_ref();
        let spec = claim.spec.as_ref();
        let capacity = status
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage"));
        let requested = spec
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"));
        Self {
            replica: ordinal
                .filter(|_| !sub.is_empty())
                .map(|n| format!("{sub}-{n}")),
            ordinal,
            phase: status
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Pending".to_owned()),
            storage_class: spec.and_then(|s| s.storage_class_name.clone()),
            size: capacity.or(requested).map(|q| q.0.clone()),
            uid: claim.metadata.uid.clone().unwrap_or_default(),
            sub,
            name,
        }
    }

    /// Whether a volume is bound to the claim.
    pub fn is_bound(&self) -> bool {
        self.phase == "Bound"
    }
}

/// The command that deletes exactly `claims`, by name, for a user who wants that data gone.
pub fn delete_command(namespace: &str, claims: &[Claim]) -> String {
    let names: Vec<&str> = claims.iter().map(|c| c.name.as_str()).collect();
    format!("kubectl delete pvc -n {namespace} {}", names.join(" "))
}
