//! Who holds a port: named in the error when a sub's balancer or the gateway cannot listen,
//! so the user knows what to stop. Public as `balancer::PortHolder`, the type of the
//! `holder` field of both bind errors.
//!
//! Linux only, from `/proc`: the listening socket's inode in `/proc/net/tcp{,6}`, then the
//! process with that socket among its open files. Anything unreadable means "unknown", and
//! the error is printed without it.

use std::fmt;
use std::fs;

/// The process listening on a port, when it can be found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortHolder(Option<(u32, String)>);

impl PortHolder {
    /// Looks up the process that listens on TCP `port`.
    pub(crate) fn of(port: u16) -> Self {
        Self(listening_inode(port).and_then(process_with_socket))
    }

    /// The holder's process id and command name.
    pub fn process(&self) -> Option<(u32, &str)> {
        self.0.as_ref().map(|(pid, name)| (*pid, name.as_str()))
    }
}

/// Prints ` (by pid 4242, python3)`, or nothing when the holder is unknown.
impl fmt::Display for PortHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some((pid, name)) => write!(f, " (by pid {pid}, {name})"),
            None => Ok(()),
        }
    }
}

const LISTEN: &str = "0A";

fn listening_inode(port: u16) -> Option<u64> {
    let wanted = format!("{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .find_map(|table| {
            let text = fs::read_to_string(table).ok()?;
            text.lines()
                .skip(1)
                .find_map(|line| listener_inode(line, &wanted))
        })
}

/// The socket inode of a `/proc/net/tcp` line, when it listens on port `wanted` (hex).
fn listener_inode(line: &str, wanted: &str) -> Option<u64> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let local_port = fields.get(1)?.rsplit(':').next()?;
    if local_port != wanted || *fields.get(3)? != LISTEN {
        return None;
    }
    fields.get(9)?.parse().ok().filter(|inode| *inode != 0)
}

fn process_with_socket(inode: u64) -> Option<(u32, String)> {
    let target = format!("socket:[{inode}]");
    fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let holds = fs::read_dir(entry.path().join("fd"))
            .ok()?
            .flatten()
            .any(|fd| {
                fs::read_link(fd.path()).is_ok_and(|link| link.as_os_str() == target.as_str())
            });
        holds.then(|| {
            let name = fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            (pid, name.trim().to_owned())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_process_listening() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = PortHolder::of(port);
        assert_eq!(
            holder.process().map(|(pid, _)| pid),
            Some(std::process::id())
        );
        assert!(holder.to_string().starts_with(" (by pid "), "{holder}");
    }

    #[test]
    fn unknown_holder_prints_nothing() {
        assert_eq!(PortHolder::default().to_string(), "");
    }
}
