//! JSON Patch (RFC 6902): what `kubectl rollout undo` and kube-rs `Patch::Json` send.

use serde_json::Value;

use crate::api_error::ApiError;

pub(crate) fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split(path: &str) -> Result<(String, String), ApiError> {
    let (parent, last) = path.rsplit_once('/').ok_or_else(|| {
        ApiError::bad_request(format!("JSON patch path \"{path}\" must start with '/'"))
    })?;
    Ok((parent.to_owned(), unescape(last)))
}

fn missing(path: &str) -> ApiError {
    ApiError::bad_request(format!(
        "JSON patch path \"{path}\" does not exist in the object"
    ))
}

fn insert(target: &mut Value, path: &str, value: Value, replace: bool) -> Result<(), ApiError> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    let container = target.pointer_mut(&parent).ok_or_else(|| missing(path))?;
    match container {
        Value::Object(map) => {
            if replace && !map.contains_key(&last) {
                return Err(missing(path));
            }
            map.insert(last, value);
        }
        Value::Array(items) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse().map_err(|_| missing(path))?
            };
            if replace {
                *items.get_mut(index).ok_or_else(|| missing(path))? = value;
            } else if index <= items.len() {
                items.insert(index, value);
            } else {
                return Err(missing(path));
            }
        }
        _ => return Err(missing(path)),
    }
    Ok(())
}

fn remove(target: &mut Value, path: &str) -> Result<Value, ApiError> {
    let (parent, last) = split(path)?;
    match target.pointer_mut(&parent).ok_or_else(|| missing(path))? {
        Value::Object(map) => map.remove(&last).ok_or_else(|| missing(path)),
        Value::Array(items) => {
            let index: usize = last.parse().map_err(|_| missing(path))?;
            if index < items.len() {
                Ok(items.remove(index))
            } else {
                Err(missing(path))
            }
        }
        _ => Err(missing(path)),
    }
}

/// Applies the operations in `patch` to `target`, all or nothing.
pub(crate) fn apply(target: &Value, patch: &Value) -> Result<Value, ApiError> {
    let operations = patch
        .as_array()
        .ok_or_else(|| ApiError::bad_request("a JSON patch must be an array of operations"))?;
    let mut result = target.clone();
    for op in operations {
        let path = op["path"].as_str().unwrap_or_default();
        let value = || {
            op.get("value").cloned().ok_or_else(|| {
                ApiError::bad_request(format!("JSON patch operation on \"{path}\" has no value"))
            })
        };
        match op["op"].as_str() {
            Some("add") => insert(&mut result, path, value()?, false)?,
            Some("replace") => insert(&mut result, path, value()?, true)?,
            Some("remove") => {
                remove(&mut result, path)?;
            }
            Some("test") => {
                if result.pointer(path) != Some(&value()?) {
                    return Err(ApiError::bad_request(format!(
                        "JSON patch test failed at \"{path}\""
                    )));
                }
            }
            Some(verb @ ("move" | "copy")) => {
                let from = op["from"].as_str().unwrap_or_default();
                let moved = if verb == "move" {
                    remove(&mut result, from)?
                } else {
                    result.pointer(from).cloned().ok_or_else(|| missing(from))?
                };
                insert(&mut result, path, moved, false)?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown JSON patch operation {other:?}; use add, remove, replace, move, copy or test"
                )));
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn applies_every_operation() {
        let object = json!({"metadata": {"annotations": {"a": "1"}}, "spec": {"list": [1, 2]}});
        let patch = json!([
            {"op": "replace", "path": "/metadata/annotations", "value": {"b": "2"}},
            {"op": "add", "path": "/spec/list/-", "value": 3},
            {"op": "remove", "path": "/spec/list/0"},
            {"op": "copy", "from": "/spec/list", "path": "/spec/copy"},
            {"op": "move", "from": "/spec/copy", "path": "/spec/moved"},
            {"op": "test", "path": "/spec/moved/1", "value": 3},
            {"op": "add", "path": "/metadata/annotations/x~1y", "value": "z"}
        ]);
        let patched = apply(&object, &patch).unwrap();
        assert_eq!(
            patched,
            json!({"metadata": {"annotations": {"b": "2", "x/y": "z"}}, "spec": {"list": [2, 3], "moved": [2, 3]}})
        );
        assert!(
            apply(
                &object,
                &json!([{"op": "replace", "path": "/spec/nope", "value": 1}])
            )
            .is_err()
        );
        assert!(
            apply(
                &object,
                &json!([{"op": "test", "path": "/spec/list/0", "value": 9}])
            )
            .is_err()
        );
    }
}
