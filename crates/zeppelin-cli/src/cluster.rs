//! What every cluster command does first: a runtime for kube's async client, a checked
//! connection, the app's target (name and namespace) and its rendered manifest.

use std::future::Future;

use miette::IntoDiagnostic as _;
use zeppelin_core::App;
use zeppelin_kube::deploy::Target;
use zeppelin_kube::{Cluster, ConnectOptions, Manifest, RenderOptions};

use crate::settings::GlobalSettings;

/// Runs a cluster command's future to completion on a runtime of its own.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> miette::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .into_diagnostic()?;
    Ok(runtime.block_on(future))
}

/// Connects to the cluster `--context` (or the kubeconfig's current context) names.
pub(crate) async fn connect(settings: &GlobalSettings) -> miette::Result<Cluster> {
    let options = ConnectOptions {
        context: settings.context.clone(),
        kubeconfig: None,
    };
    Cluster::connect(&options).await.into_diagnostic()
}

/// The app's name and namespace.
pub(crate) fn target(app: &App) -> Target {
    Target {
        app: app.name.clone(),
        namespace: app.namespace().to_owned(),
    }
}

/// Renders the app with its secret values and the Secret, as a deploy applies it; warnings
/// go to stderr.
pub(crate) fn manifest(app: &App) -> miette::Result<Manifest> {
    let secrets = zeppelin_kube::secrets::resolve(app).into_diagnostic()?;
    let options = RenderOptions {
        secrets: Some(secrets),
        include_secret: true,
    };
    let rendered = zeppelin_kube::render(app, &options).into_diagnostic()?;
    for warning in &rendered.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(Manifest::from_rendered(&rendered))
}
