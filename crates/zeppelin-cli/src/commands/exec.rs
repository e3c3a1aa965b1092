//! `zeppelin exec SUB -- CMD...`: a one-off command (a shell, a console, a script) with the
//! environment a replica of a sub, or a job, gets, attached to this terminal — the `heroku
//! run` of Zeppelin. It needs no running app.
//!
//! The environment comes from the local runtime ([`zeppelin_local::one_off`]), plus, for a
//! sub, a free `PORT` as each of its replicas gets one (a job's runs get none); no
//! `ZEPPELIN_REPLICA` and no volume folders, which belong to one replica each. Secret files are written to a private folder of this run under
//! `.zeppelin/`, never over the running app's, and removed once the command ends: Ctrl-C
//! reaches the command (the terminal sends it to both), and this process waits for it.

use std::ffi::OsString;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitCode, ExitStatus};

use miette::{IntoDiagnostic, WrapErr, miette};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};
use zeppelin_core::{App, Sub};
use zeppelin_local::AppPaths;

use crate::settings::{ExecSettings, GlobalSettings};

/// The exit status of a command that could not be found, as shells give it.
const NOT_FOUND: u8 = 127;
/// The exit status of a command found but not runnable, as shells give it.
const NOT_RUNNABLE: u8 = 126;

pub(crate) fn exec(exec: &ExecSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let app = settings.load_app()?;
    let target = target(&app, &exec.target)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .into_diagnostic()?;
    runtime.block_on(run(&app, &target, &exec.command))
}

/// Whose environment the command gets.
#[derive(Debug)]
struct Target {
    /// The sub, or the job as the sub it runs as.
    sub: Sub,
    /// Whether it is a job, whose runs get no `PORT`.
    job: bool,
}

/// The sub named `name`, or the job named so.
fn target(app: &App, name: &str) -> miette::Result<Target> {
    if let Some(sub) = app.subs.get(name) {
        return Ok(Target {
            sub: sub.clone(),
            job: false,
        });
    }
    if let Some(job) = app.jobs.get(name) {
        return Ok(Target {
            sub: job.as_sub(),
            job: true,
        });
    }
    let list = |names: Vec<&String>| match names.as_slice() {
        [] => "none".to_owned(),
        names => names
            .iter()
            .map(|name| name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    Err(miette!(
        help = "name one of the app file's `[sub.NAME]` or `[job.NAME]` tables",
        "no sub or job named {name:?} in {}; the subs are: {}; the jobs are: {}",
        app.name,
        list(app.subs.keys().collect()),
        list(app.jobs.keys().collect()),
    ))
}

/// Runs the command to its end; the signals that would end this process first are handled
/// from the start, so the secret files are always removed.
async fn run(app: &App, target: &Target, command: &[OsString]) -> miette::Result<ExitCode> {
    let sub = &target.sub;
    let signals = Signals::new().into_diagnostic()?;
    let paths = AppPaths::new(app.dir());
    let secrets = private_folder(app, &paths)?;
    let folder = secrets
        .as_ref()
        .map_or_else(|| paths.secrets(), |dir| dir.path().to_path_buf());
    let env = zeppelin_local::one_off::sub_env(app, sub, &folder).into_diagnostic()?;
    let (program, args) = command.split_first().expect("clap requires a command");
    let mut cmd = tokio::process::Command::new(program);
    for var in &env.hidden {
        cmd.env_remove(var);
    }
    cmd.args(args)
        .current_dir(app.dir())
        // As a shell started there would say; ours is where `zeppelin` ran.
        .env("PWD", app.dir())
        .envs(&env.vars);
    if !target.job {
        cmd.env("PORT", free_port().into_diagnostic()?.to_string());
    }
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => {
            let code = match err.kind() {
                std::io::ErrorKind::NotFound => NOT_FOUND,
                _ => NOT_RUNNABLE,
            };
            let report = miette!(
                help = "the command after `--` runs as is, in the app folder; for shell syntax use `-- sh -c '...'`",
                "cannot run {:?} as {} of {}: {err}",
                program,
                sub.name,
                app.name
            );
            eprintln!("{report:?}");
            return Ok(ExitCode::from(code));
        }
    };
    let status = signals.wait(child).await.into_diagnostic()?;
    if let Some(dir) = secrets {
        let path = dir.path().to_path_buf();
        dir.close()
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot remove the secret files in {}", path.display()))?;
    }
    Ok(ExitCode::from(exit_code(status)))
}

/// A new folder only this user can enter, for this run's secret files; none without
/// secrets. Those a killed `exec` left go first.
fn private_folder(app: &App, paths: &AppPaths) -> miette::Result<Option<tempfile::TempDir>> {
    zeppelin_local::one_off::sweep_exec_folders(paths);
    if app.secrets.is_empty() {
        return Ok(None);
    }
    let parent = zeppelin_local::one_off::exec_folders(paths);
    let made = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&parent)
        .and_then(|()| {
            tempfile::Builder::new()
                .prefix(&format!("{}-", std::process::id()))
                .permissions(std::fs::Permissions::from_mode(0o700))
                .tempdir_in(&parent)
        });
    made.map(Some)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot make a private folder in {}", parent.display()))
}

/// A port nothing listens on now, for the command's `PORT`, as each replica gets one.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The command's exit status as ours: its code, or 128+N when signal N ended it.
fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + (signal & 0x7f)).unwrap_or(1),
        (None, None) => 1,
    }
}

/// The signals that would end this process while the command runs: caught, so this process
/// outlives the command, and passed on to it.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for `child` to end, passing on each signal this process gets meanwhile.
    async fn wait(mut self, mut child: tokio::process::Child) -> std::io::Result<ExitStatus> {
        let pid = child.id().and_then(|id| i32::try_from(id).ok());
        loop {
            let signal = tokio::select! {
                status = child.wait() => return status,
                _ = self.interrupt.recv() => Signal::SIGINT,
                _ = self.quit.recv() => Signal::SIGQUIT,
                _ = self.terminate.recv() => Signal::SIGTERM,
                _ = self.hangup.recv() => Signal::SIGHUP,
            };
            let typed = matches!(signal, Signal::SIGINT | Signal::SIGQUIT);
            if typed && at_foreground_of_terminal() {
                // The terminal sent it to the command as well.
                continue;
            }
            if let Some(pid) = pid {
                // The command may have just ended; its status comes next.
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
            }
        }
    }
}

/// Whether this process group is the foreground one of the terminal on stdin, stdout or
/// stderr: then Ctrl-C and Ctrl-\ reach every process in it, the command included.
fn at_foreground_of_terminal() -> bool {
    let group = nix::unistd::getpgrp();
    [
        nix::unistd::tcgetpgrp(std::io::stdin()),
        nix::unistd::tcgetpgrp(std::io::stdout()),
        nix::unistd::tcgetpgrp(std::io::stderr()),
    ]
    .into_iter()
    .any(|foreground| foreground == Ok(group))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn exit_statuses_pass_through_and_signals_become_128_plus_n() {
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
        assert_eq!(exit_code(ExitStatus::from_raw(2)), 130);
    }

    #[test]
    fn an_unknown_name_lists_subs_and_jobs() {
        let app = zeppelin_core::parse(
            "name = \"t\"\n[sub.api]\nrun = \"x\"\n[job.migrate]\nrun = \"y\"\n",
            Path::new("/app/zeppelin.toml"),
        )
        .unwrap();
        assert!(!target(&app, "api").unwrap().job);
        let job = target(&app, "migrate").unwrap();
        assert!(job.job && job.sub.name == "migrate");
        let err = target(&app, "nope").unwrap_err().to_string();
        assert_eq!(
            err,
            "no sub or job named \"nope\" in t; the subs are: api; the jobs are: migrate"
        );
    }
}
