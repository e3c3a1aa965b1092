//! `zeppelin scale web=4 worker=0`: replica counts changed live by the running supervisor.

use std::collections::BTreeMap;
use std::process::ExitCode;

use miette::IntoDiagnostic;
use zeppelin_local::AppPaths;
use zeppelin_local::control::{Reply, Request};

use crate::args::ScaleArgs;
use crate::cluster;
use crate::settings::GlobalSettings;

pub(crate) fn scale(args: &ScaleArgs, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let counts = parse_counts(&args.counts)?;
    if args.k8s {
        return scale_k8s(&counts, settings);
    }
    let app = settings.load_app()?;
    let paths = AppPaths::new(app.dir());
    let request = Request::Scale {
        counts: counts.clone(),
    };
    match zeppelin_local::control::request(&paths, &app.name, &request).into_diagnostic()? {
        Reply::Done => {
            let said: Vec<String> = counts.iter().map(|(sub, n)| format!("{sub}={n}")).collect();
            eprintln!("zeppelin: scaled {}", said.join(" "));
            Ok(ExitCode::SUCCESS)
        }
        other => miette::bail!("unexpected answer from the supervisor: {other:?}"),
    }
}

/// `zeppelin scale --k8s`: each Deployment's replica count, refused under an autoscaler.
fn scale_k8s(
    counts: &BTreeMap<String, u32>,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let app = settings.load_cluster_app()?;
    let target = cluster::target(&app);
    app.check_subs(counts.keys()).into_diagnostic()?;
    cluster::block_on(async {
        let cluster = cluster::connect(settings).await?;
        for (sub, count) in counts {
            zeppelin_kube::scale::scale(&cluster, &target, sub, *count)
                .await
                .into_diagnostic()?;
            eprintln!(
                "zeppelin: scaled {sub} to {count} in namespace {}",
                target.namespace
            );
        }
        Ok::<_, miette::Report>(())
    })??;
    eprintln!("note: `zeppelin deploy` sets the replicas from zeppelin.toml again");
    Ok(ExitCode::SUCCESS)
}

fn parse_counts(pairs: &[String]) -> miette::Result<BTreeMap<String, u32>> {
    pairs
        .iter()
        .map(|pair| {
            let (sub, count) = pair
                .split_once('=')
                .ok_or_else(|| miette::miette!("{pair:?} is not SUB=N; write it like web=4"))?;
            let count = count.parse().map_err(|_| {
                miette::miette!("{pair:?}: {count:?} is not a replica count; write it like web=4")
            })?;
            Ok((sub.to_owned(), count))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_parsed() {
        let counts = parse_counts(&["web=4".into(), "worker=0".into()]).unwrap();
        assert_eq!(counts["web"], 4);
        assert_eq!(counts["worker"], 0);
        assert!(parse_counts(&["web".into()]).is_err());
        assert!(parse_counts(&["web=-1".into()]).is_err());
    }
}
