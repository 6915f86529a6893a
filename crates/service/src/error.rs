//! What can go wrong in a command, independent of any vendor's wire format. Each dialect maps
//! these to its own codes in one place.

use sluice_lang::DefinitionError;
use sluice_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    InvalidArgument(String),
    /// A name that breaks the naming rule of its kind.
    #[error("{0}")]
    InvalidName(String),
    /// An execution input that is not what an execution takes (not JSON, not an object).
    #[error("{0}")]
    InvalidInput(String),
    #[error("the definition is invalid: {0}")]
    InvalidDefinition(DefinitionError),
    #[error("{what} is {size} bytes, more than the limit of {limit} bytes")]
    PayloadTooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("flow {0} does not exist")]
    FlowNotFound(String),
    #[error("flow {0} already exists")]
    FlowExists(String),
    /// The flow was closed (a GES graph stop) and accepts no new executions.
    #[error("flow {0} is closed to new executions")]
    FlowClosed(String),
    /// A closing job was asked of a flow that is closed or being closed or reopened.
    #[error("flow {0} is closed or being closed")]
    FlowNotOpen(String),
    /// A reopening job was asked of a flow that is not closed.
    #[error("flow {0} is not closed")]
    FlowNotClosed(String),
    #[error("execution {execution} of flow {flow} does not exist")]
    ExecutionNotFound { flow: String, execution: String },
    #[error("execution {execution} of flow {flow} already exists")]
    ExecutionExists { flow: String, execution: String },
    #[error("execution {execution} of flow {flow} has already completed")]
    ExecutionCompleted { flow: String, execution: String },
    #[error("task {0} has already completed")]
    TaskCompleted(String),
    /// A well-formed task token that names no execution of the caller's.
    #[error("task {0} does not exist")]
    TaskNotFound(String),
    /// An event was delivered to an execution that waits for none.
    #[error("execution {0} is not waiting for an event")]
    NotWaiting(String),
    /// StartExecution on an Express flow, StartSyncExecution on a Standard one.
    #[error("{0}")]
    WrongMode(String),
    #[error("concurrent update, please retry")]
    ConcurrentUpdate,
    #[error("the key may not call {action}")]
    AccessDenied { action: String },
    #[error("too many requests")]
    Throttled,
    #[error("{0} is not supported by this server")]
    NotSupported(String),
    #[error("{kind} {name} does not exist")]
    NotFound { kind: &'static str, name: String },
    #[error("{kind} {name} already exists")]
    Exists { kind: &'static str, name: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => ServiceError::ConcurrentUpdate,
            StoreError::Closed(flow) => ServiceError::FlowClosed(flow),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<sluice_runtime::durable::RuntimeError> for ServiceError {
    fn from(e: sluice_runtime::durable::RuntimeError) -> Self {
        match e {
            sluice_runtime::durable::RuntimeError::Store(s) => s.into(),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}
