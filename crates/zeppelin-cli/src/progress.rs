//! Rollout progress on stderr: one live line per sub on a terminal (indicatif), and plain
//! lines, one per change, otherwise (CI logs, pipes, tests).

use std::collections::BTreeMap;
use std::io::IsTerminal as _;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use zeppelin_kube::rollout::SubProgress;

/// Prints rollout progress as it changes.
pub(crate) struct RolloutProgress {
    bars: Option<(MultiProgress, BTreeMap<String, ProgressBar>)>,
    last: BTreeMap<String, String>,
}

impl RolloutProgress {
    pub(crate) fn new() -> Self {
        let bars = std::io::stderr().is_terminal().then(|| {
            (
                MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                BTreeMap::new(),
            )
        });
        Self {
            bars,
            last: BTreeMap::new(),
        }
    }

    /// Shows the latest state of each sub.
    pub(crate) fn update(&mut self, progress: &[SubProgress]) {
        for sub in progress {
            let line = line(sub);
            if self.last.get(&sub.sub) == Some(&line) {
                continue;
            }
            self.last.insert(sub.sub.clone(), line.clone());
            match &mut self.bars {
                Some((multi, bars)) => {
                    let bar = bars.entry(sub.sub.clone()).or_insert_with(|| {
                        let bar = multi.add(ProgressBar::new_spinner());
                        bar.set_style(
                            ProgressStyle::with_template("{spinner} {msg}")
                                .expect("the template is valid"),
                        );
                        bar.enable_steady_tick(std::time::Duration::from_millis(120));
                        bar
                    });
                    if sub.done {
                        bar.finish_with_message(line);
                    } else {
                        bar.set_message(line);
                    }
                }
                None => eprintln!("  {line}"),
            }
        }
    }

    /// Stops the live lines, leaving their last state on the screen.
    pub(crate) fn finish(&mut self) {
        if let Some((_, bars)) = &mut self.bars {
            for bar in bars.values() {
                bar.abandon();
            }
            // A rollback that follows gets lines of its own.
            bars.clear();
        }
        self.last.clear();
    }
}

/// `web: 2/3 ready, 3 updated, 2 available; waiting for 1 more updated replica to become
/// available`.
fn line(sub: &SubProgress) -> String {
    let state = if sub.done {
        "rolled out".to_owned()
    } else {
        format!(
            "waiting for {}",
            sub.waiting_for.as_deref().unwrap_or("the rollout")
        )
    };
    format!(
        "{}: {}/{} ready, {} updated, {} available; {state}",
        sub.sub, sub.ready, sub.desired, sub.updated, sub.available
    )
}
