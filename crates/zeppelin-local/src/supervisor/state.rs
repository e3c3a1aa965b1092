//! The supervisor's state, with one owner: the app as last applied, what runs for each of its
//! subs, and the gateway port the last `run` asked for.
//!
//! It sits behind one lock that only the small accessors here take, each for a moment and
//! never across an `.await`, so `ps` can read the state while an operation waits for
//! replicas. The accessors are the only way to change it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use zeppelin_core::App;
use zeppelin_core::status::JobRun;

use crate::error::Error;
use crate::replica::{Replica, SubContext};

/// What runs for one sub: the context its replicas run with and the replicas, by index.
pub(crate) struct SubRun {
    pub(crate) ctx: Arc<SubContext>,
    pub(crate) replicas: Vec<Arc<Replica>>,
}

/// What the supervisor knows of one job: whether a run goes, the last run (here, or kept
/// in `.zeppelin/jobs/` from before), and the due times of its schedule it skipped.
#[derive(Debug, Clone, Default)]
pub(crate) struct JobBook {
    pub(crate) running: bool,
    pub(crate) last_run: Option<JobRun>,
    pub(crate) skipped: u32,
}

/// The app and what runs of it.
pub(crate) struct AppRun {
    pub(crate) app: App,
    pub(crate) subs: BTreeMap<String, SubRun>,
    /// Every job that ran or runs, by name (jobs that left the app included).
    pub(crate) jobs: BTreeMap<String, JobBook>,
    /// `--gateway-port` of the last `run`, over the app file's `[gateway] port`.
    pub(crate) gateway_port: Option<u16>,
}

/// The one lock around [`AppRun`].
pub(crate) struct State(Mutex<AppRun>);

impl State {
    /// The state of `app` with nothing running; `jobs` are the runs kept from before.
    pub(crate) fn new(
        app: App,
        gateway_port: Option<u16>,
        jobs: BTreeMap<String, JobBook>,
    ) -> Self {
        Self(Mutex::new(AppRun {
            app,
            subs: BTreeMap::new(),
            jobs,
            gateway_port,
        }))
    }

    /// Marks a run of `job` that started at `started` as going: until it ends, it is the
    /// last run, without a duration.
    pub(crate) fn job_started(&self, job: &str, started: jiff::Timestamp) {
        self.with(|run| {
            let book = run.jobs.entry(job.to_owned()).or_default();
            book.running = true;
            book.last_run = Some(JobRun {
                id: None,
                started,
                duration: None,
                attempts: 1,
                exit: None,
                reason: None,
            });
        });
    }

    /// Adds the books of jobs new to the app (their runs kept from before); a job already
    /// known keeps its book.
    pub(crate) fn add_job_books(&self, books: BTreeMap<String, JobBook>) {
        self.with(|run| {
            for (job, book) in books {
                run.jobs.entry(job).or_insert(book);
            }
        });
    }

    /// Records the end of a run of `job`.
    pub(crate) fn job_finished(&self, job: &str, last: JobRun) {
        self.with(|run| {
            let book = run.jobs.entry(job.to_owned()).or_default();
            book.running = false;
            book.last_run = Some(last);
        });
    }

    /// Counts due times of `job`'s schedule that got no run.
    pub(crate) fn job_skipped(&self, job: &str, skipped: u32) {
        self.with(|run| {
            let book = run.jobs.entry(job.to_owned()).or_default();
            book.skipped = book.skipped.saturating_add(skipped);
        });
    }

    /// Whether a run of `job` goes now.
    pub(crate) fn job_running(&self, job: &str) -> bool {
        self.with(|run| run.jobs.get(job).is_some_and(|b| b.running))
    }

    /// Runs `f` under the lock: the one place that takes it. A panic while it was held is a
    /// bug in an accessor, and every later use of the state panics with it.
    fn with<R>(&self, f: impl FnOnce(&mut AppRun) -> R) -> R {
        f(&mut self.0.lock().expect("supervisor state"))
    }

    /// Reads the state (to build `ps` or `routes` answers).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&AppRun) -> R) -> R {
        self.with(|run| f(run))
    }

    /// The app as last applied.
    pub(crate) fn app(&self) -> App {
        self.with(|run| run.app.clone())
    }

    pub(crate) fn set_app(&self, app: App) {
        self.with(|run| run.app = app);
    }

    pub(crate) fn gateway_port(&self) -> Option<u16> {
        self.with(|run| run.gateway_port)
    }

    pub(crate) fn set_gateway_port(&self, port: Option<u16>) {
        self.with(|run| run.gateway_port = port);
    }

    /// The subs that have a run (started, or stopped but still listed).
    pub(crate) fn running(&self) -> BTreeSet<String> {
        self.with(|run| run.subs.keys().cloned().collect())
    }

    /// What the replicas of `sub` run with, when it has a run.
    pub(crate) fn context(&self, sub: &str) -> Option<Arc<SubContext>> {
        self.with(|run| run.subs.get(sub).map(|s| Arc::clone(&s.ctx)))
    }

    pub(crate) fn replicas_of(&self, sub: &str) -> Vec<Arc<Replica>> {
        self.with(|run| {
            run.subs
                .get(sub)
                .map(|s| s.replicas.clone())
                .unwrap_or_default()
        })
    }

    /// Records that `replicas` run `ctx`'s sub (replacing any record of it).
    pub(crate) fn insert(&self, ctx: &Arc<SubContext>, replicas: Vec<Arc<Replica>>) {
        self.with(|run| {
            run.subs.insert(
                ctx.spec.name.clone(),
                SubRun {
                    ctx: Arc::clone(ctx),
                    replicas,
                },
            );
        });
    }

    /// Forgets the run of `sub` (it left the app, or is about to start anew).
    pub(crate) fn remove(&self, sub: &str) {
        self.with(|run| run.subs.remove(sub));
    }

    /// Sets what the replicas of `sub` run with (after a roll).
    pub(crate) fn set_context(&self, sub: &str, ctx: &Arc<SubContext>) {
        self.with(|run| {
            if let Some(s) = run.subs.get_mut(sub) {
                s.ctx = Arc::clone(ctx);
            }
        });
    }

    /// Puts `replica` at `index` of a sub's list (or drops the list's tail from `index`).
    pub(crate) fn set_replica(&self, sub: &str, index: usize, replica: Option<Arc<Replica>>) {
        self.with(|run| {
            let Some(s) = run.subs.get_mut(sub) else {
                return;
            };
            match replica {
                Some(replica) if index < s.replicas.len() => s.replicas[index] = replica,
                Some(replica) => s.replicas.push(replica),
                None => s.replicas.truncate(index),
            }
        });
    }

    /// Gives `sub` `count` replicas: the ones past `count` are taken off the list, and
    /// `start` makes the missing ones. Returns `(added, removed)`; nothing for a sub
    /// without a run.
    pub(crate) fn resize(
        &self,
        sub: &str,
        count: usize,
        mut start: impl FnMut(&Arc<SubContext>, u32) -> Arc<Replica>,
    ) -> (Vec<Arc<Replica>>, Vec<Arc<Replica>>) {
        self.with(|run| {
            let Some(s) = run.subs.get_mut(sub) else {
                return (Vec::new(), Vec::new());
            };
            let removed = if s.replicas.len() > count {
                s.replicas.split_off(count)
            } else {
                Vec::new()
            };
            let added: Vec<Arc<Replica>> = (s.replicas.len()..count)
                .map(|i| start(&s.ctx, u32::try_from(i).expect("fits")))
                .collect();
            s.replicas.extend(added.iter().cloned());
            (added, removed)
        })
    }

    /// The subs in the order to stop them: those that still run but left the app first,
    /// then every sub of the app in the reverse of its start order (stopping one without
    /// a run does nothing).
    pub(crate) fn stop_order(&self) -> Vec<String> {
        self.with(|run| {
            let mut order: Vec<String> = run
                .app
                .start_order()
                .iter()
                .map(|s| s.name.clone())
                .collect();
            order.extend(
                run.subs
                    .keys()
                    .filter(|s| !order.contains(s))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            order.reverse();
            order
        })
    }

    /// Checks that every name is a sub of the app; an empty list means all, in start order.
    pub(crate) fn resolve_subs(&self, subs: &[String]) -> Result<Vec<String>, Error> {
        self.with(|run| {
            run.app.check_subs(subs)?;
            let order = run.app.start_order().into_iter().map(|s| s.name.clone());
            Ok(order
                .filter(|s| subs.is_empty() || subs.contains(s))
                .collect())
        })
    }
}
