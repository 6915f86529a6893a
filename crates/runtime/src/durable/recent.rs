//! The records of the executions this node stepped last, so that the next step of one (a
//! task's answer, a timer) starts from the record in memory instead of reading and decoding
//! it again: that read was a tenth of the server's CPU per HTTP task step.
//!
//! A cached record is a guess, never trusted alone. Another node, or another path of this
//! one, may have written the execution since; then the step's compare-and-set finds another
//! version and the step runs again on the stored record, and an input the cached state
//! rejects is tried again on the stored record before it is refused. Only running executions
//! are kept, at most [`CAPACITY`], so executions waiting for hours cost no memory here.

use std::collections::HashMap;
use std::sync::Mutex;

use sluice_store::{ExecutionId, ExecutionRecord};

/// Records kept at most: the executions stepping at once on a busy node, with room to spare.
const CAPACITY: usize = 4096;

#[derive(Default)]
pub(super) struct Recent(Mutex<HashMap<ExecutionId, ExecutionRecord>>);

impl Recent {
    /// The cached record of `id`, taken out: the caller holds the execution's lock, and
    /// keeps the record it commits next.
    pub(super) fn take(&self, id: ExecutionId) -> Option<ExecutionRecord> {
        self.lock().remove(&id)
    }

    /// Keeps `record`, just committed, if its execution runs on.
    pub(super) fn keep(&self, record: &ExecutionRecord) {
        if record.status().is_terminal() {
            return;
        }
        let mut records = self.lock();
        if records.len() >= CAPACITY {
            // Any one goes: an evicted record is read from the store again.
            if let Some(evicted) = records.keys().next().copied() {
                records.remove(&evicted);
            }
        }
        records.insert(record.id, record.clone());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ExecutionId, ExecutionRecord>> {
        // A map of plain records: a panic elsewhere cannot leave it half-changed.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use sluice_engine::{Execution, ExecutionInfo, Limits};
    use sluice_store::{ExecutionName, FlowId, FlowName, StartedAs, TenantId};

    use super::*;

    fn running(id: i64) -> ExecutionRecord {
        let info = ExecutionInfo {
            name: format!("e{id}"),
            flow_name: "f".into(),
            role_arn: None,
            token_prefix: "t".into(),
            seed: 0,
            limits: Limits::default(),
            context_ids: None,
        };
        ExecutionRecord {
            id: ExecutionId(id),
            tenant: TenantId("t".into()),
            flow_id: FlowId(1),
            flow_name: FlowName("f".into()),
            flow_revision: 1,
            name: ExecutionName::new(format!("e{id}")),
            started_as: StartedAs::default(),
            state: Execution::new(info),
            version: 1,
            created_at: 0,
        }
    }

    #[test]
    fn a_record_is_taken_once_and_the_map_stays_bounded() {
        let recent = Recent::default();
        for id in 0..(CAPACITY as i64 + 10) {
            recent.keep(&running(id));
        }
        assert_eq!(recent.lock().len(), CAPACITY);
        let last = ExecutionId(CAPACITY as i64 + 9);
        assert_eq!(recent.take(last).map(|r| r.id), Some(last));
        assert!(recent.take(last).is_none());
    }
}
