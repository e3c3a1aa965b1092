//! Just enough `OpenAPI` v3 for kubectl: the index of group versions and, per group version, a
//! PATCH operation per kind that lists the `fieldValidation` parameter. Seeing it, kubectl
//! leaves validation to the server instead of downloading schemas to validate on its side;
//! this server accepts the parameter and does its own checks (names, selectors, containers).

use serde_json::{Value, json};

use crate::resources::RESOURCES;

fn path_of(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: where each group version's document is.
pub(crate) fn index() -> Value {
    let mut paths = serde_json::Map::new();
    for resource in RESOURCES {
        let path = path_of(resource.group, resource.version);
        let url = format!("/openapi/v3/{path}?hash=zeppelin-kubefake-1");
        paths.insert(path, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/api/v1` or `/openapi/v3/apis/GROUP/VERSION`, if served.
pub(crate) fn group_version(group: &str, version: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for resource in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let scope = if resource.namespaced {
            "namespaces/{namespace}/"
        } else {
            ""
        };
        let path = format!(
            "/{}/{scope}{}/{{name}}",
            path_of(group, version),
            resource.plural
        );
        let parameters: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|name| json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}}))
            .collect();
        let operation = json!({
            "operationId": format!("patch{}", resource.kind),
            "parameters": parameters,
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": resource.kind},
        });
        paths.insert(path, json!({"patch": operation}));
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0-zeppelin-kubefake"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
