//! The pod disruption budget controller: counts the pods a budget selects and how many of them
//! may be disrupted, as `kubectl get pdb` and `zeppelin ps --k8s` show.

use serde_json::{Value, json};

use super::{CONTROLLER_MANAGER, Kinds, meta, replicaset::is_ready, write_status};
use crate::selector::LabelSelector;
use crate::server::Shared;

/// An int-or-percent of `total`, percentages rounded up as the disruption controller does.
fn resolve(value: &Value, total: u64) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s
            .trim_end_matches('%')
            .parse::<u64>()
            .ok()
            .map(|p| (total * p).div_ceil(100)),
        _ => None,
    }
}

pub(super) fn reconcile_all(shared: &Shared, kinds: Kinds) {
    let pods = shared.store.all(kinds.pods);
    for pdb in shared.store.all(kinds.budgets) {
        let selector = LabelSelector::from_object(&pdb["spec"]["selector"]);
        let selected: Vec<&Value> = pods
            .iter()
            .filter(|p| {
                meta(p, "namespace") == meta(&pdb, "namespace")
                    && !selector.is_empty()
                    && selector.matches(p)
            })
            .collect();
        let expected = selected.len() as u64;
        let healthy = selected.iter().filter(|p| is_ready(p)).count() as u64;
        let desired = match (
            resolve(&pdb["spec"]["minAvailable"], expected),
            resolve(&pdb["spec"]["maxUnavailable"], expected),
        ) {
            (Some(min), _) => min,
            (None, Some(max)) => expected.saturating_sub(max),
            (None, None) => 0,
        };
        let allowed = healthy.saturating_sub(desired);
        let previous = pdb.pointer("/status/conditions/0");
        let (status_word, reason) = if allowed > 0 {
            ("True", "SufficientPods")
        } else {
            ("False", "InsufficientPods")
        };
        let since = previous
            .filter(|c| c["status"] == status_word)
            .and_then(|c| c["lastTransitionTime"].as_str())
            .map_or_else(crate::store::now, str::to_owned);
        let status = json!({
            "observedGeneration": pdb["metadata"]["generation"],
            "expectedPods": expected,
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "disruptionsAllowed": allowed,
            "conditions": [{
                "type": "DisruptionAllowed", "status": status_word, "reason": reason, "message": "",
                "observedGeneration": pdb["metadata"]["generation"], "lastTransitionTime": since,
            }],
        });
        write_status(shared, kinds.budgets, &pdb, CONTROLLER_MANAGER, status);
    }
}
