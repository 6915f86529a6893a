//! Asynchronous invocations (`invocationType: Async`). Function Compute accepts such an event,
//! answers at once with the invocation's request id, and runs the function on; nobody waits for
//! its result. sluice plays Function Compute's part: once the function's connection has taken
//! the request, the task is done, its output `{"RequestId": …}`, and the request goes on in the
//! background until the function answers. A stop of the execution does not abort it, as it does
//! not abort a Function Compute invocation already accepted; before the request is taken, the
//! call is aborted like any other.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use serde_json::{Value, json};
use sluice_engine::TaskCall;
use sluice_ir::TaskError;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::invoke::{CallOrigin, Invoker, codes, headers, send};

/// How long an asynchronous invocation without a task `Timeout` may run: a day, as long as
/// Function Compute lets an asynchronous task run.
const LONGEST_RUN: Duration = Duration::from_secs(24 * 3600);

impl Invoker {
    /// Hands the call to the function and returns the invocation's id as the task's result as
    /// soon as the function's connection has taken the request; the call then runs on,
    /// tracked, its answer only logged. A call that cannot be made (the function cannot be
    /// reached) fails the task, as a refused Function Compute invocation does.
    pub(crate) async fn invoke_detached(
        &self,
        origin: &CallOrigin,
        call: &TaskCall,
        url: &str,
        cancel: &CancellationToken,
    ) -> Result<Value, TaskError> {
        let id = uuid::Uuid::new_v4().to_string();
        let (taken, taken_by_connection) = oneshot::channel();
        let body = Announced {
            data: Some(Bytes::from(call.body.to_string())),
            taken: Some(taken),
        };
        let request = self
            .request(origin, call, url)
            .header(headers::INVOCATION_TYPE, "Async")
            .header(headers::REQUEST_ID, id.as_str())
            .timeout(call.timeout_secs.map_or(LONGEST_RUN, Duration::from_secs))
            .body(reqwest::Body::wrap(body));
        let about = Invocation {
            id: id.clone(),
            execution: origin.execution.clone(),
            state: call.state.to_string(),
            url: url.to_string(),
        };
        // The answer comes back here while the task waits for the hand-over; after that
        // nobody listens, and the background task logs it instead.
        let (answered, mut answer) = oneshot::channel();
        let run = self.detached.spawn(async move {
            let result = send(request, &about.url).await;
            if let Err(unheard) = answered.send(result) {
                about.log(unheard);
            }
        });
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                run.abort();
                Err(TaskError::new(codes::CANCELLED, "the task call was aborted"))
            }
            // A request that fails before it is taken drops its body, and this branch with it.
            Ok(()) = taken_by_connection => Ok(json!({ "RequestId": id })),
            result = &mut answer => match result {
                Ok(Err(error)) => Err(error),
                // Answered before the hand-over was noticed: it was handed over.
                Ok(Ok(_)) => Ok(json!({ "RequestId": id })),
                Err(_) => Err(TaskError::new(codes::CANCELLED, "the task call was aborted")),
            },
        }
    }
}

/// Which invocation a background answer belongs to, for the log.
struct Invocation {
    id: String,
    execution: String,
    state: String,
    url: String,
}

impl Invocation {
    fn log(&self, answer: Result<Value, TaskError>) {
        let Invocation {
            id,
            execution,
            state,
            url,
        } = self;
        match answer {
            Ok(_) => {
                tracing::debug!(%execution, %state, request_id = %id, "an asynchronous invocation finished");
            }
            Err(error) => {
                tracing::warn!(%execution, %state, request_id = %id, %url, code = %error.code.as_str(), detail = %error.detail, "an asynchronous invocation failed");
            }
        }
    }
}

/// A request body that says when the connection takes it: HTTP/1 asks for the body once it
/// has connected and written the request line and headers, and writes it on at once.
struct Announced {
    data: Option<Bytes>,
    taken: Option<oneshot::Sender<()>>,
}

impl Body for Announced {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let frame = self.data.take().map(|data| Ok(Frame::data(data)));
        if let Some(taken) = self.taken.take() {
            // The caller may have given up waiting (a stop): nothing to tell then.
            let _ = taken.send(());
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let length = self.data.as_ref().map_or(0, Bytes::len);
        SizeHint::with_exact(u64::try_from(length).unwrap_or(u64::MAX))
    }
}
