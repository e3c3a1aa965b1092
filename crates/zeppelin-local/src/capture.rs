//! Log capture: each replica's stdout and stderr, read line by line and written to
//! `log/<sub>.log` by one writer thread per sub, rotated by size.
//!
//! Every line becomes `TIMESTAMP SUB.REPLICA STREAM TEXT`. The pipes are read with
//! back-pressure (a bounded channel), so a fast writer slows down rather than losing lines;
//! a last line without a newline is kept, bytes are copied as they are (not UTF-8 is fine),
//! and a line longer than [`MAX_RECORD`] is split into several records rather than dropped.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;
use zeppelin_core::model::Logs;

use crate::error::Error;

/// The longest record written as one line; longer lines continue in the next record.
pub(crate) const MAX_RECORD: usize = 1024 * 1024;

/// Chunks (up to 64 KiB each, usually) waiting for the writer before readers are made to wait.
const QUEUE: usize = 64;

/// Which pipe a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Out,
    Err,
}

impl Stream {
    /// The word in the log file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Out => "out",
            Self::Err => "err",
        }
    }
}

/// One captured line, as handed to a foreground echo.
#[derive(Debug, Clone, Copy)]
pub struct LogLine<'a> {
    pub sub: &'a str,
    pub replica: u32,
    pub stream: Stream,
    /// The line without its newline; any bytes.
    pub text: &'a [u8],
}

/// Something shown every captured line as it is written (the foreground terminal).
pub type Echo = Arc<dyn Fn(&LogLine<'_>) + Send + Sync>;

/// Lines of one pipe read together, so they share a timestamp.
struct Chunk {
    time: jiff::Timestamp,
    replica: u32,
    stream: Stream,
    /// One or more lines, each ending in a newline.
    lines: Vec<u8>,
}

/// A sub's log file and the thread writing it; replicas send their lines through a handle.
#[derive(Clone)]
pub(crate) struct SubLog {
    tx: mpsc::Sender<Chunk>,
}

impl SubLog {
    /// Opens (creating) `log/<sub>.log` and starts its writer thread.
    pub(crate) fn open(
        sub: &str,
        path: PathBuf,
        settings: Logs,
        echo: Option<Echo>,
    ) -> Result<Self, Error> {
        Self::open_joined(sub, path, settings, echo).map(|(log, _)| log)
    }

    /// [`Self::open`], with the writer thread, which ends once every handle of the log is
    /// dropped and every line written and echoed: a job's run waits for it, so its last
    /// lines reach the caller before its end does.
    pub(crate) fn open_joined(
        sub: &str,
        path: PathBuf,
        settings: Logs,
        echo: Option<Echo>,
    ) -> Result<(Self, std::thread::JoinHandle<()>), Error> {
        let shown = path.clone();
        let open_error = |source| Error::LogFile {
            sub: sub.to_owned(),
            path: shown.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(open_error)?;
        }
        let file = open_append(&path).map_err(open_error)?;
        let size = file.metadata().map_err(open_error)?.len();
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            sub: sub.to_owned(),
            path,
            settings,
            file: BufWriter::with_capacity(256 * 1024, file),
            size,
            echo,
        };
        let thread = std::thread::Builder::new()
            .name(format!("log-{sub}"))
            .spawn(move || writer.run(rx))
            .map_err(open_error)?;
        Ok((Self { tx }, thread))
    }

    /// Starts copying one pipe of a replica into the log; the task ends at end of file.
    pub(crate) fn capture<R>(
        &self,
        pipe: R,
        replica: u32,
        stream: Stream,
    ) -> tokio::task::JoinHandle<()>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::with_capacity(64 * 1024, pipe);
            let mut partial = Vec::new();
            while let Some(lines) = next_lines(&mut reader, &mut partial).await {
                let chunk = Chunk {
                    time: jiff::Timestamp::now(),
                    replica,
                    stream,
                    lines,
                };
                if tx.send(chunk).await.is_err() {
                    return;
                }
            }
        })
    }
}

/// The next complete lines available (each ending in a newline): what one read brought, a
/// line cut at [`MAX_RECORD`], or at end of file the last line, given a newline. `None` at
/// end of file. Reading whole runs of lines at once keeps capture close to disk speed.
async fn next_lines<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    partial: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    loop {
        // A read error ends the pipe like its end does.
        let available = reader.fill_buf().await.unwrap_or_default();
        if available.is_empty() {
            if partial.is_empty() {
                return None;
            }
            let mut last = std::mem::take(partial);
            last.push(b'\n');
            return Some(last);
        }
        if let Some(end) = available.iter().rposition(|&b| b == b'\n') {
            let mut lines = std::mem::take(partial);
            lines.extend_from_slice(&available[..=end]);
            reader.consume(end + 1);
            return Some(lines);
        }
        let take = available.len().min(MAX_RECORD - partial.len());
        partial.extend_from_slice(&available[..take]);
        reader.consume(take);
        if partial.len() >= MAX_RECORD {
            let mut cut = std::mem::take(partial);
            cut.push(b'\n');
            return Some(cut);
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

struct Writer {
    sub: String,
    path: PathBuf,
    settings: Logs,
    file: BufWriter<File>,
    size: u64,
    echo: Option<Echo>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Chunk>) {
        loop {
            let chunk = match rx.try_recv() {
                Ok(chunk) => chunk,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Idle: make what was written visible before blocking.
                    self.flush();
                    match rx.blocking_recv() {
                        Some(chunk) => chunk,
                        None => break,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            self.write(&chunk);
        }
        self.flush();
    }

    fn write(&mut self, chunk: &Chunk) {
        let head = format!(
            "{} {}.{} {} ",
            chunk.time.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
            self.sub,
            chunk.replica,
            chunk.stream.as_str()
        );
        for line in chunk.lines.split_inclusive(|&b| b == b'\n') {
            let text = line.strip_suffix(b"\n").unwrap_or(line);
            let len = (head.len() + text.len() + 1) as u64;
            if self.size > 0 && self.size + len > self.settings.max_bytes {
                self.rotate();
            }
            let written = self
                .file
                .write_all(head.as_bytes())
                .and_then(|()| self.file.write_all(text))
                .and_then(|()| self.file.write_all(b"\n"));
            if let Err(err) = written {
                tracing::warn!(path = %self.path.display(), error = %err, "cannot write a log file");
            }
            self.size += len;
            if let Some(echo) = &self.echo {
                echo(&LogLine {
                    sub: &self.sub,
                    replica: chunk.replica,
                    stream: chunk.stream,
                    text,
                });
            }
        }
    }

    fn flush(&mut self) {
        if let Err(err) = self.file.flush() {
            tracing::warn!(path = %self.path.display(), error = %err, "cannot write a log file");
        }
    }

    /// `web.log` becomes `web.log.1`, `web.log.1` becomes `web.log.2`, … up to `keep`.
    fn rotate(&mut self) {
        self.flush();
        let keep = self.settings.keep;
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        let shifted = if keep == 0 {
            std::fs::remove_file(&self.path)
        } else {
            (1..keep)
                .rev()
                .try_for_each(|n| match std::fs::rename(numbered(n), numbered(n + 1)) {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
                    _ => Ok(()),
                })
                .and_then(|()| std::fs::rename(&self.path, numbered(1)))
        };
        match shifted.and_then(|()| open_append(&self.path)) {
            Ok(file) => {
                self.file = BufWriter::with_capacity(256 * 1024, file);
                self.size = 0;
            }
            Err(err) => {
                tracing::warn!(path = %self.path.display(), error = %err, "cannot rotate a log file");
                // Try again after another `max_size`, not on every line from now on.
                self.size = 0;
            }
        }
    }
}
