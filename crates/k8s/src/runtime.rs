//! How the synchronous CLI drives the async Kubernetes client: one runtime per flow, and the
//! process's interruption flag (set by the first Ctrl-C or SIGTERM) as a channel that async
//! waits can watch in `select!`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::error::K8sError;

/// How often the async side looks at the flag.
const WATCH_POLL: Duration = Duration::from_millis(50);

/// Runs `future` to its end on a new single-threaded runtime: the client, its token layer and
/// every wait of one flow live and die with it.
pub(crate) fn block_on<T, E: From<K8sError>>(
    future: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(K8sError::Runtime)?
        .block_on(future)
}

/// `flag` as a channel that turns true once the flag is set. Must be called inside the runtime.
pub(crate) fn watch_flag(flag: Arc<AtomicBool>) -> watch::Receiver<bool> {
    let (sender, receiver) = watch::channel(false);
    tokio::spawn(async move {
        while !flag.load(Ordering::SeqCst) {
            if sender.is_closed() {
                return;
            }
            tokio::time::sleep(WATCH_POLL).await;
        }
        let _ = sender.send(true);
    });
    receiver
}

/// Waits for `shutdown` to turn true (Ctrl-C); never returns if it never does.
pub(crate) async fn interrupted(mut shutdown: watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}
