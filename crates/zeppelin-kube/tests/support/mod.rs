//! Shared by the render tests: the apps they render.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use zeppelin_core::App;
use zeppelin_kube::{Object, RenderOptions, Rendered, render};

/// The apps every test renders: the examples and the render test apps.
pub fn app_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![
        root.join("../../examples/shop/zeppelin.toml"),
        root.join("tests/apps/full/zeppelin.toml"),
        root.join("tests/apps/pinned/zeppelin.toml"),
        root.join("../../examples/guestbook/zeppelin.toml"),
        root.join("tests/apps/stateful/zeppelin.toml"),
    ]
}

/// A Deployment or a `StatefulSet`: what runs a sub's pods, whichever kind it is.
pub struct Workload<'a> {
    pub kind: &'static str,
    pub metadata: &'a ObjectMeta,
    pub replicas: Option<i32>,
    pub template: &'a PodTemplateSpec,
}

impl Workload<'_> {
    pub fn name(&self) -> &str {
        self.metadata
            .name
            .as_deref()
            .expect("a workload has a name")
    }

    pub fn pod(&self) -> &PodSpec {
        self.template
            .spec
            .as_ref()
            .expect("a pod template has a spec")
    }

    pub fn pod_metadata(&self) -> &ObjectMeta {
        self.template
            .metadata
            .as_ref()
            .expect("a pod template has metadata")
    }
}

/// Every Deployment and `StatefulSet` of a render.
pub fn workloads(r: &Rendered) -> Vec<Workload<'_>> {
    r.objects
        .iter()
        .filter_map(|o| match o {
            Object::Deployment(d) => {
                let spec = d.spec.as_ref()?;
                Some(Workload {
                    kind: "Deployment",
                    metadata: &d.metadata,
                    replicas: spec.replicas,
                    template: &spec.template,
                })
            }
            Object::StatefulSet(s) => {
                let spec = s.spec.as_ref()?;
                Some(Workload {
                    kind: "StatefulSet",
                    metadata: &s.metadata,
                    replicas: spec.replicas,
                    template: &spec.template,
                })
            }
            _ => None,
        })
        .collect()
}

pub fn load(path: &Path) -> App {
    zeppelin_core::load(path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

/// Secret values that do not depend on the environment the tests run in.
pub fn fixed_secrets(app: &App) -> BTreeMap<String, Vec<u8>> {
    app.secrets
        .keys()
        .map(|name| (name.clone(), format!("value-of-{name}").into_bytes()))
        .collect()
}

/// Renders with fixed secret values, so the Secret and the hashes are stable.
pub fn render_with_secrets(app: &App) -> Rendered {
    render(
        app,
        &RenderOptions {
            secrets: Some(fixed_secrets(app)),
            include_secret: true,
        },
    )
    .expect("the test apps render")
}

/// The metadata of a Deployment's pod template: the labels policies select and the
/// annotations that roll the pods.
pub fn pod_metadata(deployment: &Deployment) -> &ObjectMeta {
    deployment
        .spec
        .as_ref()
        .expect("a Deployment has a spec")
        .template
        .metadata
        .as_ref()
        .expect("a pod template has metadata")
}

/// An app file given as text, rendered without secrets.
pub fn rendered(text: &str) -> Rendered {
    render(&parse(text), &RenderOptions::default()).unwrap()
}

/// The object of this kind and name in a render, if there is one.
pub fn find<'a>(r: &'a Rendered, kind: &str, name: &str) -> Option<&'a Object> {
    r.objects
        .iter()
        .find(|o| o.kind() == kind && o.name() == name)
}

/// Parses an app file given as text, as if it were at `zeppelin.toml` in the current folder.
pub fn parse(text: &str) -> App {
    zeppelin_core::parse(text, Path::new("zeppelin.toml")).unwrap_or_else(|e| panic!("{e:?}"))
}
