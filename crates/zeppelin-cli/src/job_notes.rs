//! What the CLI says on stderr about jobs as they run: a `before` job run or left alone as
//! unchanged, attempts, and how a run ended; for `run`, `run -d`, `restart` and `run-job`.
//! Also how `run-job` ends after Ctrl-C, the same in both runtimes.

use zeppelin_local::JobsRan;
use zeppelin_local::job::JobEvent;

/// The exit status of a `run-job` that Ctrl-C ended or stopped waiting (128 + SIGINT, as a
/// shell reports it), in both runtimes.
pub(crate) const INTERRUPTED: u8 = 130;

/// What became of the `before` jobs in a start, an apply or a restart, on stderr.
pub(crate) fn say_jobs(jobs: &JobsRan) {
    if !jobs.ran.is_empty() {
        eprintln!("zeppelin: ran job {}", jobs.ran.join(", "));
    }
    for job in &jobs.unchanged {
        eprintln!("{}", unchanged(job));
    }
}

fn unchanged(job: &str) -> String {
    format!(
        "zeppelin: job {job} not run: unchanged since its last success (--rerun-jobs runs it anyway)"
    )
}

/// A job's progress in the foreground, on stderr.
pub(crate) fn say_job_event(event: &JobEvent<'_>) {
    match event {
        JobEvent::Unchanged { job } => eprintln!("{}", unchanged(job)),
        JobEvent::Attempt {
            job, attempt: 1, ..
        } => eprintln!("zeppelin: running job {job}"),
        JobEvent::Attempt {
            job,
            attempt,
            of,
            after,
        } => eprintln!(
            "zeppelin: job {job} failed ({}); trying again, attempt {attempt} of {of}",
            after.unwrap_or("it failed")
        ),
        JobEvent::Finished { job, run } => match (&run.reason, run.duration) {
            (None, duration) => eprintln!(
                "zeppelin: job {job} succeeded{}",
                duration
                    .map(|d| format!(" in {}", zeppelin_core::AppDuration::from(d)))
                    .unwrap_or_default()
            ),
            (Some(reason), _) => eprintln!("zeppelin: job {job} failed: {reason}"),
        },
    }
}
