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
use crate::supervisor::subs::Subs;

/// Replaces every replica of a sub with one running `ctx`, one at a time, and ends with
/// `ctx`'s replica count. When a new replica fails to become ready the roll stops there and
/// the sub keeps its old context: the old stateless replica keeps serving; a stateful sub's
/// replicas are all put back on the old context, each on its own data.
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
/// in order. When a replacement fails, the sub goes back to one version: see [`roll_back`].
async fn roll_stateful(subs: &Subs, ctx: &Arc<SubContext>) -> Result<(), Error> {
    let sub = ctx.spec.name.clone();
    let old = subs.state.replicas_of(&sub);
    let Some(old_ctx) = subs.state.context(&sub) else {
        return Ok(());
    };
    let running = u32::try_from(old.len()).unwrap_or(u32::MAX);
    let kept = running.min(ctx.spec.local_replicas());
    subs.remove_highest(&sub, kept).await;
    for index in (0..kept).rev() {
        old[index as usize].stop().await;
        if let Err(err) = subs.replace_in_place(ctx, index).await {
            let outcome = match roll_back(subs, &old_ctx, index, kept, running).await {
                Ok(()) => "every replica runs the previous version again".to_owned(),
                Err(back) => format!(
                    "going back to the previous version failed too: {}",
                    zeppelin_core::error_chain(&back)
                ),
            };
            let reason = match err {
                Error::Unhealthy { reason, .. } => reason,
                other => zeppelin_core::error_chain(&other),
            };
            return Err(Error::RollFailed {
                sub,
                replica: index,
                reason,
                outcome,
            });
        }
    }
    subs.add_in_order(ctx, kept, ctx.spec.local_replicas())
        .await
}

/// After replica `failed` of a stateful sub did not become ready on the new version: starts
/// it again with `old_ctx`, rolls the replicas above it (already on the new version) back
/// from the highest down, each stopped before its replacement starts, and starts again the
/// ones the roll had removed (`kept..running`), waiting for each, so the sub runs one version
/// (the one its recorded context says) on its own data.
async fn roll_back(
    subs: &Subs,
    old_ctx: &Arc<SubContext>,
    failed: u32,
    kept: u32,
    running: u32,
) -> Result<(), Error> {
    subs.replace_in_place(old_ctx, failed).await?;
    for index in (failed + 1..kept).rev() {
        if let Some(new) = subs
            .state
            .replicas_of(&old_ctx.spec.name)
            .get(index as usize)
        {
            new.stop().await;
        }
        subs.replace_in_place(old_ctx, index).await?;
    }
    subs.add_in_order(old_ctx, kept, running).await
}
