//! Turns the TOML tree into the app model, collecting every mistake instead of stopping at
//! the first, each with the span of the key or value at fault.
//!
//! The decoder reads the tree that `toml` parses with spans ([`DeTable`]) through
//! [`TableView`]s: each view remembers which keys were asked for, so any key nobody asked
//! for is reported as unknown, with the nearest known key as a suggestion.

mod app;
mod job;
mod kubernetes;
mod sub;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::diagnostic::{ErrorKind, Finding};
use crate::duration::AppDuration;
use crate::model::App;
use crate::quantity::Quantity;

pub(crate) use app::decode_app;

/// Byte spans of the values (and table names) the decoder read, by dotted path
/// (`sub.api.port`, `sub.web.depends_on[0]`, `route[1].host`), for the validator.
#[derive(Debug, Default)]
pub(crate) struct Spans(HashMap<String, Range<usize>>);

impl Spans {
    pub(crate) fn get(&self, path: &str) -> Option<Range<usize>> {
        self.0.get(path).cloned()
    }

    /// The span at `path`, or failing that at each shorter prefix of it; never fails.
    pub(crate) fn nearest(&self, path: &str) -> Range<usize> {
        let mut path = path;
        loop {
            if let Some(span) = self.get(path) {
                return span;
            }
            match path.rfind(['.', '[']) {
                Some(i) => path = &path[..i],
                None => return 0..0,
            }
        }
    }
}

/// Collects findings and spans while the tree is read.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    pub(crate) findings: Vec<Finding>,
    pub(crate) spans: Spans,
}

type Value<'i> = Spanned<DeValue<'i>>;

/// A TOML table being read; see the module docs.
pub(crate) struct TableView<'a, 'i> {
    path: String,
    table: &'a DeTable<'i>,
    span: Range<usize>,
    asked: RefCell<Vec<&'static str>>,
}

impl<'a, 'i> TableView<'a, 'i> {
    pub(crate) fn new(path: impl Into<String>, table: &'a DeTable<'i>, span: Range<usize>) -> Self {
        Self {
            path: path.into(),
            table,
            span,
            asked: RefCell::new(Vec::new()),
        }
    }

    /// The dotted path of a key of this table.
    pub(crate) fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub(crate) fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// Looks a key up and marks it as known.
    pub(crate) fn get(&self, key: &'static str) -> Option<&'a Value<'i>> {
        self.asked.borrow_mut().push(key);
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    /// Every entry, for tables whose keys are names the user picks (`[conf]`, `[sub]`).
    pub(crate) fn entries(
        &self,
    ) -> impl Iterator<Item = (&'a Spanned<DeString<'i>>, &'a Value<'i>)> {
        self.table.iter()
    }

    /// Reports the keys nobody asked for. Call once every known key has been read.
    pub(crate) fn finish(self, dec: &mut Decoder) {
        let asked = self.asked.into_inner();
        for (key, _) in self.table {
            let name = key.get_ref().as_ref();
            if asked.contains(&name) {
                continue;
            }
            let mut finding = Finding::new(
                ErrorKind::UnknownKey,
                key.span(),
                format!("unknown key `{}`", join(&self.path, name)),
            )
            .label("not a key Zeppelin knows");
            finding = match suggest(name, &asked) {
                Some(near) => finding.help(format!("did you mean `{near}`?")),
                None if asked.is_empty() => finding,
                None => finding.help(format!("expected one of: {}", list(&asked))),
            };
            dec.findings.push(finding);
        }
    }
}

/// The closest known key, when it is close enough to be a typo.
pub(crate) fn suggest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 4).clamp(1, 3) && *d < k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The article-and-noun a user reads for a TOML type: "a string", "an integer".
pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl Decoder {
    fn record(&mut self, path: &str, span: Range<usize>) {
        self.spans.0.insert(path.to_owned(), span);
    }

    /// Records the span of a table's name (`api` in `[sub.api]`), used when a finding
    /// concerns the whole table.
    pub(crate) fn record_name(&mut self, path: &str, key: &Spanned<DeString<'_>>) {
        self.record(path, key.span());
    }

    pub(crate) fn wrong_type(&mut self, path: &str, value: &Value<'_>, expected: &str) {
        self.findings.push(
            Finding::new(
                ErrorKind::WrongType,
                value.span(),
                format!(
                    "`{path}` must be {expected}, not {}",
                    type_name(value.get_ref())
                ),
            )
            .label(format!("expected {expected}")),
        );
    }

    pub(crate) fn invalid(
        &mut self,
        kind: ErrorKind,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> &mut Finding {
        self.findings.push(Finding::new(kind, span, message));
        self.findings.last_mut().expect("just pushed")
    }

    /// A key that must be an environment variable name but is not.
    pub(crate) fn invalid_env_name(
        &mut self,
        span: Range<usize>,
        message: String,
        why: &str,
        name: &str,
    ) {
        let finding = self.invalid(ErrorKind::InvalidName, span, message);
        "not an environment variable name".clone_into(&mut finding.label);
        finding.help = Some(format!(
            "{why}; try `{}`",
            crate::names::env_name_suggestion(name)
        ));
    }

    pub(crate) fn missing(&mut self, table: &TableView<'_, '_>, key: &str, what: &str) {
        self.findings.push(
            Finding::new(
                ErrorKind::MissingKey,
                table.span(),
                format!("`{}` is missing", table.path_of(key)),
            )
            .label(format!("this needs `{key}`"))
            .help(what.to_owned()),
        );
    }

    pub(crate) fn table<'a, 'i>(
        &mut self,
        path: &str,
        value: &'a Value<'i>,
    ) -> Option<TableView<'a, 'i>> {
        self.record(path, value.span());
        if let DeValue::Table(t) = value.get_ref() {
            Some(TableView::new(path, t, value.span()))
        } else {
            self.wrong_type(path, value, "a table");
            None
        }
    }

    pub(crate) fn string(&mut self, path: &str, value: &Value<'_>) -> Option<String> {
        self.record(path, value.span());
        if let DeValue::String(s) = value.get_ref() {
            Some(s.to_string())
        } else {
            self.wrong_type(path, value, "a string");
            None
        }
    }

    pub(crate) fn boolean(&mut self, path: &str, value: &Value<'_>) -> Option<bool> {
        self.record(path, value.span());
        if let DeValue::Boolean(b) = value.get_ref() {
            Some(*b)
        } else {
            self.wrong_type(path, value, "a boolean (true or false)");
            None
        }
    }

    pub(crate) fn integer(&mut self, path: &str, value: &Value<'_>) -> Option<i64> {
        self.record(path, value.span());
        if let DeValue::Integer(i) = value.get_ref() {
            let digits = i.as_str().replace('_', "");
            let (sign, digits) = match digits.strip_prefix('-') {
                Some(rest) => (-1, rest.to_owned()),
                None => (1, digits.trim_start_matches('+').to_owned()),
            };
            let digits = digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0o"))
                .or_else(|| digits.strip_prefix("0b"))
                .unwrap_or(&digits);
            match i64::from_str_radix(digits, i.radix()) {
                Ok(n) => Some(sign * n),
                Err(_) => {
                    self.invalid(
                        ErrorKind::InvalidValue,
                        value.span(),
                        format!("`{path}` is too large"),
                    );
                    None
                }
            }
        } else {
            self.wrong_type(path, value, "an integer");
            None
        }
    }

    /// A whole number of at least `min`; `kind` names the mistake when it is lower.
    pub(crate) fn count(
        &mut self,
        path: &str,
        value: &Value<'_>,
        min: u32,
        kind: ErrorKind,
    ) -> Option<u32> {
        let n = self.integer(path, value)?;
        match u32::try_from(n) {
            Ok(n) if n >= min => Some(n),
            _ => {
                self.invalid(
                    kind,
                    value.span(),
                    format!("`{path}` must be {min} or more, not {n}"),
                )
                .label = format!("expected a whole number ≥ {min}");
                None
            }
        }
    }

    pub(crate) fn port(&mut self, path: &str, value: &Value<'_>) -> Option<u16> {
        let n = self.integer(path, value)?;
        match u16::try_from(n) {
            Ok(p) if p >= 1 => Some(p),
            _ => {
                self.invalid(
                    ErrorKind::PortOutOfRange,
                    value.span(),
                    format!("`{path}` is {n}, outside 1–65535"),
                )
                .label = String::from("expected a port from 1 to 65535");
                None
            }
        }
    }

    pub(crate) fn duration(&mut self, path: &str, value: &Value<'_>) -> Option<AppDuration> {
        let s = self.string(path, value)?;
        match AppDuration::parse(&s) {
            Ok(d) => Some(d),
            Err(e) => {
                self.invalid(
                    ErrorKind::InvalidDuration,
                    value.span(),
                    format!("`{path}`: {e}"),
                )
                .help = Some("write a duration such as `500ms`, `5s`, `2m` or `1m30s`".to_owned());
                None
            }
        }
    }

    pub(crate) fn quantity(&mut self, path: &str, value: &Value<'_>) -> Option<Quantity> {
        let text = match value.get_ref() {
            DeValue::Integer(i) => i.as_str().to_owned(),
            DeValue::Float(f) => f.as_str().to_owned(),
            _ => self.string(path, value)?,
        };
        self.record(path, value.span());
        match Quantity::parse(&text) {
            Ok(q) => Some(q),
            Err(e) => {
                self.invalid(
                    ErrorKind::InvalidQuantity,
                    value.span(),
                    format!("`{path}`: {e}"),
                )
                .help = Some(
                    "write a Kubernetes quantity such as `250m`, `1.5`, `256Mi` or `1G`".to_owned(),
                );
                None
            }
        }
    }

    /// A scalar as an environment value: strings as they are, numbers and booleans as written.
    pub(crate) fn scalar(&mut self, path: &str, value: &Value<'_>) -> Option<String> {
        self.record(path, value.span());
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            DeValue::Integer(i) => Some(i.as_str().to_owned()),
            DeValue::Float(f) => Some(f.as_str().to_owned()),
            DeValue::Boolean(b) => Some(b.to_string()),
            _ => {
                self.wrong_type(path, value, "a string, number or boolean");
                None
            }
        }
    }

    /// An array whose items are each read by `item`; items that fail are left out.
    pub(crate) fn array<T>(
        &mut self,
        path: &str,
        value: &Value<'_>,
        mut item: impl FnMut(&mut Self, &str, &Value<'_>) -> Option<T>,
    ) -> Option<Vec<T>> {
        self.record(path, value.span());
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(path, value, "an array");
            return None;
        };
        Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| item(self, &format!("{path}[{i}]"), v))
                .collect(),
        )
    }

    /// A table of user-named keys with scalar values (`[conf]`, `env`, labels).
    /// `check_key` reports keys that are not acceptable names.
    pub(crate) fn string_map(
        &mut self,
        path: &str,
        value: &Value<'_>,
        check_key: impl Fn(&str) -> Option<String>,
    ) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        let Some(view) = self.table(path, value) else {
            return map;
        };
        for (key, v) in view.entries() {
            let name = key.get_ref().to_string();
            let key_path = view.path_of(&name);
            if let Some(problem) = check_key(&name) {
                self.invalid_env_name(
                    key.span(),
                    format!("`{key_path}`: {problem}"),
                    "these become environment variables",
                    &name,
                );
            }
            if let Some(s) = self.scalar(&key_path, v) {
                map.insert(name, s);
            }
        }
        map
    }
}

/// Decodes `text` (the contents of an app file) into findings and, when there are none to
/// stop it, a model.
pub(crate) fn decode(text: &str, source: crate::model::AppSource) -> (Option<App>, Decoder) {
    let mut dec = Decoder::default();
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            dec.findings.push(
                Finding::new(
                    ErrorKind::Syntax,
                    span,
                    format!("invalid TOML: {}", e.message().trim()),
                )
                .label("here"),
            );
        }
        return (None, dec);
    }
    let view = TableView::new("", root.get_ref(), root.span());
    let app = decode_app(&mut dec, view, source);
    (Some(app), dec)
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn suggests_near_misses_only() {
        let known = ["replicas", "depends_on", "port", "run", "image"];
        assert_eq!(suggest("replica", &known), Some("replicas"));
        assert_eq!(suggest("depend_on", &known), Some("depends_on"));
        assert_eq!(suggest("prot", &known), Some("port"));
        assert_eq!(suggest("banana", &known), None);
        assert_eq!(suggest("x", &known), None);
        assert_eq!(suggest("db", &["web", "api"]), None);
    }
}
