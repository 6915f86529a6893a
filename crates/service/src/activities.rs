//! Step Functions activities: the named queues a Task state of an activity's ARN waits in,
//! and a worker's pickup of their tasks (`GetActivityTask`).
//!
//! A waiting task is a task row of its execution (written by the step that dispatched it),
//! so it survives a restart like any call. A pickup is a step of that execution
//! (`Input::ActivityTaken`), committed with the compare-and-set every step has: of two
//! workers (on any nodes) taking one task, exactly one commits; the other's input is stale
//! and it moves on to the next task. The long poll wakes on the runtime's progress broadcast
//! (this node's steps and, on PostgreSQL, the other nodes'), and looks at the store at least
//! every [`RECHECK`] anyway, for a notice that never arrived.

use std::time::Duration;

use sluice_engine::{EventType, Input};
use sluice_ir::Dialect;
use sluice_runtime::durable::{Applied, RuntimeError, wall_clock_ms};
use sluice_store::{ActivityRecord, Page};
use tokio::sync::broadcast::error::RecvError;

use crate::flows::check_name_in;
use crate::views::Millis;
use crate::{Caller, Result, Service, ServiceError};

/// What [`ServiceError::NotFound`] names when the caller has no activity of that name.
pub const ACTIVITY: &str = "activity";

/// How often a long poll looks at the store without having been woken.
const RECHECK: Duration = Duration::from_secs(2);

/// How many waiting tasks one look tries to take, oldest first.
const BATCH: usize = 16;

/// An activity as the service answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityView {
    pub name: String,
    pub created_at: Millis,
    pub tags: Vec<(String, String)>,
}

impl From<ActivityRecord> for ActivityView {
    fn from(record: ActivityRecord) -> Self {
        ActivityView {
            name: record.name,
            created_at: record.created_at,
            tags: record.tags,
        }
    }
}

fn not_found(name: &str) -> ServiceError {
    ServiceError::NotFound {
        kind: ACTIVITY,
        name: name.to_string(),
    }
}

/// A task a worker took: the token its reports name, and the task's input as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTask {
    pub token: String,
    pub input: String,
}

impl Service {
    /// Creates the caller's activity, or answers the one of that name (AWS's idempotent
    /// create: its tags stay as they were).
    pub async fn create_activity(
        &self,
        caller: &Caller,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<ActivityView> {
        check_name_in(Dialect::Asl, name, "activity name")?;
        let record = ActivityRecord {
            tenant: caller.tenant.clone(),
            name: name.to_string(),
            created_at: wall_clock_ms(),
            tags,
        };
        Ok(self.store.create_activity(record).await?.into())
    }

    pub async fn describe_activity(&self, caller: &Caller, name: &str) -> Result<ActivityView> {
        self.store
            .get_activity(&caller.tenant, name)
            .await?
            .map(ActivityView::from)
            .ok_or_else(|| not_found(name))
    }

    /// Replaces the tags of the caller's activity (`NotFound` if it has none of that name).
    pub async fn retag_activity(
        &self,
        caller: &Caller,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<()> {
        if self
            .store
            .retag_activity(&caller.tenant, name, tags)
            .await?
        {
            Ok(())
        } else {
            Err(not_found(name))
        }
    }

    /// Deletes the caller's activity if there is one (AWS answers a delete of none alike).
    /// Tasks waiting in it stay until their execution ends them.
    pub async fn delete_activity(&self, caller: &Caller, name: &str) -> Result<()> {
        self.store.delete_activity(&caller.tenant, name).await?;
        Ok(())
    }

    /// The caller's activities by name, after `after`.
    pub async fn list_activities(
        &self,
        caller: &Caller,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ActivityView>> {
        let page = Page::after(after.map(str::to_string), limit);
        let records = self.store.list_activities(&caller.tenant, page).await?;
        Ok(records.into_iter().map(ActivityView::from).collect())
    }

    /// Takes the oldest task waiting in the caller's activity `name`, waiting up to `wait`
    /// for one (`GetActivityTask`'s long poll); `None` when none came. `NotFound`
    /// ([`ACTIVITY`]) for an activity the caller does not have.
    pub async fn take_activity_task(
        &self,
        caller: &Caller,
        name: &str,
        worker: Option<&str>,
        wait: Duration,
    ) -> Result<Option<ActivityTask>> {
        self.describe_activity(caller, name).await?;
        // Subscribed before the first look, so that a task scheduled meanwhile wakes it.
        let mut progress = self.runtime.progress();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(task) = self.take_waiting(caller, name, worker).await? {
                return Ok(Some(task));
            }
            let wake = deadline.min(tokio::time::Instant::now() + RECHECK);
            loop {
                match tokio::time::timeout_at(wake, progress.recv()).await {
                    Err(_) if wake == deadline => return Ok(None),
                    Ok(Ok(step))
                        if step.tenant != caller.tenant
                            || !step
                                .events
                                .iter()
                                .any(|e| e.kind == EventType::TaskScheduled) =>
                    {
                        continue;
                    }
                    Ok(Err(RecvError::Closed)) => return Ok(None),
                    // A task may be waiting now, we lagged behind, or it is time: look.
                    _ => break,
                }
            }
        }
    }

    /// One look at the activity's waiting tasks: the first one this worker takes.
    async fn take_waiting(
        &self,
        caller: &Caller,
        name: &str,
        worker: Option<&str>,
    ) -> Result<Option<ActivityTask>> {
        let waiting = self
            .store
            .waiting_activity_tasks(&caller.tenant, name, BATCH)
            .await?;
        for row in waiting {
            let Some(token) = row.call.token.clone() else {
                continue;
            };
            let input = Input::ActivityTaken {
                op: row.call.op,
                worker: worker.map(str::to_string),
            };
            match self.runtime.submit(row.execution, input).await {
                Ok(Applied::Committed(..)) => {
                    return Ok(Some(ActivityTask {
                        token,
                        input: row.call.body.to_string(),
                    }));
                }
                // Another worker took it first, or its execution ended or is gone.
                Ok(Applied::Rejected(..)) | Err(RuntimeError::NoSuchExecution(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }
}
