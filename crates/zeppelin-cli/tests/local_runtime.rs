//! End-to-end tests of the local runtime: the real `zeppelin` binary runs small apps made in
//! temporary folders, with real processes and sockets. Every wait is bounded.

mod harness;

use std::path::Path;

use assert_cmd::Command;
use harness::app::{TestApp, WAIT, alive, free_port, send_signal, wait_for};
use harness::snapshot;
use harness::sub::{Sub, subs};
use nix::sys::signal::Signal;

/// A shell loop that records its start and its stop (on SIGTERM) in `events`.
fn recorder(name: &str) -> String {
    format!(
        "echo start {name} >> events; trap 'echo stop {name} >> events; exit 0' TERM; while :; do sleep 0.05; done"
    )
}

#[test]
fn subs_start_in_dependency_order_and_stop_in_reverse() {
    let app = TestApp::new(&subs(&[
        Sub::new("c", &recorder("c")).depends_on(&["b"]),
        Sub::new("b", &recorder("b")).depends_on(&["a"]),
        Sub::new("a", &recorder("a")),
    ]));
    app.start();
    assert_eq!(app.read("events"), "start a\nstart b\nstart c\n");
    let socket = std::fs::metadata(app.file(".zeppelin/control.sock")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&socket.permissions()) & 0o777,
        0o600,
        "only the user may talk to the supervisor"
    );
    app.zeppelin(&["stop"]).assert().success();
    assert_eq!(
        app.read("events"),
        "start a\nstart b\nstart c\nstop c\nstop b\nstop a\n"
    );
    app.zeppelin(&["ps"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("not running"));
}

#[test]
fn a_sub_waits_until_its_dependency_is_healthy() {
    let app = TestApp::new(
        r#"
[sub.db]
run = "sleep 1; touch db.ready; exec sleep 600"
health = { exec = "test -f db.ready", interval = "100ms" }
[sub.app]
run = "if test -f db.ready; then echo yes > saw-db; else echo no > saw-db; fi; exec sleep 600"
depends_on = ["db"]
"#,
    );
    app.start();
    assert_eq!(app.read("saw-db"), "yes\n");
    app.wait_healthy("app", 1);
}

#[test]
fn env_has_conf_dotenv_sub_env_port_replica_addr_and_secret_files() {
    let port = free_port();
    let app = TestApp::new(&format!(
        r#"
[conf]
A = "conf"
B = "conf"
[secrets]
TOKEN = {{ env = "ZEPPELIN_TEST_TOKEN" }}
{api}[sub.env]
run = "env > env.$ZEPPELIN_REPLICA; exec sleep 600"
replicas = 2
env = {{ B = "sub" }}
"#,
        api = Sub::sleeper("api").port(port),
    ));
    std::fs::write(app.file(".env"), "C=dotenv\n").unwrap();
    app.zeppelin(&["run", "-d"])
        .env("ZEPPELIN_TEST_TOKEN", "s3cret")
        .assert()
        .success();
    let env = app.read("env.1");
    for line in [
        "A=conf",
        "B=sub",
        "C=dotenv",
        "ZEPPELIN_REPLICA=1",
        &format!("API_ADDR=127.0.0.1:{port}"),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
    }
    assert!(
        !env.contains("s3cret"),
        "the secret leaked into the environment"
    );
    let file = env
        .lines()
        .find_map(|l| l.strip_prefix("TOKEN_FILE="))
        .expect("TOKEN_FILE");
    assert_eq!(std::fs::read_to_string(file).unwrap(), "s3cret");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let port_of = |f: &str| {
        app.read(f)
            .lines()
            .find(|l| l.starts_with("PORT="))
            .map(str::to_owned)
    };
    assert!(port_of("env.0").is_some());
    assert_ne!(
        port_of("env.0"),
        port_of("env.1"),
        "each replica gets its own PORT"
    );
}

#[test]
fn an_unresolvable_secret_stops_the_start_before_any_process_runs() {
    let app = TestApp::new(
        r#"
[secrets]
TOKEN = { env = "ZEPPELIN_TEST_UNSET_VARIABLE" }
[sub.a]
run = "touch ran; exec sleep 600"
"#,
    );
    app.zeppelin(&["run", "-d"])
        .env_remove("ZEPPELIN_TEST_UNSET_VARIABLE")
        .assert()
        .failure()
        .stderr(predicates::str::contains("ZEPPELIN_TEST_UNSET_VARIABLE"));
    assert!(!app.file("ran").exists());
    app.zeppelin(&["ps"]).assert().failure();
}

#[test]
fn a_health_check_that_never_passes_fails_the_start_naming_the_sub() {
    let app = TestApp::new(&subs(&[
        Sub::sleeper("ok"),
        Sub::new("bad", "echo about to be unhealthy; exec sleep 600")
            .depends_on(&["ok"])
            .health(r#"{ exec = "exit 1", interval = "100ms" }"#),
    ]));
    let out = app
        .zeppelin(&["run", "-d", "--timeout", "2s"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("\"bad\""), "{stderr}");
    assert!(
        stderr.contains("about to be unhealthy"),
        "the last log lines are shown: {stderr}"
    );
    app.zeppelin(&["ps"]).assert().failure();
}

#[test]
fn a_command_that_is_not_found_fails_the_start_naming_the_sub() {
    let app = TestApp::new(&subs(&[Sub::new("typo", "no-such-command-zeppelin-test")]));
    let out = app.zeppelin(&["run", "-d"]).assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("\"typo\"") && stderr.contains("127"),
        "{stderr}"
    );
    assert!(stderr.contains("not found"), "{stderr}");
}

#[test]
fn a_port_in_use_is_refused_before_anything_starts() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let app = TestApp::new(&subs(&[
        Sub::new("web", "touch ran; exec sleep 600").port(port)
    ]));
    app.zeppelin(&["run", "-d"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(format!("port {port}")));
    assert!(!app.file("ran").exists());
}

#[test]
fn a_crashing_replica_is_restarted_with_backoff_and_shown_crash_looping() {
    let app = TestApp::new(&subs(&[Sub::new("crash", "sleep 0.7; exit 3")]));
    app.start();
    let replica = wait_for("crash-looping", || {
        let replica = app.replicas("crash").remove(0);
        replica["reason"]
            .as_str()
            .is_some_and(|r| r.contains("crash-looping"))
            .then_some(replica)
    });
    assert_eq!(replica["last_exit"], 3);
    assert!(replica["restarts"].as_u64().unwrap() >= 2, "{replica}");
    app.zeppelin(&["ps"])
        .assert()
        .success()
        .stdout(predicates::str::contains("crash-looping"));
}

#[test]
fn on_failure_does_not_restart_a_successful_exit() {
    let app = TestApp::new(&subs(&[
        Sub::new("job", "sleep 0.7; echo done").restart("on-failure")
    ]));
    app.start();
    let replica = wait_for("the job to exit", || {
        let replica = app.replicas("job").remove(0);
        (replica["state"] == "exited").then_some(replica)
    });
    assert_eq!(replica["last_exit"], 0);
    assert_eq!(replica["restarts"], 0);
}

#[test]
fn a_replica_killed_with_sigkill_is_restarted() {
    let port = free_port();
    let app = TestApp::new(&subs(&[
        Sub::http_server("web", port).health(r#"{ http = "/", interval = "200ms" }"#)
    ]));
    app.start();
    let before = app.pids("web")[0];
    send_signal(before, Signal::SIGKILL);
    let replica = wait_for("a new healthy replica", || {
        let replica = app.replicas("web").remove(0);
        (replica["state"] == "healthy" && replica["pid"].as_i64() != Some(i64::from(before)))
            .then_some(replica)
    });
    assert_eq!(replica["restarts"], 1);
    assert_eq!(replica["last_exit"], 137);
}

#[test]
fn stopping_kills_grandchildren_even_those_that_left_the_group() {
    let app = TestApp::new(&subs(&[Sub::new(
        "parent",
        "sleep 600 & echo $! > child.pid; setsid sleep 600 & echo $! > escaped.pid; exec sleep 600",
    )]));
    app.start();
    let read_pid = |f: &str| wait_for(f, || app.read(f).trim().parse::<i32>().ok());
    let (child, escaped) = (read_pid("child.pid"), read_pid("escaped.pid"));
    assert!(alive(child) && alive(escaped));
    app.zeppelin(&["stop"]).assert().success();
    wait_for("the grandchildren to die", || {
        (!alive(child) && !alive(escaped)).then_some(())
    });
}

#[test]
fn killing_the_supervisor_leaves_no_process_of_the_app() {
    let app = TestApp::new(&subs(&[Sub::new(
        "a",
        "sleep 600 & echo $! > child.pid; exec sleep 600",
    )
    .replicas(2)]));
    app.start();
    let replicas = app.pids("a");
    let child = wait_for("child.pid", || {
        app.read("child.pid").trim().parse::<i32>().ok()
    });
    let supervisor: i32 = app.read(".zeppelin/supervisor.pid").trim().parse().unwrap();
    send_signal(supervisor, Signal::SIGKILL);
    // The replicas die with the supervisor (their parent-death signal).
    wait_for("the replicas to die", || {
        replicas.iter().all(|&p| !alive(p)).then_some(())
    });
    // What they started is found again through the recorded groups by the next command.
    app.zeppelin(&["stop"])
        .assert()
        .success()
        .stderr(predicates::str::contains("leftover"));
    wait_for("the grandchild to die", || (!alive(child)).then_some(()));
    // And the app can run again.
    app.start();
    app.wait_healthy("a", 2);
}

#[test]
fn a_second_supervisor_is_refused_and_a_stale_one_is_cleaned() {
    let app = TestApp::new(&subs(&[Sub::sleeper("a")]));
    app.start();
    app.zeppelin(&["run"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("already running"));
    let supervisor: i32 = app.read(".zeppelin/supervisor.pid").trim().parse().unwrap();
    send_signal(supervisor, Signal::SIGKILL);
    wait_for("the supervisor to die", || {
        (!alive(supervisor)).then_some(())
    });
    // The socket file is still there, but nobody answers: `run` cleans it and starts.
    app.start();
    app.wait_healthy("a", 1);
}

#[test]
fn a_flood_of_a_million_lines_is_captured_completely_and_in_order() {
    let app = TestApp::new(
        r#"
[sub.flood]
run = "python3 -c \"import sys; sys.stdout.writelines(f'{i}\\n' for i in range(1000000)); sys.stdout.write('last line without newline')\""
replicas = 2
restart = "never"

[logs]
max_size = "1Gi"
"#,
    );
    app.start();
    let log = wait_for("two million lines", || {
        let log = app.read("log/flood.log");
        (log.lines().count() >= 2_000_002).then_some(log)
    });
    for replica in 0..2 {
        let prefix = format!(" flood.{replica} out ");
        let texts: Vec<&str> = log
            .lines()
            .filter_map(|l| l.split_once(&prefix).map(|(_, text)| text))
            .collect();
        assert_eq!(texts.len(), 1_000_001, "replica {replica}");
        assert!(
            texts[..1_000_000]
                .iter()
                .enumerate()
                .all(|(i, t)| t.parse() == Ok(i)),
            "replica {replica} in order"
        );
        assert_eq!(texts[1_000_000], "last line without newline");
    }
}

#[test]
fn logs_rotate_by_size_and_keep_the_configured_number_of_files() {
    let app = TestApp::new(
        r#"
[sub.chatty]
run = "i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done; echo finished"
restart = "never"

[logs]
max_size = "16Ki"
keep = 2
"#,
    );
    app.start();
    wait_for("the last line", || {
        app.read("log/chatty.log")
            .contains(" finished")
            .then_some(())
    });
    assert!(app.file("log/chatty.log.1").exists() && app.file("log/chatty.log.2").exists());
    assert!(!app.file("log/chatty.log.3").exists());
    for file in ["log/chatty.log", "log/chatty.log.1", "log/chatty.log.2"] {
        assert!(
            std::fs::metadata(app.file(file)).unwrap().len() <= 16 * 1024,
            "{file}"
        );
    }
    let out = app
        .zeppelin(&["logs", "chatty", "--tail", "2"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(stdout, "chatty.0 | line 2999\nchatty.0 | finished\n");
}

#[test]
fn ps_reports_json_and_scale_changes_replica_counts() {
    let port = free_port();
    let app = TestApp::new(&subs(&[
        Sub::http_server("web", port).health(r#"{ tcp = true, interval = "200ms" }"#)
    ]));
    app.start();
    let status = app.status();
    assert_eq!(status["app"], "t");
    assert_eq!(status["runtime"], "local");
    assert_eq!(status["subs"][0]["replicas"][0]["name"], "web.0");
    app.zeppelin(&["scale", "web=3"]).assert().success();
    let replicas = app.wait_healthy("web", 3);
    let ports: std::collections::BTreeSet<_> =
        replicas.iter().map(|r| r["port"].as_u64()).collect();
    assert_eq!(ports.len(), 3);
    app.zeppelin(&["scale", "web=1"]).assert().success();
    app.wait_healthy("web", 1);
    app.zeppelin(&["scale", "nope=1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("nope"));
}

#[test]
fn restart_replaces_every_replica_one_at_a_time() {
    let port = free_port();
    let app = TestApp::new(&subs(&[Sub::new(
        "web",
        "echo started >> starts; exec python3 -m http.server $PORT --bind 127.0.0.1",
    )
    .replicas(2)
    .port(port)
    .health(r#"{ http = "/", interval = "200ms" }"#)]));
    app.start();
    let before = app.pids("web");
    app.zeppelin(&["restart", "web"]).assert().success();
    let after: Vec<i32> = app
        .wait_healthy("web", 2)
        .iter()
        .map(|r| i32::try_from(r["pid"].as_i64().unwrap()).unwrap())
        .collect();
    assert!(
        before.iter().all(|p| !after.contains(p)),
        "{before:?} {after:?}"
    );
    assert_eq!(app.read("starts").lines().count(), 4);
}

#[test]
fn running_again_applies_only_what_changed() {
    let body = |greeting: &str| {
        subs(&[
            Sub::sleeper("same"),
            Sub::sleeper("changed").field("env", format!("{{ GREETING = \"{greeting}\" }}")),
        ])
    };
    let app = TestApp::new(&body("hello"));
    app.start();
    let (same, changed) = (app.pids("same"), app.pids("changed"));
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{}", body("bonjour")),
    )
    .unwrap();
    app.zeppelin(&["run", "-d"])
        .assert()
        .success()
        .stderr(predicates::str::contains("replaced changed"));
    assert_eq!(app.pids("same"), same);
    let now = app.wait_healthy("changed", 1);
    assert_ne!(
        now[0]["pid"].as_i64().map(|p| i32::try_from(p).unwrap()),
        Some(changed[0])
    );
}

#[test]
fn stopping_one_sub_leaves_the_others_running() {
    let app = TestApp::new(&subs(&[Sub::sleeper("a"), Sub::sleeper("b")]));
    app.start();
    let b = app.pids("b")[0];
    app.zeppelin(&["stop", "b"]).assert().success();
    assert!(!alive(b));
    assert_eq!(app.replicas("b")[0]["state"], "stopped");
    assert_eq!(app.replicas("a")[0]["state"], "healthy");
    app.zeppelin(&["restart", "b"]).assert().success();
    app.wait_healthy("b", 1);
}

#[test]
fn running_again_starts_a_sub_that_was_stopped() {
    let app = TestApp::new(&subs(&[Sub::sleeper("a"), Sub::sleeper("b")]));
    app.start();
    let a = app.pids("a")[0];
    app.zeppelin(&["stop", "b"]).assert().success();
    assert_eq!(app.replicas("b")[0]["state"], "stopped");
    app.zeppelin(&["run", "-d"])
        .assert()
        .success()
        .stderr(predicates::str::contains("started b"));
    app.wait_healthy("b", 1);
    assert_eq!(app.pids("a"), [a], "the running sub is left alone");
}

#[test]
fn a_process_ignoring_sigterm_is_killed_after_its_stop_timeout() {
    let app = TestApp::new(&subs(&[Sub::new(
        "stubborn",
        "trap '' TERM; while :; do sleep 0.05; done",
    )
    .text("stop_timeout", "1s")]));
    app.start();
    let pid = app.pids("stubborn")[0];
    app.zeppelin(&["stop"])
        .assert()
        .success()
        .stderr(predicates::str::contains("killed"));
    assert!(!alive(pid));
}

#[test]
fn deep_app_folders_get_a_short_socket_and_commands_work_from_subfolders() {
    let root = tempfile::tempdir().unwrap();
    let deep = root.path().join("a-rather-long-folder-name/".repeat(6));
    std::fs::create_dir_all(deep.join("src/inner")).unwrap();
    std::fs::write(
        deep.join("zeppelin.toml"),
        format!("name = \"deep\"\n{}", Sub::sleeper("a")),
    )
    .unwrap();
    let zeppelin = |dir: &Path, args: &[&str]| {
        let mut cmd = Command::cargo_bin("zeppelin").unwrap();
        cmd.current_dir(dir).args(args).timeout(WAIT);
        cmd
    };
    zeppelin(&deep, &["run", "-d"]).assert().success();
    zeppelin(&deep.join("src/inner"), &["ps"])
        .assert()
        .success()
        .stdout(predicates::str::contains("a.0"));
    zeppelin(&deep.join("src"), &["stop"]).assert().success();
}

#[test]
fn a_replica_that_turns_unhealthy_is_restarted() {
    let app = TestApp::new(&subs(&[Sub::new(
        "flaky",
        "touch healthy.$ZEPPELIN_REPLICA; exec sleep 600",
    )
    .health(
        r#"{ exec = "test -f healthy.$ZEPPELIN_REPLICA", interval = "100ms", retries = 2 }"#,
    )]));
    app.start();
    let before = app.pids("flaky")[0];
    std::fs::remove_file(app.file("healthy.0")).unwrap();
    let replica = wait_for("a restarted, healthy replica", || {
        let replica = app.replicas("flaky").remove(0);
        (replica["state"] == "healthy" && replica["pid"].as_i64() != Some(i64::from(before)))
            .then_some(replica)
    });
    assert_eq!(replica["restarts"], 1);
    assert!(!alive(before));
}

#[test]
fn foreground_run_prefixes_output_and_stops_cleanly_on_sigterm() {
    let app = TestApp::new(&subs(&[Sub::new(
        "hello",
        "echo hello from $ZEPPELIN_REPLICA; echo to stderr >&2; exec sleep 600",
    )
    .replicas(2)]));
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut run = std::process::Command::new(assert_cmd::cargo::cargo_bin("zeppelin"))
        .arg("run")
        .current_dir(app.path())
        .env("NO_COLOR", "1")
        .stdout(out.reopen().unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    app.wait_healthy("hello", 2);
    let pids = app.pids("hello");
    wait_for("both replicas' output", || {
        let text = std::fs::read_to_string(out.path()).unwrap();
        (text.contains("hello.0 | hello from 0") && text.contains("hello.1 | hello from 1"))
            .then_some(())
    });
    let text = std::fs::read_to_string(out.path()).unwrap();
    assert!(text.contains("hello.0 ! to stderr"), "{text}");
    send_signal(i32::try_from(run.id()).unwrap(), Signal::SIGTERM);
    let status = wait_for("zeppelin run to exit", || run.try_wait().unwrap());
    assert!(status.success(), "{status}");
    assert!(pids.iter().all(|&p| !alive(p)));
}

#[test]
fn logs_follow_prints_new_lines_and_filters_by_replica() {
    let app = TestApp::new(&subs(&[Sub::new(
        "tick",
        "i=0; while :; do echo tick $ZEPPELIN_REPLICA $i; i=$((i+1)); sleep 0.05; done",
    )
    .replicas(2)]));
    app.start();
    let mut follow = app.spawn(&["logs", "-f", "--tail", "0", "--replica", "1"]);
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let _ = tx.send(lines.next());
    });
    let line = rx.recv_timeout(WAIT);
    let _ = follow.kill();
    let _ = follow.wait();
    let line = line.expect("a followed line in time").unwrap().unwrap();
    assert!(line.starts_with("tick.1 | tick 1 "), "{line}");
    let out = app
        .zeppelin(&["logs", "--since", "1h", "--replica", "0", "--tail", "3"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(
        stdout.lines().all(|l| l.starts_with("tick.0 | tick 0 ")),
        "{stdout}"
    );
}

#[test]
fn long_lines_and_bytes_that_are_not_utf8_are_kept() {
    let app = TestApp::new(
        r#"
[sub.odd]
run = "python3 -c \"import sys; sys.stdout.buffer.write(b'x' * 200000 + b'\\n' + b'caf\\xe9 \\xff\\n')\""
restart = "never"
"#,
    );
    app.start();
    let log = wait_for("both lines", || {
        let log = std::fs::read(app.file("log/odd.log")).unwrap_or_default();
        (log.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count() >= 2).then_some(log)
    });
    let lines: Vec<&[u8]> = log
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert!(
        lines[0].ends_with(&vec![b'x'; 200_000]),
        "the long line is whole"
    );
    assert!(lines[1].ends_with(b" odd.0 out caf\xe9 \xff"));
}

#[test]
fn logs_follow_continues_across_rotation() {
    let app = TestApp::new(
        r#"
[sub.slow]
run = "i=0; while :; do echo n $i; i=$((i+1)); sleep 0.01; done"

[logs]
max_size = "2Ki"
keep = 1
"#,
    );
    app.start();
    let mut follow = app.spawn(&["logs", "-f", "--tail", "0"]);
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let numbers: Vec<u64> = lines
            .map_while(Result::ok)
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .take(300)
            .collect();
        let _ = tx.send(numbers);
    });
    let numbers = rx.recv_timeout(WAIT).expect("300 followed lines in time");
    let _ = follow.kill();
    let _ = follow.wait();
    // 300 lines of ~45 bytes span several 2 KiB files; none is missed or repeated.
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
}

#[test]
fn running_again_replaces_subs_when_a_secret_value_changed() {
    let app = TestApp::new(
        r#"
[secrets]
TOKEN = { file = "token.txt" }
[sub.a]
run = "cat $TOKEN_FILE > seen; exec sleep 600"
"#,
    );
    std::fs::write(app.file("token.txt"), "one").unwrap();
    app.start();
    assert_eq!(app.read("seen"), "one");
    app.zeppelin(&["run", "-d"])
        .assert()
        .success()
        .stderr(predicates::str::contains("unchanged a"));
    std::fs::write(app.file("token.txt"), "two").unwrap();
    app.zeppelin(&["run", "-d"])
        .assert()
        .success()
        .stderr(predicates::str::contains("replaced a"));
    wait_for("the new value", || {
        (app.read("seen") == "two").then_some(())
    });
}

/// What a user sees from `run -d`, `ps` (table and JSON), `run -d` again and `stop` on the
/// sample app: exit code, stdout and stderr of each, with ports, pids and times filtered.
#[test]
fn run_ps_and_stop_of_the_sample_app_print_what_a_user_sees() {
    let (app, _, _) = TestApp::sample("shop");
    let gateway = free_port().to_string();
    let settings = snapshot::settings(&[app.path()]);
    let zeppelin = |args: &[&str]| app.zeppelin(args).output().unwrap();
    crate::zeppelin_snapshot!(
        "sample_run_detached",
        settings,
        zeppelin(&["run", "-d", "--gateway-port", &gateway])
    );
    for (sub, replicas) in [("api", 2), ("web", 2), ("worker", 1)] {
        app.wait_healthy(sub, replicas);
    }
    crate::zeppelin_snapshot!("sample_ps", settings, zeppelin(&["ps"]));
    crate::zeppelin_snapshot!(
        "sample_ps_json",
        settings,
        zeppelin(&["ps", "--format", "json"])
    );
    crate::zeppelin_snapshot!(
        "sample_run_again",
        settings,
        zeppelin(&["run", "-d", "--gateway-port", &gateway])
    );
    crate::zeppelin_snapshot!("sample_stop", settings, zeppelin(&["stop"]));
}
