//! `zeppelin scale web=4 worker=0`: replica counts changed live, by the running supervisor
//! or (`--k8s`) on the cluster's Deployments.

use std::process::ExitCode;

use crate::runtime::Runtime;
use crate::settings::{GlobalSettings, ScaleSettings};

pub(crate) fn scale(scale: &ScaleSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    Runtime::open(scale.runtime, settings)?.scale(&scale.counts)?;
    Ok(ExitCode::SUCCESS)
}
