//! Settings of the commands about the app file itself: `new`, `check` and `render`.

use std::path::PathBuf;

use crate::args::{CheckArgs, Format, ManifestFormat, NewArgs, RenderArgs};

/// `zeppelin new NAME [--path DIR]`.
#[derive(Debug)]
pub(crate) struct NewSettings {
    /// The app's name.
    pub(crate) name: String,
    /// Its folder, when not `./NAME`.
    pub(crate) path: Option<PathBuf>,
}

impl From<NewArgs> for NewSettings {
    fn from(args: NewArgs) -> Self {
        Self {
            name: args.name,
            path: args.path,
        }
    }
}

/// `zeppelin check [--format]`.
#[derive(Debug)]
pub(crate) struct CheckSettings {
    pub(crate) format: Format,
}

impl From<CheckArgs> for CheckSettings {
    fn from(args: CheckArgs) -> Self {
        Self {
            format: args.format,
        }
    }
}

/// What `render` was asked for.
#[derive(Debug)]
pub(crate) struct RenderSettings {
    pub(crate) format: ManifestFormat,
    /// One file per object in this folder, instead of stdout.
    pub(crate) output: Option<PathBuf>,
    /// Whether the Secret (with its values) is rendered too.
    pub(crate) include_secrets: bool,
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
