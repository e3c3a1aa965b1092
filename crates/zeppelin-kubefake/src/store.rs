//! The object store: every object as untyped JSON keyed by resource, namespace and name,
//! with the write rules of the real API server (resource versions, generations, uids,
//! managed fields, owner-reference garbage collection) and a bounded history of watch events.
//!
//! One mutex guards it all; each write is short and sends its watch event while still
//! holding the lock, so watchers see events in resource-version order without gaps.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::api_error::ApiError;
use crate::defaults;
use crate::fieldset;
use crate::managed_fields::{self, Writer};
use crate::resources::{RESOURCES, Resource, ResourceId};
use crate::selector::{FieldSelector, LabelSelector};

/// `ADDED`, `MODIFIED` or `DELETED`.
pub(crate) type EventType = &'static str;

/// One change, as watchers receive it.
#[derive(Debug)]
pub(crate) struct WatchEvent {
    pub(crate) resource: ResourceId,
    pub(crate) namespace: String,
    pub(crate) resource_version: u64,
    pub(crate) kind: EventType,
    pub(crate) object: Value,
    /// The object before a `MODIFIED` change, so selector watches can tell an object that
    /// stopped matching (sent as `DELETED`) from one that started to (`ADDED`).
    pub(crate) previous: Option<Value>,
}

/// How a write is made: by whom, through which subresource, and whether it is kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteOptions<'a> {
    pub(crate) manager: &'a str,
    pub(crate) subresource: Option<&'a str>,
    pub(crate) dry_run: bool,
}

/// The kinds of PATCH bodies understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    Merge,
    /// JSON Patch (RFC 6902).
    Json,
    /// Strategic merge patch, applied as a merge patch that merges keyed lists by key.
    Strategic,
    Apply {
        force: bool,
    },
}

/// What `DELETE` does to objects owned by the deleted one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    /// Dependents are deleted too (`Background` and `Foreground` alike, immediately).
    Cascade,
    /// Dependents lose their owner reference and stay.
    Orphan,
}

/// One page of a list.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) items: Vec<Value>,
    pub(crate) resource_version: u64,
    pub(crate) continue_token: Option<String>,
    pub(crate) remaining: usize,
}

/// Where a watch starts: the events to send first, and the live feed after them.
pub(crate) struct WatchStart {
    pub(crate) backlog: Vec<Arc<WatchEvent>>,
    pub(crate) feed: broadcast::Receiver<Arc<WatchEvent>>,
    pub(crate) resource_version: u64,
}

type Key = (ResourceId, String, String);

struct State {
    resource_version: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Arc<WatchEvent>>,
    /// Resource version of the newest event dropped from `history`.
    compacted: u64,
    next_ip: u32,
}

/// The shared object store.
pub(crate) struct Store {
    state: Mutex<State>,
    events: broadcast::Sender<Arc<WatchEvent>>,
    history_limit: usize,
}

/// The current time as Kubernetes writes it (RFC 3339, whole seconds, UTC).
pub(crate) fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn uid() -> String {
    let n = fastrand::u128(..);
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// Five characters from the alphabet Kubernetes uses for generated name suffixes.
pub(crate) fn name_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..len)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

fn meta_str<'v>(object: &'v Value, field: &str) -> Option<&'v str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// Everything but metadata and status: a change here bumps `generation`.
fn spec_part(object: &Value) -> Value {
    let mut part = object.clone();
    if let Some(map) = part.as_object_mut() {
        for key in ["metadata", "status", "apiVersion", "kind"] {
            map.remove(key);
        }
    }
    part
}

fn without_volatile(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        meta.remove("resourceVersion");
    }
    copy
}

impl Store {
    pub(crate) fn new(history_limit: usize) -> Self {
        let (events, _) = broadcast::channel(4096);
        let store = Self {
            state: Mutex::new(State {
                resource_version: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                compacted: 0,
                next_ip: 1,
            }),
            events,
            history_limit: history_limit.max(1),
        };
        let namespaces =
            crate::resources::find("", "v1", "namespaces").expect("namespaces are served");
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let object = json!({"metadata": {"name": name}});
            let options = WriteOptions {
                manager: "kube-apiserver",
                subresource: None,
                dry_run: false,
            };
            store
                .create(namespaces, "", object, &options)
                .expect("built-in namespaces are valid");
        }
        store
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn get(
        &self,
        resource: ResourceId,
        namespace: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.lock()
            .objects
            .get(&(resource, namespace.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::not_found(&RESOURCES[resource], name))
    }

    /// Objects of `resource` in `namespace` (all namespaces when `None`), in name order.
    pub(crate) fn list(
        &self,
        resource: ResourceId,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> Result<Page, ApiError> {
        let start = match continue_token {
            Some(token) => Some(decode_token(token).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid continue token \"{token}\"; start the list again without it"
                ))
            })?),
            None => None,
        };
        let state = self.lock();
        let all: Vec<(String, String, Value)> = state
            .objects
            .iter()
            .filter(|((r, ns, _), _)| *r == resource && namespace.is_none_or(|n| n == ns))
            .filter(|((_, ns, name), _)| {
                start.as_ref().is_none_or(|(sns, sname)| {
                    (ns.as_str(), name.as_str()) > (sns.as_str(), sname.as_str())
                })
            })
            .filter(|(_, o)| labels.matches(o) && fields.matches(o))
            .map(|((_, ns, name), o)| (ns.clone(), name.clone(), o.clone()))
            .collect();
        let total = all.len();
        let (items, continue_token, remaining) = match limit {
            Some(limit) if limit > 0 && total > limit => {
                let token = encode_token(&all[limit - 1].0, &all[limit - 1].1);
                let items = all.into_iter().take(limit).map(|(_, _, o)| o).collect();
                (items, Some(token), total - limit)
            }
            _ => (all.into_iter().map(|(_, _, o)| o).collect(), None, 0),
        };
        Ok(Page {
            items,
            resource_version: state.resource_version,
            continue_token,
            remaining,
        })
    }

    /// Every object of `resource`, for tests and controllers.
    pub(crate) fn all(&self, resource: ResourceId) -> Vec<Value> {
        self.lock()
            .objects
            .iter()
            .filter(|((r, _, _), _)| *r == resource)
            .map(|(_, o)| o.clone())
            .collect()
    }

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
        if state
            .objects
            .contains_key(&(namespaces, String::new(), namespace.to_owned()))
        {
            Ok(())
        } else {
            Err(ApiError::namespace_not_found(namespace))
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
                "Namespace" => json!({"phase": "Active"}),
                _ => json!({}),
            };
            object["status"] = status;
        }
        let next_ip = &mut state.next_ip;
        defaults::apply_defaults(kind, &mut object, || {
            *next_ip += 1;
            format!("10.96.{}.{}", *next_ip / 250, *next_ip % 250 + 1)
        });
        defaults::validate(kind, &object, None)?;
        let meta = object["metadata"].as_object_mut().expect("prepared above");
        meta.insert("uid".to_owned(), json!(uid()));
        meta.insert("creationTimestamp".to_owned(), json!(now()));
        meta.insert("generation".to_owned(), json!(1));
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
        Ok(self.commit(state, key, object, "ADDED"))
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

    fn commit(&self, state: &mut State, key: Key, mut object: Value, kind: EventType) -> Value {
        state.resource_version += 1;
        let rv = state.resource_version;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        let event = Arc::new(WatchEvent {
            resource: key.0,
            namespace: key.1.clone(),
            resource_version: rv,
            kind,
            object: object.clone(),
            previous: if kind == "MODIFIED" {
                state.objects.get(&key).cloned()
            } else {
                None
            },
        });
        if kind == "DELETED" {
            state.objects.remove(&key);
        } else {
            state.objects.insert(key, object.clone());
        }
        state.history.push_back(event.clone());
        while state.history.len() > self.history_limit {
            if let Some(old) = state.history.pop_front() {
                state.compacted = old.resource_version;
            }
        }
        // No receivers is fine: nobody watches yet.
        let _ = self.events.send(event);
        object
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
        let kind = &RESOURCES[resource];
        let key = (resource, namespace.to_owned(), name.to_owned());
        let old = state
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(kind, name))?;
        if let Some(rv) = meta_str(&object, "resourceVersion").filter(|rv| !rv.is_empty())
            && Some(rv) != meta_str(&old, "resourceVersion")
        {
            return Err(ApiError::stale(kind, name));
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
        defaults::apply_defaults(kind, &mut new, String::new);
        defaults::validate(kind, &new, Some(old))?;
        if spec_part(&new) != spec_part(old) {
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
        let old = state
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&RESOURCES[resource], name))?;
        let mut new = old.clone();
        change(&mut new);
        self.replace_locked(&mut state, resource, &old, new, options, false)
    }

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

    /// Starts a watch of `resource` from `resource_version` (`None` or 0: from the current
    /// objects, sent as `ADDED`).
    pub(crate) fn watch(
        &self,
        resource: ResourceId,
        namespace: Option<&str>,
        resource_version: Option<u64>,
    ) -> Result<WatchStart, ApiError> {
        let state = self.lock();
        let in_scope = |r: ResourceId, ns: &str| r == resource && namespace.is_none_or(|n| n == ns);
        let backlog = match resource_version.filter(|rv| *rv > 0) {
            None => state
                .objects
                .iter()
                .filter(|((r, ns, _), _)| in_scope(*r, ns))
                .map(|((r, ns, _), o)| {
                    Arc::new(WatchEvent {
                        resource: *r,
                        namespace: ns.clone(),
                        resource_version: meta_str(o, "resourceVersion")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0),
                        kind: "ADDED",
                        object: o.clone(),
                        previous: None,
                    })
                })
                .collect(),
            Some(rv) if rv < state.compacted => {
                return Err(ApiError::gone(rv, state.compacted + 1));
            }
            Some(rv) => state
                .history
                .iter()
                .filter(|e| e.resource_version > rv && in_scope(e.resource, &e.namespace))
                .cloned()
                .collect(),
        };
        Ok(WatchStart {
            backlog,
            feed: self.events.subscribe(),
            resource_version: state.resource_version,
        })
    }
}

/// Removes `null` fields, as decoding into the typed objects of a real server does
/// (`creationTimestamp: null` in templates, for one, must not change a template's hash).
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn encode_token(namespace: &str, name: &str) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    format!("{namespace}/{name}")
        .bytes()
        .flat_map(|b| {
            [
                char::from(HEX[usize::from(b >> 4)]),
                char::from(HEX[usize::from(b & 15)]),
            ]
        })
        .collect()
}

fn decode_token(token: &str) -> Option<(String, String)> {
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (ns, name) = text.split_once('/')?;
    Some((ns.to_owned(), name.to_owned()))
}
