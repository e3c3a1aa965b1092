//! One module per command. Each takes resolved settings, never clap types, does its work
//! through the library crates and prints the result.

mod check;
mod completions;
mod delete;
mod deploy;
mod diff;
mod history;
mod logs;
mod new;
mod ps;
mod render;
mod routes;
mod run;
mod scale;
mod schema;
mod stop;

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
        Command::Run(args) => run::run(&args, settings),
        Command::Supervise(args) => run::supervise(&args, settings),
        Command::Routes(args) => routes::routes(args.format, settings),
        Command::Deploy(args) => deploy::deploy(&args, settings),
        Command::Diff => diff::diff(settings),
        Command::History(args) => history::history(args.format, settings),
        Command::Rollback(args) => deploy::rollback(&args, settings),
        Command::Delete(args) => delete::delete(&args, settings),
        Command::Ps(args) => ps::ps(&args, settings),
        Command::Logs(args) => logs::logs(&args, settings),
        Command::Stop(args) => stop::stop(&args.subs, settings),
        Command::Restart(args) => stop::restart(&args.subs, settings),
        Command::Scale(args) => scale::scale(&args, settings),
        Command::Completions(args) => Ok(completions::completions(args.shell)),
    }
}
