//! `zeppelin logs`: the app's log files, merged by time, filtered, and followed with `-f`.
//! Reads `log/` directly, so it works whether the app runs or not.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use miette::IntoDiagnostic;
use zeppelin_core::AppDuration;
use zeppelin_local::AppPaths;
use zeppelin_local::logs::{Entry, Query};

use crate::args::LogsArgs;
use crate::log_lines::LinePrinter;
use crate::settings::GlobalSettings;

pub(crate) fn logs(args: &LogsArgs, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let app = settings.load_app()?;
    let known: Vec<String> = app.subs.keys().cloned().collect();
    if let Some(unknown) = args.subs.iter().find(|s| !known.contains(s)) {
        miette::bail!(
            "no sub named {unknown:?} in {}; the subs are: {}",
            app.name,
            known.join(", ")
        );
    }
    let since = match &args.since {
        Some(text) => {
            let ago =
                AppDuration::parse(text).map_err(|err| miette::miette!("--since {text}: {err}"))?;
            let ago = jiff::SignedDuration::try_from(ago.get()).into_diagnostic()?;
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
