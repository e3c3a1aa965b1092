//! `zeppelin logs`: the app's log lines (its subs' and its jobs'), filtered, and followed
//! with `-f`: the local log files merged by time, or (`--k8s`) every pod of the app.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use zeppelin_core::App;

use crate::runtime::Runtime;
use crate::settings::{GlobalSettings, LogsSettings};

pub(crate) fn logs(logs: &LogsSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let runtime = Runtime::open(logs.runtime, settings)?;
    let app = runtime.app();
    check_names(app, &logs.subs)?;
    let known = app.subs.keys().chain(app.jobs.keys()).cloned().collect();
    let color = settings.color && std::io::stdout().is_terminal();
    runtime.logs(logs, known, color)?;
    Ok(ExitCode::SUCCESS)
}

/// Every name must be a sub or a job of the app; the error lists both.
fn check_names(app: &App, names: &[String]) -> miette::Result<()> {
    let Some(unknown) = names
        .iter()
        .find(|name| !app.subs.contains_key(*name) && !app.jobs.contains_key(*name))
    else {
        return Ok(());
    };
    let list = |names: Vec<&String>| {
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.into_iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    Err(miette::miette!(
        "no sub or job named {unknown:?} in {}; the subs are: {}; the jobs are: {}",
        app.name,
        list(app.subs.keys().collect()),
        list(app.jobs.keys().collect())
    ))
}
