//! A small harness for tests that run the real `zeppelin` binary in a temporary folder,
//! in the spirit of just's `Test` builder: write files, run a command, assert on the exit
//! status, the output and the files left behind.

#![allow(dead_code, unreachable_pub)] // Each test binary uses a different part of it.

use std::path::{Path, PathBuf};
use std::process::Output;

pub mod app;
pub mod cluster;
pub mod snapshot;
pub mod sub;

use assert_cmd::Command;

/// A temporary folder to run `zeppelin` in.
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("zeppelin-test-")
                .tempdir()
                .expect("a temporary folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `relative`, creating folders as needed.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// `zeppelin ARGS…` run in this folder, with a plain, colourless environment.
    pub fn zeppelin(&self, args: &[&str]) -> Output {
        self.zeppelin_in(".", args)
    }

    /// `zeppelin ARGS…` run in a sub-folder of this one.
    pub fn zeppelin_in(&self, relative: &str, args: &[&str]) -> Output {
        Command::cargo_bin("zeppelin")
            .unwrap()
            .current_dir(self.dir.path().join(relative))
            .env_remove("ZEPPELIN_FILE")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap()
    }

    /// Text with this folder's path replaced by `[TEMP]`, for stable snapshots.
    pub fn redact(&self, text: &[u8]) -> String {
        let text = String::from_utf8_lossy(text);
        let root = self.dir.path().display().to_string();
        let canonical = self
            .dir
            .path()
            .canonicalize()
            .unwrap()
            .display()
            .to_string();
        text.replace(&canonical, "[TEMP]").replace(&root, "[TEMP]")
    }
}

/// The exit code, for assertions that read as `assert_eq!(code(&out), 1)`.
pub fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("exited, not killed by a signal")
}
