//! How a foreground command of the local runtime answers the signals that would end it:
//! the supervisor (`serve.rs`) and a job run alone (`job/alone.rs`) alike.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// First Ctrl-C, SIGTERM or SIGHUP: stop gracefully (cancels `shutdown`). Any further one:
/// stop now (`force`).
pub(crate) async fn on_signals(shutdown: CancellationToken, force: impl Fn()) {
    let streams = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ]
    .map(signal);
    let [Ok(mut int), Ok(mut term), Ok(mut hup)] = streams else {
        return;
    };
    loop {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        if shutdown.is_cancelled() {
            force();
        } else {
            shutdown.cancel();
        }
    }
}
