//! Failures of API requests, answered as Kubernetes `Status` bodies.
//!
//! Clients branch on `reason` and `code` (kube-rs matches 404/409/410, kubectl prints
//! `message`), so every failure carries the same fields the real API server sends.

use serde_json::{Value, json};

use crate::resources::Resource;

/// One `metav1.StatusCause`: which field failed and why.
#[derive(Debug, Clone)]
pub(crate) struct Cause {
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) field: String,
}

/// A failed API request: the HTTP code, the `reason` word and a message for people.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) details: Value,
    pub(crate) causes: Vec<Cause>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: String) -> Self {
        Self {
            code,
            reason,
            message,
            details: Value::Null,
            causes: Vec::new(),
        }
    }

    fn named(mut self, resource: &Resource, name: &str) -> Self {
        self.details = json!({"name": name, "group": resource.group, "kind": resource.plural});
        self
    }

    pub(crate) fn not_found(resource: &Resource, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", resource.group_resource()),
        )
        .named(resource, name)
    }

    pub(crate) fn namespace_not_found(namespace: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("namespaces \"{namespace}\" not found"),
        )
    }

    pub(crate) fn namespace_terminating(resource: &Resource, namespace: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!(
                "{} is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                resource.group_resource()
            ),
        )
    }

    pub(crate) fn path_not_found(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    pub(crate) fn already_exists(resource: &Resource, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", resource.group_resource()),
        )
        .named(resource, name)
    }

    /// A DELETE whose uid precondition names another object than the one of that name.
    pub(crate) fn precondition_failed(
        resource: &Resource,
        name: &str,
        wanted: &str,
        actual: &str,
    ) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: \
                 UID in precondition: {wanted}, UID in object meta: {actual}",
                resource.group_resource()
            ),
        )
        .named(resource, name)
    }

    pub(crate) fn stale(resource: &Resource, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                resource.group_resource()
            ),
        )
        .named(resource, name)
    }

    /// An apply that would take fields another manager owns; `conflicts` are
    /// `(manager, apiVersion, field path)`.
    pub(crate) fn apply_conflict(
        resource: &Resource,
        name: &str,
        conflicts: &[(String, String, String)],
    ) -> Self {
        let plural = if conflicts.len() == 1 { "" } else { "s" };
        let mut message = format!("Apply failed with {} conflict{plural}:", conflicts.len());
        let mut causes = Vec::new();
        for (manager, api_version, field) in conflicts {
            let what = format!("conflict with \"{manager}\" using {api_version}");
            if conflicts.len() == 1 {
                message = format!("{message} {what}: {field}");
            } else {
                message = format!("{message}\n* {what}: {field}");
            }
            causes.push(Cause {
                reason: "FieldManagerConflict",
                message: what,
                field: field.clone(),
            });
        }
        let mut error = Self::new(409, "Conflict", message).named(resource, name);
        error.causes = causes;
        error
    }

    pub(crate) fn invalid(resource: &Resource, name: &str, causes: Vec<Cause>) -> Self {
        let listed: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let mut error = Self::new(
            422,
            "Invalid",
            format!(
                "{} \"{name}\" is invalid: {}",
                resource.group_kind(),
                listed.join(", ")
            ),
        )
        .named(resource, name);
        error.details["kind"] = json!(resource.kind);
        error.causes = causes;
        error
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message.into())
    }

    pub(crate) fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow the method {method} on {path}"),
        )
    }

    pub(crate) fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}); send JSON or YAML"
            ),
        )
    }

    /// A protobuf body this server cannot read: `what` names the kind or field.
    pub(crate) fn unsupported_protobuf(content_type: &str, what: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "this server reads protobuf ({content_type}) only for the fields of batch/v1 Jobs and CronJobs it knows, not {what}; send JSON or YAML"
            ),
        )
    }

    pub(crate) fn gone(resource_version: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {resource_version} ({oldest})"),
        )
    }

    /// A request body over the API server's limit (`--max-request-body-bytes`, 3 MiB).
    pub(crate) fn request_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// An object over etcd's request limit (`--max-request-bytes`, 1.5 MiB): the API server
    /// passes etcd's refusal on as an internal error.
    pub(crate) fn etcd_too_large() -> Self {
        Self::new(
            500,
            "InternalError",
            "etcdserver: request is too large".to_owned(),
        )
    }

    pub(crate) fn injected(request_number: u64) -> Self {
        Self::new(
            500,
            "InternalError",
            format!(
                "Internal error occurred: fault injected by zeppelin-kubefake on request {request_number}"
            ),
        )
    }

    /// The `Status` object clients parse.
    pub(crate) fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if !self.details.is_null() || !self.causes.is_empty() {
            let mut details = if self.details.is_null() {
                json!({})
            } else {
                self.details.clone()
            };
            if !self.causes.is_empty() {
                details["causes"] = self
                    .causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect();
            }
            status["details"] = details;
        }
        status
    }
}
