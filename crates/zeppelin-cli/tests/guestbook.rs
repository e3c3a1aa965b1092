//! End-to-end tests of `examples/guestbook` under the local runtime: the real `zeppelin`
//! binary runs the example (Debian's `redis-server` on a volume, the Python frontend behind
//! the gateway) from a copy in a temporary folder, on free ports. Entries are written and
//! read through the gateway, as a browser would; the tests prove that what Redis
//! acknowledged outlives `stop`, `run -d`, `scale` to 0 and back, and a kill -9.

mod harness;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use harness::app::{self, TestApp, WAIT, alive, free_ports, get, send_signal, wait_for};
use nix::sys::signal::Signal;

/// The gateway's host for the guestbook route.
const HOST: &str = "guestbook.localhost";

/// Entries that exercise the frontend's protocol handling: markup to escape, line breaks
/// (RESP's own delimiter), and text that is not ASCII.
const ENTRIES: [&str; 3] = [
    "Hello <b>guests</b> & friends",
    "two lines:\r\nthe second one",
    "Grüße aus Zürich ✈ 飛行船",
];

/// The guestbook example running from a copy in a temporary folder.
struct Guestbook {
    app: TestApp,
    gateway: u16,
    redis: u16,
}

impl Guestbook {
    /// Copies `examples/guestbook` with the ports of Redis, the frontend and the gateway
    /// moved to free ones, and starts it with `zeppelin run -d`.
    fn start() -> Self {
        require_redis_server();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/guestbook");
        // An app folder whose files are replaced by the example's.
        let app = TestApp::new("");
        let [redis, frontend, gateway] = free_ports::<3>();
        let text = std::fs::read_to_string(example.join("zeppelin.toml")).unwrap();
        for port in ["port = 6379", "port = 8080"] {
            assert!(text.contains(port), "examples/guestbook has no `{port}`");
        }
        let text = text
            .replace("port = 6379", &format!("port = {redis}"))
            .replace("port = 8080", &format!("port = {frontend}"));
        std::fs::write(
            app.file("zeppelin.toml"),
            format!("{text}\n[gateway]\nport = {gateway}\n"),
        )
        .unwrap();
        std::fs::create_dir(app.file("app")).unwrap();
        std::fs::copy(example.join("app/frontend.py"), app.file("app/frontend.py")).unwrap();
        let guestbook = Self {
            app,
            gateway,
            redis,
        };
        guestbook.run();
        guestbook
    }

    /// `zeppelin run -d`, then waits until the page answers through the gateway.
    fn run(&self) {
        self.app.start();
        self.app.wait_healthy("redis", 1);
        self.app.wait_healthy("frontend", 2);
        self.entries();
    }

    /// Posts the form with `entry` through the gateway: the status and the answer's head;
    /// a 303 back to the page means Redis acknowledged the entry.
    fn post(&self, entry: &str) -> (u16, String) {
        let (status, head) = post_form(self.gateway, "/entries", entry)
            .unwrap_or_else(|err| panic!("posting {entry:?} through the gateway: {err}"));
        if status == 303 {
            assert!(
                head.lines().any(|l| l.eq_ignore_ascii_case("location: /")),
                "a 303 back to the page: {head}"
            );
        }
        (status, head)
    }

    /// Adds `entry`; whether Redis acknowledged it (else the frontend or the gateway said
    /// 503: nothing healthy to take it).
    fn sign(&self, entry: &str) -> bool {
        let (status, head) = self.post(entry);
        assert!(matches!(status, 303 | 503), "{head}");
        status == 303
    }

    /// The entries, read through the gateway once the page answers 200.
    fn entries(&self) -> Vec<String> {
        wait_for("the guestbook's entries through the gateway", || {
            let answer = get(self.gateway, HOST, "/entries");
            match answer {
                Ok((200, body)) => Some(serde_json::from_str(&body).unwrap()),
                _ => None,
            }
        })
    }

    /// The pid of the `redis-server` process of the one Redis replica.
    fn redis_server_pid(&self) -> i32 {
        let pids = self.app.pids("redis");
        assert_eq!(pids.len(), 1, "one Redis replica: {pids:?}");
        let pid = pids[0];
        // The supervisor's child is redis-server itself, or a shell running it.
        if comm(pid).as_deref() == Some("redis-server") {
            return pid;
        }
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .find(|&child| {
                parent(child) == Some(pid) && comm(child).as_deref() == Some("redis-server")
            })
            .unwrap_or_else(|| panic!("no redis-server process under pid {pid}"))
    }
}

/// Fails (never skips) when Debian's `redis-server` is missing, saying how to get it.
fn require_redis_server() {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join("redis-server").is_file())
    });
    assert!(
        found,
        "redis-server is not on PATH: the guestbook tests run Redis locally. Run the tests \
         with scripts/test, which installs it, or install it yourself \
         (`apt-get install redis-server`)"
    );
}

/// A process's command name, `None` once it is gone.
fn comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|name| name.trim_end().to_owned())
}

/// A process's parent, `None` once it is gone.
fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// `POST path` through the gateway with the form field `entry`: the status code and the
/// answer's head.
fn post_form(port: u16, path: &str, entry: &str) -> std::io::Result<(u16, String)> {
    let body = format!("entry={}", percent_encode(entry));
    let (status, answer) = app::exchange(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )?;
    let head = answer
        .split_once("\r\n\r\n")
        .map_or(answer.as_str(), |(head, _)| head);
    Ok((status, head.to_owned()))
}

/// `text` as a form value: every byte but the unreserved ones as `%XX`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn entries_are_shown_escaped_and_survive_run_again_and_stop() {
    let guestbook = Guestbook::start();
    assert_eq!(
        guestbook.entries(),
        Vec::<String>::new(),
        "a new guestbook is empty"
    );
    for entry in ENTRIES {
        assert!(guestbook.sign(entry), "Redis acknowledged {entry:?}");
    }
    assert_eq!(guestbook.entries(), ENTRIES);
    let (status, page) = get(guestbook.gateway, HOST, "/").unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("<li>Hello &lt;b&gt;guests&lt;/b&gt; &amp; friends</li>"),
        "entries are escaped: {page}"
    );
    assert!(page.contains("Grüße aus Zürich ✈ 飛行船"), "{page}");

    guestbook.run();
    assert_eq!(
        guestbook.entries(),
        ENTRIES,
        "run -d again keeps the entries"
    );

    guestbook.app.zeppelin(&["stop"]).assert().success();
    guestbook.run();
    assert_eq!(
        guestbook.entries(),
        ENTRIES,
        "stop, then run -d, keeps the entries"
    );
    assert!(guestbook.sign("after the restart"));
    assert_eq!(guestbook.entries().len(), ENTRIES.len() + 1);
}

#[test]
fn the_entries_live_in_redis_volume_and_only_stop_delete_data_deletes_them() {
    let guestbook = Guestbook::start();
    for entry in ENTRIES {
        assert!(guestbook.sign(entry));
    }
    let replica = guestbook.app.replicas("redis").remove(0);
    let volume = &replica["volumes"][0];
    let folder = guestbook.app.file(".zeppelin/volumes/redis/0/data");
    assert_eq!(volume["name"], "data");
    assert_eq!(
        Path::new(volume["path"].as_str().unwrap()),
        folder,
        "ps shows where the data is: {replica}"
    );
    assert!(
        std::fs::read_dir(&folder).unwrap().next().is_some(),
        "Redis writes its append-only file in DATA_DIR"
    );

    // Away from a terminal, without --yes, nothing is deleted (nor stopped).
    guestbook
        .app
        .zeppelin(&["stop", "--delete-data", "redis"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--yes"));
    assert_eq!(guestbook.entries(), ENTRIES);

    guestbook
        .app
        .zeppelin(&["stop", "--delete-data", "redis", "--yes"])
        .assert()
        .success();
    assert!(!folder.exists(), "the data of redis is deleted");
    guestbook.app.zeppelin(&["stop"]).assert().success();
    guestbook.run();
    assert_eq!(
        guestbook.entries(),
        Vec::<String>::new(),
        "a new, empty guestbook"
    );
}

#[test]
fn scaling_redis_to_zero_and_back_keeps_the_entries() {
    let guestbook = Guestbook::start();
    for entry in ENTRIES {
        assert!(guestbook.sign(entry));
    }
    guestbook
        .app
        .zeppelin(&["scale", "redis=0"])
        .assert()
        .success();
    wait_for("no Redis replica", || {
        guestbook.app.replicas("redis").is_empty().then_some(())
    });
    // The frontend says why it cannot answer, and stays up.
    let said = wait_for("a frontend saying Redis is away", || {
        guestbook
            .app
            .replicas("frontend")
            .iter()
            .filter_map(|r| r["port"].as_u64())
            .find_map(
                |port| match get(u16::try_from(port).unwrap(), HOST, "/entries") {
                    Ok((503, body)) => Some(body),
                    _ => None,
                },
            )
    });
    let refusal = format!("Redis at 127.0.0.1:{} did not answer", guestbook.redis);
    assert!(said.contains(&refusal), "{said:?} names Redis's address");
    wait_for("the gateway's 503 while Redis is away", || {
        matches!(get(guestbook.gateway, HOST, "/entries"), Ok((503, _))).then_some(())
    });
    assert_ne!(
        guestbook.post("while Redis is away").0,
        303,
        "no Redis, no acknowledgement"
    );

    guestbook
        .app
        .zeppelin(&["scale", "redis=1"])
        .assert()
        .success();
    guestbook.app.wait_healthy("redis", 1);
    assert_eq!(guestbook.entries(), ENTRIES, "scale up gives the data back");
}

#[test]
fn a_kill_9_of_redis_loses_no_acknowledged_entry() {
    let guestbook = Guestbook::start();
    let victim = guestbook.redis_server_pid();
    let killed = AtomicBool::new(false);
    let restarted = AtomicBool::new(false);
    let acknowledged = std::thread::scope(|scope| {
        // A writer that signs one entry after another before, during and after the kill,
        // keeping those Redis acknowledged, until one signed after the kill is acknowledged
        // by the restarted Redis.
        let writer = scope.spawn(|| {
            let deadline = Instant::now() + WAIT;
            let mut acknowledged = Vec::new();
            for n in 0.. {
                let after_restart = restarted.load(Ordering::SeqCst);
                let entry = format!("entry {n}\nof the writer");
                let (status, head) = guestbook.post(&entry);
                if status == 303 {
                    acknowledged.push(entry);
                    if after_restart {
                        break;
                    }
                } else {
                    assert!(
                        killed.load(Ordering::SeqCst),
                        "refused before the kill: {head}"
                    );
                }
                assert!(Instant::now() < deadline, "timed out writing entries");
            }
            acknowledged
        });
        // Right after an acknowledged write, kill -9.
        assert!(guestbook.sign("the last one before kill -9"));
        killed.store(true, Ordering::SeqCst);
        send_signal(victim, Signal::SIGKILL);
        wait_for("Redis restarted by the supervisor", || {
            let replicas = guestbook.app.replicas("redis");
            (!alive(victim)
                && replicas.len() == 1
                && replicas[0]["state"] == "healthy"
                && replicas[0]["pid"].as_i64() != Some(i64::from(victim)))
            .then_some(())
        });
        restarted.store(true, Ordering::SeqCst);
        writer.join().unwrap()
    });
    let stored = guestbook.entries();
    assert!(
        stored.iter().any(|e| e == "the last one before kill -9"),
        "the entry acknowledged right before kill -9 survived: {stored:?}"
    );
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|entry| !stored.contains(entry))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged entries lost by the kill -9: {missing:?} (stored: {stored:?})"
    );
}
