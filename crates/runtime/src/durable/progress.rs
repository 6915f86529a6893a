//! What this node's committed steps did, for live watchers (the native API's event stream):
//! each committed step is announced once, with the execution's status after it and the
//! history events it wrote. Nobody listening costs one failed send.

use std::sync::Arc;

use sluice_engine::{HistoryEvent, Status};
use sluice_store::{ExecutionId, ExecutionName, ExecutionRecord, FlowName, TenantId};
use tokio::sync::broadcast;

/// Steps a slow watcher may fall behind by before it misses some (it is told how many).
const BACKLOG: usize = 4096;

/// One committed step of one execution.
#[derive(Debug, Clone)]
pub struct Progress {
    pub tenant: TenantId,
    pub flow: FlowName,
    pub id: ExecutionId,
    pub execution: ExecutionName,
    /// The execution's status once the step committed.
    pub status: Status,
    pub events: Vec<HistoryEvent>,
}

pub(super) struct Announcer(broadcast::Sender<Arc<Progress>>);

impl Announcer {
    pub(super) fn new() -> Self {
        Announcer(broadcast::channel(BACKLOG).0)
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<Progress>> {
        self.0.subscribe()
    }

    pub(super) fn announce(&self, record: &ExecutionRecord, events: &[HistoryEvent]) {
        if self.0.receiver_count() == 0 {
            return;
        }
        let progress = Progress {
            tenant: record.tenant.clone(),
            flow: record.flow_name.clone(),
            id: record.id,
            execution: record.name.clone(),
            status: record.status(),
            events: events.to_vec(),
        };
        // Nobody listening any more is fine.
        let _ = self.0.send(Arc::new(progress));
    }
}
