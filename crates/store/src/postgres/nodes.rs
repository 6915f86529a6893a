//! Nodes sharing the database: leases, take-over, and signals.
//!
//! A node is one `sluice serve` process, with an id drawn at start. It owns the timer rows,
//! task rows and jobs it writes, and renews its lease (`nodes.renewed_at`, stamped with the
//! database's clock, so the nodes' clocks need not agree). A node taking over locks the rows of
//! the expired nodes `FOR UPDATE SKIP LOCKED`, moves their work to itself and deletes them, in
//! one transaction: two nodes taking over at once never both get a dead node's work.
//!
//! Signals travel by `NOTIFY` on one channel, heard by a connection of each node kept outside
//! the pool that does nothing but `LISTEN`. `NOTIFY` reaches only the sessions listening when
//! it commits, so what is sent while a node's listening connection is down is lost to it: once
//! it listens again, the node is told to [`Signal::Resync`], and checks the calls it has in
//! flight against their task rows ([`open_calls`]): a call whose row is gone was settled by a
//! step committed elsewhere, and is aborted as its signal would have done.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

use super::codec::{Flying, backend, failed, fly, landed, pooled, prepared, simple};
use crate::decode::{self, JOB_COLUMNS, TASK_COLUMNS};
use crate::group;
use crate::{ExecutionId, Progress, Result, Signal, TakenOver};
use sluice_engine::{HistoryEvent, OpId};

pub(super) const CHANNEL: &str = "sluice_signals";

/// How long a lost listening connection waits before connecting again: at first a little,
/// then twice as long each time, up to the longest. Short, because until a node listens again
/// the stops of calls it makes wait for it (a refused connection costs the database nothing).
const RECONNECT_FIRST_PAUSE: Duration = Duration::from_millis(10);
const RECONNECT_LONGEST_PAUSE: Duration = Duration::from_millis(50);

/// A node id: random per process, so a restarted node is a new node and its predecessor's
/// work is taken over like any dead node's.
pub(super) fn new_node_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Stamps the node's lease; `false` if its row was gone (taken over, see the module comment).
pub(super) async fn renew(client: &deadpool_postgres::Object, node: &str) -> Result<bool> {
    let renewed = client
        .execute(
            "UPDATE nodes SET renewed_at = now() WHERE id = $1",
            &[&node],
        )
        .await
        .map_err(failed("renewing the lease"))?;
    if renewed == 1 {
        return Ok(true);
    }
    client
        .execute(
            "INSERT INTO nodes (id, renewed_at) VALUES ($1, now()) \
             ON CONFLICT (id) DO UPDATE SET renewed_at = now()",
            &[&node],
        )
        .await
        .map_err(failed("registering the node"))?;
    Ok(false)
}

pub(super) async fn take_over(
    client: &mut deadpool_postgres::Object,
    node: &str,
    lease: Duration,
) -> Result<TakenOver> {
    let tx = client
        .transaction()
        .await
        .map_err(failed("starting a take-over"))?;
    let dead: Vec<String> = tx
        .query(
            "SELECT id FROM nodes WHERE renewed_at < now() - make_interval(secs => $1) \
             AND id <> $2 FOR UPDATE SKIP LOCKED",
            &[&lease.as_secs_f64(), &node],
        )
        .await
        .map_err(failed("finding expired leases"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if dead.is_empty() {
        return Ok(TakenOver::default());
    }
    tracing::warn!(nodes = ?dead, "taking over the work of nodes whose lease ran out");
    let tasks = tx
        .query(
            &format!("UPDATE tasks SET owner = $1 WHERE owner = ANY($2) RETURNING {TASK_COLUMNS}"),
            &[&node, &dead],
        )
        .await
        .map_err(failed("taking over task calls"))?
        .iter()
        .map(|row| decode::task(row))
        .collect::<Result<_>>()?;
    let timers = tx
        .execute(
            "UPDATE timers SET owner = $1 WHERE owner = ANY($2)",
            &[&node, &dead],
        )
        .await
        .map_err(failed("taking over timers"))?;
    let jobs = tx
        .query(
            &format!(
                "UPDATE jobs SET owner = $1 WHERE owner = ANY($2) \
                 AND status IN ('Pending', 'Running') RETURNING {JOB_COLUMNS}"
            ),
            &[&node, &dead],
        )
        .await
        .map_err(failed("taking over jobs"))?
        .iter()
        .map(|row| decode::job(row))
        .collect::<Result<_>>()?;
    tx.execute("DELETE FROM nodes WHERE id = ANY($1)", &[&dead])
        .await
        .map_err(failed("removing expired nodes"))?;
    tx.commit()
        .await
        .map_err(failed("committing a take-over"))?;
    Ok(TakenOver {
        tasks,
        jobs,
        timers,
    })
}

/// `<sender> abort <execution> <op>`: the sender lets a node skip what it sent itself. `None`
/// for what is not sent to other nodes.
pub(super) fn encode(sender: &str, signal: Signal) -> Option<String> {
    match signal {
        Signal::AbortCall { execution, op } => {
            Some(format!("{sender} abort {} {}", execution.0, op.0))
        }
        Signal::Resync => None,
    }
}

pub(super) async fn open_calls(
    client: &deadpool_postgres::Object,
    calls: &[(ExecutionId, OpId)],
) -> Result<Vec<(ExecutionId, OpId)>> {
    let (executions, ops): (Vec<i64>, Vec<i64>) = calls
        .iter()
        .map(|(execution, op)| (execution.0, i64::try_from(op.0).unwrap_or(i64::MAX)))
        .unzip();
    let rows = client
        .query(
            "SELECT t.execution_id, t.op FROM tasks t \
             JOIN unnest($1::bigint[], $2::bigint[]) AS c(execution_id, op) \
             ON t.execution_id = c.execution_id AND t.op = c.op",
            &[&executions, &ops],
        )
        .await
        .map_err(failed("reading task rows"))?;
    Ok(rows
        .iter()
        .map(|row| {
            let op: i64 = row.get(1);
            (
                ExecutionId(row.get(0)),
                OpId(u64::try_from(op).unwrap_or_default()),
            )
        })
        .collect())
}

pub(super) fn decode(payload: &str) -> Option<(&str, Signal)> {
    let mut words = payload.split(' ');
    let sender = words.next()?;
    let signal = match (words.next()?, words.next(), words.next(), words.next()) {
        ("abort", Some(execution), Some(op), None) => Signal::AbortCall {
            execution: ExecutionId(execution.parse().ok()?),
            op: OpId(op.parse().ok()?),
        },
        _ => return None,
    };
    Some((sender, signal))
}

/// What a notification says: a signal, or steps committed on its sender.
#[derive(Debug, PartialEq)]
enum Heard {
    Signal(Signal),
    Steps(Vec<Progress>),
}

fn hear(payload: &str) -> Option<(&str, Heard)> {
    if let Some((sender, rest)) = payload.split_once(' ')
        && let Some(steps) = rest.strip_prefix(STEPS)
    {
        return Some((sender, Heard::Steps(serde_json::from_str(steps).ok()?)));
    }
    decode(payload).map(|(sender, signal)| (sender, Heard::Signal(signal)))
}

const STEPS: &str = "steps ";

/// What a `NOTIFY` payload may hold (PostgreSQL refuses 8000 bytes and more).
const PAYLOAD_LIMIT: usize = 7900;

/// `<sender> steps <JSON array>` payloads of steps, as many steps in each as fit. Events
/// travel without their detail; a step whose events alone do not fit travels without them
/// (its status still wakes the long polls).
fn encode_steps(sender: &str, steps: &[Arc<Progress>]) -> Vec<String> {
    let head = format!("{sender} {STEPS}[");
    let mut payloads = Vec::new();
    let mut payload = head.clone();
    for step in steps {
        let mut light = Progress {
            events: step
                .events
                .iter()
                .map(|event| HistoryEvent {
                    detail: serde_json::Value::Null.into(),
                    ..event.clone()
                })
                .collect(),
            ..Progress::clone(step)
        };
        let mut item = serde_json::to_string(&light).unwrap_or_default();
        if head.len() + item.len() + 1 > PAYLOAD_LIMIT {
            light.events.clear();
            item = serde_json::to_string(&light).unwrap_or_default();
        }
        if payload.len() + item.len() + 2 > PAYLOAD_LIMIT {
            payloads.push(payload + "]");
            payload = head.clone();
        }
        if payload.len() > head.len() {
            payload.push(',');
        }
        payload.push_str(&item);
    }
    if payload.len() > head.len() {
        payloads.push(payload + "]");
    }
    payloads
}

/// The queue of steps to tell the other nodes of; its task stops once it is dropped.
pub(super) struct Publisher(mpsc::UnboundedSender<Arc<Progress>>);

impl Publisher {
    /// Sends what is queued, in groups, each group in one transaction of `NOTIFY`s on a
    /// pooled connection (committed without waiting for the WAL flush: a notification lost in
    /// a crash of the database is a live update lost, nothing durable).
    pub(super) fn start(pool: Pool, node: String) -> Self {
        let (queue, mut steps) = mpsc::unbounded_channel::<Arc<Progress>>();
        tokio::spawn(async move {
            while let Some(first) = steps.recv().await {
                let group = group::gather(first, std::iter::from_fn(|| steps.try_recv().ok()));
                if let Err(e) = notify(&pool, &encode_steps(&node, &group)).await {
                    tracing::debug!(error = %e, steps = group.len(), "telling the other nodes of steps");
                }
            }
        });
        Publisher(queue)
    }

    pub(super) fn publish(&self, step: Arc<Progress>) {
        // Gone only when the store is.
        let _ = self.0.send(step);
    }
}

async fn notify(pool: &Pool, payloads: &[String]) -> Result<()> {
    let client = pooled(pool).await?;
    let statement = prepared(&client, "SELECT pg_notify($1, $2)").await?;
    let mut flight: Vec<Flying<'_>> = vec![simple(
        &client,
        "BEGIN; SET LOCAL synchronous_commit TO off",
    )];
    for payload in payloads {
        let statement = &statement;
        let client = &client;
        flight.push(Box::pin(async move {
            client
                .query(statement, &[&CHANNEL, payload])
                .await
                .map_err(failed("notifying"))
        }));
    }
    flight.push(simple(&client, "COMMIT"));
    let answers = fly(flight).await;
    if answers.iter().any(Result::is_err) {
        drop(deadpool_postgres::Object::take(client));
    }
    landed(answers).map(drop)
}

/// Where what a node hears goes.
#[derive(Clone)]
pub(super) struct Hearing {
    pub signals: broadcast::Sender<Signal>,
    pub steps: broadcast::Sender<Arc<Progress>>,
}

/// The task that listens; stops listening when dropped.
pub(super) struct Listener(JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts listening; returns once the first `LISTEN` is in place, so nothing signalled after
/// that is missed. A lost connection is made again, and once it listens the node is told to
/// [`Signal::Resync`] (see the module comment).
pub(super) async fn listen(config: Config, node: String, hearing: Hearing) -> Result<Listener> {
    let first = subscribe(&config).await?;
    Ok(Listener(tokio::spawn(async move {
        let (client, messages) = first;
        forward(messages, &node, &hearing).await;
        drop(client);
        loop {
            tracing::warn!("the connection listening for other nodes' signals was lost");
            let (client, messages) = reconnect(&config).await;
            tracing::info!("listening for other nodes' signals again");
            // Nobody subscribed yet is fine.
            drop(hearing.signals.send(Signal::Resync));
            forward(messages, &node, &hearing).await;
            drop(client);
        }
    })))
}

async fn reconnect(config: &Config) -> (Client, Messages) {
    let mut pause = RECONNECT_FIRST_PAUSE;
    let mut failures = 0u32;
    loop {
        tokio::time::sleep(pause).await;
        match subscribe(config).await {
            Ok(connection) => return connection,
            // Said once, then every so often: a database restart takes a few hundred attempts.
            Err(e) if failures.is_multiple_of(50) => {
                tracing::warn!(error = %e, "listening for other nodes' signals")
            }
            Err(_) => {}
        }
        failures += 1;
        pause = (pause * 2).min(RECONNECT_LONGEST_PAUSE);
    }
}

type Messages =
    futures_util::stream::BoxStream<'static, Result<AsyncMessage, tokio_postgres::Error>>;

async fn subscribe(config: &Config) -> Result<(Client, Messages)> {
    let (client, mut connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| backend(format!("connecting to PostgreSQL to listen: {e}")))?;
    let mut messages: Messages =
        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx)).boxed();
    // The connection only moves while its messages are polled: drive it until LISTEN is done.
    let statement = format!("LISTEN {CHANNEL}");
    {
        let listening = client.batch_execute(&statement);
        tokio::pin!(listening);
        loop {
            tokio::select! {
                done = &mut listening => {
                    done.map_err(failed("listening for signals"))?;
                    break;
                }
                message = messages.next() => match message {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(failed("listening for signals")(e)),
                    None => return Err(backend("the listening connection closed")),
                },
            }
        }
    }
    Ok((client, messages))
}

async fn forward(mut messages: Messages, node: &str, heard: &Hearing) {
    while let Some(message) = messages.next().await {
        let Ok(AsyncMessage::Notification(note)) = message else {
            if let Err(e) = message {
                tracing::warn!(error = %e, "listening for other nodes' signals");
                return;
            }
            continue;
        };
        // Nobody subscribed yet is fine.
        match hear(note.payload()) {
            Some((sender, _)) if sender == node => {}
            Some((_, Heard::Signal(signal))) => drop(heard.signals.send(signal)),
            Some((_, Heard::Steps(steps))) => {
                for step in steps {
                    drop(heard.steps.send(Arc::new(step)));
                }
            }
            None => tracing::warn!(payload = note.payload(), "an unknown signal"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip_and_garbage_is_refused() {
        let signal = Signal::AbortCall {
            execution: ExecutionId(42),
            op: OpId(7),
        };
        let payload = encode("n1", signal).expect("sent to other nodes");
        assert_eq!(decode(&payload), Some(("n1", signal)));
        assert_eq!(encode("n1", Signal::Resync), None, "a node's own business");
        for garbage in [
            "",
            "n1",
            "n1 abort",
            "n1 abort x 1",
            "n1 abort 1 2 3",
            "n1 stop 1 2",
        ] {
            assert_eq!(decode(garbage), None, "{garbage:?}");
        }
    }
}
