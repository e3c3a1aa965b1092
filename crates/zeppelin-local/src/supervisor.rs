//! The supervisor: the subs of one app and their replicas, started in dependency order with
//! health gating, stopped in reverse order, and changed live (stop, restart, scale, apply).
//!
//! Operations are serialized; status can be read at any time. Each sub publishes its
//! replicas' addresses and readiness on a watch channel ([`Supervisor::backends`]), which is
//! what a load balancer in front of the sub follows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use zeppelin_core::status::{AppStatus, ReplicaState, ReplicaStatus, Runtime, SubStatus};
use zeppelin_core::{App, Sub};

use crate::capture::{Echo, SubLog};
use crate::environment::AppEnv;
use crate::error::Error;
use crate::launch::LAUNCH_ARG;
use crate::paths::AppPaths;
use crate::reaper::Reaper;
use crate::replica::{Replica, ReplicaInfo, SubContext};
use crate::{Backend, probe};

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

/// One app's running subs.
pub struct Supervisor {
    shared: Arc<Shared>,
    state: Mutex<State>,
    /// Serializes operations that change what runs.
    ops: tokio::sync::Mutex<()>,
    backends: Mutex<BTreeMap<String, Arc<watch::Sender<Vec<Backend>>>>>,
    echo: Option<Echo>,
    start_timeout: Duration,
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
            backends: Mutex::new(BTreeMap::new()),
            echo: options.echo,
            start_timeout: options.start_timeout.unwrap_or(DEFAULT_START_TIMEOUT),
        })
    }

    /// The replicas of `sub` a balancer may send traffic to, as they change.
    pub fn backends(&self, sub: &str) -> watch::Receiver<Vec<Backend>> {
        self.backend_sender(sub).subscribe()
    }

    fn backend_sender(&self, sub: &str) -> Arc<watch::Sender<Vec<Backend>>> {
        let mut backends = self.backends.lock().expect("backends");
        Arc::clone(
            backends
                .entry(sub.to_owned())
                .or_insert_with(|| Arc::new(watch::channel(Vec::new()).0)),
        )
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
        let env = preflight(&app, &self.shared.paths)?;
        let mut logs = self.open_logs(&app, app.subs.keys())?;
        for sub in app.start_order() {
            let log = logs.remove(&sub.name).expect("a log per sub");
            let replicas = self.launch(sub, &env, log)?;
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
    fn launch(&self, sub: &Sub, env: &AppEnv, log: SubLog) -> Result<Vec<Arc<Replica>>, Error> {
        let command = sub.run.clone().ok_or_else(|| Error::NoCommand {
            sub: sub.name.clone(),
        })?;
        let ctx = Arc::new(SubContext {
            spec: sub.clone(),
            command,
            env: env.for_sub(&sub.env),
            hidden: env.hidden.clone(),
            secrets_digest: env.secrets_digest,
            log,
            backends: self.backend_sender(&sub.name),
        });
        let replicas: Vec<Arc<Replica>> = (0..sub.local_replicas())
            .map(|index| Arc::new(Replica::start(&self.shared, &ctx, index)))
            .collect();
        self.state.lock().expect("state").subs.insert(
            sub.name.clone(),
            SubRun {
                ctx,
                replicas: replicas.clone(),
            },
        );
        Ok(replicas)
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
                        reason: format!("not healthy within {}{why}", probe::humanize(self.start_timeout)),
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
        let order: Vec<String> = state
            .app
            .start_order()
            .iter()
            .map(|s| s.name.clone())
            .collect();
        if let Some(unknown) = subs.iter().find(|s| !state.app.subs.contains_key(*s)) {
            return Err(Error::UnknownSub {
                sub: unknown.clone(),
                known: order.join(", "),
            });
        }
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

    /// Restarts the named subs one replica at a time, each waited until healthy.
    pub async fn restart(&self, subs: &[String]) -> Result<(), Error> {
        let names = self.resolve_subs(subs)?;
        let _ops = self.ops.lock().await;
        for sub in names {
            let Some(ctx) = self.context(&sub) else {
                continue;
            };
            let desired = self.replicas_of(&sub).len();
            for index in 0..desired {
                let old = self.replicas_of(&sub).get(index).cloned();
                if let Some(old) = old {
                    old.stop().await;
                }
                let new = Arc::new(Replica::start(
                    &self.shared,
                    &ctx,
                    u32::try_from(index).expect("replica count fits u32"),
                ));
                if let Some(run) = self.state.lock().expect("state").subs.get_mut(&sub) {
                    if index < run.replicas.len() {
                        run.replicas[index] = Arc::clone(&new);
                    } else {
                        run.replicas.push(Arc::clone(&new));
                    }
                }
                self.wait_ready(&sub, &[new]).await?;
            }
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

    /// Makes what runs match `app`: new subs start, changed subs are replaced, subs whose
    /// replica count alone changed are scaled, removed subs stop, the rest is left alone.
    pub async fn apply(&self, app: App) -> Result<Applied, Error> {
        let env = preflight_env(&app, &self.shared.paths)?;
        let _ops = self.ops.lock().await;
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
            applied.removed.push(gone.clone());
        }
        self.state.lock().expect("state").app = app.clone();
        for sub in app.start_order() {
            let current = self.context(&sub.name);
            match current {
                Some(ctx) if same_but_replicas(&ctx, sub, &env) => {
                    let count = self.replicas_of(&sub.name).len();
                    if count == sub.local_replicas() as usize {
                        applied.unchanged.push(sub.name.clone());
                    } else {
                        self.scale_sub(&sub.name, sub.local_replicas()).await?;
                        applied.scaled.push(sub.name.clone());
                    }
                }
                Some(_) => {
                    self.stop_sub(&sub.name).await;
                    self.state.lock().expect("state").subs.remove(&sub.name);
                    let log = self
                        .open_logs(&app, std::iter::once(&sub.name))?
                        .remove(&sub.name)
                        .expect("opened");
                    let replicas = self.launch(sub, &env, log)?;
                    self.wait_ready(&sub.name, &replicas).await?;
                    applied.replaced.push(sub.name.clone());
                }
                None => {
                    if sub.run.is_none() {
                        return Err(Error::NoCommand {
                            sub: sub.name.clone(),
                        });
                    }
                    let log = self
                        .open_logs(&app, std::iter::once(&sub.name))?
                        .remove(&sub.name)
                        .expect("opened");
                    let replicas = self.launch(sub, &env, log)?;
                    self.wait_ready(&sub.name, &replicas).await?;
                    applied.started.push(sub.name.clone());
                }
            }
        }
        Ok(applied)
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

/// Everything checked before any process of a fresh start runs: commands, secrets, ports.
pub(crate) fn preflight(app: &App, paths: &AppPaths) -> Result<AppEnv, Error> {
    let env = preflight_env(app, paths)?;
    for sub in app.subs.values() {
        if let Some(port) = sub.port {
            std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|source| {
                Error::PortInUse {
                    sub: sub.name.clone(),
                    port,
                    source,
                }
            })?;
        }
    }
    Ok(env)
}

fn preflight_env(app: &App, paths: &AppPaths) -> Result<AppEnv, Error> {
    if let Some(sub) = app.subs.values().find(|s| s.run.is_none()) {
        return Err(Error::NoCommand {
            sub: sub.name.clone(),
        });
    }
    AppEnv::resolve(app, paths)
}
