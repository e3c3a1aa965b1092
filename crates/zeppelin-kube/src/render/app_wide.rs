//! Objects of the whole app: its Namespace, ServiceAccount, ConfigMap and Secret.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use zeppelin_core::App;

use crate::render::labels::{annotations, app_labels};
use crate::render::object::Object;
use crate::render::options::RenderOptions;

/// Pod Security Admission labels: the namespace refuses, audits and warns about any pod
/// that does not meet the `restricted` profile.
const POD_SECURITY: [&str; 3] = [
    "pod-security.kubernetes.io/enforce",
    "pod-security.kubernetes.io/audit",
    "pod-security.kubernetes.io/warn",
];

/// The name of the ConfigMap holding `[conf]`.
pub(crate) fn conf_name(app: &App) -> String {
    format!("{}-conf", app.name)
}

/// The name of the Secret holding `[secrets]`.
pub(crate) fn secret_name(app: &App) -> String {
    format!("{}-secrets", app.name)
}

/// Metadata of an app-wide object in the app's namespace.
pub(crate) fn meta(app: &App, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(app.namespace().to_owned()),
        labels: Some(app_labels(app)),
        annotations: annotations(app),
        ..ObjectMeta::default()
    }
}

pub(crate) fn objects(app: &App, options: &RenderOptions) -> Vec<Object> {
    let mut objects = Vec::new();
    if app.kubernetes.create_namespace {
        let mut labels = app_labels(app);
        for key in POD_SECURITY {
            labels.insert(key.to_owned(), "restricted".to_owned());
            labels.insert(format!("{key}-version"), "latest".to_owned());
        }
        objects.push(Object::Namespace(Namespace {
            metadata: ObjectMeta {
                name: Some(app.namespace().to_owned()),
                labels: Some(labels),
                annotations: annotations(app),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        }));
    }
    objects.push(Object::ServiceAccount(ServiceAccount {
        metadata: meta(app, app.name.clone()),
        // Apps do not call the Kubernetes API; a token they never use is only a risk.
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }));
    if !app.conf.is_empty() {
        objects.push(Object::ConfigMap(ConfigMap {
            metadata: meta(app, conf_name(app)),
            data: Some(app.conf.clone()),
            ..ConfigMap::default()
        }));
    }
    if let Some(values) = &options.secrets
        && options.include_secret
        && !app.secrets.is_empty()
    {
        let data: BTreeMap<String, ByteString> = app
            .secrets
            .keys()
            .filter_map(|name| Some((name.clone(), ByteString(values.get(name)?.clone()))))
            .collect();
        objects.push(Object::Secret(Secret {
            metadata: meta(app, secret_name(app)),
            type_: Some("Opaque".to_owned()),
            data: Some(data),
            ..Secret::default()
        }));
    }
    objects
}
