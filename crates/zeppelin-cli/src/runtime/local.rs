//! The local side of [`super::Runtime`]: the status, replica counts and job runs through the running
//! supervisor, and the log files in `log/`, merged by time (read directly, so `logs` works
//! whether the app runs or not).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use miette::IntoDiagnostic as _;
use zeppelin_core::{App, AppStatus};
use zeppelin_local::Stream;
use zeppelin_local::control::{JobNews, Reply, Request};
use zeppelin_local::job::JobEvent;
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

    /// Runs job `name` once: in the running app's supervisor, its output streamed back
    /// here, or (no supervisor runs the app) alone in this process with the environment a
    /// replica gets. Either way its output goes to `log/<job>.log` too, its run is recorded
    /// for `ps`, and its exit status becomes ours (124 when it timed out, 1 when it could
    /// not start or was stopped).
    pub(crate) fn run_job(&self, name: &str) -> miette::Result<ExitCode> {
        let paths = self.supervisor.paths();
        let in_supervisor =
            zeppelin_local::control::run_job(paths, &self.app.name, name, |news| match news {
                JobNews::Line { stream, text } => show(stream, text.as_bytes()),
                JobNews::Retry { attempt, of, after } => {
                    crate::job_notes::say_job_event(&JobEvent::Attempt {
                        job: name,
                        attempt,
                        of,
                        after: Some(after),
                    });
                }
            });
        let run = match in_supervisor {
            Ok(run) => {
                crate::job_notes::say_job_event(&JobEvent::Finished {
                    job: name,
                    run: &run,
                });
                run
            }
            Err(zeppelin_local::Error::NotRunning { .. }) => {
                tracing::debug!(
                    job = name,
                    "no supervisor runs the app: running the job alone"
                );
                let echo: zeppelin_local::Echo = Arc::new(|line| show(line.stream, line.text));
                zeppelin_local::job::run_alone(
                    &self.app,
                    name,
                    Some(std::env::current_exe().into_diagnostic()?),
                    echo,
                    &(Arc::new(crate::job_notes::say_job_event) as zeppelin_local::job::OnJobEvent),
                )
                .into_diagnostic()?
            }
            Err(err) => return Err(err).into_diagnostic(),
        };
        Ok(match (run.exit, &run.reason) {
            (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX)),
            (None, Some(reason)) if reason.starts_with("timed out") => ExitCode::from(124),
            (None, _) => ExitCode::FAILURE,
        })
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

/// A line of a job's output, as it was: stdout lines on stdout, stderr lines on stderr.
fn show(stream: Stream, text: &[u8]) {
    // The caller went away (`| head`): the job runs on, its log keeps every line.
    let _ = match stream {
        Stream::Out => {
            let mut out = std::io::stdout().lock();
            out.write_all(text)
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush())
        }
        Stream::Err => {
            let mut err = std::io::stderr().lock();
            err.write_all(text).and_then(|()| err.write_all(b"\n"))
        }
    };
}
