//! The object store: every object as untyped JSON keyed by resource, namespace and name,
//! with the write rules of the real API server (resource versions, generations, uids,
//! managed fields, owner-reference garbage collection) and a bounded history of watch events.
//!
//! One mutex guards it all; each write is short and sends its watch event while still
//! holding the lock, so watchers see events in resource-version order without gaps.
//! Writes live in `write`, deletes and their propagation to owned objects in `delete`, the
//! bound on Event objects in `events`.

mod delete;
mod events;
mod write;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::api_error::ApiError;
use crate::resources::{RESOURCES, ResourceId};
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

/// Event objects kept per namespace unless the server is told otherwise.
pub(crate) const DEFAULT_EVENT_LIMIT: usize = 1000;

type Key = (ResourceId, String, String);

struct State {
    resource_version: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Arc<WatchEvent>>,
    /// Resource version of the newest event dropped from `history`.
    compacted: u64,
    next_ip: u32,
    /// Per namespace, the Event objects in the order they were created, as (name, uid): the
    /// oldest go first when the namespace holds more than the limit.
    event_order: HashMap<String, VecDeque<(String, String)>>,
}

impl State {
    /// A copy of the object at `key`, or the API's 404 for it.
    fn existing(&self, key: &Key) -> Result<Value, ApiError> {
        self.objects
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&RESOURCES[key.0], &key.2))
    }

    /// The objects of `resource` (only those in `namespace` when given), in (namespace, name)
    /// order: a range of the map, not a scan of every kind.
    fn of_kind<'a>(
        &'a self,
        resource: ResourceId,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a Key, &'a Value)> {
        let from = (
            resource,
            namespace.unwrap_or_default().to_owned(),
            String::new(),
        );
        self.objects
            .range(from..)
            .take_while(move |((r, ns, _), _)| *r == resource && namespace.is_none_or(|n| n == ns))
    }
}

/// The shared object store.
pub(crate) struct Store {
    state: Mutex<State>,
    events: broadcast::Sender<Arc<WatchEvent>>,
    history_limit: usize,
    /// Event objects kept per namespace.
    event_limit: usize,
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

pub(crate) fn meta_str<'v>(object: &'v Value, field: &str) -> Option<&'v str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// `metadata.resourceVersion` as a number; 0 if missing or not a number.
pub(crate) fn resource_version(object: &Value) -> u64 {
    meta_str(object, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
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
                event_order: HashMap::new(),
            }),
            events,
            history_limit: history_limit.max(1),
            event_limit: DEFAULT_EVENT_LIMIT,
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
            .existing(&(resource, namespace.to_owned(), name.to_owned()))
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
            .of_kind(resource, namespace)
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
            .of_kind(resource, None)
            .map(|(_, o)| o.clone())
            .collect()
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
                .of_kind(resource, namespace)
                .map(|((r, ns, _), o)| {
                    Arc::new(WatchEvent {
                        resource: *r,
                        namespace: ns.clone(),
                        resource_version: self::resource_version(o),
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
pub(crate) fn drop_nulls(value: &mut Value) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;

    /// The writer of the store's tests (`store::events` too).
    pub(super) const WRITER: WriteOptions<'static> = WriteOptions {
        manager: "test",
        subresource: None,
        dry_run: false,
    };

    fn config_maps() -> ResourceId {
        find("", "v1", "configmaps").unwrap()
    }

    fn create(store: &Store, name: &str) -> Value {
        store
            .create(
                config_maps(),
                "default",
                json!({"metadata": {"name": name}, "data": {"a": "1"}}),
                &WRITER,
            )
            .unwrap()
    }

    #[test]
    fn pages_continue_after_the_last_name_even_when_it_is_deleted() {
        let store = Store::new(100);
        for name in ["a", "b", "c", "d"] {
            create(&store, name);
        }
        let everything = (LabelSelector::default(), FieldSelector::default());
        let first = store
            .list(
                config_maps(),
                Some("default"),
                &everything.0,
                &everything.1,
                Some(2),
                None,
            )
            .unwrap();
        assert_eq!(first.remaining, 2);
        store
            .delete(config_maps(), "default", "b", Propagation::Cascade, false)
            .unwrap();
        let token = first.continue_token.unwrap();
        let second = store
            .list(
                config_maps(),
                Some("default"),
                &everything.0,
                &everything.1,
                Some(2),
                Some(&token),
            )
            .unwrap();
        let names: Vec<&str> = second
            .items
            .iter()
            .map(|o| meta_str(o, "name").unwrap())
            .collect();
        assert_eq!(names, ["c", "d"]);
        assert!(second.continue_token.is_none());
        assert!(
            store
                .list(
                    config_maps(),
                    None,
                    &everything.0,
                    &everything.1,
                    None,
                    Some("zz")
                )
                .is_err()
        );
    }

    #[test]
    fn dry_runs_change_nothing_and_no_op_updates_keep_the_version() {
        let store = Store::new(100);
        let dry = WriteOptions {
            dry_run: true,
            ..WRITER
        };
        store
            .create(
                config_maps(),
                "default",
                json!({"metadata": {"name": "x"}}),
                &dry,
            )
            .unwrap();
        assert!(store.get(config_maps(), "default", "x").is_err());
        let created = create(&store, "x");
        let same = store
            .update(config_maps(), "default", "x", created.clone(), &WRITER)
            .unwrap();
        assert_eq!(
            same["metadata"]["resourceVersion"],
            created["metadata"]["resourceVersion"]
        );
        let patched = store
            .patch(
                config_maps(),
                "default",
                "x",
                PatchKind::Merge,
                &json!({"data": {"a": "2"}}),
                &dry,
            )
            .unwrap()
            .0;
        assert_eq!(patched["data"]["a"], "2");
        assert_eq!(
            store.get(config_maps(), "default", "x").unwrap()["data"]["a"],
            "1"
        );
    }

    #[test]
    fn replacing_a_service_without_a_cluster_ip_keeps_its_address() {
        let services = find("", "v1", "services").unwrap();
        let store = Store::new(100);
        let service = json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        });
        let created = store
            .create(services, "default", service.clone(), &WRITER)
            .unwrap();
        let ip = created["spec"]["clusterIP"].clone();
        assert!(ip.as_str().is_some_and(|ip| !ip.is_empty()));
        let replaced = store
            .update(services, "default", "web", service, &WRITER)
            .unwrap();
        assert_eq!(replaced["spec"]["clusterIP"], ip);
        assert_eq!(replaced["spec"]["clusterIPs"], json!([ip]));
    }

    #[test]
    fn lists_watches_and_all_see_only_their_kind_and_namespace() {
        let store = Store::new(100);
        let secrets = find("", "v1", "secrets").unwrap();
        for (namespace, name) in [("default", "b"), ("kube-system", "a"), ("default", "a")] {
            store
                .create(
                    config_maps(),
                    namespace,
                    json!({"metadata": {"name": name}}),
                    &WRITER,
                )
                .unwrap();
            store
                .create(
                    secrets,
                    namespace,
                    json!({"metadata": {"name": name}}),
                    &WRITER,
                )
                .unwrap();
        }
        let names = |objects: &[Value]| -> Vec<String> {
            objects
                .iter()
                .map(|o| {
                    format!(
                        "{}/{}",
                        meta_str(o, "namespace").unwrap(),
                        meta_str(o, "name").unwrap()
                    )
                })
                .collect()
        };
        let everywhere = ["default/a", "default/b", "kube-system/a"];
        assert_eq!(names(&store.all(config_maps())), everywhere);
        let (labels, fields) = (LabelSelector::default(), FieldSelector::default());
        let list = |namespace| {
            store
                .list(config_maps(), namespace, &labels, &fields, None, None)
                .unwrap()
                .items
        };
        assert_eq!(names(&list(None)), everywhere);
        assert_eq!(names(&list(Some("kube-system"))), ["kube-system/a"]);
        assert!(list(Some("kube-public")).is_empty());
        let watched = |namespace| {
            let start = store.watch(config_maps(), namespace, None).unwrap();
            let objects: Vec<Value> = start.backlog.iter().map(|e| e.object.clone()).collect();
            names(&objects)
        };
        assert_eq!(watched(None), everywhere);
        assert_eq!(watched(Some("default")), ["default/a", "default/b"]);
        let namespaces = find("", "v1", "namespaces").unwrap();
        assert_eq!(store.all(namespaces).len(), 4);
    }

    #[test]
    fn watches_replay_history_and_expire_old_versions() {
        let store = Store::new(3);
        let first = create(&store, "a");
        let from: u64 = meta_str(&first, "resourceVersion")
            .unwrap()
            .parse()
            .unwrap();
        create(&store, "b");
        let replay = store
            .watch(config_maps(), Some("default"), Some(from))
            .unwrap();
        assert_eq!(replay.backlog.len(), 1);
        assert_eq!(meta_str(&replay.backlog[0].object, "name"), Some("b"));
        for name in ["c", "d", "e"] {
            create(&store, name);
        }
        let error = store
            .watch(config_maps(), Some("default"), Some(from))
            .err()
            .unwrap();
        assert_eq!(error.code, 410);
        let fresh = store.watch(config_maps(), Some("default"), None).unwrap();
        assert_eq!(fresh.backlog.len(), 5);
        assert!(fresh.backlog.iter().all(|e| e.kind == "ADDED"));
    }
}
