//! `zeppelin logs`: the app's log lines (its subs' and its jobs'), filtered, and followed
//! with `-f`: the local log files merged by time, or (`--k8s`) every pod of the app.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use miette::IntoDiagnostic as _;

use crate::runtime::Runtime;
use crate::settings::{GlobalSettings, LogsSettings};

pub(crate) fn logs(logs: &LogsSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let runtime = Runtime::open(logs.runtime, settings)?;
    let app = runtime.app();
    app.check_subs_or_jobs(&logs.subs).into_diagnostic()?;
    let known = app.subs.keys().chain(app.jobs.keys()).cloned().collect();
    let color = settings.color && std::io::stdout().is_terminal();
    runtime.logs(logs, known, color)?;
    Ok(ExitCode::SUCCESS)
}
