//! Events the simulated controllers record, as core/v1 Event objects.

use serde_json::{Value, json};

use super::{Kinds, meta, writer};
use crate::server::Shared;
use crate::store::{self, name_suffix};

/// Records an event about `involved`; `kind` is `Normal` or `Warning`.
pub(super) fn record(
    shared: &Shared,
    kinds: Kinds,
    involved: &Value,
    kind: &str,
    reason: &str,
    message: &str,
    component: &str,
) {
    let now = store::now();
    let event = json!({
        "metadata": {"name": format!("{}.{}", meta(involved, "name"), name_suffix(10))},
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": involved["metadata"]["name"],
            "namespace": involved["metadata"]["namespace"],
            "uid": involved["metadata"]["uid"],
            "resourceVersion": involved["metadata"]["resourceVersion"],
        },
        "reason": reason,
        "message": message,
        "type": kind,
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": "zeppelin-kubefake",
    });
    // An event for an object whose namespace is being deleted has nowhere to go.
    let _ = shared.store.create(
        kinds.events,
        meta(involved, "namespace"),
        event,
        &writer(component, false),
    );
}
