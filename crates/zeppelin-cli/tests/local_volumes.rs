//! End-to-end tests of stateful subs in the local runtime: the real `zeppelin` binary runs
//! the stateful server of `fixtures/stateful.py` (which locks its replica's data and exits
//! with a recorded clash when another process holds it), with real processes and folders.
//! Every wait is bounded.

mod harness;

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use assert_cmd::Command;
use harness::app::{
    ANSWER_AT_TERMINAL, STATEFUL_SERVER, TestApp, WAIT, alive, free_port, get, send_signal,
    wait_for,
};
use harness::sub::{Sub, subs};
use nix::sys::signal::Signal;

/// An app with this body and the stateful server beside it.
fn stateful_app(body: &str) -> TestApp {
    let app = TestApp::new(body);
    std::fs::write(app.file("stateful.py"), STATEFUL_SERVER).unwrap();
    app
}

/// An app with only the stateful sub `db` of `replicas` replicas, and the port it serves.
fn db_app(replicas: u32) -> (TestApp, u16) {
    let port = free_port();
    (
        stateful_app(&subs(&[Sub::stateful("db", port, replicas)])),
        port,
    )
}

/// The `data` folder of replica `replica` of `sub`, as the app sees it (`DATA_DIR`).
fn data_dir(app: &TestApp, sub: &str, replica: u32) -> PathBuf {
    app.path()
        .canonicalize()
        .unwrap()
        .join(format!(".zeppelin/volumes/{sub}/{replica}/data"))
}

/// What replica `replica` of `db` recorded of its starts in its data.
fn starts(app: &TestApp, replica: u32) -> String {
    std::fs::read_to_string(data_dir(app, "db", replica).join("starts")).unwrap_or_default()
}

/// The lines of `events` (starts, listens and stops of every replica) from the `from`th on.
fn events_from(app: &TestApp, from: usize) -> Vec<String> {
    app.read("events")
        .lines()
        .skip(from)
        .map(str::to_owned)
        .collect()
}

fn assert_no_clash(app: &TestApp) {
    assert_eq!(
        app.read("clashes"),
        "",
        "two processes worked on one replica's data at once"
    );
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn stateful_replicas_start_in_order_each_with_its_own_private_folder() {
    let port = free_port();
    let app = stateful_app(&subs(&[
        Sub::stateful("db", port, 2).field("env", r#"{ WARMUP = "0.5" }"#)
    ]));
    app.start();
    // Replica 1 started only once replica 0 listened (and so was healthy).
    assert_eq!(
        events_from(&app, 0),
        ["start 0", "listening 0", "start 1", "listening 1"]
    );
    let replicas = app.wait_healthy("db", 2);
    for (index, replica) in replicas.iter().enumerate() {
        let index = u32::try_from(index).unwrap();
        let dir = data_dir(&app, "db", index);
        let own_port = u16::try_from(replica["port"].as_u64().unwrap()).unwrap();
        let (status, body) = get(own_port, "localhost", "/").unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            body,
            format!("replica {index}\ndir {}\nstart -\n", dir.display())
        );
        assert_eq!(replica["volumes"][0]["name"], "data");
        assert_eq!(replica["volumes"][0]["path"], dir.display().to_string());
        assert_eq!(replica["volumes"][0]["bytes"], "start -\n".len());
    }
    for folder in [
        ".zeppelin/volumes",
        ".zeppelin/volumes/db",
        ".zeppelin/volumes/db/0",
        ".zeppelin/volumes/db/0/data",
        ".zeppelin/volumes/db/1/data",
    ] {
        assert_eq!(mode(&app.file(folder)), 0o700, "{folder}");
    }
    let out = app.zeppelin(&["ps"]).output().unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("VOLUMES"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("db.1") && l.ends_with("data 8 B")),
        "{table}"
    );
}

#[test]
fn data_survives_stop_and_run_a_kill_and_a_restart() {
    let (app, _) = db_app(1);
    app.start();
    app.zeppelin(&["stop"]).assert().success();
    assert_eq!(starts(&app, 0), "start -\n", "stop keeps the data");
    app.start();
    assert_eq!(starts(&app, 0), "start -\nstart -\n");

    let before = app.pids("db")[0];
    send_signal(before, Signal::SIGKILL);
    wait_for("a new healthy replica", || {
        let replica = app.replicas("db").remove(0);
        (replica["state"] == "healthy" && replica["pid"].as_i64() != Some(i64::from(before)))
            .then_some(())
    });
    assert_eq!(starts(&app, 0), "start -\nstart -\nstart -\n");

    let out = app.zeppelin(&["restart", "db"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("db is stateful")
            && stderr(&out).contains("with one replica it was unavailable meanwhile"),
        "{}",
        stderr(&out)
    );
    assert_eq!(starts(&app, 0), "start -\nstart -\nstart -\nstart -\n");
    assert_no_clash(&app);
}

#[test]
fn a_changed_stateful_sub_is_rolled_highest_first_stopping_each_replica_before_its_replacement() {
    let port = free_port();
    let body = |greeting: &str| {
        subs(&[
            Sub::stateful("db", port, 2).field("env", format!("{{ GREETING = \"{greeting}\" }}"))
        ])
    };
    let app = stateful_app(&body("hello"));
    app.start();
    let seen = events_from(&app, 0).len();
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{}", body("bonjour")),
    )
    .unwrap();
    let out = app.zeppelin(&["run", "-d"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("replaced db"), "{}", stderr(&out));
    assert!(stderr(&out).contains("db is stateful"), "{}", stderr(&out));
    assert_eq!(
        events_from(&app, seen),
        [
            "stop 1",
            "start 1",
            "listening 1",
            "stop 0",
            "start 0",
            "listening 0"
        ]
    );
    for replica in [0, 1] {
        assert_eq!(starts(&app, replica), "start hello\nstart bonjour\n");
    }
    assert_no_clash(&app);
}

#[test]
fn scaling_down_and_up_gives_a_replica_its_data_back() {
    let (app, _) = db_app(3);
    app.start();
    app.zeppelin(&["scale", "db=1"]).assert().success();
    app.wait_healthy("db", 1);
    let seen = app.read("events");
    assert!(
        seen.ends_with("stop 2\nstop 1\n"),
        "the highest go first, one at a time: {seen}"
    );
    assert_eq!(starts(&app, 1), "start -\n", "scale down keeps the data");
    assert_eq!(starts(&app, 2), "start -\n");
    let ps = || {
        let out = app.zeppelin(&["ps"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let kept = |replica: u32| format!(".zeppelin/volumes/db/{replica} ");
    let shown = ps();
    assert!(shown.contains("KEPT DATA (NOT RUNNING)"), "{shown}");
    assert!(
        shown.contains(&kept(1)) && shown.contains(&kept(2)),
        "{shown}"
    );
    app.zeppelin(&["scale", "db=2"]).assert().success();
    app.wait_healthy("db", 2);
    assert_eq!(starts(&app, 1), "start -\nstart -\n");
    assert_eq!(starts(&app, 2), "start -\n", "replica 2 stays down");
    let shown = ps();
    assert!(
        shown.contains(&kept(2)) && !shown.contains(&kept(1)),
        "{shown}"
    );
    assert_no_clash(&app);
}

#[test]
fn a_removed_stateful_sub_stops_keeps_its_data_and_says_where_until_deleted_by_name() {
    let port = free_port();
    let app = stateful_app(&subs(&[
        Sub::stateful("db", port, 1),
        Sub::sleeper("other"),
    ]));
    app.start();
    let db = app.pids("db")[0];
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{}", Sub::sleeper("other")),
    )
    .unwrap();
    let out = app.zeppelin(&["run", "-d"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let kept = app
        .path()
        .canonicalize()
        .unwrap()
        .join(".zeppelin/volumes/db");
    for said in [
        "removed db",
        "kept the data of db",
        &kept.display().to_string(),
        "zeppelin stop --delete-data db",
    ] {
        assert!(stderr(&out).contains(said), "{said}: {}", stderr(&out));
    }
    assert!(!alive(db));
    assert_eq!(starts(&app, 0), "start -\n");

    // The sub is no longer in the file; its data can still be deleted by its name.
    let out = app
        .zeppelin(&["stop", "--delete-data", "db", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("deleted the data of db"),
        "{}",
        stderr(&out)
    );
    assert!(!kept.exists());
    assert_eq!(
        app.wait_healthy("other", 1).len(),
        1,
        "other subs keep running"
    );
}

#[test]
fn delete_data_needs_names_and_yes_away_from_a_terminal() {
    let (app, _) = db_app(1);
    app.start();
    let pid = app.pids("db")[0];
    let refused = |args: &[&str], says: &str| {
        let out = app.zeppelin(args).write_stdin("db\n").output().unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    };
    refused(&["stop", "--delete-data", "db"], "nobody is at a terminal");
    refused(&["stop", "--delete-data"], "<SUB>");
    refused(&["stop", "--yes", "db"], "--delete-data");
    refused(&["stop", "--delete-data", "nosuch", "--yes"], "\"nosuch\"");
    refused(
        &["stop", "--delete-data", "db", "../db", "--yes"],
        "\"../db\"",
    );
    assert_eq!(starts(&app, 0), "start -\n", "nothing was deleted");
    assert!(alive(pid), "nothing was stopped");

    let out = app
        .zeppelin(&["stop", "--delete-data", "db", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!alive(pid));
    assert!(!app.file(".zeppelin/volumes/db").exists());
    assert!(stderr(&out).contains("stopped db"), "{}", stderr(&out));
    // The supervisor stopped and deleted in one step: db stays stopped, and only a new
    // `run -d` starts it, on empty folders.
    assert_eq!(app.replicas("db")[0]["state"], "stopped");
    app.zeppelin(&["run", "-d"]).assert().success();
    app.wait_healthy("db", 1);
    assert_eq!(starts(&app, 0), "start -\n", "a fresh start");
    assert_no_clash(&app);
}

#[test]
fn delete_data_at_a_terminal_takes_the_sub_name_typed_and_needs_no_supervisor() {
    let (app, _) = db_app(1);
    std::fs::write(app.file("answer.py"), ANSWER_AT_TERMINAL).unwrap();
    app.start();
    app.zeppelin(&["stop"]).assert().success();
    let at_terminal = |answer: &str| {
        Command::new("python3")
            .arg("answer.py")
            .arg(answer)
            .arg(assert_cmd::cargo::cargo_bin("zeppelin"))
            .args(["stop", "--delete-data", "db"])
            .current_dir(app.path())
            .env("NO_COLOR", "1")
            .timeout(WAIT)
            .output()
            .unwrap()
    };
    let out = at_terminal("data");
    let seen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{seen}");
    assert!(
        seen.contains("Type `db` to delete it") && seen.contains("not deleting"),
        "{seen}"
    );
    assert_eq!(
        starts(&app, 0),
        "start -\n",
        "a wrong answer keeps the data"
    );

    let out = at_terminal("db");
    let seen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{seen}");
    assert!(seen.contains("deleted the data of db"), "{seen}");
    assert!(!app.file(".zeppelin/volumes/db").exists());
}

#[test]
fn a_link_planted_in_place_of_a_subs_data_is_never_followed() {
    let (app, _) = db_app(1);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("precious"), "keep me").unwrap();
    std::fs::create_dir_all(app.file(".zeppelin/volumes")).unwrap();
    let link = app.file(".zeppelin/volumes/db");
    std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();

    let out = app
        .zeppelin(&["run", "-d", "--timeout", "10s"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        1,
        "nothing was written through the link"
    );

    let out = app
        .zeppelin(&["stop", "--delete-data", "db", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).is_err(), "the link went");
    assert_eq!(
        std::fs::read_to_string(elsewhere.path().join("precious")).unwrap(),
        "keep me"
    );
}

#[test]
fn a_stateful_replacement_that_fails_gives_the_replica_back_to_the_old_command() {
    let (app, port) = db_app(1);
    app.start();
    let broken = Sub::new("db", "echo broken; exit 3")
        .port(port)
        .health(r#"{ http = "/", interval = "200ms" }"#)
        .field("volumes", r#"{ data = { path = "/data" } }"#);
    std::fs::write(app.file("zeppelin.toml"), format!("name = \"t\"\n{broken}")).unwrap();
    let out = app.zeppelin(&["run", "-d"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("\"db\""), "{}", stderr(&out));
    // The old command runs again on the same data, never beside the failed one.
    app.wait_healthy("db", 1);
    assert_eq!(starts(&app, 0), "start -\nstart -\n");
    assert_no_clash(&app);
}

#[test]
fn a_stateful_roll_that_fails_on_a_lower_replica_rolls_the_higher_ones_back() {
    let (app, port) = db_app(2);
    app.start();
    let seen = events_from(&app, 0).len();
    // Replica 1 becomes healthy on the new version, replica 0 does not.
    let half_broken = Sub::new(
        "db",
        "test $ZEPPELIN_REPLICA = 0 && exit 3; exec python3 stateful.py",
    )
    .port(port)
    .replicas(2)
    .health(r#"{ http = "/", interval = "200ms" }"#)
    .field("env", r#"{ GREETING = "bonjour" }"#)
    .field("volumes", r#"{ data = { path = "/data" } }"#);
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{half_broken}"),
    )
    .unwrap();
    let out = app.zeppelin(&["run", "-d"]).output().unwrap();
    assert!(!out.status.success());
    for said in [
        "replica 0 of sub \"db\"",
        "every replica runs the previous version again",
    ] {
        assert!(stderr(&out).contains(said), "{said}: {}", stderr(&out));
    }
    app.wait_healthy("db", 2);
    assert_eq!(
        events_from(&app, seen),
        [
            "stop 1",
            "start 1",
            "listening 1",
            "stop 0",
            "start 0",
            "listening 0",
            "stop 1",
            "start 1",
            "listening 1"
        ]
    );
    assert_eq!(starts(&app, 1), "start -\nstart bonjour\nstart -\n");
    assert_eq!(starts(&app, 0), "start -\nstart -\n");
    assert_no_clash(&app);
}

#[test]
fn notes_name_only_subs_rolled_in_place_and_data_a_sub_without_volumes_kept() {
    let (app, _) = db_app(2);
    app.start();
    // A scaled sub restarted: the note follows what the supervisor rolled, not the file.
    app.zeppelin(&["scale", "db=1"]).assert().success();
    let out = app.zeppelin(&["restart", "db"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("with one replica it was unavailable"),
        "{}",
        stderr(&out)
    );

    // A moved port relaunches the sub: it is replaced, not rolled in place.
    let moved = free_port();
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{}", Sub::stateful("db", moved, 1)),
    )
    .unwrap();
    let out = app.zeppelin(&["run", "-d"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("replaced db"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("is stateful"), "{}", stderr(&out));

    // Without volumes the sub runs on; its data stays, and run -d says where.
    std::fs::write(
        app.file("zeppelin.toml"),
        format!("name = \"t\"\n{}", Sub::sleeper("db")),
    )
    .unwrap();
    let out = app.zeppelin(&["run", "-d"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for said in ["kept the data of db", "zeppelin stop --delete-data db"] {
        assert!(stderr(&out).contains(said), "{said}: {}", stderr(&out));
    }
    assert!(data_dir(&app, "db", 0).join("starts").exists());
}
