//! Deletes, and what they do to owned objects: deleted with their owner (background and
//! foreground alike) or orphaned; deleting a namespace deletes everything in it.

use serde_json::{Value, json};

use super::{Key, Propagation, State, Store, meta_str, now};
use crate::api_error::ApiError;
use crate::resources::{RESOURCES, ResourceId};

impl Store {
    /// DELETE, with owned objects deleted or orphaned; deleting a namespace empties it.
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
        let old = state
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&RESOURCES[resource], name))?;
        if dry_run {
            return Ok(old);
        }
        Ok(self.delete_locked(&mut state, &key, propagation))
    }

    fn delete_locked(&self, state: &mut State, key: &Key, propagation: Propagation) -> Value {
        let Some(mut old) = state.objects.get(key).cloned() else {
            return Value::Null;
        };
        old["metadata"]["deletionTimestamp"] = json!(now());
        let uid = meta_str(&old, "uid").unwrap_or_default().to_owned();
        let deleted = self.commit(state, key.clone(), old, "DELETED");
        if RESOURCES[key.0].kind == "Namespace" {
            let inside: Vec<Key> = state
                .objects
                .keys()
                .filter(|(_, ns, _)| *ns == key.2)
                .cloned()
                .collect();
            for child in inside {
                self.delete_locked(state, &child, Propagation::Orphan);
            }
            return deleted;
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
