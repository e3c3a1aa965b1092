//! One module per command. Each takes resolved settings, never clap types, does its work
//! through the library crates and prints the result.

mod check;
mod completions;
mod new;
mod render;
mod schema;

use std::process::ExitCode;

use crate::args::Command;
use crate::settings::GlobalSettings;

/// Runs one command; the caller prints any error.
pub(crate) fn run(command: Command, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    match command {
        Command::New(args) => new::new(&args.name, args.path.as_deref(), settings),
        Command::Check(args) => check::check(args.format, settings),
        Command::Render(args) => render::render(&args.into(), settings),
        Command::Schema => Ok(schema::schema()),
        Command::Completions(args) => Ok(completions::completions(args.shell)),
    }
}
