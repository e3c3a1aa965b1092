//! `[sub.NAME]` tables for test app files, built from the shapes tests use again and again
//! (a sleeper, Python's `http.server`, the echo server of `fixtures/echo.py`, the stateful
//! server of `fixtures/stateful.py`, an image for the cluster) with the fields that vary set
//! by name, so a test shows only what matters to it.

use std::fmt;

/// One `[sub.NAME]` table; its text (through `Display`) lists the fields in the order set.
#[derive(Clone, Debug)]
pub struct Sub {
    name: String,
    fields: Vec<(&'static str, String)>,
}

impl Sub {
    /// A sub that runs `run` through `sh -c`.
    pub fn new(name: &str, run: &str) -> Self {
        Self {
            name: name.to_owned(),
            fields: Vec::new(),
        }
        .text("run", run)
    }

    /// A process to supervise that does nothing and never exits by itself.
    pub fn sleeper(name: &str) -> Self {
        Self::new(name, "exec sleep 600")
    }

    /// Python's `http.server` on the replica's `PORT`, behind a balancer on `port`.
    pub fn http_server(name: &str, port: u16) -> Self {
        Self::new(name, "exec python3 -m http.server $PORT --bind 127.0.0.1").port(port)
    }

    /// The echo server of `fixtures/echo.py` (answers which replica served a request), with
    /// `replicas` replicas behind `port`, healthy on `/healthz`.
    pub fn echo(name: &str, port: u16, replicas: u32) -> Self {
        Self::new(name, &format!("exec python3 echo.py {name}"))
            .port(port)
            .replicas(replicas)
            .health(r#"{ http = "/healthz", interval = "1s" }"#)
            .text("stop_timeout", "5s")
    }

    /// The stateful server of `fixtures/stateful.py` (written into the app folder by the
    /// test, see `app::STATEFUL_SERVER`): one `data` volume, `replicas` replicas behind
    /// `port`, healthy on `/`.
    pub fn stateful(name: &str, port: u16, replicas: u32) -> Self {
        Self::new(name, "exec python3 stateful.py")
            .port(port)
            .replicas(replicas)
            .health(r#"{ http = "/", interval = "200ms" }"#)
            .field("volumes", r#"{ data = { path = "/data" } }"#)
    }

    /// A sub for the cluster: `image`, and a local command that only sleeps.
    pub fn image(name: &str, image: &str) -> Self {
        Self::new(name, "sleep 1000").text("image", image)
    }

    pub fn port(self, port: u16) -> Self {
        self.field("port", port)
    }

    pub fn replicas(self, replicas: u32) -> Self {
        self.field("replicas", replicas)
    }

    /// `health = HEALTH`, an inline table such as `{ tcp = true }`.
    pub fn health(self, health: &str) -> Self {
        self.field("health", health)
    }

    pub fn depends_on(self, subs: &[&str]) -> Self {
        let list: Vec<String> = subs.iter().map(|sub| format!("\"{sub}\"")).collect();
        self.field("depends_on", format!("[{}]", list.join(", ")))
    }

    pub fn restart(self, policy: &str) -> Self {
        self.text("restart", policy)
    }

    /// `key = "value"`, the value quoted as a TOML string.
    pub fn text(self, key: &'static str, value: &str) -> Self {
        let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
        self.field(key, format!("\"{quoted}\""))
    }

    /// `key = value`, the value written as it is (a number, a list, an inline table).
    pub fn field(mut self, key: &'static str, value: impl fmt::Display) -> Self {
        self.fields.push((key, value.to_string()));
        self
    }
}

impl fmt::Display for Sub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[sub.{}]", self.name)?;
        for (key, value) in &self.fields {
            writeln!(f, "{key} = {value}")?;
        }
        Ok(())
    }
}

/// The tables of `subs`, one after the other: an app file body.
pub fn subs(subs: &[Sub]) -> String {
    subs.iter().map(ToString::to_string).collect()
}
