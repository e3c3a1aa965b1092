//! The listening side of the app: a balancer per sub with a port, and the gateway for the
//! app's routes. Replicas join and leave their sub's balancer through the sub's
//! [`ReadySet`], made here.
//!
//! Both are bound before any process starts, so a port in use fails a start with nothing
//! running. The supervisor's operation gate owns the one [`Traffic`]: only start and apply
//! change it, one operation at a time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use zeppelin_core::App;
use zeppelin_core::model::Route;

use crate::balancer::{Balancer, ReadySet};
use crate::error::Error;
use crate::gateway::Gateway;

/// The balancers and the gateway of the running app.
#[derive(Default)]
pub(crate) struct Traffic {
    balancers: BTreeMap<String, Balancer>,
    gateway: Option<Gateway>,
    /// What the gateway was built for: its port, the routes and the subs with balancers.
    gateway_for: Option<(u16, Vec<Route>, Vec<String>)>,
}

impl Traffic {
    /// A new ready set for `sub`, feeding its balancer when it has one. A sub keeps its
    /// ready set (in its context) while it is rolled; a new one comes with a new balancer.
    pub(crate) fn ready_set(&self, sub: &str) -> Arc<ReadySet> {
        let pool = self.balancers.get(sub).map(|b| b.pool().clone());
        Arc::new(ReadySet::new(pool))
    }

    /// Binds what `app` needs and is not bound yet: a balancer for every sub with a port
    /// (re-bound when the port changed), and the gateway when there are routes, on
    /// `gateway_port` or else the app's (rebuilt when its port, the routes or the balancers
    /// changed). Balancers of subs that lost their port or left the app are closed by
    /// [`Self::close`].
    pub(crate) async fn open(&mut self, app: &App, gateway_port: Option<u16>) -> Result<(), Error> {
        for sub in app.subs.values() {
            let Some(port) = sub.port else { continue };
            // A sub whose port changed was closed by `close` first.
            if self.balancers.contains_key(&sub.name) {
                continue;
            }
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let balancer = Balancer::bind(&sub.name, addr, sub.balance).await?;
            self.balancers.insert(sub.name.clone(), balancer);
        }
        let port = gateway_port.unwrap_or(app.gateway.port);
        let wanted = (!app.routes.is_empty()).then(|| {
            (
                port,
                app.routes.clone(),
                self.balancers.keys().cloned().collect::<Vec<_>>(),
            )
        });
        if self.gateway_for != wanted {
            if let Some(old) = self.gateway.take() {
                old.shutdown().await;
            }
            self.gateway_for = None;
            if wanted.is_some() {
                let pools = self
                    .balancers
                    .iter()
                    .map(|(name, b)| (name.clone(), b.pool().clone()))
                    .collect();
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                self.gateway = Some(Gateway::bind(addr, &app.routes, &pools).await?);
                self.gateway_for = wanted;
            }
        }
        Ok(())
    }

    /// Closes the balancer of `sub` (the sub stopped for good, or its port changed). The
    /// gateway holds the balancer's pool, so it is rebuilt by the next [`Self::open`].
    pub(crate) async fn close(&mut self, sub: &str) {
        if let Some(balancer) = self.balancers.remove(sub) {
            balancer.shutdown().await;
            self.gateway_for = None;
        }
    }
}
