//! Things a render says besides the objects: rules the app file loosened, and checks that a
//! scanner such as checkov will skip because the user's input decided them.

use std::fmt;

/// One thing the person rendering should know; the objects are still rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The sub it concerns, or `None` for the whole app.
    pub sub: Option<String>,
    pub message: String,
}

impl Warning {
    pub(crate) fn sub(sub: &str, message: impl Into<String>) -> Self {
        Self {
            sub: Some(sub.to_owned()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sub {
            Some(sub) => write!(f, "sub `{sub}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
