//! The record of the process groups that replicas run in, mirrored in `.zeppelin/groups`, so
//! that what a supervisor killed with SIGKILL left running can still be found and killed
//! ([`crate::instance`] reads the file).
//!
//! One task owns the record: replica tasks send it their changes over a channel, and it
//! writes the file off the runtime thread, once for a burst of changes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::sync::mpsc;

/// A change to the record, sent by a replica task.
enum Change {
    /// Replica run `instance` leads process group `group`.
    Record { instance: String, group: i32 },
    /// Replica run `instance` is gone, and so is its group.
    Forget { instance: String },
}

/// The sending side of the record; the task that owns it ends once this is dropped.
pub(crate) struct GroupRecord {
    changes: mpsc::UnboundedSender<Change>,
}

impl GroupRecord {
    /// Starts the task that keeps the file at `path` up to date. Must be called inside a
    /// tokio runtime.
    pub(crate) fn start(path: PathBuf) -> Self {
        let (changes, received) = mpsc::unbounded_channel();
        tokio::spawn(keep(path, received));
        Self { changes }
    }

    /// Records that replica run `instance` leads process group `group`.
    pub(crate) fn record(&self, instance: &str, group: i32) {
        // The owner lives as long as this sender; a send fails only while the runtime
        // shuts down, when there is nothing left to record.
        let _ = self.changes.send(Change::Record {
            instance: instance.to_owned(),
            group,
        });
    }

    /// Forgets the process group of replica run `instance`.
    pub(crate) fn forget(&self, instance: &str) {
        let _ = self.changes.send(Change::Forget {
            instance: instance.to_owned(),
        });
    }
}

/// Owns the record: applies every change that arrived, then writes the file once.
async fn keep(path: PathBuf, mut changes: mpsc::UnboundedReceiver<Change>) {
    let mut groups: BTreeMap<String, i32> = BTreeMap::new();
    while let Some(change) = changes.recv().await {
        apply(&mut groups, change);
        while let Ok(change) = changes.try_recv() {
            apply(&mut groups, change);
        }
        let text: String = groups
            .values()
            .flat_map(|g| [g.to_string(), "\n".to_owned()])
            .collect();
        let file = path.clone();
        let written = tokio::task::spawn_blocking(move || write_whole(&file, &text)).await;
        if let Ok(Err(error)) = written {
            tracing::warn!(path = %path.display(), %error, "cannot record process groups");
        }
    }
}

/// Writes `path` so that a reader, or the next supervisor after a SIGKILL of this one, sees
/// the old record or the new one, never an empty or partial file.
fn write_whole(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, path)
}

fn apply(groups: &mut BTreeMap<String, i32>, change: Change) {
    match change {
        Change::Record { instance, group } => {
            groups.insert(instance, group);
        }
        Change::Forget { instance } => {
            groups.remove(&instance);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_file_lists_the_groups_still_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("groups");
        let record = GroupRecord::start(path.clone());
        record.record("a-1", 101);
        record.record("a-2", 102);
        record.forget("a-1");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::fs::read_to_string(&path).ok().as_deref() != Some("102\n") {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path:?} never listed 102 alone"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}
