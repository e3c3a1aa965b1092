//! `zeppelin check`: every mistake in the app file, as text for people or JSON for tools.

use std::process::ExitCode;

use serde::Serialize;
use zeppelin_core::{App, Diagnostic, LoadError};

use crate::args::Format;
use crate::settings::{CheckSettings, GlobalSettings};

/// The JSON printed by `zeppelin check --format json`.
#[derive(Serialize)]
struct Report<'a> {
    valid: bool,
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a str>,
    diagnostics: &'a [Diagnostic],
    /// A failure to find or read the file, which has no position.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(crate) fn check(check: &CheckSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let file = settings.app_file();
    let path = file.as_ref().ok().map(|f| f.display().to_string());
    let result = file.and_then(|file| zeppelin_core::load(&file));
    match check.format {
        Format::Text => text(path.as_deref().unwrap_or_default(), result),
        Format::Json => Ok(json(path, &result)),
    }
}

fn text(file: &str, result: Result<App, LoadError>) -> miette::Result<ExitCode> {
    let app = result?;
    let subs: Vec<&str> = app.subs.keys().map(String::as_str).collect();
    let jobs: Vec<&str> = app.jobs.keys().map(String::as_str).collect();
    let jobs = match jobs.as_slice() {
        [] => String::new(),
        [job] => format!(", 1 job ({job})"),
        jobs => format!(", {} jobs ({})", jobs.len(), jobs.join(", ")),
    };
    println!(
        "{file} is valid: app `{}`, {} {} ({}){jobs}, {} {}",
        app.name,
        subs.len(),
        if subs.len() == 1 { "sub" } else { "subs" },
        subs.join(", "),
        app.routes.len(),
        if app.routes.len() == 1 {
            "route"
        } else {
            "routes"
        },
    );
    Ok(ExitCode::SUCCESS)
}

fn json(file: Option<String>, result: &Result<App, LoadError>) -> ExitCode {
    let (report, code) = match result {
        Ok(app) => (
            Report {
                valid: true,
                file,
                app: Some(&app.name),
                diagnostics: &[],
                error: None,
            },
            ExitCode::SUCCESS,
        ),
        Err(LoadError::Invalid(err)) => (
            Report {
                valid: false,
                file,
                app: None,
                diagnostics: &err.diagnostics,
                error: None,
            },
            ExitCode::FAILURE,
        ),
        Err(other) => (
            Report {
                valid: false,
                file,
                app: None,
                diagnostics: &[],
                error: Some(zeppelin_core::error_chain(other)),
            },
            ExitCode::FAILURE,
        ),
    };
    let text = serde_json::to_string_pretty(&report).expect("the report serializes");
    println!("{text}");
    code
}
