//! `zeppelin run`: every sub as supervised local processes, in the foreground (output of
//! every replica and job on the terminal, Ctrl-C stops) or detached (`-d`, a background
//! supervisor; run again to apply the changes made to the app file, saying what became of
//! the data of stateful subs it rolled or removed). `before` jobs run inside the start when
//! their inputs changed; a failed one stops it, and its last log lines say why.

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use miette::IntoDiagnostic;
use zeppelin_core::App;
use zeppelin_local::control::{Reply, Request};
use zeppelin_local::job::Clock;
use zeppelin_local::logs::Query;
use zeppelin_local::{AppPaths, Error, Options};

use crate::log_lines::LinePrinter;
use crate::settings::{GlobalSettings, RunSettings, SuperviseSettings};
use crate::supervisor::{Answer, SupervisorClient};

/// Lines of a failed sub's (or job's) log shown when a start fails.
const FAILED_LOG_LINES: usize = 20;

pub(crate) fn run(run: &RunSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let app = settings.load_app()?;
    // `before` jobs without `run` fail the start; a scheduled one would just never run.
    for job in app
        .jobs
        .values()
        .filter(|job| job.schedule.is_some() && job.run.is_none())
    {
        eprintln!(
            "zeppelin: note: {}",
            Error::JobNoCommand {
                job: job.name.clone()
            }
        );
    }
    if run.detach {
        detached(&app, run, settings.verbose)
    } else {
        foreground(app, run, settings)
    }
}

/// The scheduler's clock: the wall clock, or (for tests) the one the hidden variables set.
fn clock() -> miette::Result<Clock> {
    Clock::from_env().map_err(|message| miette::miette!("{message}"))
}

/// The background supervisor `run -d` starts: no terminal, output only in the log files.
pub(crate) fn supervise(
    supervise: &SuperviseSettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let app = settings.load_app()?;
    let options = Options {
        launcher: Some(std::env::current_exe().into_diagnostic()?),
        echo: None,
        start_timeout: Some(supervise.timeout),
        on_started: None,
        gateway_port: supervise.gateway_port,
        clock: clock()?,
        on_job: None,
        rerun_jobs: supervise.rerun_jobs,
    };
    tracing::debug!(app = %app.name, "supervisor starting");
    let outcome = zeppelin_local::serve(app, options, true).into_diagnostic()?;
    Ok(exit_code(outcome.clean))
}

fn foreground(app: App, run: &RunSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let color = settings.color && std::io::stdout().is_terminal();
    let names = app.subs.keys().chain(app.jobs.keys()).cloned().collect();
    let printer = LinePrinter::for_app(&app, names, color);
    let echo: zeppelin_local::Echo = Arc::new(move |line| {
        let mut out = std::io::stdout().lock();
        // A closed terminal must not stop the app; the log file still has every line.
        let _ = printer.write(
            &mut out,
            None,
            line.sub,
            line.replica,
            line.stream,
            line.text,
        );
        let _ = out.flush();
    });
    let options = Options {
        launcher: Some(std::env::current_exe().into_diagnostic()?),
        echo: Some(echo),
        start_timeout: Some(run.timeout),
        on_started: Some(Arc::new(|| {
            eprintln!("zeppelin: every sub is healthy; `zeppelin ps` shows them");
        })),
        gateway_port: run.gateway_port,
        clock: clock()?,
        on_job: Some(Arc::new(crate::job_notes::say_job_event)),
        rerun_jobs: run.rerun_jobs,
    };
    eprintln!(
        "zeppelin: running {} ({}); Ctrl-C stops it, twice stops it at once",
        app.name,
        app.start_order()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let paths = AppPaths::new(app.dir());
    let shown = app.clone();
    let outcome = match zeppelin_local::serve(app, options, false) {
        Ok(outcome) => outcome,
        Err(err @ Error::JobFailed { .. }) => {
            if let Error::JobFailed { job, .. } = &err {
                print_last_lines(&shown, &paths, job);
            }
            return Err(err).into_diagnostic();
        }
        Err(err) => return Err(err).into_diagnostic(),
    };
    if outcome.clean {
        eprintln!("zeppelin: every replica stopped cleanly");
    } else {
        eprintln!("zeppelin: some replicas did not stop within their stop timeout and were killed");
    }
    Ok(exit_code(outcome.clean))
}

/// `run -d`: the changes applied by the running supervisor, or a new one started in the
/// background (with this command's `-v`, so its log has as much detail).
fn detached(app: &App, run: &RunSettings, verbose: u8) -> miette::Result<ExitCode> {
    let supervisor = SupervisorClient::of(app);
    let paths = supervisor.paths();
    let gateway_port = run.gateway_port;
    let apply = Request::Apply {
        file: app.source.file.clone(),
        gateway_port,
        rerun_jobs: run.rerun_jobs,
    };
    let answer = supervisor.ask(&apply, |reply| match reply {
        Reply::Applied(applied) => Ok(applied),
        other => Err(other),
    })?;
    if let Answer::Given(applied) = answer {
        for failed in &applied.failed {
            print_last_lines(app, paths, &failed.job);
        }
        crate::job_notes::say_jobs(&applied.jobs);
        let parts = [
            ("started", &applied.started),
            ("replaced", &applied.replaced),
            ("scaled", &applied.scaled),
            ("removed", &applied.removed),
            ("unchanged", &applied.unchanged),
        ];
        let said: Vec<String> = parts
            .iter()
            .filter(|(_, subs)| !subs.is_empty())
            .map(|(what, subs)| format!("{what} {}", subs.join(", ")))
            .collect();
        eprintln!("zeppelin: {} is running; {}", app.name, said.join("; "));
        if !applied.held.is_empty() {
            eprintln!(
                "zeppelin: held back (they keep running their previous version): {}",
                applied.held.join(", ")
            );
        }
        for note in crate::volumes::rolled(&applied.rolled) {
            eprintln!("{note}");
        }
        for note in applied
            .removed
            .iter()
            .chain(&applied.unmounted)
            .filter_map(|sub| crate::volumes::kept(paths, sub))
        {
            eprintln!("{note}");
        }
        let messages: Vec<&str> = applied.failed.iter().map(|f| f.message.as_str()).collect();
        if messages.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(miette::miette!("{}", messages.join("\n")));
    }
    let exe = std::env::current_exe().into_diagnostic()?;
    let gateway_port = gateway_port.map(|port| port.to_string());
    // Milliseconds say any parsed duration exactly, in the syntax `--timeout` parses.
    let timeout = format!("{}ms", run.timeout.as_millis());
    let verbose = (verbose > 0).then(|| format!("-{}", "v".repeat(usize::from(verbose))));
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("--color=never"),
        OsStr::new("--file"),
        app.source.file.as_os_str(),
        OsStr::new("__supervise"),
        OsStr::new("--timeout"),
        OsStr::new(&timeout),
    ];
    if let Some(port) = &gateway_port {
        args.extend([OsStr::new("--gateway-port"), OsStr::new(port)]);
    }
    if let Some(verbose) = &verbose {
        args.push(OsStr::new(verbose));
    }
    if run.rerun_jobs {
        args.push(OsStr::new("--rerun-jobs"));
    }
    match zeppelin_local::detach(&exe, &args, paths, &app.name) {
        Ok(jobs) => {
            crate::job_notes::say_jobs(&jobs);
            eprintln!(
                "zeppelin: {} is running in the background; see it with `zeppelin ps` and `zeppelin logs -f`",
                app.name
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(err @ (Error::Unhealthy { .. } | Error::StartJobFailed { .. })) => {
            if let Error::Unhealthy { sub: name, .. } | Error::StartJobFailed { job: name, .. } =
                &err
            {
                print_last_lines(app, paths, name);
            }
            Err(err).into_diagnostic()
        }
        Err(err) => Err(err).into_diagnostic(),
    }
}

/// The end of a sub's log, or of a job's last run, on stderr, to show why it did not
/// start (a job's earlier runs are not shown: they may have succeeded).
pub(crate) fn print_last_lines(app: &App, paths: &AppPaths, sub: &str) {
    let since = app
        .jobs
        .contains_key(sub)
        .then(|| zeppelin_local::job::last_run(paths, sub))
        .flatten()
        .map(|run| run.started);
    let query = Query {
        subs: vec![sub.to_owned()],
        tail: Some(FAILED_LOG_LINES),
        since,
        ..Query::default()
    };
    let Ok(entries) = zeppelin_local::logs::history(paths, &query) else {
        return;
    };
    if entries.is_empty() {
        return;
    }
    eprintln!(
        "zeppelin: the last lines of {}:",
        paths.log_file(sub).display()
    );
    let printer = LinePrinter::for_app(app, vec![sub.to_owned()], false);
    let mut err = std::io::stderr().lock();
    for entry in entries {
        let _ = printer.write(
            &mut err,
            None,
            &entry.sub,
            entry.replica,
            entry.stream,
            &entry.text,
        );
    }
}

fn exit_code(clean: bool) -> ExitCode {
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
