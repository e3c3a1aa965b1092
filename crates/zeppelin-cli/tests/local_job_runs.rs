//! End-to-end tests of job runs in the local runtime that race with something: a
//! `run-job` while the app stops, a `run-job` killed with SIGKILL, two runs of one job at
//! once, Ctrl-C and a lost supervisor while `run-job` waits, and a killed `zeppelin exec`'s
//! secret files. The real `zeppelin` binary runs tiny shell jobs in temporary folders.

mod harness;

use std::io::Read as _;
use std::process::Stdio;

use harness::app::{TestApp, alive, send_signal, wait_for};
use nix::sys::signal::Signal;
use predicates::str::contains;

/// The pid a job (or command) wrote into file `name` of the app folder, once it did.
fn pid_in(app: &TestApp, name: &str) -> i32 {
    wait_for(&format!("a pid in {name}"), || {
        app.read(name).trim().parse::<i32>().ok()
    })
}

/// `zeppelin ARGS` in the app folder, running on, its stdout and stderr piped.
fn spawn(app: &TestApp, args: &[&str]) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("zeppelin"))
        .args(args)
        .current_dir(app.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` to end: its exit code and stderr.
fn finish(mut child: std::process::Child) -> (Option<i32>, String) {
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err)
}

fn pid_of(child: &std::process::Child) -> i32 {
    i32::try_from(child.id()).unwrap()
}

#[test]
fn a_run_job_that_arrives_while_the_app_stops_is_refused_and_nothing_escapes_the_stop() {
    let app = TestApp::new(
        r#"
[sub.api]
run = "trap 'echo stopping > stopping; sleep 2; exit 0' TERM; while true; do sleep 0.1; done"

[job.stubborn]
run = "echo $$ > job.pid; exec sleep 100"
"#,
    );
    app.start();
    let stop = spawn(&app, &["stop"]);
    // The app is stopping: its jobs are stopped, its sub takes its time.
    wait_for("the sub to be told to stop", || {
        app.file("stopping").exists().then_some(())
    });
    let run = app.zeppelin(&["run-job", "stubborn"]).output().unwrap();
    let (code, said) = finish(stop);
    assert_eq!(code, Some(0), "{said}");
    let told = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{told}");
    assert!(told.contains("the app is stopping"), "{told}");
    if app.file("job.pid").exists() {
        let job = pid_in(&app, "job.pid");
        assert!(!alive(job), "the job (pid {job}) outlived the stop");
    }
}

/// A job that leaves a process of its own session behind, then waits; run again with a
/// `second` file, it checks that nothing of the first run is alive (a zombie no longer
/// runs).
const LEAVES_A_PROCESS: &str = r#"
[job.leaver]
run = """
if [ -f second ]; then
  state=$(cut -d' ' -f3 "/proc/$(cat away.pid)/stat" 2>/dev/null)
  if [ -n "$state" ] && [ "$state" != Z ]; then echo overlap; exit 9; fi
  exit 0
fi
setsid sh -c 'echo $$ > away.pid; exec sleep 300' &
echo $$ > main.pid
exec sleep 30
"""
"#;

/// `run-job leaver` alone, killed with SIGKILL once both its processes run; returns the
/// pids of the one that left its session and the main one.
fn kill_a_run_job(app: &TestApp) -> (i32, i32) {
    let mut run = spawn(app, &["run-job", "leaver"]);
    let away = pid_in(app, "away.pid");
    let main = pid_in(app, "main.pid");
    send_signal(pid_of(&run), Signal::SIGKILL);
    run.wait().unwrap();
    (away, main)
}

#[test]
fn stop_kills_what_a_killed_run_job_left() {
    let app = TestApp::new(LEAVES_A_PROCESS);
    let (away, main) = kill_a_run_job(&app);
    app.zeppelin(&["stop"])
        .assert()
        .success()
        .stderr(contains("leftover process(es) of a `zeppelin run-job`"));
    assert!(!alive(away), "the process that left its session was killed");
    assert!(!alive(main), "the job's own process was killed");
}

#[test]
fn a_starting_app_kills_what_a_killed_run_job_left() {
    let app = TestApp::new(&format!(
        "{LEAVES_A_PROCESS}\n[sub.api]\nrun = \"exec sleep 600\"\n"
    ));
    let (away, main) = kill_a_run_job(&app);
    app.start();
    assert!(!alive(away), "the process that left its session was killed");
    assert!(!alive(main), "the job's own process was killed");
}

#[test]
fn the_next_run_of_a_job_whose_run_job_was_killed_starts_once_its_leftovers_are_gone() {
    let app = TestApp::new(LEAVES_A_PROCESS);
    let (away, _) = kill_a_run_job(&app);
    std::fs::write(app.file("second"), "").unwrap();
    let second = app.zeppelin(&["run-job", "leaver"]).output().unwrap();
    assert_eq!(
        second.status.code(),
        Some(0),
        "the second run saw the first one's process: {}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert!(!alive(away));
}

#[test]
fn stop_stops_a_job_run_job_runs_alone() {
    let app = TestApp::new(
        r#"
[job.long]
run = "echo $$ > job.pid; exec sleep 100"
"#,
    );
    let run = spawn(&app, &["run-job", "long"]);
    let job = pid_in(&app, "job.pid");
    app.zeppelin(&["stop"])
        .assert()
        .success()
        .stderr(contains(format!(
            "zeppelin: stopped job long (run by `zeppelin run-job`, pid {})",
            pid_of(&run)
        )));
    assert!(!alive(job), "the job was stopped");
    let (code, said) = finish(run);
    assert_eq!(code, Some(130), "{said}");
}

#[test]
fn a_start_waits_for_a_before_job_run_by_run_job_and_does_not_run_it_again() {
    let app = TestApp::new(
        r#"
[sub.api]
run = "exec sleep 600"

[job.migrate]
run = "echo run >> runs; echo $$ > job.pid; sleep 2"
before = ["api"]
"#,
    );
    let alone = spawn(&app, &["run-job", "migrate"]);
    pid_in(&app, "job.pid");
    let again = app.zeppelin(&["run-job", "migrate"]).output().unwrap();
    let told = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "{told}");
    assert!(
        told.contains(&format!(
            "job \"migrate\" is already running in a `zeppelin run-job` (pid {})",
            pid_of(&alone)
        )) && told.contains("zeppelin logs migrate -f"),
        "{told}"
    );
    app.zeppelin(&["run", "-d"])
        .assert()
        .success()
        .stderr(contains("job migrate not run: unchanged"));
    let (code, said) = finish(alone);
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(app.read("runs"), "run\n", "the start ran it no second time");
}

#[test]
fn a_second_run_job_of_a_job_the_supervisor_runs_names_the_supervisor() {
    let app = TestApp::new(
        r#"
[sub.api]
run = "exec sleep 600"

[job.slow]
run = "echo $$ > job.pid; exec sleep 100"
"#,
    );
    app.start();
    let first = spawn(&app, &["run-job", "slow"]);
    pid_in(&app, "job.pid");
    let supervisor = app.read(".zeppelin/supervisor.pid");
    app.zeppelin(&["run-job", "slow"])
        .assert()
        .failure()
        .stderr(contains(format!(
            "is already running in the app's supervisor (pid {})",
            supervisor.trim()
        )));
    app.zeppelin(&["stop"]).assert().success();
    let (code, said) = finish(first);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("zeppelin: job slow failed: stopped"),
        "{said}"
    );
}

#[test]
fn ctrl_c_of_run_job_in_the_app_leaves_the_job_running_and_says_how_to_follow_it() {
    let app = TestApp::new(
        r#"
[sub.api]
run = "exec sleep 600"

[job.long]
run = "echo $$ > job.pid; exec sleep 100"
"#,
    );
    app.start();
    let run = spawn(&app, &["run-job", "long"]);
    let job = pid_in(&app, "job.pid");
    send_signal(pid_of(&run), Signal::SIGINT);
    let (code, said) = finish(run);
    assert_eq!(code, Some(130), "{said}");
    assert!(said.contains("zeppelin: running job long"), "{said}");
    assert!(
        said.contains("job long keeps running in the app: `zeppelin logs long -f` follows it"),
        "{said}"
    );
    assert!(alive(job), "the job runs on in the app");
    app.zeppelin(&["stop"]).assert().success();
    assert!(!alive(job));
}

#[test]
fn ctrl_c_of_run_job_alone_stops_the_job() {
    let app = TestApp::new(
        r#"
[job.long]
run = "echo $$ > job.pid; exec sleep 100"
"#,
    );
    let run = spawn(&app, &["run-job", "long"]);
    let job = pid_in(&app, "job.pid");
    send_signal(pid_of(&run), Signal::SIGINT);
    let (code, said) = finish(run);
    assert_eq!(code, Some(130), "{said}");
    assert!(!alive(job), "the job was stopped with run-job");
}

#[test]
fn run_job_tells_clearly_when_the_supervisor_goes_away() {
    let app = TestApp::new(
        r#"
[sub.api]
run = "exec sleep 600"

[job.long]
run = "echo $$ > job.pid; exec sleep 100"
"#,
    );
    app.start();
    let run = spawn(&app, &["run-job", "long"]);
    pid_in(&app, "job.pid");
    let supervisor: i32 = app.read(".zeppelin/supervisor.pid").trim().parse().unwrap();
    send_signal(supervisor, Signal::SIGKILL);
    let (code, said) = finish(run);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("the app's supervisor went away while job \"long\" ran"),
        "{said}"
    );
    assert!(!said.contains("unexpected end of file"), "{said}");
}

/// The folders of `.zeppelin/exec/`.
fn exec_folders(app: &TestApp) -> Vec<String> {
    std::fs::read_dir(app.file(".zeppelin/exec"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_secret_files_of_a_killed_exec_are_deleted_by_the_next_exec_and_by_stop() {
    let app = TestApp::new(
        r#"
[secrets]
TOKEN = { env = "RUNS_TEST_TOKEN" }

[sub.api]
run = "exec sleep 600"
"#,
    );
    for (args, then) in [
        (&["exec", "api", "--", "true"][..], "the next exec"),
        (&["stop"][..], "stop"),
    ] {
        let mut exec = std::process::Command::new(assert_cmd::cargo::cargo_bin("zeppelin"))
            .args([
                "exec",
                "api",
                "--",
                "sh",
                "-c",
                "echo $$ > exec.pid; exec sleep 100",
            ])
            .current_dir(app.path())
            .env("RUNS_TEST_TOKEN", "s3cr3t-value")
            .spawn()
            .unwrap();
        let command = pid_in(&app, "exec.pid");
        assert_eq!(exec_folders(&app).len(), 1, "its secret folder");
        send_signal(pid_of(&exec), Signal::SIGKILL);
        exec.wait().unwrap();
        send_signal(command, Signal::SIGKILL);
        std::fs::remove_file(app.file("exec.pid")).unwrap();
        app.zeppelin(args)
            .env("RUNS_TEST_TOKEN", "s3cr3t-value")
            .output()
            .unwrap();
        assert_eq!(
            exec_folders(&app),
            Vec::<String>::new(),
            "{then} deleted the killed exec's secret folder"
        );
    }
}

/// Every file under `dir`, read as (lossy) text.
fn texts_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(texts_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            found.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    found
}

#[test]
fn a_job_run_keeps_no_secret_value_in_its_record_nor_its_log() {
    let secret = "hunter2-very-secret";
    let app = TestApp::new(
        r#"
[secrets]
TOKEN = { env = "RUNS_TEST_SECRET", expose_env = true }

[job.uses]
run = "test -n \"$TOKEN\" && echo used"
"#,
    );
    app.zeppelin(&["run-job", "uses"])
        .env("RUNS_TEST_SECRET", secret)
        .assert()
        .success()
        .stdout(contains("used"));
    let kept: Vec<_> = texts_under(&app.file(".zeppelin/jobs"))
        .into_iter()
        .chain(texts_under(&app.file("log")))
        .collect();
    assert!(
        kept.iter().any(|(path, _)| path.ends_with("uses.json")),
        "the run is recorded: {kept:?}"
    );
    for (path, text) in &kept {
        assert!(
            !text.contains(secret),
            "{} holds the secret",
            path.display()
        );
    }
}
