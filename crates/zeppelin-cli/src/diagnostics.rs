//! Diagnostics: the `tracing` subscriber every `zeppelin` process installs first, so the
//! events of all crates (the local runtime's gateway and balancers, kube's client, this
//! binary's own) reach stderr instead of being dropped.
//!
//! For a command, stderr is the terminal; for the background supervisor `run -d` starts,
//! it is `.zeppelin/supervisor.log`, so there every line starts with a UTC timestamp. One
//! line per event: level, target and fields, without colours unless stderr gets them.
//!
//! Zeppelin's own crates show warnings and other crates only errors: a library's warning
//! (kube's watcher retrying a forbidden watch, say) is a debug dump to a user, who gets
//! Zeppelin's own error for it. `-v` adds Zeppelin's `info` events, `-vv` its `debug`
//! events, `-vvv` its `trace` events, and `ZEPPELIN_LOG` adds any `EnvFilter` directives on
//! top (`ZEPPELIN_LOG=zeppelin_local=debug`, `ZEPPELIN_LOG=kube=debug`).

use tracing_subscriber::EnvFilter;

/// The environment variable with extra filter directives.
pub(crate) const ENV: &str = "ZEPPELIN_LOG";

/// The crates whose events `-v` raises: this binary and the workspace's libraries.
const OWN_CRATES: [&str; 4] = [
    "zeppelin",
    "zeppelin_core",
    "zeppelin_local",
    "zeppelin_kube",
];

/// How the events of one process are written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Diagnostics {
    /// How many `-v` were given.
    pub(crate) verbose: u8,
    /// Whether stderr takes ANSI colours.
    pub(crate) color: bool,
    /// Whether each line starts with the time: for a log file, not for a terminal.
    pub(crate) timestamps: bool,
}

impl Diagnostics {
    /// Installs the subscriber for the rest of the process. An invalid `ZEPPELIN_LOG` is
    /// left out, and said so as the first event.
    pub(crate) fn install(self) {
        let env = std::env::var(ENV).unwrap_or_default();
        let (filter, invalid) = match filter(self.verbose, &env) {
            Ok(filter) => (filter, None),
            Err(err) => (
                filter(self.verbose, "").expect("the built-in directives parse"),
                Some(err),
            ),
        };
        let builder = tracing_subscriber::fmt()
            .compact()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(self.color)
            .with_target(true);
        // Only fails when a subscriber is already installed, which nothing else does.
        let _ = if self.timestamps {
            builder.try_init()
        } else {
            builder.without_time().try_init()
        };
        if let Some(err) = invalid {
            tracing::warn!(%err, value = %env, "{ENV} is not a valid filter; it is ignored");
        }
    }
}

/// `error`, Zeppelin's crates at `warn` or the level `-v` asks for, then the directives of
/// `env`.
fn filter(verbose: u8, env: &str) -> Result<EnvFilter, tracing_subscriber::filter::ParseError> {
    let own = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let mut directives = vec!["error".to_owned()];
    directives.extend(OWN_CRATES.iter().map(|krate| format!("{krate}={own}")));
    directives.extend(
        env.split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
    );
    EnvFilter::builder().parse(directives.join(","))
}

#[cfg(test)]
mod tests {
    use super::filter;

    #[test]
    fn verbosity_and_the_environment_add_directives() {
        let quiet = filter(0, "").unwrap().to_string();
        assert!(quiet.split(',').any(|d| d == "error"), "{quiet}");
        assert!(quiet.contains("zeppelin_local=warn"), "{quiet}");
        assert!(!quiet.split(',').any(|d| d.starts_with("kube")), "{quiet}");
        let raised = filter(2, "kube=debug").unwrap().to_string();
        assert!(raised.contains("zeppelin_local=debug"), "{raised}");
        assert!(raised.contains("kube=debug"), "{raised}");
        assert!(filter(0, "zeppelin_local=loud").is_err());
    }
}
