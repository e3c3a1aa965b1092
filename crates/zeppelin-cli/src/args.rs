//! Command-line arguments: the clap types, and nothing else.
//!
//! Commands never see these types; `settings` resolves them (with the app file) first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    #[arg(
        short = 'f',
        long,
        global = true,
        value_name = "PATH",
        env = "ZEPPELIN_FILE"
    )]
    pub(crate) file: Option<PathBuf>,

    /// When to use colours (`NO_COLOR` set means never, unless `always` is given).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,

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
    /// Create a new app with a runnable three-sub sample.
    #[command(after_help = "Example:\n  zeppelin new shop && cd shop && zeppelin check")]
    New(NewArgs),

    /// Check the app file and explain every mistake in it.
    #[command(
        after_help = "Examples:\n  zeppelin check\n  zeppelin check -f deploy/zeppelin.toml --format json"
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
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn arguments_are_consistent() {
        Cli::command().debug_assert();
    }
}
