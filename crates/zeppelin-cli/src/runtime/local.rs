//! The local side of [`super::Runtime`]: the status, replica counts and job runs through the running
//! supervisor, and the log files in `log/`, merged by time (read directly, so `logs` works
//! whether the app runs or not).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use miette::IntoDiagnostic as _;
use tokio::signal::unix::{SignalKind, signal};
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
    /// not start). Ctrl-C exits 130 in both: alone, it stops the job (it is ours); in the
    /// supervisor, the job keeps running in the app and we say how to follow it.
    pub(crate) fn run_job(&self, name: &str) -> miette::Result<ExitCode> {
        let run = match self.run_job_in_supervisor(name)? {
            Ran::Done(run) => run,
            Ran::Interrupted => {
                eprintln!(
                    "zeppelin: stopped waiting; job {name} keeps running in the app: `zeppelin logs {name} -f` follows it, `zeppelin ps` shows how it ended"
                );
                return Ok(ExitCode::from(crate::job_notes::INTERRUPTED));
            }
            Ran::NoSupervisor => {
                tracing::debug!(
                    job = name,
                    "no supervisor runs the app: running the job alone"
                );
                let echo: zeppelin_local::Echo = Arc::new(|line| show(line.stream, line.text));
                let run = zeppelin_local::job::run_alone(
                    &self.app,
                    name,
                    Some(std::env::current_exe().into_diagnostic()?),
                    echo,
                    &(Arc::new(crate::job_notes::say_job_event) as zeppelin_local::job::OnJobEvent),
                )
                .into_diagnostic()?;
                if run.exit.is_none() && run.reason.as_deref() == Some(STOPPED) {
                    return Ok(ExitCode::from(crate::job_notes::INTERRUPTED));
                }
                run
            }
        };
        Ok(match (run.exit, &run.reason) {
            (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX)),
            (None, Some(reason)) if reason.starts_with("timed out") => ExitCode::from(124),
            (None, _) => ExitCode::FAILURE,
        })
    }

    /// Runs job `name` in the app's supervisor, until it ends or Ctrl-C stops the waiting
    /// (the supervisor runs it on).
    fn run_job_in_supervisor(&self, name: &str) -> miette::Result<Ran> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .into_diagnostic()?;
        runtime.block_on(async {
            // Caught before the request goes: once the supervisor has it, Ctrl-C only stops
            // the waiting.
            let mut interrupt = signal(SignalKind::interrupt()).into_diagnostic()?;
            let (done, result) = tokio::sync::oneshot::channel();
            let paths = self.supervisor.paths().clone();
            let (app, job) = (self.app.name.clone(), name.to_owned());
            // A thread of its own, left behind on Ctrl-C: the process exits without it.
            std::thread::spawn(move || {
                let _ = done.send(zeppelin_local::control::run_job(&paths, &app, &job, |news| {
                    tell(&job, news);
                }));
            });
            tokio::select! {
                ran = result => match ran.into_diagnostic()? {
                    Ok(run) => {
                        crate::job_notes::say_job_event(&JobEvent::Finished { job: name, run: &run });
                        Ok(Ran::Done(run))
                    }
                    Err(zeppelin_local::Error::NotRunning { .. }) => Ok(Ran::NoSupervisor),
                    Err(err) => Err(err).into_diagnostic(),
                },
                _ = interrupt.recv() => Ok(Ran::Interrupted),
            }
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

/// The reason a stopped run ends with.
const STOPPED: &str = "stopped";

/// How a run in the supervisor went, for the one who asked.
enum Ran {
    Done(zeppelin_core::status::JobRun),
    /// Ctrl-C: we stopped waiting.
    Interrupted,
    NoSupervisor,
}

/// What the supervisor tells of a run of `job`, said here as a run alone would say it.
fn tell(job: &str, news: JobNews<'_>) {
    match news {
        JobNews::Started => crate::job_notes::say_job_event(&JobEvent::Attempt {
            job,
            attempt: 1,
            of: 1,
            after: None,
        }),
        JobNews::Line { stream, text } => show(stream, text.as_bytes()),
        JobNews::Retry { attempt, of, after } => {
            crate::job_notes::say_job_event(&JobEvent::Attempt {
                job,
                attempt,
                of,
                after: Some(after),
            });
        }
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
