//! `zeppelin delete`: removes the app from the cluster and waits until it is gone. The
//! volume claims of stateful subs (the app's data) are kept and listed, and so is the
//! namespace that holds them, unless `--delete-data` asks for them by name and the user
//! confirms (or passes `--yes`).

use std::process::ExitCode;

use miette::IntoDiagnostic as _;
use zeppelin_kube::claims;
use zeppelin_kube::teardown::{DeleteOptions, Deleted};

use crate::confirm;
use crate::runtime::cluster::{self, print_kept_claims};
use crate::settings::{DeleteSettings, GlobalSettings};

pub(crate) fn delete(
    delete: &DeleteSettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let app = settings.load_cluster_app()?;
    let target = cluster::target(&app);
    // The claims the user confirmed: exactly these go, none that appears meanwhile.
    let mut confirmed = Vec::new();
    if delete.delete_data {
        // Asked before anything is deleted, naming the claims that would go.
        let claims = cluster::block_on(async {
            let cluster = cluster::connect(settings.context.clone()).await?;
            claims::list(&cluster, &target).await.into_diagnostic()
        })??;
        if !claims.is_empty() {
            let names: Vec<&str> = claims.iter().map(|c| c.name.as_str()).collect();
            let what = format!(
                "the data of {} in namespace {}: {} volume claim{} ({})",
                app.name,
                target.namespace,
                claims.len(),
                plural(claims.len()),
                names.join(", ")
            );
            confirm::confirm_deletion(&what, &app.name, delete.yes)?;
        }
        confirmed = claims;
    }
    let options = DeleteOptions {
        timeout: delete.timeout,
        delete_claims: confirmed,
    };
    let deleted = cluster::block_on(async {
        let cluster = cluster::connect(settings.context.clone()).await?;
        zeppelin_kube::teardown::delete(&cluster, &target, &options)
            .await
            .into_diagnostic()
    })??;
    if delete.delete_data {
        for claim in &deleted.kept_claims {
            if !options.delete_claims.iter().any(|c| c.uid == claim.uid) {
                eprintln!(
                    "volume claim {} appeared after the claims to delete were listed, so it is kept",
                    claim.name
                );
            }
        }
    }
    report(&deleted, &app.name, &target.namespace);
    Ok(ExitCode::SUCCESS)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// What was deleted, and what was kept and why, on stderr.
fn report(deleted: &Deleted, app: &str, namespace: &str) {
    for object in &deleted.objects {
        eprintln!("{object} deleted");
    }
    if !deleted.kept_claims.is_empty() {
        print_kept_claims(&deleted.kept_claims, namespace);
        eprintln!("`zeppelin delete --delete-data` deletes them with the rest of the app");
    }
    if let Some((namespace, claims)) = &deleted.kept_namespace {
        eprintln!(
            "namespace {namespace} kept: it still holds volume claims ({}), and deleting a namespace deletes its claims",
            claims.join(", ")
        );
    }
    if deleted.objects.is_empty() {
        eprintln!("{app} has no objects in namespace {namespace}; nothing to delete");
    } else {
        eprintln!("{app} deleted: {} objects gone", deleted.objects.len());
    }
}
