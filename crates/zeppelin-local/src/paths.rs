//! Where the local runtime keeps its files for one app: the state folder `.zeppelin/`
//! (lock, control socket, recorded process groups, secret files, the data of stateful subs)
//! and the log folder `log/`.
//!
//! Every command finds the same paths from the app folder alone, so `ps` or `stop` run in
//! any folder of the app reach the supervisor that `run` started.

use std::path::{Path, PathBuf};

/// The longest Unix socket path the kernel accepts (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The files of one app's local runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPaths {
    /// The app folder.
    pub dir: PathBuf,
    /// `.zeppelin/` in the app folder.
    pub state: PathBuf,
    /// `log/` in the app folder.
    pub logs: PathBuf,
    /// The control socket: in `.zeppelin/` when the path is short enough, else under the
    /// runtime folder with a name derived from the app folder.
    pub socket: PathBuf,
    /// A stable identifier of the app folder, also marking the app's processes.
    pub id: String,
}

impl AppPaths {
    /// The paths for the app in `dir` (an absolute path).
    pub fn new(dir: &Path) -> Self {
        let state = dir.join(".zeppelin");
        let id = format!("{:016x}", fnv1a(dir.as_os_str().as_encoded_bytes()));
        let local = state.join("control.sock");
        let socket = if local.as_os_str().len() <= MAX_SOCKET_PATH {
            local
        } else {
            runtime_dir().join(format!("{id}.sock"))
        };
        Self {
            dir: dir.to_path_buf(),
            logs: dir.join("log"),
            state,
            socket,
            id,
        }
    }

    /// The lock a live supervisor holds for as long as it runs.
    pub fn lock(&self) -> PathBuf {
        self.state.join("supervisor.lock")
    }

    /// The supervisor's pid, for messages.
    pub fn pid_file(&self) -> PathBuf {
        self.state.join("supervisor.pid")
    }

    /// The process groups of running replicas, so a killed supervisor's are found again.
    pub fn groups(&self) -> PathBuf {
        self.state.join("groups")
    }

    /// Where a detached supervisor writes its own messages.
    pub fn supervisor_log(&self) -> PathBuf {
        self.state.join("supervisor.log")
    }

    /// The folder of secret files (mode 0700, files 0600).
    pub fn secrets(&self) -> PathBuf {
        self.state.join("secrets")
    }

    /// The data of stateful subs, one folder per sub (mode 0700): see [`crate::volumes`].
    pub fn volumes(&self) -> PathBuf {
        self.state.join("volumes")
    }

    /// The current log file of a sub.
    pub fn log_file(&self, sub: &str) -> PathBuf {
        self.logs.join(format!("{sub}.log"))
    }
}

/// A folder only this user can use, for sockets whose path in the app folder is too long.
fn runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("zeppelin"),
        _ => std::env::temp_dir().join(format!("zeppelin-{}", nix::unistd::getuid())),
    }
}

/// FNV-1a: a small hash that is stable across builds and platforms.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_folders_keep_the_socket_inside() {
        let paths = AppPaths::new(Path::new("/home/me/shop"));
        assert_eq!(
            paths.socket,
            Path::new("/home/me/shop/.zeppelin/control.sock")
        );
    }

    #[test]
    fn deep_folders_get_a_short_socket_path() {
        let deep = format!("/home/me/{}", "very-long-folder-name/".repeat(10));
        let paths = AppPaths::new(Path::new(&deep));
        assert!(
            paths.socket.as_os_str().len() <= MAX_SOCKET_PATH,
            "{:?}",
            paths.socket
        );
        assert!(paths.socket.to_string_lossy().contains(&paths.id));
        let other = AppPaths::new(Path::new(&format!("{deep}x")));
        assert_ne!(paths.socket, other.socket);
    }
}
