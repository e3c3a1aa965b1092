//! `zeppelin logs`: the app's log files, merged by time, filtered, and followed with `-f`.
//! Reads `log/` directly, so it works whether the app runs or not.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use miette::IntoDiagnostic;
use zeppelin_core::AppDuration;
use zeppelin_local::AppPaths;
use zeppelin_local::logs::{Entry, Query};

use crate::args::LogsArgs;
use crate::cluster;
use crate::log_lines::{LinePrinter, PALETTE};
use crate::settings::GlobalSettings;

pub(crate) fn logs(args: &LogsArgs, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    if args.k8s {
        return logs_k8s(args, settings);
    }
    let app = settings.load_app()?;
    let known = known_subs(&app, &args.subs)?;
    let since = match since(args)? {
        Some(ago) => {
            let ago = jiff::SignedDuration::try_from(ago).into_diagnostic()?;
            Some(jiff::Timestamp::now().checked_sub(ago).into_diagnostic()?)
        }
        None => None,
    };
    let subs = if args.subs.is_empty() {
        known.clone()
    } else {
        args.subs.clone()
    };
    let query = Query {
        subs,
        tail: args.tail,
        since,
        replica: args.replica,
    };
    let paths = AppPaths::new(app.dir());
    let color = settings.color && std::io::stdout().is_terminal();
    let printer = LinePrinter::for_app(&app, known, color);
    let mut out = std::io::stdout().lock();
    let mut show = |entry: &Entry| {
        let time = args.timestamps.then_some(entry.time.as_str());
        printer
            .write(
                &mut out,
                time,
                &entry.sub,
                entry.replica,
                entry.stream,
                &entry.text,
            )
            .and_then(|()| if args.follow { out.flush() } else { Ok(()) })
            .is_ok()
    };
    let history = zeppelin_local::logs::history(&paths, &query).into_diagnostic()?;
    for entry in &history {
        if !show(entry) {
            // The reader went away (`| head`): that is not an error.
            return Ok(ExitCode::SUCCESS);
        }
    }
    if args.follow {
        zeppelin_local::logs::follow(&paths, &query, show).into_diagnostic()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `zeppelin logs --k8s`: every pod of the subs, prefixed by pod, followed with `-f` (new
/// pods included) until interrupted.
fn logs_k8s(args: &LogsArgs, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let app = settings.load_cluster_app()?;
    let known = known_subs(&app, &args.subs)?;
    let since_seconds =
        since(args)?.map(|ago| i64::try_from(ago.as_secs()).unwrap_or(i64::MAX).max(1));
    let options = zeppelin_kube::pod_logs::LogOptions {
        subs: args.subs.clone(),
        follow: args.follow,
        tail: args.tail.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        since_seconds,
        timestamps: args.timestamps,
    };
    let target = cluster::target(&app);
    let color = settings.color && std::io::stdout().is_terminal();
    cluster::block_on(async {
        let cluster = cluster::connect(settings).await?;
        let (sender, mut receiver) = tokio::sync::mpsc::channel(1024);
        let reader = zeppelin_kube::pod_logs::stream(&cluster, &target, &options, sender);
        let printer = async {
            let mut out = std::io::stdout().lock();
            while let Some(line) = receiver.recv().await {
                let written = if color {
                    let index = known.iter().position(|s| *s == line.sub).unwrap_or(0);
                    let colour = PALETTE[index % PALETTE.len()];
                    writeln!(out, "\x1b[{colour}m{} |\x1b[0m {}", line.pod, line.text)
                } else {
                    writeln!(out, "{} | {}", line.pod, line.text)
                };
                if written.and_then(|()| out.flush()).is_err() {
                    // The reader went away (`| head`): stop reading.
                    return;
                }
            }
        };
        let (read, ()) = tokio::join!(reader, printer);
        read.into_diagnostic()
    })??;
    Ok(ExitCode::SUCCESS)
}

/// The app's subs, after checking that every sub asked for is one of them.
fn known_subs(app: &zeppelin_core::App, asked: &[String]) -> miette::Result<Vec<String>> {
    app.check_subs(asked).into_diagnostic()?;
    Ok(app.subs.keys().cloned().collect())
}

/// `--since 10m` as a duration back from now.
fn since(args: &LogsArgs) -> miette::Result<Option<std::time::Duration>> {
    args.since
        .as_deref()
        .map(|text| {
            AppDuration::parse(text)
                .map(AppDuration::get)
                .map_err(|err| miette::miette!("--since {text}: {err}"))
        })
        .transpose()
}
