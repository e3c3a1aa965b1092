//! `zeppelin-kubefake`: runs the fake API server until Ctrl-C, for trying `kubectl` and
//! `zeppelin deploy` without a cluster, with the library's faults switched on from the
//! command line so end-to-end tests and benchmarks can run against the real binary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use zeppelin_kubefake::{Config, FakeApiServer};

/// A Kubernetes API server in a process, on 127.0.0.1, with simulated controllers.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 6443)]
    port: u16,
    /// Where to write a kubeconfig pointing at the server.
    #[arg(long, default_value = "fake.kubeconfig")]
    kubeconfig: PathBuf,
    /// Do not run the simulated controllers and kubelet stand-in.
    #[arg(long)]
    no_controllers: bool,
    /// Milliseconds from pod creation to Running, and again to Ready; also from a claim's
    /// creation to Bound.
    #[arg(long, default_value_t = 500)]
    pod_delay_ms: u64,
    /// Milliseconds a Job's pod runs, once Running, before its container exits.
    #[arg(long, default_value_t = 300)]
    job_run_ms: u64,
    /// Run the `CronJob` controller's clock this many times faster than real time, from the
    /// server's start: at 60 one real second is a minute, so `*/5 * * * *` fires every 5 s.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = parse_speed)]
    clock_speed: f64,
    /// Images containing this text never pull (`ImagePullBackOff`).
    #[arg(long, default_value = "does-not-exist")]
    pull_failure_marker: String,
    /// Images containing this text crash on start (`CrashLoopBackOff`).
    #[arg(long, default_value = "crashloop")]
    crash_marker: String,
    /// Claims whose storage class name contains this text never bind (`ProvisioningFailed`).
    #[arg(long, default_value = "no-provisioner")]
    provisioning_failure_marker: String,
    /// Print every request and its status code to stderr.
    #[arg(long)]
    log_requests: bool,
    /// Serve HTTPS with a certificate authority made at start, written into the kubeconfig.
    #[arg(long)]
    tls: bool,
    /// Milliseconds added to every request, as a remote cluster would (for benchmarks).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Serve the first N requests, then fail every later one with a 500.
    #[arg(long, value_name = "N")]
    fail_after: Option<u64>,
    /// End every open watch at this interval (`500ms`, `2s`, `1m`), so clients must watch
    /// again.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    drop_watches_every: Option<Duration>,
    /// After this long (`500ms`, `2s`, `1m`) refuse new connections and cut the open ones,
    /// as a crashed API server would; the process stays up until Ctrl-C.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    go_away_after: Option<Duration>,
    /// Event objects kept per namespace; the oldest are deleted beyond it.
    #[arg(long, value_name = "N", default_value_t = Config::default().event_limit)]
    event_limit: usize,
}

/// Reads `500ms`, `2s`, `1m` (or any duration jiff's friendly format takes: `1m30s`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse::<jiff::SignedDuration>()
        .ok()
        .and_then(|duration| Duration::try_from(duration).ok())
        .ok_or_else(|| format!("\"{text}\" is not a duration; write it like 500ms, 2s or 1m"))
}

/// Reads a clock speed: a positive number (`60`, `0.5`).
fn parse_speed(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|speed| speed.is_finite() && *speed > 0.0)
        .ok_or_else(|| format!("\"{text}\" is not a clock speed; write a positive number like 60"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let delay = Duration::from_millis(args.pod_delay_ms);
    let config = Config {
        port: args.port,
        controllers: !args.no_controllers,
        pod_start_delay: delay,
        pod_ready_delay: delay,
        image_pull_failure_marker: args.pull_failure_marker,
        crash_marker: args.crash_marker,
        claim_bind_delay: delay,
        job_run_time: Duration::from_millis(args.job_run_ms),
        clock_speed: args.clock_speed,
        provisioning_failure_marker: args.provisioning_failure_marker,
        log_requests: args.log_requests,
        tls: args.tls,
        event_limit: args.event_limit,
        ..Config::default()
    };
    let server = match FakeApiServer::start(config).await {
        Ok(server) => server,
        Err(error) => return report(&error),
    };
    server.set_latency(Duration::from_millis(args.latency_ms));
    if let Some(count) = args.fail_after {
        server.fail_requests_after(count);
    }
    if let Err(error) = server.write_kubeconfig(&args.kubeconfig) {
        return report(&error);
    }
    eprintln!(
        "zeppelin-kubefake: serving the Kubernetes API at {}",
        server.url()
    );
    eprintln!(
        "zeppelin-kubefake: wrote {}; try: kubectl --kubeconfig {} get ns",
        args.kubeconfig.display(),
        args.kubeconfig.display()
    );
    eprintln!("zeppelin-kubefake: press Ctrl-C to stop");
    tokio::select! {
        // If Ctrl-C cannot be awaited there is no way to stop but killing the process.
        _ = tokio::signal::ctrl_c() => {}
        () = scheduled_faults(&server, args.drop_watches_every, args.go_away_after) => {}
    }
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// Drops watches every `drop_every` and makes the server go away after `go_away_after`;
/// never returns.
async fn scheduled_faults(
    server: &FakeApiServer,
    drop_every: Option<Duration>,
    go_away_after: Option<Duration>,
) {
    let go_away = async {
        let Some(after) = go_away_after else {
            return std::future::pending().await;
        };
        tokio::time::sleep(after).await;
        server.go_away().await;
        eprintln!(
            "zeppelin-kubefake: went away after {after:?} (--go-away-after): new connections are refused and open ones were cut; press Ctrl-C to stop"
        );
        std::future::pending::<()>().await;
    };
    let drops = async {
        let Some(every) = drop_every else {
            return std::future::pending().await;
        };
        // A zero interval would panic; the library raises its own timers to 10 ms alike.
        let every = every.max(Duration::from_millis(10));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            server.drop_watches();
        }
    };
    tokio::join!(go_away, drops);
}

fn report(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_the_docs_write_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        let error = parse_duration("soon").unwrap_err();
        assert!(error.contains("500ms, 2s or 1m"), "{error}");
        assert!(parse_duration("-2s").is_err());
    }

    #[test]
    fn clock_speeds_are_positive_numbers() {
        assert_eq!(parse_speed("60"), Ok(60.0));
        assert_eq!(parse_speed("0.5"), Ok(0.5));
        for bad in ["0", "-1", "fast", "inf"] {
            let error = parse_speed(bad).unwrap_err();
            assert!(error.contains("positive number"), "{error}");
        }
    }
}
