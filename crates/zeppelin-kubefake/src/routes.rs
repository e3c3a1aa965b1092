//! The request handler: faults first, then discovery paths, then resource paths
//! (`/api/v1/namespaces/NS/pods/NAME/status` and friends) dispatched by method.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::api_error::ApiError;
use crate::discovery;
use crate::resources::{self, RESOURCES, ResourceId};
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::store::{PatchKind, Propagation, WriteOptions};
use crate::watch::{self, WatchRequest};

/// Query parameters; a repeated name keeps its last value.
struct Query(HashMap<String, String>);

impl Query {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("1" | "true"))
    }

    fn dry_run(&self) -> bool {
        self.get("dryRun") == Some("All")
    }
}

fn json_response(code: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("static headers are valid")
}

fn error_response(error: &ApiError) -> Response {
    json_response(error.code, &error.status())
}

/// The one handler behind every path.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let line = shared
        .config
        .log_requests
        .then(|| format!("{} {}", request.method(), request.uri()));
    let response = serve(&shared, request).await;
    if let Some(line) = line {
        eprintln!("{line} -> {}", response.status().as_u16());
    }
    response
}

async fn serve(shared: &Arc<Shared>, request: Request) -> Response {
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(number) = shared.faults.admit() {
        return error_response(&ApiError::injected(number));
    }
    let (parts, body) = request.into_parts();
    let query: Vec<(String, String)> = axum::extract::Query::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let query = Query(query.into_iter().collect());
    let Ok(body) = axum::body::to_bytes(body, 64 << 20).await else {
        return error_response(&ApiError::bad_request("the request body could not be read"));
    };
    if let Some(refusal) = size_refusal(&parts.method, body.len()) {
        return error_response(&refusal);
    }
    let path = parts.uri.path().to_owned();
    match route(shared, &parts.method, &path, &parts.headers, &query, &body) {
        Ok(response) => response,
        Err(error) => error_response(&error),
    }
}

/// The real API server's default size limits: it refuses request bodies over 3 MiB, and
/// etcd refuses to store an object over 1.5 MiB. A written object is about as large as the
/// body that writes it, so the body's size stands in for the object's.
fn size_refusal(method: &Method, size: usize) -> Option<ApiError> {
    const REQUEST_LIMIT: usize = 3 << 20;
    const OBJECT_LIMIT: usize = 3 << 19;
    if size > REQUEST_LIMIT {
        return Some(ApiError::request_too_large(REQUEST_LIMIT));
    }
    let writes = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    (writes && size > OBJECT_LIMIT).then(ApiError::etcd_too_large)
}

fn route(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    query: &Query,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if matches!(segments.as_slice(), ["api" | "apis"])
        && method == Method::GET
        && discovery::wants_aggregated(accept)
    {
        let document = discovery::aggregated(segments == ["api"]);
        let mut response = json_response(200, &document);
        response.headers_mut().insert(
            "content-type",
            axum::http::HeaderValue::from_static(discovery::AGGREGATED),
        );
        return Ok(response);
    }
    let document = match segments.as_slice() {
        ["version"] => Some(discovery::version()),
        ["healthz" | "readyz" | "livez"] => {
            return Ok(Response::builder()
                .header("content-type", "text/plain")
                .body(Body::from("ok"))
                .expect("static headers are valid"));
        }
        ["api"] => Some(discovery::core_versions(&shared.address.to_string())),
        ["apis"] => Some(discovery::group_list()),
        ["api", version] => discovery::resource_list("", version),
        ["apis", group] => discovery::api_group(group),
        ["apis", group, version] if shared.faults.is_hidden(&format!("{group}/{version}")) => None,
        ["apis", group, version] => discovery::resource_list(group, version),
        ["openapi", "v3"] => Some(crate::openapi::index()),
        ["openapi", "v3", "api", version] => crate::openapi::group_version("", version),
        ["openapi", "v3", "apis", group, version] => crate::openapi::group_version(group, version),
        ["api", version, rest @ ..] => {
            return resource_request(
                shared, method, path, "", version, rest, headers, query, body,
            );
        }
        ["apis", group, version, rest @ ..] => {
            return resource_request(
                shared, method, path, group, version, rest, headers, query, body,
            );
        }
        _ => None,
    };
    match document {
        Some(document) if method == Method::GET => Ok(json_response(200, &document)),
        Some(_) => Err(ApiError::method_not_allowed(method.as_str(), path)),
        None => Err(ApiError::path_not_found(path)),
    }
}

/// A parsed resource path.
struct Target {
    resource: ResourceId,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn target(path: &str, group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiError> {
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => {
            (Some((*ns).to_owned()), {
                let mut v = vec![*plural];
                v.extend_from_slice(tail);
                v
            })
        }
        _ => (None, rest.to_vec()),
    };
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some((*name).to_owned()), None),
        [plural, name, sub] => (*plural, Some((*name).to_owned()), Some((*sub).to_owned())),
        _ => return Err(ApiError::path_not_found(path)),
    };
    let resource =
        resources::find(group, version, plural).ok_or_else(|| ApiError::path_not_found(path))?;
    let kind = &RESOURCES[resource];
    if namespace.is_some() && !kind.namespaced {
        return Err(ApiError::path_not_found(path));
    }
    let allowed = match subresource.as_deref() {
        None => true,
        Some("status") => kind.status,
        Some("scale") => kind.scale,
        Some("log") => kind.kind == "Pod",
        Some(_) => false,
    };
    if !allowed {
        return Err(ApiError::path_not_found(path));
    }
    Ok(Target {
        resource,
        namespace,
        name,
        subresource,
    })
}

fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if content_type.contains("protobuf") {
        return crate::protobuf::decode(body)
            .map_err(|what| ApiError::unsupported_protobuf(content_type, &what));
    }
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    serde_yaml_ng::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the request body is neither JSON nor YAML: {e}"))
    })
}

fn field_manager(query: &Query, headers: &HeaderMap) -> String {
    if let Some(manager) = query.get("fieldManager") {
        return manager.to_owned();
    }
    headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split('/').next())
        .filter(|m| !m.is_empty())
        .unwrap_or("unknown")
        .to_owned()
}

#[allow(clippy::too_many_arguments)]
fn resource_request(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    group: &str,
    version: &str,
    rest: &[&str],
    headers: &HeaderMap,
    query: &Query,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let target = target(path, group, version, rest)?;
    let call = Call {
        shared,
        kind: &RESOURCES[target.resource],
        namespace: target.namespace.clone().unwrap_or_default(),
        manager: field_manager(query, headers),
        accept: headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
        target,
        headers,
        query,
        body,
    };
    let name = call.target.name.as_deref();
    match (method.as_str(), name, call.target.subresource.as_deref()) {
        ("GET", None, _) => call.list_or_watch(),
        ("GET", Some(name), Some("log")) => {
            crate::logs::serve(shared, &call.namespace, name, &query.0)
        }
        ("GET", Some(name), Some("scale")) => {
            Ok(json_response(200, &scale_of(&call.stored(name)?)))
        }
        ("GET", Some(name), _) => call.get(name),
        ("POST", None, None) if !call.kind.namespaced || call.target.namespace.is_some() => {
            let object = parse_body(headers, body)?;
            let created = shared.store.create(
                call.target.resource,
                &call.namespace,
                object,
                &call.options(),
            )?;
            Ok(json_response(201, &created))
        }
        ("PUT", Some(name), Some("scale")) => {
            let scale = parse_body(headers, body)?;
            set_scale(
                shared,
                call.target.resource,
                &call.namespace,
                name,
                &scale,
                &call.options(),
            )
        }
        ("PUT", Some(name), _) => {
            let object = parse_body(headers, body)?;
            let updated = shared.store.update(
                call.target.resource,
                &call.namespace,
                name,
                object,
                &call.options(),
            )?;
            Ok(json_response(200, &updated))
        }
        ("PATCH", Some(name), _) => call.patch(name),
        ("DELETE", name, None) => call.delete(name),
        (method, _, _) => Err(ApiError::method_not_allowed(method, path)),
    }
}

/// One request to a resource path, with what every verb needs.
struct Call<'a> {
    shared: &'a Arc<Shared>,
    kind: &'static crate::resources::Resource,
    target: Target,
    namespace: String,
    manager: String,
    accept: &'a str,
    headers: &'a HeaderMap,
    query: &'a Query,
    body: &'a Bytes,
}

impl Call<'_> {
    fn options(&self) -> WriteOptions<'_> {
        WriteOptions {
            manager: &self.manager,
            subresource: self
                .target
                .subresource
                .as_deref()
                .filter(|s| *s == "status"),
            dry_run: self.query.dry_run(),
        }
    }

    fn stored(&self, name: &str) -> Result<Value, ApiError> {
        self.shared
            .store
            .get(self.target.resource, &self.namespace, name)
    }

    fn selectors(&self) -> Result<(LabelSelector, FieldSelector), ApiError> {
        Ok((
            LabelSelector::parse(self.query.get("labelSelector").unwrap_or_default())?,
            FieldSelector::parse(self.query.get("fieldSelector").unwrap_or_default())?,
        ))
    }

    fn list_or_watch(&self) -> Result<Response, ApiError> {
        let (labels, fields) = self.selectors()?;
        let query = self.query;
        if query.flag("watch") {
            let request = WatchRequest {
                resource: self.target.resource,
                namespace: self.target.namespace.clone(),
                labels,
                fields,
                resource_version: watch::parse_resource_version(query.get("resourceVersion"))?,
                bookmarks: query.flag("allowWatchBookmarks"),
                send_initial_events: query.flag("sendInitialEvents"),
                timeout: query
                    .get("timeoutSeconds")
                    .and_then(|t| t.parse().ok())
                    .map(Duration::from_secs),
                table: crate::table::wanted(self.accept),
            };
            return Ok(watch::serve(self.shared, request));
        }
        let limit = query.get("limit").and_then(|l| l.parse().ok());
        let page = self.shared.store.list(
            self.target.resource,
            self.target.namespace.as_deref(),
            &labels,
            &fields,
            limit,
            query.get("continue"),
        )?;
        let mut metadata = json!({"resourceVersion": page.resource_version.to_string()});
        if let Some(token) = page.continue_token {
            metadata["continue"] = json!(token);
            metadata["remainingItemCount"] = json!(page.remaining);
        }
        if crate::table::wanted(self.accept) {
            let mut table =
                crate::table::table(self.kind, &page.items, page.resource_version, true);
            table["metadata"] = metadata;
            return Ok(json_response(200, &table));
        }
        Ok(json_response(200, &self.list(metadata, page.items)))
    }

    fn list(&self, metadata: Value, items: Vec<Value>) -> Value {
        let mut list = json!({"kind": format!("{}List", self.kind.kind), "apiVersion": self.kind.api_version()});
        list["metadata"] = metadata;
        list["items"] = Value::Array(items);
        list
    }

    fn get(&self, name: &str) -> Result<Response, ApiError> {
        let object = self.stored(name)?;
        if crate::table::wanted(self.accept) {
            let rv = crate::store::resource_version(&object);
            return Ok(json_response(
                200,
                &crate::table::table(self.kind, &[object], rv, true),
            ));
        }
        Ok(json_response(200, &object))
    }

    fn patch(&self, name: &str) -> Result<Response, ApiError> {
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let patch = match content_type.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => PatchKind::Merge,
            "application/json-patch+json" => PatchKind::Json,
            "application/strategic-merge-patch+json" => PatchKind::Strategic,
            "application/apply-patch+yaml" | "application/apply-patch+json" => PatchKind::Apply {
                force: self.query.flag("force"),
            },
            other => return Err(ApiError::unsupported_media_type(other)),
        };
        let body = parse_body(self.headers, self.body)?;
        if self.target.subresource.as_deref() == Some("scale") {
            let mut scale = scale_of(&self.stored(name)?);
            if patch == PatchKind::Json {
                scale = crate::json_patch::apply(&scale, &body)?;
            } else {
                crate::fieldset::merge(&mut scale, &body, "", true);
            }
            return set_scale(
                self.shared,
                self.target.resource,
                &self.namespace,
                name,
                &scale,
                &self.options(),
            );
        }
        let mut options = self.options();
        if matches!(patch, PatchKind::Apply { .. }) {
            // Apply takes its manager only from ?fieldManager= (no user-agent fallback):
            // the store refuses an apply without one.
            options.manager = self.query.get("fieldManager").unwrap_or_default();
        }
        let (object, created) = self.shared.store.patch(
            self.target.resource,
            &self.namespace,
            name,
            patch,
            &body,
            &options,
        )?;
        Ok(json_response(if created { 201 } else { 200 }, &object))
    }

    /// DELETE of one object, or of every object the selectors match (`deletecollection`).
    fn delete(&self, name: Option<&str>) -> Result<Response, ApiError> {
        let options = if self.body.is_empty() {
            json!({})
        } else {
            parse_body(self.headers, self.body)?
        };
        let policy = self
            .query
            .get("propagationPolicy")
            .or_else(|| options["propagationPolicy"].as_str());
        let propagation = if policy == Some("Orphan") || options["orphanDependents"] == json!(true)
        {
            Propagation::Orphan
        } else {
            Propagation::Cascade
        };
        let dry_run = self.query.dry_run()
            || options["dryRun"]
                .as_array()
                .is_some_and(|d| d.contains(&json!("All")));
        let store = &self.shared.store;
        if let Some(name) = name {
            // A uid precondition: the object of that name must still be the one meant.
            if let Some(uid) = options
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
            {
                let current = store.get(self.target.resource, &self.namespace, name)?;
                let actual = current["metadata"]["uid"].as_str().unwrap_or_default();
                if actual != uid {
                    let resource = &RESOURCES[self.target.resource];
                    return Err(ApiError::precondition_failed(resource, name, uid, actual));
                }
            }
            let deleted = store.delete(
                self.target.resource,
                &self.namespace,
                name,
                propagation,
                dry_run,
            )?;
            return Ok(json_response(200, &deleted));
        }
        let (labels, fields) = self.selectors()?;
        let page = store.list(
            self.target.resource,
            self.target.namespace.as_deref(),
            &labels,
            &fields,
            None,
            None,
        )?;
        let mut deleted = Vec::new();
        for object in page.items {
            let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = object["metadata"]["name"].as_str().unwrap_or_default();
            // An item may be gone by now (a controller or a cascade deleted it):
            // like the real server, skip it rather than fail the whole collection.
            match store.delete(self.target.resource, namespace, name, propagation, dry_run) {
                Ok(object) => deleted.push(object),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(json_response(200, &self.list(json!({}), deleted)))
    }
}

/// The `autoscaling/v1` Scale view of a Deployment or `ReplicaSet`.
fn scale_of(object: &Value) -> Value {
    let selector: Vec<String> = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let meta = &object["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector.join(","),
        }
    })
}

fn set_scale(
    shared: &Shared,
    resource: ResourceId,
    namespace: &str,
    name: &str,
    scale: &Value,
    options: &WriteOptions<'_>,
) -> Result<Response, ApiError> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            ApiError::bad_request(
                "the Scale body has no spec.replicas; send {\"spec\": {\"replicas\": N}}",
            )
        })?;
    let options = WriteOptions {
        subresource: None,
        ..*options
    };
    // The store handles a dry run itself, after defaults and validation.
    let updated = shared
        .store
        .modify(resource, namespace, name, &options, |o| {
            o["spec"]["replicas"] = json!(replicas);
        })?;
    Ok(json_response(200, &scale_of(&updated)))
}
