//! `zeppelin completions SHELL`: a completion script generated from the argument definitions.

use std::process::ExitCode;

pub(crate) fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut command = crate::args::command();
    clap_complete::generate(shell, &mut command, "zeppelin", &mut std::io::stdout());
    ExitCode::SUCCESS
}
