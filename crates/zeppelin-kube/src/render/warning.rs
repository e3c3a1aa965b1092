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

/// Checks a scanner should skip on one object because the user's input decided them; each
/// becomes a `checkov.io/skipN` annotation and a warning.
pub(crate) struct Skips {
    sub: String,
    checks: Vec<(String, String)>,
    warnings: Vec<Warning>,
}

impl Skips {
    pub(crate) fn new(sub: &str) -> Self {
        Self {
            sub: sub.to_owned(),
            checks: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records that the user's input fails `checks`, for `reason`, and warns about it.
    pub(crate) fn skip(&mut self, checks: &[&str], reason: &str) {
        self.skip_quietly(checks, reason);
        self.warn(reason);
    }

    /// Warns about the sub without skipping a check: a rule loosened that no scanner checks.
    pub(crate) fn warn(&mut self, reason: impl Into<String>) {
        self.warnings.push(Warning::sub(&self.sub, reason));
    }

    /// Records a skip whose warning is given once for the whole app elsewhere.
    pub(crate) fn skip_quietly(&mut self, checks: &[&str], reason: &str) {
        // checkov splits the annotation at `=`, so the reason must not contain one.
        let reason = reason.replace('=', ":");
        for check in checks {
            self.checks.push(((*check).to_owned(), reason.clone()));
        }
    }

    /// One `checkov.io/skipN` annotation per skipped check.
    pub(crate) fn annotations(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.checks.iter().enumerate().map(|(i, (check, reason))| {
            (
                format!("checkov.io/skip{}", i + 1),
                format!("{check}={reason}"),
            )
        })
    }

    /// The warnings the skips gave, for the render's list.
    pub(crate) fn into_warnings(self) -> Vec<Warning> {
        self.warnings
    }
}
