//! The local side of [`super::Runtime`]: the status and replica counts through the running
//! supervisor, and the log files in `log/`, merged by time (read directly, so `logs` works
//! whether the app runs or not).

use std::collections::BTreeMap;
use std::io::Write as _;

use miette::IntoDiagnostic as _;
use zeppelin_core::{App, AppStatus};
use zeppelin_local::control::{Reply, Request};
use zeppelin_local::logs::{Entry, Query};

use crate::log_lines::LinePrinter;
use crate::settings::LogsSettings;
use crate::supervisor::SupervisorClient;

/// The app as run by its local supervisor.
pub(crate) struct LocalRuntime {
    app: App,
    supervisor: SupervisorClient,
}

impl LocalRuntime {
    pub(crate) fn new(app: App) -> Self {
        let supervisor = SupervisorClient::of(&app);
        Self { app, supervisor }
    }

    pub(crate) fn app(&self) -> &App {
        &self.app
    }

    pub(crate) fn status(&self) -> miette::Result<AppStatus> {
        self.supervisor
            .ask_running(&Request::Status, |reply| match reply {
                Reply::Status(status) => Ok(status),
                other => Err(other),
            })
    }

    /// Runs job `name` once, streaming its output.
    #[expect(
        clippy::unused_self,
        reason = "a placeholder until the runtime's run-job lands"
    )]
    pub(crate) fn run_job(&self, name: &str) -> miette::Result<std::process::ExitCode> {
        miette::bail!("run-job {name}: not built yet in the local runtime")
    }

    pub(crate) fn scale(&self, counts: &BTreeMap<String, u32>) -> miette::Result<()> {
        let request = Request::Scale {
            counts: counts.clone(),
        };
        self.supervisor.ask_running(&request, |reply| match reply {
            Reply::Done => Ok(()),
            other => Err(other),
        })?;
        let said: Vec<String> = counts.iter().map(|(sub, n)| format!("{sub}={n}")).collect();
        eprintln!("zeppelin: scaled {}", said.join(" "));
        Ok(())
    }

    /// The lines of `log/` that match, then (with `-f`) new ones as they are written.
    pub(crate) fn logs(
        &self,
        settings: &LogsSettings,
        known: Vec<String>,
        color: bool,
    ) -> miette::Result<()> {
        let since = match settings.since {
            Some(ago) => {
                let ago = jiff::SignedDuration::try_from(ago).into_diagnostic()?;
                Some(jiff::Timestamp::now().checked_sub(ago).into_diagnostic()?)
            }
            None => None,
        };
        let subs = if settings.subs.is_empty() {
            known.clone()
        } else {
            settings.subs.clone()
        };
        let query = Query {
            subs,
            tail: settings.tail,
            since,
            replica: settings.replica,
        };
        let paths = self.supervisor.paths();
        let printer = LinePrinter::for_app(&self.app, known, color);
        let mut out = std::io::stdout().lock();
        let mut show = |entry: &Entry| {
            let time = settings.timestamps.then_some(entry.time.as_str());
            printer
                .write(
                    &mut out,
                    time,
                    &entry.sub,
                    entry.replica,
                    entry.stream,
                    &entry.text,
                )
                .and_then(|()| if settings.follow { out.flush() } else { Ok(()) })
                .is_ok()
        };
        let history = zeppelin_local::logs::history(paths, &query).into_diagnostic()?;
        for entry in &history {
            if !show(entry) {
                // The reader went away (`| head`): that is not an error.
                return Ok(());
            }
        }
        if settings.follow {
            zeppelin_local::logs::follow(paths, &query, show).into_diagnostic()?;
        }
        Ok(())
    }
}
