//! End-to-end tests of diagnostics: the `tracing` events of the local runtime reach the
//! background supervisor's log (`.zeppelin/supervisor.log`), timestamped, and `-v` or
//! `ZEPPELIN_LOG` raise the level of what a command and a supervisor print.

mod harness;

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::app::{TestApp, free_ports, wait_for};

const SUPERVISOR_LOG: &str = ".zeppelin/supervisor.log";

/// The soft limit of open files of process `pid`, from `/proc/PID/limits`.
fn open_files_limit(pid: &str) -> String {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a limit of open files");
    line.split_whitespace().nth(3).unwrap().to_owned()
}

/// Sets the soft limit of open files of the running process `pid` (util-linux `prlimit`).
fn set_open_files_limit(pid: &str, soft: &str) {
    let status = Command::new("prlimit")
        .args(["--pid", pid, &format!("--nofile={soft}:")])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success(), "prlimit --pid {pid} --nofile={soft}:");
}

/// The gateway's workers listen on the port the supervisor bound; a worker that then
/// fails to take a connection (here: the supervisor is out of file descriptors, the one
/// failure of a listening socket a test can cause from outside) says so through
/// `tracing`, and the event lands in the supervisor log with its time, level, target and
/// fields. (`gateway worker cannot listen`, the event of a worker that cannot register the
/// bound socket with its event loop, has no cause a test can provoke.)
#[test]
fn a_gateway_that_cannot_take_connections_says_so_in_the_supervisor_log() {
    let [web, gateway] = free_ports::<2>();
    let app = TestApp::new(&format!(
        "[sub.web]\nrun = \"exec python3 echo.py web\"\nport = {web}\nhealth = {{ http = \"/healthz\", interval = \"1s\" }}\n\n[gateway]\nport = {gateway}\n\n[[route]]\nhost = \"shop.test\"\nsub = \"web\"\n"
    ));
    app.zeppelin(&["run", "-d"])
        .env_remove("ZEPPELIN_LOG")
        .assert()
        .success();
    app.wait_healthy("web", 1);
    let pid = app.read(".zeppelin/supervisor.pid").trim().to_owned();
    let limit = open_files_limit(&pid);
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    // No file descriptor left: the connections below wait in the listen queue, and every
    // accept of the gateway's workers fails with "too many open files".
    set_open_files_limit(&pid, &open.to_string());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut clients = Vec::new();
    let log = loop {
        if let Ok(client) = TcpStream::connect(("127.0.0.1", gateway)) {
            clients.push(client);
        }
        let log = app.read(SUPERVISOR_LOG);
        if log.contains("gateway cannot accept a connection") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    set_open_files_limit(&pid, &limit);
    drop(clients);
    let line = log
        .lines()
        .find(|line| line.contains("gateway cannot accept a connection"))
        .unwrap_or_else(|| panic!("the event in the supervisor log:\n{log}"));
    assert!(line.contains(" WARN "), "{line}");
    assert!(line.contains("zeppelin_local::gateway"), "{line}");
    assert!(line.contains("error="), "{line}");
    // `2026-12-02T04:21:00.123456Z  WARN …`: a UTC timestamp first.
    let time = line.split_whitespace().next().unwrap();
    assert!(
        time.len() > 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{line}"
    );
    assert!(!line.contains('\x1b'), "no colours in a log file: {line:?}");
    // With its descriptors back, the supervisor serves again.
    wait_for("the app to answer `ps` again", || app.try_status());
}

#[test]
fn verbose_and_zeppelin_log_raise_the_level() {
    let app = TestApp::new("[sub.idle]\nrun = \"exec sleep 1000\"\n");
    let stderr = |out: std::process::Output| String::from_utf8(out.stderr).unwrap();
    let debug_event = "no supervisor runs the app";

    // `ps` of an app that is not running: its debug event only with `-vv` or ZEPPELIN_LOG.
    let quiet = stderr(
        app.zeppelin(&["ps"])
            .env_remove("ZEPPELIN_LOG")
            .output()
            .unwrap(),
    );
    assert!(quiet.contains("is not running"), "{quiet}");
    assert!(!quiet.contains("DEBUG"), "{quiet}");
    let info = stderr(
        app.zeppelin(&["-v", "ps"])
            .env_remove("ZEPPELIN_LOG")
            .output()
            .unwrap(),
    );
    assert!(!info.contains(debug_event), "-v is info, not debug: {info}");
    for (args, env) in [
        (&["-vv", "ps"][..], None),
        (&["ps", "-vv"][..], None),
        (&["ps"][..], Some("zeppelin=debug")),
    ] {
        let mut cmd = app.zeppelin(args);
        match env {
            Some(filter) => cmd.env("ZEPPELIN_LOG", filter),
            None => cmd.env_remove("ZEPPELIN_LOG"),
        };
        let out = stderr(cmd.output().unwrap());
        let line = out
            .lines()
            .find(|line| line.contains(debug_event))
            .unwrap_or_else(|| panic!("{args:?} {env:?} prints the debug event: {out}"));
        assert!(line.contains("DEBUG"), "{line}");
        assert!(line.contains("zeppelin::supervisor"), "{line}");
        assert!(line.contains("request=Status"), "{line}");
    }

    // An invalid filter is ignored, and said so.
    let invalid = stderr(
        app.zeppelin(&["ps"])
            .env("ZEPPELIN_LOG", "zeppelin=loud")
            .output()
            .unwrap(),
    );
    assert!(
        invalid.contains("ZEPPELIN_LOG is not a valid filter; it is ignored"),
        "{invalid}"
    );

    // A background supervisor started with `-vv` logs its debug events too.
    app.zeppelin(&["-vv", "run", "-d"])
        .env_remove("ZEPPELIN_LOG")
        .assert()
        .success();
    let log = app.read(SUPERVISOR_LOG);
    let line = log
        .lines()
        .find(|line| line.contains("supervisor starting"))
        .unwrap_or_else(|| panic!("the supervisor's debug event in its log:\n{log}"));
    assert!(line.contains("DEBUG zeppelin::commands::run"), "{line}");
}
