//! Requests to the app's local supervisor over its control socket (`zeppelin_local::control`):
//! one way to ask, and one way to report an answer that is not the one asked for.

use miette::IntoDiagnostic as _;
use zeppelin_core::App;
use zeppelin_local::control::{Reply, Request};
use zeppelin_local::{AppPaths, Error};

/// The supervisor of one app, found from the app folder alone.
#[derive(Debug)]
pub(crate) struct SupervisorClient {
    paths: AppPaths,
    app: String,
}

/// What came back from a request to a supervisor that may not be running.
pub(crate) enum Answer<T> {
    /// The answer asked for.
    Given(T),
    /// No supervisor runs the app (the error says so, for callers that report it).
    NotRunning(Error),
}

impl SupervisorClient {
    /// The supervisor `zeppelin run` starts for `app`.
    pub(crate) fn of(app: &App) -> Self {
        Self {
            paths: AppPaths::new(app.dir()),
            app: app.name.clone(),
        }
    }

    /// The app's local files (state folder, logs).
    pub(crate) fn paths(&self) -> &AppPaths {
        &self.paths
    }

    /// Sends `request`; `expected` takes the reply it was asked for out of the answer and
    /// hands any other back, which becomes an error.
    pub(crate) fn ask<T>(
        &self,
        request: &Request,
        expected: impl FnOnce(Reply) -> Result<T, Reply>,
    ) -> miette::Result<Answer<T>> {
        match zeppelin_local::control::request(&self.paths, &self.app, request) {
            Ok(reply) => {
                tracing::debug!(?request, "the supervisor answered");
                expected(reply).map(Answer::Given).map_err(|other| {
                    miette::miette!("unexpected answer from the supervisor: {other:?}")
                })
            }
            Err(err @ Error::NotRunning { .. }) => {
                tracing::debug!(?request, "no supervisor runs the app");
                Ok(Answer::NotRunning(err))
            }
            Err(err) => Err(err).into_diagnostic(),
        }
    }

    /// [`Self::ask`] a supervisor that must be running: none is an error.
    pub(crate) fn ask_running<T>(
        &self,
        request: &Request,
        expected: impl FnOnce(Reply) -> Result<T, Reply>,
    ) -> miette::Result<T> {
        match self.ask(request, expected)? {
            Answer::Given(answer) => Ok(answer),
            Answer::NotRunning(err) => Err(err).into_diagnostic(),
        }
    }
}
