//! What a controller holds while it reconciles one object: the server's state, the kinds it
//! acts on, the object, and its own name for the events it records.

use serde_json::Value;

use super::{Kinds, events, meta};
use crate::server::Shared;

/// One object being reconciled by the controller named `component`
/// (`statefulset-controller`), which records events about it under that name.
pub(super) struct Controlled<'a> {
    pub(super) shared: &'a Shared,
    pub(super) kinds: Kinds,
    pub(super) object: &'a Value,
    pub(super) component: &'static str,
}

impl Controlled<'_> {
    pub(super) fn name(&self) -> &str {
        meta(self.object, "name")
    }

    pub(super) fn namespace(&self) -> &str {
        meta(self.object, "namespace")
    }

    /// Records an event about the object, as its controller.
    pub(super) fn event(&self, kind: &str, reason: &str, message: &str) {
        events::record(
            self.shared,
            self.kinds,
            self.object,
            kind,
            reason,
            message,
            self.component,
        );
    }
}
