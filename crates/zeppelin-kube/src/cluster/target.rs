//! The app a cluster command acts on, which every command of `crate::cluster` takes.

/// The app a cluster command acts on.
#[derive(Debug, Clone)]
pub struct Target {
    pub app: String,
    pub namespace: String,
}
