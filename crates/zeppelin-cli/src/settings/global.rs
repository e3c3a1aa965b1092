//! Global settings: the options every command shares, resolved from the arguments and the
//! environment before any command runs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use zeppelin_core::{App, LoadError};

use crate::args::{Cli, ColorChoice};

/// What every command may need, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct GlobalSettings {
    /// `-f/--file`, when given.
    file: Option<PathBuf>,
    /// The folder commands run from.
    cwd: PathBuf,
    /// Whether stderr gets colours.
    pub(crate) color: bool,
    /// `--context`, for cluster commands.
    pub(crate) context: Option<String>,
    /// `--namespace`, for cluster commands.
    pub(crate) namespace: Option<String>,
    /// How many `-v` were given: how much diagnostics to print, also passed on to a
    /// background supervisor.
    pub(crate) verbose: u8,
}

impl GlobalSettings {
    pub(crate) fn resolve(cli: &Cli) -> std::io::Result<Self> {
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        Ok(Self {
            file: cli.file.clone(),
            cwd: std::env::current_dir()?,
            color,
            context: cli.context.clone(),
            namespace: cli.namespace.clone(),
            verbose: cli.verbose,
        })
    }

    /// The folder commands run from.
    pub(crate) fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// The app file: `-f` if given, else the nearest `zeppelin.toml` upwards.
    pub(crate) fn app_file(&self) -> Result<PathBuf, LoadError> {
        match &self.file {
            Some(file) => Ok(self.cwd.join(file)),
            None => zeppelin_core::find_app_file(&self.cwd),
        }
    }

    /// Finds, reads and validates the app file.
    pub(crate) fn load_app(&self) -> Result<App, LoadError> {
        zeppelin_core::load(&self.app_file()?)
    }

    /// The app file for a cluster command: `--namespace` replaces the app's namespace.
    pub(crate) fn load_cluster_app(&self) -> Result<App, LoadError> {
        self.load_cluster_app_and_text().map(|(app, _)| app)
    }

    /// [`Self::load_cluster_app`], with the app file's text as it was read (what a
    /// revision's app hash covers).
    pub(crate) fn load_cluster_app_and_text(&self) -> Result<(App, String), LoadError> {
        let path = self.app_file()?;
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let mut app = zeppelin_core::parse(&text, &path)?;
        if let Some(namespace) = &self.namespace {
            app.namespace = Some(namespace.clone());
        }
        Ok((app, text))
    }
}
