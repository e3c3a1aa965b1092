//! Snapshots of whole commands, uv-style: [`settings`] gives the `insta` settings whose
//! filters replace what changes from run to run (temp paths, ports, pids, durations,
//! timestamps, generated names and hashes, rollout progress while waiting), and
//! [`zeppelin_snapshot!`] records a command's exit code, stdout and stderr together in one
//! `.snap` file.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

/// The `insta` settings for snapshots of commands run in `dirs` (each replaced by
/// `[TEMP]`): every filter a `run`, `ps`, `deploy` or `delete` output needs to be stable.
pub fn settings(dirs: &[&Path]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for dir in dirs {
        // The canonical form first: it may be longer (a symlinked /tmp) and contain the other.
        if let Ok(canonical) = dir.canonicalize() {
            settings.add_filter(&literal(&canonical.display().to_string()), "[TEMP]");
        }
        settings.add_filter(&literal(&dir.display().to_string()), "[TEMP]");
    }
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    settings
}

/// What varies between runs, in the order it is replaced.
const FILTERS: &[(&str, &str)] = &[
    // RFC 3339 timestamps (history, logs) and plain clock times.
    (
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
        "[TIMESTAMP]",
    ),
    // Ports the tests picked: addresses, URLs and `port N` in messages.
    (
        r"(127\.0\.0\.1|localhost|0\.0\.0\.0):\d{2,5}\b",
        "$1:[PORT]",
    ),
    (r"\bport \d{2,5}\b", "port [PORT]"),
    // Process ids in messages.
    (r"\bpid \d+\b", "pid [PID]"),
    // The `ps` JSON: a replica's pid, port and uptime, a job run's duration (seconds, as floats).
    (r#""pid": \d+"#, r#""pid": "[PID]""#),
    (r#""port": \d+"#, r#""port": "[PORT]""#),
    (r#""uptime": [0-9.e-]+"#, r#""uptime": "[DURATION]""#),
    (r#""duration": [0-9.e-]+"#, r#""duration": "[DURATION]""#),
    // The `ps` table: the PID column follows the REPLICA column (`api.0`), the replica's
    // PORT is the last column.
    (r"(?m)^( *\S+ +[a-z0-9-]+\.\d+ +)\d+\b", "${1}[PID]"),
    (r"(?m)( [a-z-]+ +\d+ +\S+ +)\d{4,5}$", "${1}[PORT]"),
    // Durations as the CLI prints them: `1.2s`, `350ms`, `2m3s`, `4µs`.
    (
        r"\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h)(\d+(\.\d+)?(ms|s|m))*\b",
        "[DURATION]",
    ),
    // Names Kubernetes generates: a pod `api-5d8f9c7b6-x2x9q`, a ReplicaSet `api-5d8f9c7b6`.
    (r"\b([a-z0-9-]+)-[a-z0-9]{8,10}-[a-z0-9]{5}\b", "$1-[POD]"),
    // Content hashes (revision and spec hashes).
    (r"\b[0-9a-f]{12,64}\b", "[HASH]"),
    // Rollout progress while waiting is dropped: how many such lines there are, and where
    // they fall between other subs' lines, depends on timing. The line that says a sub
    // rolled out stays.
    (r"(?m)^  [a-z0-9-]+: [^\n]*; waiting for [^\n]*\n", ""),
    // Table columns are as wide as their widest value, which the filters above change:
    // the gap between two columns becomes two spaces (indentation is kept).
    (r"(\S) {2,}", "$1  "),
];

/// `text` as a regular expression that matches it literally.
fn literal(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A command's outcome as one text: its exit code, then stdout and stderr in full, so a
/// snapshot shows what a user saw on each stream.
pub fn outcome(output: &Output) -> String {
    let mut text = String::new();
    let code = output
        .status
        .code()
        .map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string());
    let _ = writeln!(text, "success: {}", output.status.success());
    let _ = writeln!(text, "exit_code: {code}");
    let _ = writeln!(
        text,
        "----- stdout -----\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let _ = write!(
        text,
        "----- stderr -----\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// `zeppelin_snapshot!(NAME, settings, output)`: asserts a command's [`outcome`] against
/// the snapshot `NAME` under the filters of `settings`.
#[macro_export]
macro_rules! zeppelin_snapshot {
    ($name:expr, $settings:expr, $output:expr) => {
        $settings.bind(|| {
            let outcome = $crate::harness::snapshot::outcome(&$output);
            insta::assert_snapshot!($name, outcome);
        })
    };
}
