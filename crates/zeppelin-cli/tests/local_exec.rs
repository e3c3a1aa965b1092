//! End-to-end tests of `zeppelin exec SUB -- CMD...`: the real binary runs a one-off command
//! with the environment of a sub (or a job) of a small app in a temporary folder, whether
//! or not the app runs. Every wait is bounded.

mod harness;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;

use harness::app::{TestApp, free_ports, send_signal, wait_for};
use harness::code;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// An app with conf, `.env`, a sub overriding the conf, two subs with ports, a job, a secret
/// from an environment variable (hidden) and one from a file (also exposed as a variable).
fn app() -> (TestApp, u16, u16) {
    let [api, web] = free_ports::<2>();
    let app = TestApp::new(&format!(
        r#"
[conf]
LEVEL = "info"
REGION = "conf"

[secrets]
TOKEN = {{ env = "EXEC_TEST_TOKEN" }}
PASSWORD = {{ file = "password.txt", expose_env = true }}

[sub.api]
run = "exec sleep 600"
port = {api}
env = {{ REGION = "api" }}

[sub.web]
run = "exec sleep 600"
port = {web}
depends_on = ["api"]

[job.migrate]
run = "true"
depends_on = ["api"]
before = ["web"]
env = {{ REGION = "migrate" }}
"#
    ));
    std::fs::write(app.file("password.txt"), "hunter2").unwrap();
    std::fs::write(app.file(".env"), "FROM_DOTENV=yes\n").unwrap();
    (app, api, web)
}

/// `zeppelin exec ARGS` in the app, with the secret's variable set to `token`.
fn exec(app: &TestApp, token: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["exec"];
    all.extend_from_slice(args);
    app.zeppelin(&all)
        .env("EXEC_TEST_TOKEN", token)
        .output()
        .unwrap()
}

/// The variables a command saw, from `env -0` on its stdout.
fn vars(stdout: &[u8]) -> BTreeMap<String, String> {
    stdout
        .split(|b| *b == 0)
        .filter_map(|pair| {
            String::from_utf8_lossy(pair)
                .split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

#[test]
fn a_command_sees_what_a_replica_of_the_sub_sees() {
    let (app, api, web) = app();
    let out = exec(&app, "s3cret", &["api", "--", "env", "-0"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let seen = vars(&out.stdout);
    assert_eq!(seen["LEVEL"], "info", "conf");
    assert_eq!(seen["REGION"], "api", "the sub's env over the conf");
    assert_eq!(seen["FROM_DOTENV"], "yes", ".env");
    assert_eq!(seen["API_ADDR"], format!("127.0.0.1:{api}"));
    assert_eq!(seen["WEB_ADDR"], format!("127.0.0.1:{web}"));
    assert!(seen["PORT"].parse::<u16>().is_ok(), "a port of its own");
    assert_eq!(seen["PASSWORD"], "hunter2", "exposed with expose_env");
    assert!(
        !seen.contains_key("TOKEN"),
        "a secret is a file unless exposed"
    );
    assert!(
        !seen.contains_key("EXEC_TEST_TOKEN"),
        "the variable a secret is read from is not passed on"
    );
    assert!(!seen.contains_key("ZEPPELIN_REPLICA"), "not a replica");
    assert!(
        seen["TOKEN_FILE"].contains("/.zeppelin/exec/"),
        "{}",
        seen["TOKEN_FILE"]
    );
    assert_eq!(
        Path::new(&seen["PWD"]).canonicalize().unwrap(),
        app.path().canonicalize().unwrap(),
        "runs in the app folder"
    );
}

#[test]
fn secret_files_are_readable_during_the_command_and_removed_after() {
    let (app, _, _) = app();
    let out = exec(
        &app,
        "s3cret",
        &[
            "api",
            "--",
            "sh",
            "-c",
            r#"echo "$TOKEN_FILE" > where; stat -c %a "$(dirname "$TOKEN_FILE")" "$TOKEN_FILE"; cat "$TOKEN_FILE" "$PASSWORD_FILE""#,
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "700\n600\ns3crethunter2"
    );
    let file = app.read("where");
    let file = Path::new(file.trim());
    assert!(!file.exists(), "{} is left behind", file.display());
    assert!(
        !file.parent().unwrap().exists(),
        "its folder is left behind"
    );
    assert!(
        !app.file(".zeppelin/secrets").exists(),
        "nothing written for the app"
    );
}

#[test]
fn a_job_name_gives_the_jobs_environment() {
    let (app, api, _) = app();
    let out = exec(&app, "s3cret", &["migrate", "--", "env", "-0"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let seen = vars(&out.stdout);
    assert_eq!(seen["REGION"], "migrate");
    assert!(!seen.contains_key("PORT"), "a job's runs get no port");
    assert_eq!(seen["API_ADDR"], format!("127.0.0.1:{api}"));
    assert!(seen.contains_key("TOKEN_FILE"));
}

#[test]
fn the_exit_status_is_the_commands() {
    let (app, _, _) = app();
    for (command, expected) in [
        ("exit 0", 0),
        ("exit 3", 3),
        ("kill -KILL $$", 128 + 9),
        ("kill -TERM $$", 128 + 15),
    ] {
        let out = exec(&app, "x", &["api", "--", "sh", "-c", command]);
        assert_eq!(code(&out), expected, "{command}");
    }
    let out = exec(&app, "x", &["api", "--", "no-such-program-here"]);
    assert_eq!(code(&out), 127);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot run \"no-such-program-here\" as api of t"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn stdin_reaches_the_command() {
    let (app, _, _) = app();
    let out = app
        .zeppelin(&["exec", "api", "--", "tr", "a-z", "A-Z"])
        .env("EXEC_TEST_TOKEN", "x")
        .write_stdin("hello\n")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HELLO\n");
}

#[test]
fn an_unknown_name_lists_the_subs_and_the_jobs() {
    let (app, _, _) = app();
    let out = exec(&app, "x", &["nope", "--", "true"]);
    assert_eq!(code(&out), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "no sub or job named \"nope\" in t; the subs are: api, web; the jobs are: migrate"
        ),
        "{stderr}"
    );
    assert!(!app.file(".zeppelin").exists(), "nothing was written");
}

#[test]
fn a_command_is_required_after_the_separator() {
    let (app, _, _) = app();
    for args in [&["api"][..], &["api", "--"]] {
        let out = exec(&app, "x", args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("<CMD>..."));
    }
}

/// Starts `exec` of a command that waits, in a process group of its own (as a shell's job
/// is), and returns it with the path of its token file once the command runs.
fn waiting_exec(app: &TestApp) -> (std::process::Child, String) {
    let _ = std::fs::remove_file(app.file("where"));
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("zeppelin"))
        .args(["exec", "api", "--", "sh", "-c"])
        .arg(r#"echo "$TOKEN_FILE" > where.tmp && mv where.tmp where && exec sleep 600"#)
        .current_dir(app.path())
        .env("EXEC_TEST_TOKEN", "s3cret")
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let file = wait_for("the command to start", || {
        let where_ = app.read("where");
        (!where_.is_empty()).then(|| where_.trim().to_owned())
    });
    assert!(Path::new(&file).exists());
    (child, file)
}

#[test]
fn ctrl_c_ends_the_command_and_still_removes_the_secret_files() {
    let (app, _, _) = app();
    let (mut child, file) = waiting_exec(&app);
    // As a terminal does on Ctrl-C: SIGINT to the whole foreground process group.
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap());
    killpg(group, Signal::SIGINT).unwrap();
    let status = wait_for("zeppelin exec to end", || child.try_wait().unwrap());
    assert_eq!(status.code(), Some(128 + 2), "{status:?}");
    assert!(!Path::new(&file).exists(), "{file} is left behind");
}

#[test]
fn a_signal_to_zeppelin_alone_is_passed_on_to_the_command() {
    let (app, _, _) = app();
    let (mut child, file) = waiting_exec(&app);
    send_signal(i32::try_from(child.id()).unwrap(), Signal::SIGTERM);
    let status = wait_for("zeppelin exec to end", || child.try_wait().unwrap());
    assert_eq!(status.code(), Some(128 + 15), "{status:?}");
    assert!(!Path::new(&file).exists(), "{file} is left behind");
}

#[test]
fn a_running_app_keeps_its_own_secret_files() {
    let (app, _, _) = app();
    app.zeppelin(&["run", "-d"])
        .env("EXEC_TEST_TOKEN", "running")
        .assert()
        .success();
    let out = exec(
        &app,
        "other",
        &["web", "--", "sh", "-c", r#"cat "$TOKEN_FILE""#],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "other");
    assert_eq!(app.read(".zeppelin/secrets/TOKEN"), "running");
}

#[test]
fn the_samples_jobs_run_in_their_environment() {
    let (app, _, _) = TestApp::sample("shop");
    // The migration keeps its schema version in the temporary folder: this test's own.
    let migrate = |app: &TestApp| {
        app.zeppelin(&["exec", "migrate", "--", "python3", "app/migrate.py"])
            .env("TMPDIR", app.path())
            .output()
            .unwrap()
    };
    let first = migrate(&app);
    assert_eq!(
        code(&first),
        0,
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("migration 1:"),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let again = migrate(&app);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to migrate"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );

    app.start();
    let out = app
        .zeppelin(&["exec", "cleanup", "--", "python3", "app/cleanup.py"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("cleanup: "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
