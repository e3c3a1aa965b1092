//! Writes: create, update, the patch kinds and controller changes, each through the same
//! checks (namespace, kind, name, defaults, validation), generation bump and managed-field
//! bookkeeping.

use serde_json::{Value, json};

use super::{
    PatchKind, State, Store, WriteOptions, drop_nulls, meta_str, name_suffix, now, spec_part, uid,
    without_volatile,
};
use crate::api_error::ApiError;
use crate::defaults;
use crate::fieldset;
use crate::managed_fields::{self, Writer};
use crate::resources::{RESOURCES, Resource, ResourceId};

impl Store {
    pub(crate) fn create(
        &self,
        resource: ResourceId,
        namespace: &str,
        object: Value,
        options: &WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        let mut state = self.lock();
        self.create_locked(&mut state, resource, namespace, object, options, false)
    }

    /// Creates an object for a controller, only while every owner it names still exists: a
    /// controller acting on a stale view must not leave orphans behind a delete.
    pub(crate) fn create_owned(
        &self,
        resource: ResourceId,
        namespace: &str,
        object: Value,
        options: &WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        let mut state = self.lock();
        let owners: Vec<&str> = object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r["uid"].as_str())
            .collect();
        let present = |uid: &str| {
            state
                .objects
                .iter()
                .any(|((_, ns, _), o)| ns == namespace && meta_str(o, "uid") == Some(uid))
        };
        if let Some(gone) = owners.iter().find(|uid| !present(uid)) {
            return Err(ApiError::bad_request(format!(
                "the owner {gone} of the new object no longer exists"
            )));
        }
        self.create_locked(&mut state, resource, namespace, object, options, false)
    }

    fn check_namespace(
        state: &State,
        resource: &Resource,
        namespace: &str,
    ) -> Result<(), ApiError> {
        if !resource.namespaced {
            return Ok(());
        }
        let namespaces =
            crate::resources::find("", "v1", "namespaces").expect("namespaces are served");
        match state
            .objects
            .get(&(namespaces, String::new(), namespace.to_owned()))
        {
            None => Err(ApiError::namespace_not_found(namespace)),
            Some(ns) if ns.pointer("/metadata/deletionTimestamp").is_some() => {
                Err(ApiError::namespace_terminating(resource, namespace))
            }
            Some(_) => Ok(()),
        }
    }

    fn create_locked(
        &self,
        state: &mut State,
        resource: ResourceId,
        namespace: &str,
        mut object: Value,
        options: &WriteOptions<'_>,
        applied: bool,
    ) -> Result<Value, ApiError> {
        let kind = &RESOURCES[resource];
        Self::prepare(kind, namespace, &mut object)?;
        Self::check_namespace(state, kind, namespace)?;
        let meta = object["metadata"].as_object_mut().expect("prepared above");
        if meta
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            match meta.get("generateName").and_then(Value::as_str) {
                Some(prefix) => {
                    let name = format!("{prefix}{}", name_suffix(5));
                    meta.insert("name".to_owned(), json!(name));
                }
                None => {
                    return Err(ApiError::invalid(
                        kind,
                        "",
                        vec![crate::api_error::Cause {
                            reason: "FieldValueRequired",
                            message: "Required value: name or generateName is required".to_owned(),
                            field: "metadata.name".to_owned(),
                        }],
                    ));
                }
            }
        }
        let name = meta["name"].as_str().unwrap_or_default().to_owned();
        let key = (resource, namespace.to_owned(), name.clone());
        if state.objects.contains_key(&key) {
            return Err(ApiError::already_exists(kind, &name));
        }
        if kind.status {
            let status = match kind.kind {
                "Pod" => json!({"phase": "Pending", "qosClass": "BestEffort"}),
                "PersistentVolumeClaim" => json!({"phase": "Pending"}),
                // The counts a typed status always carries, zero until the controller runs.
                "StatefulSet" => json!({"replicas": 0, "availableReplicas": 0}),
                "Namespace" => json!({"phase": "Active"}),
                _ => json!({}),
            };
            object["status"] = status;
        }
        // Set before defaulting: a Job's generated selector names its uid.
        object["metadata"]["uid"] = json!(uid());
        let next_ip = &mut state.next_ip;
        defaults::apply_defaults(kind, &mut object, || {
            *next_ip += 1;
            format!("10.96.{}.{}", *next_ip / 250, *next_ip % 250 + 1)
        });
        defaults::validate(kind, &object, None)?;
        let meta = object["metadata"].as_object_mut().expect("prepared above");
        meta.insert("creationTimestamp".to_owned(), json!(now()));
        if kind.tracks_generation() {
            meta.insert("generation".to_owned(), json!(1));
        }
        if !applied {
            let api_version = kind.api_version();
            let now = now();
            let writer = Writer {
                manager: options.manager,
                api_version: &api_version,
                now: &now,
                subresource: None,
            };
            managed_fields::record_update(None, &mut object, &writer);
        }
        if options.dry_run {
            return Ok(object);
        }
        let created = self.commit(state, key, object, "ADDED");
        if kind.kind == "Event" {
            self.bound_events(state, resource, &created);
        }
        Ok(created)
    }

    /// Sets kind, apiVersion and namespace; refuses a body for another kind or namespace.
    fn prepare(kind: &Resource, namespace: &str, object: &mut Value) -> Result<(), ApiError> {
        if !object.is_object() {
            return Err(ApiError::bad_request(
                "the request body is not a JSON object; send one Kubernetes object",
            ));
        }
        if let Some(body_kind) = object.get("kind").and_then(Value::as_str)
            && body_kind != kind.kind
        {
            return Err(ApiError::bad_request(format!(
                "the body holds a {body_kind} but this URL serves {}; send it to the {body_kind} URL",
                kind.plural
            )));
        }
        drop_nulls(object);
        object["kind"] = json!(kind.kind);
        object["apiVersion"] = json!(kind.api_version());
        if !object.get("metadata").is_some_and(Value::is_object) {
            object["metadata"] = json!({});
        }
        let meta = object["metadata"].as_object_mut().expect("set above");
        if kind.namespaced {
            match meta.get("namespace").and_then(Value::as_str) {
                Some(ns) if !ns.is_empty() && ns != namespace => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => {
                    meta.insert("namespace".to_owned(), json!(namespace));
                }
            }
        } else {
            meta.remove("namespace");
        }
        Ok(())
    }

    /// PUT: replaces the object (or its status), refusing a stale `resourceVersion`.
    pub(crate) fn update(
        &self,
        resource: ResourceId,
        namespace: &str,
        name: &str,
        object: Value,
        options: &WriteOptions<'_>,
    ) -> Result<Value, ApiError> {
        let mut state = self.lock();
        let key = (resource, namespace.to_owned(), name.to_owned());
        let old = state.existing(&key)?;
        if let Some(rv) = meta_str(&object, "resourceVersion").filter(|rv| !rv.is_empty())
            && Some(rv) != meta_str(&old, "resourceVersion")
        {
            return Err(ApiError::stale(&RESOURCES[resource], name));
        }
        self.replace_locked(&mut state, resource, &old, object, options, false)
    }

    fn replace_locked(
        &self,
        state: &mut State,
        resource: ResourceId,
        old: &Value,
        mut object: Value,
        options: &WriteOptions<'_>,
        applied: bool,
    ) -> Result<Value, ApiError> {
        let kind = &RESOURCES[resource];
        let namespace = meta_str(old, "namespace").unwrap_or_default().to_owned();
        let name = meta_str(old, "name").unwrap_or_default().to_owned();
        Self::prepare(kind, &namespace, &mut object)?;
        if meta_str(&object, "name").is_some_and(|n| n != name) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                meta_str(&object, "name").unwrap_or_default()
            )));
        }
        let mut new = if options.subresource == Some("status") {
            let mut kept = old.clone();
            kept["status"] = object.get("status").cloned().unwrap_or(Value::Null);
            if applied || object.pointer("/metadata/managedFields").is_some() {
                kept["metadata"]["managedFields"] = object["metadata"]["managedFields"].clone();
            }
            kept
        } else {
            if kind.status {
                object["status"] = old.get("status").cloned().unwrap_or(Value::Null);
            }
            object
        };
        for field in [
            "uid",
            "creationTimestamp",
            "generation",
            "name",
            "namespace",
            "deletionTimestamp",
        ] {
            match old["metadata"].get(field) {
                Some(value) => new["metadata"][field] = value.clone(),
                None => {
                    if let Some(meta) = new["metadata"].as_object_mut() {
                        meta.remove(field);
                    }
                }
            }
        }
        // A replace without spec.clusterIP keeps the Service's address, as the real server does.
        defaults::apply_defaults(kind, &mut new, || {
            old.pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        });
        defaults::validate(kind, &new, Some(old))?;
        if kind.tracks_generation() && spec_part(&new) != spec_part(old) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
            new["metadata"]["generation"] = json!(generation + 1);
        }
        if !applied {
            let api_version = kind.api_version();
            let now = now();
            let writer = Writer {
                manager: options.manager,
                api_version: &api_version,
                now: &now,
                subresource: options.subresource,
            };
            managed_fields::record_update(Some(old), &mut new, &writer);
        }
        if without_volatile(&new) == without_volatile(old) || options.dry_run {
            return Ok(if options.dry_run { new } else { old.clone() });
        }
        Ok(self.commit(state, (resource, namespace, name), new, "MODIFIED"))
    }

    /// PATCH: merge, strategic merge or server-side apply (which creates a missing object).
    pub(crate) fn patch(
        &self,
        resource: ResourceId,
        namespace: &str,
        name: &str,
        patch: PatchKind,
        body: &Value,
        options: &WriteOptions<'_>,
    ) -> Result<(Value, bool), ApiError> {
        let mut state = self.lock();
        let kind = &RESOURCES[resource];
        let key = (resource, namespace.to_owned(), name.to_owned());
        let old = state.objects.get(&key).cloned();
        match patch {
            PatchKind::Merge | PatchKind::Strategic => {
                let old = old.ok_or_else(|| ApiError::not_found(kind, name))?;
                if let Some(rv) = body
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    && Some(rv) != meta_str(&old, "resourceVersion")
                {
                    return Err(ApiError::stale(kind, name));
                }
                let mut new = old.clone();
                fieldset::merge(&mut new, body, "", patch == PatchKind::Strategic);
                Ok((
                    self.replace_locked(&mut state, resource, &old, new, options, false)?,
                    false,
                ))
            }
            PatchKind::Json => {
                let old = old.ok_or_else(|| ApiError::not_found(kind, name))?;
                let new = crate::json_patch::apply(&old, body)?;
                if new.pointer("/metadata/resourceVersion")
                    != old.pointer("/metadata/resourceVersion")
                {
                    return Err(ApiError::stale(kind, name));
                }
                Ok((
                    self.replace_locked(&mut state, resource, &old, new, options, false)?,
                    false,
                ))
            }
            PatchKind::Apply { force } => {
                if options.manager.is_empty() {
                    return Err(ApiError::bad_request(
                        "PATCH of type apply needs a fieldManager query parameter; pass ?fieldManager=NAME",
                    ));
                }
                let mut applied = body.clone();
                Self::prepare(kind, namespace, &mut applied)?;
                if meta_str(&applied, "name") != Some(name) {
                    return Err(ApiError::bad_request(format!(
                        "the name in the applied object ({}) does not match the name on the URL ({name})",
                        meta_str(&applied, "name").unwrap_or_default()
                    )));
                }
                let api_version = kind.api_version();
                let now = now();
                let writer = Writer {
                    manager: options.manager,
                    api_version: &api_version,
                    now: &now,
                    subresource: options.subresource,
                };
                let new = managed_fields::apply(old.as_ref(), &applied, &writer, force)
                    .map_err(|conflicts| ApiError::apply_conflict(kind, name, &conflicts))?;
                match old {
                    Some(old) => Ok((
                        self.replace_locked(&mut state, resource, &old, new, options, true)?,
                        false,
                    )),
                    None => Ok((
                        self.create_locked(&mut state, resource, namespace, new, options, true)?,
                        true,
                    )),
                }
            }
        }
    }

    /// Changes an object in place on behalf of a controller; no-op changes write nothing.
    pub(crate) fn modify(
        &self,
        resource: ResourceId,
        namespace: &str,
        name: &str,
        options: &WriteOptions<'_>,
        change: impl FnOnce(&mut Value),
    ) -> Result<Value, ApiError> {
        let mut state = self.lock();
        let key = (resource, namespace.to_owned(), name.to_owned());
        let old = state.existing(&key)?;
        let mut new = old.clone();
        change(&mut new);
        self.replace_locked(&mut state, resource, &old, new, options, false)
    }
}
