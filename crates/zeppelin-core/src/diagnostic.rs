//! Diagnostics about an app file: what is wrong, where (file, line, column, span) and what
//! to write instead.
//!
//! They implement [`miette::Diagnostic`] so the CLI can draw the offending line with a
//! label under the span, and serialize to JSON for editors and CI.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceCode};

/// The kind of mistake, stable across releases: editors and tests match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The file is not valid TOML.
    Syntax,
    /// A key Zeppelin does not know.
    UnknownKey,
    /// A value of the wrong TOML type.
    WrongType,
    /// A required key is absent.
    MissingKey,
    /// A name that is not a DNS-1123 label, or an invalid environment variable name.
    InvalidName,
    /// A name whose generated Kubernetes object names would be too long.
    NameTooLong,
    /// A reference (`depends_on`, `route.sub`, `[kubernetes.sub.X]`) to a sub that does not exist.
    UnknownSub,
    /// Subs that depend on each other in a circle.
    DependencyCycle,
    /// Two subs, or a sub and the gateway, on the same port.
    DuplicatePort,
    /// A port outside 1–65535.
    PortOutOfRange,
    /// A route to a sub that has no port.
    RouteWithoutPort,
    /// Two routes with the same host and path.
    DuplicateRoute,
    /// A route host or path that cannot be served.
    InvalidRoute,
    /// `autoscale` bounds that cannot hold.
    InvalidAutoscale,
    /// A replica count below zero.
    InvalidReplicas,
    /// A health check of the wrong shape.
    InvalidHealth,
    /// A secret without exactly one of `env` and `file`.
    InvalidSecret,
    /// A duration such as `5s` that cannot be read.
    InvalidDuration,
    /// A Kubernetes quantity such as `250m` that cannot be read.
    InvalidQuantity,
    /// A cron schedule or time zone that cannot be read.
    InvalidSchedule,
    /// A key a sub has that a job cannot (`port`, `replicas`, `health`...), or a job
    /// referred to where only a sub fits.
    NotForJobs,
    /// Any other value outside what the key accepts.
    InvalidValue,
}

impl ErrorKind {
    /// The kebab-case code shown as `zeppelin::<code>`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Syntax => "syntax",
            Self::UnknownKey => "unknown-key",
            Self::WrongType => "wrong-type",
            Self::MissingKey => "missing-key",
            Self::InvalidName => "invalid-name",
            Self::NameTooLong => "name-too-long",
            Self::UnknownSub => "unknown-sub",
            Self::DependencyCycle => "dependency-cycle",
            Self::DuplicatePort => "duplicate-port",
            Self::PortOutOfRange => "port-out-of-range",
            Self::RouteWithoutPort => "route-without-port",
            Self::DuplicateRoute => "duplicate-route",
            Self::InvalidRoute => "invalid-route",
            Self::InvalidAutoscale => "invalid-autoscale",
            Self::InvalidReplicas => "invalid-replicas",
            Self::InvalidHealth => "invalid-health",
            Self::InvalidSecret => "invalid-secret",
            Self::InvalidDuration => "invalid-duration",
            Self::InvalidQuantity => "invalid-quantity",
            Self::InvalidSchedule => "invalid-schedule",
            Self::NotForJobs => "not-for-jobs",
            Self::InvalidValue => "invalid-value",
        }
    }
}

/// A diagnostic before it is tied to a file: what the decoder and validator produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
    pub(crate) span: Range<usize>,
    pub(crate) label: String,
    pub(crate) help: Option<String>,
}

impl Finding {
    pub(crate) fn new(kind: ErrorKind, span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            span,
            label: String::new(),
            help: None,
        }
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// One mistake in an app file, located by line and column.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diagnostic {
    pub kind: ErrorKind,
    pub message: String,
    pub file: PathBuf,
    /// 1-based line of the span's start.
    pub line: usize,
    /// 1-based column (in characters) of the span's start.
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Byte range in the file.
    pub span: Range<usize>,
    #[serde(skip)]
    source: NamedSource<Arc<str>>,
}

impl Diagnostic {
    pub(crate) fn locate(
        finding: Finding,
        file: &Path,
        source: &NamedSource<Arc<str>>,
        text: &str,
    ) -> Self {
        let start = finding.span.start.min(text.len());
        let end = finding.span.end.clamp(start, text.len());
        let (line, column) = line_column(text, start);
        let (end_line, end_column) = line_column(text, end);
        Self {
            kind: finding.kind,
            message: finding.message,
            file: file.to_path_buf(),
            line,
            column,
            end_line,
            end_column,
            label: finding.label,
            help: finding.help,
            span: start..end,
            source: source.clone(),
        }
    }
}

/// 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("zeppelin::{}", self.kind.code())))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = (!self.label.is_empty()).then(|| self.label.clone());
        let len = self.span.end - self.span.start;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            label,
            self.span.start,
            len,
        ))))
    }
}

/// Every mistake found in one app file; nothing is run or written when this is returned.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} has {} {}", file.display(), diagnostics.len(), if diagnostics.len() == 1 { "error" } else { "errors" })]
pub struct AppFileError {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

/// The file-level summary, with each mistake as a related diagnostic so a renderer draws
/// every one with its own snippet.
impl miette::Diagnostic for AppFileError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("zeppelin::invalid-app-file"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(
            "fix these and run `zeppelin check` again; nothing was run or written",
        ))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(
            self.diagnostics
                .iter()
                .map(|d| d as &dyn miette::Diagnostic),
        ))
    }
}

impl AppFileError {
    pub(crate) fn new(file: &Path, text: &str, mut findings: Vec<Finding>) -> Self {
        findings.sort_by_key(|f| (f.span.start, f.span.end));
        findings.dedup();
        let source = NamedSource::new(file.display().to_string(), Arc::<str>::from(text))
            .with_language("toml");
        let diagnostics = findings
            .into_iter()
            .map(|f| Diagnostic::locate(f, file, &source, text))
            .collect();
        Self {
            file: file.to_path_buf(),
            diagnostics,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // `=` after a two-byte character is the 4th character of line 2.
        assert_eq!(line_column(text, 10), (2, 4));
    }
}
