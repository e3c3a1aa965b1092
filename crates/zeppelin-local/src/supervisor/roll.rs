//! The rolling replace behind `restart` and a changed sub in `apply`: every replica of a sub
//! is replaced one at a time, the new one started and ready (so in its balancer) before the
//! old one is drained and stopped, so a sub that serves traffic keeps serving it.

use std::sync::Arc;

use crate::error::Error;
use crate::replica::SubContext;
use crate::supervisor::subs::Subs;

/// Replaces every replica of a sub with one running `ctx`, one at a time, and ends with
/// `ctx`'s replica count. When a new replica fails to become ready the old one keeps
/// serving, the roll stops there and the sub keeps its old context.
pub(crate) async fn roll(subs: &Subs, ctx: &Arc<SubContext>) -> Result<(), Error> {
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
    // Only now is this what runs: after a failed roll, the next `run -d` still sees the
    // difference and tries again.
    subs.state.set_context(&sub, ctx);
    Ok(())
}
