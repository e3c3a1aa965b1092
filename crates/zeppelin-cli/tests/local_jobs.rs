//! End-to-end tests of jobs in the local runtime: the real `zeppelin` binary runs small apps
//! whose jobs are tiny shell commands, in temporary folders. `before` jobs gate the start,
//! run again only when their inputs change, retry and time out; the scheduler runs on a
//! clock sped up through its hidden test variables; `run-job` passes exit statuses through
//! with the app running or not; `stop` ends a running job's whole process group.

mod harness;

use std::io::Read as _;

use harness::app::{TestApp, alive, free_ports, get, wait_for};
use predicates::str::contains;
use serde_json::Value;

/// A sub that records its start in `events`, then sleeps.
const API: &str = r#"
[sub.api]
run = "echo start api >> events; exec sleep 600"
"#;

/// The lines of a file of the app folder.
fn lines(app: &TestApp, name: &str) -> Vec<String> {
    app.read(name).lines().map(str::to_owned).collect()
}

/// The job named `name` in `ps --format json`.
fn job_status(app: &TestApp, name: &str) -> Value {
    app.status()["jobs"]
        .as_array()
        .expect("a list of jobs")
        .iter()
        .find(|j| j["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("job {name} is not listed"))
}

/// Whether a process of process group `group` is still alive (not a zombie).
fn group_alive(group: i32) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| alive(pid))
        .any(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat.get(stat.rfind(')')? + 2..)?.to_owned();
                    rest.split(' ').nth(2)?.parse::<i32>().ok()
                })
                == Some(group)
        })
}

#[test]
fn a_failing_migration_keeps_the_subs_it_gates_from_starting_and_shows_why() {
    let app = TestApp::new(&format!(
        r#"
[sub.db]
run = "echo start db >> events; exec sleep 600"
{API}
[job.migrate]
run = "echo attempt >> attempts; echo 'column users.email is missing' >&2; exit 3"
depends_on = ["db"]
before = ["api"]
retries = 1
"#
    ));
    app.zeppelin(&["run", "-d"])
        .assert()
        .failure()
        .stderr(contains(
            r#"job "migrate" failed: exited with status 3 after 2 attempts; the subs it gates (api) were not started"#,
        ))
        .stderr(contains("the last lines of"))
        .stderr(contains("migrate ! column users.email is missing"));
    assert_eq!(lines(&app, "attempts").len(), 2, "one retry");
    assert_eq!(
        app.read("events"),
        "start db\n",
        "db (its dependency) started, api (gated) did not"
    );
    // Nothing is left half-done: the supervisor stopped what it had started.
    app.zeppelin(&["ps"])
        .assert()
        .failure()
        .stderr(contains("not running"));
    // `logs` takes the job's name.
    app.zeppelin(&["logs", "migrate"])
        .assert()
        .success()
        .stdout(contains("migrate ! column users.email is missing"));
    app.zeppelin(&["logs", "nope"])
        .assert()
        .failure()
        .stderr(contains(
            r#"no sub or job named "nope" in t; the subs are: api, db; the jobs are: migrate"#,
        ));
    // Failing again shows the lines of this run only (its two attempts), not the last one's.
    let again = app.zeppelin(&["run", "-d"]).assert().failure();
    let stderr = String::from_utf8_lossy(&again.get_output().stderr).into_owned();
    assert_eq!(
        stderr.matches("column users.email is missing").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn a_migration_runs_before_its_subs_and_again_only_when_its_inputs_change() {
    let body = |version: &str| {
        format!(
            r#"
[sub.api]
run = "echo start api $(wc -l < migrations) >> events; exec sleep 600"
[job.migrate]
run = "echo $SCHEMA >> migrations"
env = {{ SCHEMA = "{version}" }}
before = ["api"]
"#
        )
    };
    let app = TestApp::new(&body("v1"));
    app.zeppelin(&["run", "-d"])
        .assert()
        .success()
        .stderr(contains("ran job migrate"));
    assert_eq!(lines(&app, "migrations"), ["v1"]);
    assert_eq!(
        lines(&app, "events"),
        ["start api 1"],
        "api started after the migration"
    );
    assert_eq!(job_status(&app, "migrate")["state"], "succeeded");
    assert_eq!(job_status(&app, "migrate")["trigger"], "before");

    // Unchanged: not run again, and said so.
    app.zeppelin(&["run", "-d"])
        .assert()
        .success()
        .stderr(contains(
            "job migrate not run: unchanged since its last success",
        ));
    assert_eq!(lines(&app, "migrations"), ["v1"]);

    // A changed input runs it again, before api rolls (api sees both migrations).
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{}", body("v2")),
    )
    .unwrap();
    app.zeppelin(&["run", "-d"])
        .assert()
        .success()
        .stderr(contains("ran job migrate"));
    assert_eq!(lines(&app, "migrations"), ["v1", "v2"]);

    // `--rerun-jobs` forces it, on `run -d` and on `restart`; a plain restart does not.
    app.zeppelin(&["run", "-d", "--rerun-jobs"])
        .assert()
        .success();
    assert_eq!(lines(&app, "migrations").len(), 3);
    app.zeppelin(&["restart", "api", "--rerun-jobs"])
        .assert()
        .success()
        .stderr(contains("ran job migrate"));
    assert_eq!(lines(&app, "migrations").len(), 4);
    app.zeppelin(&["restart", "api"])
        .assert()
        .success()
        .stderr(contains("not run: unchanged"));
    assert_eq!(lines(&app, "migrations").len(), 4);
    assert_eq!(
        lines(&app, "events").last().map(String::as_str),
        Some("start api 4"),
        "the restarted api started after the last migration"
    );

    // After a stop, the next start remembers the last success.
    app.zeppelin(&["stop"]).assert().success();
    app.zeppelin(&["run", "-d"])
        .assert()
        .success()
        .stderr(contains("not run: unchanged"));
    assert_eq!(lines(&app, "migrations").len(), 4);
}

#[test]
fn a_failed_migration_on_re_apply_leaves_the_running_subs_alone() {
    let [old_port, new_port] = free_ports::<2>();
    // api (gated by migrate) moves to a new port; cache (not gated) gets a new command.
    let body = |command: &str, port: u16, cache: &str| {
        format!(
            r#"
[sub.db]
run = "exec sleep 600"
[sub.api]
run = "echo start api $VERSION >> events; exec python3 -m http.server $PORT --bind 127.0.0.1"
port = {port}
env = {{ VERSION = "{command}" }}
[sub.cache]
run = "echo start cache {cache} >> events; exec sleep 600"
depends_on = ["db"]
[job.migrate]
run = "{command}"
depends_on = ["db"]
before = ["api"]
"#
        )
    };
    let app = TestApp::new(&body("true", old_port, "v1"));
    app.start();
    let pids = app.pids("api");
    wait_for("api to answer", || get(old_port, "api", "/").ok());
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{}", body("exit 4", new_port, "v2")),
    )
    .unwrap();
    app.zeppelin(&["run", "-d"])
        .assert()
        .failure()
        .stderr(contains(r#"job "migrate" failed: exited with status 4"#))
        .stderr(contains(
            "held back (they keep running their previous version): api",
        ))
        .stderr(contains("replaced db, cache"));
    assert_eq!(app.pids("api"), pids, "api was not rolled");
    assert_eq!(
        get(old_port, "api", "/").unwrap().0,
        200,
        "api still answers on its old port"
    );
    assert!(
        get(new_port, "api", "/").is_err(),
        "nothing on the new port"
    );
    let mut listed: Vec<String> = app.status()["subs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, ["api", "cache", "db"], "ps still lists every sub");
    let mut events = lines(&app, "events");
    events.sort();
    assert_eq!(
        events,
        ["start api true", "start cache v1", "start cache v2"],
        "cache (not gated) was rolled, api was not"
    );
    assert_eq!(job_status(&app, "migrate")["state"], "failed");
}

#[test]
fn a_job_past_its_timeout_is_stopped_with_its_whole_process_group() {
    let app = TestApp::new(
        r#"
[job.slow]
run = "echo $$ > group; sleep 60 & sleep 60"
timeout = "1s"
"#,
    );
    app.zeppelin(&["run-job", "slow"])
        .assert()
        .code(124)
        .stderr(contains("job slow failed: timed out after 1s"));
    let group: i32 = app.read("group").trim().parse().unwrap();
    assert!(!group_alive(group), "nothing of the job's group is left");
}

#[test]
fn run_job_passes_the_exit_status_through_with_the_app_running_or_not() {
    let app = TestApp::new(&format!(
        r#"{API}
[job.report]
run = "echo report for $WHO; exit 7"
env = {{ WHO = "ops" }}

[job.flaky]
run = "if [ -e tried ]; then echo second try; else touch tried; exit 1; fi"
retries = 2
"#
    ));
    // Alone.
    app.zeppelin(&["run-job", "report"])
        .assert()
        .code(7)
        .stdout("report for ops\n");
    app.zeppelin(&["run-job", "flaky"])
        .assert()
        .success()
        .stdout("second try\n")
        .stderr(contains("trying again, attempt 2 of 3"));
    // In the running app's supervisor, which shows the run kept from before.
    app.start();
    let flaky = job_status(&app, "flaky");
    assert_eq!(flaky["state"], "succeeded");
    assert_eq!(flaky["last_run"]["attempts"], 2);
    assert_eq!(job_status(&app, "report")["state"], "failed");
    std::fs::remove_file(app.file("tried")).unwrap();
    app.zeppelin(&["run-job", "flaky"])
        .assert()
        .success()
        .stdout("second try\n")
        .stderr(contains(
            "job flaky failed (exited with status 1); trying again, attempt 2 of 3",
        ));
    app.zeppelin(&["run-job", "report"])
        .assert()
        .code(7)
        .stdout("report for ops\n");
    let report = job_status(&app, "report");
    assert_eq!(report["last_run"]["exit"], 7);
    assert_eq!(report["trigger"], "on_demand");
    app.zeppelin(&["logs", "report"])
        .assert()
        .success()
        .stdout("report | report for ops\nreport | report for ops\n");
    app.zeppelin(&["run-job", "nope"])
        .assert()
        .failure()
        .stderr(contains(r#"no job named "nope" in t"#));
}

#[test]
fn a_job_runs_once_at_a_time_and_stop_ends_its_process_group() {
    let app = TestApp::new(&format!(
        r#"{API}
[job.hold]
run = "echo $$ > group; sleep 60 & echo started; sleep 60"
"#
    ));
    app.start();
    let mut first = app.spawn(&["run-job", "hold"]);
    wait_for("the job to start", || {
        (!app.read("group").is_empty()).then_some(())
    });
    let group: i32 = app.read("group").trim().parse().unwrap();
    assert_eq!(job_status(&app, "hold")["state"], "running");
    app.zeppelin(&["run-job", "hold"])
        .assert()
        .failure()
        .stderr(contains(r#"job "hold" is already running"#));
    app.zeppelin(&["stop"]).assert().success();
    assert!(!group_alive(group), "stop killed the job's whole group");
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(1), "the stopped run failed");
    let mut out = String::new();
    first
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "started\n", "the output streamed back");
}

#[test]
fn a_job_added_by_run_d_shows_its_last_run_from_before() {
    let with_job = format!("{API}\n[job.report]\nrun = \"exit 5\"\n");
    let app = TestApp::new(&with_job);
    app.zeppelin(&["run-job", "report"]).assert().code(5);
    std::fs::write(app.file("zeppelin.toml"), format!("name = \"t\"\n{API}")).unwrap();
    app.start();
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{with_job}"),
    )
    .unwrap();
    app.zeppelin(&["run", "-d"]).assert().success();
    let report = job_status(&app, "report");
    assert_eq!(report["state"], "failed", "{report}");
    assert_eq!(report["last_run"]["exit"], 5, "{report}");
}

#[test]
fn a_job_without_run_says_at_the_start_that_it_cannot_run_locally() {
    let app = TestApp::new(&format!(
        r#"{API}
[job.nightly]
image = "reports:1"
schedule = "* * * * *"
"#
    ));
    app.zeppelin(&["run", "-d"])
        .env("ZEPPELIN_TEST_CLOCK_SPEED", "60")
        .assert()
        .success()
        .stderr(contains(
            r#"job "nightly" has no `run` command, so it cannot run locally; add job.nightly.run"#,
        ));
    let nightly = job_status(&app, "nightly");
    assert_eq!(nightly["state"], "no_command", "{nightly}");
    assert!(nightly.get("next_run").is_none(), "{nightly}");
    app.zeppelin(&["ps"])
        .assert()
        .success()
        .stdout(contains("no local command"));
    app.zeppelin(&["run-job", "nightly"])
        .assert()
        .failure()
        .stderr(contains(r#"job "nightly" has no `run` command"#));
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{API}\n[job.migrate]\nimage = \"m:1\"\nbefore = [\"api\"]\n"),
    )
    .unwrap();
    app.zeppelin(&["run", "-d"])
        .assert()
        .failure()
        .stderr(contains(r#"job "migrate" has no `run` command"#));
}

#[test]
fn a_scheduled_job_runs_at_its_times_and_an_overlapping_time_is_skipped() {
    let app = TestApp::new(&format!(
        r#"{API}
[job.tick]
run = "echo start >> marks; echo tick >> ticks; sleep 2.5; echo end >> marks"
schedule = "* * * * *"
"#
    ));
    // One minute a second, from just before a minute starts.
    app.zeppelin(&["run", "-d"])
        .env("ZEPPELIN_TEST_CLOCK_SPEED", "60")
        .env("ZEPPELIN_TEST_CLOCK_START", "2026-03-01T10:00:59Z")
        .assert()
        .success();
    let tick = wait_for("a second run after a skipped time", || {
        // The file first: a status read after it knows at least the runs it shows.
        let runs = lines(&app, "ticks").len();
        let tick = job_status(&app, "tick");
        (runs >= 2 && tick["skipped"].as_u64() >= Some(1)).then_some(tick)
    });
    assert_eq!(tick["trigger"], "schedule");
    assert_eq!(tick["schedule"], "* * * * *");
    let marks = lines(&app, "marks");
    for (i, mark) in marks.iter().enumerate() {
        let expected = if i % 2 == 0 { "start" } else { "end" };
        assert_eq!(mark, expected, "runs never overlap: {marks:?}");
    }
    let next: jiff::Timestamp = tick["next_run"].as_str().unwrap().parse().unwrap();
    let started: jiff::Timestamp = tick["last_run"]["started"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(next > started, "{next} after {started}");
    assert!(
        started >= "2026-03-01T10:02:00Z".parse().unwrap(),
        "runs are timed on the test clock: {started}"
    );
    app.zeppelin(&["ps"])
        .assert()
        .success()
        .stdout(contains("schedule * * * * *"));
}

#[test]
fn due_times_that_pass_while_the_app_starts_get_one_run_and_the_rest_are_counted() {
    let app = TestApp::new(&format!(
        r#"{API}
[job.migrate]
run = "sleep 2.5"
before = ["api"]
[job.tick]
run = "echo tick >> ticks"
schedule = "* * * * *"
"#
    ));
    // One minute a second: the migration alone takes past three due times.
    app.zeppelin(&["run", "-d"])
        .env("ZEPPELIN_TEST_CLOCK_SPEED", "60")
        .env("ZEPPELIN_TEST_CLOCK_START", "2026-03-01T10:00:59Z")
        .assert()
        .success();
    let tick = wait_for("the first run", || {
        let tick = job_status(&app, "tick");
        (!tick["last_run"].is_null()).then_some(tick)
    });
    // 10:01, 10:02 and 10:03 passed during the migration: one ran, two or more were skipped
    // (counted before the run started, so its status shows them).
    assert!(
        tick["skipped"].as_u64() >= Some(2),
        "the due times while the app started are counted: {tick}"
    );
}

#[test]
fn ctrl_c_of_a_foreground_run_stops_a_migration_in_progress_and_what_it_gates_never_starts() {
    let app = TestApp::new(&format!(
        r#"{API}
[job.migrate]
run = "echo migrating; echo $$ > group; sleep 60 & sleep 60"
before = ["api"]
"#
    ));
    let mut run = app.spawn(&["run"]);
    wait_for("the migration to start", || {
        (!app.read("group").is_empty()).then_some(())
    });
    let group: i32 = app.read("group").trim().parse().unwrap();
    harness::app::send_signal(
        i32::try_from(run.id()).unwrap(),
        nix::sys::signal::Signal::SIGINT,
    );
    run.wait().unwrap();
    let mut out = String::new();
    run.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert_eq!(out, "migrate | migrating\n", "streamed like a sub's output");
    assert!(!group_alive(group), "the job's whole group was stopped");
    assert_eq!(app.read("events"), "", "api never started");
}
