//! Command-line arguments: the clap types, and nothing else.
//!
//! Commands never see these types; `settings` resolves them (with the app file) first.
//! Values with a syntax of their own (durations, `SUB=N`) are parsed here by clap, through
//! the parsers in [`values`].

mod values;

use std::path::PathBuf;
use std::time::Duration;

use clap::{
    Arg, ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum,
};

pub(crate) use values::SubCount;

/// Build, run and ship cloud-native apps from one file, `zeppelin.toml`.
#[derive(Debug, Parser)]
#[command(
    name = "zeppelin",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Start with `zeppelin new shop`, then `cd shop && zeppelin check`."
)]
pub(crate) struct Cli {
    /// The app file; by default `zeppelin.toml` in this folder or the nearest parent.
    /// Every command that reads the app file also takes it after its name.
    #[arg(short = 'f', long, value_name = "PATH", env = "ZEPPELIN_FILE")]
    pub(crate) file: Option<PathBuf>,

    /// When to use colours (`NO_COLOR` set means never, unless `always` is given).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,

    /// The kubeconfig context for cluster commands, instead of its current one.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) context: Option<String>,

    /// The Kubernetes namespace for cluster commands, instead of the app file's.
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) namespace: Option<String>,

    /// More diagnostics on stderr: `-v` info, `-vv` debug (`ZEPPELIN_LOG` takes a tracing filter)
    #[arg(short = 'v', long = "verbose", global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a new app with a runnable sample: three subs and two jobs.
    #[command(after_help = "Example:\n  zeppelin new shop && cd shop && zeppelin check")]
    New(NewArgs),

    /// Check the app file and explain every mistake in it.
    #[command(
        after_help = "Examples:\n  zeppelin check\n  zeppelin check --file deploy/zeppelin.toml --format json"
    )]
    Check(CheckArgs),

    /// Print the Kubernetes objects `zeppelin deploy` would apply.
    #[command(
        after_help = "Examples:\n  zeppelin render > shop.yaml\n  zeppelin render --format json | jq '.items[].kind'\n  zeppelin render -o manifests/ --include-secrets"
    )]
    Render(RenderArgs),

    /// Print the JSON Schema of the app file, for editors.
    #[command(
        after_help = "Example:\n  zeppelin schema > zeppelin.schema.json\n\nThen add `#:schema ./zeppelin.schema.json` as the first line of zeppelin.toml for taplo\nand Even Better TOML."
    )]
    Schema,

    /// Run the app here: every sub as supervised processes (Ctrl-C stops them).
    #[command(
        after_help = "Examples:\n  zeppelin run           # in the foreground, output of every replica\n  zeppelin run -d        # in the background; again to apply changes to zeppelin.toml"
    )]
    Run(RunArgs),

    /// Show the app's replicas: state, health, restarts, uptime, ports.
    #[command(after_help = "Examples:\n  zeppelin ps\n  zeppelin ps --format json")]
    Ps(PsArgs),

    /// Show the app's logs (every sub, or the ones named).
    #[command(
        after_help = "Examples:\n  zeppelin logs -f\n  zeppelin logs web --tail 50 --since 10m --replica 1"
    )]
    Logs(LogsArgs),

    /// Stop the app, or the subs named; `--delete-data` deletes their data.
    #[command(
        after_help = "Examples:\n  zeppelin stop\n  zeppelin stop worker\n  zeppelin stop --delete-data redis          # asks you to type `redis`\n  zeppelin stop --delete-data redis --yes    # from a script\n\nData of stateful subs is kept by everything else: stop, restarts, run -d, scale down."
    )]
    Stop(StopArgs),

    /// Restart subs one replica at a time, each waited until healthy.
    #[command(
        after_help = "Examples:\n  zeppelin restart\n  zeppelin restart web\n  zeppelin restart api --rerun-jobs   # run the jobs `before` api again, changed or not"
    )]
    Restart(RestartArgs),

    /// List the routes the gateway serves, and where each goes.
    #[command(after_help = "Examples:\n  zeppelin routes\n  zeppelin routes --format json")]
    Routes(RoutesArgs),

    /// Change how many replicas of subs run.
    #[command(after_help = "Example:\n  zeppelin scale web=4 worker=0")]
    Scale(ScaleArgs),

    /// Run a job now, stream its output, and exit with its status.
    #[command(
        after_help = "Examples:\n  zeppelin run-job migrate\n  zeppelin run-job cleanup --k8s\n\nLocally the job runs in the running app's supervisor, or alone when the app is not running."
    )]
    RunJob(RunJobArgs),

    /// Run a one-off command with the environment a replica of a sub (or a job) gets.
    ///
    /// The command runs in the app folder, attached to this terminal, with the sub's conf,
    /// `.env`, env, `<SUB>_ADDR` of the subs, a free `PORT` (not for a job, as its runs get
    /// none) and the secrets as files announced by `<NAME>_FILE` (written to a private folder
    /// under `.zeppelin/` and removed after).
    /// Its exit status is ours (128+N when a signal ended it). The app need not be running.
    #[command(
        after_help = "Examples:\n  zeppelin exec api -- python3 manage.py shell\n  zeppelin exec migrate -- sh -c 'echo $API_ADDR'"
    )]
    Exec(ExecArgs),

    /// Apply the app to the Kubernetes cluster, wait until it runs, and prune what it no longer has.
    #[command(
        after_help = "Examples:\n  zeppelin deploy\n  zeppelin deploy --atomic --timeout 10m\n  zeppelin deploy --dry-run\n  zeppelin --context prod --namespace shop-prod deploy\n\nThe cluster comes from KUBECONFIG (or ~/.kube/config), or the pod's service account."
    )]
    Deploy(DeployArgs),

    /// Show what `zeppelin deploy` would change in the cluster.
    #[command(after_help = "Example:\n  zeppelin diff")]
    Diff,

    /// List the revisions `zeppelin deploy` recorded in the cluster.
    #[command(after_help = "Examples:\n  zeppelin history\n  zeppelin history --format json")]
    History(HistoryArgs),

    /// Re-apply an earlier revision (by default the last one that rolled out) and wait.
    #[command(after_help = "Examples:\n  zeppelin rollback\n  zeppelin rollback 3")]
    Rollback(RollbackArgs),

    /// Delete every object of the app from the cluster, and wait until they are gone.
    ///
    /// The data of stateful subs (their volume claims) is kept and listed, and so is the
    /// namespace holding it, unless --delete-data asks for it.
    #[command(after_help = "Examples:\n  zeppelin delete\n  zeppelin delete --delete-data --yes")]
    Delete(DeleteArgs),

    /// The background supervisor that `zeppelin run -d` starts.
    #[command(name = "__supervise", hide = true)]
    Supervise(SuperviseArgs),

    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  zeppelin completions bash > ~/.local/share/bash-completion/completions/zeppelin"
    )]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The app's name, also its folder (a DNS-1123 label such as `shop`).
    pub(crate) name: String,

    /// Create the app in this folder instead of `./NAME`.
    #[arg(long, value_name = "DIR")]
    pub(crate) path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

/// Human-readable text, or JSON for editors, scripts and CI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// How to write the objects: a multi-document YAML stream, or a JSON `List`.
    #[arg(long, value_enum, default_value_t = ManifestFormat::Yaml)]
    pub(crate) format: ManifestFormat,

    /// Write one file per object into this folder instead of printing them.
    #[arg(short = 'o', long, value_name = "DIR")]
    pub(crate) output: Option<PathBuf>,

    /// Also render the Secret, with the values read from the environment and files the
    /// app file names (left out by default so manifests can be shared and committed).
    #[arg(long)]
    pub(crate) include_secrets: bool,
}

/// Kubernetes manifests as YAML or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ManifestFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Start in the background and return once every sub is healthy.
    #[arg(short = 'd', long)]
    pub(crate) detach: bool,

    /// How long each sub may take to become healthy when it starts.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = values::duration)]
    pub(crate) timeout: Duration,

    /// Serve the routes on this port instead of the app file's `[gateway] port`.
    #[arg(long, value_name = "PORT")]
    pub(crate) gateway_port: Option<u16>,

    /// Run every `before` job, even those whose inputs did not change since their last
    /// success.
    #[arg(long)]
    pub(crate) rerun_jobs: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SuperviseArgs {
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = values::duration)]
    pub(crate) timeout: Duration,

    #[arg(long, value_name = "PORT")]
    pub(crate) gateway_port: Option<u16>,

    #[arg(long)]
    pub(crate) rerun_jobs: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PsArgs {
    /// How to print the status.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,

    /// The app in the Kubernetes cluster instead of the local one.
    #[arg(long)]
    pub(crate) k8s: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// Return once applied, without waiting for the rollout.
    #[arg(long)]
    pub(crate) no_wait: bool,

    /// How long the rollout may take (`90s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = values::duration)]
    pub(crate) timeout: Duration,

    /// Take over fields another field manager (kubectl, an operator) owns.
    #[arg(long)]
    pub(crate) force_conflicts: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    #[command(flatten)]
    pub(crate) wait: WaitArgs,

    /// Run the apply as a server-side dry run: validated by the cluster, stored nowhere.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Roll back to the last revision that rolled out when this rollout fails.
    #[arg(long, conflicts_with = "no_wait")]
    pub(crate) atomic: bool,

    /// Keep objects of the app it no longer has, instead of deleting them.
    #[arg(long)]
    pub(crate) no_prune: bool,

    /// How many revisions to keep in the cluster.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) history: usize,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// How to print the revisions.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// The revision to go back to; by default the last one that rolled out before the
    /// current one.
    #[arg(value_name = "REV")]
    pub(crate) revision: Option<u64>,

    #[command(flatten)]
    pub(crate) wait: WaitArgs,

    /// How many revisions to keep in the cluster.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) history: usize,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// How long to wait for every object to be gone.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = values::duration)]
    pub(crate) timeout: Duration,

    #[command(flatten)]
    pub(crate) data: DeleteDataArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// Subs (or jobs) whose logs to show; every sub and job when none is given.
    #[arg(value_name = "SUB|JOB")]
    pub(crate) subs: Vec<String>,

    /// Keep printing new lines as they are written.
    #[arg(short = 'f', long)]
    pub(crate) follow: bool,

    /// Print only the last N lines.
    #[arg(long, value_name = "N")]
    pub(crate) tail: Option<usize>,

    /// Print only lines written in the last DURATION (`30s`, `10m`, `2h`).
    #[arg(long, value_name = "DURATION", value_parser = values::duration)]
    pub(crate) since: Option<Duration>,

    /// Print only the lines of replica N (its `ZEPPELIN_REPLICA`).
    #[arg(long, value_name = "N")]
    pub(crate) replica: Option<u32>,

    /// Start each line with the time it was written.
    #[arg(short = 't', long)]
    pub(crate) timestamps: bool,

    /// The pods of the app in the Kubernetes cluster instead of the local log files.
    #[arg(long, conflicts_with = "replica")]
    pub(crate) k8s: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RoutesArgs {
    /// How to print the routes.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct RestartArgs {
    /// Subs to restart; the whole app when none is given.
    #[arg(value_name = "SUB")]
    pub(crate) subs: Vec<String>,

    /// Run the `before` jobs gating these subs, even those whose inputs did not change
    /// since their last success.
    #[arg(long)]
    pub(crate) rerun_jobs: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StopArgs {
    /// Subs to stop; the whole app when none is given. With `--delete-data`, the subs whose
    /// data to delete (required: data is only deleted by name).
    #[arg(value_name = "SUB", required_if_eq("delete_data", "true"))]
    pub(crate) subs: Vec<String>,

    #[command(flatten)]
    pub(crate) data: DeleteDataArgs,
}

/// The one way to delete a stateful sub's data; shared by `stop` (local volumes) and
/// `delete` (claims on the cluster).
#[derive(Debug, Args)]
pub(crate) struct DeleteDataArgs {
    /// Also delete the data of stateful subs; asks at a terminal first.
    #[arg(long)]
    pub(crate) delete_data: bool,

    /// Delete the data without asking (needed away from a terminal).
    #[arg(long, requires = "delete_data")]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ScaleArgs {
    /// `SUB=REPLICAS` pairs, such as `web=4`.
    #[arg(value_name = "SUB=N", required = true, value_parser = values::sub_count)]
    pub(crate) counts: Vec<SubCount>,

    /// Scale the Deployments in the Kubernetes cluster instead of the local replicas.
    #[arg(long)]
    pub(crate) k8s: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunJobArgs {
    /// The job to run, from the app file's `[job.NAME]` tables.
    pub(crate) job: String,

    /// Run it in the Kubernetes cluster, from the job's deployed template.
    #[arg(long)]
    pub(crate) k8s: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// The sub (or job) whose environment the command gets.
    #[arg(value_name = "SUB")]
    pub(crate) target: String,

    /// The command and its arguments, after `--` (run as is, not through a shell).
    #[arg(value_name = "CMD", last = true, required = true)]
    pub(crate) command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    pub(crate) shell: clap_complete::Shell,
}

/// Commands that do not read an app file, so take no `--file`.
const WITHOUT_APP_FILE: [&str; 4] = ["new", "schema", "completions", "help"];

/// The id of the per-command app-file option.
const APP_FILE: &str = "app_file";

/// The whole command line: the derived commands, each that reads the app file given
/// `-f/--file` after its name (`zeppelin render -f deploy/zeppelin.toml`). `logs` takes only
/// `--file`: its `-f` is `--follow`, as in `docker compose logs -f`.
pub(crate) fn command() -> clap::Command {
    let mut command = Cli::command();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .filter(|name| !WITHOUT_APP_FILE.contains(&name.as_str()))
        .collect();
    for name in names {
        let short = name != "logs";
        command = command.mut_subcommand(name, |sub| sub.arg(app_file_arg(short)));
    }
    command
}

fn app_file_arg(short: bool) -> Arg {
    let arg = Arg::new(APP_FILE)
        .long("file")
        .value_name("PATH")
        .value_parser(clap::value_parser!(PathBuf))
        .env("ZEPPELIN_FILE")
        .help("The app file; by default `zeppelin.toml` in this folder or the nearest parent");
    if short { arg.short('f') } else { arg }
}

/// Parses the process's arguments, exiting with a usage message when they are wrong.
pub(crate) fn parse() -> Cli {
    let matches = command().get_matches();
    from_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// The derived arguments, with a `--file` given after the command taking precedence over
/// one given before it.
fn from_matches(matches: &ArgMatches) -> Result<Cli, clap::Error> {
    let mut cli = Cli::from_arg_matches(matches)?;
    let after = matches
        .subcommand()
        .and_then(|(_, sub)| sub.try_get_one::<PathBuf>(APP_FILE).ok().flatten());
    if let Some(file) = after {
        cli.file = Some(file.clone());
    }
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{command, from_matches};

    #[test]
    fn arguments_are_consistent() {
        command().debug_assert();
    }

    fn file_of(args: &[&str]) -> Option<std::path::PathBuf> {
        let matches = command().try_get_matches_from(args).unwrap();
        from_matches(&matches).unwrap().file
    }

    #[test]
    fn the_app_file_goes_before_or_after_the_command() {
        assert_eq!(
            file_of(&["zeppelin", "-f", "a.toml", "check"]).as_deref(),
            Some(Path::new("a.toml"))
        );
        assert_eq!(
            file_of(&["zeppelin", "check", "-f", "b.toml"]).as_deref(),
            Some(Path::new("b.toml"))
        );
        assert_eq!(
            file_of(&["zeppelin", "-f", "a.toml", "render", "--file", "b.toml"]).as_deref(),
            Some(Path::new("b.toml"))
        );
        assert_eq!(
            file_of(&["zeppelin", "logs", "--file", "c.toml", "-f"]).as_deref(),
            Some(Path::new("c.toml"))
        );
        assert!(
            command()
                .try_get_matches_from(["zeppelin", "new", "-f", "x", "shop"])
                .is_err()
        );
    }
}
