//! Making what runs match what is wanted, one whole operation at a time: start the app,
//! stop it or some of its subs, restart, scale, and apply a changed app file live.
//!
//! Each operation runs while holding the supervisor's operation gate, which also hands it
//! the [`Traffic`] to change. Subs are started in dependency order, each once the subs it
//! depends on are healthy, and stopped in reverse order; changed subs are rolled
//! ([`super::roll`]). A sub that leaves the app stops; its data, if it is stateful, stays
//! on disk ([`crate::volumes`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use zeppelin_core::App;
use zeppelin_core::model::Step;

use crate::environment::AppEnv;
use crate::error::Error;
use crate::supervisor::jobs::{Jobs, JobsRan, note};
use crate::supervisor::roll::roll;
use crate::supervisor::subs::{Subs, same_but_replicas, sub_context};
use crate::supervisor::traffic::Traffic;

/// What `apply` did to each sub.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Applied {
    pub started: Vec<String>,
    pub replaced: Vec<String>,
    pub scaled: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: Vec<String>,
    /// The stateful subs among `replaced` that were rolled in place (a sub whose port moved
    /// is stopped and started instead).
    #[serde(default)]
    pub rolled: Vec<Rolled>,
    /// Subs that had volumes and now have none: they run on, and their data stays on disk.
    #[serde(default)]
    pub unmounted: Vec<String>,
    /// The `before` jobs run, and those left alone as unchanged.
    #[serde(default)]
    pub jobs: JobsRan,
    /// The subs left as they were because a `before` job gating them (or a sub they depend
    /// on) failed: they keep running their previous version, on their previous settings.
    #[serde(default)]
    pub held: Vec<String>,
    /// The `before` jobs that failed, so the caller can say why `held` were held back.
    #[serde(default)]
    pub failed: Vec<FailedJob>,
}

/// A `before` job that failed during an apply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailedJob {
    pub job: String,
    /// Why, and what became of the subs it gates.
    pub message: String,
}

/// What becomes of the subs a failed `before` job gates in a start.
const NOT_STARTED: &str = "were not started";
/// ... and in an apply or a restart, where they may run already.
const NOT_ROLLED: &str =
    "were not started or rolled out: those that run keep running their previous version";

/// A stateful sub rolled in place: each replica was stopped before its replacement started
/// on the same data, highest first, so with one replica it was unavailable meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rolled {
    pub sub: String,
    pub replicas: u32,
}

impl Rolled {
    /// What to report of rolling `ctx`'s sub, if it is stateful.
    fn of(ctx: &crate::replica::SubContext) -> Option<Self> {
        ctx.spec.is_stateful().then(|| Self {
            sub: ctx.spec.name.clone(),
            replicas: ctx.spec.local_replicas(),
        })
    }
}

/// Starts every sub of the app in dependency order, each once the subs it depends on are
/// healthy and the `before` jobs gating it succeeded (run only when their inputs changed,
/// or `rerun_jobs`). On failure what was started keeps running; the caller stops it.
pub(crate) async fn start(
    subs: &Subs,
    jobs: &Jobs,
    traffic: &mut Traffic,
    rerun_jobs: bool,
) -> Result<JobsRan, Error> {
    let app = subs.state.app();
    let env = super::subs::preflight_env(&app, &subs.runtime.paths)?;
    let mut logs = subs.open_logs(&app, app.subs.keys())?;
    traffic.open(&app, subs.state.gateway_port()).await?;
    let mut report = JobsRan::default();
    for step in app.start_steps() {
        match step {
            Step::Sub(sub) => {
                let log = logs.remove(&sub.name).expect("a log per sub");
                let ctx = sub_context(sub, &env, log, traffic.ready_set(&sub.name))?;
                subs.launch(&ctx).await?;
            }
            Step::Job(job) => {
                let ran = jobs
                    .run_before(subs, job, &env, rerun_jobs, NOT_STARTED)
                    .await?;
                note(&mut report, job, ran);
            }
        }
    }
    Ok(report)
}

/// Stops every sub, in reverse dependency order; `true` when all stopped cleanly.
pub(crate) async fn stop_all(subs: &Subs) -> bool {
    let mut clean = true;
    for sub in subs.state.stop_order() {
        clean &= subs.stop_sub(&sub).await;
    }
    clean
}

/// Stops the subs named (in start order), in reverse order; their replicas stay listed as
/// stopped.
pub(crate) async fn stop(subs: &Subs, names: &[String]) -> bool {
    let mut clean = true;
    for sub in names.iter().rev() {
        clean &= subs.stop_sub(sub).await;
    }
    clean
}

/// Rolls the subs named, keeping the number of replicas each runs now (it may have been
/// scaled), once the `before` jobs gating them succeeded (run only when their inputs
/// changed, or `rerun_jobs`); returns the stateful ones and the jobs.
pub(crate) async fn restart(
    subs: &Subs,
    jobs: &Jobs,
    names: Vec<String>,
    rerun_jobs: bool,
) -> Result<(Vec<Rolled>, JobsRan), Error> {
    let app = subs.state.app();
    let gating: Vec<&zeppelin_core::model::Job> = app
        .start_steps()
        .into_iter()
        .filter_map(|step| match step {
            Step::Job(job) if job.before.iter().any(|b| names.contains(b)) => Some(job),
            _ => None,
        })
        .collect();
    let mut report = JobsRan::default();
    if !gating.is_empty() {
        let env = AppEnv::resolve(&app, &subs.runtime.paths)?;
        for job in gating {
            let ran = jobs
                .run_before(subs, job, &env, rerun_jobs, NOT_ROLLED)
                .await?;
            note(&mut report, job, ran);
        }
    }
    let mut rolled = Vec::new();
    for sub in names {
        let Some(ctx) = subs.state.context(&sub) else {
            continue;
        };
        let mut next = (*ctx).clone();
        next.spec.replicas =
            Some(u32::try_from(subs.state.replicas_of(&sub).len()).unwrap_or(u32::MAX));
        let next = Arc::new(next);
        roll(subs, &next).await?;
        rolled.extend(Rolled::of(&next));
    }
    Ok((rolled, report))
}

/// Sets the number of replicas of subs; new replicas are waited until healthy.
pub(crate) async fn scale(subs: &Subs, counts: &BTreeMap<String, u32>) -> Result<(), Error> {
    for (sub, &count) in counts {
        subs.scale_sub(sub, count).await?;
    }
    Ok(())
}

/// Makes what runs match `app`: new subs and subs stopped by `stop` start, changed subs are
/// rolled one replica at a time (replaced outright when their port changed), subs whose
/// replica count alone changed are scaled, removed subs stop, the rest is left alone. A
/// `before` job whose inputs changed (or every one, with `rerun_jobs`) runs before the subs
/// it gates are touched; when it fails, those subs and the subs depending on them are held
/// back (they keep running as they were, and stay in the app as they were) while the rest
/// is applied, and the failure is in the report. `env` is `app`'s, checked before the gate
/// was taken; `gateway_port` is the new run's `--gateway-port`.
pub(crate) async fn apply(
    subs: &Subs,
    jobs: &Jobs,
    traffic: &mut Traffic,
    app: App,
    env: &AppEnv,
    gateway_port: Option<u16>,
    rerun_jobs: bool,
) -> Result<Applied, Error> {
    let old = subs.state.app();
    subs.state.set_gateway_port(gateway_port);
    let mut applied = Applied::default();
    let running = subs.state.running();
    applied.unmounted = app
        .subs
        .values()
        .filter(|sub| !sub.is_stateful())
        .filter(|sub| {
            subs.state
                .context(&sub.name)
                .is_some_and(|ctx| ctx.spec.is_stateful())
        })
        .map(|sub| sub.name.clone())
        .collect();
    for gone in running.iter().filter(|s| !app.subs.contains_key(*s)) {
        take_down(subs, traffic, gone).await;
        applied.removed.push(gone.clone());
    }
    traffic.open(&app, gateway_port).await?;
    subs.state.set_app(app.clone());
    let mut held = BTreeSet::new();
    // Once a job failed, the subs after it see the app as it is with what it holds back.
    let mut held_env: Option<AppEnv> = None;
    for step in app.start_steps() {
        let env = held_env.as_ref().unwrap_or(env);
        let sub = match step {
            Step::Sub(sub) => sub,
            Step::Job(job) => {
                match jobs
                    .run_before(subs, job, env, rerun_jobs, NOT_ROLLED)
                    .await
                {
                    Ok(ran) => note(&mut applied.jobs, job, ran),
                    Err(err) => {
                        held.extend(job.before.iter().cloned());
                        applied.failed.push(FailedJob {
                            job: job.name.clone(),
                            message: zeppelin_core::error_chain(&err),
                        });
                        let kept = with_held(&app, &old, &held);
                        held_env = Some(AppEnv::resolve(&kept, &subs.runtime.paths)?);
                    }
                }
                continue;
            }
        };
        if held.contains(&sub.name) || sub.depends_on.iter().any(|d| held.contains(d)) {
            held.insert(sub.name.clone());
            applied.held.push(sub.name.clone());
            continue;
        }
        // A sub whose port changed stops before its balancer moves to the new port.
        let moved = subs
            .state
            .context(&sub.name)
            .is_some_and(|ctx| ctx.spec.port != sub.port);
        if moved {
            take_down(subs, traffic, &sub.name).await;
            traffic.open(&app, gateway_port).await?;
        }
        let stopped = subs
            .state
            .replicas_of(&sub.name)
            .iter()
            .any(|r| r.stop_requested());
        match subs.state.context(&sub.name) {
            // `zeppelin stop SUB` leaves the sub listed but stopped; running the app again
            // means running all of it, as the file says.
            Some(old) if stopped => {
                subs.stop_sub(&sub.name).await;
                let ctx = sub_context(sub, env, old.log.clone(), Arc::clone(&old.ready_set))?;
                subs.launch(&ctx).await?;
                applied.started.push(sub.name.clone());
            }
            Some(ctx) if same_but_replicas(&ctx, sub, env) => {
                let count = subs.state.replicas_of(&sub.name).len();
                if count == sub.local_replicas() as usize {
                    applied.unchanged.push(sub.name.clone());
                } else {
                    subs.scale_sub(&sub.name, sub.local_replicas()).await?;
                    applied.scaled.push(sub.name.clone());
                }
            }
            Some(old) => {
                let ctx = sub_context(sub, env, old.log.clone(), Arc::clone(&old.ready_set))?;
                roll(subs, &ctx).await?;
                applied.replaced.push(sub.name.clone());
                applied.rolled.extend(Rolled::of(&ctx));
            }
            None => {
                let log = subs
                    .open_logs(&app, std::iter::once(&sub.name))?
                    .remove(&sub.name)
                    .expect("opened");
                let ctx = sub_context(sub, env, log, traffic.ready_set(&sub.name))?;
                subs.launch(&ctx).await?;
                if moved {
                    applied.replaced.push(sub.name.clone());
                } else {
                    applied.started.push(sub.name.clone());
                }
            }
        }
    }
    if !held.is_empty() {
        let kept = with_held(&app, &old, &held);
        // A held sub that is new to the app did not start: its balancer goes.
        for sub in held.iter().filter(|s| !kept.subs.contains_key(*s)) {
            traffic.close(sub).await;
        }
        traffic.open(&kept, gateway_port).await?;
        subs.state.set_app(kept);
        applied.unmounted.retain(|sub| !held.contains(sub));
    }
    Ok(applied)
}

/// `app` with the subs in `held` as they are in `old` (left out when `old` has none).
fn with_held(app: &App, old: &App, held: &BTreeSet<String>) -> App {
    let mut kept = app.clone();
    for name in held {
        match old.subs.get(name) {
            Some(sub) => kept.subs.insert(name.clone(), sub.clone()),
            None => kept.subs.remove(name),
        };
    }
    kept
}

/// Stops every replica of `sub`, forgets its run and closes its balancer: for a sub that
/// left the app, or whose port moved (it starts again on the new one).
async fn take_down(subs: &Subs, traffic: &mut Traffic, sub: &str) {
    subs.stop_sub(sub).await;
    subs.state.remove(sub);
    traffic.close(sub).await;
}
