//! Running an app's supervisor in this process ([`serve`]: the foreground `zeppelin run`, or
//! the detached background supervisor), and starting a detached one ([`detach`]).
//!
//! `serve` holds the app's lock, makes this process a child subreaper, answers the control
//! socket, starts every sub, and on Ctrl-C, SIGTERM, SIGHUP or `zeppelin stop` stops them
//! all in reverse dependency order; a second signal makes the stop kill at once.

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zeppelin_core::App;

use zeppelin_core::error_chain;

use crate::control::{self, Reply, Request, Server, StartFailure};
use crate::error::Error;
use crate::instance::Instance;
use crate::paths::AppPaths;
use crate::signals::on_signals;
use crate::supervisor::{Options, Supervisor};

/// How a supervisor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Every replica stopped by itself on SIGTERM (none had to be killed).
    pub clean: bool,
}

/// Runs the app until it is stopped; returns once every process is gone.
///
/// Fails before starting anything when another supervisor runs the app, a secret cannot be
/// read, a port is taken or a log cannot be written; fails after stopping what it started
/// when a sub does not become healthy.
pub fn serve(app: App, options: Options, detached: bool) -> Result<Outcome, Error> {
    let paths = AppPaths::new(app.dir());
    let instance = Instance::acquire(&paths, &app.name)?;
    // What a killed `run-job` left of a job run alone goes too, before anything starts.
    crate::job::sweep_idle(&paths, app.jobs.keys().map(String::as_str))?;
    // And the secret files of a killed `zeppelin exec`.
    crate::one_off::sweep_exec_folders(&paths);
    if detached {
        // Leave the terminal's session, so its hangup and Ctrl-C do not reach us.
        let _ = nix::unistd::setsid();
    }
    // Orphaned grandchildren of replicas become our children, so they are seen and reaped.
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| Error::Setup(e.into()))?;
    // One thread is plenty; processes are started by the reaper's own long-lived threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Setup)?;
    let outcome = runtime.block_on(supervise(app, paths, options, detached));
    // Finish the last writes (the recorded groups) before letting go of the app.
    drop(runtime);
    drop(instance);
    outcome
}

/// How long a detached supervisor whose start failed waits for `run -d` to hear why.
const TELL_FAILURE: Duration = Duration::from_secs(10);

async fn supervise(
    app: App,
    paths: AppPaths,
    options: Options,
    detached: bool,
) -> Result<Outcome, Error> {
    let app_dir = app.dir().to_path_buf();
    let on_started = options.on_started.clone();
    let rerun_jobs = options.rerun_jobs;
    let supervisor = Arc::new(Supervisor::new(app, paths.clone(), options)?);
    let shutdown = CancellationToken::new();
    let (started_tx, started) = watch::channel(None);
    let (finished_tx, finished) = watch::channel(None);
    let start_told = Arc::new(watch::channel(false).0);
    let listener = control::listen(&paths.socket)?;
    let server = tokio::spawn(
        Server {
            supervisor: Arc::clone(&supervisor),
            app_dir,
            shutdown: shutdown.clone(),
            started,
            finished,
            start_told: Arc::clone(&start_told),
        }
        .run(listener),
    );
    let force = Arc::clone(&supervisor);
    let signals = tokio::spawn(on_signals(shutdown.clone(), move || force.force()));

    let started = tokio::select! {
        result = supervisor.start(rerun_jobs) => result.map(Some),
        () = shutdown.cancelled() => Ok(None),
    };
    started_tx.send_replace(Some(match &started {
        Ok(jobs) => Ok(jobs.clone().unwrap_or_default()),
        Err(err) => Err(StartFailure {
            sub: match err {
                Error::Unhealthy { sub, .. } => Some(sub.clone()),
                _ => None,
            },
            job: match err {
                Error::JobFailed { job, .. } => Some(job.clone()),
                _ => None,
            },
            message: match err {
                Error::Unhealthy { reason, .. } => reason.clone(),
                other => error_chain(other),
            },
        }),
    }));
    if matches!(started, Ok(Some(_))) {
        supervisor.start_schedules();
        if let Some(on_started) = on_started {
            on_started();
        }
        shutdown.cancelled().await;
    }
    if detached && started.is_err() {
        let mut told = start_told.subscribe();
        let _ = tokio::time::timeout(TELL_FAILURE, told.wait_for(|t| *t)).await;
    }
    let clean = supervisor.stop_all().await;
    // New clients find no socket from here on; the ones waiting still get their answer.
    let _ = std::fs::remove_file(&paths.socket);
    finished_tx.send_replace(Some(clean));
    // Let a waiting `zeppelin stop` read its answer before the socket goes away.
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.abort();
    signals.abort();
    started.map(|_| Outcome { clean })
}

/// Starts a background supervisor for the app (the `zeppelin` binary at `exe`, run with
/// `args`), and waits until every sub is healthy or the start failed; returns the `before`
/// jobs the start ran or left alone.
pub fn detach(
    exe: &Path,
    args: &[&std::ffi::OsStr],
    paths: &AppPaths,
    app: &str,
) -> Result<crate::supervisor::JobsRan, Error> {
    std::fs::create_dir_all(&paths.state).map_err(|source| Error::Write {
        path: paths.state.clone(),
        source,
    })?;
    let log_path = paths.supervisor_log();
    let log = std::fs::File::create(&log_path).map_err(|source| Error::Write {
        path: log_path.clone(),
        source,
    })?;
    let err_log = log.try_clone().map_err(Error::Setup)?;
    let mut child = std::process::Command::new(exe)
        .args(args)
        .current_dir(&paths.dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .spawn()
        .map_err(Error::Setup)?;
    loop {
        if let Some(status) = child.try_wait().map_err(Error::Setup)? {
            return Err(supervisor_died(&log_path, status));
        }
        match control::request(paths, app, &Request::WaitStarted) {
            Ok(Reply::Started { jobs }) => return Ok(jobs),
            Ok(Reply::StartFailed { sub, job, message }) => {
                reap_within(&mut child, Duration::from_secs(120));
                return Err(match (sub, job) {
                    (Some(sub), _) => Error::Unhealthy {
                        sub,
                        reason: message,
                    },
                    (None, Some(job)) => Error::StartJobFailed { job, message },
                    (None, None) => Error::StartFailed(message),
                });
            }
            Ok(_) => {
                return Err(Error::StartFailed(
                    "unexpected answer to a start".to_owned(),
                ));
            }
            Err(Error::NotRunning { .. }) => std::thread::sleep(Duration::from_millis(20)),
            Err(err) => {
                reap_within(&mut child, Duration::from_secs(120));
                return Err(err);
            }
        }
    }
}

/// Why the supervisor ended before it started: what it wrote to its log, less its
/// timestamped diagnostics (warnings, or debug lines under `-v`), which are not its error.
fn supervisor_died(log: &Path, status: std::process::ExitStatus) -> Error {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let message = without_diagnostics(&text);
    Error::StartFailed(if message.is_empty() {
        format!(
            "the supervisor exited ({status}) before starting; see {}",
            log.display()
        )
    } else {
        message
    })
}

/// `text` without the lines that are diagnostics: those that start with a UTC timestamp,
/// as the background supervisor's events do (`2026-12-02T05:20:01.123456Z  WARN ...`).
fn without_diagnostics(text: &str) -> String {
    let is_event = |line: &str| {
        let stamp = line.split_whitespace().next().unwrap_or_default();
        stamp.len() > 20
            && stamp.ends_with('Z')
            && stamp.as_bytes()[10] == b'T'
            && stamp[..4].bytes().all(|b| b.is_ascii_digit())
    };
    text.lines()
        .filter(|line| !is_event(line))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// Waits a bounded time for the supervisor to finish stopping what it started.
fn reap_within(child: &mut Child, bound: Duration) {
    let deadline = std::time::Instant::now() + bound;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::without_diagnostics;

    #[test]
    fn a_dead_supervisors_error_is_its_log_without_the_diagnostics() {
        let log = "2026-12-02T05:20:01.123456Z  WARN zeppelin: ZEPPELIN_LOG is not a valid filter\n\
                   2026-12-02T05:20:01.200000Z DEBUG zeppelin: supervisor starting\n\
                   error: port 8080 for sub \"web\" is already in use\n  \
                   help: free it or change sub.web.port\n";
        assert_eq!(
            without_diagnostics(log),
            "error: port 8080 for sub \"web\" is already in use\n  help: free it or change sub.web.port"
        );
        assert_eq!(
            without_diagnostics("2026-12-02T05:20:01.123456Z  WARN zeppelin: x\n"),
            ""
        );
    }
}
