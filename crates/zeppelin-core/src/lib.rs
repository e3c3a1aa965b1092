//! Zeppelin's core: the app model, the `zeppelin.toml` parser and validator, and the status
//! model both runtimes report in.
//!
//! This crate knows nothing of processes or clusters. `zeppelin-local` and `zeppelin-kube`
//! take an [`App`] from here and report an [`AppStatus`] back.

mod decode;
pub mod diagnostic;
pub mod duration;
pub mod kubernetes;
pub mod model;
pub mod names;
pub mod quantity;
pub mod schedule;
pub mod schema;
pub mod status;
mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{AppFileError, Diagnostic, ErrorKind};
pub use duration::AppDuration;
pub use model::{App, AppSource, Sub};
pub use quantity::Quantity;
pub use status::AppStatus;

/// An error and its causes on one line, `outer: inner: innermost`: for JSON, logs and
/// answers that cross a socket, where a multi-line report does not fit.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Where Kubernetes pods find their secret files; a volume may not be mounted over it.
pub const SECRETS_MOUNT_DIR: &str = "/run/secrets/zeppelin";

/// Names of the volumes every Kubernetes pod already has (its writable `/tmp`, its secret
/// files), which a sub's volume may therefore not take.
pub const POD_VOLUME_NAMES: [&str; 2] = ["tmp", "secrets"];

/// The app file's name, looked for in the current folder and its parents.
pub const APP_FILE: &str = "zeppelin.toml";

/// Why an app file could not be loaded.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LoadError {
    #[error("no {APP_FILE} in {} or any parent folder", .start.display())]
    #[diagnostic(
        code("zeppelin::no-app-file"),
        help(
            "create an app with `zeppelin new NAME`, or point to one with `--file path/to/zeppelin.toml`"
        )
    )]
    NotFound { start: PathBuf },
    #[error("cannot read app file {}", .path.display())]
    #[diagnostic(code("zeppelin::unreadable-app-file"))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] AppFileError),
}

/// Finds the app file for commands run in `start`: `start/zeppelin.toml`, else the nearest
/// parent's, like cargo finds `Cargo.toml`.
pub fn find_app_file(start: &Path) -> Result<PathBuf, LoadError> {
    start
        .ancestors()
        .map(|dir| dir.join(APP_FILE))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| LoadError::NotFound {
            start: start.to_path_buf(),
        })
}

/// Reads, parses and validates the app file at `path`.
pub fn load(path: &Path) -> Result<App, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse(&text, path)?)
}

/// Parses and validates app file `text`, read from `file`; every mistake is reported at once.
pub fn parse(text: &str, file: &Path) -> Result<App, AppFileError> {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let dir = absolute
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let source = AppSource {
        file: absolute,
        dir,
    };
    let (app, decoder) = decode::decode(text, source);
    let mut findings = decoder.findings;
    if let Some(app) = &app {
        findings.extend(validate::validate(app, &decoder.spans));
    }
    match app {
        Some(app) if findings.is_empty() => Ok(app),
        _ => Err(AppFileError::new(file, text, findings)),
    }
}
