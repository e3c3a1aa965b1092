//! What [`render`](super::render()) takes besides the app: the choices the app file cannot
//! make, such as the secret values a deploy has read.

use crate::render::secrets::SecretValues;

/// Choices `render` cannot read from the app file.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// The resolved secret values. They are hashed into each pod template's config hash, so
    /// a changed value rolls the pods; without them the secrets' sources stand in, and the
    /// hash differs from the one a deploy (which has the values) writes.
    pub secrets: Option<SecretValues>,
    /// Render the Secret object from `secrets`; off for output that may be shared or
    /// committed (the Secret must then exist already, or be applied by `zeppelin deploy`).
    pub include_secret: bool,
}
