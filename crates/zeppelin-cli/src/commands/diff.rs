//! `zeppelin diff`: what a deploy would change, as unified diffs of the live objects against
//! the server's dry-run result, on stdout. Exits 1 when something would change, like
//! `kubectl diff`.

use std::process::ExitCode;

use miette::IntoDiagnostic as _;
use zeppelin_kube::diff::Change;

use crate::runtime::cluster;
use crate::settings::GlobalSettings;

pub(crate) fn diff(settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let app = settings.load_cluster_app()?;
    let manifest = cluster::manifest(&app)?;
    let target = cluster::target(&app);
    let diffs = cluster::block_on(async {
        let cluster = cluster::connect(settings.context.clone()).await?;
        zeppelin_kube::diff::diff(&cluster, &target, &manifest)
            .await
            .into_diagnostic()
    })??;
    let mut changes = 0;
    for diff in &diffs {
        match &diff.change {
            Change::Unchanged => continue,
            Change::Create(yaml) => {
                println!("+ {} (new)", diff.object);
                for line in yaml.lines() {
                    println!("+   {line}");
                }
            }
            Change::Update(text) => {
                println!("~ {}", diff.object);
                print!("{text}");
            }
            // A StatefulSet goes without its claims: a deploy never deletes data.
            Change::Prune if diff.object.starts_with("StatefulSet/") => println!(
                "- {} (pruned: no longer in the app; its volume claims are kept)",
                diff.object
            ),
            Change::Prune => println!("- {} (pruned: no longer in the app)", diff.object),
        }
        changes += 1;
    }
    if changes == 0 {
        eprintln!("no changes: the cluster already runs what zeppelin.toml describes");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{changes} of {} objects would change", diffs.len());
        Ok(ExitCode::from(1))
    }
}
