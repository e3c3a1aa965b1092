//! The rolling replace behind `restart` and a changed sub in `apply`: every replica of a sub
//! is replaced one at a time.
//!
//! A stateless replica's replacement is started and ready (so in its balancer) before the
//! old one is drained and stopped, so a sub that serves traffic keeps serving it. A stateful
//! replica owns its data, and two processes must never work on it at once: the old one is
//! stopped first and its replacement started on the same folder, from the highest ordinal
//! down, as a `StatefulSet` rolls its pods (a stateful sub with one replica is unavailable
//! for that moment).

use std::sync::Arc;

use crate::error::Error;
use crate::replica::SubContext;
use crate::supervisor::subs::{Subs, ordinals};

/// Replaces every replica of a sub with one running `ctx`, one at a time, and ends with
/// `ctx`'s replica count. When a new replica fails to become ready the roll stops there and
/// the sub keeps its old context: the old stateless replica keeps serving; a stateful one
/// is started again with the old context, on its own data.
pub(crate) async fn roll(subs: &Subs, ctx: &Arc<SubContext>) -> Result<(), Error> {
    if ctx.spec.is_stateful() {
        roll_stateful(subs, ctx).await?;
    } else {
        roll_stateless(subs, ctx).await?;
    }
    // Only now is this what runs: after a failed roll, the next `run -d` still sees the
    // difference and tries again.
    subs.state.set_context(&ctx.spec.name, ctx);
    Ok(())
}

async fn roll_stateless(subs: &Subs, ctx: &Arc<SubContext>) -> Result<(), Error> {
    let sub = ctx.spec.name.clone();
    let desired = ctx.spec.local_replicas() as usize;
    let old = subs.state.replicas_of(&sub);
    for index in 0..desired.max(old.len()) {
        if index < desired {
            let new =
                subs.start_replica(ctx, u32::try_from(index).expect("replica count fits u32"));
            subs.state.set_replica(&sub, index, Some(Arc::clone(&new)));
            if let Err(err) = subs.wait_ready(&sub, std::slice::from_ref(&new)).await {
                // Keep the old replica serving; the new one goes.
                if let Some(previous) = old.get(index) {
                    subs.state
                        .set_replica(&sub, index, Some(Arc::clone(previous)));
                }
                new.stop().await;
                return Err(err);
            }
        } else {
            subs.state.set_replica(&sub, index, None);
        }
        if let Some(previous) = old.get(index) {
            previous.stop().await;
        }
    }
    Ok(())
}

/// Stops the replicas past `ctx`'s count (highest first), replaces the others from the
/// highest down, each stopped before its replacement starts, then starts the missing ones
/// in order.
async fn roll_stateful(subs: &Subs, ctx: &Arc<SubContext>) -> Result<(), Error> {
    let sub = ctx.spec.name.clone();
    let old = subs.state.replicas_of(&sub);
    let Some(old_ctx) = subs.state.context(&sub) else {
        return Ok(());
    };
    let running = u32::try_from(old.len()).unwrap_or(u32::MAX);
    let (added, removed) = ordinals(running, ctx.spec.local_replicas());
    for index in removed {
        subs.state.set_replica(&sub, index as usize, None);
        old[index as usize].stop().await;
    }
    for index in (0..running.min(ctx.spec.local_replicas())).rev() {
        old[index as usize].stop().await;
        let new = subs.start_replica(ctx, index);
        subs.state
            .set_replica(&sub, index as usize, Some(Arc::clone(&new)));
        if let Err(err) = subs.wait_ready(&sub, std::slice::from_ref(&new)).await {
            new.stop().await;
            let again = subs.start_replica(&old_ctx, index);
            subs.state.set_replica(&sub, index as usize, Some(again));
            return Err(err);
        }
    }
    subs.add_in_order(ctx, added.start, added.end).await
}
