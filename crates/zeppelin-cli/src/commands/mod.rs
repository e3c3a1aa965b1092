//! One module per command. `run` here resolves the clap arguments of the command into its
//! settings (`crate::settings`) and only then calls the command, which does its work
//! through the library crates (or a [`crate::runtime::Runtime`]) and prints the result.

mod check;
mod completions;
mod delete;
mod deploy;
mod diff;
mod exec;
mod history;
mod logs;
mod new;
mod ps;
mod render;
mod routes;
mod run;
mod run_job;
mod scale;
mod schema;
mod stop;

use std::process::ExitCode;

use crate::args::Command;
use crate::settings::GlobalSettings;

/// Resolves and runs one command; the caller prints any error.
pub(crate) fn run(command: Command, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    match command {
        Command::New(args) => new::new(&args.into(), settings),
        Command::Check(args) => check::check(&args.into(), settings),
        Command::Render(args) => render::render(&args.into(), settings),
        Command::Schema => Ok(schema::schema()),
        Command::Run(args) => run::run(&args.into(), settings),
        Command::Supervise(args) => run::supervise(&args.into(), settings),
        Command::Routes(args) => routes::routes(&args.into(), settings),
        Command::RunJob(args) => run_job::run_job(&args.into(), settings),
        Command::Exec(args) => exec::exec(&args.into(), settings),
        Command::Deploy(args) => deploy::deploy(&args.into(), settings),
        Command::Diff => diff::diff(settings),
        Command::History(args) => history::history(&args.into(), settings),
        Command::Rollback(args) => deploy::rollback(&args.into(), settings),
        Command::Delete(args) => delete::delete(&args.into(), settings),
        Command::Ps(args) => ps::ps(&args.into(), settings),
        Command::Logs(args) => logs::logs(&args.into(), settings),
        Command::Stop(args) => stop::stop(&args.into(), settings),
        Command::Restart(args) => stop::restart(&args.into(), settings),
        Command::Scale(args) => scale::scale(&args.into(), settings),
        Command::Completions(args) => Ok(completions::completions(args.shell)),
    }
}
