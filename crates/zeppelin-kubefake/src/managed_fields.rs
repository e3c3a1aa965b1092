//! `managedFields` bookkeeping: server-side apply with per-manager field ownership and
//! conflicts, and the ownership every other write hands to its field manager.
//!
//! Good enough for the objects Zeppelin writes: a re-apply that drops a field removes it
//! unless another manager still owns it, and applying a field another manager set to a
//! different value is a conflict naming both, unless forced.

use serde_json::{Value, json};

use crate::fieldset::{self, FieldSet, Path, Step};

/// One `managedFields` entry.
#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: Option<String>,
    fields: FieldSet,
}

/// Who writes and how: the `fieldManager`, the object's `apiVersion` and the time to record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Writer<'a> {
    pub(crate) manager: &'a str,
    pub(crate) api_version: &'a str,
    pub(crate) now: &'a str,
    /// `Some("status")` for writes through the status subresource.
    pub(crate) subresource: Option<&'a str>,
}

/// An apply refused because other managers own fields: `(manager, apiVersion, field)`.
pub(crate) type Conflicts = Vec<(String, String, String)>;

fn read(object: &Value) -> Vec<Entry> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or_default().to_owned(),
            operation: e["operation"].as_str().unwrap_or("Update").to_owned(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().to_owned(),
            time: e["time"].as_str().unwrap_or_default().to_owned(),
            subresource: e["subresource"].as_str().map(str::to_owned),
            fields: fieldset::from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

fn write(object: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.fields.is_empty());
    let encoded: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut entry = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fieldset::to_fields_v1(&e.fields),
            });
            if let Some(sub) = &e.subresource {
                entry["subresource"] = json!(sub);
            }
            entry
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if encoded.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".to_owned(), Value::Array(encoded));
        }
    }
}

fn is_status(path: &Path) -> bool {
    path.first() == Some(&Step::Field("status".to_owned()))
}

/// The fields of `object` a write through `subresource` can own.
fn owned_fields(object: &Value, subresource: Option<&str>) -> FieldSet {
    fieldset::fields_of(object)
        .into_iter()
        .filter(|p| is_status(p) == (subresource == Some("status")))
        .collect()
}

fn entry<'e>(entries: &'e mut Vec<Entry>, writer: &Writer<'_>, operation: &str) -> &'e mut Entry {
    let position = entries.iter().position(|e| {
        e.manager == writer.manager
            && e.operation == operation
            && e.subresource.as_deref() == writer.subresource
    });
    let index = position.unwrap_or_else(|| {
        entries.push(Entry {
            manager: writer.manager.to_owned(),
            operation: operation.to_owned(),
            api_version: String::new(),
            time: String::new(),
            subresource: writer.subresource.map(str::to_owned),
            fields: FieldSet::new(),
        });
        entries.len() - 1
    });
    let entry = &mut entries[index];
    writer.api_version.clone_into(&mut entry.api_version);
    writer.now.clone_into(&mut entry.time);
    entry
}

/// True for a key field of a list item (`name` in `containers[name="web"]`), which stays as
/// long as its item does.
fn is_key_field(path: &[Step]) -> bool {
    match path {
        [.., Step::Key(key), Step::Field(field)] => {
            serde_json::from_str::<serde_json::Map<String, Value>>(key)
                .is_ok_and(|k| k.contains_key(field))
        }
        _ => false,
    }
}

/// Server-side apply of `applied` onto `live` (absent when the apply creates the object).
pub(crate) fn apply(
    live: Option<&Value>,
    applied: &Value,
    writer: &Writer<'_>,
    force: bool,
) -> Result<Value, Conflicts> {
    let mut entries = live.map(read).unwrap_or_default();
    let mut result = live.cloned().unwrap_or_else(|| json!({}));
    let new_set = owned_fields(applied, None);

    let mut conflicts = Conflicts::new();
    for other in entries.iter_mut().filter(|e| e.manager != writer.manager) {
        let taken: Vec<Path> = other
            .fields
            .intersection(&new_set)
            .filter(|p| !matches!(p.last(), Some(Step::Key(_))))
            .filter(|p| fieldset::get(&result, p) != fieldset::get(applied, p))
            .cloned()
            .collect();
        for path in taken {
            if force {
                other.fields.remove(&path);
            } else {
                conflicts.push((
                    other.manager.clone(),
                    other.api_version.clone(),
                    fieldset::display(&path),
                ));
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    let old_set = entries
        .iter()
        .find(|e| e.manager == writer.manager && e.operation == "Apply" && e.subresource.is_none())
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    // In order, so a dropped list item goes whole before its fields are looked at (a field
    // removed first would change the item's key).
    for dropped in old_set.difference(&new_set) {
        let owned_elsewhere = entries
            .iter()
            .filter(|e| !(e.manager == writer.manager && e.operation == "Apply"))
            .any(|e| e.fields.iter().any(|p| p.starts_with(dropped)));
        if !owned_elsewhere && !is_key_field(dropped) {
            fieldset::remove(&mut result, dropped);
        }
    }
    let mut applied_spec = applied.clone();
    if let Some(map) = applied_spec.as_object_mut() {
        map.remove("status");
    }
    fieldset::merge(&mut result, &applied_spec, "", true);
    entry(&mut entries, writer, "Apply").fields = new_set;
    write(&mut result, entries);
    Ok(result)
}

/// Records a non-apply write: the fields it changed now belong to `writer.manager` alone.
pub(crate) fn record_update(old: Option<&Value>, new: &mut Value, writer: &Writer<'_>) {
    let mut entries = old.map(read).unwrap_or_default();
    let new_fields = owned_fields(new, writer.subresource);
    let changed: FieldSet = new_fields
        .iter()
        .filter(|p| old.is_none_or(|o| fieldset::get(o, p) != fieldset::get(new, p)))
        .cloned()
        .collect();
    for e in &mut entries {
        e.fields.retain(|p| {
            !changed.contains(p)
                && (matches!(p.last(), Some(Step::Key(_))) || fieldset::get(new, p).is_some())
        });
    }
    if !changed.is_empty() {
        entry(&mut entries, writer, "Update").fields.extend(changed);
    }
    write(new, entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL: Writer<'static> = Writer {
        manager: "kubectl",
        api_version: "apps/v1",
        now: "2026-01-01T00:00:00Z",
        subresource: None,
    };

    fn applied(replicas: Option<u32>, label: bool) -> Value {
        let mut object = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
        });
        if let Some(r) = replicas {
            object["spec"]["replicas"] = json!(r);
        }
        if label {
            object["metadata"]["labels"] = json!({"app": "web"});
        }
        object
    }

    #[test]
    fn reapply_without_a_field_removes_it() {
        let first = apply(None, &applied(Some(3), true), &KUBECTL, false).unwrap();
        assert_eq!(first["spec"]["replicas"], 3);
        assert_eq!(first["metadata"]["managedFields"][0]["operation"], "Apply");
        let second = apply(Some(&first), &applied(None, false), &KUBECTL, false).unwrap();
        assert!(second["spec"].get("replicas").is_none());
        assert!(second.pointer("/metadata/labels/app").is_none());
        assert_eq!(
            second.pointer("/spec/template/spec/containers/0/image"),
            Some(&json!("nginx"))
        );
    }

    #[test]
    fn reapply_without_a_list_item_removes_only_that_item() {
        let with_env = |names: &[&str]| {
            let env: Vec<Value> = names
                .iter()
                .map(|n| json!({"name": n, "value": "1"}))
                .collect();
            let mut object = applied(Some(1), false);
            object["spec"]["template"]["spec"]["containers"][0]["env"] = json!(env);
            object
        };
        let first = apply(None, &with_env(&["A", "B"]), &KUBECTL, false).unwrap();
        let second = apply(Some(&first), &with_env(&["B"]), &KUBECTL, false).unwrap();
        let env = second
            .pointer("/spec/template/spec/containers/0/env")
            .unwrap();
        assert_eq!(env, &json!([{"name": "B", "value": "1"}]));
        let fields = &second["metadata"]["managedFields"][0]["fieldsV1"];
        let container =
            &fields["f:spec"]["f:template"]["f:spec"]["f:containers"][r#"k:{"name":"web"}"#];
        assert!(container["f:env"][r#"k:{"name":"B"}"#].is_object());
        assert!(container["f:env"].get(r#"k:{"name":"A"}"#).is_none());
    }

    #[test]
    fn another_manager_conflicts_unless_forced() {
        let first = apply(None, &applied(Some(3), false), &KUBECTL, false).unwrap();
        let other = Writer {
            manager: "zeppelin",
            ..KUBECTL
        };
        let conflicts = apply(Some(&first), &applied(Some(5), false), &other, false).unwrap_err();
        assert_eq!(
            conflicts,
            vec![(
                "kubectl".to_owned(),
                "apps/v1".to_owned(),
                ".spec.replicas".to_owned()
            )]
        );
        let same = apply(Some(&first), &applied(Some(3), false), &other, false).unwrap();
        assert_eq!(
            same["metadata"]["managedFields"].as_array().unwrap().len(),
            2
        );
        let forced = apply(Some(&first), &applied(Some(5), false), &other, true).unwrap();
        assert_eq!(forced["spec"]["replicas"], 5);
        let back = apply(Some(&forced), &applied(None, false), &KUBECTL, false).unwrap();
        assert_eq!(
            back["spec"]["replicas"], 5,
            "still owned by zeppelin, so kept"
        );
    }

    #[test]
    fn updates_take_ownership_of_changed_fields() {
        let first = apply(None, &applied(Some(3), false), &KUBECTL, false).unwrap();
        let mut scaled = first.clone();
        scaled["spec"]["replicas"] = json!(4);
        let scaler = Writer {
            manager: "kubectl-scale",
            ..KUBECTL
        };
        record_update(Some(&first), &mut scaled, &scaler);
        let conflicts =
            apply(Some(&scaled), &applied(Some(3), false), &KUBECTL, false).unwrap_err();
        assert_eq!(conflicts[0].0, "kubectl-scale");
    }
}
