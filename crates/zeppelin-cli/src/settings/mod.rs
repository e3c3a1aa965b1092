//! Settings: what each command was asked for, resolved from its clap arguments before any
//! work starts (uv's `settings.rs`). Commands take these, never the clap types of `args`.
//!
//! [`GlobalSettings`] holds the options every command shares (and finds the app file); each
//! command with options of its own has one struct here, built by `From` its arguments.

mod app;
mod cluster;
mod global;
mod local;

pub(crate) use app::{CheckSettings, NewSettings, RenderSettings};
pub(crate) use cluster::{DeleteSettings, DeploySettings, HistorySettings, RollbackSettings};
pub(crate) use global::GlobalSettings;
pub(crate) use local::{
    LogsSettings, PsSettings, RoutesSettings, RunJobSettings, RunSettings, RuntimeKind,
    ScaleSettings, StopSettings, SubsSettings, SuperviseSettings,
};
