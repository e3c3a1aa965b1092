//! The control socket: how `ps`, `stop`, `restart`, `scale` and `run -d` talk to a running
//! supervisor. One JSON request line, one JSON reply line, per connection.
//!
//! The socket lives at [`AppPaths::socket`] with mode 0600; the client here is blocking, for
//! the CLI, and the server side runs in the supervisor.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zeppelin_core::AppStatus;
use zeppelin_core::status::JobRun;

use crate::accept_errors::{AcceptErrors, BACKOFF};
use crate::capture::{Echo, Stream};
use crate::error::Error;
use crate::job::{JobEvent, OnJobEvent};
use crate::paths::AppPaths;
use crate::supervisor::{Applied, JobsRan, Supervisor};

/// A request to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// What runs now.
    Status,
    /// Answer once the first start is over (every sub healthy, or one failed).
    WaitStarted,
    /// Stop these subs, or the whole app (and the supervisor) when empty.
    Stop { subs: Vec<String> },
    /// Stop these subs where they run and delete their data, with no operation in between
    /// (`zeppelin stop --delete-data`); they may name subs that left the app.
    DeleteData { subs: Vec<String> },
    /// Restart these subs (all when empty), one replica at a time, after the `before` jobs
    /// gating them when their inputs changed (every one with `rerun_jobs`).
    Restart {
        subs: Vec<String>,
        #[serde(default)]
        rerun_jobs: bool,
    },
    /// Run this job now; its output comes back as [`Reply::JobLine`]s (and its retries as
    /// [`Reply::JobRetry`]s), then [`Reply::JobDone`].
    RunJob { job: String },
    /// Set replica counts.
    Scale { counts: BTreeMap<String, u32> },
    /// Read this app file again and apply the difference; `gateway_port` is the new run's
    /// `--gateway-port`.
    Apply {
        file: PathBuf,
        #[serde(default)]
        gateway_port: Option<u16>,
        /// Run every `before` job, changed or not.
        #[serde(default)]
        rerun_jobs: bool,
    },
    /// The gateway's port and routes.
    Routes,
}

/// The supervisor's answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Status(AppStatus),
    /// The first start is over; `jobs` are the `before` jobs it ran or left alone.
    Started {
        #[serde(default)]
        jobs: JobsRan,
    },
    Stopped {
        clean: bool,
    },
    Done,
    /// The subs were restarted; `rolled` are the stateful ones.
    Restarted {
        rolled: Vec<crate::supervisor::Rolled>,
        #[serde(default)]
        jobs: JobsRan,
    },
    /// The data was deleted; `stopped` names the subs that had to be stopped for it.
    DataDeleted {
        stopped: Vec<String>,
    },
    Applied(Box<Applied>),
    Routes {
        gateway_port: u16,
        routes: Vec<crate::gateway::RouteTarget>,
    },
    /// The first start failed; `sub` names the sub that did not become healthy, `job` the
    /// `before` job that failed.
    StartFailed {
        sub: Option<String>,
        #[serde(default)]
        job: Option<String>,
        message: String,
    },
    /// A `before` job failed, so the operation stopped there.
    JobFailed {
        job: String,
        message: String,
    },
    /// A line of output of the job a [`Request::RunJob`] runs (lossy UTF-8).
    JobLine {
        stream: Stream,
        text: String,
    },
    /// The job a [`Request::RunJob`] runs started (its first attempt).
    JobStarted,
    /// The job a [`Request::RunJob`] runs failed an attempt (`after` says how) and starts
    /// attempt `attempt` of `of`.
    JobRetry {
        attempt: u32,
        of: u32,
        after: String,
    },
    /// The job a [`Request::RunJob`] runs ended.
    JobDone(JobRun),
    Error(String),
}

/// Lines of a `run-job`'s output the supervisor keeps for a caller that reads slowly.
const QUEUED_LINES: usize = 1024;

/// Longest a request may wait for its answer (restarts wait for health; this is a backstop).
const REPLY_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Connects to the app's supervisor and sends `request`; `NotRunning` when there is none.
fn send_request(paths: &AppPaths, app: &str, request: &Request) -> Result<UnixStream, Error> {
    let control = |source| Error::Control {
        socket: paths.socket.clone(),
        source,
    };
    let mut stream = match UnixStream::connect(&paths.socket) {
        Ok(stream) => stream,
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(Error::NotRunning {
                app: app.to_owned(),
            });
        }
        Err(err) => return Err(control(err)),
    };
    let mut line = serde_json::to_string(request).expect("requests serialize");
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(control)?;
    Ok(stream)
}

/// Sends one request to the app's supervisor; `NotRunning` when there is none.
pub fn request(paths: &AppPaths, app: &str, request: &Request) -> Result<Reply, Error> {
    let control = |source| Error::Control {
        socket: paths.socket.clone(),
        source,
    };
    let stream = send_request(paths, app, request)?;
    stream
        .set_read_timeout(Some(REPLY_TIMEOUT))
        .map_err(control)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(control)?;
    if answer.is_empty() {
        return Err(control(std::io::ErrorKind::UnexpectedEof.into()));
    }
    match serde_json::from_str(&answer) {
        Ok(Reply::Error(message)) => Err(Error::Refused(message)),
        Ok(reply) => Ok(reply),
        Err(err) => Err(control(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            err,
        ))),
    }
}

/// What a [`run_job`] caller is told while the run goes.
#[derive(Debug, Clone, Copy)]
pub enum JobNews<'a> {
    /// The run started.
    Started,
    /// A line of its output.
    Line { stream: Stream, text: &'a str },
    /// An attempt failed (`after` says how); attempt `attempt` of `of` starts.
    Retry {
        attempt: u32,
        of: u32,
        after: &'a str,
    },
}

/// Runs `job` in the app's supervisor, handing each line of its output and each retry to
/// `on_news` as they come; the run once it ended. `NotRunning` when no supervisor runs the
/// app. Waits as long as the run goes (the job's own timeout bounds it).
pub fn run_job(
    paths: &AppPaths,
    app: &str,
    job: &str,
    mut on_news: impl FnMut(JobNews<'_>),
) -> Result<JobRun, Error> {
    let control = |source| Error::Control {
        socket: paths.socket.clone(),
        source,
    };
    let request = Request::RunJob {
        job: job.to_owned(),
    };
    let mut reader = BufReader::new(send_request(paths, app, &request)?);
    let lost = || Error::SupervisorLost {
        job: job.to_owned(),
        log: paths.log_file(job),
    };
    loop {
        let mut answer = String::new();
        if reader.read_line(&mut answer).map_err(|_| lost())? == 0 {
            return Err(lost());
        }
        match serde_json::from_str(&answer) {
            Ok(Reply::JobLine { stream, text }) => on_news(JobNews::Line {
                stream,
                text: &text,
            }),
            Ok(Reply::JobStarted) => on_news(JobNews::Started),
            Ok(Reply::JobRetry { attempt, of, after }) => on_news(JobNews::Retry {
                attempt,
                of,
                after: &after,
            }),
            Ok(Reply::JobDone(run)) => return Ok(run),
            Ok(Reply::Error(message)) => return Err(Error::Refused(message)),
            Ok(other) => {
                return Err(control(std::io::Error::other(format!(
                    "unexpected answer: {other:?}"
                ))));
            }
            Err(err) => {
                return Err(control(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    err,
                )));
            }
        }
    }
}

/// Binds the control socket, only this user may connect.
pub(crate) fn listen(socket: &Path) -> Result<UnixListener, Error> {
    let setup = |source| Error::Control {
        socket: socket.to_path_buf(),
        source,
    };
    if let Some(dir) = socket.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(setup)?;
    }
    let listener = UnixListener::bind(socket).map_err(setup)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600)).map_err(setup)?;
    Ok(listener)
}

/// Why the first start failed: the sub that did not become healthy or the job that
/// failed, if one did, and the message.
#[derive(Debug, Clone)]
pub(crate) struct StartFailure {
    pub(crate) sub: Option<String>,
    pub(crate) job: Option<String>,
    pub(crate) message: String,
}

/// How the first start ended.
pub(crate) type StartResult = Result<JobsRan, StartFailure>;

/// What the server needs besides the supervisor.
#[derive(Clone)]
pub(crate) struct Server {
    pub(crate) supervisor: Arc<Supervisor>,
    pub(crate) app_dir: PathBuf,
    /// Cancelled to stop the whole app.
    pub(crate) shutdown: CancellationToken,
    /// `Some(Err(..))` when the first start failed.
    pub(crate) started: watch::Receiver<Option<StartResult>>,
    /// `Some(clean)` once everything has stopped.
    pub(crate) finished: watch::Receiver<Option<bool>>,
    /// Set once someone was told how the first start ended.
    pub(crate) start_told: Arc<watch::Sender<bool>>,
}

impl Server {
    /// Answers connections until the task is dropped.
    pub(crate) async fn run(self, listener: UnixListener) {
        let mut errors = AcceptErrors::default();
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => {
                    errors.accepted();
                    stream
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning on
                    // the thread that also runs the replicas and balancers.
                    if let Some(held_back) = errors.failed() {
                        tracing::warn!(%error, held_back, "the control socket cannot accept a connection");
                    }
                    tokio::time::sleep(BACKOFF).await;
                    continue;
                }
            };
            let server = self.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                if tokio::io::BufReader::new(read)
                    .read_line(&mut line)
                    .await
                    .is_err()
                {
                    return;
                }
                let reply = match serde_json::from_str::<Request>(&line) {
                    Ok(Request::RunJob { job }) => server.run_job(&job, &mut write).await,
                    Ok(request) => server.handle(request).await,
                    Err(err) => Reply::Error(format!("not a request: {err}")),
                };
                let mut text = serde_json::to_string(&reply).expect("replies serialize");
                text.push('\n');
                if write.write_all(text.as_bytes()).await.is_ok()
                    && matches!(reply, Reply::Started { .. } | Reply::StartFailed { .. })
                {
                    server.start_told.send_replace(true);
                }
            });
        }
    }

    async fn handle(&self, request: Request) -> Reply {
        let result = match request {
            Request::Status => Ok(Reply::Status(self.supervisor.status().await)),
            Request::WaitStarted => {
                let mut started = self.started.clone();
                match started.wait_for(Option::is_some).await.map(|s| s.clone()) {
                    Ok(Some(Ok(jobs))) => Ok(Reply::Started { jobs }),
                    Ok(Some(Err(failure))) => Ok(Reply::StartFailed {
                        sub: failure.sub,
                        job: failure.job,
                        message: failure.message,
                    }),
                    _ => Ok(Reply::Error("the supervisor is stopping".to_owned())),
                }
            }
            Request::Stop { subs } if subs.is_empty() => {
                self.shutdown.cancel();
                let mut finished = self.finished.clone();
                let clean = finished
                    .wait_for(Option::is_some)
                    .await
                    .map(|c| c.unwrap_or(false));
                Ok(Reply::Stopped {
                    clean: clean.unwrap_or(false),
                })
            }
            Request::Stop { subs } => self
                .supervisor
                .stop(&subs)
                .await
                .map(|clean| Reply::Stopped { clean }),
            Request::Routes => {
                let (gateway_port, routes) = self.supervisor.routes();
                Ok(Reply::Routes {
                    gateway_port,
                    routes,
                })
            }
            Request::DeleteData { subs } => self
                .supervisor
                .delete_data(&subs)
                .await
                .map(|stopped| Reply::DataDeleted { stopped }),
            Request::Restart { subs, rerun_jobs } => self
                .supervisor
                .restart(&subs, rerun_jobs)
                .await
                .map(|(rolled, jobs)| Reply::Restarted { rolled, jobs }),
            Request::RunJob { .. } => Ok(Reply::Error(
                "a job runs on a connection of its own".to_owned(),
            )),
            Request::Scale { counts } => self.supervisor.scale(&counts).await.map(|()| Reply::Done),
            Request::Apply {
                file,
                gateway_port,
                rerun_jobs,
            } => match zeppelin_core::load(&file) {
                Ok(app) if app.dir() != self.app_dir => Ok(Reply::Error(format!(
                    "{} belongs to another app folder than the running app ({})",
                    file.display(),
                    self.app_dir.display()
                ))),
                Ok(app) => self
                    .supervisor
                    .apply(app, gateway_port, rerun_jobs)
                    .await
                    .map(|applied| Reply::Applied(Box::new(applied))),
                Err(err) => Err(Error::Load(Box::new(err))),
            },
        };
        result.unwrap_or_else(|err| match &err {
            Error::JobFailed { job, .. } => Reply::JobFailed {
                job: job.clone(),
                message: zeppelin_core::error_chain(&err),
            },
            _ => Reply::Error(zeppelin_core::error_chain(&err)),
        })
    }

    /// Runs a job for `run-job`, writing each line of its output as it comes, and returns
    /// the last reply: the run, or why it could not run. A caller that went away does not
    /// stop the run. A caller that reads slower than the job writes (`| less`) misses
    /// lines, and is told how many (its log has them): the job's log capture never waits
    /// for it, nor does the supervisor keep more than [`QUEUED_LINES`] for it.
    async fn run_job(&self, job: &str, write: &mut tokio::net::unix::OwnedWriteHalf) -> Reply {
        let (lines, mut received) = tokio::sync::mpsc::channel::<Reply>(QUEUED_LINES);
        let retries = lines.clone();
        let missed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let missing = Arc::clone(&missed);
        let echo: Echo = Arc::new(move |line| {
            let line = Reply::JobLine {
                stream: line.stream,
                text: String::from_utf8_lossy(line.text).into_owned(),
            };
            if lines.try_send(line).is_err() {
                missing.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let on_event: OnJobEvent = Arc::new(move |event| {
            let news = match event {
                JobEvent::Attempt { after: None, .. } => Reply::JobStarted,
                JobEvent::Attempt {
                    attempt,
                    of,
                    after: Some(after),
                    ..
                } => Reply::JobRetry {
                    attempt: *attempt,
                    of: *of,
                    after: (*after).to_owned(),
                },
                JobEvent::Unchanged { .. } | JobEvent::Finished { .. } => return,
            };
            let _ = retries.try_send(news);
        });
        let run = self.supervisor.run_job(job, echo, on_event);
        tokio::pin!(run);
        let mut connected = true;
        let log = AppPaths::new(&self.app_dir).log_file(job);
        let mut pass_on = async |line: Reply, connected: &mut bool| {
            let skipped = missed.swap(0, std::sync::atomic::Ordering::Relaxed);
            if skipped > 0 && *connected {
                let note = Reply::JobLine {
                    stream: Stream::Err,
                    text: format!(
                        "zeppelin: {skipped} line(s) not shown here (read too slowly); {} has them",
                        log.display()
                    ),
                };
                *connected = send(write, &note).await;
            }
            if *connected {
                *connected = send(write, &line).await;
            }
        };
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                Some(line) = received.recv() => pass_on(line, &mut connected).await,
            }
        };
        while let Ok(line) = received.try_recv() {
            pass_on(line, &mut connected).await;
        }
        match result {
            Ok(run) => Reply::JobDone(run),
            Err(err) => Reply::Error(zeppelin_core::error_chain(&err)),
        }
    }
}

/// Writes one reply line; `false` once the caller has gone.
async fn send(write: &mut tokio::net::unix::OwnedWriteHalf, reply: &Reply) -> bool {
    let mut text = serde_json::to_string(reply).expect("replies serialize");
    text.push('\n');
    write.write_all(text.as_bytes()).await.is_ok()
}
