//! What committed steps did, for live watchers (the native API's event stream): each step
//! committed on this node is announced once, with the execution's status after it and the
//! history events it wrote, here and (on a store other nodes share) to the other nodes, whose
//! steps are announced here in turn. Nobody listening here costs one failed send.

use std::sync::Arc;

use sluice_engine::HistoryEvent;
pub use sluice_store::Progress;
use sluice_store::{ExecutionRecord, Store};
use tokio::sync::broadcast;

/// Steps a slow watcher may fall behind by before it misses some (it is told how many).
const BACKLOG: usize = 4096;

pub(super) struct Announcer {
    here: broadcast::Sender<Arc<Progress>>,
    store: Arc<dyn Store>,
}

impl Announcer {
    pub(super) fn new(store: Arc<dyn Store>) -> Self {
        Announcer {
            here: broadcast::channel(BACKLOG).0,
            store,
        }
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<Progress>> {
        self.here.subscribe()
    }

    pub(super) fn announce(&self, record: &ExecutionRecord, events: &[HistoryEvent]) {
        let watched = self.here.receiver_count() > 0;
        let peers = self.store.has_peers();
        if !watched && !peers {
            return;
        }
        let progress = Arc::new(Progress {
            tenant: record.tenant.clone(),
            flow: record.flow_name.clone(),
            id: record.id,
            execution: record.name.clone(),
            status: record.status(),
            events: events.to_vec(),
        });
        if peers {
            self.store.publish(progress.clone());
        }
        self.relay(progress);
    }

    /// Announces a step here only (one another node committed and told of).
    pub(super) fn relay(&self, progress: Arc<Progress>) {
        // Nobody listening is fine.
        let _ = self.here.send(progress);
    }
}
