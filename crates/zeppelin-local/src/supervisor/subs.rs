//! The app's subs as the supervisor runs them, and the steps every operation is made of:
//! open a sub's log, launch its replicas, wait until they are ready, scale them, stop them.
//!
//! [`Subs`] holds the [`State`] that lists what runs and the [`ReplicaRuntime`] the
//! replicas run in; [`super::reconcile`] and [`super::roll`] build start, stop, scale,
//! apply and the rolling replace from these steps.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use zeppelin_core::status::ReplicaState;
use zeppelin_core::{App, Sub};

use crate::balancer::ReadySet;
use crate::capture::{Echo, SubLog};
use crate::environment::AppEnv;
use crate::error::Error;
use crate::paths::AppPaths;
use crate::replica::{Replica, ReplicaInfo, SubContext};
use crate::runtime::ReplicaRuntime;
use crate::supervisor::state::State;

/// The state of the app's subs and what it takes to change it.
pub(crate) struct Subs {
    pub(crate) runtime: Arc<ReplicaRuntime>,
    /// Shared with the tasks that run jobs, which record their runs in it.
    pub(crate) state: Arc<State>,
    /// Shown every captured line (the foreground terminal).
    pub(crate) echo: Option<Echo>,
    /// How long a sub may take to become healthy.
    pub(crate) start_timeout: Duration,
}

impl Subs {
    /// Opens the log of every sub named.
    pub(crate) fn open_logs<'a>(
        &self,
        app: &App,
        subs: impl Iterator<Item = &'a String>,
    ) -> Result<BTreeMap<String, SubLog>, Error> {
        subs.map(|name| {
            let log = SubLog::open(
                name,
                self.runtime.paths.log_file(name),
                app.logs.clone(),
                self.echo.clone(),
            )?;
            Ok((name.clone(), log))
        })
        .collect()
    }

    /// Starts a sub's replicas (replacing any record of it) and waits until they are ready:
    /// all at once, or for a stateful sub one after the other, each once the one before is
    /// ready (as a `StatefulSet` starts its pods).
    pub(crate) async fn launch(&self, ctx: &Arc<SubContext>) -> Result<(), Error> {
        if ctx.spec.is_stateful() {
            self.state.insert(ctx, Vec::new());
            return self.add_in_order(ctx, 0, ctx.spec.local_replicas()).await;
        }
        let replicas: Vec<Arc<Replica>> = (0..ctx.spec.local_replicas())
            .map(|index| self.start_replica(ctx, index))
            .collect();
        self.state.insert(ctx, replicas.clone());
        self.wait_ready(&ctx.spec.name, &replicas).await
    }

    /// Starts replicas `from..to` of a stateful sub one at a time, listing each and waiting
    /// until it is ready before the next starts.
    pub(crate) async fn add_in_order(
        &self,
        ctx: &Arc<SubContext>,
        from: u32,
        to: u32,
    ) -> Result<(), Error> {
        for index in from..to {
            let replica = self.start_replica(ctx, index);
            self.state
                .set_replica(&ctx.spec.name, index as usize, Some(Arc::clone(&replica)));
            self.wait_ready(&ctx.spec.name, std::slice::from_ref(&replica))
                .await?;
        }
        Ok(())
    }

    /// Starts replica `index` of a stateful sub with `ctx` in place of the one listed there
    /// (which the caller stopped) and waits until it is ready; one that does not become
    /// ready is stopped again, so nothing runs on its data.
    pub(crate) async fn replace_in_place(
        &self,
        ctx: &Arc<SubContext>,
        index: u32,
    ) -> Result<(), Error> {
        let replica = self.start_replica(ctx, index);
        self.state
            .set_replica(&ctx.spec.name, index as usize, Some(Arc::clone(&replica)));
        let ready = self
            .wait_ready(&ctx.spec.name, std::slice::from_ref(&replica))
            .await;
        if ready.is_err() {
            replica.stop().await;
        }
        ready
    }

    /// Stops the replicas of `sub` from the highest down to `count`, one at a time, each
    /// taken off the list before it stops: how a stateful sub shrinks (its data is kept).
    pub(crate) async fn remove_highest(&self, sub: &str, count: u32) {
        let replicas = self.state.replicas_of(sub);
        for index in (count as usize..replicas.len()).rev() {
            self.state.set_replica(sub, index, None);
            replicas[index].stop().await;
        }
    }

    /// Starts replica `index` of the sub `ctx` runs, without listing it.
    pub(crate) fn start_replica(&self, ctx: &Arc<SubContext>, index: u32) -> Arc<Replica> {
        Arc::new(Replica::start(&self.runtime, ctx, index))
    }

    /// Waits until every replica given is healthy (or finished its work, for a sub that is
    /// not restarted after success); fails as soon as one fails while starting.
    pub(crate) async fn wait_ready(
        &self,
        sub: &str,
        replicas: &[Arc<Replica>],
    ) -> Result<(), Error> {
        let mut changed = self.runtime.changed.subscribe();
        let deadline = tokio::time::Instant::now() + self.start_timeout;
        loop {
            let infos: Vec<ReplicaInfo> = replicas.iter().map(|r| r.info()).collect();
            if let Some(failed) = infos.iter().find(|i| i.failed_start) {
                return Err(Error::Unhealthy {
                    sub: sub.to_owned(),
                    reason: failed
                        .reason
                        .clone()
                        .unwrap_or_else(|| "it exited".to_owned()),
                });
            }
            let done = |i: &ReplicaInfo| {
                i.ready || (i.state == ReplicaState::Exited && i.last_exit == Some(0))
            };
            if infos.iter().all(done) {
                return Ok(());
            }
            tokio::select! {
                _ = changed.changed() => {}
                () = tokio::time::sleep_until(deadline) => {
                    let why = infos
                        .iter()
                        .find_map(|i| i.reason.clone())
                        .map_or_else(String::new, |r| format!(" (last: {r})"));
                    return Err(Error::Unhealthy {
                        sub: sub.to_owned(),
                        reason: format!("not healthy within {}{why}", zeppelin_core::AppDuration::from(self.start_timeout)),
                    });
                }
            }
        }
    }

    /// Stops every replica of one sub at once; they stay listed as stopped.
    pub(crate) async fn stop_sub(&self, sub: &str) -> bool {
        stop_replicas(self.state.replicas_of(sub)).await
    }

    /// Gives a sub `count` replicas; new replicas are waited until healthy. A stateful sub
    /// loses its highest replicas first, one at a time, and grows from its lowest missing
    /// one, in order: a later scale up gives a replica its data back.
    pub(crate) async fn scale_sub(&self, sub: &str, count: u32) -> Result<(), Error> {
        let Some(ctx) = self.state.context(sub) else {
            return Ok(());
        };
        if ctx.spec.is_stateful() {
            self.remove_highest(sub, count).await;
            let running = u32::try_from(self.state.replicas_of(sub).len()).unwrap_or(u32::MAX);
            return self.add_in_order(&ctx, running, count).await;
        }
        let (added, removed) = self.state.resize(sub, count as usize, |ctx, index| {
            self.start_replica(ctx, index)
        });
        stop_replicas(removed).await;
        self.wait_ready(sub, &added).await
    }
}

/// Stops replicas all at once; `true` when every one stopped cleanly.
pub(crate) async fn stop_replicas(replicas: Vec<Arc<Replica>>) -> bool {
    let mut stops = tokio::task::JoinSet::new();
    for replica in replicas {
        stops.spawn(async move { replica.stop().await });
    }
    let mut clean = true;
    while let Some(result) = stops.join_next().await {
        clean &= result.unwrap_or(false);
    }
    clean
}

/// What the replicas of `sub` run with.
pub(crate) fn sub_context(
    sub: &Sub,
    env: &AppEnv,
    log: SubLog,
    ready_set: Arc<ReadySet>,
) -> Result<Arc<SubContext>, Error> {
    let command = sub.run.clone().ok_or_else(|| Error::NoCommand {
        sub: sub.name.clone(),
    })?;
    Ok(Arc::new(SubContext {
        spec: sub.clone(),
        command,
        env: env.for_sub(&sub.env),
        hidden: env.hidden.clone(),
        secrets_digest: env.secrets_digest,
        log,
        ready_set,
    }))
}

/// Whether a running sub differs from `sub` in nothing but its replica count.
pub(crate) fn same_but_replicas(ctx: &SubContext, sub: &Sub, env: &AppEnv) -> bool {
    let mut running = ctx.spec.clone();
    running.replicas = sub.replicas;
    running == *sub && ctx.env == env.for_sub(&sub.env) && ctx.secrets_digest == env.secrets_digest
}

/// Everything checked before any process starts: commands (of subs and `before` jobs) and secrets (ports are checked by
/// binding their balancers).
pub(crate) fn preflight_env(app: &App, paths: &AppPaths) -> Result<AppEnv, Error> {
    if let Some(sub) = app.subs.values().find(|s| s.run.is_none()) {
        return Err(Error::NoCommand {
            sub: sub.name.clone(),
        });
    }
    if let Some(job) = app
        .jobs
        .values()
        .find(|j| j.runs_before() && j.run.is_none())
    {
        return Err(Error::JobNoCommand {
            job: job.name.clone(),
        });
    }
    AppEnv::resolve(app, paths)
}
