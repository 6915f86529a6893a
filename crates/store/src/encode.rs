//! What every backend writes the same way: a step's columns encoded once (JSON text,
//! integers), integer conversions, and the exact range of a name prefix.

use serde::Serialize;
use sluice_engine::{CallSnapshot, Execution, HistoryEvent, Millis, Snapshot, TaskCall};

use crate::counts::Counted;
use crate::{Result, StepWrite, StoreError, TimerRow};

pub(crate) fn backend(message: impl Into<String>) -> StoreError {
    StoreError::Backend(message.into())
}

pub(crate) fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| backend(format!("encoding {what}: {e}")))
}

/// Engine ids are u64; SQL integers are i64. Ids past i64::MAX never happen in practice,
/// but are refused rather than wrapped.
pub(crate) fn sql_int(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| backend(format!("{what} {value} is out of range")))
}

/// A `LIMIT` argument: usize::MAX means "all".
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The smallest string greater than every string starting with `prefix`, in binary
/// order (SQLite's, and PostgreSQL's under `COLLATE "C"`) (UTF-8 bytes, which is code point order); `None` if there is none. A prefix filter
/// becomes the index range `name >= prefix AND name < successor`: exact, unlike LIKE (whose
/// `_` and `%` are wildcards) or appending U+10FFFF (which misses names continuing with it).
pub(crate) fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = next_char(last) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn next_char(c: char) -> Option<char> {
    match c {
        // Surrogates are not chars; the next one after them is U+E000.
        '\u{D7FF}' => Some('\u{E000}'),
        c => char::from_u32(u32::from(c) + 1),
    }
}

/// A step with its JSON already encoded. Encoding happens on the caller's task, so a
/// backend's writer spends its time on the database only.
pub(crate) struct EncodedStep {
    pub state: String,
    pub status: &'static str,
    pub started_at: Option<Millis>,
    pub stopped_at: Option<Millis>,
    /// The error's code and detail, if the execution failed.
    pub error: Option<String>,
    pub cause: Option<String>,
    pub redrive_count: i64,
    pub redriven_at: Option<Millis>,
    /// What the counts follow of the execution after the step (a latest run: a step cannot
    /// change that).
    pub counted: Counted,
    pub events: Vec<EncodedEvent>,
    pub timers_added: Vec<(i64, Millis)>,
    pub timers_removed: Vec<i64>,
    /// Op, call, and the activity whose queue the task waits in.
    pub tasks_added: Vec<(i64, String, Option<String>)>,
    pub tasks_removed: Vec<i64>,
}

impl EncodedStep {
    pub(crate) fn new(step: &StepWrite) -> Result<Self> {
        let state = &step.state;
        let task = |c: &TaskCall| {
            let row = to_json(&CallSnapshot::of(c), "task call")?;
            Ok((
                sql_int(c.op.0, "op id")?,
                row,
                c.activity().map(str::to_owned),
            ))
        };
        let timer = |t: &TimerRow| Ok((sql_int(t.op.0, "op id")?, t.fire_at));
        let op = |op: &sluice_engine::OpId| sql_int(op.0, "op id");
        Ok(Self {
            state: to_json(&Snapshot::of(state), "execution state")?,
            status: state.status().as_str(),
            started_at: state.started_at(),
            stopped_at: state.stopped_at(),
            error: state.error().map(|e| e.code.as_str().to_string()),
            cause: state.error().map(|e| e.detail.clone()),
            redrive_count: i64::from(state.redrives().count),
            redriven_at: state.redrives().last_at,
            counted: Counted {
                status: state.status(),
                started_at: state.started_at(),
                stopped_at: state.stopped_at(),
                latest: true,
            },
            events: step
                .events
                .iter()
                .map(|event| EncodedEvent::new(event, state))
                .collect::<Result<_>>()?,
            timers_added: step.timers_added.iter().map(timer).collect::<Result<_>>()?,
            timers_removed: step.timers_removed.iter().map(op).collect::<Result<_>>()?,
            tasks_added: step.tasks_added.iter().map(task).collect::<Result<_>>()?,
            tasks_removed: step.tasks_removed.iter().map(op).collect::<Result<_>>()?,
        })
    }
}

/// A history event as the columns of its row.
pub(crate) struct EncodedEvent {
    pub id: i64,
    pub schedule_id: Option<i64>,
    pub step: Option<String>,
    pub time: Millis,
    pub kind: &'static str,
    pub detail: String,
}

impl EncodedEvent {
    fn new(event: &HistoryEvent, state: &Execution) -> Result<Self> {
        let id = sql_int(event.id.0, "event id")?;
        Ok(Self {
            id,
            schedule_id: event
                .schedule_id
                .map(|s| sql_int(s.0, "schedule id"))
                .transpose()?,
            step: event.step.as_ref().map(|s| s.as_str().to_string()),
            time: event.time,
            kind: event.kind.as_str(),
            detail: crate::payloads::stored_detail(event, state)?,
        })
    }
}

/// A [`crate::LinkedWrite`] with its JSON already encoded.
pub(crate) enum EncodedLinked {
    Create(crate::NewExecution, EncodedStep),
    Step(crate::ExecutionId, i64, EncodedStep),
}

impl EncodedLinked {
    /// Every write linked to `step`, in order.
    pub(crate) fn all(step: &StepWrite) -> Result<Vec<Self>> {
        step.linked
            .iter()
            .map(|linked| match linked {
                crate::LinkedWrite::Create { new, first } => {
                    Ok(Self::Create(new.clone(), EncodedStep::new(first)?))
                }
                crate::LinkedWrite::Step(write) => Ok(Self::Step(
                    write.execution,
                    write.expected_version,
                    EncodedStep::new(write)?,
                )),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successors_bound_exactly_the_names_with_the_prefix() {
        assert_eq!(prefix_successor("a_"), Some("a`".into()));
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("a\u{10FFFF}"), Some("b".into()));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        assert_eq!(prefix_successor("\u{D7FF}"), Some("\u{E000}".into()));
        let successor = prefix_successor("ab").unwrap_or_default();
        assert!("ab\u{10FFFF}\u{10FFFF}" < successor.as_str());
        assert!("ac" >= successor.as_str());
    }
}
