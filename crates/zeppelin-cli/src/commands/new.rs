//! `zeppelin new NAME`: a new app folder with a runnable sample.
//!
//! The folder is built in a temporary sibling and renamed into place, so a failure
//! half-way leaves nothing behind, and an existing non-empty folder is never touched.

use std::path::Path;
use std::process::ExitCode;

use miette::{IntoDiagnostic, WrapErr, miette};
use zeppelin_core::names::{MAX_APP_NAME, dns_label_problem, dns_label_suggestion};

use crate::sample;
use crate::settings::{GlobalSettings, NewSettings};

pub(crate) fn new(new: &NewSettings, settings: &GlobalSettings) -> miette::Result<ExitCode> {
    let name = new.name.as_str();
    let path = new.path.as_deref();
    if let Some(problem) = dns_label_problem(name) {
        return Err(miette!(
            help = format!(
                "app names become Kubernetes names; try `zeppelin new {}`",
                dns_label_suggestion(name)
            ),
            "`{name}` cannot be an app name: {problem}"
        ));
    }
    if name.len() > MAX_APP_NAME {
        return Err(miette!(
            help = "object names are `<app>-<sub>` and must fit in 63 characters",
            "`{name}` is {} characters long; app names have at most {MAX_APP_NAME}",
            name.len()
        ));
    }
    let target = settings.cwd().join(path.unwrap_or_else(|| Path::new(name)));
    if is_non_empty_dir(&target) || (target.exists() && !target.is_dir()) {
        return Err(miette!(
            help = "pick another name or folder (`--path DIR`), or empty it first",
            "{} already exists and is not an empty folder; nothing was written",
            target.display()
        ));
    }
    let parent = target.parent().unwrap_or(settings.cwd());
    std::fs::create_dir_all(parent)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.zeppelin-new-"))
        .tempdir_in(parent)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write in {}", parent.display()))?;
    for file in sample::FILES {
        let destination = staging.path().join(file.path);
        if let Some(folder) = destination.parent() {
            std::fs::create_dir_all(folder).into_diagnostic()?;
        }
        std::fs::write(&destination, file.contents_for(name))
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", destination.display()))?;
    }
    std::fs::rename(staging.path(), &target)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create {}", target.display()))?;
    // The staging folder is now the app; nothing is left to remove.
    let _ = staging.keep();

    let shown = path.map_or_else(|| name.to_owned(), |p| p.display().to_string());
    println!(
        "Created app `{name}` in {shown}/: zeppelin.toml, app/ (web, api, worker; jobs migrate, cleanup), log/"
    );
    println!();
    println!("Next:");
    println!("  cd {shown}");
    println!("  zeppelin check");
    Ok(ExitCode::SUCCESS)
}

fn is_non_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_some())
}
