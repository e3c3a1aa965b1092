//! The supervisor: the subs of one app and their replicas, started in dependency order with
//! health gating, stopped in reverse order, and changed live (stop, restart, scale, apply).
//!
//! Operations are serialized; status can be read at any time. Every sub with a port gets a
//! load balancer on that port, fed with the sub's ready replicas ([`crate::rotation`]), and
//! the app's routes get the gateway; both are bound before any process starts, so a port
//! in use fails the start with nothing running. Restarts and changed subs are rolled one
//! replica at a time: the new one starts and becomes ready before the old one is drained
//! and stopped, so a sub that serves traffic keeps serving it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zeppelin_core::status::{AppStatus, ReplicaState, ReplicaStatus, Runtime, SubStatus};
use zeppelin_core::{App, Sub};

use crate::balancer::Balancer;
use crate::capture::{Echo, SubLog};
use crate::environment::AppEnv;
use crate::error::Error;
use crate::gateway::Gateway;
use crate::launch::LAUNCH_ARG;
use crate::paths::AppPaths;
use crate::reaper::Reaper;
use crate::replica::{Replica, ReplicaInfo, SubContext};
use crate::rotation::Rotation;

/// What every replica task needs from the supervisor.
pub(crate) struct Shared {
    pub(crate) paths: AppPaths,
    pub(crate) reaper: Arc<Reaper>,
    /// The `zeppelin` binary, run as the launcher; `None` runs `sh` directly.
    launcher: Option<PathBuf>,
    next: AtomicU64,
    /// Cancelled on a second Ctrl-C: stops no longer wait for the stop timeout.
    pub(crate) force: CancellationToken,
    /// Bumped whenever a replica's state changes.
    pub(crate) changed: watch::Sender<()>,
    /// Process groups of running replicas, by instance; mirrored in `.zeppelin/groups`.
    groups: Mutex<BTreeMap<String, i32>>,
    /// Wakes the task that writes `.zeppelin/groups`; a burst of changes makes one write.
    groups_changed: tokio::sync::Notify,
}

impl Shared {
    /// `sh -c COMMAND` as the leader of a process group of its own: through the launcher
    /// (which also gives it a session of its own) when there is one.
    pub(crate) fn command(&self, command: &str) -> std::process::Command {
        let mut cmd = match &self.launcher {
            Some(launcher) => {
                let mut cmd = std::process::Command::new(launcher);
                cmd.arg(LAUNCH_ARG)
                    .arg(std::process::id().to_string())
                    .arg("sh");
                cmd
            }
            None => {
                let mut cmd = std::process::Command::new("sh");
                std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
                cmd
            }
        };
        cmd.arg("-c").arg(command);
        cmd
    }

    /// A number no other replica of this supervisor has.
    pub(crate) fn next_serial(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// A new marker value for one run of one replica.
    pub(crate) fn next_instance(&self) -> String {
        format!(
            "{}-{}",
            self.paths.id,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub(crate) fn record_group(&self, instance: &str, group: i32) {
        let mut groups = self.groups.lock().expect("groups");
        groups.insert(instance.to_owned(), group);
        self.groups_changed.notify_one();
    }

    pub(crate) fn forget_group(&self, instance: &str) {
        let mut groups = self.groups.lock().expect("groups");
        groups.remove(instance);
        self.groups_changed.notify_one();
    }

    /// Keeps `.zeppelin/groups` up to date, off the runtime thread, for as long as it runs.
    async fn write_groups(self: Arc<Self>) {
        loop {
            self.groups_changed.notified().await;
            let text: String = self
                .groups
                .lock()
                .expect("groups")
                .values()
                .flat_map(|g| [g.to_string(), "\n".to_owned()])
                .collect();
            let path = self.paths.groups();
            let written = tokio::task::spawn_blocking(move || std::fs::write(path, text)).await;
            if let Ok(Err(err)) = written {
                eprintln!("zeppelin: cannot record process groups: {err}");
            }
        }
    }
}

/// Settings of a supervisor that do not come from the app file.
#[derive(Clone, Default)]
pub struct Options {
    /// The `zeppelin` binary, to start replicas through its launcher.
    pub launcher: Option<PathBuf>,
    /// Shown every captured line (the foreground terminal).
    pub echo: Option<Echo>,
    /// How long a sub may take to become healthy when it is started.
    pub start_timeout: Option<Duration>,
    /// Called once, when every sub has become healthy after the start.
    pub on_started: Option<Arc<dyn Fn() + Send + Sync>>,
    /// The gateway's port instead of the app file's `[gateway] port`.
    pub gateway_port: Option<u16>,
}

/// How long a sub may take to become healthy, unless told otherwise.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);

struct SubRun {
    ctx: Arc<SubContext>,
    replicas: Vec<Arc<Replica>>,
}

struct State {
    app: App,
    subs: BTreeMap<String, SubRun>,
}

/// The listening side of the app: a balancer per sub with a port, and the gateway.
#[derive(Default)]
struct Traffic {
    balancers: BTreeMap<String, Balancer>,
    gateway: Option<Gateway>,
    /// What the gateway was built for: its port, the routes and the subs with balancers.
    gateway_for: Option<(u16, Vec<zeppelin_core::model::Route>, Vec<String>)>,
}

/// One app's running subs.
pub struct Supervisor {
    shared: Arc<Shared>,
    state: Mutex<State>,
    /// Serializes operations that change what runs.
    ops: tokio::sync::Mutex<()>,
    /// Balancers and gateway; changed only under `ops`.
    traffic: tokio::sync::Mutex<Traffic>,
    echo: Option<Echo>,
    start_timeout: Duration,
    /// `--gateway-port` of the last `run`, over the app file's `[gateway] port`.
    gateway_port: Mutex<Option<u16>>,
}

/// What `apply` did to each sub.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Applied {
    pub started: Vec<String>,
    pub replaced: Vec<String>,
    pub scaled: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: Vec<String>,
}

impl Supervisor {
    /// A supervisor for `app`, with nothing started. Must be created inside a tokio runtime.
    pub fn new(app: App, paths: AppPaths, options: Options) -> Result<Self, Error> {
        let reaper = Reaper::start().map_err(Error::Setup)?;
        let (changed, _) = watch::channel(());
        let shared = Arc::new(Shared {
            paths,
            reaper,
            launcher: options.launcher,
            next: AtomicU64::new(0),
            force: CancellationToken::new(),
            changed,
            groups: Mutex::new(BTreeMap::new()),
            groups_changed: tokio::sync::Notify::new(),
        });
        tokio::spawn(Arc::clone(&shared).write_groups());
        Ok(Self {
            shared,
            state: Mutex::new(State {
                app,
                subs: BTreeMap::new(),
            }),
            ops: tokio::sync::Mutex::new(()),
            traffic: tokio::sync::Mutex::new(Traffic::default()),
            echo: options.echo,
            start_timeout: options.start_timeout.unwrap_or(DEFAULT_START_TIMEOUT),
            gateway_port: Mutex::new(options.gateway_port),
        })
    }

    /// A new rotation for `sub`, feeding its balancer when it has one. A sub keeps its
    /// rotation (in its context) while it is rolled; a new one comes with a new balancer.
    async fn new_rotation(&self, sub: &str) -> Arc<Rotation> {
        let traffic = self.traffic.lock().await;
        let pool = traffic.balancers.get(sub).map(|b| b.pool().clone());
        Arc::new(Rotation::new(pool))
    }

    /// Binds what `app` needs and is not bound yet: a balancer for every sub with a port
    /// (re-bound when the port changed), and the gateway when there are routes (rebuilt
    /// when its port, the routes or the balancers changed). Balancers of subs that lost
    /// their port or left the app are closed by [`Self::close_traffic`].
    async fn open_traffic(&self, app: &App) -> Result<(), Error> {
        let mut traffic = self.traffic.lock().await;
        for sub in app.subs.values() {
            let Some(port) = sub.port else { continue };
            // A sub whose port changed was closed by `close_traffic` first.
            if traffic.balancers.contains_key(&sub.name) {
                continue;
            }
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let balancer = Balancer::bind(&sub.name, addr, sub.balance).await?;
            traffic.balancers.insert(sub.name.clone(), balancer);
        }
        let port = self
            .gateway_port
            .lock()
            .expect("gateway port")
            .unwrap_or(app.gateway.port);
        let wanted = (!app.routes.is_empty()).then(|| {
            (
                port,
                app.routes.clone(),
                traffic.balancers.keys().cloned().collect::<Vec<_>>(),
            )
        });
        if traffic.gateway_for != wanted {
            if let Some(old) = traffic.gateway.take() {
                old.shutdown().await;
            }
            traffic.gateway_for = None;
            if wanted.is_some() {
                let pools = traffic
                    .balancers
                    .iter()
                    .map(|(name, b)| (name.clone(), b.pool().clone()))
                    .collect();
                let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                traffic.gateway = Some(Gateway::bind(addr, &app.routes, &pools).await?);
                traffic.gateway_for = wanted;
            }
        }
        Ok(())
    }

    /// Closes the balancer of `sub` (the sub stopped for good, or its port changed). The
    /// gateway holds the balancer's pool, so it is rebuilt by the next
    /// [`Self::open_traffic`].
    async fn close_traffic(&self, sub: &str) {
        let mut traffic = self.traffic.lock().await;
        if let Some(balancer) = traffic.balancers.remove(sub) {
            balancer.shutdown().await;
            traffic.gateway_for = None;
        }
    }

    /// Makes the next stops kill at once instead of waiting for the stop timeout.
    pub fn force(&self) {
        self.shared.force.cancel();
    }

    /// Starts every sub in dependency order, each once the subs it depends on are healthy.
    /// On failure what was started keeps running; the caller stops it.
    pub async fn start(&self) -> Result<(), Error> {
        let _ops = self.ops.lock().await;
        let app = self.state.lock().expect("state").app.clone();
        let env = preflight_env(&app, &self.shared.paths)?;
        let mut logs = self.open_logs(&app, app.subs.keys())?;
        self.open_traffic(&app).await?;
        for sub in app.start_order() {
            let log = logs.remove(&sub.name).expect("a log per sub");
            let rotation = self.new_rotation(&sub.name).await;
            let ctx = sub_context(sub, &env, log, rotation)?;
            let replicas = self.launch(&ctx);
            self.wait_ready(&sub.name, &replicas).await?;
        }
        Ok(())
    }

    fn open_logs<'a>(
        &self,
        app: &App,
        subs: impl Iterator<Item = &'a String>,
    ) -> Result<BTreeMap<String, SubLog>, Error> {
        subs.map(|name| {
            let log = SubLog::open(
                name,
                self.shared.paths.log_file(name),
                app.logs.clone(),
                self.echo.clone(),
            )?;
            Ok((name.clone(), log))
        })
        .collect()
    }

    /// Starts a sub's replicas (replacing any record of it).
    fn launch(&self, ctx: &Arc<SubContext>) -> Vec<Arc<Replica>> {
        let replicas: Vec<Arc<Replica>> = (0..ctx.spec.local_replicas())
            .map(|index| Arc::new(Replica::start(&self.shared, ctx, index)))
            .collect();
        self.state.lock().expect("state").subs.insert(
            ctx.spec.name.clone(),
            SubRun {
                ctx: Arc::clone(ctx),
                replicas: replicas.clone(),
            },
        );
        replicas
    }

    /// Replaces every replica of a sub with one running `ctx`, one at a time: the new
    /// replica starts and becomes ready (and so joins the balancer) before the old one is
    /// drained and stopped. Ends with `ctx`'s replica count.
    async fn roll(&self, ctx: &Arc<SubContext>) -> Result<(), Error> {
        let sub = ctx.spec.name.clone();
        let desired = ctx.spec.local_replicas() as usize;
        let old = self.replicas_of(&sub);
        for index in 0..desired.max(old.len()) {
            if index < desired {
                let new = Arc::new(Replica::start(
                    &self.shared,
                    ctx,
                    u32::try_from(index).expect("replica count fits u32"),
                ));
                self.set_replica(&sub, index, Some(Arc::clone(&new)));
                if let Err(err) = self.wait_ready(&sub, std::slice::from_ref(&new)).await {
                    // Keep the old replica serving; the new one goes.
                    if let Some(previous) = old.get(index) {
                        self.set_replica(&sub, index, Some(Arc::clone(previous)));
                    }
                    new.stop().await;
                    return Err(err);
                }
            } else {
                self.set_replica(&sub, index, None);
            }
            if let Some(previous) = old.get(index) {
                previous.stop().await;
            }
        }
        // Only now is this what runs: after a failed roll, the next `run -d` still sees the
        // difference and tries again.
        if let Some(run) = self.state.lock().expect("state").subs.get_mut(&sub) {
            run.ctx = Arc::clone(ctx);
        }
        Ok(())
    }

    /// Puts `replica` at `index` of a sub's list (or drops the list's tail from `index`).
    fn set_replica(&self, sub: &str, index: usize, replica: Option<Arc<Replica>>) {
        let mut state = self.state.lock().expect("state");
        let Some(run) = state.subs.get_mut(sub) else {
            return;
        };
        match replica {
            Some(replica) if index < run.replicas.len() => run.replicas[index] = replica,
            Some(replica) => run.replicas.push(replica),
            None => run.replicas.truncate(index),
        }
    }

    /// Waits until every replica given is healthy (or finished its work, for a sub that is
    /// not restarted after success); fails as soon as one fails while starting.
    async fn wait_ready(&self, sub: &str, replicas: &[Arc<Replica>]) -> Result<(), Error> {
        let mut changed = self.shared.changed.subscribe();
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

    /// Stops every sub, in reverse dependency order; `true` when all stopped cleanly.
    pub async fn stop_all(&self) -> bool {
        let _ops = self.ops.lock().await;
        let order: Vec<String> = {
            let state = self.state.lock().expect("state");
            let mut order: Vec<String> = state
                .app
                .start_order()
                .iter()
                .map(|s| s.name.clone())
                .collect();
            order.extend(
                state
                    .subs
                    .keys()
                    .filter(|s| !order.contains(s))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            order.reverse();
            order
        };
        let mut clean = true;
        for sub in order {
            clean &= self.stop_sub(&sub).await;
        }
        clean
    }

    /// Stops every replica of one sub at once; they stay listed as stopped.
    async fn stop_sub(&self, sub: &str) -> bool {
        let replicas = self.replicas_of(sub);
        stop_replicas(replicas).await
    }

    fn replicas_of(&self, sub: &str) -> Vec<Arc<Replica>> {
        self.state
            .lock()
            .expect("state")
            .subs
            .get(sub)
            .map(|s| s.replicas.clone())
            .unwrap_or_default()
    }

    /// Checks that every name is a sub of the app; an empty list means all, in start order.
    fn resolve_subs(&self, subs: &[String]) -> Result<Vec<String>, Error> {
        let state = self.state.lock().expect("state");
        state.app.check_subs(subs)?;
        let order = state.app.start_order().into_iter().map(|s| s.name.clone());
        Ok(order
            .into_iter()
            .filter(|s| subs.is_empty() || subs.contains(s))
            .collect())
    }

    /// Stops the named subs (their replicas stay listed as stopped).
    pub async fn stop(&self, subs: &[String]) -> Result<bool, Error> {
        let names = self.resolve_subs(subs)?;
        let _ops = self.ops.lock().await;
        let mut clean = true;
        for sub in names.iter().rev() {
            clean &= self.stop_sub(sub).await;
        }
        Ok(clean)
    }

    /// Restarts the named subs one replica at a time: each new replica is ready before the
    /// old one is drained and stopped.
    pub async fn restart(&self, subs: &[String]) -> Result<(), Error> {
        let names = self.resolve_subs(subs)?;
        let _ops = self.ops.lock().await;
        for sub in names {
            let Some(ctx) = self.context(&sub) else {
                continue;
            };
            // Keep the count that runs now (it may have been scaled).
            let mut next = (*ctx).clone();
            next.spec.replicas =
                Some(u32::try_from(self.replicas_of(&sub).len()).unwrap_or(u32::MAX));
            let ctx = Arc::new(next);
            self.roll(&ctx).await?;
        }
        Ok(())
    }

    fn context(&self, sub: &str) -> Option<Arc<SubContext>> {
        self.state
            .lock()
            .expect("state")
            .subs
            .get(sub)
            .map(|s| Arc::clone(&s.ctx))
    }

    /// Sets the number of replicas of subs; new replicas are waited until healthy.
    pub async fn scale(&self, counts: &BTreeMap<String, u32>) -> Result<(), Error> {
        let names: Vec<String> = counts.keys().cloned().collect();
        self.resolve_subs(&names)?;
        let _ops = self.ops.lock().await;
        for (sub, &count) in counts {
            self.scale_sub(sub, count).await?;
        }
        Ok(())
    }

    async fn scale_sub(&self, sub: &str, count: u32) -> Result<(), Error> {
        let Some(ctx) = self.context(sub) else {
            return Ok(());
        };
        let (added, removed) = {
            let mut state = self.state.lock().expect("state");
            let run = state.subs.get_mut(sub).expect("context implies a run");
            let target = count as usize;
            let removed = if run.replicas.len() > target {
                run.replicas.split_off(target)
            } else {
                Vec::new()
            };
            let added: Vec<Arc<Replica>> = (run.replicas.len()..target)
                .map(|i| {
                    Arc::new(Replica::start(
                        &self.shared,
                        &ctx,
                        u32::try_from(i).expect("fits"),
                    ))
                })
                .collect();
            run.replicas.extend(added.iter().cloned());
            (added, removed)
        };
        stop_replicas(removed).await;
        self.wait_ready(sub, &added).await
    }

    /// Makes what runs match `app`: new subs start, changed subs are rolled one replica at
    /// a time (replaced outright when their port changed), subs whose replica count alone
    /// changed are scaled, removed subs stop, the rest is left alone.
    /// `gateway_port` is the new run's `--gateway-port`: the gateway moves when it differs.
    pub async fn apply(&self, app: App, gateway_port: Option<u16>) -> Result<Applied, Error> {
        let env = preflight_env(&app, &self.shared.paths)?;
        let _ops = self.ops.lock().await;
        *self.gateway_port.lock().expect("gateway port") = gateway_port;
        let mut applied = Applied::default();
        let running: BTreeSet<String> = self
            .state
            .lock()
            .expect("state")
            .subs
            .keys()
            .cloned()
            .collect();
        for gone in running.iter().filter(|s| !app.subs.contains_key(*s)) {
            self.stop_sub(gone).await;
            self.state.lock().expect("state").subs.remove(gone);
            self.close_traffic(gone).await;
            applied.removed.push(gone.clone());
        }
        // A sub whose port changed stops before its balancer moves to the new port.
        let mut moved = BTreeSet::new();
        for sub in app.subs.values() {
            let port_changed = self
                .context(&sub.name)
                .is_some_and(|ctx| ctx.spec.port != sub.port);
            if port_changed {
                self.stop_sub(&sub.name).await;
                self.state.lock().expect("state").subs.remove(&sub.name);
                self.close_traffic(&sub.name).await;
                moved.insert(sub.name.clone());
            }
        }
        self.open_traffic(&app).await?;
        self.state.lock().expect("state").app = app.clone();
        for sub in app.start_order() {
            match self.context(&sub.name) {
                Some(ctx) if same_but_replicas(&ctx, sub, &env) => {
                    let count = self.replicas_of(&sub.name).len();
                    if count == sub.local_replicas() as usize {
                        applied.unchanged.push(sub.name.clone());
                    } else {
                        self.scale_sub(&sub.name, sub.local_replicas()).await?;
                        applied.scaled.push(sub.name.clone());
                    }
                }
                Some(old) => {
                    let ctx = sub_context(sub, &env, old.log.clone(), Arc::clone(&old.rotation))?;
                    self.roll(&ctx).await?;
                    applied.replaced.push(sub.name.clone());
                }
                None => {
                    let log = self
                        .open_logs(&app, std::iter::once(&sub.name))?
                        .remove(&sub.name)
                        .expect("opened");
                    let rotation = self.new_rotation(&sub.name).await;
                    let ctx = sub_context(sub, &env, log, rotation)?;
                    let replicas = self.launch(&ctx);
                    self.wait_ready(&sub.name, &replicas).await?;
                    if moved.contains(&sub.name) {
                        applied.replaced.push(sub.name.clone());
                    } else {
                        applied.started.push(sub.name.clone());
                    }
                }
            }
        }
        Ok(applied)
    }

    /// The app's routes and where each goes, with the gateway's port: what `zeppelin
    /// routes` prints.
    pub fn routes(&self) -> (u16, Vec<crate::gateway::RouteTarget>) {
        let state = self.state.lock().expect("state");
        let port = self
            .gateway_port
            .lock()
            .expect("gateway port")
            .unwrap_or(state.app.gateway.port);
        (port, crate::gateway::route_targets(&state.app))
    }

    /// What runs now, in the status model `ps` prints.
    pub fn status(&self) -> AppStatus {
        let state = self.state.lock().expect("state");
        let subs = state
            .app
            .start_order()
            .into_iter()
            .filter_map(|sub| state.subs.get(&sub.name).map(|run| (sub, run)))
            .map(|(sub, run)| sub_status(sub, run))
            .collect();
        AppStatus {
            app: state.app.name.clone(),
            runtime: Runtime::Local,
            subs,
            endpoints: Vec::new(),
        }
    }
}

fn sub_status(sub: &Sub, run: &SubRun) -> SubStatus {
    let replicas: Vec<ReplicaStatus> = run
        .replicas
        .iter()
        .map(|replica| {
            let info = replica.info();
            let running = info.started.is_some();
            ReplicaStatus {
                name: format!("{}.{}", sub.name, replica.index),
                state: info.state,
                ready: info.ready,
                restarts: info.restarts,
                uptime: info.started.map(|s| s.elapsed()),
                pid: info.pid.filter(|_| running),
                port: info.port.filter(|_| running),
                node: None,
                reason: info.reason,
                last_exit: info.last_exit,
            }
        })
        .collect();
    SubStatus {
        name: sub.name.clone(),
        desired: u32::try_from(run.replicas.len()).unwrap_or(u32::MAX),
        ready: u32::try_from(replicas.iter().filter(|r| r.ready).count()).unwrap_or(u32::MAX),
        updated: None,
        available: None,
        address: sub.port.map(|port| format!("127.0.0.1:{port}")),
        replicas,
    }
}

/// What the replicas of `sub` run with.
fn sub_context(
    sub: &Sub,
    env: &AppEnv,
    log: SubLog,
    rotation: Arc<Rotation>,
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
        rotation,
    }))
}

/// Whether a running sub differs from `sub` in nothing but its replica count.
fn same_but_replicas(ctx: &SubContext, sub: &Sub, env: &AppEnv) -> bool {
    let mut running = ctx.spec.clone();
    running.replicas = sub.replicas;
    running == *sub && ctx.env == env.for_sub(&sub.env) && ctx.secrets_digest == env.secrets_digest
}

async fn stop_replicas(replicas: Vec<Arc<Replica>>) -> bool {
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

/// Everything checked before any process starts: commands and secrets (ports are checked by
/// binding their balancers).
fn preflight_env(app: &App, paths: &AppPaths) -> Result<AppEnv, Error> {
    if let Some(sub) = app.subs.values().find(|s| s.run.is_none()) {
        return Err(Error::NoCommand {
            sub: sub.name.clone(),
        });
    }
    AppEnv::resolve(app, paths)
}
