//! `zeppelin stop` and `zeppelin restart`: through the running supervisor. `stop` with no
//! supervisor left still kills what a killed supervisor left behind.

use std::process::ExitCode;

use miette::IntoDiagnostic;
use zeppelin_local::control::{Reply, Request};
use zeppelin_local::{AppPaths, Error};

use crate::settings::GlobalSettings;

pub(crate) fn stop(subs: &[String], settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let app = settings.load_app()?;
    let paths = AppPaths::new(app.dir());
    let request = Request::Stop {
        subs: subs.to_vec(),
    };
    match zeppelin_local::control::request(&paths, &app.name, &request) {
        Ok(Reply::Stopped { clean }) => {
            if subs.is_empty() {
                wait_for_exit(&paths);
            }
            let what = if subs.is_empty() {
                app.name.clone()
            } else {
                subs.join(", ")
            };
            if clean {
                eprintln!("zeppelin: stopped {what}");
            } else {
                eprintln!(
                    "zeppelin: stopped {what}; some replicas had to be killed after their stop timeout"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(other) => miette::bail!("unexpected answer from the supervisor: {other:?}"),
        Err(err @ Error::NotRunning { .. }) => {
            match zeppelin_local::reap_stale(&paths).into_diagnostic()? {
                Some(0) | None => Err(err).into_diagnostic(),
                Some(killed) => {
                    eprintln!(
                        "zeppelin: {} was not running; killed {killed} leftover process(es) of a supervisor that was killed",
                        app.name
                    );
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        Err(err) => Err(err).into_diagnostic(),
    }
}

/// Waits (bounded) until the supervisor has let go of the app, so a `run` right after
/// starts afresh.
fn wait_for_exit(paths: &AppPaths) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while zeppelin_local::is_running(paths).unwrap_or(false) && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

pub(crate) fn restart(subs: &[String], settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let app = settings.load_app()?;
    let paths = AppPaths::new(app.dir());
    let request = Request::Restart {
        subs: subs.to_vec(),
    };
    match zeppelin_local::control::request(&paths, &app.name, &request).into_diagnostic()? {
        Reply::Done => {
            let what = if subs.is_empty() {
                app.name.clone()
            } else {
                subs.join(", ")
            };
            eprintln!("zeppelin: restarted {what}; every replica is healthy");
            Ok(ExitCode::SUCCESS)
        }
        other => miette::bail!("unexpected answer from the supervisor: {other:?}"),
    }
}
