//! Reading format 2 into the engine's execution, values owned.

use super::*;

impl From<Execution<'_>> for engine::Execution {
    fn from(s: Execution<'_>) -> Self {
        Self {
            info: s.info.into(),
            status: s.status.into(),
            input: s.input.map(Cow::into_owned),
            output: s.output.map(Cow::into_owned),
            error: s.error.map(Into::into),
            started_at: s.started_at,
            stopped_at: s.stopped_at,
            next_event: s.next_event,
            next_op: s.next_op,
            next_thread: s.next_thread,
            threads: s
                .threads
                .into_iter()
                .map(|thread| (ThreadId(thread.id), Box::new(thread.into())))
                .collect(),
            ops: s
                .ops
                .into_iter()
                .map(|op| (OpId(op.id()), op.into()))
                .collect(),
            retry_point: s.retry_point.map(|point| engine::RetryPoint {
                state: StateId(point.state),
                scope_input: point.scope_input.into_owned(),
                data: point.data.into_owned(),
                finished: point.finished.into_owned(),
            }),
            dag_runs: s
                .dag_runs
                .into_iter()
                .map(|record| (StateId(record.state), engine_statuses(record.nodes)))
                .collect(),
            globals: s
                .globals
                .map_or_else(|| Value::Object(serde_json::Map::new()), Cow::into_owned),
            root: ScopeId(s.root),
            map_runs: s.map_runs.into_iter().map(Into::into).collect(),
            parent: s.parent.map(|p| engine::ParentLink {
                execution: p.execution.into_owned(),
                op: OpId(p.op),
                flow: p.flow,
            }),
            redrives: s
                .redrives
                .map_or_else(crate::Redrives::default, |r| crate::Redrives {
                    count: r.count,
                    last_at: r.last_at,
                }),
            inspection: None,
        }
    }
}

impl From<Info<'_>> for ExecutionInfo {
    fn from(info: Info<'_>) -> Self {
        Self {
            name: info.name.into_owned(),
            flow_name: info.flow_name.into_owned(),
            role_arn: info.role_arn.map(Cow::into_owned),
            token_prefix: info.token_prefix.into_owned(),
            seed: info.seed,
            limits: crate::Limits {
                max_history_events: info.limits.max_history_events,
                max_payload_bytes: usize::try_from(info.limits.max_payload_bytes)
                    .unwrap_or(usize::MAX),
                execution_timeout_ms: info.limits.execution_timeout_ms,
            },
            context_ids: info.context_ids.map(|ids| crate::ContextIds {
                execution_prefix: ids.execution_prefix.into_owned(),
                flow: ids.flow.into_owned(),
            }),
        }
    }
}

impl From<Status> for engine::Status {
    fn from(status: Status) -> Self {
        match status {
            Status::Starting => engine::Status::Starting,
            Status::Running => engine::Status::Running,
            Status::Succeeded => engine::Status::Succeeded,
            Status::Failed => engine::Status::Failed,
            Status::TimedOut => engine::Status::TimedOut,
            Status::Stopped => engine::Status::Stopped,
        }
    }
}

impl From<Error<'_>> for TaskError {
    fn from(error: Error<'_>) -> Self {
        TaskError::new(error.code, error.detail)
    }
}

fn engine_statuses(nodes: Vec<NodeStatus>) -> Vec<EngineNodeStatus> {
    nodes
        .into_iter()
        .map(|status| match status {
            NodeStatus::Waiting => EngineNodeStatus::Waiting,
            NodeStatus::Running => EngineNodeStatus::Running,
            NodeStatus::Succeeded => EngineNodeStatus::Succeeded,
            NodeStatus::Failed => EngineNodeStatus::Failed,
            NodeStatus::Skipped => EngineNodeStatus::Skipped,
            NodeStatus::Cancelled => EngineNodeStatus::Cancelled,
        })
        .collect()
}

impl From<Thread<'_>> for engine::Thread {
    fn from(thread: Thread<'_>) -> Self {
        Self {
            parent: thread.parent.map(|slot| engine::Slot {
                thread: ThreadId(slot.thread),
                index: slot.index,
            }),
            scope: ScopeId(thread.scope),
            scope_input: thread.scope_input.into_owned(),
            data: thread.data.into_owned(),
            variables: thread.variables.into_owned(),
            at: thread.at.map(|active| engine::Active {
                state: StateId(active.state),
                input: active.input.into_owned(),
                entered: EventId(active.entered),
                retries: active.retries.into_owned(),
                retry_count: active.retry_count,
                block: active.block.into(),
            }),
        }
    }
}

impl From<Block<'_>> for engine::Block {
    fn from(block: Block<'_>) -> Self {
        match block {
            Block::None => engine::Block::None,
            Block::Task { op } => engine::Block::Task(OpId(op)),
            Block::Wait { op } => engine::Block::Wait(OpId(op)),
            Block::Backoff { op } => engine::Block::Backoff(OpId(op)),
            Block::Fanout(fan) => engine::Block::Fanout(engine::Fanout {
                pending: fan.pending.into_owned(),
                next_index: fan.next_index,
                results: engine_results(fan.results),
                running: engine_children(fan.running),
                max_concurrency: fan.max_concurrency,
            }),
            Block::Dag(run) => engine::Block::Dag(engine::DagRun {
                nodes: engine_statuses(run.nodes),
                running: engine_children(run.running),
                results: engine_results(run.results),
                draining: run.draining.map(Into::into),
            }),
            Block::MapRun(run) => engine::Block::MapRun(engine::MapRun {
                run: OpId(run.run),
                started_at: run.started_at,
                pending: run.pending.into_owned(),
                next_index: run.next_index,
                results: engine_results(run.results),
                running: run
                    .running
                    .into_iter()
                    .map(|child| (child.index, OpId(child.op)))
                    .collect(),
                max_concurrency: run.max_concurrency,
                tolerated: sluice_ir::ToleratedFailures {
                    count: run.tolerated_count,
                    percentage: run.tolerated_percentage,
                },
                succeeded: run.succeeded,
                failed: run.failed,
                failed_at: run.failed_at.into_iter().collect(),
            }),
        }
    }
}

fn engine_results(results: Vec<Option<Output<'_>>>) -> Vec<Option<Value>> {
    results
        .into_iter()
        .map(|result| result.map(|r| r.output.into_owned()))
        .collect()
}

fn engine_children(running: Vec<Child>) -> std::collections::BTreeMap<u32, ThreadId> {
    running
        .into_iter()
        .map(|child| (child.index, ThreadId(child.thread)))
        .collect()
}

impl Op<'_> {
    fn id(&self) -> u64 {
        match self {
            Op::Task { id, .. } | Op::Timer { id, .. } | Op::Child { id, .. } => *id,
        }
    }
}

impl From<Op<'_>> for engine::Op {
    fn from(op: Op<'_>) -> Self {
        match op {
            Op::Task {
                thread,
                scheduled,
                call,
                submitted,
                timeout,
                heartbeat,
                ..
            } => engine::Op::Task {
                thread: ThreadId(thread),
                scheduled: EventId(scheduled),
                call: Box::new((*call).into()),
                submitted,
                timeout: timeout.map(OpId),
                heartbeat: heartbeat.map(OpId),
            },
            Op::Timer {
                fire_at, purpose, ..
            } => engine::Op::Timer {
                fire_at,
                purpose: match purpose {
                    TimerPurpose::Wait { thread } => engine::TimerPurpose::Wait(ThreadId(thread)),
                    TimerPurpose::Backoff { thread } => {
                        engine::TimerPurpose::Backoff(ThreadId(thread))
                    }
                    TimerPurpose::TaskTimeout { task } => {
                        engine::TimerPurpose::TaskTimeout(OpId(task))
                    }
                    TimerPurpose::Heartbeat { task } => engine::TimerPurpose::Heartbeat(OpId(task)),
                    TimerPurpose::ExecutionDeadline => engine::TimerPurpose::ExecutionDeadline,
                },
            },
            Op::Child { id, thread, start } => engine::Op::Child {
                thread: ThreadId(thread),
                start: Box::new(crate::ChildStart {
                    op: OpId(id),
                    state: StateName::new(start.state),
                    map_run: start.map_run.into_owned(),
                    index: start.index,
                    scope: ScopeId(start.scope),
                    mode: match start.mode {
                        ChildMode::Standard => sluice_ir::ChildMode::Standard,
                        ChildMode::Express => sluice_ir::ChildMode::Express,
                    },
                    input: start.input.into_owned(),
                }),
            },
        }
    }
}

impl From<TaskCall<'_>> for crate::TaskCall {
    fn from(call: TaskCall<'_>) -> Self {
        Self {
            op: OpId(call.op),
            state: StateName::new(call.state),
            target: match call.target {
                Target::Function {
                    service,
                    qualifier,
                    function,
                    invocation,
                } => TaskTarget::Function(FunctionRef {
                    service: service.into_owned(),
                    qualifier: qualifier.map(Cow::into_owned),
                    function: function.into_owned(),
                    invocation: match invocation {
                        Invocation::Sync => sluice_ir::Invocation::Sync,
                        Invocation::Async => sluice_ir::Invocation::Async,
                    },
                }),
                Target::Action { name } => TaskTarget::Action(name.into_owned()),
                Target::Activity { name } => TaskTarget::Activity(name.into_owned()),
                Target::Execution { wait } => TaskTarget::Execution(match wait {
                    Wait::Started => NestedWait::Started,
                    Wait::OutputText => NestedWait::OutputText,
                    Wait::OutputJson => NestedWait::OutputJson,
                }),
            },
            mode: match call.mode {
                Mode::RequestComplete => TaskMode::RequestComplete,
                Mode::WaitForCustomCallback => TaskMode::WaitForCustomCallback,
                Mode::WaitForSystemCallback => TaskMode::WaitForSystemCallback,
            },
            body: call.body.into_owned(),
            token: call.token.map(Cow::into_owned),
            attempt: call.attempt,
            timeout_secs: call.timeout_secs,
            heartbeat_secs: call.heartbeat_secs,
        }
    }
}
