//! `zeppelin run-job NAME`: one run of a job, now, in the running app's supervisor (or alone)
//! or (`--k8s`) as a Kubernetes `Job` made from the deployed template; its output streams
//! here and its exit status becomes the command's.

use std::process::ExitCode;

use miette::IntoDiagnostic;

use crate::runtime::Runtime;
use crate::settings::{GlobalSettings, RunJobSettings};

pub(crate) fn run_job(run: &RunJobSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let runtime = Runtime::open(run.runtime, settings)?;
    runtime.app().job(&run.job).into_diagnostic()?;
    runtime.run_job(&run.job)
}
