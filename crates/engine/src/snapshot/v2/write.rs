//! Writing format 2: an execution's records borrowed, nothing copied.

use super::*;

impl<'a> Execution<'a> {
    pub fn of(ex: &'a engine::Execution) -> Self {
        Self {
            info: Info::of(&ex.info),
            status: ex.status.into(),
            input: ex.input.as_ref().map(Cow::Borrowed),
            output: ex.output.as_ref().map(Cow::Borrowed),
            error: ex.error.as_ref().map(Error::of),
            started_at: ex.started_at,
            stopped_at: ex.stopped_at,
            next_event: ex.next_event,
            next_op: ex.next_op,
            next_thread: ex.next_thread,
            threads: ex
                .threads
                .iter()
                .map(|(id, thread)| Thread::of(*id, thread))
                .collect(),
            ops: ex.ops.iter().map(|(id, op)| Op::of(*id, op)).collect(),
            retry_point: ex.retry_point.as_ref().map(|point| RetryPoint {
                state: point.state.0,
                scope_input: Cow::Borrowed(&point.scope_input),
                data: Cow::Borrowed(&point.data),
                finished: Cow::Borrowed(&point.finished),
            }),
            dag_runs: ex
                .dag_runs
                .iter()
                .map(|(state, nodes)| DagRecord {
                    state: state.0,
                    nodes: node_statuses(nodes),
                })
                .collect(),
            globals: Some(Cow::Borrowed(&ex.globals)),
            root: ex.root.0,
            map_runs: ex.map_runs.iter().map(MapRunRecord::of).collect(),
            parent: ex.parent.as_ref().map(|p| Parent {
                execution: Cow::Borrowed(&p.execution),
                op: p.op.0,
                flow: p.flow,
            }),
            redrives: (ex.redrives.count > 0).then_some(Redrives {
                count: ex.redrives.count,
                last_at: ex.redrives.last_at,
            }),
        }
    }
}

impl<'a> Info<'a> {
    fn of(info: &'a ExecutionInfo) -> Self {
        Self {
            name: Cow::Borrowed(&info.name),
            flow_name: Cow::Borrowed(&info.flow_name),
            role_arn: info.role_arn.as_deref().map(Cow::Borrowed),
            token_prefix: Cow::Borrowed(&info.token_prefix),
            seed: info.seed,
            limits: Limits {
                max_history_events: info.limits.max_history_events,
                max_payload_bytes: info.limits.max_payload_bytes as u64,
                execution_timeout_ms: info.limits.execution_timeout_ms,
            },
            context_ids: info.context_ids.as_ref().map(|ids| ContextIds {
                execution_prefix: Cow::Borrowed(&ids.execution_prefix),
                flow: Cow::Borrowed(&ids.flow),
            }),
        }
    }
}

impl From<engine::Status> for Status {
    fn from(status: engine::Status) -> Self {
        match status {
            engine::Status::Starting => Status::Starting,
            engine::Status::Running => Status::Running,
            engine::Status::Succeeded => Status::Succeeded,
            engine::Status::Failed => Status::Failed,
            engine::Status::TimedOut => Status::TimedOut,
            engine::Status::Stopped => Status::Stopped,
        }
    }
}

impl<'a> Error<'a> {
    fn of(error: &'a TaskError) -> Self {
        Self {
            code: Cow::Borrowed(error.code.as_str()),
            detail: Cow::Borrowed(&error.detail),
        }
    }
}

fn node_statuses(nodes: &[EngineNodeStatus]) -> Vec<NodeStatus> {
    nodes
        .iter()
        .map(|status| match status {
            EngineNodeStatus::Waiting => NodeStatus::Waiting,
            EngineNodeStatus::Running => NodeStatus::Running,
            EngineNodeStatus::Succeeded => NodeStatus::Succeeded,
            EngineNodeStatus::Failed => NodeStatus::Failed,
            EngineNodeStatus::Skipped => NodeStatus::Skipped,
            EngineNodeStatus::Cancelled => NodeStatus::Cancelled,
        })
        .collect()
}

impl<'a> Thread<'a> {
    fn of(id: ThreadId, thread: &'a engine::Thread) -> Self {
        Self {
            id: id.0,
            parent: thread.parent.map(|slot| Slot {
                thread: slot.thread.0,
                index: slot.index,
            }),
            scope: thread.scope.0,
            scope_input: Cow::Borrowed(&thread.scope_input),
            data: Cow::Borrowed(&thread.data),
            variables: Cow::Borrowed(&thread.variables),
            at: thread.at.as_ref().map(|active| Active {
                state: active.state.0,
                input: Cow::Borrowed(&active.input),
                entered: active.entered.0,
                retries: Cow::Borrowed(&active.retries),
                retry_count: active.retry_count,
                block: Block::of(&active.block),
            }),
        }
    }
}

impl<'a> Block<'a> {
    fn of(block: &'a engine::Block) -> Self {
        match block {
            engine::Block::None => Block::None,
            engine::Block::Task(op) => Block::Task { op: op.0 },
            engine::Block::Wait(op) => Block::Wait { op: op.0 },
            engine::Block::Backoff(op) => Block::Backoff { op: op.0 },
            engine::Block::Fanout(fan) => Block::Fanout(Fanout {
                pending: Cow::Borrowed(&fan.pending),
                next_index: fan.next_index,
                results: results_of(&fan.results),
                running: children_of(&fan.running),
                max_concurrency: fan.max_concurrency,
            }),
            engine::Block::Dag(run) => Block::Dag(DagRun {
                nodes: node_statuses(&run.nodes),
                running: children_of(&run.running),
                results: results_of(&run.results),
                draining: run.draining.as_ref().map(Error::of),
            }),
            engine::Block::MapRun(run) => Block::MapRun(MapRun {
                run: run.run.0,
                started_at: run.started_at,
                pending: Cow::Borrowed(&run.pending),
                next_index: run.next_index,
                results: results_of(&run.results),
                running: run
                    .running
                    .iter()
                    .map(|(index, op)| ChildOp {
                        index: *index,
                        op: op.0,
                    })
                    .collect(),
                max_concurrency: run.max_concurrency,
                tolerated_count: run.tolerated.count,
                tolerated_percentage: run.tolerated.percentage,
                succeeded: run.succeeded,
                failed: run.failed,
                failed_at: run.failed_at.iter().copied().collect(),
            }),
        }
    }
}

fn results_of(results: &[Option<Value>]) -> Vec<Option<Output<'_>>> {
    results
        .iter()
        .map(|result| {
            result.as_ref().map(|output| Output {
                output: Cow::Borrowed(output),
            })
        })
        .collect()
}

fn children_of(running: &std::collections::BTreeMap<u32, ThreadId>) -> Vec<Child> {
    running
        .iter()
        .map(|(index, thread)| Child {
            index: *index,
            thread: thread.0,
        })
        .collect()
}

impl<'a> Op<'a> {
    fn of(id: OpId, op: &'a engine::Op) -> Self {
        match op {
            engine::Op::Task {
                thread,
                scheduled,
                call,
                submitted,
                timeout,
                heartbeat,
            } => Op::Task {
                id: id.0,
                thread: thread.0,
                scheduled: scheduled.0,
                call: Box::new(TaskCall::of(call)),
                submitted: *submitted,
                timeout: timeout.map(|t| t.0),
                heartbeat: heartbeat.map(|t| t.0),
            },
            engine::Op::Timer { fire_at, purpose } => Op::Timer {
                id: id.0,
                fire_at: *fire_at,
                purpose: match purpose {
                    engine::TimerPurpose::Wait(thread) => TimerPurpose::Wait { thread: thread.0 },
                    engine::TimerPurpose::Backoff(thread) => {
                        TimerPurpose::Backoff { thread: thread.0 }
                    }
                    engine::TimerPurpose::TaskTimeout(task) => {
                        TimerPurpose::TaskTimeout { task: task.0 }
                    }
                    engine::TimerPurpose::Heartbeat(task) => {
                        TimerPurpose::Heartbeat { task: task.0 }
                    }
                    engine::TimerPurpose::ExecutionDeadline => TimerPurpose::ExecutionDeadline,
                },
            },
            engine::Op::Child { thread, start } => Op::Child {
                id: id.0,
                thread: thread.0,
                start: ChildStart {
                    state: Cow::Borrowed(start.state.as_str()),
                    map_run: Cow::Borrowed(&start.map_run),
                    index: start.index,
                    scope: start.scope.0,
                    mode: match start.mode {
                        sluice_ir::ChildMode::Standard => ChildMode::Standard,
                        sluice_ir::ChildMode::Express => ChildMode::Express,
                    },
                    input: Cow::Borrowed(&start.input),
                },
            },
        }
    }
}

impl<'a> TaskCall<'a> {
    pub fn of(call: &'a crate::TaskCall) -> Self {
        Self {
            op: call.op.0,
            state: Cow::Borrowed(call.state.as_str()),
            target: match &call.target {
                TaskTarget::Function(f) => Target::Function {
                    service: Cow::Borrowed(&f.service),
                    qualifier: f.qualifier.as_deref().map(Cow::Borrowed),
                    function: Cow::Borrowed(&f.function),
                    invocation: match f.invocation {
                        sluice_ir::Invocation::Sync => Invocation::Sync,
                        sluice_ir::Invocation::Async => Invocation::Async,
                    },
                },
                TaskTarget::Action(name) => Target::Action {
                    name: Cow::Borrowed(name),
                },
                TaskTarget::Activity(name) => Target::Activity {
                    name: Cow::Borrowed(name),
                },
                TaskTarget::Execution(wait) => Target::Execution {
                    wait: match wait {
                        NestedWait::Started => Wait::Started,
                        NestedWait::OutputText => Wait::OutputText,
                        NestedWait::OutputJson => Wait::OutputJson,
                    },
                },
            },
            mode: match call.mode {
                TaskMode::RequestComplete => Mode::RequestComplete,
                TaskMode::WaitForCustomCallback => Mode::WaitForCustomCallback,
                TaskMode::WaitForSystemCallback => Mode::WaitForSystemCallback,
            },
            body: Cow::Borrowed(&call.body),
            token: call.token.as_deref().map(Cow::Borrowed),
            attempt: call.attempt,
            timeout_secs: call.timeout_secs,
            heartbeat_secs: call.heartbeat_secs,
        }
    }
}
