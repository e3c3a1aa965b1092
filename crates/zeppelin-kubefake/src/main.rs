//! `zeppelin-kubefake`: runs the fake API server until Ctrl-C, for trying `kubectl` and
//! `zeppelin deploy` without a cluster.

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
        provisioning_failure_marker: args.provisioning_failure_marker,
        log_requests: args.log_requests,
        tls: args.tls,
        ..Config::default()
    };
    let server = match FakeApiServer::start(config).await {
        Ok(server) => server,
        Err(error) => return report(&error),
    };
    server.set_latency(Duration::from_millis(args.latency_ms));
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
    // If Ctrl-C cannot be awaited there is no way to stop but killing the process.
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    ExitCode::SUCCESS
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
