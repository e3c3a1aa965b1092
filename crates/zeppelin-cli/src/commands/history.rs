//! `zeppelin history`: the revisions recorded in the cluster, oldest first.

use std::process::ExitCode;

use comfy_table::{Table, presets};
use miette::IntoDiagnostic as _;

use crate::args::Format;
use crate::runtime::cluster;
use crate::settings::{GlobalSettings, HistorySettings};

/// The `before` jobs of a revision and how each ended: `migrate-0a1b2c3d4e succeeded`.
fn jobs(revision: &zeppelin_kube::revision::Revision) -> String {
    if revision.jobs.is_empty() {
        return "-".to_owned();
    }
    revision
        .jobs
        .iter()
        .map(|j| match &j.reason {
            Some(reason) => format!("{} {} ({reason})", j.object, j.outcome.as_str()),
            None => format!("{} {}", j.object, j.outcome.as_str()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn history(
    history: &HistorySettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let app = settings.load_cluster_app()?;
    let target = cluster::target(&app);
    let revisions = cluster::block_on(async {
        let cluster = cluster::connect(settings.context.clone()).await?;
        zeppelin_kube::revision::list(&cluster, &target.namespace, &target.app)
            .await
            .into_diagnostic()
    })??;
    match history.format {
        Format::Json => {
            let list: Vec<_> = revisions
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "revision": r.number,
                        "status": r.status.as_str(),
                        "created": r.created,
                        "cause": r.cause,
                        "app_hash": r.app_hash,
                        "objects": r.objects.len(),
                        "jobs": r.jobs.iter().map(|j| serde_json::json!({
                            "job": j.job,
                            "object": j.object,
                            "outcome": j.outcome.as_str(),
                            "reason": j.reason,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&list).expect("JSON values serialize")
            );
        }
        Format::Text => {
            if revisions.is_empty() {
                eprintln!(
                    "{} has no revisions in namespace {}; `zeppelin deploy` records one",
                    app.name, target.namespace
                );
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = Table::new();
            table.load_style(presets::NOTHING).set_header([
                "REVISION", "STATUS", "CREATED", "CAUSE", "OBJECTS", "APP FILE", "JOBS",
            ]);
            for r in &revisions {
                table.add_row([
                    r.number.to_string(),
                    r.status.as_str().to_owned(),
                    r.created.clone().unwrap_or_else(|| "-".to_owned()),
                    r.cause.clone(),
                    r.objects.len().to_string(),
                    r.app_hash.get(..12).unwrap_or("-").to_owned(),
                    jobs(r),
                ]);
            }
            println!("{}", table.trim_fmt());
        }
    }
    Ok(ExitCode::SUCCESS)
}
