//! Deletes, and what they do to owned objects: deleted with their owner (background and
//! foreground alike) or orphaned. Deleting a namespace marks it `Terminating`; the namespace
//! controller then deletes everything in it and the namespace itself.

use serde_json::{Value, json};

use super::{Key, Propagation, State, Store, meta_str, now};
use crate::api_error::ApiError;
use crate::resources::{RESOURCES, ResourceId};

impl Store {
    /// DELETE, with owned objects deleted or orphaned; a namespace only starts terminating.
    pub(crate) fn delete(
        &self,
        resource: ResourceId,
        namespace: &str,
        name: &str,
        propagation: Propagation,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let mut state = self.lock();
        let key = (resource, namespace.to_owned(), name.to_owned());
        let old = state.existing(&key)?;
        if dry_run {
            return Ok(old);
        }
        if RESOURCES[resource].kind == "Namespace" {
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(old);
            }
            let mut terminating = old;
            terminating["metadata"]["deletionTimestamp"] = json!(now());
            terminating["status"]["phase"] = json!("Terminating");
            return Ok(self.commit(&mut state, key, terminating, "MODIFIED"));
        }
        Ok(self.delete_locked(&mut state, &key, propagation))
    }

    /// Deletes everything in a terminating namespace, then the namespace.
    pub(crate) fn finish_namespace(&self, namespace: &str) {
        let mut state = self.lock();
        // Every event in it goes: no need to take each out of the kept order one by one.
        state.event_order.remove(namespace);
        let namespaces =
            crate::resources::find("", "v1", "namespaces").expect("namespaces are served");
        let inside: Vec<Key> = state
            .objects
            .keys()
            .filter(|(_, ns, _)| ns == namespace)
            .cloned()
            .collect();
        for child in inside {
            self.delete_locked(&mut state, &child, Propagation::Orphan);
        }
        self.delete_locked(
            &mut state,
            &(namespaces, String::new(), namespace.to_owned()),
            Propagation::Orphan,
        );
    }

    fn delete_locked(&self, state: &mut State, key: &Key, propagation: Propagation) -> Value {
        let Some(mut old) = state.objects.get(key).cloned() else {
            return Value::Null;
        };
        old["metadata"]["deletionTimestamp"] = json!(now());
        let uid = meta_str(&old, "uid").unwrap_or_default().to_owned();
        let deleted = self.commit(state, key.clone(), old, "DELETED");
        if RESOURCES[key.0].kind == "Event" {
            state.forget_event(&key.1, &uid);
        }
        let dependents: Vec<Key> = state
            .objects
            .iter()
            .filter(|(_, o)| {
                o.pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"] == json!(uid)))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for child in dependents {
            match propagation {
                Propagation::Cascade => {
                    self.delete_locked(state, &child, propagation);
                }
                Propagation::Orphan => {
                    let mut object = state.objects[&child].clone();
                    if let Some(refs) = object
                        .pointer_mut("/metadata/ownerReferences")
                        .and_then(Value::as_array_mut)
                    {
                        refs.retain(|r| r["uid"] != json!(uid));
                    }
                    self.commit(state, child, object, "MODIFIED");
                }
            }
        }
        deleted
    }
}
