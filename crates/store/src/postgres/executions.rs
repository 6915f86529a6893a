//! Executions, their history, and the timer and task rows the runtime resumes from.

use deadpool_postgres::GenericClient;
use futures_util::future::try_join_all;
use sluice_engine::{EventId, HistoryEvent, Millis};
use tokio_postgres::types::ToSql;

use super::codec::{Client, all, all_of, failed, inserting, one, prepared, sql_limit, transaction};
use crate::decode::{self, EVENT_COLUMNS, EXECUTION_COLUMNS, TIMER_COLUMNS};
use crate::encode::EncodedStep;
use crate::query::{self, Placeholders};
use crate::rules;
use crate::{
    ExecutionFilter, ExecutionId, ExecutionName, ExecutionRecord, FlowId, NewExecution, Result,
    TimerRow,
};

/// Inserts the execution at version 1 and writes its first step's rows under the new id. The
/// flow row is locked `FOR SHARE`, so a start waits for a concurrent closing update and then
/// sees it.
pub(super) async fn create(
    client: &mut Client,
    owner: &str,
    new: &NewExecution,
    first: &EncodedStep,
) -> Result<ExecutionId> {
    let tx = transaction(client).await?;
    let lock_flow = prepared(&tx, "SELECT open FROM flows WHERE id = $1 FOR SHARE").await?;
    let open: Option<bool> = tx
        .query_opt(&lock_flow, &[&new.flow_id.0])
        .await
        .map_err(failed("reading whether a flow is open"))?
        .map(|row| row.get(0));
    rules::open_to_new(open, new)?;
    let insert = prepared(
        &tx,
        "INSERT INTO executions (tenant, flow_id, flow_name, flow_revision, name, status, \
         started_at, stopped_at, state, version, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10) RETURNING id",
    )
    .await?;
    let row = tx
        .query_one(
            &insert,
            &[
                &new.tenant.0,
                &new.flow_id.0,
                &new.flow_name.0,
                &new.flow_revision,
                &new.name.0,
                &first.status,
                &first.started_at,
                &first.stopped_at,
                &first.state,
                &new.now,
            ],
        )
        .await
        .map_err(inserting(&format!(
            "execution {} of flow {}",
            new.name, new.flow_name
        )))?;
    let id = ExecutionId(row.get(0));
    write_step_rows(&tx, owner, id, first).await?;
    tx.commit()
        .await
        .map_err(failed("committing an execution"))?;
    Ok(id)
}

/// Compare-and-set on the version, then the step's rows, in one transaction.
pub(super) async fn commit(
    client: &mut Client,
    owner: &str,
    id: ExecutionId,
    expected_version: i64,
    step: &EncodedStep,
) -> Result<()> {
    let tx = transaction(client).await?;
    let update = prepared(
        &tx,
        "UPDATE executions SET state = $1, status = $2, started_at = $3, stopped_at = $4, \
         version = version + 1 WHERE id = $5 AND version = $6",
    )
    .await?;
    let changed = tx
        .execute(
            &update,
            &[
                &step.state,
                &step.status,
                &step.started_at,
                &step.stopped_at,
                &id.0,
                &expected_version,
            ],
        )
        .await
        .map_err(failed("updating an execution"))?;
    if changed == 0 {
        let found: Option<i64> = tx
            .query_opt("SELECT version FROM executions WHERE id = $1", &[&id.0])
            .await
            .map_err(failed("reading an execution"))?
            .map(|row| row.get(0));
        return Err(rules::step_refused(id, expected_version, found));
    }
    write_step_rows(&tx, owner, id, step).await?;
    tx.commit().await.map_err(failed("committing a step"))
}

const INSERT_EVENT: &str = "INSERT INTO history (execution_id, event_id, schedule_id, step, time, type, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const DELETE_TIMER: &str = "DELETE FROM timers WHERE execution_id = $1 AND op = $2";
const DELETE_TASK: &str = "DELETE FROM tasks WHERE execution_id = $1 AND op = $2";
const UPSERT_TIMER: &str = "INSERT INTO timers (execution_id, op, fire_at, owner) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (execution_id, op) DO UPDATE \
     SET fire_at = EXCLUDED.fire_at, owner = EXCLUDED.owner";
const UPSERT_TASK: &str = "INSERT INTO tasks (execution_id, op, call, owner) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (execution_id, op) DO UPDATE \
     SET call = EXCLUDED.call, owner = EXCLUDED.owner";

/// Removals first, then additions, so a reused op id keeps its new row. The statements of
/// each phase are pipelined: sent together, run in order, answered together.
async fn write_step_rows<C: GenericClient>(
    tx: &C,
    owner: &str,
    id: ExecutionId,
    step: &EncodedStep,
) -> Result<()> {
    let (delete_timer, delete_task, insert_event, upsert_timer, upsert_task) = tokio::try_join!(
        prepared(tx, DELETE_TIMER),
        prepared(tx, DELETE_TASK),
        prepared(tx, INSERT_EVENT),
        prepared(tx, UPSERT_TIMER),
        prepared(tx, UPSERT_TASK)
    )?;
    let timers_removed = try_join_all(step.timers_removed.iter().map(|op| async {
        tx.execute(&delete_timer, &[&id.0, op])
            .await
            .map_err(failed("deleting a timer"))
    }));
    let tasks_removed = try_join_all(step.tasks_removed.iter().map(|op| async {
        tx.execute(&delete_task, &[&id.0, op])
            .await
            .map_err(failed("deleting a task"))
    }));
    tokio::try_join!(timers_removed, tasks_removed)?;

    let events = try_join_all(step.events.iter().map(|event| async {
        let args: [&(dyn ToSql + Sync); 7] = [
            &id.0,
            &event.id,
            &event.schedule_id,
            &event.step,
            &event.time,
            &event.kind,
            &event.detail,
        ];
        tx.execute(&insert_event, &args)
            .await
            .map_err(inserting(&format!("event {} of execution {id}", event.id)))
    }));
    let timers_added = try_join_all(step.timers_added.iter().map(|(op, fire_at)| async {
        tx.execute(&upsert_timer, &[&id.0, op, fire_at, &owner])
            .await
            .map_err(failed("inserting a timer"))
    }));
    let tasks_added = try_join_all(step.tasks_added.iter().map(|(op, call)| async {
        tx.execute(&upsert_task, &[&id.0, op, call, &owner])
            .await
            .map_err(failed("inserting a task"))
    }));
    tokio::try_join!(events, timers_added, tasks_added)?;
    Ok(())
}

pub(super) async fn get(client: &Client, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
    let sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = $1");
    one(client, &sql, &[&id.0], decode::execution).await
}

pub(super) async fn find(
    client: &Client,
    flow: FlowId,
    name: &ExecutionName,
) -> Result<Option<ExecutionRecord>> {
    let sql =
        format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE flow_id = $1 AND name = $2");
    one(client, &sql, &[&flow.0, &name.0], decode::execution).await
}

pub(super) async fn list(
    client: &Client,
    flow: FlowId,
    filter: &ExecutionFilter,
    after: Option<&ExecutionName>,
    limit: usize,
) -> Result<Vec<ExecutionRecord>> {
    let sql = query::executions_by_name(
        EXECUTION_COLUMNS,
        flow,
        filter,
        after,
        limit,
        Placeholders::Numbered,
    );
    all_of(client, &sql, decode::execution).await
}

pub(super) async fn active(client: &Client, flow: FlowId) -> Result<Vec<ExecutionId>> {
    let rows = client
        .query(
            "SELECT id FROM executions WHERE flow_id = $1 \
             AND status IN ('Starting', 'Running') ORDER BY id",
            &[&flow.0],
        )
        .await
        .map_err(failed("listing active executions"))?;
    Ok(rows.iter().map(|row| ExecutionId(row.get(0))).collect())
}

pub(super) async fn history(
    client: &Client,
    execution: ExecutionId,
    after: EventId,
    limit: usize,
) -> Result<Vec<HistoryEvent>> {
    // Event ids past i64::MAX cannot be stored, so "after" such an id there is nothing.
    let after = i64::try_from(after.0).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM history WHERE execution_id = $1 AND event_id > $2 \
         ORDER BY event_id LIMIT $3"
    );
    all(
        client,
        &sql,
        &[&execution.0, &after, &sql_limit(limit)],
        |row| decode::event(row, execution),
    )
    .await
}

/// The timers of `owner` firing at or before `until`.
pub(super) async fn due_timers(
    client: &Client,
    owner: &str,
    until: Millis,
    limit: usize,
) -> Result<Vec<TimerRow>> {
    let sql = format!(
        "SELECT {TIMER_COLUMNS} FROM timers WHERE owner = $3 AND fire_at <= $1 \
         ORDER BY fire_at LIMIT $2"
    );
    all(
        client,
        &sql,
        &[&until, &sql_limit(limit), &owner],
        decode::timer,
    )
    .await
}
