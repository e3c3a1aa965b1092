//! Field sets for server-side apply: which fields of an object a manager owns, read from and
//! written to the `fieldsV1` format of `managedFields`, plus the merge that apply and strategic
//! merge patch share.
//!
//! Lists of objects keyed the way the real schemas key them (`containers` and `env` by
//! `name`, container `ports` by `containerPort`/`protocol`, `volumeMounts` by `mountPath`) are
//! merged item by item; every other list is atomic and owned as one field.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// One step of a field path: a map key, or an item of a keyed list (its key fields as
/// canonical JSON, as `fieldsV1` spells them after `k:`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    Field(String),
    Key(String),
}

pub(crate) type Path = Vec<Step>;

/// The fields one manager owns. Paths ending in a [`Step::Key`] own the list item itself.
pub(crate) type FieldSet = BTreeSet<Path>;

/// Metadata fields the server owns, never part of a manager's set.
const SERVER_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "deletionTimestamp",
    "selfLink",
];

/// The key fields of items in the list held under `field`, or `None` for an atomic list.
fn list_keys(field: &str, items: &[Value]) -> Option<&'static [&'static str]> {
    if items.is_empty() || !items.iter().all(Value::is_object) {
        return None;
    }
    let has = |key: &str| items.iter().all(|i| i.get(key).is_some());
    let keys: &'static [&'static str] = match field {
        "volumeMounts" => &["mountPath"],
        "ports" if has("containerPort") => &["containerPort", "protocol"],
        "ports" if has("port") => &["port", "protocol"],
        _ if has("name") => &["name"],
        _ => return None,
    };
    Some(keys)
}

/// The canonical key of `item` (defaulting `protocol` to TCP as the schema does).
fn item_key(item: &Value, keys: &[&str]) -> String {
    let mut key = Map::new();
    for k in keys {
        let value = match item.get(*k) {
            Some(v) => v.clone(),
            None if *k == "protocol" => json!("TCP"),
            None => continue,
        };
        key.insert((*k).to_owned(), value);
    }
    Value::Object(key).to_string()
}

/// The fields set in `object` (an applied configuration or a whole object).
pub(crate) fn fields_of(object: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    if let Some(map) = object.as_object() {
        for (key, value) in map {
            match key.as_str() {
                "apiVersion" | "kind" | "status" => {}
                "metadata" => {
                    if let Some(meta) = value.as_object() {
                        for (k, v) in meta
                            .iter()
                            .filter(|(k, _)| !SERVER_FIELDS.contains(&k.as_str()))
                        {
                            collect(
                                v,
                                vec![Step::Field(key.clone()), Step::Field(k.clone())],
                                k,
                                &mut set,
                            );
                        }
                    }
                }
                _ => collect(value, vec![Step::Field(key.clone())], key, &mut set),
            }
        }
    }
    set
}

fn collect(value: &Value, path: Path, field: &str, set: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let mut child = path.clone();
                child.push(Step::Field(k.clone()));
                collect(v, child, k, set);
            }
        }
        Value::Array(items) => match list_keys(field, items) {
            Some(keys) => {
                for item in items {
                    let mut item_path = path.clone();
                    item_path.push(Step::Key(item_key(item, keys)));
                    set.insert(item_path.clone());
                    collect(item, item_path, "", set);
                }
            }
            None => {
                set.insert(path);
            }
        },
        _ => {
            set.insert(path);
        }
    }
}

/// The value at `path` in `object`, if present.
pub(crate) fn get<'a>(object: &'a Value, path: &[Step]) -> Option<&'a Value> {
    let mut current = object;
    let mut field = "";
    for step in path {
        current = match step {
            Step::Field(name) => {
                field = name;
                current.get(name)?
            }
            Step::Key(key) => {
                let items = current.as_array()?;
                let keys = list_keys(field, items)?;
                items.iter().find(|i| item_key(i, keys) == *key)?
            }
        };
    }
    Some(current)
}

/// Removes the field or list item at `path` from `object`; absent paths are left alone.
pub(crate) fn remove(object: &mut Value, path: &[Step]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut current = object;
    let mut field = String::new();
    for step in parent_path {
        let next = match step {
            Step::Field(name) => {
                field.clone_from(name);
                current.get_mut(name)
            }
            Step::Key(key) => {
                let keys = current
                    .as_array()
                    .and_then(|items| list_keys(&field, items));
                match (keys, current.as_array_mut()) {
                    (Some(keys), Some(items)) => {
                        items.iter_mut().find(|i| item_key(i, keys) == *key)
                    }
                    _ => None,
                }
            }
        };
        match next {
            Some(next) => current = next,
            None => return,
        }
    }
    match last {
        Step::Field(name) => {
            if let Some(map) = current.as_object_mut() {
                map.remove(name);
            }
        }
        Step::Key(key) => {
            let keys = current
                .as_array()
                .and_then(|items| list_keys(&field, items));
            if let (Some(keys), Some(items)) = (keys, current.as_array_mut()) {
                items.retain(|i| item_key(i, keys) != *key);
            }
        }
    }
}

/// Merges `patch` into `target`: maps recursively, everything else replaced; with `keyed`,
/// keyed lists item by item (apply, strategic merge patch) instead of replaced (JSON merge
/// patch). A `null` in the patch deletes the field; a `$patch: replace` map replaces it.
pub(crate) fn merge(target: &mut Value, patch: &Value, field: &str, keyed: bool) {
    if keyed && patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        // A strategic merge `$patch: replace` map (what `kubectl rollout undo statefulset`
        // sends from a ControllerRevision) replaces the field whole.
        *target = strip_nulls(patch);
        return;
    }
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if keyed && key.starts_with('$') {
                    // Strategic merge directives ($setElementOrder, $retainKeys...) order or
                    // prune lists this server keeps as sent.
                    continue;
                }
                if value.is_null() {
                    target.remove(key);
                } else if let Some(existing) = target.get_mut(key) {
                    merge(existing, value, key, keyed);
                } else {
                    target.insert(key.clone(), strip_nulls(value));
                }
            }
        }
        (Value::Array(target), Value::Array(patch)) if keyed => {
            match list_keys(field, patch).filter(|_| target.iter().all(Value::is_object)) {
                Some(keys) => {
                    for item in patch {
                        let key = item_key(item, keys);
                        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
                            target.retain(|i| item_key(i, keys) != key);
                            continue;
                        }
                        match target.iter_mut().find(|i| item_key(i, keys) == key) {
                            Some(existing) => merge(existing, item, "", keyed),
                            None => target.push(strip_nulls(item)),
                        }
                    }
                }
                None => target.clone_from(patch),
            }
        }
        (target, patch) => {
            *target = strip_nulls(patch);
        }
    }
}

fn strip_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !v.is_null() && !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// Writes a field set in the `fieldsV1` format.
pub(crate) fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = json!({});
    for path in set {
        let mut node = &mut root;
        for step in path {
            let name = match step {
                Step::Field(f) => format!("f:{f}"),
                Step::Key(k) => format!("k:{k}"),
            };
            node = node
                .as_object_mut()
                .expect("fieldsV1 nodes are objects")
                .entry(name)
                .or_insert_with(|| json!({}));
        }
        if matches!(path.last(), Some(Step::Key(_))) {
            node.as_object_mut()
                .expect("fieldsV1 nodes are objects")
                .insert(".".to_owned(), json!({}));
        }
    }
    root
}

/// Reads a field set from the `fieldsV1` format.
pub(crate) fn from_fields_v1(value: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    read_node(value, &mut Vec::new(), &mut set);
    set
}

fn read_node(node: &Value, path: &mut Path, set: &mut FieldSet) {
    let Some(map) = node.as_object() else {
        return;
    };
    if map.is_empty() && !path.is_empty() {
        set.insert(path.clone());
        return;
    }
    for (name, child) in map {
        if name == "." {
            set.insert(path.clone());
            continue;
        }
        let step = if let Some(f) = name.strip_prefix("f:") {
            Step::Field(f.to_owned())
        } else if let Some(k) = name.strip_prefix("k:") {
            Step::Key(k.to_owned())
        } else {
            continue;
        };
        path.push(step);
        read_node(child, path, set);
        path.pop();
    }
}

/// Spells a path the way conflict messages do: `.spec.replicas`,
/// `.spec.template.spec.containers[name="web"].image`.
pub(crate) fn display(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Field(f) => {
                text.push('.');
                text.push_str(f);
            }
            Step::Key(k) => {
                let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v}")).collect();
                text.push('[');
                text.push_str(&parts.join(","));
                text.push(']');
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replace_directive_replaces_the_whole_map() {
        let mut target = json!({"spec": {"template": {"metadata": {"labels": {"a": "1"}}, "spec": {"hostname": "x"}}}});
        let patch =
            json!({"spec": {"template": {"$patch": "replace", "spec": {"containers": []}}}});
        merge(&mut target, &patch, "", true);
        assert_eq!(
            target,
            json!({"spec": {"template": {"spec": {"containers": []}}}})
        );
    }

    fn deployment(image: &str, with_env: bool) -> Value {
        let mut container =
            json!({"name": "web", "image": image, "ports": [{"containerPort": 80}]});
        if with_env {
            container["env"] = json!([{"name": "A", "value": "1"}]);
        }
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [container]}}}
        })
    }

    #[test]
    fn collects_keyed_list_items_and_skips_server_fields() {
        let set = fields_of(&deployment("nginx", true));
        let containers = vec![
            Step::Field("spec".into()),
            Step::Field("template".into()),
            Step::Field("spec".into()),
            Step::Field("containers".into()),
            Step::Key(r#"{"name":"web"}"#.into()),
        ];
        assert!(set.contains(&containers));
        let mut image = containers.clone();
        image.push(Step::Field("image".into()));
        assert!(set.contains(&image));
        assert!(
            !set.iter()
                .any(|p| p.get(1) == Some(&Step::Field("name".into())))
        );
        assert_eq!(
            display(&image),
            r#".spec.template.spec.containers[name="web"].image"#
        );
    }

    #[test]
    fn fields_v1_round_trips() {
        let set = fields_of(&deployment("nginx", true));
        let encoded = to_fields_v1(&set);
        assert!(
            encoded["f:spec"]["f:template"]["f:spec"]["f:containers"][r#"k:{"name":"web"}"#]["."]
                .is_object()
        );
        assert_eq!(from_fields_v1(&encoded), set);
    }

    #[test]
    fn merge_keeps_list_items_by_key_and_remove_drops_them() {
        let mut live = deployment("nginx", true);
        merge(
            &mut live,
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}, {"name": "side", "image": "busybox"}]}}}}),
            "",
            true,
        );
        let containers = live
            .pointer("/spec/template/spec/containers")
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(containers.len(), 2);
        assert_eq!(containers[0]["image"], "nginx:2");
        assert_eq!(containers[0]["env"][0]["name"], "A");
        let env = fields_of(&live)
            .into_iter()
            .find(|p| p.last() == Some(&Step::Key(r#"{"name":"A"}"#.into())))
            .unwrap();
        remove(&mut live, &env);
        assert_eq!(
            live.pointer("/spec/template/spec/containers/0/env"),
            Some(&json!([]))
        );
    }
}
