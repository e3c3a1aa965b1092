//! `zeppelin stop` and `zeppelin restart`: through the running supervisor. `stop` with no
//! supervisor left still kills what a killed supervisor left behind.

use std::process::ExitCode;

use miette::IntoDiagnostic;
use zeppelin_local::AppPaths;
use zeppelin_local::control::{Reply, Request};

use crate::settings::{GlobalSettings, SubsSettings};
use crate::supervisor::{Answer, SupervisorClient};

pub(crate) fn stop(stop: &SubsSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let subs = &stop.subs;
    let app = settings.load_app()?;
    let supervisor = SupervisorClient::of(&app);
    let request = Request::Stop { subs: subs.clone() };
    let answer = supervisor.ask(&request, |reply| match reply {
        Reply::Stopped { clean } => Ok(clean),
        other => Err(other),
    })?;
    match answer {
        Answer::Given(clean) => {
            if subs.is_empty() {
                wait_for_exit(supervisor.paths());
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
        Answer::NotRunning(err) => {
            match zeppelin_local::reap_stale(supervisor.paths()).into_diagnostic()? {
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

pub(crate) fn restart(
    restart: &SubsSettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let subs = &restart.subs;
    let app = settings.load_app()?;
    let request = Request::Restart { subs: subs.clone() };
    SupervisorClient::of(&app).ask_running(&request, |reply| match reply {
        Reply::Done => Ok(()),
        other => Err(other),
    })?;
    let what = if subs.is_empty() {
        app.name.clone()
    } else {
        subs.join(", ")
    };
    eprintln!("zeppelin: restarted {what}; every replica is healthy");
    Ok(ExitCode::SUCCESS)
}
