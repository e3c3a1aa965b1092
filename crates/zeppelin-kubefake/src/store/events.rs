//! The bound on Event objects: each namespace keeps its newest events up to a limit and the
//! oldest are deleted (watchers see `DELETED`), as a real API server's event TTL would, so
//! a server that runs rollouts and restarts for hours does not grow its store without end.

use serde_json::{Value, json};

use super::{State, Store, meta_str, now};
use crate::resources::ResourceId;

impl Store {
    /// Keeps at most `limit` Event objects per namespace (at least one).
    pub(crate) fn with_event_limit(mut self, limit: usize) -> Self {
        self.event_limit = limit.max(1);
        self
    }

    /// Notes a newly created event and deletes the oldest of its namespace beyond the limit.
    pub(super) fn bound_events(&self, state: &mut State, events: ResourceId, created: &Value) {
        let (Some(namespace), Some(name), Some(uid)) = (
            meta_str(created, "namespace"),
            meta_str(created, "name"),
            meta_str(created, "uid"),
        ) else {
            return;
        };
        let order = state.event_order.entry(namespace.to_owned()).or_default();
        order.push_back((name.to_owned(), uid.to_owned()));
        let excess = order.len().saturating_sub(self.event_limit);
        let expired: Vec<(String, String)> = order.drain(..excess).collect();
        for (name, _) in expired {
            let key = (events, namespace.to_owned(), name);
            if let Some(mut old) = state.objects.get(&key).cloned() {
                old["metadata"]["deletionTimestamp"] = json!(now());
                self.commit(state, key, old, "DELETED");
            }
        }
    }
}

impl State {
    /// Forgets a deleted event, and its namespace's list once empty.
    pub(super) fn forget_event(&mut self, namespace: &str, uid: &str) {
        if let Some(order) = self.event_order.get_mut(namespace) {
            order.retain(|(_, kept)| kept != uid);
            if order.is_empty() {
                self.event_order.remove(namespace);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::resources::find;
    use crate::store::{Propagation, Store, meta_str};

    use crate::store::tests::WRITER;

    fn event(name: &str) -> serde_json::Value {
        json!({
            "metadata": {"name": name},
            "involvedObject": {"kind": "Pod", "name": "web-1"},
            "reason": "BackOff",
            "message": "Back-off restarting failed container",
        })
    }

    fn names(store: &Store, namespace: &str) -> Vec<String> {
        let events = find("", "v1", "events").unwrap();
        store
            .all(events)
            .iter()
            .filter(|e| meta_str(e, "namespace") == Some(namespace))
            .map(|e| meta_str(e, "name").unwrap().to_owned())
            .collect()
    }

    #[test]
    fn each_namespace_keeps_its_newest_events_and_a_finished_namespace_frees_all() {
        let events = find("", "v1", "events").unwrap();
        let namespaces = find("", "v1", "namespaces").unwrap();
        let store = Store::new(100).with_event_limit(3);
        store
            .create(
                namespaces,
                "",
                json!({"metadata": {"name": "shop"}}),
                &WRITER,
            )
            .unwrap();
        let since = store
            .watch(events, Some("shop"), None)
            .unwrap()
            .resource_version;
        for n in 0..10 {
            store
                .create(events, "shop", event(&format!("e{n}")), &WRITER)
                .unwrap();
        }
        store
            .create(events, "default", event("other"), &WRITER)
            .unwrap();
        assert_eq!(names(&store, "shop"), ["e7", "e8", "e9"]);
        assert_eq!(names(&store, "default"), ["other"]);
        let replay = store.watch(events, Some("shop"), Some(since)).unwrap();
        let deleted = replay
            .backlog
            .iter()
            .filter(|e| e.kind == "DELETED")
            .count();
        assert_eq!(deleted, 7, "watchers see the expired events go");

        // A client's delete makes room: the next event expires nothing.
        store
            .delete(events, "shop", "e8", Propagation::Cascade, false)
            .unwrap();
        store.create(events, "shop", event("e10"), &WRITER).unwrap();
        assert_eq!(names(&store, "shop"), ["e10", "e7", "e9"]);

        store
            .delete(namespaces, "", "shop", Propagation::Cascade, false)
            .unwrap();
        store.finish_namespace("shop");
        assert!(names(&store, "shop").is_empty());
        assert!(store.get(namespaces, "", "shop").is_err());
        let state = store.lock();
        assert!(state.objects.keys().all(|(_, ns, _)| ns != "shop"));
        assert!(!state.event_order.contains_key("shop"));
        assert_eq!(state.event_order["default"].len(), 1);
    }
}
