//! What a caller watches live: the steps committed of its own executions, on this node or
//! (on PostgreSQL) on another, as the runtime announces them.

use std::sync::Arc;

use sluice_runtime::durable::Progress;
use sluice_store::TenantId;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{Caller, Service};

/// The caller's steps from the moment it started watching.
pub struct Watch {
    tenant: TenantId,
    progress: broadcast::Receiver<Arc<Progress>>,
}

/// What a watch sees next.
#[derive(Debug)]
pub enum Watched {
    Step(Arc<Progress>),
    /// The watcher fell behind and missed this many steps (of every tenant).
    Missed(u64),
}

impl Service {
    /// Watches the caller's executions from now on.
    pub fn watch(&self, caller: &Caller) -> Watch {
        Watch {
            tenant: caller.tenant.clone(),
            progress: self.runtime.progress(),
        }
    }
}

impl Watch {
    /// The next step of the caller's, `None` once the runtime is gone.
    pub async fn next(&mut self) -> Option<Watched> {
        loop {
            match self.progress.recv().await {
                Ok(step) if step.tenant == self.tenant => return Some(Watched::Step(step)),
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => return Some(Watched::Missed(missed)),
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
