//! The `zeppelin` binary: turns arguments into calls and results into output.
//!
//! `main` parses the arguments, resolves the global settings, installs the diagnostics
//! subscriber and hands the command to `commands` (which resolves its own settings before
//! it runs); every error comes back here and is printed once, as a chain, with a non-zero
//! exit.

mod args;
mod commands;
mod confirm;
mod diagnostics;
mod job_notes;
mod log_lines;
mod progress;
mod runtime;
mod sample;
mod settings;
mod supervisor;
mod volumes;

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::diagnostics::Diagnostics;
use crate::settings::GlobalSettings;

fn main() -> ExitCode {
    // Replicas start through this binary (see `zeppelin_local::launch`); that must stay
    // quick, so it is handled before any argument parsing.
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(std::ffi::OsStr::new(zeppelin_local::launch::LAUNCH_ARG)) {
        let Err(err) = zeppelin_local::launch::launch(args.collect());
        eprintln!(
            "zeppelin: cannot start the replica: {}",
            zeppelin_core::error_chain(&err)
        );
        return ExitCode::from(127);
    }
    let cli = args::parse();
    // `zeppelin ps | head` should end quietly when `head` has read enough, as other Unix
    // tools do. Not for a supervisor: its output going away must not stop the app.
    if !matches!(
        cli.command,
        args::Command::Run(_) | args::Command::Supervise(_)
    ) {
        sigpipe::reset();
    }
    let settings = match GlobalSettings::resolve(&cli) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: cannot read the current folder: {err}");
            return ExitCode::FAILURE;
        }
    };
    let color = settings.color;
    Diagnostics {
        verbose: settings.verbose,
        color,
        // The background supervisor's stderr is its log file.
        timestamps: matches!(cli.command, args::Command::Supervise(_)),
    }
    .install();
    // Wrapping only helps a person at a terminal; in logs and pipes a message stays on
    // one line so it can be searched.
    let wrap = std::io::stderr().is_terminal();
    // Only fails when a hook is already installed, which nothing else does.
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .wrap_lines(wrap)
                .terminal_links(false)
                .build(),
        )
    }));
    match commands::run(cli.command, &settings) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::FAILURE
        }
    }
}
