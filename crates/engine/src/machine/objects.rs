//! A distributed Map's items read from a bucket and its results written to one. Both are IO,
//! so the engine only asks: a task call of the Map state to one of the runtime's object
//! actions (`actions::READ_ITEMS`, `actions::WRITE_RESULTS`), durable, abortable and
//! resumed after a restart like any task call, its answer the items or the Map's result.
//! History shows each as a task of the Map state; its events carry the request and a count,
//! not the items or results themselves (they can be far larger than a payload).

use serde_json::{Value, json};
use sluice_ir::expr::asl::STATES_RUNTIME;
use sluice_ir::objects::{ChildResult, ItemsRequest, ResultsRequest};
use sluice_ir::{
    ErrorCode, ItemReader, Operand, ResultWriter, State, StateKind, TaskError, TaskMode,
    TaskTarget, actions,
};

use super::tasks::RemovedTask;
use super::{Machine, Outcome, Vars, Work, error_detail};
use crate::execution::ThreadId;
use crate::history::{Detail, EventType};
use crate::task_call::TaskCall;

impl Machine<'_> {
    /// Asks for the items of the Map `state` entered by `thread` with `input` (its effective
    /// input for ASL).
    pub(super) fn read_items(
        &mut self,
        thread: ThreadId,
        state: &State,
        reader: &ItemReader,
        input: &Value,
    ) -> Result<(), TaskError> {
        let bucket = self.operand_text(thread, state, &reader.bucket, input, "Bucket")?;
        let key = match &reader.key {
            Some(key) => self.operand_text(thread, state, key, input, "Key")?,
            None => String::new(),
        };
        let max_items = match &reader.max_items {
            None => None,
            Some(max) => Some(self.operand_count(thread, state, max, input, "MaxItems")?),
        };
        let request = ItemsRequest {
            bucket,
            key,
            format: reader.format.clone(),
            max_items: max_items.filter(|max| *max > 0),
        };
        let body = serde_json::to_value(&request).unwrap_or_default();
        self.call_object_action(thread, state, actions::READ_ITEMS, &reader.resource, body);
        Ok(())
    }

    /// Asks for the results of the ended map run `run` of `state` to be written.
    pub(super) fn write_results(
        &mut self,
        thread: ThreadId,
        state: &State,
        writer: &ResultWriter,
        run: String,
        results: Vec<ChildResult>,
    ) -> Result<(), TaskError> {
        let input = self
            .active(thread)
            .map(|a| a.input.clone())
            .unwrap_or_default();
        let input = match &state.asl {
            Some(data) => self.asl_effective_input(thread, state, data)?,
            None => input,
        };
        let bucket = self.operand_text(thread, state, &writer.bucket, &input, "Bucket")?;
        let prefix = match &writer.prefix {
            Some(prefix) => self.operand_text(thread, state, prefix, &input, "Prefix")?,
            None => String::new(),
        };
        let request = ResultsRequest {
            bucket,
            prefix,
            run,
            output: writer.output,
            transformation: writer.transformation,
            results,
        };
        let body = serde_json::to_value(&request).unwrap_or_default();
        self.call_object_action(
            thread,
            state,
            actions::WRITE_RESULTS,
            &writer.resource,
            body,
        );
        Ok(())
    }

    /// Dispatches the object action `action` with `body` for the Map `state`. The events
    /// show the request without the results it carries.
    fn call_object_action(
        &mut self,
        thread: ThreadId,
        state: &State,
        action: &str,
        resource: &str,
        body: Value,
    ) {
        let op = self.next_op();
        let attempt = self.active(thread).map_or(0, |a| a.retry_count);
        let mut shown = body.clone();
        if let Some(results) = shown.as_object_mut().and_then(|o| o.remove("results")) {
            let count = results.as_array().map_or(0, Vec::len);
            shown["ResultCount"] = count.into();
        }
        let scheduled = self.emit(
            EventType::TaskScheduled,
            None,
            Some(state.name.clone()),
            json!({"resource": resource, "input": shown}),
        );
        self.emit(
            EventType::TaskStarted,
            Some(scheduled),
            Some(state.name.clone()),
            json!({}),
        );
        let call = TaskCall {
            op,
            state: state.name.clone(),
            target: TaskTarget::Action(action.to_owned()),
            mode: TaskMode::RequestComplete,
            body,
            token: None,
            attempt,
            timeout_secs: None,
            heartbeat_secs: None,
        };
        self.await_call(thread, scheduled, call, None, None);
    }

    /// The answer of an object action of a Map state: the items read start the map run; the
    /// results written end the state with where they went.
    pub(super) fn object_action_done(
        &mut self,
        task: RemovedTask,
        action: &str,
        result: Result<Value, TaskError>,
    ) {
        let Some(state) = self.active(task.thread).map(|a| self.flow.state(a.state)) else {
            return;
        };
        let failure = match (action, result) {
            (actions::READ_ITEMS, Ok(Value::Array(items))) => {
                self.emit(
                    EventType::TaskSucceeded,
                    Some(task.scheduled),
                    Some(task.state),
                    json!({ "output": { "ItemCount": items.len() } }),
                );
                // What fails now (an `ItemConstructor`, an `ItemSelector`) is the Map's own.
                if let Err(error) = self.start_read_map(task.thread, state, items) {
                    let outcome = Outcome::Error(error);
                    self.work.push_back(Work::Finish {
                        thread: task.thread,
                        outcome,
                    });
                }
                return;
            }
            (actions::READ_ITEMS, Ok(other)) => {
                format!("the items read are not an array: {other}")
            }
            (_, Ok(output)) => match self.check_size(&output, "the written results' answer") {
                Ok(()) => {
                    self.emit(
                        EventType::TaskSucceeded,
                        Some(task.scheduled),
                        Some(task.state),
                        Detail::of("output", &output),
                    );
                    let outcome = Outcome::Done {
                        result: output,
                        goto: None,
                    };
                    self.work.push_back(Work::Finish {
                        thread: task.thread,
                        outcome,
                    });
                    return;
                }
                Err(error) => error.detail,
            },
            (_, Err(error)) => error.detail,
        };
        // The runtime's failure, named as the language names a failed read or write.
        let named = match &state.kind {
            StateKind::Map(map) => map.distributed.as_ref().and_then(|d| match action {
                actions::READ_ITEMS => d.reader.as_ref().map(|r| r.error.clone()),
                _ => d.writer.as_ref().map(|w| w.error.clone()),
            }),
            _ => None,
        };
        let error = TaskError::new(
            named.unwrap_or_else(|| ErrorCode::FAILED.to_owned()),
            failure,
        );
        self.emit(
            EventType::TaskFailed,
            Some(task.scheduled),
            Some(task.state),
            error_detail(&error),
        );
        self.work.push_back(Work::Finish {
            thread: task.thread,
            outcome: Outcome::Error(error),
        });
    }

    /// Starts the map run of `state` over `items` read from a bucket, as its language
    /// starts one over items from its input.
    fn start_read_map(
        &mut self,
        thread: ThreadId,
        state: &State,
        items: Vec<Value>,
    ) -> Result<(), TaskError> {
        let StateKind::Map(map) = &state.kind else {
            return Ok(());
        };
        let Some(distributed) = &map.distributed else {
            return Ok(());
        };
        match &state.asl {
            Some(data) => {
                let effective = self.asl_effective_input(thread, state, data)?;
                self.asl_start_map_run(thread, state, map, distributed, &effective, Some(items))
            }
            None => {
                let input = self
                    .active(thread)
                    .map(|a| a.input.clone())
                    .unwrap_or_default();
                let inputs = self.map_inputs_of(map, Value::Array(items), &input, &state.name)?;
                self.start_map_run(thread, inputs, map.max_concurrency, distributed);
                Ok(())
            }
        }
    }

    fn operand(
        &self,
        thread: ThreadId,
        state: &State,
        operand: &Operand,
        input: &Value,
        field: &str,
    ) -> Result<Value, TaskError> {
        match operand {
            Operand::Expr(expr) => self.eval_expr(expr, Vars::input(input), &state.name),
            Operand::Asl(value) => self.asl_value(thread, state, value, input, field),
        }
    }

    fn operand_text(
        &self,
        thread: ThreadId,
        state: &State,
        operand: &Operand,
        input: &Value,
        field: &str,
    ) -> Result<String, TaskError> {
        match self.operand(thread, state, operand, input, field)? {
            Value::String(text) => Ok(text),
            other => Err(invalid(
                state,
                format!("state {}: {field} is {other}, not a string", state.name),
            )),
        }
    }

    fn operand_count(
        &self,
        thread: ThreadId,
        state: &State,
        operand: &Operand,
        input: &Value,
        field: &str,
    ) -> Result<u64, TaskError> {
        let value = self.operand(thread, state, operand, input, field)?;
        // AWS reads a number written as a string in a `…Path` too (as `MaxConcurrencyPath`).
        let count = match &value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        count.ok_or_else(|| {
            invalid(
                state,
                format!(
                    "state {}: {field} is {value}, not a non-negative integer",
                    state.name
                ),
            )
        })
    }
}

/// A value the definition reads that is of the wrong kind: ASL's `States.Runtime`, else the
/// engine's invalid input.
fn invalid(state: &State, detail: String) -> TaskError {
    let code = match state.asl {
        Some(_) => STATES_RUNTIME,
        None => ErrorCode::INVALID_INPUT,
    };
    TaskError::new(code, detail)
}
