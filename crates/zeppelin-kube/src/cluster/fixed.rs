//! A StatefulSet change the cluster cannot make in place, and its explanation: plain data
//! and text, so the error that carries it depends on nothing that talks to the cluster.

use std::fmt;

use crate::cluster::claim::Claim;

/// One change to a part of a StatefulSet that an update cannot change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A volume's size (`1Gi` → `2Gi`).
    Size {
        volume: String,
        from: String,
        to: String,
        /// Whether the new size is larger, which existing claims can follow; they never
        /// shrink.
        grown: bool,
    },
    /// A volume's storage class; `None` is the cluster's default class.
    StorageClass {
        volume: String,
        from: Option<String>,
        to: Option<String>,
    },
    /// A volume the StatefulSet in the cluster does not have.
    Added { volume: String },
    /// A volume of the StatefulSet in the cluster that the app no longer has.
    Removed { volume: String },
    /// Any other fixed field: access modes, claim labels, service name, selector, policy.
    Other {
        what: String,
        from: String,
        to: String,
    },
}

/// A stateful sub whose StatefulSet cannot be updated in place, what changed, and the
/// claims that hold its data now: enough to tell the user how to go on.
#[derive(Debug, Clone)]
pub struct FixedChanges {
    pub sub: String,
    pub namespace: String,
    pub changes: Vec<Change>,
    /// The sub's claims in the cluster (empty when they may not be listed).
    pub claims: Vec<Claim>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = |c: &Option<String>| {
            c.as_deref().map_or_else(
                || "(the cluster's default)".to_owned(),
                |c| format!("`{c}`"),
            )
        };
        match self {
            Self::Size {
                volume, from, to, ..
            } => write!(f, "volume `{volume}`: size {from} → {to}"),
            Self::StorageClass { volume, from, to } => write!(
                f,
                "volume `{volume}`: storage class {} → {}",
                class(from),
                class(to)
            ),
            Self::Added { volume } => write!(f, "volume `{volume}` added"),
            Self::Removed { volume } => write!(f, "volume `{volume}` removed"),
            Self::Other { what, from, to } => write!(f, "{what}: {from} → {to}"),
        }
    }
}

impl FixedChanges {
    /// The names of the sub's claims of `volume`, or the pattern they follow.
    fn claims_of(&self, volume: &str) -> Vec<String> {
        let prefix = format!("{volume}-{}-", self.sub);
        let names: Vec<String> = self
            .claims
            .iter()
            .filter(|c| c.name.starts_with(&prefix))
            .map(|c| c.name.clone())
            .collect();
        if names.is_empty() {
            vec![format!("{prefix}N")]
        } else {
            names
        }
    }

    /// What each change means for the data already there, and what else to run first.
    fn consequences(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = &self.namespace;
        for change in &self.changes {
            match change {
                Change::Size {
                    volume,
                    from,
                    to,
                    grown: true,
                } => {
                    writeln!(
                        f,
                        "- the claims of `{volume}` keep {from}; to grow them, if their storage class allows volume expansion (`allowVolumeExpansion: true` in `kubectl get storageclass`), first run:"
                    )?;
                    for claim in self.claims_of(volume) {
                        writeln!(
                            f,
                            "    kubectl patch pvc -n {ns} {claim} -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{to}\"}}}}}}}}'"
                        )?;
                    }
                }
                Change::Size {
                    volume, from, to, ..
                } => writeln!(
                    f,
                    "- the claims of `{volume}` keep {from}: a claim never shrinks, so only the claims of new replicas would get {to}"
                )?,
                Change::StorageClass { volume, from, .. } => {
                    // The class a claim was made with, even when the template named none.
                    let made_with = self
                        .claims
                        .iter()
                        .find(|c| c.name.starts_with(&format!("{volume}-{}-", self.sub)))
                        .and_then(|c| c.storage_class.clone());
                    let from = from.clone().or(made_with).map_or_else(
                        || "the storage class they were made with".to_owned(),
                        |c| format!("storage class `{c}`"),
                    );
                    writeln!(
                        f,
                        "- the claims of `{volume}` keep {from}: a claim's class never changes, so only the claims of new replicas would get the new one (moving the data means copying it yourself)"
                    )?;
                }
                Change::Added { volume } => writeln!(
                    f,
                    "- every replica gets a new, empty claim for `{volume}` once the StatefulSet is recreated"
                )?,
                Change::Removed { volume } => writeln!(
                    f,
                    "- the claims of `{volume}` ({}) are kept, no longer mounted; `kubectl delete pvc` deletes them when you no longer want that data",
                    self.claims_of(volume).join(", ")
                )?,
                Change::Other { .. } => {}
            }
        }
        Ok(())
    }
}

impl fmt::Display for FixedChanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (sub, ns) = (&self.sub, &self.namespace);
        writeln!(
            f,
            "sub `{sub}` changes what Kubernetes never changes on an existing StatefulSet, so nothing was applied:"
        )?;
        for change in &self.changes {
            writeln!(f, "  {change}")?;
        }
        writeln!(
            f,
            "A StatefulSet's volume claim templates, headless service name and selector are fixed when it is created, and the claims it already made keep their size and storage class."
        )?;
        writeln!(
            f,
            "Either keep the old values in the app file, or recreate the StatefulSet over the same claims:"
        )?;
        self.consequences(f)?;
        writeln!(
            f,
            "- then delete the StatefulSet alone (its pods keep running, its claims are kept):"
        )?;
        writeln!(
            f,
            "    kubectl delete statefulset -n {ns} {sub} --cascade=orphan"
        )?;
        write!(
            f,
            "- and deploy again: the new StatefulSet takes over the pods and mounts the same claims, replacing the pods one by one"
        )
    }
}
