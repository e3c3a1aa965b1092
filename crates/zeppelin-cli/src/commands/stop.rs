//! `zeppelin stop` and `zeppelin restart`: through the running supervisor (`stop` also ends
//! the app's running jobs, each with its whole process group, and those `run-job` runs
//! alone). `stop` with no supervisor left still kills what a killed supervisor, or a killed
//! `run-job`, left behind. `stop --delete-data` is the one command that deletes the data of
//! stateful subs ([`delete_data`]).

use std::process::ExitCode;

use miette::{IntoDiagnostic, miette};
use zeppelin_core::App;
use zeppelin_local::AppPaths;
use zeppelin_local::control::{Reply, Request};
use zeppelin_local::volumes::SubData;

use crate::confirm::confirm_deletion;
use crate::settings::{GlobalSettings, RestartSettings, StopSettings};
use crate::supervisor::{Answer, SupervisorClient};
use crate::volumes;

pub(crate) fn stop(stop: &StopSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let subs = &stop.subs;
    let app = settings.load_app()?;
    if let Some(yes) = stop.delete_data {
        return delete_data(&app, subs, yes);
    }
    let supervisor = SupervisorClient::of(&app);
    let paths = supervisor.paths();
    // The secret files of a killed `zeppelin exec` go with the app.
    zeppelin_local::one_off::sweep_exec_folders(paths);
    let jobs = || app.jobs.keys().map(String::as_str);
    // So do the jobs `zeppelin run-job` runs alone, beside the app or without it.
    let alone_runs = if subs.is_empty() {
        zeppelin_local::job::stop_alone_runs(paths, jobs()).into_diagnostic()?
    } else {
        Vec::new()
    };
    for (job, pid) in &alone_runs {
        eprintln!("zeppelin: stopped job {job} (run by `zeppelin run-job`, pid {pid})");
    }
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
            let alone = zeppelin_local::job::sweep_idle(paths, jobs()).into_diagnostic()?;
            if alone > 0 {
                eprintln!(
                    "zeppelin: killed {alone} leftover process(es) of a `zeppelin run-job` that was killed"
                );
            }
            match zeppelin_local::reap_stale(paths).into_diagnostic()? {
                Some(0) | None if alone == 0 && alone_runs.is_empty() => Err(err).into_diagnostic(),
                Some(0) | None => Ok(ExitCode::SUCCESS),
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

/// `stop --delete-data SUB…`: every name is checked first (a sub of the app, or a sub that
/// left it but whose data is still on disk), each sub's deletion is confirmed (typing its
/// name, or `--yes`), and only then are the subs stopped, if they run, and their data
/// deleted ([`stop_and_delete`]). A refused confirmation changes nothing.
fn delete_data(app: &App, subs: &[String], yes: bool) -> miette::Result<ExitCode> {
    let supervisor = SupervisorClient::of(app);
    let paths = supervisor.paths();
    let mut names: Vec<&String> = Vec::new();
    for sub in subs {
        if !names.contains(&sub) {
            names.push(sub);
        }
    }
    let mut found: Vec<(&String, SubData)> = Vec::new();
    for &sub in &names {
        let data = zeppelin_local::volumes::sub_data(paths, sub).into_diagnostic()?;
        match (app.subs.get(sub), data) {
            (_, Some(data)) => found.push((sub, data)),
            (Some(known), None) if known.is_stateful() => eprintln!(
                "zeppelin: {sub} has no data yet (nothing in {})",
                paths.volumes().join(sub).display()
            ),
            (Some(_), None) => {
                return Err(miette!(
                    help = "only subs with `volumes` keep data",
                    "sub {sub:?} keeps no data: it has no volumes; nothing was stopped or deleted"
                ));
            }
            (None, None) => {
                return Err(miette!(
                    help = format!(
                        "the subs of app {} are: {}",
                        app.name,
                        app.subs.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                    "{sub:?} is not a sub of app {} and has no data in {}; nothing was stopped or deleted",
                    app.name,
                    paths.volumes().display()
                ));
            }
        }
    }
    for (sub, data) in &found {
        let what = format!(
            "the data of {sub} in {} ({})",
            data.path.display(),
            volumes::size(data.bytes)
        );
        confirm_deletion(&what, sub, yes)?;
    }
    if found.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let subs: Vec<String> = found.iter().map(|(sub, _)| (*sub).clone()).collect();
    stop_and_delete(&supervisor, &subs)?;
    for (sub, data) in &found {
        eprintln!(
            "zeppelin: deleted the data of {sub} ({}, {})",
            data.path.display(),
            volumes::size(data.bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Stops the subs and deletes their data with nothing in between: through the supervisor,
/// which does both while no other operation can start them; with none, while holding the
/// app's lock (after killing whatever a killed supervisor left), so no supervisor starts
/// until the data is gone.
fn stop_and_delete(supervisor: &SupervisorClient, subs: &[String]) -> miette::Result<()> {
    let request = Request::DeleteData {
        subs: subs.to_vec(),
    };
    let deleted = |reply| match reply {
        Reply::DataDeleted { stopped } => Ok(stopped),
        other => Err(other),
    };
    let stopped = match supervisor.ask(&request, deleted)? {
        Answer::Given(stopped) => stopped,
        Answer::NotRunning(_) => {
            let paths = supervisor.paths();
            match zeppelin_local::hold_stopped(paths).into_diagnostic()? {
                Some((_held, killed)) => {
                    if killed > 0 {
                        eprintln!(
                            "zeppelin: killed {killed} leftover process(es) of a supervisor that was killed"
                        );
                    }
                    for sub in subs {
                        zeppelin_local::volumes::delete_sub_data(paths, sub).into_diagnostic()?;
                    }
                    Vec::new()
                }
                // A supervisor started meanwhile: it does both.
                None => supervisor.ask_running(&request, deleted)?,
            }
        }
    };
    if !stopped.is_empty() {
        eprintln!(
            "zeppelin: stopped {}; it stays stopped until `zeppelin run -d` or `zeppelin restart` starts it on empty folders",
            stopped.join(", ")
        );
    }
    Ok(())
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

/// `zeppelin restart`: the `before` jobs gating the subs first (when changed, or with
/// `--rerun-jobs`), then each sub rolled; a failed job leaves the subs as they were.
pub(crate) fn restart(
    restart: &RestartSettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let subs = &restart.subs;
    let app = settings.load_app()?;
    let request = Request::Restart {
        subs: subs.clone(),
        rerun_jobs: restart.rerun_jobs,
    };
    let supervisor = SupervisorClient::of(&app);
    let answer = supervisor.ask_running(&request, |reply| match reply {
        Reply::Restarted { rolled, jobs } => Ok(Ok((rolled, jobs))),
        Reply::JobFailed { job, message } => Ok(Err((job, message))),
        other => Err(other),
    })?;
    let rolled = match answer {
        Ok((rolled, jobs)) => {
            crate::job_notes::say_jobs(&jobs);
            rolled
        }
        Err((job, message)) => {
            super::run::print_last_lines(&app, supervisor.paths(), &job);
            return Err(miette!("{message}"));
        }
    };
    let what = if subs.is_empty() {
        app.name.clone()
    } else {
        subs.join(", ")
    };
    eprintln!("zeppelin: restarted {what}; every replica is healthy");
    for note in volumes::rolled(&rolled) {
        eprintln!("{note}");
    }
    Ok(ExitCode::SUCCESS)
}
