//! Steps whose commit has an unknown outcome ([`StoreError::Uncertain`]: the connection broke
//! while the transaction was committing). If the step committed, its effects are owed (the
//! calls it dispatches have rows nobody else makes, the execution would wait forever); if it
//! did not, nothing is. The runtime reads back which, now or, while the database does not
//! answer, in the background until it does.

use sluice_engine::{Effect, EventId, HistoryEvent};
use sluice_store::{ExecutionId, ExecutionName, ExecutionRecord, FlowId, Page, StoreError};

use super::retry::Backoff;
use super::{Runtime, RuntimeError, awaits};

/// Where the step went.
#[derive(Debug, Clone)]
pub(super) enum Target {
    /// A step of an existing execution, expected at this version.
    Step { id: ExecutionId, expected: i64 },
    /// The first step, which creates the execution.
    Creation { flow: FlowId, name: ExecutionName },
}

/// A step sent to the store whose commit is in doubt.
#[derive(Debug)]
pub(super) struct Unsettled {
    pub target: Target,
    /// The execution as the step left it (the store's id filled in once known).
    pub after: ExecutionRecord,
    pub events: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
}

impl Runtime {
    /// The execution as it now is if the step committed, `None` if it did not; an error if
    /// the store cannot tell yet.
    pub(super) async fn committed(
        &self,
        unsettled: &Unsettled,
    ) -> Result<Option<ExecutionRecord>, RuntimeError> {
        let current = match &unsettled.target {
            Target::Step { id, expected } => match self.store.get_execution(*id).await? {
                Some(current) if current.version > *expected => current,
                _ => return Ok(None),
            },
            Target::Creation { flow, name } => {
                match self.store.find_execution(*flow, name).await? {
                    Some(current) => current,
                    None => return Ok(None),
                }
            }
        };
        // Steps commit by compare-and-set, so the step is there if and only if its first event
        // is (another step from the same state would have written other events at those ids).
        let Some(first) = unsettled.events.first() else {
            return Ok((current.state == unsettled.after.state).then_some(current));
        };
        let before = EventId(first.id.0.saturating_sub(1));
        let stored = self
            .store
            .history(current.id, Page::after(Some(before), 1))
            .await?;
        let ours = stored.first().is_some_and(|e| same_event(e, first));
        Ok(ours.then_some(current))
    }

    /// Carries out the effects of a step found committed after all, but dispatches only the
    /// calls the execution still waits for (a later step may have settled them).
    pub(super) fn perform_settled(&self, mut unsettled: Unsettled, current: &ExecutionRecord) {
        unsettled.after.id = current.id;
        let effects = unsettled
            .effects
            .into_iter()
            .filter(
                |effect| !matches!(effect, Effect::Dispatch(call) if !awaits(&current.state, call)),
            )
            .collect();
        self.perform(&unsettled.after, effects);
    }

    /// Reads back, until the store answers, whether the step committed, and if it did
    /// carries out its effects.
    pub(super) fn settle_later(&self, unsettled: Unsettled) {
        let runtime = self.me.clone();
        tokio::spawn(async move {
            let mut backoff = Backoff::default();
            loop {
                let Some(runtime) = runtime.upgrade() else {
                    return;
                };
                match runtime.committed(&unsettled).await {
                    Ok(Some(current)) => {
                        tracing::info!(execution = %current.name, "a step whose commit was in doubt had committed: carrying out its effects");
                        return runtime.perform_settled(unsettled, &current);
                    }
                    Ok(None) => return,
                    Err(e) if e.is_transient() => {}
                    Err(e) => {
                        return tracing::error!(error = %e, "finding out whether a step committed failed");
                    }
                }
                drop(runtime);
                backoff.pause().await;
            }
        });
    }
}

/// Events as the store gives them back: the same id, type, step and time make the same event.
fn same_event(stored: &HistoryEvent, sent: &HistoryEvent) -> bool {
    (stored.id, stored.kind, &stored.step, stored.time)
        == (sent.id, sent.kind, &sent.step, sent.time)
}

/// Whether the error leaves the commit in doubt.
pub(super) fn in_doubt(error: &StoreError) -> bool {
    matches!(error, StoreError::Uncertain(_))
}
