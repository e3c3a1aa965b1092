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

/// Records waiting for the writer before readers are made to wait.
const QUEUE: usize = 4096;

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

struct Record {
    time: jiff::Timestamp,
    replica: u32,
    stream: Stream,
    bytes: Vec<u8>,
}

/// A sub's log file and the thread writing it; replicas send their lines through a handle.
pub(crate) struct SubLog {
    tx: mpsc::Sender<Record>,
}

impl SubLog {
    /// Opens (creating) `log/<sub>.log` and starts its writer thread.
    pub(crate) fn open(
        sub: &str,
        path: PathBuf,
        settings: Logs,
        echo: Option<Echo>,
    ) -> Result<Self, Error> {
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
        std::thread::Builder::new()
            .name(format!("log-{sub}"))
            .spawn(move || writer.run(rx))
            .map_err(open_error)?;
        Ok(Self { tx })
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
            loop {
                let mut bytes = Vec::new();
                match read_record(&mut reader, &mut bytes).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                }
                let record = Record {
                    time: jiff::Timestamp::now(),
                    replica,
                    stream,
                    bytes,
                };
                if tx.send(record).await.is_err() {
                    return;
                }
            }
        })
    }
}

/// Reads up to a newline, or [`MAX_RECORD`] bytes, whichever comes first.
async fn read_record<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    bytes: &mut Vec<u8>,
) -> std::io::Result<usize> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(bytes.len());
        }
        let room = MAX_RECORD - bytes.len();
        let (take, done) = match memchr_newline(available) {
            Some(at) if at < room => (at + 1, true),
            _ if available.len() >= room => (room, true),
            _ => (available.len(), false),
        };
        bytes.extend_from_slice(&available[..take]);
        reader.consume(take);
        if done {
            return Ok(bytes.len());
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
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
    fn run(mut self, mut rx: mpsc::Receiver<Record>) {
        loop {
            let record = match rx.try_recv() {
                Ok(record) => record,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Idle: make what was written visible before blocking.
                    self.flush();
                    match rx.blocking_recv() {
                        Some(record) => record,
                        None => break,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            self.write(&record);
        }
        self.flush();
    }

    fn write(&mut self, record: &Record) {
        let head = format!(
            "{} {}.{} {} ",
            record.time.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
            self.sub,
            record.replica,
            record.stream.as_str()
        );
        let len = (head.len() + record.bytes.len() + 1) as u64;
        if self.size > 0 && self.size + len > self.settings.max_bytes {
            self.rotate();
        }
        let written = self
            .file
            .write_all(head.as_bytes())
            .and_then(|()| self.file.write_all(&record.bytes))
            .and_then(|()| self.file.write_all(b"\n"));
        if let Err(err) = written {
            eprintln!("zeppelin: cannot write {}: {err}", self.path.display());
        }
        self.size += len;
        if let Some(echo) = &self.echo {
            echo(&LogLine {
                sub: &self.sub,
                replica: record.replica,
                stream: record.stream,
                text: &record.bytes,
            });
        }
    }

    fn flush(&mut self) {
        if let Err(err) = self.file.flush() {
            eprintln!("zeppelin: cannot write {}: {err}", self.path.display());
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
            Err(err) => eprintln!("zeppelin: cannot rotate {}: {err}", self.path.display()),
        }
    }
}
