//! `zeppelin delete`: removes the app from the cluster and waits until it is gone.

use std::process::ExitCode;

use miette::IntoDiagnostic as _;

use crate::runtime::cluster;
use crate::settings::{DeleteSettings, GlobalSettings};

pub(crate) fn delete(
    delete: &DeleteSettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let app = settings.load_cluster_app()?;
    let target = cluster::target(&app);
    let timeout = delete.timeout;
    let deleted = cluster::block_on(async {
        let cluster = cluster::connect(settings.context.clone()).await?;
        zeppelin_kube::teardown::delete(&cluster, &target, timeout)
            .await
            .into_diagnostic()
    })??;
    for object in &deleted {
        eprintln!("{object} deleted");
    }
    if deleted.is_empty() {
        eprintln!(
            "{} has no objects in namespace {}; nothing to delete",
            app.name, target.namespace
        );
    } else {
        eprintln!("{} deleted: {} objects gone", app.name, deleted.len());
    }
    Ok(ExitCode::SUCCESS)
}
