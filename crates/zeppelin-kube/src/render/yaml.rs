//! YAML text for Kubernetes objects, safe for every YAML reader Kubernetes tools use.
//!
//! General YAML libraries follow YAML 1.2, where `on`, `yes`, `12:30` or `1_000` are plain
//! strings and so are written unquoted; `kubectl` and most Kubernetes tooling read YAML 1.1,
//! where they are booleans and numbers, and a ConfigMap holding `LOG: on` is then refused.
//! This writer is deliberately conservative instead: a string is written plain only when it
//! cannot mean anything but a string in either version, and double-quoted (JSON escapes,
//! which YAML shares) otherwise. It writes block style with sorted keys, `apiVersion` and
//! `kind` first, so output is stable and reads like `kubectl get -o yaml`.

use std::fmt::Write as _;

use serde_json::Value;

/// One object (as JSON) as a YAML document, without the `---` separator.
pub(crate) fn document(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => {
            let first = ["apiVersion", "kind"];
            let mut keys: Vec<&String> =
                map.keys().filter(|k| first.contains(&k.as_str())).collect();
            keys.sort_by_key(|k| first.iter().position(|f| f == k));
            keys.extend(map.keys().filter(|k| !first.contains(&k.as_str())));
            for key in keys {
                entry(&mut out, 0, key, &map[key.as_str()]);
            }
        }
        other => {
            out.push_str(&scalar_or_empty(other));
            out.push('\n');
        }
    }
    out
}

fn entry(out: &mut String, indent: usize, key: &str, value: &Value) {
    pad(out, indent);
    out.push_str(&string(key));
    out.push(':');
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            mapping(out, indent + 2, map);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            sequence(out, indent, items);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar_or_empty(other));
            out.push('\n');
        }
    }
}

fn mapping(out: &mut String, indent: usize, map: &serde_json::Map<String, Value>) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        entry(out, indent, key, &map[key.as_str()]);
    }
}

/// A block sequence at `indent`: each item starts with `- ` and nests two columns deeper.
fn sequence(out: &mut String, indent: usize, items: &[Value]) {
    for item in items {
        let mut nested = String::new();
        match item {
            Value::Object(map) if !map.is_empty() => mapping(&mut nested, indent + 2, map),
            Value::Array(inner) if !inner.is_empty() => sequence(&mut nested, indent + 2, inner),
            other => {
                pad(out, indent);
                out.push_str("- ");
                out.push_str(&scalar_or_empty(other));
                out.push('\n');
                continue;
            }
        }
        // The item's first line takes the dash in place of its indentation.
        pad(out, indent);
        out.push_str("- ");
        out.push_str(&nested[indent + 2..]);
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar_or_empty(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// A string, plain when that is unambiguous in YAML 1.1 and 1.2, else double-quoted.
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        let mut quoted = String::with_capacity(s.len() + 2);
        quoted.push('"');
        for c in s.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                '\n' => quoted.push_str("\\n"),
                '\t' => quoted.push_str("\\t"),
                '\r' => quoted.push_str("\\r"),
                c if c.is_control() => {
                    let _ = write!(quoted, "\\u{:04x}", u32::from(c));
                }
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    }
}

/// Words YAML 1.1 reads as booleans or null, in any case.
const SPECIAL_WORDS: [&str; 11] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
];

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // Starting with a letter or `/` rules out numbers, timestamps, sexagesimals and every
    // indicator character.
    if !(first.is_ascii_alphabetic() || first == '/') {
        return false;
    }
    if SPECIAL_WORDS.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    if s.ends_with([' ', ':']) || s.contains(": ") || s.contains(" #") {
        return false;
    }
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                ' ' | '-'
                    | '_'
                    | '.'
                    | '/'
                    | '@'
                    | '+'
                    | '='
                    | '('
                    | ')'
                    | '$'
                    | '%'
                    | ':'
                    | '`'
                    | ','
                    | ';'
            )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_1_1_words_and_numbers_are_quoted() {
        for s in [
            "on",
            "Off",
            "YES",
            "y",
            "N",
            "true",
            "null",
            "~",
            "12:30",
            "1_000",
            "2026-01-01",
            "0x10",
            "010",
            "1e3",
            ".5",
            "-",
            "",
            "8081",
            "0.1.0",
            "a: b",
            "a #b",
            "*x",
            "&x",
            "!x",
            "'x",
            "\"x",
            "[x]",
            "{x}",
            "x\ny",
            "trailing ",
            "@x",
            "%x",
            "`x",
        ] {
            assert!(
                string(s).starts_with('"'),
                "{s:?} must be quoted, got {}",
                string(s)
            );
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for s in [
            "info",
            "api:8081",
            "app.kubernetes.io/name",
            "sha256:abc",
            "/healthz",
            "ghcr.io/acme/api:1.4.2",
            "RollingUpdate",
            "CKV_K8S_43=image `x` is given by tag",
        ] {
            assert_eq!(string(s), s);
        }
    }

    #[test]
    fn documents_read_back_as_the_same_value() {
        let value = json!({
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": { "name": "shop-conf", "labels": {} },
            "data": { "LOG": "on", "MULTI": "a\n\"b\"\\c", "PORT": "8081", "EMPTY": "" },
            "list": [
                { "name": "x", "value": "1", "nested": [ "a", { "b": true } ] },
                [ 1, 2 ],
                [],
                null,
                3.5
            ]
        });
        let text = document(&value);
        assert!(
            text.starts_with("apiVersion: v1\nkind: ConfigMap\n"),
            "{text}"
        );
        let back: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
    }
}
