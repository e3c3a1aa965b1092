//! `zeppelin render`: the Kubernetes objects of the app, on stdout or one file per object.
//!
//! stdout carries only the objects, so it can be piped into `kubectl` or committed; warnings
//! and the note about left-out secrets go to stderr.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use miette::{Context as _, IntoDiagnostic as _};
use zeppelin_kube::{RenderOptions, output};

use crate::args::ManifestFormat;
use crate::settings::{GlobalSettings, RenderSettings};

pub(crate) fn render(
    render: &RenderSettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    // `--namespace` applies to what is rendered as it does to what is deployed.
    let app = settings.load_cluster_app()?;
    // The values are read even when the Secret is left out: the config hash covers them,
    // so the output matches what `zeppelin deploy` applies.
    let secrets = match zeppelin_kube::secrets::resolve(&app) {
        Ok(values) => Some(values),
        Err(err) if render.include_secrets => return Err(err).into_diagnostic(),
        Err(err) => {
            eprintln!(
                "note: {}; the config hash covers the secrets' sources instead of their values, so it differs from what `zeppelin deploy` writes",
                zeppelin_core::error_chain(&err)
            );
            None
        }
    };
    let options = RenderOptions {
        secrets,
        include_secret: render.include_secrets,
    };
    let rendered = zeppelin_kube::render(&app, &options).into_diagnostic()?;
    for warning in &rendered.warnings {
        eprintln!("warning: {warning}");
    }
    if rendered.secrets_left_out {
        eprintln!(
            "note: the Secret `{}-secrets` is left out; `--include-secrets` adds it with the values read now (`zeppelin deploy` always applies it)",
            app.name
        );
    }
    match &render.output {
        None => {
            let text = match render.format {
                ManifestFormat::Yaml => output::yaml_stream(&rendered),
                ManifestFormat::Json => output::json_list(&rendered),
            };
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`zeppelin render | head`) is not an error worth reporting.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
        }
        Some(dir) => {
            let dir = settings.cwd().join(dir);
            std::fs::create_dir_all(&dir)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot create the folder {}", dir.display()))?;
            let mut written = Vec::with_capacity(rendered.objects.len());
            for (index, object) in rendered.objects.iter().enumerate() {
                let (extension, text) = match render.format {
                    ManifestFormat::Yaml => ("yaml", output::yaml(object)),
                    ManifestFormat::Json => ("json", output::json(object)),
                };
                let path = dir.join(output::file_name(
                    index,
                    rendered.objects.len(),
                    object,
                    extension,
                ));
                std::fs::write(&path, text)
                    .into_diagnostic()
                    .wrap_err_with(|| format!("cannot write {}", path.display()))?;
                written.push(path);
            }
            let removed = remove_stale(&dir, &written)?;
            eprintln!(
                "wrote {} objects to {}{}",
                rendered.objects.len(),
                dir.display(),
                match removed {
                    0 => String::new(),
                    n => format!(", removed {n} files of objects no longer rendered"),
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Removes files an earlier render wrote into `dir` that this one did not, so applying the
/// folder never brings back a removed object. Other files are left alone.
fn remove_stale(dir: &Path, written: &[PathBuf]) -> miette::Result<usize> {
    let entries = std::fs::read_dir(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot list the folder {}", dir.display()))?;
    let mut removed = 0;
    for entry in entries {
        let path = entry.into_diagnostic()?.path();
        let is_rendered = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(output::is_rendered_file_name);
        if is_rendered && path.is_file() && !written.contains(&path) {
            std::fs::remove_file(&path)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot remove the stale {}", path.display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}
