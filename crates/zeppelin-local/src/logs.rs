//! Reading `log/<sub>.log` back: history across rotated files, filters (`--tail`, `--since`,
//! `--replica`), merging several subs by time, and following files across rotation.
//!
//! A line is `TIMESTAMP SUB.REPLICA STREAM TEXT`; timestamps are fixed-width UTC, so they
//! sort as text.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::capture::Stream;
use crate::paths::AppPaths;

/// One line of a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `2026-01-02T03:04:05.123456Z`.
    pub time: String,
    pub sub: String,
    pub replica: u32,
    pub stream: Stream,
    /// The replica's bytes, as written.
    pub text: Vec<u8>,
}

impl Entry {
    /// Parses one line (without its newline); `None` for lines not written by the capture.
    pub fn parse(line: &[u8]) -> Option<Self> {
        let mut parts = line.splitn(4, |&b| b == b' ');
        let time = std::str::from_utf8(parts.next()?).ok()?.to_owned();
        let (sub, replica) = std::str::from_utf8(parts.next()?).ok()?.rsplit_once('.')?;
        let stream = match parts.next()? {
            b"out" => Stream::Out,
            b"err" => Stream::Err,
            _ => return None,
        };
        Some(Self {
            time,
            sub: sub.to_owned(),
            replica: replica.parse().ok()?,
            stream,
            text: parts.next().unwrap_or_default().to_vec(),
        })
    }
}

/// Which lines to show.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The subs whose logs to read.
    pub subs: Vec<String>,
    /// Only the last this many lines (of all subs together).
    pub tail: Option<usize>,
    /// Only lines written at or after this time.
    pub since: Option<jiff::Timestamp>,
    /// Only this replica's lines.
    pub replica: Option<u32>,
}

impl Query {
    fn keeps(&self, entry: &Entry, since: Option<&str>) -> bool {
        self.replica.is_none_or(|r| r == entry.replica)
            && since.is_none_or(|s| entry.time.as_str() >= s)
    }

    fn since_text(&self) -> Option<String> {
        self.since
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    }
}

/// The lines already written, oldest first.
pub fn history(paths: &AppPaths, query: &Query) -> Result<Vec<Entry>, crate::Error> {
    let since = query.since_text();
    let mut entries = Vec::new();
    for sub in &query.subs {
        for file in files_of(paths, sub) {
            let bytes = match std::fs::read(&file) {
                Ok(bytes) => bytes,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(crate::Error::Read { path: file, source }),
            };
            entries.extend(
                bytes
                    .split(|&b| b == b'\n')
                    .filter_map(Entry::parse)
                    .filter(|e| query.keeps(e, since.as_deref())),
            );
        }
    }
    entries.sort_by(|a, b| a.time.cmp(&b.time));
    if let Some(tail) = query.tail {
        let skip = entries.len().saturating_sub(tail);
        entries.drain(..skip);
    }
    Ok(entries)
}

/// A sub's log files, oldest first: `web.log.N` … `web.log.1`, `web.log`.
fn files_of(paths: &AppPaths, sub: &str) -> Vec<PathBuf> {
    let current = paths.log_file(sub);
    let mut rotated: Vec<(u32, PathBuf)> = std::fs::read_dir(&paths.logs)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let n = name.strip_prefix(&format!("{sub}.log."))?.parse().ok()?;
            Some((n, entry.path()))
        })
        .collect();
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    rotated
        .into_iter()
        .map(|(_, p)| p)
        .chain([current])
        .collect()
}

/// Follows the subs' current log files from their end, across rotation, handing each new
/// line to `show` until it returns `false`.
pub fn follow(
    paths: &AppPaths,
    query: &Query,
    mut show: impl FnMut(&Entry) -> bool,
) -> Result<(), crate::Error> {
    let since = query.since_text();
    let mut followed: Vec<Followed> = query
        .subs
        .iter()
        .map(|sub| Followed::at_end(paths.log_file(sub)))
        .collect();
    loop {
        let mut batch = Vec::new();
        for file in &mut followed {
            file.read_new(&mut batch)
                .map_err(|source| crate::Error::Read {
                    path: file.path.clone(),
                    source,
                })?;
        }
        batch.retain(|e| query.keeps(e, since.as_deref()));
        batch.sort_by(|a, b| a.time.cmp(&b.time));
        for entry in &batch {
            if !show(entry) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One followed file: where reading stopped, and which file (inode) that was.
struct Followed {
    path: PathBuf,
    file: Option<File>,
    inode: u64,
    partial: Vec<u8>,
}

impl Followed {
    fn at_end(path: PathBuf) -> Self {
        let mut file = File::open(&path).ok();
        let inode = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map_or(0, |m| m.ino());
        if let Some(f) = &mut file {
            let _ = f.seek(SeekFrom::End(0));
        }
        Self {
            path,
            file,
            inode,
            partial: Vec::new(),
        }
    }

    /// Reads what was appended; when the file was rotated, finishes the old one and moves to
    /// the new one from its start.
    fn read_new(&mut self, out: &mut Vec<Entry>) -> std::io::Result<()> {
        if let Some(file) = &mut self.file {
            file.read_to_end(&mut self.partial)?;
        }
        let current = inode_of(&self.path);
        if current.is_some_and(|ino| ino != self.inode) {
            // The writer flushes the old file just before renaming it: read what it added
            // after the read above.
            if let Some(file) = &mut self.file {
                file.read_to_end(&mut self.partial)?;
            }
            // Rotated twice since the last look: the file in between is now `.1`.
            let between = PathBuf::from(format!("{}.1", self.path.display()));
            if self.file.is_some()
                && inode_of(&between).is_some_and(|ino| ino != self.inode)
                && let Ok(mut file) = File::open(&between)
            {
                file.read_to_end(&mut self.partial)?;
            }
            self.file = File::open(&self.path).ok();
            self.inode = current.unwrap_or(0);
            if let Some(file) = &mut self.file {
                file.read_to_end(&mut self.partial)?;
            }
        }
        if let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') {
            let rest = self.partial.split_off(end + 1);
            out.extend(self.partial.split(|&b| b == b'\n').filter_map(Entry::parse));
            self.partial = rest;
        }
        Ok(())
    }
}

fn inode_of(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_back() {
        let entry = Entry::parse(b"2026-01-02T03:04:05.000001Z web-ui.3 err oops: a b").unwrap();
        assert_eq!(entry.sub, "web-ui");
        assert_eq!(entry.replica, 3);
        assert_eq!(entry.stream, Stream::Err);
        assert_eq!(entry.text, b"oops: a b");
        assert_eq!(
            Entry::parse(b"2026-01-02T03:04:05.000001Z web.0 out ")
                .unwrap()
                .text,
            b""
        );
        assert!(Entry::parse(b"garbage").is_none());
    }

    #[test]
    fn history_reads_rotated_files_in_order_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        let paths = AppPaths::new(dir.path());
        std::fs::create_dir_all(&paths.logs).unwrap();
        std::fs::write(
            paths.logs.join("web.log.1"),
            "2026-01-01T00:00:01.000000Z web.0 out a\n",
        )
        .unwrap();
        std::fs::write(
            paths.log_file("web"),
            "2026-01-01T00:00:02.000000Z web.1 out b\n2026-01-01T00:00:03.000000Z web.0 err c\n",
        )
        .unwrap();
        let query = Query {
            subs: vec!["web".into()],
            ..Query::default()
        };
        let texts = |q: &Query| -> Vec<Vec<u8>> {
            history(&paths, q)
                .unwrap()
                .into_iter()
                .map(|e| e.text)
                .collect()
        };
        assert_eq!(texts(&query), [b"a", b"b", b"c"]);
        assert_eq!(
            texts(&Query {
                tail: Some(1),
                ..query.clone()
            }),
            [b"c"]
        );
        assert_eq!(
            texts(&Query {
                replica: Some(0),
                ..query.clone()
            }),
            [b"a", b"c"]
        );
    }
}
