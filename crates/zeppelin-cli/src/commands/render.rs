//! `zeppelin render`: the Kubernetes objects of the app, on stdout or one file per object.
//!
//! stdout carries only the objects, so it can be piped into `kubectl` or committed; warnings
//! and the note about left-out secrets go to stderr.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use miette::{Context as _, IntoDiagnostic as _};
use zeppelin_kube::{RenderOptions, output};

use crate::args::{ManifestFormat, RenderArgs};
use crate::settings::GlobalSettings;

/// What `render` was asked for, resolved from its arguments.
pub(crate) struct RenderSettings {
    format: ManifestFormat,
    output: Option<PathBuf>,
    include_secrets: bool,
}

impl From<RenderArgs> for RenderSettings {
    fn from(args: RenderArgs) -> Self {
        Self {
            format: args.format,
            output: args.output,
            include_secrets: args.include_secrets,
        }
    }
}

pub(crate) fn render(
    render: &RenderSettings,
    settings: &GlobalSettings,
) -> miette::Result<ExitCode> {
    let app = settings.load_app()?;
    let secrets = if render.include_secrets {
        Some(zeppelin_kube::secrets::resolve(&app).into_diagnostic()?)
    } else {
        None
    };
    let rendered = zeppelin_kube::render(&app, &RenderOptions { secrets }).into_diagnostic()?;
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
            }
            eprintln!(
                "wrote {} objects to {}",
                rendered.objects.len(),
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
